// Logger: leveled, structured log events, sent to the journal or written to stderr.
#include "log.hpp"

#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "systemd.hpp"

namespace mercure {

namespace {

constexpr double burst = 200;
constexpr double refill_per_second = 100;

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

int syslog_priority(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug: return LOG_DEBUG;
    case LogLevel::Info: return LOG_INFO;
    case LogLevel::Notice: return LOG_NOTICE;
    case LogLevel::Warning: return LOG_WARNING;
    case LogLevel::Error: return LOG_ERR;
    }
    return LOG_INFO;
}

// Lifecycle events are never rate-limited: there are few of them and they matter.
bool client_caused(LogEvent event)
{
    switch (event) {
    case LogEvent::Started:
    case LogEvent::Stopping:
    case LogEvent::Stopped:
    case LogEvent::ConfigReloaded:
    case LogEvent::ConfigReloadFailed:
        return false;
    default:
        return true;
    }
}

// Appends `value` with control bytes escaped (quoted, with quotes escaped, when `may_quote`
// and the value has spaces, quotes or '=').
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

// Journal field names: our own fields carry the MERCURE_ prefix, standard ones stay as they are.
std::string journal_key(std::string_view name)
{
    if (name.starts_with("MERCURE_") || name == "REMOTE_ADDR")
        return std::string(name);
    return "MERCURE_" + std::string(name);
}

} // namespace

std::string_view log_message_id(LogEvent event)
{
    switch (event) {
    case LogEvent::Generic: return "";
    case LogEvent::Started: return "b8c6d76c6f6e4d2b9b954203fe3c9049";
    case LogEvent::Stopping: return "cc4a415871954ed9a27992892fe81524";
    case LogEvent::Stopped: return "de3825a6086d42898c0727df02b9331d";
    case LogEvent::SubscriberConnected: return "df741b9ccd2f4e99b52ec3d7a01f0479";
    case LogEvent::SubscriberDisconnected: return "1f5c2927381b4ce39f788e3683429898";
    case LogEvent::UpdatePublished: return "67e58cb6304b43309b306419b86b9b83";
    case LogEvent::AuthRefused: return "7e31fdebbbef40bbb8f672ca7aaa1009";
    case LogEvent::RequestRefused: return "359d8d2f2f634ba88b6d5136bca771b3";
    case LogEvent::ConfigReloaded: return "d3f0aed3bb6b4b5c8f931a9ab27a68e3";
    case LogEvent::ConfigReloadFailed: return "daf1fb79412b46e890d8fe153e3fb1a0";
    case LogEvent::SlowSubscriberDropped: return "6552b0e83e11444c89ef44abd5131407";
    case LogEvent::ClusterUp: return "18a024b9bf49433ab1001c4390b38c87";
    case LogEvent::ClusterDown: return "d5564322eda4477983b618bbcaac3744";
    case LogEvent::Count_: break;
    }
    return "";
}

std::optional<LogLevel> parse_log_level(std::string_view name)
{
    for (LogLevel level : {LogLevel::Debug, LogLevel::Info, LogLevel::Notice, LogLevel::Warning, LogLevel::Error})
        if (name == level_name(level))
            return level;
    return std::nullopt;
}

Logger::Logger(LogLevel minimum) : minimum_(minimum), journal_(stderr_is_journal()) {}

bool Logger::admit(LogEvent event)
{
    if (!client_caused(event))
        return true;
    Bucket& bucket = buckets_[static_cast<std::size_t>(event)];
    auto now = std::chrono::steady_clock::now();
    if (bucket.refilled.time_since_epoch().count() == 0)
        bucket.refilled = now;
    double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.refilled = now;
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * refill_per_second);
    if (bucket.tokens < 1) {
        ++bucket.suppressed;
        return false;
    }
    bucket.tokens -= 1;
    return true;
}

void Logger::log(LogLevel level, LogEvent event, std::string_view message, std::initializer_list<LogField> fields)
{
    if (!enabled(level) || !admit(event))
        return;
    std::uint64_t suppressed = 0;
    if (client_caused(event))
        std::swap(suppressed, buckets_[static_cast<std::size_t>(event)].suppressed);
    emit(level, event, message, fields, suppressed);
}

void Logger::emit(LogLevel level, LogEvent event, std::string_view message, std::initializer_list<LogField> fields,
                  std::uint64_t suppressed)
{
    std::string suppressed_text = suppressed ? std::to_string(suppressed) : std::string();
    if (journal_) {
        std::vector<std::string> entries;
        entries.reserve(fields.size() + 5);
        entries.push_back("MESSAGE=" + std::string(message));
        entries.push_back("PRIORITY=" + std::to_string(syslog_priority(level)));
        entries.push_back("SYSLOG_IDENTIFIER=mercure");
        if (auto id = log_message_id(event); !id.empty())
            entries.push_back("MESSAGE_ID=" + std::string(id));
        for (const LogField& field : fields)
            entries.push_back(journal_key(field.name) + "=" + std::string(field.value));
        if (suppressed)
            entries.push_back("MERCURE_SUPPRESSED=" + suppressed_text);
        std::vector<iovec> vectors;
        vectors.reserve(entries.size());
        for (auto& entry : entries)
            vectors.push_back(iovec{entry.data(), entry.size()});
        if (sd_journal_sendv(vectors.data(), static_cast<int>(vectors.size())) >= 0)
            return;
        // The journal is gone (stopping?): fall back to stderr below.
    }
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
    if (suppressed) {
        line += " suppressed=";
        line += suppressed_text;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace mercure
