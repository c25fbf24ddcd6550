// Logger: leveled, structured log events, sent to the journal or written to stderr.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

namespace mercure {

enum class LogLevel { Debug = 0, Info, Notice, Warning, Error };

// Parses "debug", "info", "notice", "warning", "error".
std::optional<LogLevel> parse_log_level(std::string_view name);

// Kinds of events, each with a stable journal MESSAGE_ID so operators can filter them
// (`journalctl MESSAGE_ID=...`). Events caused by clients are rate-limited.
enum class LogEvent {
    Generic,
    Started,
    Stopping,
    Stopped,
    SubscriberConnected,
    SubscriberDisconnected,
    UpdatePublished,
    AuthRefused,
    RequestRefused,
    ConfigReloaded,
    ConfigReloadFailed,
    SlowSubscriberDropped,
    ClusterUp,
    ClusterDown,
    Count_
};

// The 128-bit MESSAGE_ID of an event kind as 32 hex digits ("" for Generic).
std::string_view log_message_id(LogEvent event);

// One structured field; `name` is a journal field name such as "MERCURE_TOPIC".
struct LogField {
    std::string_view name;
    std::string_view value;
};

// Under journald (stderr connected to the journal) each event is sent with sd_journal_sendv:
// MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER and the fields (named MERCURE_* unless they
// are standard, like REMOTE_ADDR). Elsewhere, one readable line on stderr with values escaped so
// no client can inject line breaks or terminal controls.
//
// Client-caused events are rate-limited per kind (a token bucket: bursts of 200, then 100 per
// second); what is dropped is counted and reported by the next line of that kind.
class Logger {
public:
    explicit Logger(LogLevel minimum = LogLevel::Info);

    void set_minimum(LogLevel minimum) { minimum_ = minimum; }
    bool enabled(LogLevel level) const { return level >= minimum_; }
    // Forces journal or stderr output (tests); detected from JOURNAL_STREAM by default.
    void use_journal(bool journal) { journal_ = journal; }

    // Logs an event of a kind when `level` is enabled and the kind's rate allows it.
    void log(LogLevel level, LogEvent event, std::string_view message, std::initializer_list<LogField> fields = {});
    // Logs a generic event.
    void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {})
    {
        log(level, LogEvent::Generic, message, fields);
    }

private:
    struct Bucket {
        double tokens = 200;
        std::chrono::steady_clock::time_point refilled{};
        std::uint64_t suppressed = 0;
    };
    bool admit(LogEvent event);
    void emit(LogLevel level, LogEvent event, std::string_view message, std::initializer_list<LogField> fields,
              std::uint64_t suppressed);

    LogLevel minimum_;
    bool journal_ = false;
    std::array<Bucket, static_cast<std::size_t>(LogEvent::Count_)> buckets_{};
};

} // namespace mercure
