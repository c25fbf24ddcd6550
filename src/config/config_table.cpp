// The configuration key table and the typed values it describes.
#include "config/config_table.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "cluster/cluster_settings.hpp"
#include "config/duration.hpp"

namespace mercure {

namespace {

constexpr std::uint64_t seconds = 1000;
constexpr std::uint64_t hours = 3600 * seconds;
constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

constexpr std::array<std::string_view, 9> algorithms = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"};
constexpr std::array<std::string_view, 5> log_levels = {
    "debug", "info", "notice", "warning", "error"};
constexpr std::array<std::string_view, 3> history_stores = {"auto", "memory", "lmdb"};
constexpr std::array<std::string_view, 3> history_syncs = {"always", "batch", "none"};

template <std::size_t N>
std::string join(const std::array<std::string_view, N>& words)
{
    std::string out;
    for (std::size_t i = 0; i < N; ++i) {
        if (i > 0)
            out += i + 1 == N ? " or " : ", ";
        out += words[i];
    }
    return out;
}

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& words, std::string_view word)
{
    return std::find(words.begin(), words.end(), word) != words.end();
}

std::optional<std::string> check_algorithm(const ConfigValue& v)
{
    if (contains(algorithms, std::get<std::string>(v)))
        return std::nullopt;
    return "must be one of " + join(algorithms);
}

std::optional<std::string> check_optional_algorithm(const ConfigValue& v)
{
    if (std::get<std::string>(v).empty() || contains(algorithms, std::get<std::string>(v)))
        return std::nullopt;
    return "must be empty or one of " + join(algorithms);
}

std::optional<std::string> check_log_level(const ConfigValue& v)
{
    if (contains(log_levels, std::get<std::string>(v)))
        return std::nullopt;
    return "must be one of " + join(log_levels);
}

std::optional<std::string> check_history_store(const ConfigValue& v)
{
    if (contains(history_stores, std::get<std::string>(v)))
        return std::nullopt;
    return "must be one of " + join(history_stores);
}

std::optional<std::string> check_history_sync(const ConfigValue& v)
{
    if (contains(history_syncs, std::get<std::string>(v)))
        return std::nullopt;
    return "must be one of " + join(history_syncs);
}

// The upstream hub's transport URLs: "bolt://PATH[?size=N]" (durable) or "local://"; and
// "redis://..." (cluster mode, checked by the same parser the hub uses).
std::optional<std::string> check_transport_url(const ConfigValue& v)
{
    const std::string& url = std::get<std::string>(v);
    if (url.empty() || url.starts_with("local:") || (url.starts_with("bolt://") && url.size() > 7))
        return std::nullopt;
    if (is_cluster_url(url)) {
        auto settings = parse_cluster_url(url);
        if (settings)
            return std::nullopt;
        return "invalid redis:// URL: " + settings.error().message;
    }
    return "must be \"bolt://PATH\" (a durable history at PATH), \"local://\" or "
           "\"redis://host:port[/db][?stream=NAME&...]\" (cluster mode)";
}

bool is_host_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

// "[host]:port" where host is empty, a name, an IPv4 address or a bracketed IPv6 address.
std::optional<std::string> check_addr(const ConfigValue& v)
{
    const std::string& addr = std::get<std::string>(v);
    const std::string bad = R"(must be [host]:port like ":3000", "localhost:3000" or "[::1]:3000")";
    std::string_view port;
    if (!addr.empty() && addr[0] == '[') {
        const std::size_t close = addr.find(']');
        if (close == std::string::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
            return bad;
        const std::string host = addr.substr(1, close - 1);
        unsigned char buf[16];
        if (inet_pton(AF_INET6, host.c_str(), buf) != 1)
            return bad;
        port = std::string_view(addr).substr(close + 2);
    } else {
        const std::size_t colon = addr.rfind(':');
        if (colon == std::string::npos)
            return bad;
        const std::string_view host = std::string_view(addr).substr(0, colon);
        if (!std::all_of(host.begin(), host.end(), is_host_char))
            return bad;
        port = std::string_view(addr).substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad;
    const long n = std::strtol(std::string(port).c_str(), nullptr, 10);
    if (n < 1 || n > 65535)
        return bad;
    return std::nullopt;
}

// RFC 6265 cookie-name: an RFC 7230 token.
std::optional<std::string> check_optional_addr(const ConfigValue& v)
{
    if (std::get<std::string>(v).empty())
        return std::nullopt;
    return check_addr(v);
}

std::optional<std::string> check_cookie_name(const ConfigValue& v)
{
    const std::string& name = std::get<std::string>(v);
    const auto tchar = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    };
    if (!name.empty() && std::all_of(name.begin(), name.end(), tchar))
        return std::nullopt;
    return "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)";
}

// Origins are compared with what browsers send; whitespace or controls can never match.
std::optional<std::string> check_origins(const ConfigValue& v)
{
    for (const std::string& origin : std::get<std::vector<std::string>>(v)) {
        const bool clean = !origin.empty() && std::all_of(origin.begin(), origin.end(), [](char c) {
            return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
        });
        if (!clean)
            return "must hold origins like \"https://example.com\" (no spaces or control characters)";
    }
    return std::nullopt;
}

// Stores a typed value into a Config field.
template <auto Field>
void set_field(ConfigDraft& d, ConfigValue&& v)
{
    using T = std::remove_reference_t<decltype(d.config.*Field)>;
    if constexpr (std::is_same_v<T, std::size_t>)
        d.config.*Field = static_cast<std::size_t>(std::get<std::uint64_t>(v));
    else
        d.config.*Field = std::get<T>(std::move(v));
}

// Reads a Config field back as a typed value.
template <auto Field>
ConfigValue get_field(const Config& c)
{
    using T = std::remove_cvref_t<decltype(c.*Field)>;
    if constexpr (std::is_same_v<T, std::size_t>)
        return static_cast<std::uint64_t>(c.*Field);
    else
        return c.*Field;
}

// Stores a raw JWT setting into the draft.
template <std::string ConfigDraft::*Field>
void set_raw(ConfigDraft& d, ConfigValue&& v)
{
    d.*Field = std::get<std::string>(std::move(v));
}

// Dumping the JWT settings: when publishers and subscribers share key and algorithm,
// write them as jwt_key/jwt_algorithm; otherwise write each role explicitly.
bool shared_key(const Config& c)
{
    return c.publisher.key == c.subscriber.key && c.publisher.algorithm == c.subscriber.algorithm;
}

ConfigValue get_jwt_key(const Config& c)
{
    return shared_key(c) ? c.publisher.key : std::string();
}
ConfigValue get_jwt_algorithm(const Config& c)
{
    return shared_key(c) ? c.publisher.algorithm : std::string("HS256");
}
ConfigValue get_publisher_key(const Config& c)
{
    return shared_key(c) ? std::string() : c.publisher.key;
}
ConfigValue get_publisher_algorithm(const Config& c)
{
    return shared_key(c) ? std::string() : c.publisher.algorithm;
}
ConfigValue get_subscriber_key(const Config& c)
{
    return shared_key(c) ? std::string() : c.subscriber.key;
}
ConfigValue get_subscriber_algorithm(const Config& c)
{
    return shared_key(c) ? std::string() : c.subscriber.algorithm;
}

using K = KeyType;

// clang-format off
constexpr KeySpec table[] = {
    {"addr", "ADDR", "--addr", K::String, ":3000", 0, 0, check_addr,
     "address to listen on, [host]:port: \":3000\" (every address) or \"localhost:3000\"",
     false, set_field<&Config::addr>, get_field<&Config::addr>},
    {"jwt_key", "JWT_KEY", "--jwt-key", K::String, "", 0, 0, nullptr,
     "JWT key of publishers and subscribers: an HMAC secret or a PEM public key",
     true, set_raw<&ConfigDraft::jwt_key>, get_jwt_key},
    {"jwt_algorithm", "JWT_ALGORITHM", "--jwt-algorithm", K::String, "HS256", 0, 0, check_algorithm,
     "JWT algorithm of jwt_key: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384 or ES512",
     false, set_raw<&ConfigDraft::jwt_algorithm>, get_jwt_algorithm},
    {"publisher_jwt_key", "PUBLISHER_JWT_KEY", "--publisher-jwt-key", K::String, "", 0, 0, nullptr,
     "JWT key of publishers (empty: jwt_key)",
     true, set_raw<&ConfigDraft::publisher_jwt_key>, get_publisher_key},
    {"publisher_jwt_algorithm", "PUBLISHER_JWT_ALGORITHM", "--publisher-jwt-algorithm", K::String, "", 0, 0,
     check_optional_algorithm,
     "JWT algorithm of publishers (empty: jwt_algorithm)",
     false, set_raw<&ConfigDraft::publisher_jwt_algorithm>, get_publisher_algorithm},
    {"subscriber_jwt_key", "SUBSCRIBER_JWT_KEY", "--subscriber-jwt-key", K::String, "", 0, 0, nullptr,
     "JWT key of subscribers (empty: jwt_key)",
     true, set_raw<&ConfigDraft::subscriber_jwt_key>, get_subscriber_key},
    {"subscriber_jwt_algorithm", "SUBSCRIBER_JWT_ALGORITHM", "--subscriber-jwt-algorithm", K::String, "", 0, 0,
     check_optional_algorithm,
     "JWT algorithm of subscribers (empty: jwt_algorithm)",
     false, set_raw<&ConfigDraft::subscriber_jwt_algorithm>, get_subscriber_algorithm},
    {"allow_anonymous", "ALLOW_ANONYMOUS", "--allow-anonymous", K::Bool, "false", 0, 0, nullptr,
     "let subscribers without a token connect (they never receive private updates)",
     false, set_field<&Config::allow_anonymous>, get_field<&Config::allow_anonymous>},
    {"cors_allowed_origins", "CORS_ALLOWED_ORIGINS", "--cors-allowed-origins", K::StringList, "", 0, 0,
     check_origins,
     "origins allowed to subscribe from a browser, like [\"https://example.com\"]; \"*\" allows any",
     false, set_field<&Config::cors_allowed_origins>, get_field<&Config::cors_allowed_origins>},
    {"publish_allowed_origins", "PUBLISH_ALLOWED_ORIGINS", "--publish-allowed-origins", K::StringList, "", 0, 0,
     check_origins,
     "origins allowed to publish with the authorization cookie (CSRF protection)",
     false, set_field<&Config::publish_allowed_origins>, get_field<&Config::publish_allowed_origins>},
    {"use_forwarded_headers", "USE_FORWARDED_HEADERS", "--use-forwarded-headers", K::Bool, "false", 0, 0, nullptr,
     "take client addresses from X-Forwarded-For and Forwarded (only behind a trusted proxy)",
     false, set_field<&Config::use_forwarded_headers>, get_field<&Config::use_forwarded_headers>},
    {"debug", "DEBUG", "--debug", K::Bool, "false", 0, 0, nullptr,
     "enable the debug mode",
     false, set_field<&Config::debug>, get_field<&Config::debug>},
    {"demo", "DEMO", "--demo", K::Bool, "false", 0, 0, nullptr,
     "enable the demo mode",
     false, set_field<&Config::demo>, get_field<&Config::demo>},
    {"subscriptions", "SUBSCRIPTIONS", "--subscriptions", K::Bool, "false", 0, 0, nullptr,
     "publish subscription events and serve the active subscriptions API",
     false, set_field<&Config::subscriptions>, get_field<&Config::subscriptions>},
    {"cookie_name", "COOKIE_NAME", "--cookie-name", K::String, "mercureAuthorization", 0, 0, check_cookie_name,
     "name of the cookie that carries the authorization token",
     false, set_field<&Config::cookie_name>, get_field<&Config::cookie_name>},
    {"heartbeat_interval", "HEARTBEAT_INTERVAL", "--heartbeat-interval", K::Duration, "40s", 0, 24 * hours, nullptr,
     "interval between heartbeats on an idle stream (0s disables)",
     false, set_field<&Config::heartbeat_interval>, get_field<&Config::heartbeat_interval>},
    {"dispatch_timeout", "DISPATCH_TIMEOUT", "--dispatch-timeout", K::Duration, "5s", 0, 1 * hours, nullptr,
     "maximum duration of the dispatch of one update (0s disables)",
     false, set_field<&Config::dispatch_timeout>, get_field<&Config::dispatch_timeout>},
    {"write_timeout", "WRITE_TIMEOUT", "--write-timeout", K::Duration, "10m", 0, 24 * hours, nullptr,
     "maximum duration of writing a response, streams included (0s disables)",
     false, set_field<&Config::write_timeout>, get_field<&Config::write_timeout>},
    {"read_timeout", "READ_TIMEOUT", "--read-timeout", K::Duration, "5s", 0, 1 * hours, nullptr,
     "maximum duration of reading a request, body included (0s disables)",
     false, set_field<&Config::read_timeout>, get_field<&Config::read_timeout>},
    {"history_size", "HISTORY_SIZE", "--history-size", K::Integer, "1000", 0, 1000000, nullptr,
     "updates kept for reconnecting subscribers (Last-Event-ID); 0 keeps none",
     false, set_field<&Config::history_size>, get_field<&Config::history_size>},
    {"history_max_age", "HISTORY_MAX_AGE", "--history-max-age", K::Duration, "0s", 0, 30 * 24 * hours, nullptr,
     "age beyond which kept updates are dropped (0s: no age limit)",
     false, set_field<&Config::history_max_age>, get_field<&Config::history_max_age>},
    {"history_store", "HISTORY_STORE", "--history-store", K::String, "auto", 0, 0, check_history_store,
     "where history lives: memory, lmdb (durable), or auto (lmdb under systemd's StateDirectory, else memory)",
     false, set_field<&Config::history_store>, get_field<&Config::history_store>},
    {"history_path", "HISTORY_PATH", "--history-path", K::String, "", 0, 0, nullptr,
     "directory of the lmdb history (empty: $STATE_DIRECTORY/history)",
     false, set_field<&Config::history_path>, get_field<&Config::history_path>},
    {"history_sync", "HISTORY_SYNC", "--history-sync", K::String, "batch", 0, 0, check_history_sync,
     "lmdb durability: always (fsync per publish), batch (one fsync per loop turn), none (the OS flushes)",
     false, set_field<&Config::history_sync>, get_field<&Config::history_sync>},
    {"history_max_bytes", "HISTORY_MAX_BYTES", "--history-max-bytes", K::Size, "0", 0, 1024 * GiB, nullptr,
     "most bytes of lmdb history data; the oldest updates are dropped beyond (0: no limit)",
     false, set_field<&Config::history_max_bytes>, get_field<&Config::history_max_bytes>},
    {"transport_url", "TRANSPORT_URL", "--transport-url", K::String, "", 0, 0, check_transport_url,
     "\"bolt://PATH\": history_store = lmdb at PATH (when auto); \"redis://host:port[/db][?stream=NAME]\": cluster mode",
     false, set_field<&Config::transport_url>, get_field<&Config::transport_url>},
    {"transport_password", "TRANSPORT_PASSWORD", "--transport-password", K::String, "", 0, 0, nullptr,
     "password of the redis:// transport (Redis AUTH); overrides one written in transport_url",
     true, set_field<&Config::transport_password>, get_field<&Config::transport_password>},
    {"max_body_size", "MAX_BODY_SIZE", "--max-body-size", K::Size, "1M", 1 * KiB, 1 * GiB, nullptr,
     "largest publish request body in bytes (413 beyond)",
     false, set_field<&Config::max_body_size>, get_field<&Config::max_body_size>},
    {"max_header_size", "MAX_HEADER_SIZE", "--max-header-size", K::Size, "16K", 1 * KiB, 1 * MiB, nullptr,
     "largest request line plus headers in bytes (431 beyond)",
     false, set_field<&Config::max_header_size>, get_field<&Config::max_header_size>},
    {"max_topics", "MAX_TOPICS", "--max-topics", K::Integer, "1000", 1, 100000, nullptr,
     "most topic selectors in one request (400 beyond)",
     false, set_field<&Config::max_topics>, get_field<&Config::max_topics>},
    {"max_topic_length", "MAX_TOPIC_LENGTH", "--max-topic-length", K::Size, "2K", 64, 64 * KiB, nullptr,
     "longest topic or topic selector in bytes (400 beyond); bounds URI template complexity",
     false, set_field<&Config::max_topic_length>, get_field<&Config::max_topic_length>},
    {"max_queued_bytes", "MAX_QUEUED_BYTES", "--max-queued-bytes", K::Size, "4M", 4 * KiB, 1 * GiB, nullptr,
     "most bytes queued for one subscriber before it is disconnected as too slow",
     false, set_field<&Config::max_queued_bytes>, get_field<&Config::max_queued_bytes>},
    {"send_buffer", "SEND_BUFFER", "--send-buffer", K::Size, "64K", 0, 64 * MiB, nullptr,
     "kernel send buffer of a subscriber's socket (SO_SNDBUF; 0: the kernel's autotuning)",
     false, set_field<&Config::send_buffer>, get_field<&Config::send_buffer>},
    {"max_connections", "MAX_CONNECTIONS", "--max-connections", K::Integer, "100000", 1, 10000000, nullptr,
     "most open client connections",
     false, set_field<&Config::max_connections>, get_field<&Config::max_connections>},
    {"workers", "WORKERS", "--workers", K::Integer, "0", 0, 64, nullptr,
     "threads writing a large fan-out to subscribers (0: one per core)",
     false, set_field<&Config::workers>, get_field<&Config::workers>},
    {"metrics", "METRICS", "--metrics", K::Bool, "false", 0, 0, nullptr,
     "serve Prometheus metrics at /metrics",
     false, set_field<&Config::metrics>, get_field<&Config::metrics>},
    {"metrics_addr", "METRICS_ADDR", "--metrics-addr", K::String, "", 0, 0, check_optional_addr,
     "separate [host]:port for /metrics, /healthz and /readyz (empty: the main listener)",
     false, set_field<&Config::metrics_addr>, get_field<&Config::metrics_addr>},
    {"metrics_login", "METRICS_LOGIN", "--metrics-login", K::String, "", 0, 0, nullptr,
     "user name required by /metrics with HTTP basic authentication (empty: none)",
     false, set_field<&Config::metrics_login>, get_field<&Config::metrics_login>},
    {"metrics_password", "METRICS_PASSWORD", "--metrics-password", K::String, "", 0, 0, nullptr,
     "password of metrics_login",
     true, set_field<&Config::metrics_password>, get_field<&Config::metrics_password>},
    {"log_level", "LOG_LEVEL", "--log-level", K::String, "info", 0, 0, check_log_level,
     "least severe level logged: debug, info, notice, warning or error",
     false, set_field<&Config::log_level>, get_field<&Config::log_level>},
};

constexpr LegacySetting unsupported[] = {
    {"ACME_HOSTS", "--acme-hosts", true,
     "TLS is not supported: the hub serves plain HTTP; terminate TLS in a reverse proxy"},
    {"ACME_CERT_DIR", "--acme-cert-dir", true,
     "TLS is not supported: the hub serves plain HTTP; terminate TLS in a reverse proxy"},
    {"ACME_HTTP01_ADDR", "--acme-http01-addr", true,
     "TLS is not supported: the hub serves plain HTTP; terminate TLS in a reverse proxy"},
    {"CERT_FILE", "--cert-file", true,
     "TLS is not supported: the hub serves plain HTTP; terminate TLS in a reverse proxy"},
    {"KEY_FILE", "--key-file", true,
     "TLS is not supported: the hub serves plain HTTP; terminate TLS in a reverse proxy"},
    {"COMPRESS", "--compress", false, "HTTP compression is not supported"},
    {"LOG_FORMAT", "--log-format", true,
     "logs go to the journal with structured fields, or to stderr as text"},
};
// clang-format on

std::string lowercase(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> split_list(std::string_view text, ListSyntax syntax)
{
    std::vector<std::string> out;
    const auto is_sep = [syntax](char c) {
        return syntax == ListSyntax::Commas ? c == ','
                                            : std::isspace(static_cast<unsigned char>(c)) != 0;
    };
    const auto is_blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t end = pos;
        while (end < text.size() && !is_sep(text[end]))
            ++end;
        std::string_view item = text.substr(pos, end - pos);
        while (!item.empty() && is_blank(item.front()))
            item.remove_prefix(1);
        while (!item.empty() && is_blank(item.back()))
            item.remove_suffix(1);
        if (!item.empty())
            out.emplace_back(item);
        pos = end + 1;
    }
    return out;
}

std::string format_range_bound(const KeySpec& key, std::uint64_t n)
{
    switch (key.type) {
    case KeyType::Duration: return format_duration(Duration(static_cast<Duration::rep>(n)));
    case KeyType::Size: return format_size(n);
    default: return std::to_string(n);
    }
}

} // namespace

std::span<const KeySpec> config_table()
{
    return table;
}

std::vector<std::string_view> config_key_names()
{
    std::vector<std::string_view> names;
    for (const KeySpec& key : table)
        names.push_back(key.name);
    return names;
}

std::optional<std::size_t> find_key_by_name(std::string_view name)
{
    for (std::size_t i = 0; i < std::size(table); ++i)
        if (table[i].name == name)
            return i;
    return std::nullopt;
}

std::optional<std::size_t> find_key_by_flag(std::string_view flag)
{
    for (std::size_t i = 0; i < std::size(table); ++i)
        if (table[i].flag == flag)
            return i;
    return std::nullopt;
}

std::string type_requirement(const KeySpec& key)
{
    switch (key.type) {
    case KeyType::String: return "must be a string";
    case KeyType::Bool: return "must be a boolean (true or false)";
    case KeyType::Duration: return R"(must be a duration like "40s")";
    case KeyType::Size: return R"(must be a size like "1M" or a number of bytes)";
    case KeyType::Integer: return "must be a non-negative integer";
    case KeyType::StringList: return R"(must be a list of strings like ["https://example.com"])";
    }
    return "is invalid";
}

std::optional<std::string> check_value(const KeySpec& key, const ConfigValue& value)
{
    std::optional<std::uint64_t> n;
    if (key.type == KeyType::Duration)
        n = static_cast<std::uint64_t>(std::get<Duration>(value).count());
    else if (key.type == KeyType::Size || key.type == KeyType::Integer)
        n = std::get<std::uint64_t>(value);
    if (n && (*n < key.min || *n > key.max))
        return "must be between " + format_range_bound(key, key.min) + " and " +
               format_range_bound(key, key.max);
    if (key.check)
        return key.check(value);
    return std::nullopt;
}

std::optional<ConfigValue> parse_value_text(const KeySpec& key, std::string_view text,
                                            ListSyntax lists)
{
    switch (key.type) {
    case KeyType::String:
        return make_config_value<std::string>(text);
    case KeyType::Bool: {
        const std::string word = lowercase(text);
        if (word == "1" || word == "true" || word == "yes" || word == "on")
            return make_config_value<bool>(true);
        if (word == "0" || word == "false" || word == "no" || word == "off")
            return make_config_value<bool>(false);
        return std::nullopt;
    }
    case KeyType::Duration:
        if (auto d = parse_duration(text))
            return make_config_value<Duration>(*d);
        return std::nullopt;
    case KeyType::Size:
        if (auto n = parse_size(text))
            return make_config_value<std::uint64_t>(*n);
        return std::nullopt;
    case KeyType::Integer: {
        if (text.empty() || text.size() > 18 ||
            !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        return make_config_value<std::uint64_t>(
            static_cast<std::uint64_t>(std::strtoull(std::string(text).c_str(), nullptr, 10)));
    }
    case KeyType::StringList:
        return make_config_value<std::vector<std::string>>(split_list(text, lists));
    }
    return std::nullopt;
}

ConfigDraft default_draft()
{
    ConfigDraft draft;
    for (const KeySpec& key : table) {
        auto value = parse_value_text(key, key.default_text, ListSyntax::Commas);
        if (!value || check_value(key, *value)) {
            // The table itself is wrong: a programming error, not a configuration one.
            std::fprintf(stderr, "mercure: bad default for configuration key %.*s\n",
                         static_cast<int>(key.name.size()), key.name.data());
            std::abort();
        }
        key.set(draft, std::move(*value));
    }
    return draft;
}

Config resolve_draft(const ConfigDraft& draft)
{
    Config config = draft.config;
    config.publisher.key = draft.publisher_jwt_key.empty() ? draft.jwt_key : draft.publisher_jwt_key;
    config.publisher.algorithm = draft.publisher_jwt_algorithm.empty() ? draft.jwt_algorithm
                                                                       : draft.publisher_jwt_algorithm;
    config.subscriber.key =
        draft.subscriber_jwt_key.empty() ? draft.jwt_key : draft.subscriber_jwt_key;
    config.subscriber.algorithm = draft.subscriber_jwt_algorithm.empty()
                                      ? draft.jwt_algorithm
                                      : draft.subscriber_jwt_algorithm;
    return config;
}

std::span<const LegacySetting> unsupported_legacy_settings()
{
    return unsupported;
}

} // namespace mercure
