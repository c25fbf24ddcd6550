// SubscriberStream: a registered subscriber whose frames go out on an HTTP connection.
#pragma once
#include <chrono>

#include "core/subscriber.hpp"

namespace mercure {

class Connection;
class HeartbeatSchedule;

// Joins the registry's view of a subscriber to its connection. Every frame written counts as
// activity for the heartbeat schedule, which keeps streams ordered by their last write.
class SubscriberStream final : public Subscriber {
public:
    SubscriberStream(Subscription subscription, Connection& connection, HeartbeatSchedule& heartbeats);
    ~SubscriberStream() override;

    // Writes the frame (or queues it); a failing connection closes itself, reaped later.
    void deliver(const FramePtr& frame) override;

    Connection& connection() { return connection_; }

private:
    friend class HeartbeatSchedule;
    Connection& connection_;
    HeartbeatSchedule& heartbeats_;
    // Intrusive links of the heartbeat schedule: no allocation, O(1) moves.
    SubscriberStream* previous_ = nullptr;
    SubscriberStream* next_ = nullptr;
    bool scheduled_ = false;
    std::chrono::steady_clock::time_point last_write_{};
};

} // namespace mercure
