// Serialization of HTTP/1.1 response heads and complete responses.
#include "http/response.hpp"

namespace mercure {

std::string_view status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

namespace {

void append_head(std::string& out, int status, const HeaderList& headers)
{
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += status_text(status);
    out += "\r\n";
    for (const auto& [name, value] : headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
}

} // namespace

std::string serialize_response(int status, const HeaderList& headers, std::string_view body, bool keep_alive,
                               bool head_only)
{
    std::string out;
    out.reserve(160 + body.size());
    append_head(out, status, headers);
    if (status != 204 && status != 304) {
        out += "Content-Length: ";
        out += std::to_string(body.size());
        out += "\r\n";
    }
    if (!keep_alive)
        out += "Connection: close\r\n";
    out += "\r\n";
    if (!head_only && status != 204 && status != 304)
        out += body;
    return out;
}

std::string serialize_stream_head(int status, const HeaderList& headers, bool chunked)
{
    std::string out;
    append_head(out, status, headers);
    if (chunked)
        out += "Transfer-Encoding: chunked\r\n";
    out += "\r\n";
    return out;
}

} // namespace mercure
