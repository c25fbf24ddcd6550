// Bench: mercure-bench's controller: worker processes, the parent's loop, and the phases.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench_json.hpp"
#include "bench_options.hpp"
#include "bench_proc.hpp"
#include "bench_wire.hpp"

struct event_base;
struct event;

namespace bench {

class PublisherPool;

// How a batch of subscriber connections went, over every worker.
struct ConnectOutcome {
    std::uint32_t established = 0;
    std::uint32_t failed = 0;
    double seconds = 0; // the slowest worker's batch
    std::string first_error;
};

// The parent process. Subscribers live in forked workers (bench_worker.hpp), each holding at
// most --per-process of them and answering commands over a pair of pipes; publishers and
// the /proc probe of the server live here, on one libevent loop. Every wait is a
// run_until() with a deadline, so nothing blocks for longer than the phase allows. Phase
// methods (bench_phases.cpp) print their text report as they go and add one JSON member each.
class Bench {
public:
    explicit Bench(const Options& options);
    ~Bench();
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;

    // Forks the workers, runs the selected phases, prints the JSON line; returns the exit
    // status (0, or 1 after errors).
    int run();

private:
    struct WorkerLink {
        pid_t pid = -1;
        int command_fd = -1;
        int reply_fd = -1;
        event* reply_event = nullptr;
        MessageReader reader;
        std::deque<Message> inbox;
        std::uint32_t subscribers = 0; // given in the current connect batch
        bool alive = true;
    };

    // Workers and the loop (bench_runner.cpp).
    bool spawn_workers(std::uint32_t count);
    void stop_workers();
    static void on_reply_cb(int fd, short, void* arg);
    void on_reply(WorkerLink& link);
    // Runs the loop until done() or `seconds` pass; returns done().
    bool run_until(const std::function<bool()>& done, double seconds);
    void sleep_for(double seconds);
    std::optional<Message> await(WorkerLink& link, MessageType type, double seconds);
    std::uint32_t workers_for(std::uint32_t subscribers) const;

    // Subscriber operations over every active worker.
    ConnectOutcome connect_subscribers(std::uint32_t count);
    bool arm(std::uint32_t tag, std::uint32_t rounds);
    std::optional<WorkerStats> collect();
    // Polls the workers until `expected` events arrived, nothing moved for a second, or the
    // drain timeout passed.
    std::optional<WorkerStats> drain(std::uint64_t expected);
    void close_subscribers();
    bool round_complete(std::uint32_t tag, std::uint32_t round) const;
    std::uint32_t new_tag() { return tag_base_ + ++tag_count_; }

    // Phases (bench_phases.cpp).
    void phase_idle_memory();
    void phase_fanout();
    void phase_throughput();
    JsonObject throughput_run(const std::string& name, std::uint32_t established, double rate);
    void phase_publish_rate();
    JsonObject publish_rate_run(std::uint32_t subscribers);
    void phase_publish_latency();
    void phase_max_connections();
    // Records the connection outcome in `json` and reports failures as errors.
    void check_connect(const std::string& phase, const ConnectOutcome& outcome, std::uint32_t wanted, JsonObject& json);
    // Records delivery figures and reports dropped streams and (as a warning) missed events.
    void check_delivery(const std::string& phase, const WorkerStats& stats, std::uint64_t expected, JsonObject& json);
    void check_publishes(const std::string& phase, const PublisherPool& pool, JsonObject& json);
    void check_server(const std::string& phase);
    // Before a measured window: publishes a probe update (a tag of its own, which the
    // measurement, armed afterwards, ignores) and waits until every open subscriber has it,
    // publishing it again up to probe_attempts times (probe_timeout seconds each). Warns,
    // naming how many are not receiving, when some never get it; records the outcome in
    // `json` (probe_attempts, probe_unconfirmed). True when every subscriber is confirmed.
    bool confirm_subscribed(const std::string& phase, JsonObject& json);
    static constexpr std::uint32_t probe_attempts = 3;
    static constexpr double probe_timeout = 5;

    void error(const std::string& message);
    void warn(const std::string& message);

    const Options& options_;
    ServerProbe probe_;
    event_base* base_ = nullptr;
    event* wake_ = nullptr;
    std::vector<WorkerLink> workers_;
    std::uint32_t active_workers_ = 0;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> rounds_done_;
    std::uint32_t tag_base_ = 0;
    std::uint32_t tag_count_ = 0;
    JsonObject phases_json_;
    std::vector<std::string> errors_;
    std::vector<std::string> warnings_;
};

} // namespace bench
