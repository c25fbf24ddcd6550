// SSE framing of updates, done once per update and shared by every subscriber.
#include <cstdio>

#include "core/update.hpp"

namespace mercure {

std::string encode_sse_event(const Update& update)
{
    std::string out;
    out.reserve(update.data.size() + update.id.size() + update.type.size() + 32);
    if (!update.type.empty()) {
        out += "event: ";
        out += update.type;
        out += '\n';
    }
    if (update.retry) {
        out += "retry: ";
        out += std::to_string(*update.retry);
        out += '\n';
    }
    out += "id: ";
    out += update.id;
    out += '\n';

    std::string_view data = update.data;
    std::size_t start = 0;
    while (true) {
        std::size_t end = data.find_first_of("\r\n", start);
        out += "data: ";
        out += data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        out += '\n';
        if (end == std::string_view::npos)
            break;
        start = end + 1;
        if (data[end] == '\r' && start < data.size() && data[start] == '\n')
            ++start;  // CRLF is one line break
    }
    out += '\n';
    return out;
}

FramePtr make_frame(std::string_view sse_text)
{
    auto frame = std::make_shared<Frame>();
    char header[20];
    int header_len = std::snprintf(header, sizeof header, "%zx\r\n", sse_text.size());
    frame->bytes.reserve(static_cast<std::size_t>(header_len) + sse_text.size() + 2);
    frame->bytes.append(header, static_cast<std::size_t>(header_len));
    frame->bytes.append(sse_text);
    frame->bytes.append("\r\n");
    frame->event_begin = static_cast<std::uint32_t>(header_len);
    frame->event_end = static_cast<std::uint32_t>(header_len + sse_text.size());
    return frame;
}

} // namespace mercure
