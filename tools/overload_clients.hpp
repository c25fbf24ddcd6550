// mercure-overload's client kinds: subscribers, slowloris, stalled readers, knockers, publishers, probes.
#pragma once
#include <cstdint>
#include <string>

#include "bench_sse.hpp"
#include "overload_net.hpp"

namespace overload {

class Scenario;

// Every client is driven by Scenario::tick() (every 10 ms) and by its link's callbacks.

// A well-behaved SSE subscriber: reads everything, counts events. Never reconnects: the hub
// ending its stream is a figure (`dropped`).
class Subscriber final : public LinkHandler {
public:
    enum class Kind { good, canary, flood_reader };
    Subscriber(Scenario& scenario, Kind kind) : scenario_(scenario), kind_(kind), link_(scenario_base(scenario), *this) {}

    void start(const char* topic);
    bool open() const { return stream_.open() && !dropped_; }
    bool dropped() const { return dropped_; }
    // Whether the stream ever opened (a refused subscriber never did).
    bool ever_open() const { return ever_open_; }
    std::uint64_t canary_events() const { return canary_events_; }
    std::uint64_t events() const { return events_; }
    void close() { link_.close(true); }

    // SseStream sink.
    void on_open() {}
    void on_event(std::string_view data);

    void link_data(Link& link, const char* bytes, std::size_t size) override;
    void link_closed(Link& link, const std::string& why) override;

private:
    static event_base* scenario_base(Scenario& scenario);

    Scenario& scenario_;
    Kind kind_;
    Link link_;
    bench::SseStream stream_;
    bool started_ = false;
    bool dropped_ = false;
    bool ever_open_ = false;
    std::uint64_t canary_events_ = 0;
    std::uint64_t events_ = 0;
};

// Sends a request head one byte at a time and never finishes it; reconnects after the hub's
// answer (408 at read_timeout) or refusal.
class Slowloris final : public LinkHandler {
public:
    explicit Slowloris(Scenario& scenario);
    void tick(std::int64_t now);
    void stop() { link_.close(true); }

    void link_data(Link& link, const char* bytes, std::size_t size) override;
    void link_closed(Link& link, const std::string& why) override;

private:
    Scenario& scenario_;
    Link link_;
    std::string head_;
    std::size_t sent_ = 0;
    bool answered_ = false;
    std::int64_t next_byte_ns_ = 0;
    std::int64_t reconnect_ns_ = 0;
};

// Subscribes to the flood topic with a tiny receive buffer and never reads. Whether the hub
// took it is seen by peeking at the head; an accepted one is held for dispatch_timeout + 1 s
// (the hub should cut it before), then reset and opened again.
class Stalled final : public LinkHandler {
public:
    explicit Stalled(Scenario& scenario);
    void tick(std::int64_t now);
    void stop() { link_.close(true); }

    void link_data(Link&, const char*, std::size_t) override {}
    void link_closed(Link& link, const std::string& why) override;

private:
    enum class State { idle, waiting, held };
    Scenario& scenario_;
    Link link_;
    State state_ = State::idle;
    std::int64_t release_ns_ = 0;
    std::int64_t reconnect_ns_ = 0;
};

// A new subscriber beyond the limit: connects, asks for a stream, and notes whether the hub
// refused it (closed without a byte) or took it (then resets it at once).
class Knocker final : public LinkHandler {
public:
    explicit Knocker(Scenario& scenario);
    void tick(std::int64_t now);
    void stop() { link_.close(true); }

    void link_data(Link& link, const char* bytes, std::size_t size) override;
    void link_closed(Link& link, const std::string& why) override;

private:
    Scenario& scenario_;
    Link link_;
    bool busy_ = false;
};

// A keep-alive publisher, one request in flight: the canary (one publish per tick it is told
// to), a flood publisher (flat out with a valid token) or a bad one (flat out, bad token).
class Publisher final : public LinkHandler {
public:
    enum class Kind { canary, flood, bad };
    Publisher(Scenario& scenario, Kind kind);

    void start();
    bool ready() const { return link_.connected(); }
    bool idle() const { return !in_flight_; }
    // Canary: publishes the next sequence number now (or counts a skipped tick).
    void publish_canary();
    // Flood and bad: sends the next request when idle and the flood runs.
    void kick();
    void tick(std::int64_t now);
    void stop() { link_.close(true); }

    void link_connected(Link& link) override;
    void link_data(Link& link, const char* bytes, std::size_t size) override;
    void link_closed(Link& link, const std::string& why) override;

private:
    void send_next();

    Scenario& scenario_;
    Kind kind_;
    Link link_;
    ReplyReader reader_;
    bool in_flight_ = false;
    std::int64_t sent_ns_ = 0;
    std::uint32_t seq_ = 0;
    std::uint32_t flight_seq_ = 0;
    std::uint64_t flight_bytes_ = 0;
    std::int64_t reconnect_ns_ = 0;
};

// One GET /healthz on a fresh connection with "Connection: close".
class HealthProbe final : public LinkHandler {
public:
    explicit HealthProbe(Scenario& scenario);
    bool idle() const { return !busy_; }
    void fire();
    void tick(std::int64_t now);
    void stop() { link_.close(true); }

    void link_connected(Link& link) override;
    void link_data(Link& link, const char* bytes, std::size_t size) override;
    void link_closed(Link& link, const std::string& why) override;

private:
    void finish();
    Scenario& scenario_;
    Link link_;
    ReplyReader reader_;
    bool busy_ = false;
};

} // namespace overload
