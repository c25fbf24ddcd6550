// HttpConnection: a blocking HTTP/1.1 client connection over a POSIX socket, where every
// step (resolving aside) is bounded by a deadline. For the command-line tools, not the hub.
//
// Error model: each step returns a Result whose message says what failed and where
// ("cannot connect to localhost:3000: Connection refused", "timed out waiting for the
// response"). A caller that needs to tell a timeout from other failures compares the clock
// with the deadline it passed: a step only times out once its deadline has passed.
#pragma once
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "client/http_response.hpp"
#include "client/url.hpp"
#include "util/result.hpp"

namespace mercure {

using ClientClock = std::chrono::steady_clock;

// When a step must give up; nullopt waits for ever.
using Deadline = std::optional<ClientClock::time_point>;

// The earlier of two deadlines.
Deadline earlier(Deadline a, Deadline b);

// A deadline `seconds` from now (fractions allowed).
ClientClock::time_point deadline_after(double seconds);

class HttpConnection {
public:
    // Resolves the URL's host (getaddrinfo, which has no timeout of its own) and connects to
    // the first address that accepts before the deadline.
    static Result<HttpConnection> open(const HttpUrl& url, Deadline deadline);

    HttpConnection(HttpConnection&& other) noexcept;
    HttpConnection& operator=(HttpConnection&& other) noexcept;
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;
    ~HttpConnection();

    // Sends every byte before the deadline.
    Status send(std::string_view bytes, Deadline deadline);

    // Reads the final response head (1xx interim responses are skipped) and prepares to read
    // its body; head_request: the request was HEAD, so no body follows.
    Result<HttpResponseHead> read_head(Deadline deadline, bool head_request = false);

    // Appends the next body bytes that arrive (de-chunked) to out. Returns true while more may
    // follow, false once the body is complete. A body cut short is an error.
    Result<bool> read_body(std::string& out, Deadline deadline);

    // Reads the rest of the body; an error beyond max_size bytes.
    Result<std::string> read_whole_body(std::size_t max_size, Deadline deadline);

    // The address connected to, e.g. "127.0.0.1:3000".
    const std::string& peer() const { return peer_; }

private:
    HttpConnection(int fd, std::string peer);

    // Receives into buffer_; 0 at the end of the stream.
    Result<std::size_t> receive(Deadline deadline, std::string_view waiting_for);

    int fd_ = -1;
    std::string peer_;
    std::string buffer_;        // received, not yet consumed
    BodyFraming framing_;
    std::uint64_t remaining_ = 0;
    ChunkedDecoder chunked_;
    bool body_done_ = true;
};

} // namespace mercure
