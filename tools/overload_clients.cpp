// mercure-overload's client kinds: subscribers, slowloris, stalled readers, knockers, publishers, probes.
#include "overload_clients.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "overload_scenario.hpp"

namespace overload {

namespace {

constexpr std::int64_t ms = 1000000;
constexpr std::int64_t reconnect_delay = 50 * ms;

std::int64_t seconds_ns(double seconds)
{
    return static_cast<std::int64_t>(seconds * 1e9);
}

bool starts_with(const char* bytes, std::size_t size, std::string_view prefix)
{
    return size >= prefix.size() && std::memcmp(bytes, prefix.data(), prefix.size()) == 0;
}

} // namespace

// --- Subscriber ---

event_base* Subscriber::scenario_base(Scenario& scenario)
{
    return scenario.base();
}

void Subscriber::start(const char* topic)
{
    std::string error;
    AttemptCounts& counts = scenario_.figures().good;
    if (kind_ == Kind::good)
        ++counts.attempted;
    started_ = true;
    if (!link_.open(scenario_.options().server, true, 0, error)) {
        dropped_ = true;
        if (kind_ == Kind::good)
            ++counts.failed;
        return;
    }
    link_.send(scenario_.subscribe_request(topic));
}

void Subscriber::on_event(std::string_view data)
{
    ++events_;
    if (data.size() > 2 && data[0] == 'c' && data[1] == '.') {
        ++canary_events_;
        std::uint32_t seq = 0;
        if (kind_ == Kind::canary && std::from_chars(data.data() + 2, data.data() + data.size(), seq).ec == std::errc())
            scenario_.canary_received(seq);
    }
}

void Subscriber::link_data(Link& link, const char* bytes, std::size_t size)
{
    const bool was_open = stream_.open();
    const auto status = stream_.feed(bytes, size, *this);
    if (!was_open && stream_.open()) {
        ever_open_ = true;
        if (kind_ == Kind::good)
            ++scenario_.figures().good.accepted;
    }
    if (status != bench::SseStream::Status::ok) {
        link.close(true);
        link_closed(link, "stream ended");
    }
}

void Subscriber::link_closed(Link&, const std::string&)
{
    if (dropped_)
        return;
    dropped_ = true;
    if (kind_ == Kind::good && !ever_open_)
        ++scenario_.figures().good.refused;
}

// --- Slowloris ---

Slowloris::Slowloris(Scenario& scenario) : scenario_(scenario), link_(scenario.base(), *this)
{
    // A long header value dripped byte by byte: the head never completes on its own.
    head_ = "GET /.well-known/mercure?topic=https%3A%2F%2Fexample.com%2Fslow HTTP/1.1\r\nHost: "
            + scenario.options().host_header + "\r\nX-Slow: ";
    head_.append(4096, 'a');
}

void Slowloris::tick(std::int64_t now)
{
    if (!link_.is_open()) {
        if (!scenario_.attacking() || now < reconnect_ns_)
            return;
        std::string error;
        ++scenario_.figures().slowloris.attempted;
        sent_ = 0;
        answered_ = false;
        next_byte_ns_ = now;
        if (!link_.open(scenario_.options().server, true, 0, error)) {
            ++scenario_.figures().slowloris.failed;
            reconnect_ns_ = now + reconnect_delay;
        }
        return;
    }
    if (link_.connected() && now >= next_byte_ns_ && sent_ < head_.size()) {
        link_.send(std::string_view(head_).substr(sent_, 1));
        ++sent_;
        next_byte_ns_ = now + 100 * ms;
    }
}

void Slowloris::link_data(Link&, const char*, std::size_t)
{
    answered_ = true; // the 408; the hub closes right after
}

void Slowloris::link_closed(Link& link, const std::string&)
{
    const std::int64_t now = monotonic_ns();
    AttemptCounts& counts = scenario_.figures().slowloris;
    if (answered_) {
        ++counts.accepted;
        scenario_.figures().slowloris_held.record(now - link.opened_ns());
    } else {
        ++counts.refused;
        counts.refuse_time.record(now - link.opened_ns());
    }
    reconnect_ns_ = now + reconnect_delay;
}

// --- Stalled ---

Stalled::Stalled(Scenario& scenario) : scenario_(scenario), link_(scenario.base(), *this) {}

void Stalled::tick(std::int64_t now)
{
    AttemptCounts& counts = scenario_.figures().stalled;
    switch (state_) {
    case State::idle: {
        if (!scenario_.attacking() || now < reconnect_ns_)
            return;
        std::string error;
        ++counts.attempted;
        if (!link_.open(scenario_.options().server, false, 4096, error)) {
            ++counts.failed;
            reconnect_ns_ = now + reconnect_delay;
            return;
        }
        link_.send(scenario_.subscribe_request(Scenario::flood_topic));
        state_ = State::waiting;
        return;
    }
    case State::waiting: {
        char head[16];
        const ssize_t n = ::recv(link_.fd(), head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {
            if (starts_with(head, static_cast<std::size_t>(n), "HTTP/1.1 200")) {
                ++counts.accepted;
                state_ = State::held;
                release_ns_ = link_.opened_ns() + seconds_ns(scenario_.options().dispatch_timeout + 1);
                return;
            }
            ++counts.failed;
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            ++counts.refused;
            counts.refuse_time.record(now - link_.opened_ns());
        } else if (now - link_.opened_ns() < seconds_ns(scenario_.options().probe_timeout)) {
            return;
        } else {
            ++counts.failed;
        }
        link_.close(true);
        state_ = State::idle;
        reconnect_ns_ = now + reconnect_delay;
        return;
    }
    case State::held:
        if (now < release_ns_ && scenario_.attacking())
            return;
        link_.close(true);
        state_ = State::idle;
        reconnect_ns_ = now + reconnect_delay;
        return;
    }
}

void Stalled::link_closed(Link&, const std::string&)
{
    // Only a failed connect lands here (the link does not read).
    ++scenario_.figures().stalled.failed;
    state_ = State::idle;
    reconnect_ns_ = monotonic_ns() + reconnect_delay;
}

// --- Knocker ---

Knocker::Knocker(Scenario& scenario) : scenario_(scenario), link_(scenario.base(), *this) {}

void Knocker::tick(std::int64_t now)
{
    AttemptCounts& counts = scenario_.figures().knockers;
    if (busy_) {
        if (now - link_.opened_ns() > seconds_ns(scenario_.options().probe_timeout)) {
            ++counts.failed;
            link_.close(true);
            busy_ = false;
        }
        return;
    }
    if (!scenario_.attacking() || !scenario_.take_knock())
        return;
    std::string error;
    ++counts.attempted;
    if (!link_.open(scenario_.options().server, true, 0, error)) {
        ++counts.failed;
        return;
    }
    busy_ = true;
    link_.send(scenario_.subscribe_request("https://example.com/overload/knock"));
}

void Knocker::link_data(Link& link, const char* bytes, std::size_t size)
{
    if (!busy_)
        return;
    busy_ = false;
    if (starts_with(bytes, size, "HTTP/1.1 200"))
        ++scenario_.figures().knockers.accepted;
    else
        ++scenario_.figures().knockers.failed;
    link.close(true);
}

void Knocker::link_closed(Link& link, const std::string&)
{
    if (!busy_)
        return;
    busy_ = false;
    AttemptCounts& counts = scenario_.figures().knockers;
    ++counts.refused;
    counts.refuse_time.record(monotonic_ns() - link.opened_ns());
}

// --- Publisher ---

Publisher::Publisher(Scenario& scenario, Kind kind) : scenario_(scenario), kind_(kind), link_(scenario.base(), *this) {}

void Publisher::start()
{
    std::string error;
    reader_.clear();
    in_flight_ = false;
    if (!link_.open(scenario_.options().server, true, 0, error))
        reconnect_ns_ = monotonic_ns() + reconnect_delay;
}

void Publisher::link_connected(Link&)
{
    kick();
}

void Publisher::kick()
{
    if (kind_ != Kind::canary && scenario_.flooding() && link_.connected() && !in_flight_)
        send_next();
}

void Publisher::publish_canary()
{
    ProbeCounts& canary = scenario_.figures().canary;
    if (in_flight_ || !link_.connected()) {
        ++canary.skipped;
        return;
    }
    send_next();
}

void Publisher::send_next()
{
    const Options& o = scenario_.options();
    std::string data;
    const std::string* token = &scenario_.token();
    const char* topic = Scenario::flood_topic;
    flight_seq_ = seq_++;
    if (kind_ == Kind::canary) {
        data = "c." + std::to_string(flight_seq_);
        topic = Scenario::canary_topic;
        ++scenario_.figures().canary.sent;
    } else {
        const std::uint32_t size = kind_ == Kind::flood && flight_seq_ % o.large_every == o.large_every - 1
                                       ? o.large_body
                                       : o.small_body;
        data = "f." + std::to_string(flight_seq_) + ".";
        data.resize(size, 'x');
        if (kind_ == Kind::bad)
            token = &scenario_.bad_token();
    }
    flight_bytes_ = data.size();
    in_flight_ = true;
    sent_ns_ = monotonic_ns();
    link_.send(scenario_.publish_request(topic, data, *token));
}

void Publisher::tick(std::int64_t now)
{
    if (!link_.is_open()) {
        if (now >= reconnect_ns_ && (kind_ == Kind::canary || scenario_.flooding()))
            start();
        return;
    }
    if (in_flight_ && now - sent_ns_ > seconds_ns(scenario_.options().probe_timeout)) {
        if (kind_ == Kind::canary)
            ++scenario_.figures().canary.timed_out;
        else
            ++scenario_.figures().flood_failed;
        link_.close(true);
        in_flight_ = false;
        reconnect_ns_ = now + reconnect_delay;
    }
}

void Publisher::link_data(Link& link, const char* bytes, std::size_t size)
{
    reader_.append(bytes, size);
    Figures& f = scenario_.figures();
    // Bounded: one request is in flight, so at most one reply (a stray second is malformed).
    for (int guard = 0; guard < 4; ++guard) {
        int status = 0;
        std::string body;
        const auto result = reader_.next(status, body);
        if (result == ReplyReader::Result::need_more)
            return;
        if (result == ReplyReader::Result::malformed || !in_flight_) {
            link.close(true);
            link_closed(link, "malformed reply");
            return;
        }
        in_flight_ = false;
        const std::int64_t elapsed = monotonic_ns() - sent_ns_;
        switch (kind_) {
        case Kind::canary:
            if (status == 200) {
                ++f.canary.ok;
                f.canary.latency.record(elapsed);
                scenario_.canary_acked(flight_seq_);
            } else {
                ++f.canary.bad_status;
            }
            break;
        case Kind::flood:
            if (status == 200) {
                ++f.flood_ok;
                f.flood_bytes += flight_bytes_;
                f.flood_latency.record(elapsed);
            } else {
                ++f.flood_failed;
            }
            break;
        case Kind::bad:
            if (status == 401)
                ++f.bad_refused;
            else
                ++f.bad_other;
            break;
        }
        kick();
    }
}

void Publisher::link_closed(Link&, const std::string&)
{
    if (in_flight_) {
        if (kind_ == Kind::canary)
            ++scenario_.figures().canary.refused;
        else if (kind_ == Kind::flood)
            ++scenario_.figures().flood_failed;
        else
            ++scenario_.figures().bad_other;
    }
    in_flight_ = false;
    reconnect_ns_ = monotonic_ns() + reconnect_delay;
}

// --- HealthProbe ---

HealthProbe::HealthProbe(Scenario& scenario) : scenario_(scenario), link_(scenario.base(), *this) {}

void HealthProbe::fire()
{
    std::string error;
    ProbeCounts& h = scenario_.figures().healthz;
    ++h.sent;
    reader_.clear();
    if (!link_.open(scenario_.options().admin_server, true, 0, error)) {
        ++h.refused;
        return;
    }
    busy_ = true;
}

void HealthProbe::link_connected(Link& link)
{
    link.send("GET /healthz HTTP/1.1\r\nHost: " + scenario_.options().admin_host_header + "\r\nConnection: close\r\n\r\n");
}

void HealthProbe::tick(std::int64_t now)
{
    if (busy_ && now - link_.opened_ns() > seconds_ns(scenario_.options().probe_timeout)) {
        ++scenario_.figures().healthz.timed_out;
        finish();
    }
}

void HealthProbe::finish()
{
    link_.close(true);
    busy_ = false;
}

void HealthProbe::link_data(Link& link, const char* bytes, std::size_t size)
{
    if (!busy_)
        return;
    reader_.append(bytes, size);
    int status = 0;
    std::string body;
    const auto result = reader_.next(status, body);
    if (result == ReplyReader::Result::need_more)
        return;
    ProbeCounts& h = scenario_.figures().healthz;
    if (result == ReplyReader::Result::reply && status == 200) {
        ++h.ok;
        h.latency.record(monotonic_ns() - link.opened_ns());
    } else {
        ++h.bad_status;
    }
    finish();
}

void HealthProbe::link_closed(Link&, const std::string&)
{
    if (!busy_)
        return;
    ++scenario_.figures().healthz.refused;
    busy_ = false;
}

} // namespace overload
