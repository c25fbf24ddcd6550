// HeartbeatSchedule: one timer that sends ":" comments to streams idle for the interval.
#pragma once
#include <event2/event_struct.h>

#include <chrono>

#include "core/update.hpp"

struct event_base;

namespace mercure {

class SubscriberStream;

// Streams sit in a list ordered by their last write: a write moves a stream to the tail, so
// the head is always the stream idle the longest. A single timer fires when the head is due,
// sends heartbeats to every due stream (which moves them to the tail) and re-arms for the new
// head. Cost: O(1) per write, one timer for the whole hub instead of one per subscriber.
class HeartbeatSchedule {
public:
    HeartbeatSchedule(event_base* base, std::chrono::milliseconds interval);
    ~HeartbeatSchedule();
    HeartbeatSchedule(const HeartbeatSchedule&) = delete;
    HeartbeatSchedule& operator=(const HeartbeatSchedule&) = delete;

    // Adds a stream that has just written (its response head).
    void add(SubscriberStream& stream);
    // Removes a stream; harmless if absent.
    void remove(SubscriberStream& stream);
    // Records a write: the stream becomes the most recently active.
    void touch(SubscriberStream& stream) { touch(stream, std::chrono::steady_clock::now()); }
    // The same, with the time already read (a batch of writes reads the clock once).
    void touch(SubscriberStream& stream, std::chrono::steady_clock::time_point now);
    // Changes the interval (0 disables heartbeats).
    void set_interval(std::chrono::milliseconds interval);

private:
    static void on_timer(int, short, void* arg);
    void fire();
    void arm();
    void unlink(SubscriberStream& stream);
    void append(SubscriberStream& stream);

    std::chrono::milliseconds interval_;
    SubscriberStream* head_ = nullptr;
    SubscriberStream* tail_ = nullptr;
    bool armed_ = false;
    FramePtr heartbeat_;
    struct event timer_;
};

} // namespace mercure
