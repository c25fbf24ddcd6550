// mercure-overload's load: every client kind on one libevent loop, and the two flood phases.
#include "overload_scenario.hpp"

#include <algorithm>
#include <cstdio>

#include "bench_sse.hpp"
#include "overload_clients.hpp"
#include "overload_hub.hpp"

namespace overload {

namespace {

constexpr std::int64_t ms = 1000000;

void say(const char* text)
{
    std::printf("mercure-overload: %s\n", text);
    std::fflush(stdout);
}

} // namespace

Scenario::Scenario(const Options& options, const std::string& token, const std::string& bad_token)
    : options_(options), token_(token), bad_token_(bad_token)
{
}

Scenario::~Scenario() = default;

std::string Scenario::subscribe_request(const std::string& topic) const
{
    return "GET /.well-known/mercure?topic=" + bench::percent_encode(topic) + " HTTP/1.1\r\nHost: " + options_.host_header
         + "\r\nAccept: text/event-stream\r\n\r\n";
}

std::string Scenario::publish_request(const std::string& topic, const std::string& data,
                                      const std::string& token) const
{
    const std::string body = "topic=" + bench::percent_encode(topic) + "&data=" + bench::percent_encode(data);
    return "POST /.well-known/mercure HTTP/1.1\r\nHost: " + options_.host_header + "\r\nAuthorization: Bearer "
         + token + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n\r\n" + body;
}

bool Scenario::take_knock()
{
    if (knocks_left_ == 0)
        return false;
    --knocks_left_;
    return true;
}

void Scenario::canary_acked(std::uint32_t seq)
{
    ++canary_acked_;
    if (seq >= canary_ok_.size())
        canary_ok_.resize(seq + 1, false);
    canary_ok_[seq] = true;
}

void Scenario::canary_received(std::uint32_t seq)
{
    if (seq >= canary_seen_.size())
        canary_seen_.resize(seq + 1, false);
    canary_seen_[seq] = true;
}

void Scenario::on_tick_cb(evutil_socket_t, short, void* arg)
{
    static_cast<Scenario*>(arg)->tick();
}

void Scenario::sample_memory()
{
    const ProcessMemory memory = read_process_memory(options_.pid);
    if (memory.rss == 0)
        return;
    ++figures_->rss_samples;
    figures_->rss_peak_sampled = std::max(figures_->rss_peak_sampled, memory.rss);
    figures_->rss_hwm = std::max(figures_->rss_hwm, memory.hwm);
    figures_->send_queues_peak =
        std::max(figures_->send_queues_peak, read_send_queues(ntohs(options_.server.sin_port)));
}

void Scenario::tick()
{
    const std::int64_t now = monotonic_ns();
    // The tool's own lateness: latencies above it may be the load generator's, not the hub's.
    if (last_tick_ns_ > 0 && next_health_ns_ > 0)
        figures_->loop_lag.record(now - last_tick_ns_ - 10 * ms);
    last_tick_ns_ = now;
    if (now >= next_memory_ns_) {
        sample_memory();
        next_memory_ns_ = now + 100 * ms;
    }
    if (attacking_) {
        // The knock budget is spread evenly over the connection flood phase.
        for (auto& slow : slowloris_)
            slow->tick(now);
        for (auto& stalled : stalled_)
            stalled->tick(now);
    }
    for (auto& knocker : knockers_)
        knocker->tick(now);
    if (canary_publisher_)
        canary_publisher_->tick(now);
    for (auto& publisher : publishers_)
        publisher->tick(now);
    for (auto& publisher : bad_publishers_)
        publisher->tick(now);
    for (auto& probe : probes_)
        probe->tick(now);
    if (next_health_ns_ > 0 && now >= next_health_ns_) {
        next_health_ns_ += static_cast<std::int64_t>(options_.healthz_interval * 1e9);
        bool fired = false;
        for (auto& probe : probes_) {
            if (probe->idle()) {
                probe->fire();
                fired = true;
                break;
            }
        }
        if (!fired) { // every probe is waiting: this one counts as timed out
            ++figures_->healthz.sent;
            ++figures_->healthz.timed_out;
        }
    }
    if (next_canary_ns_ > 0 && now >= next_canary_ns_) {
        next_canary_ns_ += static_cast<std::int64_t>(options_.canary_interval * 1e9);
        canary_publisher_->publish_canary();
    }
}

void Scenario::run_for(double seconds, bool (*done)(Scenario&))
{
    const std::int64_t end = std::min(monotonic_ns() + static_cast<std::int64_t>(seconds * 1e9), deadline_ns_);
    // Each pass returns within the 10 ms tick; bounded by the deadline.
    while (monotonic_ns() < end) {
        if (done && done(*this))
            return;
        event_base_loop(base_.get(), EVLOOP_ONCE);
    }
}

std::uint32_t Scenario::open_subscribers(std::vector<std::unique_ptr<Subscriber>>& group, std::uint32_t count,
                                         const char* topic, bool canary, double timeout)
{
    const std::size_t first = group.size();
    for (std::uint32_t i = 0; i < count; ++i) {
        group.push_back(std::make_unique<Subscriber>(*this, canary ? Subscriber::Kind::canary
                                                              : topic == flood_topic ? Subscriber::Kind::flood_reader
                                                                                     : Subscriber::Kind::good));
        group.back()->start(topic);
        // Let the loop accept in batches so the listen backlog never overflows.
        if (i % 256 == 255)
            run_for(0.05);
    }
    auto settled = [&] {
        std::uint32_t open = 0;
        for (std::size_t i = first; i < group.size(); ++i) {
            if (!group[i]->open() && !group[i]->dropped())
                return std::uint32_t{0xffffffff};
            open += group[i]->open() ? 1 : 0;
        }
        return open;
    };
    const std::int64_t end = monotonic_ns() + static_cast<std::int64_t>(timeout * 1e9);
    while (settled() == 0xffffffff && monotonic_ns() < end && monotonic_ns() < deadline_ns_)
        event_base_loop(base_.get(), EVLOOP_ONCE);
    const std::uint32_t open = settled();
    return open == 0xffffffff ? 0 : open;
}

bool Scenario::run(Figures& figures)
{
    figures_ = &figures;
    const Options& o = options_;
    deadline_ns_ = monotonic_ns() + static_cast<std::int64_t>(o.max_time * 1e9);
    base_.reset(event_base_new());
    if (!base_)
        return false;
    tick_.reset(event_new(base_.get(), -1, EV_PERSIST, &Scenario::on_tick_cb, this));
    const timeval every{0, 10000};
    event_add(tick_.get(), &every);
    figures.rss_idle = read_process_memory(o.pid).rss;
    const double started = static_cast<double>(monotonic_ns()) / 1e9;

    // Our own connections first: they must hold their slots before the flood.
    canary_publisher_ = std::make_unique<Publisher>(*this, Publisher::Kind::canary);
    canary_publisher_->start();
    for (std::uint32_t i = 0; i < o.publishers; ++i)
        publishers_.push_back(std::make_unique<Publisher>(*this, Publisher::Kind::flood));
    for (std::uint32_t i = 0; i < o.bad_publishers; ++i)
        bad_publishers_.push_back(std::make_unique<Publisher>(*this, Publisher::Kind::bad));
    for (auto& p : publishers_)
        p->start();
    for (auto& p : bad_publishers_)
        p->start();
    std::vector<std::unique_ptr<Subscriber>> canary_group;
    open_subscribers(canary_group, 1, canary_topic, true, 10);
    canary_subscriber_ = std::move(canary_group.front());
    open_subscribers(flood_readers_, o.flood_readers, flood_topic, false, 10);
    run_for(0.2);
    const std::uint32_t own = 2 + o.publishers + o.bad_publishers + o.flood_readers;
    const auto headroom = static_cast<std::uint32_t>(o.max_connections * o.headroom);
    const std::uint32_t attackers = o.slowloris() + o.stalled();
    const std::uint32_t good = o.max_connections > own + headroom + attackers
                                   ? o.max_connections - own - headroom - attackers
                                   : 0;
    std::printf("mercure-overload: %u well-behaved subscribers, %u slowloris, %u stalled readers, %u own "
                "connections, %u left free; %u attempts beyond the limit by %u knockers\n",
                good, o.slowloris(), o.stalled(), own, headroom,
                static_cast<unsigned>(o.flood_factor * o.max_connections), o.knockers);
    const std::uint32_t open_good = open_subscribers(good_, good, canary_topic, false, 30);
    if (open_good < good)
        figures.notes.push_back("only " + std::to_string(open_good) + " of " + std::to_string(good)
                                + " well-behaved subscribers connected");
    for (std::uint32_t i = 0; i < o.slowloris(); ++i)
        slowloris_.push_back(std::make_unique<Slowloris>(*this));
    for (std::uint32_t i = 0; i < o.stalled(); ++i)
        stalled_.push_back(std::make_unique<Stalled>(*this));
    for (std::uint32_t i = 0; i < o.knockers; ++i)
        knockers_.push_back(std::make_unique<Knocker>(*this));
    for (int i = 0; i < 64; ++i)
        probes_.push_back(std::make_unique<HealthProbe>(*this));

    // Phase 1: the connection flood, with the probes running.
    say("phase 1: connection flood");
    next_health_ns_ = monotonic_ns();
    next_canary_ns_ = monotonic_ns();
    attacking_ = true;
    // Knocks are released per 100 ms slice so the budget spreads over the phase.
    const auto budget = static_cast<std::uint64_t>(o.flood_factor * o.max_connections);
    const int slices = std::max(1, static_cast<int>(o.connect_seconds * 10));
    for (int slice = 0; slice < slices; ++slice) {
        knocks_left_ += budget / static_cast<std::uint64_t>(slices)
                      + (slice == slices - 1 ? budget % static_cast<std::uint64_t>(slices) : 0);
        run_for(0.1);
    }

    // Phase 2: the publisher flood; the attackers keep coming back.
    say("phase 2: publisher flood");
    flooding_ = true;
    for (auto& p : publishers_)
        p->kick();
    for (auto& p : bad_publishers_)
        p->kick();
    run_for(o.flood_seconds);

    // Cool-down: stop attacking and flooding, let what is in flight finish.
    say("cool-down");
    flooding_ = false;
    attacking_ = false;
    knocks_left_ = 0;
    for (auto& slow : slowloris_)
        slow->stop();
    for (auto& stalled : stalled_)
        stalled->stop();
    for (auto& knocker : knockers_)
        knocker->stop();
    next_canary_ns_ = 0;
    run_for(o.probe_timeout + 0.5, [](Scenario& s) {
        return s.canary_publisher_->idle()
            && std::all_of(s.probes_.begin(), s.probes_.end(), [](const auto& p) { return p->idle(); });
    });
    next_health_ns_ = 0;
    run_for(5, [](Scenario& s) {
        std::uint64_t received = 0;
        for (std::size_t i = 0; i < s.canary_ok_.size(); ++i)
            received += s.canary_ok_[i] && i < s.canary_seen_.size() && s.canary_seen_[i] ? 1 : 0;
        return received >= s.canary_acked_;
    });
    run_for(1);

    figures.canary_expected = canary_acked_;
    for (std::size_t i = 0; i < canary_ok_.size(); ++i)
        figures.canary_received += canary_ok_[i] && i < canary_seen_.size() && canary_seen_[i] ? 1 : 0;
    if (canary_subscriber_->dropped())
        figures.notes.push_back("the canary subscriber's stream was ended by the hub");
    for (const auto& sub : good_) {
        if (sub->dropped() && sub->ever_open())
            ++figures.good_dropped;
        else if (sub->open() && sub->canary_events() < canary_acked_)
            figures.good_canary_missing += canary_acked_ - sub->canary_events();
    }
    for (const auto& reader : flood_readers_) {
        figures.flood_reader_events += reader->events();
        figures.flood_reader_dropped += reader->dropped() ? 1 : 0;
    }
    sample_memory();
    figures.rss_after = read_process_memory(o.pid).rss;
    figures.seconds = static_cast<double>(monotonic_ns()) / 1e9 - started;
    for (auto& sub : good_)
        sub->close();
    for (auto& reader : flood_readers_)
        reader->close();
    canary_subscriber_->close();
    canary_publisher_->stop();
    for (auto& p : publishers_)
        p->stop();
    for (auto& p : bad_publishers_)
        p->stop();
    return true;
}

} // namespace overload
