// HTTP/1.1 response heads, body framing and chunked decoding for the command-line clients.
#include "client/http_response.hpp"

#include <algorithm>
#include <cctype>

#include "util/percent_encoding.hpp"

namespace mercure {

namespace {

// Chunk extensions and trailers are skipped, but not without bound.
constexpr std::size_t max_chunk_metadata = 16 << 10;

bool equals_ignoring_case(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

bool is_token_char(unsigned char c)
{
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Splits one line off the front of `rest`, without its CRLF or LF.
std::optional<std::string_view> next_line(std::string_view& rest)
{
    const std::size_t lf = rest.find('\n');
    if (lf == std::string_view::npos)
        return std::nullopt;
    std::string_view line = rest.substr(0, lf);
    rest.remove_prefix(lf + 1);
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

} // namespace

std::optional<std::string_view> HttpResponseHead::header(std::string_view name) const
{
    for (const auto& [key, value] : headers) {
        if (equals_ignoring_case(key, name))
            return std::string_view(value);
    }
    return std::nullopt;
}

HeadParse parse_response_head(std::string_view input, std::size_t max_size, HttpResponseHead& head)
{
    HeadParse result;
    // The head ends at the first empty line.
    std::size_t end = std::string_view::npos;
    for (std::size_t lf = input.find('\n'); lf != std::string_view::npos; lf = input.find('\n', lf + 1)) {
        if (lf + 1 < input.size() && input[lf + 1] == '\n') {
            end = lf + 2;
            break;
        }
        if (lf + 2 < input.size() && input[lf + 1] == '\r' && input[lf + 2] == '\n') {
            end = lf + 3;
            break;
        }
    }
    if (end == std::string_view::npos) {
        if (input.size() > max_size) {
            result.kind = HeadParse::Kind::Error;
            result.error = "the response head is larger than " + std::to_string(max_size) + " bytes";
        }
        // A peer that is not speaking HTTP at all is caught early.
        std::string_view start = input.substr(0, 5);
        if (!std::string_view("HTTP/").starts_with(start)) {
            result.kind = HeadParse::Kind::Error;
            result.error = "the server did not answer with HTTP";
        }
        return result;
    }
    if (end > max_size) {
        result.kind = HeadParse::Kind::Error;
        result.error = "the response head is larger than " + std::to_string(max_size) + " bytes";
        return result;
    }

    auto fail = [&result](std::string message) {
        result.kind = HeadParse::Kind::Error;
        result.error = std::move(message);
        return result;
    };
    std::string_view rest = input.substr(0, end);
    std::string_view status_line = *next_line(rest);
    // "HTTP/1.1 200 OK": the reason may be empty, and so may the space before it.
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(status_line[7])))
        return fail("malformed status line from the server");
    for (std::size_t i = 9; i < 12; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(status_line[i])))
            return fail("malformed status code from the server");
    }
    if (status_line.size() > 12 && status_line[12] != ' ')
        return fail("malformed status line from the server");
    head.minor_version = status_line[7] - '0';
    head.status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
    head.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : std::string_view());
    head.headers.clear();
    while (auto line = next_line(rest)) {
        if (line->empty())
            break;
        const std::size_t colon = line->find(':');
        if (colon == 0 || colon == std::string_view::npos)
            return fail("malformed header line from the server");
        std::string_view name = line->substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); }))
            return fail("malformed header name from the server");
        head.headers.emplace_back(std::string(name), std::string(trim(line->substr(colon + 1))));
    }
    result.kind = HeadParse::Kind::Complete;
    result.consumed = end;
    return result;
}

