// MemoryHistory: a bounded in-memory History (count and age limits).
#include "store/memory_history.hpp"

namespace mercure {

MemoryHistory::MemoryHistory(std::size_t max_entries, std::int64_t max_age_ms)
    : max_entries_(max_entries), max_age_ms_(max_age_ms)
{
}

void MemoryHistory::drop_oldest()
{
    const HistoryEntryPtr& oldest = entries_.front();
    if (auto it = by_id_.find(oldest->update.id); it != by_id_.end() && it->second == oldest->sequence)
        by_id_.erase(it);
    entries_.pop_front();
    ++first_sequence_;
}

Result<std::uint64_t> MemoryHistory::append(Update update, FramePtr frame, std::int64_t now_ms)
{
    std::uint64_t sequence = next_sequence_++;
    if (max_entries_ == 0) {
        first_sequence_ = next_sequence_;
        return sequence;
    }
    auto entry = std::make_shared<HistoryEntry>();
    entry->sequence = sequence;
    entry->update = std::move(update);
    entry->frame = std::move(frame);
    entry->published_at_ms = now_ms;
    by_id_[entry->update.id] = sequence;
    entries_.push_back(std::move(entry));
    while (entries_.size() > max_entries_)
        drop_oldest();
    return sequence;
}

std::optional<std::uint64_t> MemoryHistory::sequence_of(std::string_view id) const
{
    if (auto it = by_id_.find(id); it != by_id_.end())
        return it->second;
    return std::nullopt;
}

HistoryEntryPtr MemoryHistory::next_after(std::uint64_t after) const
{
    std::uint64_t wanted = after < first_sequence_ ? first_sequence_ : after + 1;
    if (wanted >= next_sequence_ || entries_.empty())
        return nullptr;
    return entries_[wanted - first_sequence_];
}

std::optional<std::string> MemoryHistory::last_id() const
{
    if (entries_.empty())
        return std::nullopt;
    return entries_.back()->update.id;
}

void MemoryHistory::expire(std::int64_t now_ms)
{
    if (max_age_ms_ <= 0)
        return;
    while (!entries_.empty() && now_ms - entries_.front()->published_at_ms > max_age_ms_)
        drop_oldest();
}

void MemoryHistory::set_limits(std::size_t max_entries, std::int64_t max_age_ms)
{
    max_entries_ = max_entries;
    max_age_ms_ = max_age_ms;
    while (entries_.size() > max_entries_)
        drop_oldest();
    if (entries_.empty())
        first_sequence_ = next_sequence_;
}

} // namespace mercure
