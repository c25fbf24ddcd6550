// A strict, bounded HTTP/1.x request parser working on a connection's input buffer.
#include "http/request_parser.hpp"

#include <charconv>

namespace mercure {

namespace {

bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s)
{
    if (s.empty())
        return false;
    for (unsigned char c : s)
        if (!is_tchar(c))
            return false;
    return true;
}

// Visible ASCII and obs-text, as a request target allows; no spaces or controls.
bool is_target_char(unsigned char c) { return c > 0x20 && c != 0x7f; }

// Header values: visible chars, obs-text, spaces and tabs.
bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

ParseResult error(int status, std::string reason)
{
    ParseResult r;
    r.kind = ParseResult::Kind::Error;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// Returns the next line (without its line end) and advances `pos`; nullopt at buffer end.
bool next_line(std::string_view in, std::size_t& pos, std::string_view& line)
{
    std::size_t lf = in.find('\n', pos);
    if (lf == std::string_view::npos)
        return false;
    std::size_t end = lf;
    if (end > pos && in[end - 1] == '\r')
        --end;
    line = in.substr(pos, end - pos);
    pos = lf + 1;
    return true;
}

// Finds the end of the head (after the empty line); npos when incomplete.
std::size_t head_end(std::string_view in)
{
    std::size_t pos = 0;
    std::string_view line;
    bool first = true;
    while (next_line(in, pos, line)) {
        if (line.empty() && !first)
            return pos;
        if (line.empty() && first)
            continue;  // tolerate stray CRLF before a request line (RFC 9112 2.2)
        first = false;
    }
    return std::string_view::npos;
}

ParseResult parse_request_line(std::string_view line, HttpRequest& request)
{
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return error(400, "Malformed request line.");
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method))
        return error(400, "Malformed request method.");
    if (target.empty())
        return error(400, "Empty request target.");
    for (unsigned char c : target)
        if (!is_target_char(c))
            return error(400, "Invalid character in request target.");
    if (version == "HTTP/1.1")
        request.minor_version = 1;
    else if (version == "HTTP/1.0")
        request.minor_version = 0;
    else if (version.starts_with("HTTP/"))
        return error(505, "HTTP version not supported.");
    else
        return error(400, "Malformed HTTP version.");

    if (target.front() != '/' && target != "*") {
        // absolute-form: keep the path and query of "scheme://authority/path?query"
        std::size_t scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos)
            return error(400, "Malformed request target.");
        std::size_t path_start = target.find('/', scheme_end + 3);
        target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
    }
    request.method = method;
    request.target = target;
    std::size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    return ParseResult{};
}

// Decodes a chunked body starting at `in[pos]` (RFC 9112 7.1): hex size lines with optional
// extensions, data, CRLF, a zero-size chunk, then trailer lines up to an empty line.
// Returns Complete with `consumed` = the end of the message, NeedMore, or Error.
ParseResult decode_chunked(std::string_view in, std::size_t pos, std::size_t max_body, std::string& body)
{
    constexpr std::size_t max_line = 4096;
    body.clear();
    std::string_view line;
    while (true) {
        std::size_t line_start = pos;
        if (!next_line(in, pos, line)) {
            if (in.size() - line_start > max_line)
                return error(400, "Malformed chunked body: chunk size line too long.");
            return ParseResult{};
        }
        std::string_view size_text = line.substr(0, line.find(';'));
        size_text = trim_ows(size_text);
        std::size_t size = 0;
        auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
        if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size())
            return error(400, "Malformed chunked body: bad chunk size.");
        if (size == 0)
            break;
        if (size > max_body || body.size() + size > max_body)
            return error(413, "Request body too large (limit " + std::to_string(max_body) + " bytes).");
        if (in.size() - pos < size + 2)
            return ParseResult{};
        body.append(in.substr(pos, size));
        pos += size;
        if (in.substr(pos, 2) == "\r\n")
            pos += 2;
        else if (in[pos] == '\n')
            pos += 1;
        else
            return error(400, "Malformed chunked body: missing CRLF after chunk data.");
    }
    // Trailer fields are read and ignored, up to the empty line.
    while (true) {
        std::size_t line_start = pos;
        if (!next_line(in, pos, line)) {
            if (in.size() - line_start > max_line)
                return error(400, "Malformed chunked body: trailer line too long.");
            return ParseResult{};
        }
        if (line.empty())
            break;
    }
    ParseResult done;
    done.kind = ParseResult::Kind::Complete;
    done.consumed = pos;
    return done;
}

