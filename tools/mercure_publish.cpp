// mercure-publish: posts one update to a Mercure hub and prints the id the hub gives it.
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "build_config.hpp"
#include "client/http_connection.hpp"
#include "client/token_source.hpp"
#include "client/url.hpp"
#include "config/config_loader.hpp"
#include "util/percent_encoding.hpp"

namespace {

constexpr int exit_published = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_network = 3;

// Publisher tokens minted from --config live this long: long enough for one request.
constexpr std::int64_t minted_token_ttl = 60;

// Data read from a file or standard input beyond this is refused before anything is sent.
constexpr std::size_t max_data_size = 64u << 20;

// Hub answers longer than this are not an id or a one-line error.
constexpr std::size_t max_response_size = 1 << 20;

constexpr const char* usage_text =
    "Usage: mercure-publish [--url URL] [--token TOKEN | --token-file PATH | --config PATH]\n"
    "                       --topic TOPIC [--topic TOPIC]... [--data TEXT | --data-file PATH]\n"
    "                       [--id ID] [--type TYPE] [--retry MS] [--private] [--timeout SECONDS]\n"
    "\n"
    "Publishes one update and prints the id the hub gave it, followed by a newline.\n"
    "The data is read from standard input when neither --data nor --data-file is given.\n"
    "\n"
    "  -u, --url URL          the hub (default $MERCURE_URL, else the address in --config,\n"
    "                         else http://localhost:3000/.well-known/mercure); http:// only\n"
    "      --token TOKEN      the publisher JWT (default $MERCURE_TOKEN)\n"
    "      --token-file PATH  read the JWT from the first line of PATH\n"
    "  -c, --config PATH      mint a 60-second token for exactly these topics with the hub's\n"
    "                         publisher key, read from its configuration (HS* keys only)\n"
    "  -t, --topic TOPIC      a topic of the update (repeatable: the first is canonical)\n"
    "  -d, --data TEXT        the update's data\n"
    "  -F, --data-file PATH   read the data from PATH, byte for byte\n"
    "  -i, --id ID            the update's id (default: the hub generates a urn:uuid:)\n"
    "  -e, --type TYPE        the SSE event type\n"
    "  -r, --retry MS         the reconnection time subscribers should use, in milliseconds\n"
    "  -p, --private          make the update private\n"
    "      --timeout SECONDS  give up after this long (default 10)\n"
    "  -v, --verbose          say where the update goes and what the hub answered\n"
    "  -h, --help             show this help\n"
    "  -V, --version          show the version\n"
    "\n"
    "Exit status: 0 published; 1 refused by the hub (the status and its reason are printed);\n"
    "2 usage error, or a file named on the command line that cannot be used (nothing was\n"
    "sent); 3 network error: the hub could not be reached or did not answer in time.\n";

// Prints a one-line usage error and returns the usage exit status.
int usage_error(const std::string& message)
{
    std::cerr << "mercure-publish: " << message << " (see --help)\n";
    return exit_usage;
}

// A positive number of seconds ("10", "2.5"); nullopt otherwise.
std::optional<double> parse_seconds(const char* text)
{
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !std::isfinite(value) || value <= 0)
        return std::nullopt;
    return value;
}

// Reads a whole file descriptor, refusing more than max_data_size bytes.
mercure::Result<std::string> read_all(int fd, const std::string& what)
{
    std::string out;
    char buffer[64 << 10];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got == 0)
            return out;
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return mercure::Error{"cannot read " + what + ": " + std::strerror(errno)};
        }
        out.append(buffer, static_cast<std::size_t>(got));
        if (out.size() > max_data_size)
            return mercure::Error{what + " holds more than " + std::to_string(max_data_size >> 20) + " MiB of data"};
    }
}

// Reads the data file given with --data-file.
mercure::Result<std::string> read_data_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return mercure::Error{"cannot open data file " + path + ": " + std::strerror(errno)};
    std::string out;
    char buffer[64 << 10];
    while (file) {
        file.read(buffer, sizeof buffer);
        out.append(buffer, static_cast<std::size_t>(file.gcount()));
        if (out.size() > max_data_size)
            return mercure::Error{"data file " + path + " holds more than " + std::to_string(max_data_size >> 20) +
                                  " MiB"};
    }
    if (file.bad())
        return mercure::Error{"cannot read data file " + path};
    return out;
}

