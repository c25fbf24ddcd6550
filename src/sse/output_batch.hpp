// OutputBatch: the live output of one loop turn, written once per subscriber, on every core.
#pragma once
#include <event2/event_struct.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "http/connection.hpp"

struct event_base;

namespace mercure {

class HeartbeatSchedule;
class SubscriberStream;

// Live deliveries are staged on their connections, not written at once. At the end of the
// loop turn (an event activated by the first staged stream, so it runs after every callback
// already due in that turn) each stream's staged frames leave in one vectored write: a turn
// that published k updates costs one syscall per subscriber instead of k, which is where the
// kernel's TCP send cost dominates (docs/benchmarks.md).
//
// The writes are spread over `threads` threads (the loop's own and threads - 1 helpers) when a
// turn has enough of them: the syscalls are independent per socket and read only the
// connection's queue, while everything that changes a connection (consuming written bytes,
// arming write events, closing) stays on the loop's thread after the helpers finish. This is
// what brings the time to reach the last of 10,000 subscribers down on a multi-core machine.
class OutputBatch {
public:
    OutputBatch(event_base* base, HeartbeatSchedule& heartbeats, unsigned threads);
    ~OutputBatch();
    OutputBatch(const OutputBatch&) = delete;
    OutputBatch& operator=(const OutputBatch&) = delete;

    // A stream whose connection just staged output (Connection::stage_frame returned true).
    void add(SubscriberStream& stream);
    // A stream going away before the batch is written (its connection is being destroyed).
    void remove(SubscriberStream& stream);
    // Writes every staged stream now (also called by the end-of-turn event).
    void flush();
    // Threads used for large batches (1: the loop's thread alone). Takes effect at once.
    void set_threads(unsigned threads);
    unsigned threads() const { return static_cast<unsigned>(helpers_.size()) + 1; }

private:
    struct Item {
        SubscriberStream* stream;
        Connection::WriteOutcome outcome;
    };
    static void on_flush(int, short, void* arg);
    void write_items();
    void run_share();
    void helper_main();
    void stop_helpers();

    HeartbeatSchedule& heartbeats_;
    std::vector<Item> items_;
    struct event flush_event_;
    bool flush_pending_ = false;

    // Helper threads: woken per large batch by a generation number; take blocks of items by
    // an atomic cursor so a thread that loses its core to another process does not hold the
    // others back.
    std::vector<std::thread> helpers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::uint64_t generation_ = 0;
    unsigned busy_helpers_ = 0;
    bool stopping_ = false;
    std::atomic<std::size_t> cursor_{0};
};

} // namespace mercure
