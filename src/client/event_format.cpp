// Text and JSON renderings of received events.
#include "client/event_format.hpp"

namespace mercure {

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at the start of `in` (Unicode table 3-7), 0 if none.
std::size_t utf8_sequence_length(std::string_view in)
{
    const auto byte = [&in](std::size_t i) { return static_cast<unsigned char>(in[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            low = 0xA0;
        if (lead == 0xED)
            high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            low = 0x90;
        if (lead == 0xF4)
            high = 0x8F;
    } else {
        return 0;
    }
    if (in.size() < length || byte(1) < low || byte(1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (!is_continuation(byte(i)))
            return 0;
    }
    return length;
}

} // namespace

std::string format_event_text(const SseEvent& event)
{
    std::string out;
    out.reserve(event.data.size() + event.id.size() + 32);
    out += "id: " + event.id + "\n";
    if (!event.type.empty())
        out += "event: " + event.type + "\n";
    if (event.retry)
        out += "retry: " + std::to_string(*event.retry) + "\n";
    std::string_view data = event.data;
    for (;;) {
        const std::size_t lf = data.find('\n');
        out += "data: ";
        out.append(data.substr(0, lf));
        out += "\n";
        if (lf == std::string_view::npos)
            break;
        data.remove_prefix(lf + 1);
    }
    out += "\n";
    return out;
}

std::string format_event_json(const SseEvent& event)
{
    std::string out = "{\"id\":" + json_quote(event.id) + ",\"type\":" +
                      json_quote(event.type.empty() ? std::string_view("message") : std::string_view(event.type)) +
                      ",\"data\":" + json_quote(event.data) + ",\"retry\":" +
                      (event.retry ? std::to_string(*event.retry) : std::string("null")) + "}\n";
    return out;
}

std::string json_quote(std::string_view bytes)
{
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() + 2);
    out.push_back('"');
    while (!bytes.empty()) {
        const auto c = static_cast<unsigned char>(bytes.front());
        if (c >= 0x80) {
            const std::size_t length = utf8_sequence_length(bytes);
            if (length == 0) {
                out += replacement_character;
                bytes.remove_prefix(1);
            } else {
                out.append(bytes.substr(0, length));
                bytes.remove_prefix(length);
            }
            continue;
        }
        bytes.remove_prefix(1);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0x0f]);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
    return out;
}

} // namespace mercure
