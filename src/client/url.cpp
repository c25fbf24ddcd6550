// Parsing http:// URLs for the command-line clients.
#include "client/url.hpp"

#include <algorithm>
#include <cctype>

#include "http/address.hpp"
#include "util/percent_encoding.hpp"

namespace mercure {

namespace {

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string bracketed(const std::string& host)
{
    return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

} // namespace

std::string HttpUrl::authority() const
{
    std::string out = bracketed(host);
    if (port != 80)
        out += ":" + std::to_string(port);
    return out;
}

std::string HttpUrl::text() const
{
    return "http://" + authority() + target;
}

Result<HttpUrl> parse_http_url(std::string_view text)
{
    for (unsigned char c : text) {
        if (c <= 0x20 || c == 0x7f)
            return Error{"invalid URL: it contains a space or a control character"};
    }
    const std::size_t scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos)
        return Error{"invalid URL \"" + std::string(text) + "\": expected http://HOST[:PORT]/PATH"};
    const std::string scheme = lower(text.substr(0, scheme_end));
    if (scheme == "https")
        return Error{"https:// URLs are not supported: this tool speaks plain HTTP only; use an http:// URL "
                     "(for a remote hub, through a local TLS-terminating proxy or an SSH tunnel)"};
    if (scheme != "http")
        return Error{"unsupported URL scheme \"" + scheme + "\": only http:// is supported"};

    std::string_view rest = text.substr(scheme_end + 3);
    const std::size_t authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view tail = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos)
        return Error{"invalid URL: user information (user@host) is not supported; pass a token instead"};

    HttpUrl url;
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return Error{"invalid URL: unterminated IPv6 address"};
        url.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return Error{"invalid URL: unexpected text after the IPv6 address"};
            port_text = after.substr(1);
            if (port_text.empty())
                return Error{"invalid URL: empty port"};
        }
    } else {
        const std::size_t colon = authority.find(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty())
                return Error{"invalid URL: empty port"};
        }
    }
    if (url.host.empty())
        return Error{"invalid URL: no host"};
    url.host = lower(url.host);
    if (!port_text.empty()) {
        unsigned long port = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9' || port > 65535)
                return Error{"invalid URL: bad port \"" + std::string(port_text) + "\""};
            port = port * 10 + static_cast<unsigned long>(c - '0');
        }
        if (port == 0 || port > 65535)
            return Error{"invalid URL: bad port \"" + std::string(port_text) + "\""};
        url.port = static_cast<std::uint16_t>(port);
    }

    tail = tail.substr(0, tail.find('#'));
    if (tail.empty() || tail.front() == '?')
        url.target = "/" + std::string(tail);
    else
        url.target = std::string(tail);
    return url;
}

void append_query_parameter(HttpUrl& url, std::string_view key, std::string_view value)
{
    const bool has_query = url.target.find('?') != std::string::npos;
    if (!has_query)
        url.target.push_back('?');
    else if (url.target.back() != '?' && url.target.back() != '&')
        url.target.push_back('&');
    url.target += percent_encode(key);
    url.target.push_back('=');
    url.target += percent_encode(value);
}

std::string hub_url_for_listen_address(std::string_view addr)
{
    const std::optional<ListenAddress> listen = parse_listen_address(addr);
    if (!listen || listen->port == 0)
        return "";
    std::string host = listen->host;
    if (host.empty() || host == "0.0.0.0" || host == "::")
        host = "localhost";
    HttpUrl url;
    url.host = host;
    url.port = listen->port;
    url.target = "/.well-known/mercure";
    return url.text();
}

} // namespace mercure
