// mercure-overload's load: every client kind on one libevent loop, and the two flood phases.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "overload_net.hpp"
#include "overload_options.hpp"
#include "overload_report.hpp"

namespace overload {

class Subscriber;
class Slowloris;
class Stalled;
class Knocker;
class Publisher;
class HealthProbe;

// Runs the scenario against options.server and fills Figures. Single-threaded; every client
// is owned here for the whole run (never destroyed inside a callback) and reconnects only from
// its own timer. Every wait is bounded by the phase's deadline and --max-time.
class Scenario {
public:
    Scenario(const Options& options, const std::string& token, const std::string& bad_token);
    ~Scenario();
    Scenario(const Scenario&) = delete;
    Scenario& operator=(const Scenario&) = delete;

    // Runs both phases and the cool-down; false when the loop could not be set up.
    bool run(Figures& figures);

    // Shared by the clients.
    event_base* base() const { return base_.get(); }
    const Options& options() const { return options_; }
    Figures& figures() { return *figures_; }
    bool attacking() const { return attacking_; }
    bool flooding() const { return flooding_; }
    // Takes one beyond-the-limit attempt from the budget; false when spent.
    bool take_knock();
    // The GET a subscriber of `topic` sends.
    std::string subscribe_request(const std::string& topic) const;
    // A keep-alive publish of `data` to `topic` with `token`.
    std::string publish_request(const std::string& topic, const std::string& data, const std::string& token) const;
    const std::string& token() const { return token_; }
    const std::string& bad_token() const { return bad_token_; }
    // The canary sequence numbers acknowledged so far.
    std::uint64_t canary_acknowledged() const { return canary_acked_; }
    void canary_acked(std::uint32_t seq);
    void canary_received(std::uint32_t seq);

    static constexpr const char* canary_topic = "https://example.com/overload/canary";
    static constexpr const char* flood_topic = "https://example.com/overload/flood";

private:
    static void on_tick_cb(evutil_socket_t, short, void* arg);
    void tick();
    // Runs the loop for `seconds` (or until `done`), ticking every 10 ms.
    void run_for(double seconds, bool (*done)(Scenario&) = nullptr);
    void sample_memory();
    std::uint32_t open_subscribers(std::vector<std::unique_ptr<Subscriber>>& group, std::uint32_t count,
                                   const char* topic, bool canary, double timeout);

    const Options& options_;
    std::string token_;
    std::string bad_token_;
    Figures* figures_ = nullptr;
    EventBasePtr base_;
    EventPtr tick_;
    bool attacking_ = false;
    bool flooding_ = false;
    std::uint64_t knocks_left_ = 0;
    std::uint64_t canary_acked_ = 0;
    std::vector<bool> canary_seen_;
    std::vector<bool> canary_ok_;
    std::int64_t next_memory_ns_ = 0;
    std::int64_t next_health_ns_ = 0;
    std::int64_t next_canary_ns_ = 0;
    std::int64_t deadline_ns_ = 0;
    std::int64_t last_tick_ns_ = 0;

    std::unique_ptr<Subscriber> canary_subscriber_;
    std::unique_ptr<Publisher> canary_publisher_;
    std::vector<std::unique_ptr<Subscriber>> good_;
    std::vector<std::unique_ptr<Subscriber>> flood_readers_;
    std::vector<std::unique_ptr<Slowloris>> slowloris_;
    std::vector<std::unique_ptr<Stalled>> stalled_;
    std::vector<std::unique_ptr<Knocker>> knockers_;
    std::vector<std::unique_ptr<Publisher>> publishers_;
    std::vector<std::unique_ptr<Publisher>> bad_publishers_;
    std::vector<std::unique_ptr<HealthProbe>> probes_;
};

} // namespace overload
