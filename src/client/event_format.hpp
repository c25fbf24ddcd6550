// How mercure-subscribe prints events: as event-stream text or as one JSON object per line.
#pragma once
#include <string>
#include <string_view>

#include "sse/event_parser.hpp"

namespace mercure {

// "id: ID", "event: TYPE" (when set), "retry: MS" (when set), one "data: LINE" per line of the
// data, then a blank line: the event as the hub sent it, readable by any SSE parser.
std::string format_event_text(const SseEvent& event);

// {"id":"...","type":"...","data":"...","retry":N|null} and a newline. type is "message" when
// the stream gave none, as EventSource reports it; bytes that are not UTF-8 become U+FFFD.
std::string format_event_json(const SseEvent& event);

// A JSON string literal for arbitrary bytes (quotes included).
std::string json_quote(std::string_view bytes);

} // namespace mercure
