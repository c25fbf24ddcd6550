// mercure-token: mints a signed Mercure JWT for publishers and subscribers.
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "core/jwt_algorithm.hpp"
#include "build_config.hpp"
#include "config/config_loader.hpp"
#include "core/token_verifier.hpp"

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// Key files larger than this are certainly not keys.
constexpr std::streamsize max_key_file_size = 1024 * 1024;

constexpr const char* usage_text =
    "Usage: mercure-token [--alg ALG] [--key KEY | --key-file PATH | --config PATH]\n"
    "                     [--publish SELECTOR]... [--subscribe SELECTOR]...\n"
    "                     [--payload JSON] [--exp UNIXTIME | --ttl SECONDS] [--nbf UNIXTIME]\n"
    "\n"
    "Prints a signed JWT granting the given Mercure claims, followed by a newline.\n"
    "\n"
    "  -a, --alg ALG          HS256 (default), HS384, HS512, RS256, RS384, RS512,\n"
    "                         ES256, ES384 or ES512\n"
    "  -k, --key KEY          the HS* secret, or the RS*/ES* PEM private key text\n"
    "  -f, --key-file PATH    read the key from PATH (for HS*, one trailing newline is\n"
    "                         removed)\n"
    "  -c, --config PATH      take the key and algorithm from the hub's configuration\n"
    "                         (PATH and its conf.d drop-ins): the subscriber key when only\n"
    "                         --subscribe is given, the publisher key otherwise\n"
    "  -p, --publish SEL      add SEL to mercure.publish (repeatable; \"*\" for any topic)\n"
    "  -s, --subscribe SEL    add SEL to mercure.subscribe (repeatable)\n"
    "  -d, --payload JSON     set mercure.payload to this JSON value\n"
    "  -e, --exp UNIXTIME     expire at this time (seconds since the epoch)\n"
    "  -t, --ttl SECONDS      expire SECONDS from now\n"
    "  -n, --nbf UNIXTIME     not valid before this time\n"
    "  -h, --help             show this help\n"
    "\n"
    "Without --key, --key-file or --config the key comes from MERCURE_PUBLISHER_JWT_KEY,\n"
    "then PUBLISHER_JWT_KEY, then JWT_KEY, then the hub's configuration file\n"
    "(" MERCURE_SYSCONFDIR "/mercure/mercure.conf) when it is readable.\n"
    "RS* and ES* hubs are configured with a public key: pass the private key with --key-file.\n"
    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n";

// Prints a one-line usage error and returns the usage exit status.
int usage_error(const std::string& message)
{
    std::cerr << "mercure-token: " << message << " (see --help)\n";
    return exit_usage;
}

// Parses a whole decimal int64; nullopt on anything else.
std::optional<std::int64_t> parse_int64(const char* text)
{
    if (text == nullptr || *text == '\0') {
        return std::nullopt;
    }
    errno = 0;
    char* end = nullptr;
    const long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(value);
}

// Reads a whole key file; nullopt (and a message on stderr) on failure.
std::optional<std::string> read_key_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        std::cerr << "mercure-token: cannot open key file " << path << ": " << std::strerror(errno) << "\n";
        return std::nullopt;
    }
    std::string contents;
    std::vector<char> buffer(4096);
    while (file) {
        file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        contents.append(buffer.data(), static_cast<std::size_t>(file.gcount()));
        if (static_cast<std::streamsize>(contents.size()) > max_key_file_size) {
            std::cerr << "mercure-token: key file " << path << " is too large\n";
            return std::nullopt;
        }
    }
    if (file.bad()) {
        std::cerr << "mercure-token: cannot read key file " << path << "\n";
        return std::nullopt;
    }
    return contents;
}

