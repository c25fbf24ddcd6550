// mercure-overload's client plumbing: one non-blocking TCP link on libevent, HTTP reply framing.
#pragma once
#include <event2/event.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace overload {

struct EventDeleter {
    void operator()(event* ev) const { event_free(ev); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

struct EventBaseDeleter {
    void operator()(event_base* base) const { event_base_free(base); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;

// Monotonic time in nanoseconds.
std::int64_t monotonic_ns();

class Link;

// What a link reports. Called from the link's own event callbacks: a handler may close the
// link there, but must not destroy it (reconnects are scheduled on a timer instead).
class LinkHandler {
public:
    virtual void link_connected(Link&) {}
    virtual void link_data(Link& link, const char* bytes, std::size_t size) = 0;
    // The link is closed (EOF, error, connect failure); `why` is one line.
    virtual void link_closed(Link& link, const std::string& why) = 0;

protected:
    ~LinkHandler() = default;
};

// A client TCP connection owning its fd and events. Output is queued and written when the
// socket takes it. A link opened with `read = false` never reads (a stalled client): it
// learns nothing of the peer closing and is closed by its owner.
class Link {
public:
    Link(event_base* base, LinkHandler& handler) : base_(base), handler_(handler) {}
    ~Link() { close(false); }
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    // Starts a non-blocking connect; `rcvbuf` > 0 sets SO_RCVBUF first. False (and `error`)
    // when the connect fails at once.
    bool open(const sockaddr_in& server, bool read, int rcvbuf, std::string& error);
    // Queues bytes and writes what the socket takes now.
    void send(std::string_view bytes);
    // Closes the socket; `reset` sends an RST (SO_LINGER 0) so no TIME_WAIT is left here.
    void close(bool reset);
    bool is_open() const { return fd_ >= 0; }
    bool connected() const { return connected_; }
    // The socket, for a peek by a client that does not read (-1 when closed).
    int fd() const { return fd_; }
    std::size_t pending_output() const { return out_.size() - out_head_; }
    // When open() was called (monotonic ns).
    std::int64_t opened_ns() const { return opened_ns_; }

private:
    static void on_read_cb(evutil_socket_t, short, void* arg);
    static void on_write_cb(evutil_socket_t, short, void* arg);
    void on_readable();
    void on_writable();
    void flush();
    void fail(const std::string& why);

    event_base* base_;
    LinkHandler& handler_;
    int fd_ = -1;
    bool read_ = true;
    bool connected_ = false;
    std::int64_t opened_ns_ = 0;
    EventPtr read_event_;
    EventPtr write_event_;
    std::string out_;
    std::size_t out_head_ = 0;
};

// Splits a byte stream into HTTP/1.1 responses framed by Content-Length (what the hub sends
// for every non-stream answer). Bounded: a head beyond 64 KiB or a body beyond 16 MiB is
// malformed.
class ReplyReader {
public:
    enum class Result { need_more, reply, malformed };

    void append(const char* bytes, std::size_t size) { buffer_.append(bytes, size); }
    // Takes the next complete response off the buffer: its status and body.
    Result next(int& status, std::string& body);
    void clear() { buffer_.clear(); }

private:
    std::string buffer_;
};


// Reads a "http://host:port" URL (IPv4 or "localhost"); false when it is not one.
bool parse_url(const std::string& url, sockaddr_in& server, std::string& host_header);

} // namespace overload
