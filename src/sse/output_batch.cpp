// OutputBatch: the live output of one loop turn, written once per subscriber, on every core.
#include "sse/output_batch.hpp"

#include <event2/event.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>

#include "sse/heartbeat_schedule.hpp"
#include "sse/subscriber_stream.hpp"

namespace mercure {

namespace {

// Below this many staged streams one thread writes them all: waking a helper costs more than
// it saves. Helpers take this many items at a time.
constexpr std::size_t parallel_threshold = 512;
constexpr std::size_t block_size = 128;

} // namespace

OutputBatch::OutputBatch(event_base* base, HeartbeatSchedule& heartbeats, unsigned threads) : heartbeats_(heartbeats)
{
    event_assign(&flush_event_, base, -1, 0, &OutputBatch::on_flush, this);
    set_threads(threads);
}

OutputBatch::~OutputBatch()
{
    stop_helpers();
    event_del(&flush_event_);
}

void OutputBatch::add(SubscriberStream& stream)
{
    stream.batched_ = true;
    items_.push_back(Item{&stream, {}});
    if (!flush_pending_) {
        // Activated now, it runs after the callbacks already due in this loop turn: every
        // update published in the turn is staged by then.
        flush_pending_ = true;
        event_active(&flush_event_, 0, 0);
    }
}

void OutputBatch::remove(SubscriberStream& stream)
{
    if (!stream.batched_)
        return;
    stream.batched_ = false;
    std::erase_if(items_, [&](const Item& item) { return item.stream == &stream; });
}

void OutputBatch::on_flush(int, short, void* arg)
{
    auto* self = static_cast<OutputBatch*>(arg);
    self->flush_pending_ = false;
    self->flush();
}

void OutputBatch::flush()
{
    if (items_.empty())
        return;
    write_items();
    // Finishing may close a connection (write error, slow client), which only marks it for the
    // hub's reaper: no stream is destroyed while this loop runs.
    auto now = std::chrono::steady_clock::now();
    for (Item& item : items_) {
        item.stream->batched_ = false;
        Connection& connection = item.stream->connection();
        connection.finish_staged_write(item.outcome);
        if (!connection.closed())
            heartbeats_.touch(*item.stream, now);
    }
    items_.clear();
}

void OutputBatch::write_items()
{
    cursor_.store(0, std::memory_order_relaxed);
    if (helpers_.empty() || items_.size() < parallel_threshold) {
        run_share();
        return;
    }
    {
        std::lock_guard lock(mutex_);
        ++generation_;
        busy_helpers_ = static_cast<unsigned>(helpers_.size());
    }
    wake_.notify_all();
    run_share();
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return busy_helpers_ == 0; });
}

void OutputBatch::run_share()
{
    const std::size_t count = items_.size();
    for (;;) {
        std::size_t begin = cursor_.fetch_add(block_size, std::memory_order_relaxed);
        if (begin >= count)
            return;
        std::size_t end = std::min(count, begin + block_size);
        for (std::size_t i = begin; i < end; ++i)
            items_[i].outcome = items_[i].stream->connection().write_staged();
    }
}

void OutputBatch::helper_main()
{
    // Signals belong to the loop's thread (libevent's signal events).
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_)
                return;
            seen = generation_;
        }
        run_share();
        std::lock_guard lock(mutex_);
        if (--busy_helpers_ == 0)
            done_.notify_one();
    }
}

void OutputBatch::set_threads(unsigned threads)
{
    threads = std::max(threads, 1u);
    if (threads == this->threads())
        return;
    stop_helpers();
    for (unsigned i = 1; i < threads; ++i)
        helpers_.emplace_back([this] { helper_main(); });
}

void OutputBatch::stop_helpers()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& helper : helpers_)
        helper.join();
    helpers_.clear();
    std::lock_guard lock(mutex_);
    stopping_ = false;
}

} // namespace mercure
