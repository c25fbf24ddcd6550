// Listener: accepting sockets on the event loop, bound from an address or adopted from systemd.
#include "http/listener.hpp"

#include <event2/listener.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "http/address.hpp"

namespace mercure {

namespace {

constexpr int backlog = 4096;

// Creates, binds and listens one socket; returns the fd or an error message.
Result<int> listen_on(const sockaddr* address, socklen_t length, bool dual_stack)
{
    int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return Error{std::strerror(errno)};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (address->sa_family == AF_INET6) {
        int v6only = dual_stack ? 0 : 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (::bind(fd, address, length) < 0 || ::listen(fd, backlog) < 0) {
        std::string message = std::strerror(errno);
        ::close(fd);
        return Error{message};
    }
    return fd;
}

} // namespace

Listener::Listener(evconnlistener* listener, std::string description, AcceptHandler& handler)
    : listener_(listener), description_(std::move(description)), handler_(handler)
{
}

Listener::~Listener()
{
    if (listener_)
        evconnlistener_free(listener_);
}

void Listener::disable()
{
    if (listener_)
        evconnlistener_disable(listener_);
}

void Listener::on_accept_trampoline(evconnlistener*, int fd, struct sockaddr* address, int, void* arg)
{
    auto* self = static_cast<Listener*>(arg);
    try {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        self->handler_.on_accept(fd, format_socket_address(address));
    } catch (...) {
        ::close(fd);
    }
}

void Listener::on_error_trampoline(evconnlistener*, void* arg)
{
    // EMFILE/ENFILE and friends: libevent keeps the listener; the next accept retries. Nothing
    // else to do here without a logger; the hub counts refusals at max_connections.
    (void)arg;
}

Result<std::unique_ptr<Listener>> Listener::adopt(event_base* base, int fd, AcceptHandler& handler)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return Error{std::string("fcntl: ") + std::strerror(errno)};
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0)
        return Error{std::string("getsockname: ") + std::strerror(errno)};
    auto* raw = evconnlistener_new(base, nullptr, nullptr, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
    if (!raw)
        return Error{"cannot create a listener on fd " + std::to_string(fd)};
    std::unique_ptr<Listener> listener(
        new Listener(raw, format_socket_address(reinterpret_cast<sockaddr*>(&address)), handler));
    evconnlistener_set_cb(raw, &Listener::on_accept_trampoline, listener.get());
    evconnlistener_set_error_cb(raw, &Listener::on_error_trampoline);
    return listener;
}

Result<std::vector<std::unique_ptr<Listener>>> Listener::bind(event_base* base, std::string_view addr,
                                                             AcceptHandler& handler)
{
    auto parsed = parse_listen_address(addr);
    if (!parsed)
        return Error{"invalid address \"" + std::string(addr) + "\": expected host:port"};

    std::vector<std::unique_ptr<Listener>> listeners;
    std::string failures;
    auto take = [&](Result<int> fd) {
        if (!fd) {
            failures += (failures.empty() ? "" : "; ") + fd.error().message;
            return;
        }
        auto listener = adopt(base, *fd, handler);
        if (!listener) {
            ::close(*fd);
            failures += listener.error().message;
            return;
        }
        listeners.push_back(std::move(*listener));
    };

    if (parsed->host.empty()) {
        sockaddr_in6 any6{};
        any6.sin6_family = AF_INET6;
        any6.sin6_addr = in6addr_any;
        any6.sin6_port = htons(parsed->port);
        auto fd = listen_on(reinterpret_cast<sockaddr*>(&any6), sizeof any6, true);
        if (!fd) {  // no IPv6 on this machine: IPv4 only
            sockaddr_in any4{};
            any4.sin_family = AF_INET;
            any4.sin_addr.s_addr = htonl(INADDR_ANY);
            any4.sin_port = htons(parsed->port);
            fd = listen_on(reinterpret_cast<sockaddr*>(&any4), sizeof any4, false);
        }
        take(std::move(fd));
    } else {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        addrinfo* results = nullptr;
        std::string port = std::to_string(parsed->port);
        int rc = getaddrinfo(parsed->host.c_str(), port.c_str(), &hints, &results);
        if (rc != 0)
            return Error{"cannot resolve \"" + parsed->host + "\": " + gai_strerror(rc)};
        for (addrinfo* ai = results; ai; ai = ai->ai_next)
            take(listen_on(ai->ai_addr, ai->ai_addrlen, false));
        freeaddrinfo(results);
    }
    if (listeners.empty())
        return Error{"cannot listen on " + std::string(addr) + ": " + failures};
    return listeners;
}

} // namespace mercure
