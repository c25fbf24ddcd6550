// Connection: one client socket as an explicit state machine (read request, respond or stream).
#pragma once
#include <event2/event_struct.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/update.hpp"
#include "http/request.hpp"
#include "http/request_parser.hpp"

struct event_base;

namespace mercure {

class Connection;

// What a connection needs from the hub. Both calls happen inside the connection's own event
// callbacks: the owner must not destroy the connection there, only schedule it.
class ConnectionOwner {
public:
    // A complete request arrived. The owner answers exactly once, with respond() or
    // begin_stream(), synchronously or later after calling defer_response().
    virtual void on_request(Connection& connection, HttpRequest& request) = 0;
    // The connection closed (once). `reason` is a one-line explanation for the logs.
    virtual void on_closed(Connection& connection, std::string_view reason) = 0;
    // A stream's queued output has all been written (pull-based producers continue here).
    virtual void on_drained(Connection& connection) = 0;

protected:
    ~ConnectionOwner() = default;
};

struct ConnectionLimits {
    RequestLimits request;
    std::size_t max_queued_bytes = 4 << 20;
    std::size_t send_buffer = 0;                        // SO_SNDBUF of a stream; 0: the kernel's autotuning
    std::chrono::milliseconds read_timeout{5000};      // to receive a whole request; 0: none
    std::chrono::milliseconds dispatch_timeout{5000};  // for queued output to make progress; 0: none
};

// States: Reading (waiting for or parsing a request) -> Reading again after a response (keep-
// alive), or Streaming (an SSE body that never ends on its own), or Draining (flush what is
// queued, then close). Output is written optimistically: straight to the socket when nothing is
// queued, otherwise queued as shared frame references and flushed when the socket is writable.
// A queue that exceeds max_queued_bytes, or makes no progress for dispatch_timeout, closes the
// connection: a slow client never costs the hub unbounded memory.
class Connection {
public:
    Connection(event_base* base, int fd, std::string peer, ConnectionOwner& owner, const ConnectionLimits& limits);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Starts reading the first request.
    void start();

    // Sends a complete response; closes afterwards when the request or `close` asks for it.
    void respond(const HttpRequest& request, int status, const HeaderList& headers, std::string_view body,
                 bool close = false);

    // What respond() needs of a request, kept when the answer comes later.
    struct ReplyContext {
        bool keep_alive = true;
        bool head_only = false;
    };
    static ReplyContext reply_context(const HttpRequest& request, bool close = false)
    {
        return ReplyContext{!close && request.keep_alive(), request.method == "HEAD"};
    }
    // Sends a complete response for a request answered later (see defer_response()).
    void respond_later(const ReplyContext& context, int status, const HeaderList& headers, std::string_view body);

    // The current request will be answered later (after a group commit): reading further
    // pipelined requests waits until then, so responses keep their order.
    void defer_response() { deferred_ = true; }

    // Sends a streaming response head and switches to Streaming. The stream ends cleanly when
    // `lifetime` elapses (0: never) or end_stream() is called.
    void begin_stream(const HttpRequest& request, const HeaderList& headers, std::chrono::milliseconds lifetime);

    // Sends one frame on a stream (the chunked view, or the bare event for HTTP/1.0).
    void send_frame(const FramePtr& frame);

    // Batched output (sse/output_batch.hpp): several updates published in one loop turn go out
    // to a subscriber in one write. stage_frame() queues a frame without writing; it returns
    // true when the connection now has staged output that a write_staged() /
    // finish_staged_write() pair must send, false when a write is already due (staged before,
    // or waiting for the socket) or the connection failed.
    bool stage_frame(const FramePtr& frame);
    // The outcome of one vectored write of the queued output.
    struct WriteOutcome {
        long written = 0;  // bytes, or -1
        int error = 0;     // errno when written < 0
        long offered = 0;  // bytes the write offered
    };
    // Writes the queued output with one syscall. Reads the connection and writes its socket
    // only, so fan-out threads may call it for different connections at the same time.
    WriteOutcome write_staged() const;
    // Applies a write_staged() outcome (on the loop's thread): drops what was written, waits for
    // writability for the rest, closes on a write error.
    void finish_staged_write(WriteOutcome outcome);

    // Ends a stream cleanly (terminating chunk) and closes once flushed.
    void end_stream(std::string_view reason);

    // Closes now, dropping queued output.
    void close(std::string_view reason);

    // At shutdown: closes a keep-alive connection that has served requests and is idle. One
    // that has not received its first request yet is left open (bounded by the read timeout and
    // the drain limit): its client just connected and is sending a request it cannot retry.
    void close_if_idle(std::string_view reason);

    bool closed() const { return closed_; }
    // A number unique to this connection within the hub (never reused, unlike its address).
    std::uint64_t serial() const { return serial_; }
    void set_serial(std::uint64_t serial) { serial_ = serial; }
    bool streaming() const { return state_ == State::Streaming; }
    const std::string& peer() const { return peer_; }
    std::size_t queued_bytes() const { return queued_bytes_; }
    // Replaces the address shown in logs (from trusted forwarding headers).
    void set_peer(std::string peer) { peer_ = std::move(peer); }

private:
    enum class State { Reading, Streaming, Draining };
    struct OutChunk {
        FramePtr frame;
        std::uint32_t begin;
        std::uint32_t end;
    };

    static void on_read_event(int fd, short what, void* arg);
    static void on_write_event(int fd, short what, void* arg);
    void handle_readable(short what);
    void handle_writable(short what);
    void read_requests();
    void discard_input();
    void process_input();
    void process_requests();
    void push(FramePtr frame, std::uint32_t begin, std::uint32_t end);
    // Queues bytes of a frame within max_queued_bytes; past it closes ("slow client"), false.
    bool enqueue(FramePtr frame, std::uint32_t begin, std::uint32_t end);
    // The bytes of a frame this stream sends: the HTTP chunk, or the bare event (HTTP/1.0).
    std::pair<std::uint32_t, std::uint32_t> stream_view(const Frame& frame) const;
    void push_bytes(std::string bytes);
    void flush();
    // Drops `written` bytes from the head of the queue.
    void consume(std::size_t written);
    // After writing: waits for writability when output remains, else finishes a drain.
    void after_write(bool notify_drained);
    void arm_write();
    void arm_read_deadline();
    void drain_then_close(std::string_view reason);

    int fd_;
    State state_ = State::Reading;
    bool closed_ = false;
    bool chunked_ = true;
    bool write_armed_ = false;
    bool staged_ = false;  // queued output awaits the batch's write (no write event armed)
    bool continue_sent_ = false;
    bool deferred_ = false;
    std::uint64_t requests_served_ = 0;
    bool processing_ = false;
    std::uint64_t serial_ = 0;
    ConnectionOwner& owner_;
    const ConnectionLimits& limits_;
    std::string peer_;
    std::string input_;
    std::string close_reason_;
    std::vector<OutChunk> queue_;
    std::size_t queue_head_ = 0;
    std::size_t queued_bytes_ = 0;
    std::chrono::steady_clock::time_point deadline_{};
    bool has_deadline_ = false;
    struct event read_event_;
    struct event write_event_;
};

} // namespace mercure
