// SseStream: the response head (status line, Transfer-Encoding) and failure reporting.
#include "bench_sse.hpp"

#include <algorithm>
#include <cctype>

namespace bench {

namespace {

// ASCII case-insensitive prefix test.
bool starts_with_nocase(std::string_view text, std::string_view prefix)
{
    if (text.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    }
    return true;
}

// ASCII case-insensitive substring test.
bool contains_nocase(std::string_view text, std::string_view needle)
{
    for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
        if (starts_with_nocase(text.substr(i), needle))
            return true;
    }
    return false;
}

} // namespace

SseStream::Status SseStream::refuse(std::string message)
{
    error_ = std::move(message);
    phase_ = Phase::failed;
    std::string().swap(head_);
    return Status::failed;
}

std::size_t SseStream::feed_head(const char* bytes, std::size_t size)
{
    // Only the bytes up to the blank line belong to the head; look for it across the seam.
    const std::size_t before = head_.size();
    const std::size_t keep = std::min(size, max_head + 4 - std::min(before, max_head + 4));
    head_.append(bytes, keep);
    const std::size_t from = before >= 3 ? before - 3 : 0;
    const auto end = head_.find("\r\n\r\n", from);
    if (end == std::string::npos) {
        if (head_.size() > max_head)
            refuse("response head larger than " + std::to_string(max_head) + " bytes");
        return size;
    }
    const std::size_t head_len = end + 4;
    const std::size_t used = head_len - before;
    parse_head(std::string_view(head_).substr(0, end));
    if (phase_ != Phase::failed) {
        std::string().swap(head_);
        phase_ = Phase::body;
    }
    return used;
}

void SseStream::parse_head(std::string_view head)
{
    const auto eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    if (!starts_with_nocase(status_line, "HTTP/1.") || status_line.size() < 12) {
        refuse("not an HTTP/1.x response: " + std::string(status_line.substr(0, 80)));
        return;
    }
    if (status_line.substr(9, 3) != "200") {
        refuse("subscription refused: " + std::string(status_line.substr(0, 80)));
        return;
    }
    std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!rest.empty()) {
        const auto next = rest.find("\r\n");
        const std::string_view line = rest.substr(0, next);
        if (starts_with_nocase(line, "transfer-encoding:") && contains_nocase(line, "chunked"))
            chunked_ = true;
        if (next == std::string_view::npos)
            break;
        rest.remove_prefix(next + 2);
    }
}

} // namespace bench
