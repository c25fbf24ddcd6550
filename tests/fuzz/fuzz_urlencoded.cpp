// libFuzzer driver of query-string and form decoding: form_decode(), parse_urlencoded() and
// parse_publish_form(), then the SSE framing of every update the form parser accepts.
//
// Invariants: decoding inverts percent_encode(); parse_urlencoded() gives the same pairs back
// from their re-encoded form; an accepted update has a topic, none reserved, an id and a type without
// CR/LF/NUL; and its SSE text is exactly one event (no line break other than LF, one blank line,
// at the end), so a publisher cannot inject a second event into every subscriber's stream.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/publish_form.hpp"
#include "core/update.hpp"
#include "fuzz_check.hpp"
#include "util/percent_encoding.hpp"

using namespace mercure;

namespace {

// Checks the SSE event of an accepted update.
void check_event(const Update& update)
{
    const std::string event = encode_sse_event(update);
    FUZZ_CHECK(event.size() >= 2 && event.ends_with("\n\n"));
    FUZZ_CHECK(event.find('\r') == std::string::npos);
    FUZZ_CHECK(event.find("\n\n") == event.size() - 2);
    FUZZ_CHECK(event.find("id: " + update.id + "\n") != std::string::npos);
    const FramePtr frame = make_frame(event);
    FUZZ_CHECK(frame->event() == event);
    FUZZ_CHECK(frame->chunked().ends_with("\r\n"));
}

// Checks a publish form under one topic limit.
void check_publish(std::string_view body, std::size_t max_topics)
{
    auto parsed = parse_publish_form(body, max_topics);
    if (auto* refusal = std::get_if<PublishRefusal>(&parsed)) {
        FUZZ_CHECK(refusal->status == 400 || refusal->status == 403);
        FUZZ_CHECK(!refusal->reason.empty());
        return;
    }
    const Update& update = std::get<Update>(parsed);
    FUZZ_CHECK(!update.topics.empty() && update.topics.size() <= max_topics);
    for (const std::string& topic : update.topics)
        FUZZ_CHECK(!topic.empty() && !is_reserved_topic(topic));
    const std::string_view breaking("\r\n\0", 3);
    FUZZ_CHECK(update.id.find_first_of(breaking) == std::string::npos && !update.id.starts_with('#'));
    FUZZ_CHECK(update.type.find_first_of(breaking) == std::string::npos);
    check_event(update);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    // One component: decoding inverts encoding; a decoded value re-encodes to a decodable form.
    FUZZ_CHECK(form_decode(percent_encode(input)) == std::string(input));
    if (auto decoded = form_decode(input))
        FUZZ_CHECK(form_decode(percent_encode(*decoded)) == *decoded);

    // A whole query string or form body, checked against a by-hand split.
    if (auto pairs = parse_urlencoded(input)) {
        std::string rebuilt;
        for (const auto& [key, value] : *pairs) {
            if (!rebuilt.empty())
                rebuilt += '&';
            rebuilt += percent_encode(key) + "=" + percent_encode(value);
        }
        FUZZ_CHECK(parse_urlencoded(rebuilt) == pairs);
    }

    check_publish(input, 1000);
    check_publish(input, 2);
    return 0;
}
