// The pure half of the HTTP/1.1 client: response head parsing, body framing, and an
// incremental chunked-transfer decoder. No I/O: http_connection.* feeds them socket bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace mercure {

struct HttpResponseHead {
    int minor_version = 1;     // HTTP/1.x
    int status = 0;
    std::string reason;        // the status line's reason phrase
    std::vector<std::pair<std::string, std::string>> headers;  // names as received

    // The first header with this name (case-insensitive), value trimmed.
    std::optional<std::string_view> header(std::string_view name) const;
};

// The outcome of parsing the bytes received so far.
struct HeadParse {
    enum class Kind { NeedMore, Complete, Error } kind = Kind::NeedMore;
    std::size_t consumed = 0;  // Complete: bytes of the head, blank line included
    std::string error;         // Error: one line saying what is wrong
};

// Parses a status line and headers ("HTTP/1.1 200 OK\r\n...\r\n\r\n"; bare LF line ends are
// accepted). A head longer than max_size is an error.
HeadParse parse_response_head(std::string_view input, std::size_t max_size, HttpResponseHead& head);

// How the body after a head is delimited (RFC 9112 section 6.3).
struct BodyFraming {
    enum class Kind { None, Length, Chunked, UntilClose } kind = Kind::None;
    std::uint64_t length = 0;  // Length: the Content-Length
};

// No body for HEAD, 1xx, 204 and 304; chunked when it is the final transfer coding; else
// Content-Length (conflicting values are an error); else until the connection closes.
Result<BodyFraming> body_framing(const HttpResponseHead& head, bool head_request);

// One printable line saying why a response was refused: the body's first non-empty line
// (hub error bodies are one line), else the status line's reason phrase; control characters
// are replaced and the line is cut at 300 bytes.
std::string response_reason(const HttpResponseHead& head, std::string_view body);

// Decodes a chunked body incrementally: chunk sizes with optional extensions, data, CRLF
// (or bare LF), the last chunk and trailers. Pieces may be split anywhere.
class ChunkedDecoder {
public:
    // Consumes bytes from the front of `in`, appending decoded data to `out`. Stops when `in`
    // is exhausted or at the end of the body (leaving what follows it in `in`).
    Status feed(std::string_view& in, std::string& out);

    // The last chunk and the trailers have been read.
    bool done() const { return state_ == State::Done; }

private:
    enum class State { Size, Extension, SizeLf, Data, DataCr, DataLf, TrailerStart, Trailer, TrailerEndLf, Done };

    State state_ = State::Size;
    std::uint64_t size_ = 0;
    int size_digits_ = 0;
    std::size_t line_bytes_ = 0;   // bytes of the current extension or trailer section
};

} // namespace mercure
