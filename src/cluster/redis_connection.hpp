// RedisConnection: one asynchronous Redis connection on the hub's own event loop (hiredis with
// its libevent adapter): handshake, timeouts, and reconnection with exponential back-off.
#pragma once
#include <event2/event_struct.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "cluster/cluster_settings.hpp"

struct event_base;
struct redisAsyncContext;
struct redisReply;

namespace mercure {

// States: Down -> Connecting -> Handshaking (AUTH, SELECT, PING) -> Ready. Any failure (refused,
// closed, an error answer to the handshake, no answer within the timeout) goes back to Down and
// schedules the next attempt after a back-off doubling from 100 ms to 5 s (reset once Ready).
//
// Ownership: the hiredis context is owned here and freed by drop() or the destructor, or by
// hiredis itself after its disconnect callback (then only forgotten here). Every command carries
// a heap record freed by its reply callback; the destructor suppresses the user handlers, so
// nothing calls back into a destroyed owner.
class RedisConnection {
public:
    // One command's reply: null when the connection was lost before it arrived. Valid only
    // during the call. A handler may send further commands (they fail while not ready).
    using ReplyHandler = std::function<void(const redisReply* reply)>;
    struct Handlers {
        std::function<void()> on_ready;  // connected and authenticated
        // A connection (was_ready) or an attempt failed; the next attempt is scheduled.
        std::function<void(const std::string& reason, bool was_ready)> on_down;
    };

    RedisConnection(event_base* base, ClusterSettings settings, std::string name, Handlers handlers);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // Makes the first attempt now.
    void start();
    bool ready() const { return state_ == State::Ready; }
    // Sends a command. Returns false, without ever calling `done`, when not ready. The answer
    // is awaited for the timeout plus `extra_wait` (XREAD BLOCK), else the connection drops.
    bool command(const std::vector<std::string>& argv, ReplyHandler done,
                 std::chrono::milliseconds extra_wait = std::chrono::milliseconds(0));
    // Closes now (pending handlers see a null reply) and reconnects after the back-off.
    void drop(const std::string& reason);
    // Attempts made after the first one.
    std::uint64_t reconnects() const { return reconnects_; }
    const std::string& name() const { return name_; }

private:
    enum class State { Down, Connecting, Handshaking, Ready };
    struct Pending;
    void connect_now();
    void handshake();
    bool send(const std::vector<std::string>& argv, ReplyHandler done, std::chrono::milliseconds extra_wait);
    void lost(const std::string& reason, bool was_ready);
    static void on_connect(const redisAsyncContext* context, int status);
    static void on_disconnect(const redisAsyncContext* context, int status);
    static void on_reply(redisAsyncContext* context, void* reply, void* privdata);
    static void on_retry(int, short, void* arg);
    static void on_check(int, short, void* arg);

    event_base* base_;
    ClusterSettings settings_;
    std::string name_;
    Handlers handlers_;
    redisAsyncContext* context_ = nullptr;
    State state_ = State::Down;
    bool destroying_ = false;
    bool context_ready_ = false;  // the current (or just lost) context reached Ready
    bool started_ = false;
    std::chrono::milliseconds backoff_{100};
    std::uint64_t reconnects_ = 0;
    std::chrono::steady_clock::time_point connect_deadline_{};
    std::deque<std::chrono::steady_clock::time_point> deadlines_;  // one per awaited reply, in order
    struct event retry_timer_;
    struct event check_timer_;
};

} // namespace mercure