// True when a value can travel in an HTTP header without breaking it.
bool header_safe(std::string_view value)
{
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

// The publish form, encoded with the escaping the hub's form decoder undoes.
std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields)
{
    std::string body;
    for (const auto& [key, value] : fields) {
        if (!body.empty())
            body.push_back('&');
        body += mercure::percent_encode(key);
        body.push_back('=');
        body += mercure::percent_encode(value);
    }
    return body;
}

// Parses argv, sends the update, prints the id.
int run(int argc, char** argv)
{
    enum LongOnly { opt_token = 1000, opt_token_file, opt_timeout };
    static const option long_options[] = {
        {"url", required_argument, nullptr, 'u'},
        {"token", required_argument, nullptr, opt_token},
        {"token-file", required_argument, nullptr, opt_token_file},
        {"config", required_argument, nullptr, 'c'},
        {"topic", required_argument, nullptr, 't'},
        {"data", required_argument, nullptr, 'd'},
        {"data-file", required_argument, nullptr, 'F'},
        {"id", required_argument, nullptr, 'i'},
        {"type", required_argument, nullptr, 'e'},
        {"retry", required_argument, nullptr, 'r'},
        {"private", no_argument, nullptr, 'p'},
        {"timeout", required_argument, nullptr, opt_timeout},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };

    std::optional<std::string> url_text;
    std::optional<std::string> token;
    std::optional<std::string> token_file;
    std::optional<std::string> config_path;
    std::vector<std::string> topics;
    std::optional<std::string> data;
    std::optional<std::string> data_file;
    std::optional<std::string> id;
    std::optional<std::string> type;
    std::optional<std::string> retry;
    bool is_private = false;
    bool verbose = false;
    double timeout = 10;

    opterr = 0;
    int option_char = 0;
    while ((option_char = getopt_long(argc, argv, ":u:c:t:d:F:i:e:r:pvhV", long_options, nullptr)) != -1) {
        switch (option_char) {
        case 'u':
            url_text = optarg;
            break;
        case opt_token:
            token = optarg;
            break;
        case opt_token_file:
            token_file = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 't':
            topics.emplace_back(optarg);
            break;
        case 'd':
            if (data || data_file)
                return usage_error("give the data once, with --data or --data-file");
            data = optarg;
            break;
        case 'F':
            if (data || data_file)
                return usage_error("give the data once, with --data or --data-file");
            data_file = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'e':
            type = optarg;
            break;
        case 'r': {
            std::string_view text = optarg;
            if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string_view::npos)
                return usage_error(std::string("--retry is not a whole number of milliseconds: ") + optarg);
            retry = optarg;
            break;
        }
        case 'p':
            is_private = true;
            break;
        case opt_timeout: {
            auto seconds = parse_seconds(optarg);
            if (!seconds)
                return usage_error(std::string("--timeout is not a positive number of seconds: ") + optarg);
            timeout = *seconds;
            break;
        }
        case 'v':
            verbose = true;
            break;
        case 'h':
            std::cout << usage_text;
            return exit_published;
        case 'V':
            std::cout << "mercure-publish " MERCURE_VERSION "\n";
            return exit_published;
        case ':':
            return usage_error(std::string("option ") + argv[optind - 1] + " needs a value");
        default:
            return usage_error(std::string("unknown option ") + argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(std::string("unexpected argument ") + argv[optind]);
    if (topics.empty())
        return usage_error("at least one --topic is needed");
    if ((token ? 1 : 0) + (token_file ? 1 : 0) + (config_path ? 1 : 0) > 1)
        return usage_error("--token, --token-file and --config are mutually exclusive");

    std::optional<mercure::Config> config;
    if (config_path) {
        auto loaded = mercure::load_config(*config_path);
        if (!loaded) {
            std::cerr << "mercure-publish: " << loaded.error().message << "\n";
            return exit_usage;
        }
        config = std::move(*loaded);
    }

    if (!url_text) {
        const char* from_env = std::getenv("MERCURE_URL");
        if (from_env != nullptr && *from_env != '\0')
            url_text = from_env;
        else if (config)
            url_text = mercure::hub_url_for_listen_address(config->addr);
        if (!url_text || url_text->empty())
            url_text = std::string(mercure::default_hub_url);
    }
    auto url = mercure::parse_http_url(*url_text);
    if (!url)
        return usage_error(url.error().message);

    if (token_file) {
        auto read = mercure::read_token_file(*token_file);
        if (!read) {
            std::cerr << "mercure-publish: " << read.error().message << "\n";
            return exit_usage;
        }
        token = std::move(*read);
    } else if (config) {
        auto minted = mercure::mint_token_from_config(*config, *config_path, mercure::TokenRole::Publisher, topics,
                                                      minted_token_ttl);
        if (!minted) {
            std::cerr << "mercure-publish: " << minted.error().message << "\n";
            return exit_usage;
        }
        token = std::move(*minted);
    } else if (!token) {
        const char* from_env = std::getenv("MERCURE_TOKEN");
        if (from_env != nullptr && *from_env != '\0')
            token = from_env;
    }
    if (token && (token->empty() || !header_safe(*token) || token->find(' ') != std::string::npos))
        return usage_error("the token is empty or contains spaces or control characters");

    if (data_file) {
        auto read = read_data_file(*data_file);
        if (!read) {
            std::cerr << "mercure-publish: " << read.error().message << "\n";
            return exit_usage;
        }
        data = std::move(*read);
    } else if (!data) {
        if (isatty(STDIN_FILENO))
            std::cerr << "mercure-publish: reading the data from standard input (end it with Ctrl-D)\n";
        auto read = read_all(STDIN_FILENO, "standard input");
        if (!read) {
            std::cerr << "mercure-publish: " << read.error().message << "\n";
            return exit_usage;
        }
        data = std::move(*read);
    }

    std::vector<std::pair<std::string, std::string>> fields;
    for (const std::string& topic : topics)
        fields.emplace_back("topic", topic);
    fields.emplace_back("data", *data);
    if (id)
        fields.emplace_back("id", *id);
    if (type)
        fields.emplace_back("type", *type);
    if (retry)
        fields.emplace_back("retry", *retry);
    if (is_private)
        fields.emplace_back("private", "on");
    const std::string body = form_body(fields);

    std::string request = "POST " + url->target + " HTTP/1.1\r\n";
    request += "Host: " + url->authority() + "\r\n";
    request += "User-Agent: mercure-publish/" MERCURE_VERSION "\r\n";
    request += "Content-Type: application/x-www-form-urlencoded\r\n";
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (token)
        request += "Authorization: Bearer " + *token + "\r\n";
    request += "Connection: close\r\n\r\n";
    request += body;

    const mercure::Deadline deadline = mercure::deadline_after(timeout);
    if (verbose)
        std::cerr << "mercure-publish: POST " << url->text() << " (" << body.size() << " bytes"
                  << (token ? ", with a token" : ", without a token") << ")\n";
    auto connection = mercure::HttpConnection::open(*url, deadline);
    if (!connection) {
        std::cerr << "mercure-publish: " << connection.error().message << "\n";
        return exit_network;
    }
    // A hub may answer (413, 401...) and close before reading a large body: then sending
    // fails, but its answer is waiting to be read and says more than the send error.
    const mercure::Status sent = connection->send(request, deadline);
    auto head = connection->read_head(sent ? deadline : mercure::earlier(deadline, mercure::deadline_after(1)));
    if (!sent && !head) {
        std::cerr << "mercure-publish: " << sent.error().message << "\n";
        return exit_network;
    }
    if (!head) {
        std::cerr << "mercure-publish: " << head.error().message << "\n";
        return exit_network;
    }
    auto answer = connection->read_whole_body(max_response_size, deadline);
    if (!answer) {
        std::cerr << "mercure-publish: " << answer.error().message << "\n";
        return exit_network;
    }
    if (verbose)
        std::cerr << "mercure-publish: " << connection->peer() << " answered " << head->status << " " << head->reason
                  << "\n";
    if (head->status / 100 != 2) {
        std::cerr << "mercure-publish: " << head->status << " " << mercure::response_reason(*head, *answer) << "\n";
        return exit_refused;
    }
    std::cout << *answer << "\n";
    std::cout.flush();
    if (!std::cout) {
        std::cerr << "mercure-publish: the update was published but its id cannot be written to standard output\n";
        return exit_refused;
    }
    return exit_published;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& error) {
        std::cerr << "mercure-publish: " << error.what() << "\n";
        return exit_refused;
    }
}
