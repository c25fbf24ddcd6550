// JsonObject: rendering of strings, numbers, arrays and nested objects.
#include "bench_json.hpp"

#include <cmath>
#include <cstdio>

namespace bench {

std::string JsonObject::quote(const std::string& text)
{
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                out += escaped;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
    return out;
}

std::string JsonObject::number(double value)
{
    if (!std::isfinite(value))
        return "null";
    char text[64];
    std::snprintf(text, sizeof text, "%.10g", value);
    return text;
}

JsonObject& JsonObject::set(const std::string& key, double value)
{
    members_.emplace_back(key, number(value));
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, std::int64_t value)
{
    members_.emplace_back(key, std::to_string(value));
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, std::uint64_t value)
{
    members_.emplace_back(key, std::to_string(value));
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, bool value)
{
    members_.emplace_back(key, value ? "true" : "false");
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, const std::string& value)
{
    members_.emplace_back(key, quote(value));
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, const JsonObject& value)
{
    members_.emplace_back(key, value.str());
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<double>& values)
{
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i)
            out += ',';
        out += number(values[i]);
    }
    members_.emplace_back(key, out + "]");
    return *this;
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<std::string>& values)
{
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i)
            out += ',';
        out += quote(values[i]);
    }
    members_.emplace_back(key, out + "]");
    return *this;
}

JsonObject& JsonObject::set_null(const std::string& key)
{
    members_.emplace_back(key, "null");
    return *this;
}

std::string JsonObject::str() const
{
    std::string out = "{";
    for (std::size_t i = 0; i < members_.size(); ++i) {
        if (i)
            out += ',';
        out += quote(members_[i].first);
        out += ':';
        out += members_[i].second;
    }
    return out + "}";
}

} // namespace bench
