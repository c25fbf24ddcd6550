// ClusterTransport: the Redis transport that lets several hubs share updates, history and
// presence (issue 9). Narrow on purpose: the hub sees updates in, updates out, presence.
#pragma once
#include <event2/event_struct.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/cluster_settings.hpp"
#include "core/update.hpp"
#include "util/result.hpp"

struct event_base;

namespace mercure {

class Logger;
class RedisConnection;

// Every publish on any node is appended to one Redis stream (XADD MAXLEN ~); every node reads
// the stream on a connection of its own (XREAD BLOCK from the last entry it saw) and hands each
// entry to the hub, which stores it in its local history and delivers it. So every node sees
// every update once, in the stream's order, and the publishing node delivers only what it reads
// back. A lost connection is retried with back-off and reading resumes after the last entry
// seen, so no entry still in the stream is skipped.
//
// Presence: each node keeps its subscriptions in the hash "<stream>:node:<node id>" and its
// liveness in the sorted set "<stream>:nodes" (score: expiry time in ms), both refreshed every
// third of presence_ttl, so a dead node's subscriptions disappear within presence_ttl. Each
// subscription's departure events are written ahead into "<stream>:node:<id>:farewell"; at
// every refresh each node runs the reaper (a Lua script, atomic in Redis), which removes the
// nodes whose liveness expired and appends their farewells to the stream, so subscribers of
// subscription events on every node see a dead node's subscribers leave, exactly once.
class ClusterTransport {
public:
    struct Handlers {
        // One stream entry, in stream order. May publish or close connections (it delivers).
        std::function<void(Update update, const std::string& entry_id)> on_entry;
        // The transport became usable (both connections ready, stream position known) or not.
        std::function<void(bool up, const std::string& reason)> on_state;
        // This node had been reaped while alive (departures of its subscriptions were
        // published, its hashes deleted): the hub adds every subscription again (presence_add)
        // and announces it.
        std::function<void()> on_rejoined;
        // This node's reaper removed dead nodes and published their subscribers' departures.
        std::function<void(std::uint64_t nodes, std::uint64_t departures)> on_reaped;
    };

    ClusterTransport(event_base* base, ClusterSettings settings, std::size_t history_size, std::string node_id,
                     Logger& logger, Handlers handlers);
    ~ClusterTransport();
    ClusterTransport(const ClusterTransport&) = delete;
    ClusterTransport& operator=(const ClusterTransport&) = delete;

    // Blocking, before serving: connects with the timeout and loads the stream's newest
    // history_size entries (oldest first, through on_entry), so Last-Event-ID works for updates
    // published before this node started. Fails with a one-line reason when Redis is unreachable.
    Status bootstrap();
    // Opens the two asynchronous connections; reading starts after the bootstrapped position
    // (or bootstraps asynchronously first when bootstrap() failed).
    void start();
    bool up() const { return up_; }
    const std::string& down_reason() const { return down_reason_; }
    const ClusterSettings& settings() const { return settings_; }
    const std::string& node_id() const { return node_id_; }

    // Appends an update to the stream; `done` gets the entry id, or why it was not appended
    // (called later, never from inside publish()). Returns false (and never calls `done`)
    // when the transport is down.
    bool publish(const Update& update, std::function<void(Result<std::string>)> done);

    // Presence of this node's subscriptions: an encoded PresenceRecord, and the departure
    // events to publish should this node die (encode_farewell).
    void presence_add(const std::string& subscription_id, std::string record, std::string farewell);
    void presence_remove(const std::string& subscription_id);
    // Every live node's presence records; `done` is called later. False when down.
    bool list_presence(std::function<void(Result<std::vector<std::string>>)> done);
    // Blocking, at a clean stop: removes this node's presence at once and appends the departure
    // events of its subscriptions to the stream (bounded by the timeout). True when done; false
    // (logged) when Redis could not be reached, and then another node reaps it later. Presence
    // changes after it are ignored.
    bool withdraw();

private:
    struct Lister;
    void reader_ready();
    void commands_ready();
    void connection_down(const std::string& name, const std::string& reason, bool was_ready);
    void read_next();
    void feed(const void* entries_reply, bool newest_first);
    void sync_presence();
    void rewrite_presence();
    void reaped(const void* reply);
    // The reaper's EVAL: for expired nodes, or for `node` only.
    std::vector<std::string> reaper_command(const std::string* node) const;
    void refresh_presence();
    void update_state(const std::string& reason);
    static void on_refresh(int, short, void* arg);
    std::int64_t expiry_ms() const;

    ClusterSettings settings_;
    std::size_t history_size_;
    std::string node_id_;
    Logger& logger_;
    Handlers handlers_;
    std::string nodes_key_;
    std::string node_key_;
    std::string farewell_key_;
    std::string max_len_text_;
    std::unique_ptr<RedisConnection> commands_;
    std::unique_ptr<RedisConnection> reader_;
    std::string last_id_ = "0-0";   // the newest entry seen: reading resumes after it
    bool bootstrapped_ = false;      // last_id_ is the stream's position, not a guess
    bool reading_ = false;           // an XREAD is outstanding
    bool up_ = false;
    bool destroying_ = false;
    bool joined_ = false;            // this node's ZADD has been answered once
    bool withdrawn_ = false;         // stopping: presence is no longer kept
    unsigned reaper_failures_ = 0;   // reaper scripts refused in a row (logged sparingly)
    std::string down_reason_ = "connecting to Redis";
    struct Presence {
        std::string record;
        std::string farewell;
    };
    std::unordered_map<std::string, Presence> presence_;  // subscription id -> what Redis holds
    std::unordered_map<std::string, unsigned> failures_;     // connection name -> failed attempts in a row
    struct event refresh_timer_;
};

} // namespace mercure