// Parses argv, mints the token, prints it.
int run(int argc, char** argv)
{
    static const option long_options[] = {
        {"alg", required_argument, nullptr, 'a'},
        {"key", required_argument, nullptr, 'k'},
        {"key-file", required_argument, nullptr, 'f'},
        {"config", required_argument, nullptr, 'c'},
        {"publish", required_argument, nullptr, 'p'},
        {"subscribe", required_argument, nullptr, 's'},
        {"payload", required_argument, nullptr, 'd'},
        {"exp", required_argument, nullptr, 'e'},
        {"ttl", required_argument, nullptr, 't'},
        {"nbf", required_argument, nullptr, 'n'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };

    std::string algorithm_name = "HS256";
    std::optional<std::string> key;
    std::optional<std::string> key_file;
    std::optional<std::string> config_path;
    bool algorithm_given = false;
    std::optional<std::int64_t> exp;
    std::optional<std::int64_t> ttl;
    mercure::TokenGrant grant;

    opterr = 0;
    int option_char = 0;
    while ((option_char = getopt_long(argc, argv, ":a:k:f:c:p:s:d:e:t:n:h", long_options, nullptr)) != -1) {
        switch (option_char) {
        case 'a':
            algorithm_name = optarg;
            algorithm_given = true;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'f':
            key_file = optarg;
            break;
        case 'p':
            if (!grant.publish) {
                grant.publish.emplace();
            }
            grant.publish->emplace_back(optarg);
            break;
        case 's':
            if (!grant.subscribe) {
                grant.subscribe.emplace();
            }
            grant.subscribe->emplace_back(optarg);
            break;
        case 'd':
            grant.payload_json = optarg;
            if (grant.payload_json.empty()) {
                return usage_error("--payload needs a JSON value");
            }
            break;
        case 'e':
            exp = parse_int64(optarg);
            if (!exp) {
                return usage_error(std::string("--exp is not a whole number of seconds: ") + optarg);
            }
            break;
        case 't':
            ttl = parse_int64(optarg);
            if (!ttl || *ttl <= 0) {
                return usage_error(std::string("--ttl is not a positive number of seconds: ") + optarg);
            }
            break;
        case 'n':
            grant.not_before = parse_int64(optarg);
            if (!grant.not_before) {
                return usage_error(std::string("--nbf is not a whole number of seconds: ") + optarg);
            }
            break;
        case 'h':
            std::cout << usage_text;
            return EXIT_SUCCESS;
        case ':':
            return usage_error(std::string("option ") + argv[optind - 1] + " needs a value");
        default:
            return usage_error(std::string("unknown option ") + argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return usage_error(std::string("unexpected argument ") + argv[optind]);
    }

    if (config_path && (key || key_file)) {
        return usage_error("--config cannot be combined with --key or --key-file");
    }
    if (!key && !key_file && !config_path) {
        for (const char* name : {"MERCURE_PUBLISHER_JWT_KEY", "PUBLISHER_JWT_KEY", "JWT_KEY"}) {
            const char* value = std::getenv(name);
            if (value != nullptr && *value != '\0') {
                key = value;
                break;
            }
        }
        const std::string default_config = MERCURE_SYSCONFDIR "/mercure/mercure.conf";
        if (!key && access(default_config.c_str(), R_OK) == 0) {
            config_path = default_config;
        }
    }
    if (config_path) {
        auto config = mercure::load_config(*config_path);
        if (!config) {
            std::cerr << "mercure-token: " << config.error().message << "\n";
            return exit_failure;
        }
        // A token that only subscribes is checked with the subscriber key.
        bool subscriber_only = grant.subscribe && !grant.publish;
        const mercure::JwtKeyConfig& role = subscriber_only ? config->subscriber : config->publisher;
        if (!algorithm_given) {
            algorithm_name = role.algorithm;
        }
        auto configured = mercure::parse_jwt_algorithm(role.algorithm);
        if (configured && !mercure::jwt_algorithm_is_hmac(*configured)) {
            std::cerr << "mercure-token: " << *config_path << " configures " << role.algorithm
                      << " with a public key; a token needs the private key: pass it with --key-file\n";
            return exit_failure;
        }
        if (role.key.empty()) {
            std::cerr << "mercure-token: " << *config_path << " sets no "
                      << (subscriber_only ? "subscriber" : "publisher") << " key\n";
            return exit_failure;
        }
        key = role.key;
    }

    const std::optional<mercure::JwtAlgorithm> algorithm = mercure::parse_jwt_algorithm(algorithm_name);
    if (!algorithm) {
        return usage_error("unknown algorithm " + algorithm_name +
                           " (expected HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384 or ES512)");
    }
    if (key && key_file) {
        return usage_error("--key and --key-file are mutually exclusive");
    }
    if (exp && ttl) {
        return usage_error("--exp and --ttl are mutually exclusive");
    }

    if (key_file) {
        key = read_key_file(*key_file);
        if (!key) {
            return exit_failure;
        }
        if (mercure::jwt_algorithm_is_hmac(*algorithm)) {
            if (!key->empty() && key->back() == '\n') {
                key->pop_back();
                if (!key->empty() && key->back() == '\r') {
                    key->pop_back();
                }
            }
        }
    } else if (!key) {
        return usage_error("no key: pass --key, --key-file or --config, or set MERCURE_PUBLISHER_JWT_KEY, "
                           "PUBLISHER_JWT_KEY or JWT_KEY");
    }

    if (ttl) {
        const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
        if (*ttl > std::numeric_limits<std::int64_t>::max() - now) {
            return usage_error("--ttl is too large");
        }
        grant.expires_at = now + *ttl;
    } else {
        grant.expires_at = exp;
    }

    const mercure::Result<std::string> token = mercure::mint_token(*algorithm, *key, grant);
    if (!token) {
        std::cerr << "mercure-token: " << token.error().message << "\n";
        return exit_failure;
    }
    std::cout << *token << "\n";
    std::cout.flush();
    if (!std::cout) {
        std::cerr << "mercure-token: cannot write the token to standard output\n";
        return exit_failure;
    }
    return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& error) {
        std::cerr << "mercure-token: " << error.what() << "\n";
        return exit_failure;
    }
}
