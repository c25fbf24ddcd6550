// PublisherPool: keep-alive HTTP publishers for mercure-bench, one-shot, flat-out or paced.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_histogram.hpp"

struct event_base;

namespace bench {

struct Options;

// Opens a blocking-free TCP connection (TCP_NODELAY) within the timeout; -1 and `error` on
// failure.
int connect_with_timeout(const sockaddr_in& server, double timeout_seconds, std::string& error);

// Totals of the publishes since the pool was created.
struct PublishStats {
    std::uint64_t sent = 0;
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t late = 0;            // paced sends that left after their slot
    LatencyHistogram response;         // request written -> response read, in ns
    std::int64_t first_send_realtime_ns = 0;
    std::int64_t first_send_ns = 0;    // monotonic
    std::int64_t last_response_ns = 0; // monotonic
    std::string first_error;
};

// Publishers on the caller's event loop. Each publish carries the stamp
// "b.TAG.SEQ.NOW_NS" (CLOCK_REALTIME taken just before the request is written) in its data,
// padded to the configured payload size; SEQ counts up from 0 across the pool. A response
// other than 2xx counts as failed; a dropped connection is reopened (at most 100 times).
class PublisherPool {
public:
    class Publisher;

    PublisherPool(event_base* base, const Options& options);
    ~PublisherPool();
    PublisherPool(const PublisherPool&) = delete;
    PublisherPool& operator=(const PublisherPool&) = delete;

    // Opens `count` keep-alive connections; false (see stats().first_error) on failure.
    bool open(std::uint32_t count, double timeout_seconds);

    // Sends one update from the first publisher, which must be idle; seq is given.
    void publish_one(std::uint32_t tag, std::uint32_t seq);
    // Every publisher sends back-to-back until `seconds` have passed.
    void start_flat_out(std::uint32_t tag, double seconds);
    // The pool sends `rate` updates per second in total, evenly spread, for `seconds`.
    void start_paced(std::uint32_t tag, double rate, double seconds);

    // No request is waiting for its response and no paced send is scheduled.
    bool idle() const;
    // Stops scheduling new sends (requests in flight still complete).
    void stop();
    const PublishStats& stats() const { return stats_; }

    // Internal: called by publishers.
    void on_response(Publisher& publisher, bool ok, std::int64_t elapsed_ns, const std::string& error);
    void on_connection_lost(Publisher& publisher, bool in_flight, const std::string& error);
    void on_timer(Publisher& publisher);

private:
    enum class Mode { single, flat_out, paced };

    std::string build_request(std::uint32_t tag, std::uint32_t seq);
    void send_from(Publisher& publisher);
    void schedule(Publisher& publisher);
    void note_error(const std::string& error);

    event_base* base_;
    const Options& options_;
    std::string encoded_topic_;
    std::vector<std::unique_ptr<Publisher>> publishers_;
    PublishStats stats_;
    Mode mode_ = Mode::single;
    std::uint32_t tag_ = 0;
    std::uint32_t next_seq_ = 0;
    std::int64_t deadline_ns_ = 0;   // monotonic
    std::int64_t interval_ns_ = 0;   // per publisher, paced
    bool stopped_ = true;
};

} // namespace bench