Result<BodyFraming> body_framing(const HttpResponseHead& head, bool head_request)
{
    BodyFraming framing;
    if (head_request || head.status / 100 == 1 || head.status == 204 || head.status == 304)
        return framing;
    bool has_transfer_encoding = false;
    std::string last_coding;
    std::optional<std::uint64_t> length;
    for (const auto& [name, value] : head.headers) {
        if (equals_ignoring_case(name, "Transfer-Encoding")) {
            has_transfer_encoding = true;
            std::string_view codings = value;
            const std::size_t comma = codings.rfind(',');
            if (comma != std::string_view::npos)
                codings = codings.substr(comma + 1);
            last_coding = std::string(trim(codings));
        } else if (equals_ignoring_case(name, "Content-Length")) {
            std::string_view text = trim(value);
            if (text.empty() || text.size() > 18 ||
                !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return Error{"malformed Content-Length from the server"};
            const std::uint64_t parsed = std::stoull(std::string(text));
            if (length && *length != parsed)
                return Error{"conflicting Content-Length headers from the server"};
            length = parsed;
        }
    }
    if (has_transfer_encoding) {
        framing.kind = equals_ignoring_case(last_coding, "chunked") ? BodyFraming::Kind::Chunked
                                                                    : BodyFraming::Kind::UntilClose;
        return framing;
    }
    if (length) {
        framing.kind = BodyFraming::Kind::Length;
        framing.length = *length;
        return framing;
    }
    framing.kind = BodyFraming::Kind::UntilClose;
    return framing;
}

std::string response_reason(const HttpResponseHead& head, std::string_view body)
{
    constexpr std::size_t max_reason = 300;
    std::string_view line;
    while (!body.empty()) {
        const std::size_t end = body.find_first_of("\r\n");
        line = trim(body.substr(0, end));
        if (!line.empty() || end == std::string_view::npos)
            break;
        body.remove_prefix(end + 1);
    }
    if (line.empty())
        line = head.reason;
    std::string out;
    for (char c : line.substr(0, max_reason)) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(byte < 0x20 || byte == 0x7f ? '?' : c);
    }
    if (line.size() > max_reason)
        out += "...";
    return out;
}

Status ChunkedDecoder::feed(std::string_view& in, std::string& out)
{
    while (!in.empty() && state_ != State::Done) {
        const char c = in.front();
        switch (state_) {
        case State::Size: {
            const int digit = hex_value(c);
            if (digit >= 0) {
                if (++size_digits_ > 15)
                    return Error{"chunk size too large in the server's response"};
                size_ = size_ * 16 + static_cast<std::uint64_t>(digit);
                in.remove_prefix(1);
                break;
            }
            if (size_digits_ == 0)
                return Error{"malformed chunk size in the server's response"};
            if (c == ';' || c == ' ' || c == '\t') {
                state_ = State::Extension;
                line_bytes_ = 0;
            } else if (c == '\r') {
                state_ = State::SizeLf;
                in.remove_prefix(1);
            } else if (c == '\n') {
                state_ = State::SizeLf;
            } else {
                return Error{"malformed chunk size in the server's response"};
            }
            break;
        }
        case State::Extension: {
            const std::size_t lf = in.find('\n');
            const std::size_t skipped = lf == std::string_view::npos ? in.size() : lf;
            line_bytes_ += skipped;
            if (line_bytes_ > max_chunk_metadata)
                return Error{"chunk extension too long in the server's response"};
            in.remove_prefix(skipped);
            if (lf != std::string_view::npos)
                state_ = State::SizeLf;
            break;
        }
        case State::SizeLf:
            if (c != '\n')
                return Error{"malformed chunk size line in the server's response"};
            in.remove_prefix(1);
            size_digits_ = 0;
            line_bytes_ = 0;
            state_ = size_ == 0 ? State::TrailerStart : State::Data;
            break;
        case State::Data: {
            const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(size_, in.size()));
            out.append(in.substr(0, take));
            in.remove_prefix(take);
            size_ -= take;
            if (size_ == 0)
                state_ = State::DataCr;
            break;
        }
        case State::DataCr:
            if (c == '\r') {
                state_ = State::DataLf;
                in.remove_prefix(1);
            } else if (c == '\n') {
                state_ = State::DataLf;
            } else {
                return Error{"chunk data longer than its size in the server's response"};
            }
            break;
        case State::DataLf:
            if (c != '\n')
                return Error{"chunk data longer than its size in the server's response"};
            in.remove_prefix(1);
            state_ = State::Size;
            break;
        case State::TrailerStart:
            if (c == '\r') {
                state_ = State::TrailerEndLf;
                in.remove_prefix(1);
            } else if (c == '\n') {
                in.remove_prefix(1);
                state_ = State::Done;
            } else {
                state_ = State::Trailer;
            }
            break;
        case State::Trailer: {
            const std::size_t lf = in.find('\n');
            const std::size_t skipped = lf == std::string_view::npos ? in.size() : lf + 1;
            line_bytes_ += skipped;
            if (line_bytes_ > max_chunk_metadata)
                return Error{"trailers too long in the server's response"};
            in.remove_prefix(skipped);
            if (lf != std::string_view::npos)
                state_ = State::TrailerStart;
            break;
        }
        case State::TrailerEndLf:
            if (c != '\n')
                return Error{"malformed end of a chunked response"};
            in.remove_prefix(1);
            state_ = State::Done;
            break;
        case State::Done:
            break;
        }
    }
    return Ok{};
}

} // namespace mercure
