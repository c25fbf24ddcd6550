// PublisherPool: request building, keep-alive connections, response parsing and pacing.
#include "bench_publisher.hpp"

#include <event2/event.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "bench_options.hpp"
#include "bench_sse.hpp"

namespace bench {

namespace {

constexpr std::size_t max_response_head = 64 * 1024;
constexpr std::uint64_t max_reconnects = 100;

std::int64_t monotonic_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::int64_t realtime_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Case-insensitive search of a header's value in a response head; empty when absent.
std::string header_value(std::string_view head, std::string_view name)
{
    std::size_t at = head.find("\r\n");
    for (int guard = 0; guard < 1000 && at != std::string_view::npos; ++guard) {
        const std::size_t start = at + 2;
        const std::size_t end = head.find("\r\n", start);
        const std::string_view line = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (line.size() > name.size() && line[name.size()] == ':') {
            bool same = true;
            for (std::size_t i = 0; i < name.size() && same; ++i)
                same = std::tolower(static_cast<unsigned char>(line[i])) == std::tolower(static_cast<unsigned char>(name[i]));
            if (same) {
                std::string_view value = line.substr(name.size() + 1);
                while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
                    value.remove_prefix(1);
                std::string lower(value);
                for (auto& c : lower)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                return lower;
            }
        }
        at = end;
    }
    return {};
}

} // namespace

int connect_with_timeout(const sockaddr_in& server, double timeout_seconds, std::string& error)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("socket: ") + std::strerror(errno);
        return -1;
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
        if (errno != EINPROGRESS) {
            error = std::string("connect: ") + std::strerror(errno);
            ::close(fd);
            return -1;
        }
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(timeout_seconds * 1000));
        int so_error = 0;
        socklen_t length = sizeof so_error;
        if (ready <= 0) {
            error = "connect: timed out";
        } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0 || so_error != 0) {
            error = std::string("connect: ") + std::strerror(so_error ? so_error : errno);
        }
        if (ready <= 0 || so_error != 0) {
            ::close(fd);
            return -1;
        }
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// One keep-alive publisher connection: at most one request in flight.
class PublisherPool::Publisher {
public:
    Publisher(PublisherPool& pool, event_base* base, const sockaddr_in& server)
        : pool_(pool), base_(base), server_(server)
    {
    }
    ~Publisher() { disconnect(); }
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    // Opens (or reopens) the connection.
    bool connect(double timeout_seconds, std::string& error)
    {
        disconnect();
        fd_ = connect_with_timeout(server_, timeout_seconds, error);
        if (fd_ < 0)
            return false;
        read_event_ = event_new(base_, fd_, EV_READ | EV_PERSIST, &Publisher::on_read_cb, this);
        write_event_ = event_new(base_, fd_, EV_WRITE, &Publisher::on_write_cb, this);
        if (timer_event_ == nullptr)
            timer_event_ = evtimer_new(base_, &Publisher::on_timer_cb, this);
        if (read_event_ == nullptr || write_event_ == nullptr || timer_event_ == nullptr
            || event_add(read_event_, nullptr) != 0) {
            error = "cannot create publisher events";
            return false;
        }
        return true;
    }

    // Writes a request; the rest waits for writability after a short write.
    void send(std::string request)
    {
        out_ = std::move(request);
        out_done_ = 0;
        in_flight_ = true;
        sent_ns_ = monotonic_ns();
        flush();
    }

    bool in_flight() const { return in_flight_; }
    bool timer_armed() const { return timer_event_ != nullptr && evtimer_pending(timer_event_, nullptr); }

    // Arms the pacing timer `delay_ns` from now.
    void arm_timer(std::int64_t delay_ns)
    {
        const timeval tv{static_cast<time_t>(delay_ns / 1000000000), static_cast<suseconds_t>((delay_ns % 1000000000) / 1000)};
        evtimer_add(timer_event_, &tv);
    }
    void disarm_timer()
    {
        if (timer_event_)
            evtimer_del(timer_event_);
    }

    std::int64_t next_due_ns = 0;

private:
    static void on_read_cb(evutil_socket_t, short, void* arg) { static_cast<Publisher*>(arg)->readable(); }
    static void on_write_cb(evutil_socket_t, short, void* arg) { static_cast<Publisher*>(arg)->flush(); }
    static void on_timer_cb(evutil_socket_t, short, void* arg)
    {
        auto* self = static_cast<Publisher*>(arg);
        self->pool_.on_timer(*self);
    }

