// Logger: leveled log lines with structured fields (journal-ready), written to stderr.
#include "log.hpp"

#include <cstdio>
#include <string>

namespace mercure {

namespace {

std::string_view level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Notice: return "notice";
    case LogLevel::Warning: return "warning";
    case LogLevel::Error: return "error";
    }
    return "info";
}

// Appends `value` with control bytes, quotes and backslashes escaped (quoted when needed).
void append_escaped(std::string& out, std::string_view value, bool may_quote)
{
    bool quote = may_quote && (value.empty() || value.find_first_of(" \"=") != std::string_view::npos);
    if (quote)
        out += '"';
    for (unsigned char c : value) {
        if (quote && (c == '"' || c == '\\')) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buffer[5];
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (quote)
        out += '"';
}

// "MERCURE_TOPIC" -> "topic", "REMOTE_ADDR" -> "remote_addr": short keys for humans.
std::string short_key(std::string_view name)
{
    if (name.starts_with("MERCURE_"))
        name.remove_prefix(8);
    std::string key(name);
    for (auto& c : key)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return key;
}

} // namespace

std::optional<LogLevel> parse_log_level(std::string_view name)
{
    for (LogLevel level : {LogLevel::Debug, LogLevel::Info, LogLevel::Notice, LogLevel::Warning, LogLevel::Error})
        if (name == level_name(level))
            return level;
    return std::nullopt;
}

void Logger::log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) const
{
    if (!enabled(level))
        return;
    std::string line = "mercure: ";
    line += level_name(level);
    line += ": ";
    append_escaped(line, message, false);
    for (const LogField& field : fields) {
        line += ' ';
        line += short_key(field.name);
        line += '=';
        append_escaped(line, field.value, true);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace mercure
