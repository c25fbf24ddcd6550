// libFuzzer driver of parse_request(): arbitrary bytes as a connection's input buffer.
//
// Besides memory safety it checks what the connection code relies on: a Complete parse
// consumes no more than it was given and reparses identically from exactly those bytes; one
// byte less is never Complete (so a request split across reads is parsed once, whole); the
// parsed parts are consistent (path + "?" + query is the target, a Content-Length body is the
// request's last bytes). Pipelined requests are parsed in turn, as the connection does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/request_parser.hpp"

using mercure::HttpRequest;
using mercure::ParseResult;
using mercure::RequestLimits;

namespace {

// Checks one Complete result against the input it came from.
void check_complete(std::string_view input, const RequestLimits& limits, const ParseResult& r,
                    const HttpRequest& request)
{
    FUZZ_CHECK(r.consumed > 0 && r.consumed <= input.size());
    FUZZ_CHECK(request.body.size() <= limits.max_body_size);
    FUZZ_CHECK(request.body.size() <= r.consumed);
    // A Content-Length body is the request's last bytes; a chunked one is decoded from them.
    if (!request.header("transfer-encoding"))
        FUZZ_CHECK(input.substr(r.consumed - request.body.size(), request.body.size()) == request.body);
    FUZZ_CHECK(!request.method.empty() && !request.target.empty());
    if (request.query.empty())
        FUZZ_CHECK(request.target == request.path || request.target == request.path + "?");
    else
        FUZZ_CHECK(request.target == request.path + "?" + request.query);
    FUZZ_CHECK(request.minor_version == 0 || request.minor_version == 1);
    for (const auto& [name, value] : request.headers) {
        FUZZ_CHECK(!name.empty());
        for (const char c : name)
            FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        FUZZ_CHECK(value.find_first_of("\r\n") == std::string_view::npos);
    }
    static_cast<void>(request.keep_alive());
    static_cast<void>(request.header("content-length"));

    // The same bytes, and only them, give the same request.
    HttpRequest again;
    const ParseResult exact = parse_request(input.substr(0, r.consumed), limits, again);
    FUZZ_CHECK(exact.kind == ParseResult::Kind::Complete && exact.consumed == r.consumed);
    FUZZ_CHECK(again.method == request.method && again.target == request.target &&
               again.headers == request.headers && again.body == request.body);

    // One byte short is never a complete request.
    HttpRequest shorter;
    const ParseResult partial = parse_request(input.substr(0, r.consumed - 1), limits, shorter);
    FUZZ_CHECK(partial.kind != ParseResult::Kind::Complete);
}

// Parses every pipelined request of `input` under `limits`.
void parse_all(std::string_view input, const RequestLimits& limits)
{
    for (int requests = 0; requests < 64 && !input.empty(); ++requests) {
        HttpRequest request;
        const ParseResult r = parse_request(input, limits, request);
        switch (r.kind) {
        case ParseResult::Kind::NeedMore:
            FUZZ_CHECK(!r.expects_continue || r.awaiting_body);
            return;
        case ParseResult::Kind::Error:
            FUZZ_CHECK(r.status >= 400 && r.status <= 505 && !r.reason.empty());
            return;
        case ParseResult::Kind::Complete:
            check_complete(input, limits, r, request);
            input.remove_prefix(r.consumed);
            break;
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    parse_all(input, RequestLimits{});
    // Small limits reach the 413 / 431 paths with small inputs.
    parse_all(input, RequestLimits{.max_header_size = 128, .max_body_size = 16});
    return 0;
}
