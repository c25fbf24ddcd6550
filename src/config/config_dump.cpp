// Writing configuration back as libconfig text.
#include "config/config_dump.hpp"

#include <cstdint>
#include <cstdio>

#include "config/duration.hpp"

namespace mercure {

namespace {

constexpr std::string_view mask = "********";

} // namespace

std::string quote_config_string(std::string_view text)
{
    std::string out = "\"";
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\f': out += "\\f"; break;
        default:
            if (u < 0x20 || u == 0x7f) {
                char buf[5];
                std::snprintf(buf, sizeof buf, "\\x%02X", u);
                out += buf;
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

std::string format_config_value(const KeySpec& key, const ConfigValue& value)
{
    switch (key.type) {
    case KeyType::String:
        return quote_config_string(std::get<std::string>(value));
    case KeyType::Bool:
        return std::get<bool>(value) ? "true" : "false";
    case KeyType::Duration:
        return quote_config_string(format_duration(std::get<Duration>(value)));
    case KeyType::Size:
        return quote_config_string(format_size(std::get<std::uint64_t>(value)));
    case KeyType::Integer: {
        const std::uint64_t n = std::get<std::uint64_t>(value);
        return std::to_string(n) + (n > INT32_MAX ? "L" : "");
    }
    case KeyType::StringList: {
        const auto& items = std::get<std::vector<std::string>>(value);
        if (items.empty())
            return "[]";
        std::string out = "[ ";
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i > 0)
                out += ", ";
            out += quote_config_string(items[i]);
        }
        return out + " ]";
    }
    }
    return "\"\"";
}

std::string dump_config_text(const Config& c, bool mask_secrets)
{
    std::string out;
    for (const KeySpec& key : config_table()) {
        ConfigValue value = key.get(c);
        if (mask_secrets && key.secret && !std::get<std::string>(value).empty())
            value = std::string(mask);
        out += std::string(key.name) + " = " + format_config_value(key, value) + ";\n";
    }
    return out;
}

std::string commented_default(const KeySpec& key)
{
    ConfigValue value = *parse_value_text(key, key.default_text, ListSyntax::Commas);
    return "# " + std::string(key.help) + "\n#" + std::string(key.name) + " = " +
           format_config_value(key, value) + ";\n";
}

std::string commented_defaults()
{
    std::string out;
    for (const KeySpec& key : config_table())
        out += commented_default(key) + "\n";
    return out;
}

} // namespace mercure
