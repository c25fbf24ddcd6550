// HttpConnection: non-blocking sockets driven by poll() so every wait has a deadline.
#include "client/http_connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>

#include "http/address.hpp"

namespace mercure {

namespace {

constexpr std::size_t max_head_size = 64 << 10;

struct AddrinfoFree {
    void operator()(addrinfo* info) const noexcept { freeaddrinfo(info); }
};

// Owns a socket until it is handed over.
class SocketGuard {
public:
    explicit SocketGuard(int fd) : fd_(fd) {}
    ~SocketGuard()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    SocketGuard(const SocketGuard&) = delete;
    SocketGuard& operator=(const SocketGuard&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

// Milliseconds poll() may wait before the deadline (rounded up), -1 for none, 0 if past.
int poll_timeout(Deadline deadline)
{
    if (!deadline)
        return -1;
    const auto left = *deadline - ClientClock::now();
    if (left <= ClientClock::duration::zero())
        return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<long long>(ms, 1 << 30));
}

// Waits until fd is ready for `events`; an error message on timeout or failure.
Status wait_for(int fd, short events, Deadline deadline, std::string_view what)
{
    for (;;) {
        pollfd entry{fd, events, 0};
        const int timeout = poll_timeout(deadline);
        const int ready = ::poll(&entry, 1, timeout);
        if (ready > 0)
            return Ok{};
        if (ready == 0) {
            if (timeout == 0 || (deadline && ClientClock::now() >= *deadline))
                return Error{"timed out " + std::string(what)};
            continue;
        }
        if (errno != EINTR)
            return Error{std::string("poll failed: ") + std::strerror(errno)};
    }
}

// Connects one socket to one resolved address before the deadline; the socket or an error.
Result<int> connect_one(const addrinfo& address, Deadline deadline)
{
    SocketGuard socket(::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                address.ai_protocol));
    if (socket.get() < 0)
        return Error{std::strerror(errno)};
    if (::connect(socket.get(), address.ai_addr, address.ai_addrlen) != 0) {
        if (errno != EINPROGRESS)
            return Error{std::strerror(errno)};
        Status ready = wait_for(socket.get(), POLLOUT, deadline, "connecting");
        if (!ready)
            return Error{"timed out"};
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
            return Error{std::strerror(errno)};
        if (error != 0)
            return Error{std::strerror(error)};
    }
    // Streams may stay idle for long: let the kernel notice a vanished peer within about
    // 90 s (60 s idle, then 3 probes 10 s apart) instead of the default two hours.
    const int on = 1;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
#ifdef TCP_KEEPIDLE
    const int idle = 60;
    const int interval = 10;
    const int probes = 3;
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
#endif
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return socket.release();
}

} // namespace

Deadline earlier(Deadline a, Deadline b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return std::min(*a, *b);
}

ClientClock::time_point deadline_after(double seconds)
{
    const double capped = std::min(seconds, 1e9);  // a deadline, not an overflow
    return ClientClock::now() +
           std::chrono::duration_cast<ClientClock::duration>(std::chrono::duration<double>(capped));
}

HttpConnection::HttpConnection(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), peer_(std::move(other.peer_)), buffer_(std::move(other.buffer_)),
      framing_(other.framing_), remaining_(other.remaining_), chunked_(other.chunked_), body_done_(other.body_done_)
{
}

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        peer_ = std::move(other.peer_);
        buffer_ = std::move(other.buffer_);
        framing_ = other.framing_;
        remaining_ = other.remaining_;
        chunked_ = other.chunked_;
        body_done_ = other.body_done_;
    }
    return *this;
}

HttpConnection::~HttpConnection()
{
    if (fd_ >= 0)
        ::close(fd_);
}

Result<HttpConnection> HttpConnection::open(const HttpUrl& url, Deadline deadline)
{
    const std::string where = (url.host.find(':') == std::string::npos ? url.host : "[" + url.host + "]") + ":" +
                              std::to_string(url.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(url.port);
    const int status = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
    if (status != 0) {
        std::string reason = status == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(status);
        return Error{"cannot resolve " + url.host + ": " + reason};
    }
    std::unique_ptr<addrinfo, AddrinfoFree> addresses(found);

    // Every address is tried in the order the resolver gives (localhost: ::1, then 127.0.0.1).
    std::string failures;
    for (const addrinfo* address = addresses.get(); address != nullptr; address = address->ai_next) {
        const std::string peer = format_socket_address(address->ai_addr);
        if (deadline && ClientClock::now() >= *deadline) {
            failures += (failures.empty() ? "" : "; ") + peer + ": timed out";
            break;
        }
        Result<int> fd = connect_one(*address, deadline);
        if (fd)
            return HttpConnection(*fd, peer);
        failures += (failures.empty() ? "" : "; ") + peer + ": " + fd.error().message;
    }
    if (failures.empty())
        failures = "no address";
    return Error{"cannot connect to " + where + " (" + failures + ")"};
}

Status HttpConnection::send(std::string_view bytes, Deadline deadline)
{
    while (!bytes.empty()) {
        const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (sent > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(sent));
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            Status ready = wait_for(fd_, POLLOUT, deadline, "sending the request to " + peer_);
            if (!ready)
                return ready;
            continue;
        }
        return Error{"cannot send the request to " + peer_ + ": " + std::strerror(errno)};
    }
    return Ok{};
}

