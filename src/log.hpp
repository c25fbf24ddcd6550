// Logger: leveled log lines with structured fields (journal-ready), written to stderr.
#pragma once
#include <initializer_list>
#include <optional>
#include <string_view>

namespace mercure {

enum class LogLevel { Debug = 0, Info, Notice, Warning, Error };

// Parses "debug", "info", "notice", "warning", "error".
std::optional<LogLevel> parse_log_level(std::string_view name);

// One structured field; `name` is a journal field name such as "MERCURE_TOPIC".
struct LogField {
    std::string_view name;
    std::string_view value;
};

// Writes one line per event: "<level> <message> key=value ...". Values are escaped so a client
// cannot inject line breaks or terminal controls into the log.
class Logger {
public:
    explicit Logger(LogLevel minimum = LogLevel::Info) : minimum_(minimum) {}

    void set_minimum(LogLevel minimum) { minimum_ = minimum; }
    bool enabled(LogLevel level) const { return level >= minimum_; }

    // Logs `message` with its fields when `level` is enabled.
    void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {}) const;

private:
    LogLevel minimum_;
};

} // namespace mercure
