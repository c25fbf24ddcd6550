// SubscriberStream: a registered subscriber whose frames go out on an HTTP connection.
#include "sse/subscriber_stream.hpp"

#include "http/connection.hpp"
#include "sse/heartbeat_schedule.hpp"
#include "sse/output_batch.hpp"

namespace mercure {

SubscriberStream::SubscriberStream(Subscription subscription, Connection& connection, HeartbeatSchedule& heartbeats,
                                   OutputBatch& batch)
    : Subscriber(std::move(subscription)), connection_(connection), heartbeats_(heartbeats), batch_(batch)
{
}

SubscriberStream::~SubscriberStream()
{
    heartbeats_.remove(*this);
    batch_.remove(*this);
}

void SubscriberStream::deliver(const FramePtr& frame)
{
    if (!replaying_ && connection_.stage_frame(frame))
        batch_.add(*this);
}

void SubscriberStream::write(const FramePtr& frame)
{
    if (connection_.closed())
        return;
    connection_.send_frame(frame);
    if (!connection_.closed())
        heartbeats_.touch(*this);
}

} // namespace mercure
