// SseEventParser: the WHATWG event-stream parsing algorithm, fed in arbitrary pieces.
#include "sse/event_parser.hpp"

#include <limits>

namespace mercure {

namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// "retry" values are base-ten ASCII digits only; larger than 64 bits saturates.
std::optional<std::uint64_t> parse_retry(std::string_view value)
{
    if (value.empty())
        return std::nullopt;
    std::uint64_t result = 0;
    for (char c : value) {
        if (c < '0' || c > '9')
            return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (result > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
            result = std::numeric_limits<std::uint64_t>::max();
        else
            result = result * 10 + digit;
    }
    return result;
}

} // namespace

SseEventParser::SseEventParser(std::size_t max_event_size) : max_event_size_(max_event_size) {}

void SseEventParser::restart()
{
    line_.clear();
    bom_prefix_.clear();
    at_stream_start_ = true;
    skip_lf_ = false;
    failed_ = false;
    data_.clear();
    type_.clear();
    id_buffer_.clear();  // a new stream starts with empty buffers; the last event id string stays
    event_retry_.reset();
}

bool SseEventParser::feed(std::string_view bytes, std::vector<SseEvent>& events)
{
    if (failed_)
        return false;
    if (at_stream_start_) {
        // Hold back a possible BOM until it is complete or proven not to be one.
        while (!bytes.empty() && bom_prefix_.size() < utf8_bom.size() &&
               bytes.front() == utf8_bom[bom_prefix_.size()]) {
            bom_prefix_.push_back(bytes.front());
            bytes.remove_prefix(1);
        }
        if (bom_prefix_.size() == utf8_bom.size()) {
            bom_prefix_.clear();
            at_stream_start_ = false;
        } else if (!bytes.empty()) {
            at_stream_start_ = false;
            std::string held;
            held.swap(bom_prefix_);
            if (!feed(held, events))
                return false;
        } else {
            return true;
        }
    }

    while (!bytes.empty()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        const std::size_t end = bytes.find_first_of("\r\n");
        if (end == std::string_view::npos) {
            line_.append(bytes);
            bytes = {};
            break;
        }
        line_.append(bytes.substr(0, end));
        skip_lf_ = bytes[end] == '\r';
        bytes.remove_prefix(end + 1);
        if (over_limit()) {
            failed_ = true;
            return false;
        }
        std::string line;
        line.swap(line_);
        process_line(line, events);
        if (over_limit()) {
            failed_ = true;
            return false;
        }
    }
    if (over_limit()) {
        failed_ = true;
        return false;
    }
    return true;
}

void SseEventParser::process_line(std::string_view line, std::vector<SseEvent>& events)
{
    if (line.empty()) {
        dispatch(events);
        return;
    }
    if (line.front() == ':') {
        ++comments_;
        return;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        process_field(line, {});
        return;
    }
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
    process_field(line.substr(0, colon), value);
}

void SseEventParser::process_field(std::string_view name, std::string_view value)
{
    if (name == "event") {
        type_.assign(value);
    } else if (name == "data") {
        data_.append(value);
        data_.push_back('\n');
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos)
            id_buffer_.assign(value);
    } else if (name == "retry") {
        if (auto retry = parse_retry(value)) {
            reconnection_time_ = retry;
            event_retry_ = retry;
        }
    }
}

void SseEventParser::dispatch(std::vector<SseEvent>& events)
{
    last_event_id_ = id_buffer_;
    if (data_.empty()) {
        type_.clear();
        event_retry_.reset();
        return;
    }
    data_.pop_back();  // the LF after the last data line
    SseEvent event;
    event.id = last_event_id_;
    event.type.swap(type_);
    event.data.swap(data_);
    event.retry = event_retry_;
    event_retry_.reset();
    type_.clear();
    data_.clear();
    events.push_back(std::move(event));
}

} // namespace mercure
