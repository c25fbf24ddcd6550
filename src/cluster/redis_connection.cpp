// RedisConnection: one asynchronous Redis connection on the hub's own event loop.
#include "cluster/redis_connection.hpp"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

// The adapter is header-only C: it defines static functions, so it lives in this one file.
#include <hiredis/adapters/libevent.h>

namespace mercure {

namespace {

constexpr std::chrono::milliseconds backoff_min{100};
constexpr std::chrono::milliseconds backoff_max{5000};

timeval to_timeval(std::chrono::milliseconds ms)
{
    return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

} // namespace

// The record a command carries through hiredis: who sent it and what to call.
struct RedisConnection::Pending {
    RedisConnection* owner;
    ReplyHandler done;
};

RedisConnection::RedisConnection(event_base* base, ClusterSettings settings, std::string name, Handlers handlers)
    : base_(base), settings_(std::move(settings)), name_(std::move(name)), handlers_(std::move(handlers))
{
    event_assign(&retry_timer_, base_, -1, 0, &RedisConnection::on_retry, this);
    event_assign(&check_timer_, base_, -1, EV_PERSIST, &RedisConnection::on_check, this);
}

RedisConnection::~RedisConnection()
{
    destroying_ = true;
    if (redisAsyncContext* context = std::exchange(context_, nullptr))
        redisAsyncFree(context);
    event_del(&retry_timer_);
    event_del(&check_timer_);
}

void RedisConnection::start()
{
    if (started_)
        return;
    started_ = true;
    timeval period = to_timeval(std::chrono::milliseconds(100));
    event_add(&check_timer_, &period);
    connect_now();
}

void RedisConnection::connect_now()
{
    state_ = State::Connecting;
    context_ready_ = false;
    connect_deadline_ = std::chrono::steady_clock::now() + settings_.timeout;
    redisAsyncContext* context = redisAsyncConnect(settings_.host.c_str(), settings_.port);
    if (!context || context->err) {
        std::string reason = context ? context->errstr : "out of memory";
        if (context)
            redisAsyncFree(context);
        lost("cannot connect: " + reason, false);
        return;
    }
    context->data = this;
    if (redisLibeventAttach(context, base_) != REDIS_OK) {
        redisAsyncFree(context);
        lost("cannot attach to the event loop", false);
        return;
    }
    redisAsyncSetConnectCallback(context, &RedisConnection::on_connect);
    redisAsyncSetDisconnectCallback(context, &RedisConnection::on_disconnect);
    context_ = context;
}

void RedisConnection::on_connect(const redisAsyncContext* context, int status)
{
    auto* self = static_cast<RedisConnection*>(context->data);
    if (!self || self->destroying_ || context != self->context_)
        return;
    try {
        if (status != REDIS_OK) {
            // hiredis frees the context after this callback.
            self->context_ = nullptr;
            self->lost(std::string("cannot connect: ") + (context->errstr[0] ? context->errstr : "refused"), false);
            return;
        }
        self->handshake();
    } catch (const std::exception&) {
        // No exception crosses into hiredis; a stuck handshake is dropped by the check timer.
    }
}

void RedisConnection::on_disconnect(const redisAsyncContext* context, int)
{
    auto* self = static_cast<RedisConnection*>(context->data);
    if (!self || self->destroying_ || context != self->context_)
        return;
    // hiredis frees the context after this callback.
    self->context_ = nullptr;
    bool was_ready = self->context_ready_;
    try {
        self->lost(context->err ? std::string("connection lost: ") + context->errstr : "connection closed by Redis",
                   was_ready);
    } catch (const std::exception&) {
        // No exception crosses into hiredis.
    }
}

void RedisConnection::handshake()
{
    state_ = State::Handshaking;
    auto check = [this](const char* what) {
        return [this, what](const redisReply* reply) {
            if (reply && reply->type == REDIS_REPLY_ERROR)
                drop(std::string(what) + " refused: " + std::string(reply->str, reply->len));
        };
    };
    if (!settings_.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!settings_.user.empty())
            auth.push_back(settings_.user);
        auth.push_back(settings_.password);
        send(auth, check("AUTH"), {});
    }
    if (settings_.db != 0)
        send({"SELECT", std::to_string(settings_.db)}, check("SELECT"), {});
    send({"PING"}, [this](const redisReply* reply) {
        if (!reply || state_ != State::Handshaking)
            return;
        if (reply->type == REDIS_REPLY_ERROR) {
            drop("PING refused: " + std::string(reply->str, reply->len));
            return;
        }
        state_ = State::Ready;
        context_ready_ = true;
        backoff_ = backoff_min;
        if (handlers_.on_ready)
            handlers_.on_ready();
    }, {});
}

bool RedisConnection::command(const std::vector<std::string>& argv, ReplyHandler done,
                              std::chrono::milliseconds extra_wait)
{
    if (state_ != State::Ready)
        return false;
    return send(argv, std::move(done), extra_wait);
}

bool RedisConnection::send(const std::vector<std::string>& argv, ReplyHandler done,
                           std::chrono::milliseconds extra_wait)
{
    if (!context_)
        return false;
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const std::string& arg : argv) {
        pointers.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    auto pending = std::make_unique<Pending>(Pending{this, std::move(done)});
    if (redisAsyncCommandArgv(context_, &RedisConnection::on_reply, pending.get(), static_cast<int>(argv.size()),
                              pointers.data(), lengths.data()) != REDIS_OK)
        return false;
    pending.release();  // on_reply owns it now
    deadlines_.push_back(std::chrono::steady_clock::now() + settings_.timeout + extra_wait);
    return true;
}

void RedisConnection::on_reply(redisAsyncContext* context, void* reply, void* privdata)
{
    std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
    RedisConnection* self = pending->owner;
    if (self->destroying_)
        return;
    if (context == self->context_) {
        if (!self->deadlines_.empty())
            self->deadlines_.pop_front();
        if (!reply)
            self->state_ = State::Down;  // the context is going away: send nothing more on it
    }
    try {
        if (pending->done)
            pending->done(static_cast<const redisReply*>(reply));
    } catch (const std::exception&) {
        // No exception may cross into hiredis's C stack; the handler's own state is unchanged.
    }
}

void RedisConnection::drop(const std::string& reason)
{
    bool was_ready = context_ready_;
    state_ = State::Down;
    deadlines_.clear();
    if (redisAsyncContext* context = std::exchange(context_, nullptr))
        redisAsyncFree(context);  // pending handlers run now with a null reply
    lost(reason, was_ready);
}

void RedisConnection::lost(const std::string& reason, bool was_ready)
{
    if (destroying_)
        return;
    state_ = State::Down;
    deadlines_.clear();
    if (!event_pending(&retry_timer_, EV_TIMEOUT, nullptr)) {
        timeval delay = to_timeval(backoff_);
        event_add(&retry_timer_, &delay);
        backoff_ = std::min(backoff_ * 2, backoff_max);
    }
    if (handlers_.on_down)
        handlers_.on_down(reason, was_ready);
}

void RedisConnection::on_retry(int, short, void* arg)
{
    auto* self = static_cast<RedisConnection*>(arg);
    if (self->context_)
        return;
    ++self->reconnects_;
    try {
        self->connect_now();
    } catch (const std::exception&) {
        // No exception crosses into libevent; the check timer retries a stuck attempt.
    }
}

void RedisConnection::on_check(int, short, void* arg)
{
    auto* self = static_cast<RedisConnection*>(arg);
    auto now = std::chrono::steady_clock::now();
    try {
        if (self->context_ && self->state_ == State::Connecting && now > self->connect_deadline_)
            self->drop("cannot connect: no answer within " + std::to_string(self->settings_.timeout.count()) + " ms");
        else if (self->context_ && !self->deadlines_.empty() && now > self->deadlines_.front())
            self->drop("no answer within " + std::to_string(self->settings_.timeout.count()) + " ms");
    } catch (const std::exception&) {
        // No exception crosses into libevent.
    }
}

} // namespace mercure
