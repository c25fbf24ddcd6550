// mercure-overload's client plumbing: one non-blocking TCP link on libevent, HTTP reply framing.
#include "overload_net.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace overload {

std::int64_t monotonic_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

bool Link::open(const sockaddr_in& server, bool read, int rcvbuf, std::string& error)
{
    close(false);
    read_ = read;
    connected_ = false;
    out_.clear();
    out_head_ = 0;
    opened_ns_ = monotonic_ns();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0)
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0 && errno != EINPROGRESS) {
        error = std::string("connect: ") + std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    read_event_.reset(event_new(base_, fd_, EV_READ | EV_PERSIST, &Link::on_read_cb, this));
    write_event_.reset(event_new(base_, fd_, EV_WRITE, &Link::on_write_cb, this));
    if (!read_event_ || !write_event_) {
        error = "event_new failed";
        close(false);
        return false;
    }
    event_add(write_event_.get(), nullptr); // writable = connected (or failed)
    return true;
}

void Link::close(bool reset)
{
    read_event_.reset();
    write_event_.reset();
    if (fd_ >= 0) {
        if (reset) {
            const linger hard{1, 0};
            ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }
        ::close(fd_);
    }
    fd_ = -1;
    connected_ = false;
}

void Link::send(std::string_view bytes)
{
    if (fd_ < 0)
        return;
    out_.append(bytes);
    if (connected_)
        flush();
}

void Link::fail(const std::string& why)
{
    close(true);
    handler_.link_closed(*this, why);
}

void Link::on_read_cb(evutil_socket_t, short, void* arg)
{
    static_cast<Link*>(arg)->on_readable();
}

void Link::on_write_cb(evutil_socket_t, short, void* arg)
{
    static_cast<Link*>(arg)->on_writable();
}

void Link::on_writable()
{
    if (fd_ < 0)
        return;
    if (!connected_) {
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
            fail(std::string("connect: ") + std::strerror(error ? error : errno));
            return;
        }
        connected_ = true;
        if (read_)
            event_add(read_event_.get(), nullptr);
        handler_.link_connected(*this);
        if (fd_ < 0)
            return;
    }
    flush();
}

void Link::flush()
{
    // Bounded: each pass writes at least one byte or stops.
    while (fd_ >= 0 && out_head_ < out_.size()) {
        const ssize_t n = ::send(fd_, out_.data() + out_head_, out_.size() - out_head_, MSG_NOSIGNAL);
        if (n > 0) {
            out_head_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(write_event_.get(), nullptr);
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        fail(std::string("write: ") + std::strerror(errno));
        return;
    }
    out_.clear();
    out_head_ = 0;
}

void Link::on_readable()
{
    static char buffer[64 * 1024];
    // A few reads per wake-up, so one busy stream cannot starve the others.
    for (int pass = 0; pass < 8 && fd_ >= 0; ++pass) {
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n > 0) {
            handler_.link_data(*this, buffer, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < sizeof buffer)
                return;
            continue;
        }
        if (n == 0) {
            fail("closed by the hub");
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        fail(std::string("read: ") + std::strerror(errno));
        return;
    }
}

ReplyReader::Result ReplyReader::next(int& status, std::string& body)
{
    const std::size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos)
        return buffer_.size() > 64 * 1024 ? Result::malformed : Result::need_more;
    if (buffer_.compare(0, 9, "HTTP/1.1 ") != 0 && buffer_.compare(0, 9, "HTTP/1.0 ") != 0)
        return Result::malformed;
    status = std::atoi(buffer_.c_str() + 9);
    std::size_t length = 0;
    // Header names are matched case-insensitively on the usual spellings.
    for (const char* name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
        const std::size_t at = buffer_.find(name);
        if (at != std::string::npos && at < end) {
            length = std::strtoull(buffer_.c_str() + at + std::strlen(name), nullptr, 10);
            break;
        }
    }
    if (length > 16 * 1024 * 1024)
        return Result::malformed;
    if (buffer_.size() < end + 4 + length)
        return Result::need_more;
    body.assign(buffer_, end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return Result::reply;
}

bool parse_url(const std::string& url, sockaddr_in& server, std::string& host_header)
{
    constexpr std::string_view scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0)
        return false;
    std::string rest = url.substr(scheme.size());
    rest = rest.substr(0, rest.find('/'));
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string::npos)
        return false;
    std::string host = rest.substr(0, colon);
    const long port = std::strtol(rest.c_str() + colon + 1, nullptr, 10);
    if (host == "localhost")
        host = "127.0.0.1";
    server = sockaddr_in{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<std::uint16_t>(port));
    if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, host.c_str(), &server.sin_addr) != 1)
        return false;
    host_header = rest;
    return true;
}

} // namespace overload
