// The subscriber worker: connects subscribers, parses their streams, counts and times events.
#include "bench_worker.hpp"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>

#include "bench_sse.hpp"
#include "bench_wire.hpp"

namespace bench {

namespace {

// Wall-clock time in nanoseconds: what the publisher stamps into each update's data.
std::int64_t realtime_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Monotonic time in nanoseconds, for durations.
std::int64_t monotonic_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

class Worker;

// One subscriber connection: the fd, its event and its stream decoder, nothing else.
struct Subscriber {
    enum class State : std::uint8_t { connecting, requested, open, closed };

    Worker* owner = nullptr;
    int fd = -1;
    State state = State::connecting;
    struct event ev {};
    SseStream stream;
};

// The benchmark stamp put in each update's data: "b.TAG.SEQ.TIMESTAMP_NS[.padding]".
struct Stamp {
    std::uint32_t tag = 0;
    std::uint32_t seq = 0;
    std::int64_t sent_ns = 0;
};

// Parses a stamp; false when the data is something else.
bool parse_stamp(std::string_view data, Stamp& stamp)
{
    if (data.size() < 8 || data[0] != 'b' || data[1] != '.')
        return false;
    const char* p = data.data() + 2;
    const char* const end = data.data() + data.size();
    auto r = std::from_chars(p, end, stamp.tag);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.')
        return false;
    r = std::from_chars(r.ptr + 1, end, stamp.seq);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.')
        return false;
    r = std::from_chars(r.ptr + 1, end, stamp.sent_ns);
    return r.ec == std::errc() && (r.ptr == end || *r.ptr == '.');
}

// The worker process: a deque of subscribers (stable addresses), the current connect batch,
// and the counters of the armed tag. Single-threaded; everything runs from libevent callbacks.
class Worker {
public:
    Worker(const WorkerConfig& config, int command_fd, int reply_fd)
        : config_(config), command_fd_(command_fd), reply_fd_(reply_fd)
    {
    }
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    int run();

    // Stream decoder callbacks, through SinkAdapter.
    void on_open(Subscriber& sub);
    void on_event(std::string_view data, std::int64_t now_ns);

private:
    static void on_command_cb(evutil_socket_t, short, void* arg);
    static void on_connected_cb(evutil_socket_t, short, void* arg);
    static void on_readable_cb(evutil_socket_t, short, void* arg);
    static void on_deadline_cb(evutil_socket_t, short, void* arg);

    void handle(const Message& message);
    void begin_batch(const ConnectCommand& command);
    void start_more();
    void start_one(Subscriber& sub, std::uint32_t index);
    void connected(Subscriber& sub);
    void readable(Subscriber& sub);
    // Ends a subscriber: a connect failure during a batch, or a disconnect once open.
    void drop(Subscriber& sub, const std::string& why);
    void batch_progress();
    void batch_deadline();
    void close_all();
    void reply(MessageType type, std::string_view payload = {});
    void note_error(const std::string& message);

    const WorkerConfig& config_;
    int command_fd_;
    int reply_fd_;
    event_base* base_ = nullptr;
    event* command_event_ = nullptr;
    event* deadline_event_ = nullptr;
    MessageReader commands_;
    std::deque<Subscriber> subs_;
    std::unique_ptr<char[]> read_buffer_;
    static constexpr std::size_t read_buffer_size = 256 * 1024;

    // The connect batch in progress.
    bool batch_active_ = false;
    bool starting_ = false;          // inside start_more()
    std::size_t batch_next_ = 0;     // index in subs_ of the next one to start
    std::uint32_t batch_in_flight_ = 0;
    std::uint32_t batch_window_ = 0;
    std::uint32_t batch_first_index_ = 0;
    std::size_t batch_begin_ = 0;    // index in subs_ of the first of the batch
    ConnectResult batch_result_;
    std::int64_t batch_start_ns_ = 0;

