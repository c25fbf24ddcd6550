// SseStream: decodes one subscriber's HTTP response (head, chunked or raw body, SSE lines).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/percent_encoding.hpp"

namespace bench {

// Percent-encodes a query or form value: the hub's own encoder (its source file is built into
// the load generator, which links nothing else of the hub).
using mercure::percent_encode;

// A streaming decoder kept per subscriber connection, so it is small (the head is buffered
// only until it is complete, then released). It understands what the two servers under test
// send: an HTTP/1.x head with status 200, then a body that is either chunked (the hub) or
// raw until EOF (nchan), carrying Server-Sent Events. Of each event it reports the first
// `data:` line, truncated to `data_capacity` bytes (enough for the benchmark's stamp); other
// fields and comments (heartbeats) are skipped. Pure: no sockets, unit-testable.
class SseStream {
public:
    static constexpr std::size_t data_capacity = 56;
    static constexpr std::size_t max_head = 16 * 1024;

    enum class Status : std::uint8_t { ok, ended, failed };

    // Feeds received bytes. Calls sink.on_open() once the head says 200, and
    // sink.on_event(std::string_view data) for each complete event. Returns `failed` (see
    // error()) on a bad head, a status other than 200 or malformed chunking, `ended` when a
    // chunked body terminates; the stream is unusable after either.
    template <typename Sink>
    Status feed(const char* bytes, std::size_t size, Sink& sink);

    // Whether the head has been received and accepted.
    bool open() const { return phase_ == Phase::body; }
    // What went wrong, after `failed`.
    const std::string& error() const { return error_; }

private:
    enum class Phase : std::uint8_t { head, body, done, failed };
    enum class Chunk : std::uint8_t { size, extension, size_lf, data, data_cr, data_lf };

    // Consumes head bytes; returns how many were used (the rest belongs to the body).
    std::size_t feed_head(const char* bytes, std::size_t size);
    // Parses the buffered head once complete.
    void parse_head(std::string_view head);
    // Runs chunk framing over body bytes, passing payload bytes to lines().
    template <typename Sink>
    void dechunk(const char* bytes, std::size_t size, Sink& sink);
    // Splits SSE payload bytes into lines and dispatches events at blank lines.
    template <typename Sink>
    void lines(const char* bytes, std::size_t size, Sink& sink);
    // Handles one complete SSE line (the first line_capacity bytes of it).
    template <typename Sink>
    void end_line(Sink& sink);
    Status refuse(std::string message); // records the error, stops the stream

    static constexpr std::size_t line_capacity = data_capacity + 6; // "data: " + value

    std::string head_;
    std::string error_;
    std::uint32_t chunk_left_ = 0;
    std::uint16_t line_len_ = 0;
    std::uint8_t data_len_ = 0;
    Phase phase_ = Phase::head;
    Chunk chunk_ = Chunk::size;
    bool chunked_ = false;
    bool skip_lf_ = false;
    bool has_data_ = false;
    char line_[line_capacity];
    char data_[data_capacity];
};

template <typename Sink>
SseStream::Status SseStream::feed(const char* bytes, std::size_t size, Sink& sink)
{
    if (phase_ == Phase::head) {
        const std::size_t used = feed_head(bytes, size);
        if (phase_ == Phase::failed)
            return Status::failed;
        if (phase_ == Phase::head)
            return Status::ok;
        sink.on_open();
        bytes += used;
        size -= used;
    }
    if (phase_ == Phase::body) {
        if (chunked_)
            dechunk(bytes, size, sink);
        else
            lines(bytes, size, sink);
    }
    if (phase_ == Phase::failed)
        return Status::failed;
    return phase_ == Phase::done ? Status::ended : Status::ok;
}

template <typename Sink>
void SseStream::dechunk(const char* p, std::size_t n, Sink& sink)
{
    const char* const end = p + n;
    while (p < end && phase_ == Phase::body) {
        if (chunk_ == Chunk::data) {
            const auto take = static_cast<std::size_t>(end - p) < chunk_left_ ? static_cast<std::size_t>(end - p)
                                                                              : static_cast<std::size_t>(chunk_left_);
            lines(p, take, sink);
            p += take;
            chunk_left_ -= static_cast<std::uint32_t>(take);
            if (chunk_left_ == 0)
                chunk_ = Chunk::data_cr;
            continue;
        }
        const char c = *p++;
        switch (chunk_) {
        case Chunk::size: {
            int digit = -1;
            if (c >= '0' && c <= '9')
                digit = c - '0';
            else if (c >= 'a' && c <= 'f')
                digit = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                digit = c - 'A' + 10;
            if (digit >= 0) {
                if (chunk_left_ > (1u << 27)) {
                    refuse("chunk size too large");
                    return;
                }
                chunk_left_ = chunk_left_ * 16 + static_cast<std::uint32_t>(digit);
            } else if (c == ';' || c == ' ' || c == '\t') {
                chunk_ = Chunk::extension;
            } else if (c == '\r') {
                chunk_ = Chunk::size_lf;
            } else {
                refuse("malformed chunk size");
                return;
            }
            break;
        }
        case Chunk::extension:
            if (c == '\n') {
                if (chunk_left_ == 0)
                    phase_ = Phase::done;
                else
                    chunk_ = Chunk::data;
            }
            break;
        case Chunk::size_lf:
            if (c != '\n') {
                refuse("malformed chunk size line");
                return;
            }
            if (chunk_left_ == 0)
                phase_ = Phase::done;
            else
                chunk_ = Chunk::data;
            break;
        case Chunk::data_cr:
            if (c != '\r') {
                refuse("chunk not followed by CRLF");
                return;
            }
            chunk_ = Chunk::data_lf;
            break;
        case Chunk::data_lf:
            if (c != '\n') {
                refuse("chunk not followed by CRLF");
                return;
            }
            chunk_ = Chunk::size;
            break;
        case Chunk::data:
            break;
        }
    }
}

template <typename Sink>
void SseStream::lines(const char* p, std::size_t n, Sink& sink)
{
    for (const char* const end = p + n; p < end; ++p) {
        const char c = *p;
        if (skip_lf_) {
            skip_lf_ = false;
            if (c == '\n')
                continue;
        }
        if (c == '\n' || c == '\r') {
            skip_lf_ = c == '\r';
            end_line(sink);
            continue;
        }
        if (line_len_ < line_capacity)
            line_[line_len_] = c;
        if (line_len_ < 0xffff)
            ++line_len_;
    }
}

template <typename Sink>
void SseStream::end_line(Sink& sink)
{
    if (line_len_ == 0) {
        if (has_data_) {
            has_data_ = false;
            sink.on_event(std::string_view(data_, data_len_));
        }
        return;
    }
    const std::size_t len = line_len_ < line_capacity ? line_len_ : line_capacity;
    line_len_ = 0;
    if (has_data_ || len < 5 || std::string_view(line_, 5) != "data:")
        return; // another field, a comment, or a continuation data line
    std::size_t start = 5;
    if (start < len && line_[start] == ' ')
        ++start;
    std::size_t copy = len - start;
    if (copy > data_capacity)
        copy = data_capacity;
    for (std::size_t i = 0; i < copy; ++i)
        data_[i] = line_[start + i];
    data_len_ = static_cast<std::uint8_t>(copy);
    has_data_ = true;
}

} // namespace bench
