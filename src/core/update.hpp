// Update: one published update, and its SSE frame serialized once for every subscriber.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

// A validated update. topics[0] is the canonical topic, the rest are alternates.
struct Update {
    std::vector<std::string> topics;
    std::string id;
    std::string type;
    std::string data;
    std::optional<std::uint64_t> retry;
    bool is_private = false;
};

// Bytes ready to be written to subscribers, shared by all of them. `bytes` holds the SSE text
// wrapped in one HTTP/1.1 chunk; event() is the bare SSE text inside it, for HTTP/1.0
// (close-delimited) streams. Both views are precomputed so writing costs no formatting.
struct Frame {
    std::string bytes;
    std::uint32_t event_begin = 0;
    std::uint32_t event_end = 0;

    std::string_view chunked() const { return bytes; }
    std::string_view event() const { return std::string_view(bytes).substr(event_begin, event_end - event_begin); }
};

using FramePtr = std::shared_ptr<const Frame>;

// Serializes an update as one SSE event: "event:", "retry:" (when set), "id:", one "data:" per
// line (CRLF, CR and LF all split), then a blank line.
std::string encode_sse_event(const Update& update);

// Wraps SSE text into a shared Frame (chunk header + text + CRLF).
FramePtr make_frame(std::string_view sse_text);

} // namespace mercure
