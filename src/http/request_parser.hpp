// A strict, bounded HTTP/1.x request parser working on a connection's input buffer.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace mercure {

struct RequestLimits {
    std::size_t max_header_size = 16 << 10;   // request line + headers
    std::size_t max_body_size = 1 << 20;
};

// The outcome of one parse attempt over the bytes received so far.
struct ParseResult {
    enum class Kind { NeedMore, Complete, Error } kind = Kind::NeedMore;
    std::size_t consumed = 0;   // Complete: bytes of this request (head + body)
    int status = 0;             // Error: the HTTP status to answer (400, 413, 431, 501, 505)
    std::string reason;         // Error: a one-line reason
    bool awaiting_body = false; // NeedMore: the head is complete, the body is not
    bool expects_continue = false; // ... and the client sent "Expect: 100-continue"
};

// Parses the request at the start of `input` into `request`. Strict: token method, origin-form
// (or absolute-form, or "*") target without control bytes, HTTP/1.0 or 1.1, token header names,
// no obsolete line folding, one consistent Content-Length, no Transfer-Encoding body.
// Bare LF line ends are accepted as RFC 9112 allows.
ParseResult parse_request(std::string_view input, const RequestLimits& limits, HttpRequest& request);

} // namespace mercure