    // Counters of the armed tag.
    std::uint32_t tag_ = 0;
    std::uint32_t open_ = 0;
    WorkerStats stats_;
};

// Adapts the decoder's sink interface to the worker, with the receive time of this read.
struct SinkAdapter {
    Worker& worker;
    Subscriber& sub;
    std::int64_t now_ns;
    void on_open() { worker.on_open(sub); }
    void on_event(std::string_view data) { worker.on_event(data, now_ns); }
};

Worker::~Worker()
{
    close_all();
    if (deadline_event_)
        event_free(deadline_event_);
    if (command_event_)
        event_free(command_event_);
    if (base_)
        event_base_free(base_);
}

int Worker::run()
{
    base_ = event_base_new();
    if (base_ == nullptr)
        return 1;
    read_buffer_ = std::make_unique<char[]>(read_buffer_size);
    command_event_ = event_new(base_, command_fd_, EV_READ | EV_PERSIST, &Worker::on_command_cb, this);
    deadline_event_ = evtimer_new(base_, &Worker::on_deadline_cb, this);
    if (command_event_ == nullptr || deadline_event_ == nullptr || event_add(command_event_, nullptr) != 0)
        return 1;
    event_base_dispatch(base_);
    return 0;
}

void Worker::reply(MessageType type, std::string_view payload)
{
    if (!send_message(reply_fd_, type, payload))
        event_base_loopbreak(base_); // the parent is gone
}

void Worker::note_error(const std::string& message)
{
    if (stats_.first_error.empty())
        stats_.first_error = message;
}

void Worker::on_command_cb(evutil_socket_t, short, void* arg)
{
    auto* self = static_cast<Worker*>(arg);
    if (!self->commands_.read_from(self->command_fd_)) {
        event_base_loopbreak(self->base_); // the parent closed the pipe
        return;
    }
    for (int guard = 0; guard < 1000; ++guard) {
        auto message = self->commands_.next();
        if (!message)
            break;
        self->handle(*message);
    }
}

void Worker::handle(const Message& message)
{
    switch (message.type) {
    case MessageType::connect: {
        ConnectCommand command;
        std::string_view in(message.payload);
        if (wire_take(in, command))
            begin_batch(command);
        break;
    }
    case MessageType::arm: {
        ArmCommand command;
        std::string_view in(message.payload);
        if (wire_take(in, command)) {
            tag_ = command.tag;
            stats_ = WorkerStats{};
            stats_.rounds.resize(command.rounds);
        }
        reply(MessageType::armed);
        break;
    }
    case MessageType::report:
        stats_.open = open_;
        reply(MessageType::stats, stats_.serialize());
        break;
    case MessageType::close:
        close_all();
        reply(MessageType::closed);
        break;
    case MessageType::quit:
        event_base_loopbreak(base_);
        break;
    default:
        break;
    }
}

void Worker::begin_batch(const ConnectCommand& command)
{
    batch_active_ = true;
    batch_result_ = ConnectResult{};
    batch_begin_ = subs_.size();
    batch_next_ = subs_.size();
    batch_in_flight_ = 0;
    batch_window_ = command.window ? command.window : 1;
    batch_first_index_ = command.first_index;
    batch_start_ns_ = monotonic_ns();
    for (std::uint32_t i = 0; i < command.count; ++i) {
        subs_.emplace_back();
        subs_.back().owner = this;
    }
    const timeval deadline{static_cast<time_t>(command.timeout_ms / 1000),
                           static_cast<suseconds_t>((command.timeout_ms % 1000) * 1000)};
    evtimer_add(deadline_event_, &deadline);
    start_more();
}

void Worker::start_more()
{
    // Not re-entered: a subscriber failing inside start_one() just frees its window slot,
    // which this loop then reuses. Bounded by the batch size: each pass starts one.
    if (starting_)
        return;
    starting_ = true;
    while (batch_active_ && batch_in_flight_ < batch_window_ && batch_next_ < subs_.size()) {
        const std::size_t index = batch_next_++;
        ++batch_in_flight_;
        start_one(subs_[index], batch_first_index_ + static_cast<std::uint32_t>(index - batch_begin_));
    }
    starting_ = false;
    batch_progress();
}

void Worker::start_one(Subscriber& sub, std::uint32_t index)
{
    sub.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sub.fd < 0) {
        drop(sub, std::string("socket: ") + std::strerror(errno));
        return;
    }
    const bool loopback = (ntohl(config_.server.sin_addr.s_addr) >> 24) == 127;
    if (config_.source_addresses > 0 && loopback) {
        // Let connect() pick the port for the 4-tuple, so every source address has the whole
        // ephemeral range towards the server.
        const int one = 1;
        ::setsockopt(sub.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in source{};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr = htonl((127u << 24) | (2 + index % config_.source_addresses));
        if (::bind(sub.fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
            drop(sub, std::string("bind to a loopback source address: ") + std::strerror(errno));
            return;
        }
    }
    if (::connect(sub.fd, reinterpret_cast<const sockaddr*>(&config_.server), sizeof config_.server) != 0
        && errno != EINPROGRESS) {
        drop(sub, std::string("connect: ") + std::strerror(errno));
        return;
    }
    event_assign(&sub.ev, base_, sub.fd, EV_WRITE, &Worker::on_connected_cb, &sub);
    event_add(&sub.ev, nullptr);
}

void Worker::on_connected_cb(evutil_socket_t, short, void* arg)
{
    auto& sub = *static_cast<Subscriber*>(arg);
    sub.owner->connected(sub);
}

void Worker::connected(Subscriber& sub)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(sub.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
        error = errno;
    if (error != 0) {
        drop(sub, std::string("connect: ") + std::strerror(error));
        return;
    }
    const ssize_t n = ::send(sub.fd, config_.request.data(), config_.request.size(), MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(config_.request.size())) {
        drop(sub, n < 0 ? std::string("send: ") + std::strerror(errno) : "short write of the request");
        return;
    }
    sub.state = Subscriber::State::requested;
    event_assign(&sub.ev, base_, sub.fd, EV_READ | EV_PERSIST, &Worker::on_readable_cb, &sub);
    event_add(&sub.ev, nullptr);
}

void Worker::on_readable_cb(evutil_socket_t, short, void* arg)
{
    auto& sub = *static_cast<Subscriber*>(arg);
    sub.owner->readable(sub);
}

void Worker::readable(Subscriber& sub)
{
    const ssize_t n = ::recv(sub.fd, read_buffer_.get(), read_buffer_size, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            drop(sub, std::string("recv: ") + std::strerror(errno));
        return;
    }
    if (n == 0) {
        drop(sub, sub.state == Subscriber::State::open ? "the server closed the stream"
                                                       : "the server closed the connection before answering");
        return;
    }
    SinkAdapter sink{*this, sub, realtime_ns()};
    const auto status = sub.stream.feed(read_buffer_.get(), static_cast<std::size_t>(n), sink);
    if (status == SseStream::Status::failed)
        drop(sub, sub.stream.error());
    else if (status == SseStream::Status::ended)
        drop(sub, "the server ended the stream");
}

void Worker::on_open(Subscriber& sub)
{
    sub.state = Subscriber::State::open;
    ++open_;
    if (batch_active_) {
        ++batch_result_.established;
        --batch_in_flight_;
        start_more();
    }
}

void Worker::on_event(std::string_view data, std::int64_t now_ns)
{
    Stamp stamp;
    if (!parse_stamp(data, stamp)) {
        ++stats_.malformed;
        return;
    }
    if (stamp.tag != tag_ || tag_ == 0) {
        ++stats_.ignored;
        return;
    }
    ++stats_.received;
    stats_.last_receive_ns = now_ns;
    const std::int64_t latency = now_ns - stamp.sent_ns;
    stats_.all.record(latency);
    if (stamp.seq < stats_.rounds.size()) {
        auto& round = stats_.rounds[stamp.seq];
        round.record(latency);
        if (round.count() == open_) {
            std::string payload;
            wire_put(payload, RoundDone{tag_, stamp.seq});
            reply(MessageType::round_done, payload);
        }
    }
}

void Worker::drop(Subscriber& sub, const std::string& why)
{
    const auto previous = sub.state;
    if (sub.fd >= 0) {
        if (previous != Subscriber::State::closed && event_initialized(&sub.ev))
            event_del(&sub.ev);
        ::close(sub.fd);
        sub.fd = -1;
    }
    sub.state = Subscriber::State::closed;
    if (previous == Subscriber::State::open) {
        --open_;
        ++stats_.disconnects;
        note_error(why);
        return;
    }
    if (previous == Subscriber::State::closed)
        return;
    // A subscriber of the current batch that never opened.
    if (batch_active_) {
        ++batch_result_.failed;
        if (batch_result_.first_error.empty())
            batch_result_.first_error = why;
        --batch_in_flight_;
        start_more();
    }
}

void Worker::batch_progress()
{
    if (!batch_active_)
        return;
    const std::size_t size = subs_.size() - batch_begin_;
    if (batch_result_.established + batch_result_.failed < size)
        return;
    batch_active_ = false;
    evtimer_del(deadline_event_);
    batch_result_.elapsed_ns = monotonic_ns() - batch_start_ns_;
    reply(MessageType::connected, batch_result_.serialize());
}

void Worker::on_deadline_cb(evutil_socket_t, short, void* arg)
{
    static_cast<Worker*>(arg)->batch_deadline();
}

void Worker::batch_deadline()
{
    // Everything of the batch not open yet fails; the last drop() completes the batch.
    const std::size_t next = batch_next_;
    batch_next_ = subs_.size();
    starting_ = true; // no new connections from here
    for (std::size_t i = batch_begin_; i < subs_.size() && batch_active_; ++i) {
        auto& sub = subs_[i];
        if (sub.state == Subscriber::State::connecting || sub.state == Subscriber::State::requested) {
            if (i >= next)
                ++batch_in_flight_; // never started: drop() accounts it as in flight
            drop(sub, "timed out before the stream opened");
        }
    }
    starting_ = false;
    batch_progress();
}

void Worker::close_all()
{
    for (auto& sub : subs_) {
        if (sub.fd >= 0) {
            if (sub.state != Subscriber::State::closed && event_initialized(&sub.ev))
                event_del(&sub.ev);
            ::close(sub.fd);
            sub.fd = -1;
        }
        sub.state = Subscriber::State::closed;
    }
    subs_.clear();
    std::deque<Subscriber>().swap(subs_);
    open_ = 0;
    batch_active_ = false;
    if (deadline_event_)
        evtimer_del(deadline_event_);
}

} // namespace

int worker_main(const WorkerConfig& config, int command_fd, int reply_fd)
{
    Worker worker(config, command_fd, reply_fd);
    return worker.run();
}

} // namespace bench
