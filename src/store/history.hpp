// History: the store of recent updates that reconnecting subscribers replay from.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/update.hpp"
#include "util/result.hpp"

namespace mercure {

// One stored update: its position in the hub's total order, the update and its serialized
// frame (kept so a replay writes the same shared bytes a live delivery would).
struct HistoryEntry {
    std::uint64_t sequence = 0;
    Update update;
    FramePtr frame;
    std::int64_t published_at_ms = 0;  // wall clock, for age-based retention
};
using HistoryEntryPtr = std::shared_ptr<const HistoryEntry>;

// Sequences start at 1 and grow by one per appended update, so "after 0" means "from the
// start". Every store keeps that contract; a durable store continues it across restarts.
//
// A subscriber replays by walking next_after() from a cursor while its socket takes data; new
// updates are appended before they are dispatched live, so a cursor that reaches the end has
// seen everything and the subscriber can switch to live delivery with no gap and no duplicate.
class History {
public:
    virtual ~History() = default;

    // Stores an update as the next sequence and returns that sequence.
    virtual Result<std::uint64_t> append(Update update, FramePtr frame, std::int64_t now_ms) = 0;

    // The sequence of the newest stored update with this id; nullopt when unknown (never
    // stored, or already expired).
    virtual std::optional<std::uint64_t> sequence_of(std::string_view id) const = 0;

    // The oldest stored entry with a sequence greater than `after`; null when there is none.
    virtual HistoryEntryPtr next_after(std::uint64_t after) const = 0;

    // The sequence of the oldest stored entry minus one: a cursor below it missed updates.
    virtual std::uint64_t horizon() const = 0;

    // The id of the newest stored update; nullopt when the history is empty.
    virtual std::optional<std::string> last_id() const = 0;

    // Drops entries older than the retention age (called periodically, cheap when nothing expires).
    virtual void expire(std::int64_t now_ms) = 0;

    // Changes the retention limits (reload); excess entries are dropped at once.
    virtual void set_limits(std::size_t max_entries, std::int64_t max_age_ms) = 0;

    // Number of stored entries.
    virtual std::size_t size() const = 0;

    // Makes everything appended so far durable (the hub calls it once per loop turn, before
    // acknowledging publishers); cheap when nothing was appended since the previous call.
    virtual Status flush() { return Ok{}; }

    // Whether the stored history survives a restart of the hub.
    virtual bool durable() const { return false; }

    // Changes the bound on stored bytes (durable stores; 0: none). Memory stores ignore it.
    virtual void set_max_bytes(std::size_t) {}

    // A failure expire() or set_limits() could not return (they have no error channel), once.
    virtual std::optional<Error> take_error() { return std::nullopt; }
};

} // namespace mercure