    void disconnect()
    {
        if (read_event_)
            event_free(read_event_);
        if (write_event_)
            event_free(write_event_);
        read_event_ = write_event_ = nullptr;
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
        in_.clear();
        in_flight_ = false;
    }

    void flush()
    {
        const ssize_t n = ::send(fd_, out_.data() + out_done_, out_.size() - out_done_, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            lost(std::string("send: ") + std::strerror(errno));
            return;
        }
        if (n > 0)
            out_done_ += static_cast<std::size_t>(n);
        if (out_done_ < out_.size())
            event_add(write_event_, nullptr);
    }

    void lost(const std::string& error)
    {
        const bool was_in_flight = in_flight_;
        disconnect();
        pool_.on_connection_lost(*this, was_in_flight, error); // may reconnect this publisher
    }

    void readable()
    {
        char buffer[16384];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                lost(std::string("recv: ") + std::strerror(errno));
            return;
        }
        if (n == 0) {
            lost("the server closed the publisher connection");
            return;
        }
        in_.append(buffer, static_cast<std::size_t>(n));
        parse();
    }

    void parse()
    {
        const auto head_end = in_.find("\r\n\r\n");
        if (head_end == std::string::npos) {
            if (in_.size() > max_response_head)
                lost("publish response head too large");
            return;
        }
        const std::string_view head(in_.data(), head_end);
        if (head.size() < 12 || head.compare(0, 7, "HTTP/1.") != 0) {
            lost("not an HTTP response to a publish: " + std::string(head.substr(0, 80)));
            return;
        }
        const int status = std::atoi(std::string(head.substr(9, 3)).c_str());
        if (header_value(head, "transfer-encoding").find("chunked") != std::string::npos) {
            lost("chunked publish responses are not supported");
            return;
        }
        const std::string length_text = header_value(head, "content-length");
        const std::size_t length = length_text.empty() ? 0 : std::strtoull(length_text.c_str(), nullptr, 10);
        const std::size_t total = head_end + 4 + length;
        if (in_.size() < total)
            return;
        const bool close = header_value(head, "connection").find("close") != std::string::npos;
        const bool ok = status >= 200 && status < 300;
        std::string error;
        if (!ok) {
            const auto line_end = head.find("\r\n");
            std::string body = in_.substr(head_end + 4, std::min<std::size_t>(length, 200));
            while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' '))
                body.pop_back();
            error = "publish refused: " + std::string(head.substr(0, line_end)) + (body.empty() ? "" : ": " + body);
        }
        in_.erase(0, total);
        in_flight_ = false;
        const std::int64_t elapsed = monotonic_ns() - sent_ns_;
        if (close) {
            std::string reconnect_error;
            if (!connect(5, reconnect_error)) {
                pool_.on_response(*this, ok, elapsed, error);
                lost(reconnect_error);
                return;
            }
        }
        pool_.on_response(*this, ok, elapsed, error);
    }

    PublisherPool& pool_;
    event_base* base_;
    sockaddr_in server_;
    int fd_ = -1;
    event* read_event_ = nullptr;
    event* write_event_ = nullptr;
    event* timer_event_ = nullptr;
    std::string out_;
    std::size_t out_done_ = 0;
    std::string in_;
    bool in_flight_ = false;
    std::int64_t sent_ns_ = 0;

public:
    // Frees the timer too; only the pool's destructor calls this.
    void destroy_timer()
    {
        if (timer_event_)
            event_free(timer_event_);
        timer_event_ = nullptr;
    }
};

PublisherPool::PublisherPool(event_base* base, const Options& options)
    : base_(base), options_(options), encoded_topic_(percent_encode(options.topic))
{
}

PublisherPool::~PublisherPool()
{
    for (auto& publisher : publishers_)
        publisher->destroy_timer();
}

bool PublisherPool::open(std::uint32_t count, double timeout_seconds)
{
    for (std::uint32_t i = 0; i < count; ++i) {
        auto publisher = std::make_unique<Publisher>(*this, base_, options_.server);
        std::string error;
        if (!publisher->connect(timeout_seconds, error)) {
            note_error("publisher connection: " + error);
            return false;
        }
        publishers_.push_back(std::move(publisher));
    }
    return true;
}