std::string lowercase(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
}

// NeedMore for a request whose head is complete but whose body is not.
ParseResult awaiting_body(const HttpRequest& request)
{
    ParseResult waiting;
    waiting.awaiting_body = true;
    auto expect = request.header("expect");
    waiting.expects_continue = expect && lowercase(*expect) == "100-continue";
    return waiting;
}

} // namespace

bool HttpRequest::keep_alive() const
{
    auto connection = header("connection");
    auto contains = [&](std::string_view token) {
        if (!connection)
            return false;
        std::string lower(*connection);
        for (auto& c : lower)
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return lower.find(token) != std::string::npos;
    };
    if (minor_version >= 1)
        return !contains("close");
    return contains("keep-alive");
}

ParseResult parse_request(std::string_view input, const RequestLimits& limits, HttpRequest& request)
{
    std::size_t end = head_end(input.substr(0, std::min(input.size(), limits.max_header_size + 4)));
    if (end == std::string_view::npos) {
        if (input.size() > limits.max_header_size)
            return error(431, "Request header fields too large.");
        return ParseResult{};
    }
    if (end > limits.max_header_size + 4)
        return error(431, "Request header fields too large.");

    request = HttpRequest{};
    std::string_view head = input.substr(0, end);
    std::size_t pos = 0;
    std::string_view line;
    do {
        next_line(head, pos, line);
    } while (line.empty());
    if (auto r = parse_request_line(line, request); r.kind == ParseResult::Kind::Error)
        return r;

    std::optional<std::size_t> content_length;
    bool chunked = false;
    while (next_line(head, pos, line) && !line.empty()) {
        if (line.front() == ' ' || line.front() == '\t')
            return error(400, "Obsolete header line folding is not accepted.");
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
            return error(400, "Malformed header field.");
        std::string name(line.substr(0, colon));
        for (auto& c : name)
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        std::string_view value = trim_ows(line.substr(colon + 1));
        for (unsigned char c : value)
            if (!is_value_char(c))
                return error(400, "Invalid character in header field \"" + name + "\".");
        if (name == "content-length") {
            std::size_t length = 0;
            auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (value.empty() || ec != std::errc() || ptr != value.data() + value.size())
                return error(400, "Invalid Content-Length.");
            if (content_length && *content_length != length)
                return error(400, "Conflicting Content-Length headers.");
            content_length = length;
        } else if (name == "transfer-encoding") {
            // Only "chunked" alone is understood; anything else cannot be framed safely.
            if (lowercase(value) != "chunked" || chunked)
                return error(501, "Unsupported Transfer-Encoding: only \"chunked\" is accepted.");
            chunked = true;
        }
        request.headers.emplace_back(std::move(name), std::string(value));
    }

    if (chunked && content_length)
        return error(400, "Both Content-Length and Transfer-Encoding: refusing an ambiguous body.");
    if (chunked) {
        // Chunk framing, extensions and trailers may add to the body, but never unboundedly:
        // what follows the head is refused past the body limit plus a fixed allowance.
        constexpr std::size_t framing_allowance = 64 << 10;
        if (input.size() - end > limits.max_body_size + framing_allowance)
            return error(413, "Chunked request too large (limit " + std::to_string(limits.max_body_size) +
                                  " bytes of body, plus framing).");
        std::string body;
        ParseResult result = decode_chunked(input, end, limits.max_body_size, body);
        if (result.kind == ParseResult::Kind::Complete)
            request.body = std::move(body);
        else if (result.kind == ParseResult::Kind::NeedMore)
            result = awaiting_body(request);
        return result;
    }

    std::size_t body_length = content_length.value_or(0);
    if (body_length > limits.max_body_size)
        return error(413, "Request body too large (limit " + std::to_string(limits.max_body_size) + " bytes).");
    if (input.size() - end < body_length)
        return awaiting_body(request);
    request.body = input.substr(end, body_length);

    ParseResult done;
    done.kind = ParseResult::Kind::Complete;
    done.consumed = end + body_length;
    return done;
}

} // namespace mercure
