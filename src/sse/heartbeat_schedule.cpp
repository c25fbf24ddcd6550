// HeartbeatSchedule: one timer that sends ":" comments to streams idle for the interval.
#include "sse/heartbeat_schedule.hpp"

#include <event2/event.h>

#include "sse/subscriber_stream.hpp"

namespace mercure {

HeartbeatSchedule::HeartbeatSchedule(event_base* base, std::chrono::milliseconds interval)
    : interval_(interval), heartbeat_(make_frame(":\n"))
{
    event_assign(&timer_, base, -1, 0, &HeartbeatSchedule::on_timer, this);
}

HeartbeatSchedule::~HeartbeatSchedule() { event_del(&timer_); }

void HeartbeatSchedule::unlink(SubscriberStream& stream)
{
    (stream.previous_ ? stream.previous_->next_ : head_) = stream.next_;
    (stream.next_ ? stream.next_->previous_ : tail_) = stream.previous_;
    stream.previous_ = stream.next_ = nullptr;
}

void HeartbeatSchedule::append(SubscriberStream& stream)
{
    stream.previous_ = tail_;
    stream.next_ = nullptr;
    (tail_ ? tail_->next_ : head_) = &stream;
    tail_ = &stream;
}

void HeartbeatSchedule::add(SubscriberStream& stream)
{
    if (stream.scheduled_)
        return;
    stream.scheduled_ = true;
    stream.last_write_ = std::chrono::steady_clock::now();
    append(stream);
    if (!armed_)
        arm();
}

void HeartbeatSchedule::remove(SubscriberStream& stream)
{
    if (!stream.scheduled_)
        return;
    unlink(stream);
    stream.scheduled_ = false;
}

void HeartbeatSchedule::touch(SubscriberStream& stream, std::chrono::steady_clock::time_point now)
{
    if (!stream.scheduled_)
        return;
    stream.last_write_ = now;
    if (tail_ != &stream) {
        unlink(stream);
        append(stream);
    }
}

void HeartbeatSchedule::set_interval(std::chrono::milliseconds interval)
{
    interval_ = interval;
    event_del(&timer_);
    armed_ = false;
    arm();
}

void HeartbeatSchedule::arm()
{
    if (!head_ || interval_.count() <= 0)
        return;
    auto due = head_->last_write_ + interval_;
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(due - std::chrono::steady_clock::now());
    if (wait.count() < 0)
        wait = std::chrono::microseconds(0);
    timeval tv{static_cast<time_t>(wait.count() / 1000000), static_cast<suseconds_t>(wait.count() % 1000000)};
    event_add(&timer_, &tv);
    armed_ = true;
}

void HeartbeatSchedule::on_timer(int, short, void* arg)
{
    auto* self = static_cast<HeartbeatSchedule*>(arg);
    self->armed_ = false;
    try {
        self->fire();
    } catch (...) {
        // A heartbeat failure only affects that stream, which closes itself; keep the timer.
    }
    self->arm();
}

void HeartbeatSchedule::fire()
{
    auto now = std::chrono::steady_clock::now();
    // Each delivery moves the stream to the tail, so stop at the first one written after `now`.
    SubscriberStream* stop = tail_;
    while (head_ && head_->last_write_ + interval_ <= now) {
        SubscriberStream* stream = head_;
        bool last = stream == stop;
        stream->write(heartbeat_);
        if (head_ == stream) {
            // Not moved by deliver() (its connection is closing): move it so the loop ends.
            stream->last_write_ = now;
            unlink(*stream);
            append(*stream);
        }
        if (last)
            break;
    }
}

} // namespace mercure
