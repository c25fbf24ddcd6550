// MemoryHistory: a bounded in-memory History (count and age limits).
#pragma once
#include <deque>
#include <unordered_map>

#include "store/history.hpp"

namespace mercure {

// A ring of the newest `max_entries` updates (0: keep none), each dropped once older than
// `max_age_ms` (0: no age limit). Entries are contiguous in sequence, so next_after() is an
// index computation and sequence_of() one hash lookup.
class MemoryHistory final : public History {
public:
    MemoryHistory(std::size_t max_entries, std::int64_t max_age_ms);

    Result<std::uint64_t> append(Update update, FramePtr frame, std::int64_t now_ms) override;
    std::optional<std::uint64_t> sequence_of(std::string_view id) const override;
    HistoryEntryPtr next_after(std::uint64_t after) const override;
    std::uint64_t horizon() const override { return first_sequence_ - 1; }
    std::optional<std::string> last_id() const override;
    void expire(std::int64_t now_ms) override;
    std::size_t size() const override { return entries_.size(); }

    void set_limits(std::size_t max_entries, std::int64_t max_age_ms) override;

private:
    void drop_oldest();

    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    std::size_t max_entries_;
    std::int64_t max_age_ms_;
    std::uint64_t first_sequence_ = 1;  // sequence of entries_.front()
    std::uint64_t next_sequence_ = 1;
    std::deque<HistoryEntryPtr> entries_;
    std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> by_id_;
};

} // namespace mercure
