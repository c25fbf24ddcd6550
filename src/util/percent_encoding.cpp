// Percent-decoding of query strings and form bodies, and RFC 6570-style encoding.
#include "util/percent_encoding.hpp"

namespace mercure {

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

namespace {

bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

std::optional<std::string> decode(std::string_view in, bool plus_is_space)
{
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= in.size())
                return std::nullopt;
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

} // namespace

std::optional<std::string> form_decode(std::string_view in)
{
    return decode(in, true);
}

std::optional<std::string> percent_decode(std::string_view in)
{
    return decode(in, false);
}

std::optional<FormPairs> parse_urlencoded(std::string_view in)
{
    FormPairs pairs;
    while (!in.empty()) {
        std::size_t amp = in.find('&');
        std::string_view segment = in.substr(0, amp);
        in = amp == std::string_view::npos ? std::string_view() : in.substr(amp + 1);
        if (segment.empty())
            continue;
        std::size_t eq = segment.find('=');
        auto key = form_decode(segment.substr(0, eq));
        auto value = form_decode(eq == std::string_view::npos ? std::string_view() : segment.substr(eq + 1));
        if (!key || !value)
            return std::nullopt;
        pairs.emplace_back(std::move(*key), std::move(*value));
    }
    return pairs;
}

std::string percent_encode(std::string_view in)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(in.size());
    for (unsigned char c : in) {
        if (is_unreserved(c)) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0x0f]);
        }
    }
    return out;
}

} // namespace mercure
