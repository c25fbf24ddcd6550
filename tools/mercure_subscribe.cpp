// mercure-subscribe: subscribes to a Mercure hub and prints updates as they arrive,
// reconnecting with Last-Event-ID so that none is lost or repeated.
//
// Reconnection follows EventSource: after a stream ends the tool waits the reconnection time
// (the hub's last "retry:", else 0.5 s) and reconnects with the id of the last event printed.
// Consecutive failures double the wait (from at least 0.5 s) up to 30 s, or the hub's retry if
// longer; a stream that opens resets it. No wait is shorter than 0.1 s. Refusals (400, 401,
// 403, other 4xx) are final: retrying cannot help.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "build_config.hpp"
#include "client/event_format.hpp"
#include "client/http_connection.hpp"
#include "client/token_source.hpp"
#include "client/url.hpp"
#include "config/config_loader.hpp"
#include "sse/event_parser.hpp"

namespace {

constexpr int exit_done = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_network = 3;

// Subscriber tokens minted from --config; a new one is minted for every connection. The hub
// ends a stream when its token expires, and the tool then reconnects with a fresh one.
constexpr std::int64_t minted_token_ttl = 3600;

constexpr std::chrono::milliseconds initial_delay{500};
constexpr std::chrono::milliseconds min_delay{100};     // even after "retry: 0"
constexpr std::chrono::milliseconds max_delay{30000};
constexpr std::chrono::seconds connect_timeout{10};
constexpr std::chrono::seconds head_timeout{30};
constexpr std::size_t max_refusal_body = 4096;

constexpr const char* usage_text =
    "Usage: mercure-subscribe [--url URL] [--token TOKEN | --token-file PATH | --config PATH]\n"
    "                         --topic SELECTOR [--topic SELECTOR]... [--last-event-id ID]\n"
    "                         [--count N] [--timeout SECONDS] [--format text|json]\n"
    "                         [--no-reconnect] [--verbose]\n"
    "\n"
    "Subscribes to the topics and prints every update as it arrives. When the stream ends\n"
    "it reconnects, sending the id of the last update received as Last-Event-ID.\n"
    "\n"
    "  -u, --url URL            the hub (default $MERCURE_URL, else the address in --config,\n"
    "                           else http://localhost:3000/.well-known/mercure); http:// only\n"
    "      --token TOKEN        the subscriber JWT (default $MERCURE_TOKEN; none: anonymous)\n"
    "      --token-file PATH    read the JWT from the first line of PATH\n"
    "  -c, --config PATH        mint a token allowing exactly these selectors with the hub's\n"
    "                           subscriber key, read from its configuration (HS* keys only)\n"
    "  -t, --topic SELECTOR     a topic or URI template to receive (repeatable)\n"
    "  -l, --last-event-id ID   receive the stored updates published after ID first\n"
    "                           (\"earliest\": everything in the hub's history)\n"
    "  -n, --count N            exit after N updates\n"
    "      --timeout SECONDS    exit after this long\n"
    "  -f, --format FORMAT      text (default): id:, event:, retry:, data: lines and a blank\n"
    "                           line, as in the stream; json: one object per line with\n"
    "                           id, type, data and retry\n"
    "      --no-reconnect       exit when the stream ends instead of reconnecting\n"
    "  -v, --verbose            report connections and the hub's Last-Event-ID on stderr\n"
    "  -h, --help               show this help\n"
    "  -V, --version            show the version\n"
    "\n"
    "Exit status: 0 after --count updates, after --timeout, or when the stream ends with\n"
    "--no-reconnect; 1 refused by the hub (400, 401, 403...: the reason is printed and the\n"
    "tool does not retry); 2 usage error, or a file named on the command line that cannot be\n"
    "used; 3 network error with --no-reconnect (without it the tool keeps reconnecting).\n";

enum class Format { Text, Json };

struct Options {
    mercure::HttpUrl url;
    std::optional<std::string> token;
    std::optional<mercure::Config> config;
    std::string config_path;
    std::vector<std::string> topics;
    std::optional<std::string> last_event_id;
    std::optional<std::uint64_t> count;
    std::optional<double> timeout;
    Format format = Format::Text;
    bool reconnect = true;
    bool verbose = false;
};

// Prints a one-line usage error and returns the usage exit status.
int usage_error(const std::string& message)
{
    std::cerr << "mercure-subscribe: " << message << " (see --help)\n";
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

// True when a value can travel in an HTTP header without breaking it.
bool header_safe(std::string_view value)
{
    return std::none_of(value.begin(), value.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
}

// "1.5 s" for messages.
std::string describe(std::chrono::milliseconds delay)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(delay.count()) / 1000.0);
    return text;
}

// The subscription loop: one connection after another until an exit condition.
class Subscriber {
public:
    explicit Subscriber(Options options) : options_(std::move(options))
    {
        if (options_.timeout)
            deadline_ = mercure::deadline_after(*options_.timeout);
        if (options_.last_event_id)
            last_id_ = options_.last_event_id;
    }

