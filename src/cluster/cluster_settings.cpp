// ClusterSettings: the Redis transport's settings, parsed from a redis:// transport_url.
#include "cluster/cluster_settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "util/percent_encoding.hpp"

namespace mercure {

namespace {

constexpr std::string_view scheme = "redis://";

// A decimal integer in [min, max], or nullopt.
std::optional<std::uint64_t> number(std::string_view text, std::uint64_t min, std::uint64_t max)
{
    std::uint64_t n = 0;
    if (text.empty() || text.size() > 12)
        return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || n < min || n > max)
        return std::nullopt;
    return n;
}

} // namespace

bool is_cluster_url(std::string_view url)
{
    return url.starts_with(scheme);
}

Result<ClusterSettings> parse_cluster_url(std::string_view url)
{
    if (!is_cluster_url(url))
        return Error{"must start with redis://"};
    ClusterSettings settings;
    std::string_view rest = url.substr(scheme.size());
    std::string_view query;
    if (std::size_t q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view path;
    if (std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    if (std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        std::size_t colon = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, colon));
        auto password = colon == std::string_view::npos ? std::optional<std::string>("")
                                                        : percent_decode(userinfo.substr(colon + 1));
        if (!user || !password)
            return Error{"malformed percent-encoding in the user or password"};
        if (colon == std::string_view::npos) {
            // "redis://secret@host": a lone userinfo is the password, as redis-cli reads it.
            settings.password = *user;
        } else {
            settings.user = *user;
            settings.password = *password;
        }
    }
    std::string_view port;
    if (rest.starts_with('[')) {
        std::size_t close = rest.find(']');
        if (close == std::string_view::npos)
            return Error{"unterminated [IPv6] host"};
        settings.host = std::string(rest.substr(1, close - 1));
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':')
                return Error{"expected :port after the [IPv6] host"};
            port = after.substr(1);
        }
    } else {
        std::size_t colon = rest.rfind(':');
        settings.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos)
            port = rest.substr(colon + 1);
    }
    if (settings.host.empty())
        settings.host = "127.0.0.1";
    if (!std::all_of(settings.host.begin(), settings.host.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':';
        }))
        return Error{"invalid host \"" + settings.host + "\""};
    if (!port.empty() || rest.ends_with(':')) {
        auto n = number(port, 1, 65535);
        if (!n)
            return Error{"invalid port \"" + std::string(port) + "\" (1 to 65535)"};
        settings.port = static_cast<int>(*n);
    }
    if (!path.empty()) {
        auto n = number(path, 0, 1000000);
        if (!n)
            return Error{"invalid database number \"" + std::string(path) + "\""};
        settings.db = static_cast<int>(*n);
    }
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty())
            continue;
        std::size_t eq = pair.find('=');
        std::string_view name = pair.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        auto bad = [&](std::string_view what) {
            return Error{"invalid " + std::string(name) + " \"" + std::string(value) + "\" (" + std::string(what) + ")"};
        };
        if (name == "stream") {
            auto stream = percent_decode(value);
            if (!stream || stream->empty())
                return bad("a non-empty key name");
            settings.stream = *stream;
        } else if (name == "max_len") {
            auto n = number(value, 1, 1000000000);
            if (!n)
                return bad("1 to 1000000000 entries");
            settings.max_len = static_cast<std::size_t>(*n);
        } else if (name == "start") {
            if (value != "retry" && value != "fail")
                return bad("retry or fail");
            settings.fail_fast = value == "fail";
        } else if (name == "presence_ttl") {
            auto n = number(value, 3, 86400);
            if (!n)
                return bad("3 to 86400 seconds");
            settings.presence_ttl = std::chrono::seconds(*n);
        } else if (name == "block_ms") {
            auto n = number(value, 10, 60000);
            if (!n)
                return bad("10 to 60000 milliseconds");
            settings.block = std::chrono::milliseconds(*n);
        } else if (name == "timeout_ms") {
            auto n = number(value, 100, 600000);
            if (!n)
                return bad("100 to 600000 milliseconds");
            settings.timeout = std::chrono::milliseconds(*n);
        } else {
            return Error{"unknown parameter \"" + std::string(name) +
                         "\" (known: stream, max_len, start, presence_ttl, block_ms, timeout_ms)"};
        }
    }
    return settings;
}

} // namespace mercure