std::string PublisherPool::build_request(std::uint32_t tag, std::uint32_t seq)
{
    std::string data = "b." + std::to_string(tag) + "." + std::to_string(seq) + "." + std::to_string(realtime_ns());
    if (options_.payload_size > data.size() + 1)
        data += "." + std::string(options_.payload_size - data.size() - 1, 'x');
    std::string request;
    if (options_.target == Target::mercure) {
        const std::string body = "topic=" + encoded_topic_ + "&data=" + data;
        request = "POST " + options_.hub_path + " HTTP/1.1\r\nHost: " + options_.host_header
            + "\r\nAuthorization: Bearer " + options_.token
            + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size())
            + "\r\n\r\n" + body;
    } else {
        request = "POST /pub?id=" + percent_encode(options_.channel) + " HTTP/1.1\r\nHost: " + options_.host_header
            + "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(data.size()) + "\r\n\r\n" + data;
    }
    return request;
}

void PublisherPool::send_from(Publisher& publisher)
{
    const std::uint32_t seq = next_seq_++;
    if (stats_.sent == 0) {
        stats_.first_send_ns = monotonic_ns();
        stats_.first_send_realtime_ns = realtime_ns();
    }
    ++stats_.sent;
    publisher.send(build_request(tag_, seq));
}

void PublisherPool::publish_one(std::uint32_t tag, std::uint32_t seq)
{
    mode_ = Mode::single;
    stopped_ = true;
    tag_ = tag;
    next_seq_ = seq;
    if (!publishers_.empty() && !publishers_.front()->in_flight())
        send_from(*publishers_.front());
}

void PublisherPool::start_flat_out(std::uint32_t tag, double seconds)
{
    mode_ = Mode::flat_out;
    tag_ = tag;
    stopped_ = false;
    deadline_ns_ = monotonic_ns() + static_cast<std::int64_t>(seconds * 1e9);
    for (auto& publisher : publishers_) {
        if (!publisher->in_flight())
            send_from(*publisher);
    }
}

void PublisherPool::start_paced(std::uint32_t tag, double rate, double seconds)
{
    mode_ = Mode::paced;
    tag_ = tag;
    stopped_ = false;
    const std::int64_t now = monotonic_ns();
    deadline_ns_ = now + static_cast<std::int64_t>(seconds * 1e9);
    const auto step = static_cast<std::int64_t>(1e9 / rate);
    interval_ns_ = step * static_cast<std::int64_t>(publishers_.size());
    for (std::size_t i = 0; i < publishers_.size(); ++i) {
        publishers_[i]->next_due_ns = now + static_cast<std::int64_t>(i) * step;
        schedule(*publishers_[i]);
    }
}

void PublisherPool::schedule(Publisher& publisher)
{
    if (stopped_ || publisher.in_flight())
        return;
    const std::int64_t now = monotonic_ns();
    if (now >= deadline_ns_)
        return; // done: idle() turns true once the last response is in
    if (mode_ == Mode::flat_out) {
        send_from(publisher);
    } else if (mode_ == Mode::paced) {
        if (now >= publisher.next_due_ns) {
            if (now - publisher.next_due_ns > interval_ns_)
                ++stats_.late;
            publisher.next_due_ns += interval_ns_;
            send_from(publisher);
        } else {
            publisher.arm_timer(std::min(publisher.next_due_ns, deadline_ns_) - now);
        }
    }
}

bool PublisherPool::idle() const
{
    return std::none_of(publishers_.begin(), publishers_.end(),
                        [](const auto& p) { return p->in_flight() || p->timer_armed(); });
}

void PublisherPool::stop()
{
    stopped_ = true;
    for (auto& publisher : publishers_)
        publisher->disarm_timer();
}

void PublisherPool::note_error(const std::string& error)
{
    if (stats_.first_error.empty())
        stats_.first_error = error;
}

void PublisherPool::on_response(Publisher& publisher, bool ok, std::int64_t elapsed_ns, const std::string& error)
{
    stats_.last_response_ns = monotonic_ns();
    stats_.response.record(elapsed_ns);
    if (ok) {
        ++stats_.ok;
    } else {
        ++stats_.failed;
        note_error(error);
    }
    schedule(publisher);
}

void PublisherPool::on_connection_lost(Publisher& publisher, bool in_flight, const std::string& error)
{
    // An unanswered request counts as failed; an idle keep-alive connection closed by the
    // server is just reopened.
    if (in_flight) {
        ++stats_.failed;
        note_error(error);
    }
    if (stats_.reconnects >= max_reconnects) {
        note_error("too many publisher reconnections");
        return;
    }
    ++stats_.reconnects;
    std::string reconnect_error;
    if (!publisher.connect(5, reconnect_error)) {
        note_error("publisher reconnection: " + reconnect_error);
        return;
    }
    schedule(publisher);
}

void PublisherPool::on_timer(Publisher& publisher)
{
    schedule(publisher);
}

} // namespace bench
