// SubscriberStream: a registered subscriber whose frames go out on an HTTP connection.
#pragma once
#include <chrono>
#include <cstdint>

#include "core/subscriber.hpp"

namespace mercure {

class Connection;
class HeartbeatSchedule;
class OutputBatch;

// Joins the registry's view of a subscriber to its connection. Every frame written counts as
// activity for the heartbeat schedule, which keeps streams ordered by their last write. Live
// updates are staged on the connection and written by the loop turn's OutputBatch.
class SubscriberStream final : public Subscriber {
public:
    SubscriberStream(Subscription subscription, Connection& connection, HeartbeatSchedule& heartbeats,
                     OutputBatch& batch);
    ~SubscriberStream() override;

    // Delivers a live update at the end of the loop turn; ignored while replaying, since the
    // replay reads it from history.
    void deliver(const FramePtr& frame) override;

    // Writes the frame (or queues it) whatever the replay state: heartbeats, replayed updates.
    // A failing connection closes itself and is reaped later.
    void write(const FramePtr& frame);

    // Replay state: while replaying, the stream reads history from `cursor` (the sequence of
    // the last entry it has seen) instead of receiving live updates.
    bool replaying() const { return replaying_; }
    std::uint64_t replay_cursor() const { return replay_cursor_; }
    void start_replay(std::uint64_t after)
    {
        replaying_ = true;
        replay_cursor_ = after;
    }
    void advance_replay(std::uint64_t sequence) { replay_cursor_ = sequence; }
    void finish_replay() { replaying_ = false; }

    Connection& connection() { return connection_; }

private:
    friend class HeartbeatSchedule;
    friend class OutputBatch;
    Connection& connection_;
    HeartbeatSchedule& heartbeats_;
    OutputBatch& batch_;
    // Intrusive links of the heartbeat schedule: no allocation, O(1) moves.
    SubscriberStream* previous_ = nullptr;
    SubscriberStream* next_ = nullptr;
    bool scheduled_ = false;
    bool replaying_ = false;
    bool batched_ = false;  // in the OutputBatch, output staged
    std::uint64_t replay_cursor_ = 0;
    std::chrono::steady_clock::time_point last_write_{};
};

} // namespace mercure
