// Listener: accepting sockets on the event loop, bound from an address or adopted from systemd.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

struct event_base;
struct evconnlistener;
struct sockaddr;

namespace mercure {

// Receives accepted, non-blocking client sockets.
class AcceptHandler {
public:
    virtual void on_accept(int fd, std::string peer) = 0;

protected:
    ~AcceptHandler() = default;
};

class Listener {
public:
    // Binds every address `addr` names (":3000" is all addresses, dual-stack; a host name binds
    // each address it resolves to, tolerating unavailable IPv6) and starts listening.
    static Result<std::vector<std::unique_ptr<Listener>>> bind(event_base* base, std::string_view addr,
                                                               AcceptHandler& handler);

    // Serves an already listening socket (socket activation). Takes ownership of `fd`.
    static Result<std::unique_ptr<Listener>> adopt(event_base* base, int fd, AcceptHandler& handler);

    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // Stops accepting (shutdown drains without new clients).
    void disable();
    // "127.0.0.1:3000", for logs and status.
    const std::string& description() const { return description_; }

private:
    Listener(evconnlistener* listener, std::string description, AcceptHandler& handler);
    static void on_accept_trampoline(evconnlistener*, int fd, ::sockaddr* address, int length, void* arg);
    static void on_error_trampoline(evconnlistener*, void* arg);

    evconnlistener* listener_;
    std::string description_;
    AcceptHandler& handler_;
};

} // namespace mercure
