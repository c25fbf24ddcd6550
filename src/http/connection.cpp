// Connection: one client socket as an explicit state machine (read request, respond or stream).
#include "http/connection.hpp"

#include <event2/event.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "http/response.hpp"

namespace mercure {

namespace {

constexpr std::size_t read_chunk = 16 << 10;
// After a response that closes the connection we stop writing and give the client this long to
// read it before the socket is closed, so the kernel does not reset it with unread input.
constexpr std::chrono::seconds linger_time{2};

timeval to_timeval(std::chrono::steady_clock::duration d)
{
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    if (us < 0)
        us = 0;
    return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

// Frames gathered into one write: enough to coalesce a busy loop turn's updates, small enough
// to live on the stack.
constexpr int max_iov = 64;

// One syscall for the gathered buffers: a plain send() for one buffer (measurably cheaper than
// a one-element sendmsg), sendmsg() for several. MSG_NOSIGNAL: a vanished peer is an error
// return, never SIGPIPE.
ssize_t send_buffers(int fd, iovec* iov, int count)
{
    if (count == 1)
        return send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = static_cast<std::size_t>(count);
    return sendmsg(fd, &message, MSG_NOSIGNAL);
}

bool would_block(int error)
{
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

} // namespace

Connection::Connection(event_base* base, int fd, std::string peer, ConnectionOwner& owner,
                       const ConnectionLimits& limits)
    : fd_(fd), owner_(owner), limits_(limits), peer_(std::move(peer))
{
    event_assign(&read_event_, base, fd_, EV_READ | EV_PERSIST, &Connection::on_read_event, this);
    event_assign(&write_event_, base, fd_, EV_WRITE, &Connection::on_write_event, this);
}

Connection::~Connection()
{
    event_del(&read_event_);
    event_del(&write_event_);
    if (fd_ >= 0)
        ::close(fd_);
}

void Connection::start()
{
    if (limits_.read_timeout.count() > 0) {
        deadline_ = std::chrono::steady_clock::now() + limits_.read_timeout;
        has_deadline_ = true;
    }
    arm_read_deadline();
}

void Connection::arm_read_deadline()
{
    if (!has_deadline_) {
        event_add(&read_event_, nullptr);
        return;
    }
    timeval tv = to_timeval(deadline_ - std::chrono::steady_clock::now());
    event_add(&read_event_, &tv);
}

// Trampolines: no C++ exception may cross into libevent's C stack.
void Connection::on_read_event(int, short what, void* arg)
{
    auto* self = static_cast<Connection*>(arg);
    try {
        self->handle_readable(what);
    } catch (const std::exception& e) {
        self->close(std::string("internal error: ") + e.what());
    }
}

void Connection::on_write_event(int, short what, void* arg)
{
    auto* self = static_cast<Connection*>(arg);
    try {
        self->handle_writable(what);
    } catch (const std::exception& e) {
        self->close(std::string("internal error: ") + e.what());
    }
}

void Connection::handle_readable(short what)
{
    if (closed_)
        return;
    if (what & EV_TIMEOUT) {
        switch (state_) {
        case State::Reading:
            if (input_.empty()) {
                close("idle connection timed out");
            } else {
                HttpRequest none;
                respond(none, 408, {{"Content-Type", "text/plain; charset=utf-8"}},
                        "Request not received within the read timeout.\n", true);
            }
            return;
        case State::Streaming:
            end_stream("stream lifetime reached");
            return;
        case State::Draining:
            close(close_reason_);
            return;
        }
    }
    if (state_ == State::Reading)
        read_requests();
    else
        discard_input();
}

void Connection::read_requests()
{
    char buffer[read_chunk];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) {
        close("client closed the connection");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            close(std::string("read error: ") + std::strerror(errno));
        return;
    }
    input_.append(buffer, static_cast<std::size_t>(n));
    process_input();
    if (!closed_ && state_ == State::Reading)
        arm_read_deadline();
}

// While streaming or draining, input is only watched for the client going away.
void Connection::discard_input()
{
    char buffer[4096];
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) {
        close(state_ == State::Draining ? close_reason_ : std::string("client closed the connection"));
        return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        close(std::string("read error: ") + std::strerror(errno));
}

void Connection::process_input()
{
    if (processing_)
        return;
    processing_ = true;
    process_requests();
    processing_ = false;
}

void Connection::process_requests()
{
    while (!closed_ && state_ == State::Reading && !deferred_ && !input_.empty()) {
        HttpRequest request;
        ParseResult result = parse_request(input_, limits_.request, request);
        if (result.kind == ParseResult::Kind::NeedMore) {
            // curl and other clients wait (up to a second) for this before sending big bodies.
            if (result.expects_continue && !continue_sent_) {
                continue_sent_ = true;
                push_bytes("HTTP/1.1 100 Continue\r\n\r\n");
            }
            return;
        }
        if (result.kind == ParseResult::Kind::Error) {
            input_.clear();
            respond(request, result.status, {{"Content-Type", "text/plain; charset=utf-8"}}, result.reason + "\n", true);
            return;
        }
        input_.erase(0, result.consumed);
        continue_sent_ = false;
        ++requests_served_;
        owner_.on_request(*this, request);
        if (state_ == State::Reading && limits_.read_timeout.count() > 0) {
            deadline_ = std::chrono::steady_clock::now() + limits_.read_timeout;
            has_deadline_ = true;
        }
    }
}

void Connection::respond(const HttpRequest& request, int status, const HeaderList& headers, std::string_view body,
                         bool close)
{
    respond_later(reply_context(request, close), status, headers, body);
}

void Connection::respond_later(const ReplyContext& context, int status, const HeaderList& headers,
                               std::string_view body)
{
    if (closed_ || state_ != State::Reading)
        return;
    push_bytes(serialize_response(status, headers, body, context.keep_alive, context.head_only));
    if (!context.keep_alive) {
        drain_then_close("response sent");
        return;
    }
    if (deferred_) {
        // A late answer: go on with requests that arrived meanwhile, in order.
        deferred_ = false;
        if (!closed_ && !input_.empty())
            process_input();
        if (!closed_ && state_ == State::Reading)
            arm_read_deadline();
    }
}

void Connection::begin_stream(const HttpRequest& request, const HeaderList& headers,
                              std::chrono::milliseconds lifetime)
{
    if (closed_ || state_ != State::Reading)
        return;
    chunked_ = request.minor_version >= 1;
    state_ = State::Streaming;
    std::string().swap(input_);  // a stream never reads another request: free the buffer
    if (limits_.send_buffer > 0) {
        // A fixed send buffer turns off the kernel's autotuning for this socket: a subscriber
        // that stops reading then holds at most about twice this much kernel memory (instead of
        // up to net.ipv4.tcp_wmem's maximum), and backs up into the bounded, timed queue here.
        int size = static_cast<int>(limits_.send_buffer);
        setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    push_bytes(serialize_stream_head(200, headers, chunked_));
    has_deadline_ = lifetime.count() > 0;
    if (has_deadline_)
        deadline_ = std::chrono::steady_clock::now() + lifetime;
    if (!closed_)
        arm_read_deadline();
}

void Connection::send_frame(const FramePtr& frame)
{
    if (closed_ || state_ != State::Streaming)
        return;
    auto [begin, end] = stream_view(*frame);
    push(frame, begin, end);
}

std::pair<std::uint32_t, std::uint32_t> Connection::stream_view(const Frame& frame) const
{
    if (chunked_)
        return {0, static_cast<std::uint32_t>(frame.bytes.size())};
    return {frame.event_begin, frame.event_end};
}

void Connection::end_stream(std::string_view reason)
{
    if (closed_ || state_ != State::Streaming)
        return;
    if (chunked_)
        push_bytes("0\r\n\r\n");
    drain_then_close(reason);
}

void Connection::drain_then_close(std::string_view reason)
{
    if (closed_)
        return;
    state_ = State::Draining;
    close_reason_ = reason;
    if (queue_head_ == queue_.size()) {
        // Everything is written: half-close, then wait (bounded) for the client to finish.
        shutdown(fd_, SHUT_WR);
        timeval tv = to_timeval(linger_time);
        event_add(&read_event_, &tv);
    }
}

void Connection::close(std::string_view reason)
{
    if (closed_)
        return;
    closed_ = true;
    event_del(&read_event_);
    event_del(&write_event_);
    queue_.clear();
    queue_head_ = 0;
    queued_bytes_ = 0;
    ::close(fd_);
    fd_ = -1;
    owner_.on_closed(*this, reason);
}

void Connection::close_if_idle(std::string_view reason)
{
    if (closed_ || state_ != State::Reading || queue_head_ != queue_.size() || deferred_)
        return;
    if (requests_served_ == 0 || !input_.empty())
        return;
    read_requests();  // a request that already arrived is answered (with Connection: close)
    if (!closed_ && state_ == State::Reading && input_.empty() && queue_head_ == queue_.size() && !deferred_)
        close(reason);
}

void Connection::push_bytes(std::string bytes)
{
    auto frame = std::make_shared<Frame>();
    frame->bytes = std::move(bytes);
    frame->event_end = static_cast<std::uint32_t>(frame->bytes.size());
    auto end = frame->event_end;
    push(std::move(frame), 0, end);
}

void Connection::push(FramePtr frame, std::uint32_t begin, std::uint32_t end)
{
    if (queue_head_ == queue_.size() && !staged_) {
        // Optimistic write: most of the time the socket takes the whole frame at once.
        ssize_t n = send(fd_, frame->bytes.data() + begin, end - begin, MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(end - begin))
            return;
        if (n < 0) {
            if (!would_block(errno)) {
                close(std::string("write error: ") + std::strerror(errno));
                return;
            }
            n = 0;
        }
        begin += static_cast<std::uint32_t>(n);
    }
    if (enqueue(std::move(frame), begin, end) && !staged_)
        arm_write();  // staged output is written by the batch, which sees this chunk too
}

bool Connection::enqueue(FramePtr frame, std::uint32_t begin, std::uint32_t end)
{
    if (queued_bytes_ + (end - begin) > limits_.max_queued_bytes) {
        close("slow client: more than " + std::to_string(limits_.max_queued_bytes) + " bytes queued");
        return false;
    }
    queued_bytes_ += end - begin;
    queue_.push_back(OutChunk{std::move(frame), begin, end});
    return true;
}

bool Connection::stage_frame(const FramePtr& frame)
{
    if (closed_ || state_ != State::Streaming)
        return false;
    // Output waiting for writability goes out with the write event, staged output with the batch.
    bool idle = queue_head_ == queue_.size() && !staged_;
    auto [begin, end] = stream_view(*frame);
    if (!enqueue(frame, begin, end) || !idle)
        return false;
    staged_ = true;
    return true;
}

Connection::WriteOutcome Connection::write_staged() const
{
    iovec iov[max_iov];
    int count = 0;
    long offered = 0;
    for (std::size_t i = queue_head_; i < queue_.size() && count < max_iov; ++i, ++count) {
        const OutChunk& chunk = queue_[i];
        iov[count].iov_base = const_cast<char*>(chunk.frame->bytes.data()) + chunk.begin;
        iov[count].iov_len = chunk.end - chunk.begin;
        offered += chunk.end - chunk.begin;
    }
    if (count == 0)
        return {};
    ssize_t n = send_buffers(fd_, iov, count);
    return {n, n < 0 ? errno : 0, offered};
}

void Connection::finish_staged_write(WriteOutcome outcome)
{
    staged_ = false;
    if (closed_)
        return;
    if (outcome.written < 0) {
        if (!would_block(outcome.error)) {
            close(std::string("write error: ") + std::strerror(outcome.error));
            return;
        }
        outcome.written = 0;
    }
    consume(static_cast<std::size_t>(outcome.written));
    // A live subscriber is not replaying, so nobody waits for on_drained here.
    after_write(false);
}

void Connection::consume(std::size_t written)
{
    queued_bytes_ -= written;
    while (written > 0) {
        OutChunk& chunk = queue_[queue_head_];
        std::size_t size = chunk.end - chunk.begin;
        if (written < size) {
            chunk.begin += static_cast<std::uint32_t>(written);
            return;
        }
        written -= size;
        chunk.frame.reset();
        ++queue_head_;
    }
}

void Connection::arm_write()
{
    if (write_armed_)
        return;
    write_armed_ = true;
    if (limits_.dispatch_timeout.count() > 0) {
        timeval tv = to_timeval(limits_.dispatch_timeout);
        event_add(&write_event_, &tv);
    } else {
        event_add(&write_event_, nullptr);
    }
}

void Connection::handle_writable(short what)
{
    write_armed_ = false;
    if (closed_)
        return;
    if (what & EV_TIMEOUT) {
        close("slow client: no output accepted within the dispatch timeout");
        return;
    }
    flush();
}

void Connection::flush()
{
    while (queue_head_ < queue_.size()) {
        WriteOutcome outcome = write_staged();
        if (outcome.written < 0) {
            if (would_block(outcome.error))
                break;
            close(std::string("write error: ") + std::strerror(outcome.error));
            return;
        }
        consume(static_cast<std::size_t>(outcome.written));
        if (outcome.written < outcome.offered)
            break;  // the socket took less than offered: it is full
    }
    after_write(true);
}

void Connection::after_write(bool notify_drained)
{
    if (queue_head_ < queue_.size()) {
        arm_write();  // progress (or none yet): wait for writability with a fresh timeout
        return;
    }
    queue_.clear();
    if (queue_.capacity() > 16)
        std::vector<OutChunk>().swap(queue_);
    queue_head_ = 0;
    if (state_ == State::Draining)
        drain_then_close(close_reason_);
    else if (state_ == State::Streaming && notify_drained)
        owner_.on_drained(*this);
}

} // namespace mercure