    int run();

private:
    enum class Outcome { Exit, Retry, Reconnect };

    Outcome attempt(int& exit_code);
    Outcome stream(mercure::HttpConnection& connection, int& exit_code);
    std::string request();
    bool deadline_passed() const { return deadline_ && mercure::ClientClock::now() >= *deadline_; }
    std::chrono::milliseconds next_delay(bool failed);
    bool print(const mercure::SseEvent& event);
    void note(const std::string& message) const { std::cerr << "mercure-subscribe: " << message << "\n"; }

    Options options_;
    mercure::Deadline deadline_;
    mercure::SseEventParser parser_;
    std::optional<std::string> last_id_;     // sent as Last-Event-ID
    std::uint64_t received_ = 0;
    unsigned failures_ = 0;                  // consecutive failed attempts
};

int Subscriber::run()
{
    for (;;) {
        if (deadline_passed())
            return exit_done;
        int exit_code = exit_done;
        const Outcome outcome = attempt(exit_code);
        if (outcome == Outcome::Exit)
            return exit_code;
        if (deadline_passed())
            return exit_done;
        const std::chrono::milliseconds delay = next_delay(outcome == Outcome::Retry);
        if (options_.verbose || outcome == Outcome::Retry)
            note("reconnecting in " + describe(delay));
        const auto wake = mercure::ClientClock::now() + delay;
        if (deadline_ && *deadline_ <= wake) {
            std::this_thread::sleep_until(*deadline_);
            return exit_done;
        }
        std::this_thread::sleep_until(wake);
    }
}

std::chrono::milliseconds Subscriber::next_delay(bool failed)
{
    std::chrono::milliseconds base = initial_delay;
    if (auto retry = parser_.reconnection_time())
        base = std::chrono::milliseconds(std::min<std::uint64_t>(*retry, 24ull * 3600 * 1000));
    const std::chrono::milliseconds cap = std::max(max_delay, base);
    std::chrono::milliseconds delay = base;
    if (failed) {
        // A tiny "retry:" must not turn a hub that is down into a connection storm.
        delay = std::max(delay, initial_delay);
        for (unsigned i = 0; i < failures_ && delay < cap; ++i)
            delay *= 2;
        ++failures_;
    }
    return std::clamp(delay, min_delay, cap);
}

std::string Subscriber::request()
{
    mercure::HttpUrl url = options_.url;
    for (const std::string& topic : options_.topics)
        mercure::append_query_parameter(url, "topic", topic);
    std::string text = "GET " + url.target + " HTTP/1.1\r\n";
    text += "Host: " + url.authority() + "\r\n";
    text += "User-Agent: mercure-subscribe/" MERCURE_VERSION "\r\n";
    text += "Accept: text/event-stream\r\n";
    text += "Cache-Control: no-cache\r\n";
    if (options_.token)
        text += "Authorization: Bearer " + *options_.token + "\r\n";
    if (last_id_)
        text += "Last-Event-ID: " + *last_id_ + "\r\n";
    text += "\r\n";
    return text;
}

Subscriber::Outcome Subscriber::attempt(int& exit_code)
{
    // A network failure ends the tool with --no-reconnect, else it is retried.
    auto network_failure = [this, &exit_code](const std::string& message) {
        if (deadline_passed())
            return Outcome::Exit;  // exit_code is still exit_done
        note(message);
        if (!options_.reconnect) {
            exit_code = exit_network;
            return Outcome::Exit;
        }
        return Outcome::Retry;
    };

    if (options_.config) {
        auto minted = mercure::mint_token_from_config(*options_.config, options_.config_path,
                                                      mercure::TokenRole::Subscriber, options_.topics, minted_token_ttl);
        if (!minted) {
            note(minted.error().message);
            exit_code = exit_usage;
            return Outcome::Exit;
        }
        options_.token = std::move(*minted);
    }
    if (options_.verbose)
        note("connecting to " + options_.url.text() + (last_id_ ? " with Last-Event-ID: " + *last_id_ : std::string()));

    const auto now = mercure::ClientClock::now();
    auto connection = mercure::HttpConnection::open(options_.url, mercure::earlier(deadline_, now + connect_timeout));
    if (!connection)
        return network_failure(connection.error().message);
    const std::string sent_id = last_id_.value_or("");
    if (auto sent = connection->send(request(), mercure::earlier(deadline_, now + connect_timeout)); !sent)
        return network_failure(sent.error().message);
    auto head = connection->read_head(mercure::earlier(deadline_, mercure::ClientClock::now() + head_timeout));
    if (!head)
        return network_failure(head.error().message);

    const int status = head->status;
    if (status == 200) {
        const std::string_view content_type = head->header("Content-Type").value_or("");
        if (!content_type.starts_with("text/event-stream")) {
            note("the hub answered 200 but not with an event stream (Content-Type: " + std::string(content_type) +
                 "): is --url the hub's /.well-known/mercure?");
            exit_code = exit_refused;
            return Outcome::Exit;
        }
        failures_ = 0;
        if (options_.verbose)
            note("connected to " + connection->peer());
        if (auto answered = head->header("Last-Event-ID")) {
            if (options_.verbose)
                note("Last-Event-ID: " + std::string(*answered));
            if (!sent_id.empty() && sent_id != "earliest" && *answered == "earliest")
                note("warning: the hub does not know the event id \"" + sent_id +
                     "\" (it answered Last-Event-ID: earliest): updates published after it may have been lost");
        }
        return stream(*connection, exit_code);
    }

    auto body = connection->read_whole_body(max_refusal_body,
                                            mercure::earlier(deadline_, mercure::ClientClock::now() + head_timeout));
    const std::string reason = mercure::response_reason(*head, body ? *body : std::string());
    if (status == 204) {
        note("the hub answered 204 No Content: it asks clients not to reconnect");
        return Outcome::Exit;
    }
    if (status / 100 == 3) {
        const std::string location(head->header("Location").value_or("(no Location)"));
        note(std::to_string(status) + " " + reason + ": redirected to " + location + ", which is not followed");
        exit_code = exit_refused;
        return Outcome::Exit;
    }
    const bool transient = status / 100 == 5 || status == 408 || status == 429;
    note(std::to_string(status) + " " + reason);
    if (!transient || !options_.reconnect) {
        exit_code = exit_refused;
        return Outcome::Exit;
    }
    return Outcome::Retry;
}

Subscriber::Outcome Subscriber::stream(mercure::HttpConnection& connection, int& exit_code)
{
    parser_.restart();
    std::string bytes;
    std::vector<mercure::SseEvent> events;
    for (;;) {
        bytes.clear();
        mercure::Result<bool> more = connection.read_body(bytes, deadline_);
        if (!bytes.empty()) {
            events.clear();
            if (!parser_.feed(bytes, events)) {
                note("an event larger than " + std::to_string(mercure::SseEventParser::default_max_event_size) +
                     " bytes: giving up");
                exit_code = exit_refused;
                return Outcome::Exit;
            }
            for (const mercure::SseEvent& event : events) {
                if (!print(event)) {
                    note(std::string("cannot write to standard output: ") + std::strerror(errno));
                    exit_code = exit_refused;
                    return Outcome::Exit;
                }
                // An empty id clears the last event id: EventSource then sends no Last-Event-ID.
                if (event.id.empty())
                    last_id_.reset();
                else
                    last_id_ = event.id;
                if (options_.count && ++received_ >= *options_.count)
                    return Outcome::Exit;
            }
        }
        if (!more) {
            if (deadline_passed())
                return Outcome::Exit;
            note("connection lost: " + more.error().message);
            if (!options_.reconnect) {
                exit_code = exit_network;
                return Outcome::Exit;
            }
            return Outcome::Retry;
        }
        if (!*more) {
            if (options_.verbose || !options_.reconnect)
                note("the hub ended the stream");
            return options_.reconnect ? Outcome::Reconnect : Outcome::Exit;
        }
    }
}

bool Subscriber::print(const mercure::SseEvent& event)
{
    const std::string text =
        options_.format == Format::Json ? mercure::format_event_json(event) : mercure::format_event_text(event);
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
}

// Parses argv into options; an exit status when the tool must stop here.
std::optional<int> parse_options(int argc, char** argv, Options& options)
{
    enum LongOnly { opt_token = 1000, opt_token_file, opt_timeout, opt_no_reconnect };
    static const option long_options[] = {
        {"url", required_argument, nullptr, 'u'},
        {"token", required_argument, nullptr, opt_token},
        {"token-file", required_argument, nullptr, opt_token_file},
        {"config", required_argument, nullptr, 'c'},
        {"topic", required_argument, nullptr, 't'},
        {"last-event-id", required_argument, nullptr, 'l'},
        {"count", required_argument, nullptr, 'n'},
        {"timeout", required_argument, nullptr, opt_timeout},
        {"format", required_argument, nullptr, 'f'},
        {"no-reconnect", no_argument, nullptr, opt_no_reconnect},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };

    std::optional<std::string> url_text;
    std::optional<std::string> token_file;
    std::optional<std::string> config_path;
    opterr = 0;
    int option_char = 0;
    while ((option_char = getopt_long(argc, argv, ":u:c:t:l:n:f:vhV", long_options, nullptr)) != -1) {
        switch (option_char) {
        case 'u':
            url_text = optarg;
            break;
        case opt_token:
            options.token = optarg;
            break;
        case opt_token_file:
            token_file = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 't':
            options.topics.emplace_back(optarg);
            break;
        case 'l':
            options.last_event_id = optarg;
            if (options.last_event_id->empty() || !header_safe(*options.last_event_id))
                return usage_error("--last-event-id must be non-empty, without control characters");
            break;
        case 'n': {
            std::string_view text = optarg;
            if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string_view::npos ||
                std::stoull(std::string(text)) == 0)
                return usage_error(std::string("--count is not a positive whole number: ") + optarg);
            options.count = std::stoull(std::string(text));
            break;
        }
        case opt_timeout:
            options.timeout = parse_seconds(optarg);
            if (!options.timeout)
                return usage_error(std::string("--timeout is not a positive number of seconds: ") + optarg);
            break;
        case 'f':
            if (std::string_view(optarg) == "text")
                options.format = Format::Text;
            else if (std::string_view(optarg) == "json")
                options.format = Format::Json;
            else
                return usage_error(std::string("--format must be text or json, not ") + optarg);
            break;
        case opt_no_reconnect:
            options.reconnect = false;
            break;
        case 'v':
            options.verbose = true;
            break;
        case 'h':
            std::cout << usage_text;
            return exit_done;
        case 'V':
            std::cout << "mercure-subscribe " MERCURE_VERSION "\n";
            return exit_done;
        case ':':
            return usage_error(std::string("option ") + argv[optind - 1] + " needs a value");
        default:
            return usage_error(std::string("unknown option ") + argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(std::string("unexpected argument ") + argv[optind]);
    if (options.topics.empty())
        return usage_error("at least one --topic is needed");
    if ((options.token ? 1 : 0) + (token_file ? 1 : 0) + (config_path ? 1 : 0) > 1)
        return usage_error("--token, --token-file and --config are mutually exclusive");

    if (config_path) {
        auto loaded = mercure::load_config(*config_path);
        if (!loaded) {
            std::cerr << "mercure-subscribe: " << loaded.error().message << "\n";
            return exit_usage;
        }
        options.config = std::move(*loaded);
        options.config_path = *config_path;
        // Fail now, not at the first connection, when no token can be minted.
        auto minted = mercure::mint_token_from_config(*options.config, options.config_path,
                                                      mercure::TokenRole::Subscriber, options.topics, minted_token_ttl);
        if (!minted) {
            std::cerr << "mercure-subscribe: " << minted.error().message << "\n";
            return exit_usage;
        }
    }

    if (!url_text) {
        const char* from_env = std::getenv("MERCURE_URL");
        if (from_env != nullptr && *from_env != '\0')
            url_text = from_env;
        else if (options.config)
            url_text = mercure::hub_url_for_listen_address(options.config->addr);
        if (!url_text || url_text->empty())
            url_text = std::string(mercure::default_hub_url);
    }
    auto url = mercure::parse_http_url(*url_text);
    if (!url)
        return usage_error(url.error().message);
    options.url = std::move(*url);

    if (token_file) {
        auto read = mercure::read_token_file(*token_file);
        if (!read) {
            std::cerr << "mercure-subscribe: " << read.error().message << "\n";
            return exit_usage;
        }
        options.token = std::move(*read);
    } else if (!options.token && !options.config) {
        const char* from_env = std::getenv("MERCURE_TOKEN");
        if (from_env != nullptr && *from_env != '\0')
            options.token = from_env;
    }
    if (options.token &&
        (options.token->empty() || !header_safe(*options.token) || options.token->find(' ') != std::string::npos))
        return usage_error("the token is empty or contains spaces or control characters");
    return std::nullopt;
}

// Parses argv and runs the subscription.
int run(int argc, char** argv)
{
    Options options;
    if (std::optional<int> status = parse_options(argc, argv, options))
        return *status;
    Subscriber subscriber(std::move(options));
    return subscriber.run();
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& error) {
        std::cerr << "mercure-subscribe: " << error.what() << "\n";
        return exit_refused;
    }
}
