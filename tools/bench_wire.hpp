// The pipe protocol between mercure-bench and its subscriber worker processes.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench_histogram.hpp"

namespace bench {

// Appends a trivially copyable value in host byte order (both ends run the same binary).
template <typename T>
void wire_put(std::string& out, const T& value)
{
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads a trivially copyable value from the front of `in`; false when too short.
template <typename T>
bool wire_take(std::string_view& in, T& value)
{
    if (in.size() < sizeof value)
        return false;
    std::memcpy(&value, in.data(), sizeof value);
    in.remove_prefix(sizeof value);
    return true;
}

// Appends a length-prefixed string.
void wire_put_text(std::string& out, std::string_view text);
// Reads a length-prefixed string; false when truncated.
bool wire_take_text(std::string_view& in, std::string& text);

// Parent -> worker commands and worker -> parent replies. Every message is a header
// {type, payload size} followed by the payload.
enum class MessageType : std::uint32_t {
    connect = 1,  // ConnectCommand: open subscribers
    connected,    // ConnectResult: all of them answered or the deadline passed
    arm,          // ArmCommand: reset the counters and count events of this tag
    armed,        // (empty): the worker counts the new tag from now on
    report,       // (empty): ask for WorkerStats
    stats,        // WorkerStats
    close,        // (empty): close every subscriber
    closed,       // (empty)
    quit,         // (empty): leave
    round_done,   // RoundDone: every open subscriber has received this round's event
};

struct Message {
    MessageType type{};
    std::string payload;
};

struct ConnectCommand {
    std::uint32_t count = 0;      // subscribers to add
    std::uint32_t window = 0;     // connections allowed in flight at once
    std::uint32_t timeout_ms = 0; // deadline for the whole batch
    std::uint32_t first_index = 0; // global index of the first one (picks source addresses)
};

struct ConnectResult {
    std::uint32_t established = 0;
    std::uint32_t failed = 0;
    std::int64_t elapsed_ns = 0;
    std::string first_error;

    std::string serialize() const;
    bool deserialize(std::string_view in);
};

struct ArmCommand {
    std::uint32_t tag = 0;    // only events stamped with this tag are counted
    std::uint32_t rounds = 0; // > 0: one histogram per sequence number below it
};

struct RoundDone {
    std::uint32_t tag = 0;
    std::uint32_t round = 0;
};

// What a worker saw since the last `arm`; merged over workers by the parent.
struct WorkerStats {
    std::uint64_t received = 0;     // events of the armed tag
    std::uint64_t ignored = 0;      // events of another tag (e.g. nchan's replay of the newest)
    std::uint64_t malformed = 0;    // events whose data is not a benchmark stamp
    std::uint64_t disconnects = 0;  // streams that ended or failed while open
    std::uint32_t open = 0;         // streams open now
    std::int64_t last_receive_ns = 0; // CLOCK_REALTIME of the last counted event
    LatencyHistogram all;
    std::vector<LatencyHistogram> rounds;
    std::string first_error;

    void merge(const WorkerStats& other);
    std::string serialize() const;
    bool deserialize(std::string_view in);
};

// Writes one whole message to a blocking fd; false (errno set) on failure.
bool send_message(int fd, MessageType type, std::string_view payload = {});

// Accumulates bytes read from a pipe and splits them into messages.
class MessageReader {
public:
    // Reads what is available from `fd` (one read); false on EOF or a read error.
    bool read_from(int fd);
    // The next complete message, if any.
    std::optional<Message> next();

private:
    std::string buffer_;
};

} // namespace bench
