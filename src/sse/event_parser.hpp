// SseEventParser: an incremental text/event-stream parser, as the WHATWG EventSource
// specification ("Parsing an event stream") defines it; pure, no I/O.
//
// Bytes arrive in arbitrary pieces (a CRLF or the BOM may be split between two feeds).
// Lines end with CRLF, LF or CR; one UTF-8 BOM at the very start of a stream is dropped. A
// line starting with ':' is a comment. Otherwise the field name runs to the first ':' and
// one space after it is dropped from the value. Fields: "event" sets the type, "data"
// appends the value and a LF, "id" sets the last event id unless the value holds a NUL,
// "retry" sets the reconnection time when the value is all ASCII digits; others are
// ignored. A blank line dispatches: the last event id string takes the id buffer's value
// (it persists across events and reconnections), and when the data buffer is not empty an
// event is produced with the final LF removed. An event left unfinished when the stream ends
// is discarded. Bytes are not decoded: data is passed through byte for byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

// One dispatched event.
struct SseEvent {
    std::string id;                        // the last event id string at dispatch ("" if none yet)
    std::string type;                      // the "event" field; "" means the default "message"
    std::string data;                      // data lines joined with "\n"
    std::optional<std::uint64_t> retry;    // a valid "retry" field inside this event's block
};

class SseEventParser {
public:
    // The largest event (pending line plus data buffered) accepted before feed() fails.
    static constexpr std::size_t default_max_event_size = 16u << 20;

    explicit SseEventParser(std::size_t max_event_size = default_max_event_size);

    // Parses bytes and appends every event they complete to `events`. Returns false when a
    // line or an event grows beyond max_event_size; the parser then stays failed.
    bool feed(std::string_view bytes, std::vector<SseEvent>& events);

    // Starts a new stream (a reconnection): drops the unfinished line and event, empties the
    // buffers and expects a BOM again; keeps the last event id string and the reconnection
    // time, as EventSource does.
    void restart();

    // The id a reconnection sends as Last-Event-ID ("" when none was ever dispatched).
    const std::string& last_event_id() const { return last_event_id_; }

    // The reconnection time in milliseconds set by the last valid "retry" field.
    std::optional<std::uint64_t> reconnection_time() const { return reconnection_time_; }

    // Comment lines seen since construction (heartbeats are comments).
    std::uint64_t comments() const { return comments_; }

    bool failed() const { return failed_; }

private:
    void process_line(std::string_view line, std::vector<SseEvent>& events);
    void process_field(std::string_view name, std::string_view value);
    void dispatch(std::vector<SseEvent>& events);
    bool over_limit() const { return line_.size() + data_.size() > max_event_size_; }

    std::size_t max_event_size_;
    std::string line_;                 // the line read so far, without its end
    std::string bom_prefix_;           // leading bytes that may still turn out to be a BOM
    bool at_stream_start_ = true;
    bool skip_lf_ = false;             // the previous byte was CR: a LF right after it is part of CRLF
    bool failed_ = false;

    std::string data_;
    std::string type_;
    std::string id_buffer_;
    std::optional<std::uint64_t> event_retry_;
    std::string last_event_id_;
    std::optional<std::uint64_t> reconnection_time_;
    std::uint64_t comments_ = 0;
};

} // namespace mercure
