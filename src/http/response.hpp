// Serialization of HTTP/1.1 response heads and complete responses.
#pragma once
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace mercure {

// The reason phrase of a status code ("Not Found").
std::string_view status_text(int status);

// A complete response: status line, Content-Length, the extra headers, Connection when closing,
// then the body (omitted for HEAD requests, with the length kept).
std::string serialize_response(int status, const HeaderList& headers, std::string_view body, bool keep_alive,
                               bool head_only);

// A response head for a streamed body of unknown length; `chunked` adds Transfer-Encoding.
std::string serialize_stream_head(int status, const HeaderList& headers, bool chunked);

} // namespace mercure