Result<std::size_t> HttpConnection::receive(Deadline deadline, std::string_view waiting_for)
{
    char chunk[64 << 10];
    for (;;) {
        const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
        if (got >= 0) {
            buffer_.append(chunk, static_cast<std::size_t>(got));
            return static_cast<std::size_t>(got);
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            Status ready = wait_for(fd_, POLLIN, deadline, std::string("waiting for ") + std::string(waiting_for));
            if (!ready)
                return ready.error();
            continue;
        }
        return Error{"connection to " + peer_ + " failed: " + std::strerror(errno)};
    }
}

Result<HttpResponseHead> HttpConnection::read_head(Deadline deadline, bool head_request)
{
    for (;;) {
        HttpResponseHead head;
        const HeadParse parsed = parse_response_head(buffer_, max_head_size, head);
        if (parsed.kind == HeadParse::Kind::Error)
            return Error{peer_ + ": " + parsed.error};
        if (parsed.kind == HeadParse::Kind::Complete) {
            buffer_.erase(0, parsed.consumed);
            if (head.status / 100 == 1 && head.status != 101)
                continue;  // 100 Continue and other interim answers precede the real one
            Result<BodyFraming> framing = body_framing(head, head_request);
            if (!framing)
                return Error{peer_ + ": " + framing.error().message};
            framing_ = *framing;
            remaining_ = framing_.length;
            chunked_ = ChunkedDecoder();
            body_done_ = framing_.kind == BodyFraming::Kind::None ||
                         (framing_.kind == BodyFraming::Kind::Length && remaining_ == 0);
            return head;
        }
        Result<std::size_t> got = receive(deadline, "the response from " + peer_);
        if (!got)
            return got.error();
        if (*got == 0)
            return Error{peer_ + " closed the connection " +
                         (buffer_.empty() ? std::string("without answering") : std::string("in the middle of the response head"))};
    }
}

Result<bool> HttpConnection::read_body(std::string& out, Deadline deadline)
{
    for (;;) {
        if (body_done_)
            return false;
        switch (framing_.kind) {
        case BodyFraming::Kind::None:
            body_done_ = true;
            return false;
        case BodyFraming::Kind::Length:
            if (!buffer_.empty()) {
                const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buffer_.size()));
                out.append(buffer_, 0, take);
                buffer_.erase(0, take);
                remaining_ -= take;
                body_done_ = remaining_ == 0;
                return !body_done_;
            }
            break;
        case BodyFraming::Kind::Chunked:
            if (!buffer_.empty()) {
                std::string_view input = buffer_;
                const std::size_t before = out.size();
                Status decoded = chunked_.feed(input, out);
                if (!decoded)
                    return Error{peer_ + ": " + decoded.error().message};
                buffer_.erase(0, buffer_.size() - input.size());
                body_done_ = chunked_.done();
                if (body_done_ || out.size() > before)
                    return !body_done_;
            }
            break;
        case BodyFraming::Kind::UntilClose:
            if (!buffer_.empty()) {
                out += buffer_;
                buffer_.clear();
                return true;
            }
            break;
        }
        Result<std::size_t> got = receive(deadline, "data from " + peer_);
        if (!got)
            return got.error();
        if (*got == 0) {
            if (framing_.kind == BodyFraming::Kind::UntilClose) {
                body_done_ = true;
                return false;
            }
            return Error{peer_ + " closed the connection before the end of the response"};
        }
    }
}

Result<std::string> HttpConnection::read_whole_body(std::size_t max_size, Deadline deadline)
{
    std::string body;
    for (;;) {
        Result<bool> more = read_body(body, deadline);
        if (!more)
            return more.error();
        if (body.size() > max_size)
            return Error{peer_ + ": the response body is larger than " + std::to_string(max_size) + " bytes"};
        if (!*more)
            return body;
    }
}

} // namespace mercure
