// HttpUrl: an http:// URL split into what a client needs to connect and to send a request.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mercure {

// The default hub URL of the tools.
inline constexpr std::string_view default_hub_url = "http://localhost:3000/.well-known/mercure";

struct HttpUrl {
    std::string host;          // a name or an IP literal, without brackets
    std::uint16_t port = 80;
    std::string target;        // origin-form request target: path and query, starts with '/'

    // The Host header value: "host", "host:port", or "[v6]:port".
    std::string authority() const;

    // "http://" + authority() + target.
    std::string text() const;
};

// Parses "http://host[:port][/path][?query][#fragment]" (scheme and host case-insensitive,
// fragment dropped). https:// is refused with a message saying this client speaks plain HTTP
// only; user information, spaces and control characters are refused too.
Result<HttpUrl> parse_http_url(std::string_view text);

// Appends "key=value" to the target's query, both percent-encoded as the hub's form decoder
// expects.
void append_query_parameter(HttpUrl& url, std::string_view key, std::string_view value);

// The hub URL that a configured listening address implies ("http://HOST:PORT/.well-known/mercure"),
// with the wildcard addresses (":3000", "0.0.0.0", "[::]") reached on localhost; "" when the
// address does not parse.
std::string hub_url_for_listen_address(std::string_view addr);

} // namespace mercure
