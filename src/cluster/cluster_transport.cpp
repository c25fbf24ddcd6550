// ClusterTransport: the Redis transport that lets several hubs share updates, history and presence.
#include "cluster/cluster_transport.hpp"

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "cluster/redis_connection.hpp"
#include "cluster/stream_entry.hpp"
#include "log.hpp"

namespace mercure {

namespace {

// Entries asked for per XREAD: bounds one loop turn's work while keeping batches large.
constexpr int read_batch = 1000;
// Fields per HSET when the whole presence hash is rewritten after a reconnection.
constexpr std::size_t presence_batch = 500;
// Dead nodes one reaper run handles (each costs the script one XADD per departure).
constexpr int reap_batch = 16;

// The reaper, run atomically by Redis: every node whose liveness score has passed is removed
// from the node set and its farewell events (encode_farewell: "f1" then "<length>:<bytes>"
// entries whose bytes are "<length>:<bytes>" fields) are appended to the stream, then its
// hashes are deleted. ZREM inside the script means exactly one node reaps a dead one, and a
// node that was reaped while alive sees its ZADD answer 1 only after its departures are in the
// stream, so the arrivals it then publishes again follow them. A node that stops cleanly
// runs it for itself (ARGV[5]): its subscribers' departures are published in the same way.
// KEYS: node set, stream. ARGV: now (ms), node key prefix, stream MAXLEN, batch[, node].
constexpr const char* reaper_script = R"lua(
local function split(s, from)
  local out, pos = {}, from
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    if not colon then break end
    local n = tonumber(string.sub(s, pos, colon - 1))
    if not n then break end
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return out
end
local dead = {ARGV[5]}
if not ARGV[5] then
  dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
end
local reaped, appended = 0, 0
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  reaped = reaped + 1
  local presence = ARGV[2] .. node
  local farewell = presence .. ':farewell'
  for _, value in ipairs(redis.call('HVALS', farewell)) do
    if string.sub(value, 1, 2) == 'f1' then
      for _, entry in ipairs(split(value, 3)) do
        local fields = split(entry, 1)
        if #fields > 0 and #fields % 2 == 0 then
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
          appended = appended + 1
        end
      end
    end
  end
  redis.call('DEL', presence, farewell)
end
return {reaped, appended}
)lua";

std::string reply_text(const redisReply* reply)
{
    if (!reply)
        return "connection lost before the answer";
    if (reply->type == REDIS_REPLY_ERROR || reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING)
        return std::string(reply->str, reply->len);
    return "unexpected answer";
}

std::int64_t wall_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct ContextFree {
    void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyFree {
    void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using SyncContext = std::unique_ptr<redisContext, ContextFree>;
using SyncReply = std::unique_ptr<redisReply, ReplyFree>;

// A blocking command on a synchronous connection; null reply means the connection failed.
SyncReply sync_command(redisContext* context, const std::vector<std::string>& argv)
{
    std::vector<const char*> pointers;
    std::vector<std::size_t> lengths;
    for (const std::string& arg : argv) {
        pointers.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return SyncReply(static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), pointers.data(), lengths.data())));
}

// A blocking, authenticated connection bounded by the settings' timeout (start and stop only).
Result<SyncContext> sync_connect(const ClusterSettings& settings)
{
    timeval timeout{static_cast<time_t>(settings.timeout.count() / 1000),
                    static_cast<suseconds_t>((settings.timeout.count() % 1000) * 1000)};
    SyncContext context(redisConnectWithTimeout(settings.host.c_str(), settings.port, timeout));
    std::string where = settings.host + ":" + std::to_string(settings.port);
    if (!context)
        return Error{"cannot reach Redis at " + where + ": out of memory"};
    if (context->err)
        return Error{"cannot reach Redis at " + where + ": " + context->errstr};
    redisSetTimeout(context.get(), timeout);
    std::vector<std::vector<std::string>> handshake;
    if (!settings.password.empty()) {
        handshake.push_back({"AUTH"});
        if (!settings.user.empty())
            handshake.back().push_back(settings.user);
        handshake.back().push_back(settings.password);
    }
    if (settings.db != 0)
        handshake.push_back({"SELECT", std::to_string(settings.db)});
    for (const auto& command : handshake) {
        SyncReply reply = sync_command(context.get(), command);
        if (!reply)
            return Error{"Redis at " + where + " failed: " + std::string(context->errstr)};
        if (reply->type == REDIS_REPLY_ERROR)
            return Error{"Redis at " + where + " refused " + command[0] + ": " + reply_text(reply.get())};
    }
    return context;
}

} // namespace

ClusterTransport::ClusterTransport(event_base* base, ClusterSettings settings, std::size_t history_size,
                                   std::string node_id, Logger& logger, Handlers handlers)
    : settings_(std::move(settings)),
      history_size_(history_size),
      node_id_(std::move(node_id)),
      logger_(logger),
      handlers_(std::move(handlers)),
      nodes_key_(settings_.stream + ":nodes"),
      node_key_(settings_.stream + ":node:" + node_id_),
      farewell_key_(node_key_ + ":farewell"),
      max_len_text_(std::to_string(settings_.stream_max_len(history_size)))
{
    commands_ = std::make_unique<RedisConnection>(
        base, settings_, "commands",
        RedisConnection::Handlers{[this] { commands_ready(); },
                                  [this](const std::string& reason, bool was_ready) {
                                      connection_down("commands", reason, was_ready);
                                  }});
    reader_ = std::make_unique<RedisConnection>(
        base, settings_, "reader",
        RedisConnection::Handlers{[this] { reader_ready(); },
                                  [this](const std::string& reason, bool was_ready) {
                                      connection_down("reader", reason, was_ready);
                                  }});
    event_assign(&refresh_timer_, base, -1, EV_PERSIST, &ClusterTransport::on_refresh, this);
}

ClusterTransport::~ClusterTransport()
{
    destroying_ = true;
    event_del(&refresh_timer_);
    reader_.reset();
    commands_.reset();
}

std::int64_t ClusterTransport::expiry_ms() const
{
    return wall_ms() + settings_.presence_ttl.count();
}

Status ClusterTransport::bootstrap()
{
    auto context = sync_connect(settings_);
    if (!context)
        return context.error();
    std::size_t count = std::max<std::size_t>(history_size_, 1);
    SyncReply reply = sync_command(context->get(), {"XREVRANGE", settings_.stream, "+", "-", "COUNT",
                                                    std::to_string(count)});
    if (!reply)
        return Error{"Redis failed: " + std::string((*context)->errstr)};
    if (reply->type == REDIS_REPLY_ERROR)
        return Error{"Redis refused XREVRANGE " + settings_.stream + ": " + reply_text(reply.get())};
    feed(reply.get(), true);
    bootstrapped_ = true;
    return Ok{};
}

void ClusterTransport::start()
{
    commands_->start();
    reader_->start();
    auto period = std::chrono::milliseconds(std::max<std::int64_t>(settings_.presence_ttl.count() / 3, 1000));
    timeval tv{static_cast<time_t>(period.count() / 1000), static_cast<suseconds_t>((period.count() % 1000) * 1000)};
    event_add(&refresh_timer_, &tv);
}

void ClusterTransport::connection_down(const std::string& name, const std::string& reason, bool was_ready)
{
    if (destroying_)
        return;
    if (name == "reader")
        reading_ = false;
    unsigned& failures = failures_[name];
    std::string where = settings_.host + ":" + std::to_string(settings_.port);
    if (was_ready) {
        failures = 0;
        logger_.log(LogLevel::Error, "Cluster transport: lost the " + name + " connection to Redis at " + where +
                                         "; reconnecting",
                    {{"REASON", reason}});
    } else if (++failures == 1 || failures % 10 == 0) {
        logger_.log(LogLevel::Warning,
                    "Cluster transport: cannot open the " + name + " connection to Redis at " + where +
                        " (attempt " + std::to_string(failures) + "); retrying",
                    {{"REASON", reason}});
    }
    update_state(reason);
}

void ClusterTransport::update_state(const std::string& reason)
{
    bool up = commands_->ready() && reader_->ready() && bootstrapped_;
    if (!up && !reason.empty())
        down_reason_ = reason;
    if (up == up_)
        return;
    up_ = up;
    if (handlers_.on_state)
        handlers_.on_state(up, up ? std::string() : down_reason_);
}

void ClusterTransport::commands_ready()
{
    failures_["commands"] = 0;
    sync_presence();
    update_state({});
}

void ClusterTransport::reader_ready()
{
    failures_["reader"] = 0;
    if (bootstrapped_) {
        update_state({});
        read_next();
        return;
    }
    // Redis was unreachable at start: learn the stream's tail now, then read after it.
    std::size_t count = std::max<std::size_t>(history_size_, 1);
    reader_->command({"XREVRANGE", settings_.stream, "+", "-", "COUNT", std::to_string(count)},
                     [this](const redisReply* reply) {
                         if (!reply)
                             return;
                         if (reply->type == REDIS_REPLY_ERROR) {
                             reader_->drop("XREVRANGE refused: " + reply_text(reply));
                             return;
                         }
                         feed(reply, true);
                         bootstrapped_ = true;
                         update_state({});
                         read_next();
                     });
}

void ClusterTransport::read_next()
{
    if (reading_ || destroying_)
        return;
    std::vector<std::string> argv{"XREAD", "COUNT", std::to_string(read_batch), "BLOCK",
                                  std::to_string(settings_.block.count()), "STREAMS", settings_.stream, last_id_};
    reading_ = reader_->command(argv, [this](const redisReply* reply) {
        reading_ = false;
        if (!reply)
            return;  // lost: reading resumes from last_id_ once reconnected
        if (reply->type == REDIS_REPLY_ERROR) {
            reader_->drop("XREAD refused: " + reply_text(reply));
            return;
        }
        if (reply->type == REDIS_REPLY_ARRAY) {
            // [[key, [[id, [field, value, ...]], ...]]]
            for (std::size_t i = 0; i < reply->elements; ++i) {
                const redisReply* stream = reply->element[i];
                if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2)
                    feed(stream->element[1], false);
            }
        }
        read_next();
    }, settings_.block);
}

void ClusterTransport::feed(const void* entries_reply, bool newest_first)
{
    const auto* entries = static_cast<const redisReply*>(entries_reply);
    if (!entries || entries->type != REDIS_REPLY_ARRAY)
        return;
    for (std::size_t n = 0; n < entries->elements && !destroying_; ++n) {
        std::size_t index = newest_first ? entries->elements - 1 - n : n;
        const redisReply* entry = entries->element[index];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[0]->type != REDIS_REPLY_STRING)
            continue;
        std::string id(entry->element[0]->str, entry->element[0]->len);
        if (!stream_id_after(id, last_id_))
            continue;  // already seen (a resumed read never repeats, but be safe)
        last_id_ = id;
        const redisReply* fields = entry->element[1];
        if (fields->type != REDIS_REPLY_ARRAY)
            continue;
        std::vector<std::string_view> views;
        views.reserve(fields->elements);
        for (std::size_t f = 0; f < fields->elements; ++f)
            views.emplace_back(fields->element[f]->str ? fields->element[f]->str : "", fields->element[f]->len);
        auto update = decode_update_fields(views);
        if (!update) {
            logger_.log(LogLevel::Warning, "Cluster transport: skipped a stream entry that is not an update",
                        {{"REASON", id + ": " + update.error().message}});
            continue;
        }
        if (handlers_.on_entry)
            handlers_.on_entry(std::move(*update), id);
    }
}

bool ClusterTransport::publish(const Update& update, std::function<void(Result<std::string>)> done)
{
    if (!up_)
        return false;
    std::vector<std::string> argv{"XADD", settings_.stream, "MAXLEN", "~", max_len_text_, "*"};
    for (std::string& field : encode_update_fields(update))
        argv.push_back(std::move(field));
    bool sent = commands_->command(argv, [done = std::move(done)](const redisReply* reply) {
        if (reply && reply->type == REDIS_REPLY_STRING) {
            done(std::string(reply->str, reply->len));
            return;
        }
        done(Error{reply_text(reply)});
    });
    return sent;
}

void ClusterTransport::rewrite_presence()
{
    // After a reconnection (a restarted Redis may have lost them): rewrite both whole.
    commands_->command({"DEL", node_key_, farewell_key_}, {});
    std::vector<std::string> records{"HSET", node_key_};
    std::vector<std::string> farewells{"HSET", farewell_key_};
    auto flush = [this](std::vector<std::string>& argv, bool last) {
        if (argv.size() > 2 && (last || argv.size() >= 2 + 2 * presence_batch)) {
            commands_->command(argv, {});
            argv.resize(2);
        }
    };
    for (const auto& [id, presence] : presence_) {
        records.push_back(id);
        records.push_back(presence.record);
        farewells.push_back(id);
        farewells.push_back(presence.farewell);
        flush(records, false);
        flush(farewells, false);
    }
    flush(records, true);
    flush(farewells, true);
}

void ClusterTransport::sync_presence()
{
    rewrite_presence();
    refresh_presence();
}

std::vector<std::string> ClusterTransport::reaper_command(const std::string* node) const
{
    std::vector<std::string> argv{"EVAL", reaper_script, "2", nodes_key_, settings_.stream, std::to_string(wall_ms()),
                                  settings_.stream + ":node:", max_len_text_, std::to_string(reap_batch)};
    if (node)
        argv.push_back(*node);
    return argv;
}

void ClusterTransport::refresh_presence()
{
    if (!commands_->ready() || withdrawn_)
        return;
    // ZADD answers 1 when this node was not in the set: at its first refresh, after a Redis
    // restart that lost the set, or because another node reaped it while it could not refresh
    // (stopped, or cut off from Redis for longer than presence_ttl). The reaper published
    // departures for its subscribers and deleted its hashes: the hub adds and announces them
    // again (on_rejoined), with farewells of new event ids.
    commands_->command({"ZADD", nodes_key_, std::to_string(expiry_ms()), node_id_}, [this](const redisReply* reply) {
        if (!reply || reply->type != REDIS_REPLY_INTEGER)
            return;
        bool added = reply->integer == 1;
        if (added && joined_ && !withdrawn_) {
            logger_.log(LogLevel::Warning,
                        "Cluster transport: this node's presence had expired; announcing its " +
                            std::to_string(presence_.size()) + " subscriptions again",
                        {{"MERCURE_SUBSCRIBERS", std::to_string(presence_.size())}});
            if (handlers_.on_rejoined)
                handlers_.on_rejoined();
        }
        joined_ = true;
    });
    // The hashes outlive the node's score by far, so that a reaper finds them.
    std::string hashes_ttl = std::to_string(settings_.presence_ttl.count() * 4);
    commands_->command({"PEXPIRE", node_key_, hashes_ttl}, {});
    commands_->command({"PEXPIRE", farewell_key_, hashes_ttl}, {});
    commands_->command(reaper_command(nullptr), [this](const redisReply* reply) { reaped(reply); });
    commands_->command({"PEXPIRE", nodes_key_, hashes_ttl}, {});
}

void ClusterTransport::reaped(const void* answer)
{
    const auto* reply = static_cast<const redisReply*>(answer);
    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_INTEGER) {
        // A Redis that forbids scripting (some managed offers): dead nodes still leave the
        // node set, only without departure events.
        if (++reaper_failures_ == 1 || reaper_failures_ % 100 == 0)
            logger_.log(LogLevel::Warning,
                        "Cluster transport: the reaper script failed; dead nodes are removed without "
                        "publishing their departures",
                        {{"REASON", reply_text(reply)}});
        commands_->command({"ZREMRANGEBYSCORE", nodes_key_, "-inf", "(" + std::to_string(wall_ms())}, {});
        return;
    }
    reaper_failures_ = 0;
    auto nodes = static_cast<std::uint64_t>(reply->element[0]->integer);
    auto departures = static_cast<std::uint64_t>(reply->element[1]->integer);
    if (nodes == 0)
        return;
    if (handlers_.on_reaped)
        handlers_.on_reaped(nodes, departures);
    logger_.log(LogLevel::Notice,
                "Cluster transport: " + std::to_string(nodes) + " dead node(s) reaped; " +
                    std::to_string(departures) + " departure events published for their subscribers",
                {{"MERCURE_NODES", std::to_string(nodes)}, {"MERCURE_EVENTS", std::to_string(departures)}});
}

void ClusterTransport::on_refresh(int, short, void* arg)
{
    try {
        static_cast<ClusterTransport*>(arg)->refresh_presence();
    } catch (const std::exception&) {
        // No exception crosses into libevent; the next refresh tries again.
    }
}

void ClusterTransport::presence_add(const std::string& subscription_id, std::string record, std::string farewell)
{
    if (withdrawn_)
        return;  // stopping: this node's presence is gone, its departures published
    auto it = presence_.insert_or_assign(subscription_id, Presence{std::move(record), std::move(farewell)}).first;
    if (!commands_->ready())
        return;  // written by sync_presence() at the next connection
    commands_->command({"HSET", node_key_, subscription_id, it->second.record}, {});
    commands_->command({"HSET", farewell_key_, subscription_id, it->second.farewell}, {});
}

void ClusterTransport::presence_remove(const std::string& subscription_id)
{
    if (presence_.erase(subscription_id) == 0)
        return;
    if (commands_->ready()) {
        commands_->command({"HDEL", node_key_, subscription_id}, {});
        commands_->command({"HDEL", farewell_key_, subscription_id}, {});
    }
}

// Collects the HGETALL answers of every live node, then answers once.
struct ClusterTransport::Lister {
    std::function<void(Result<std::vector<std::string>>)> done;
    std::vector<std::string> records;
    std::size_t waiting = 0;
    std::optional<std::string> failure;
};

bool ClusterTransport::list_presence(std::function<void(Result<std::vector<std::string>>)> done)
{
    if (!up_)
        return false;
    auto lister = std::make_shared<Lister>();
    lister->done = std::move(done);
    return commands_->command(
        {"ZRANGEBYSCORE", nodes_key_, std::to_string(wall_ms()), "+inf"}, [this, lister](const redisReply* reply) {
            if (!reply || reply->type != REDIS_REPLY_ARRAY) {
                lister->done(Error{reply_text(reply)});
                return;
            }
            std::vector<std::string> nodes;
            for (std::size_t i = 0; i < reply->elements; ++i)
                nodes.emplace_back(reply->element[i]->str, reply->element[i]->len);
            if (nodes.empty()) {
                lister->done(std::move(lister->records));
                return;
            }
            lister->waiting = nodes.size();
            for (const std::string& node : nodes) {
                auto collect = [lister](const redisReply* hash) {
                    if (!hash || hash->type != REDIS_REPLY_ARRAY)
                        lister->failure = reply_text(hash);
                    else
                        for (std::size_t i = 1; i < hash->elements; i += 2)
                            lister->records.emplace_back(hash->element[i]->str, hash->element[i]->len);
                    if (--lister->waiting == 0) {
                        if (lister->failure)
                            lister->done(Error{*lister->failure});
                        else
                            lister->done(std::move(lister->records));
                    }
                };
                if (!commands_->command({"HGETALL", settings_.stream + ":node:" + node}, collect)) {
                    lister->failure = "connection lost";
                    if (--lister->waiting == 0)
                        lister->done(Error{*lister->failure});
                }
            }
        });
}

bool ClusterTransport::withdraw()
{
    withdrawn_ = true;
    presence_.clear();
    auto context = sync_connect(settings_);
    if (!context) {
        logger_.log(LogLevel::Warning,
                    "Cluster transport: cannot withdraw this node's presence; another node will reap it",
                    {{"REASON", context.error().message}});
        return false;
    }
    SyncReply reply = sync_command(context->get(), reaper_command(&node_id_));
    if (!reply)
        return false;  // connection failed mid-way: another node reaps this one
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_INTEGER) {
        // Scripting refused: leave the list without the farewell; the hub publishes the
        // departures itself as it closes the streams.
        sync_command(context->get(), {"DEL", node_key_, farewell_key_});
        sync_command(context->get(), {"ZREM", nodes_key_, node_id_});
        return false;
    }
    logger_.log(LogLevel::Info, "Cluster transport: withdrew this node; " +
                                    std::to_string(reply->element[1]->integer) + " departure events published",
                {{"MERCURE_EVENTS", std::to_string(reply->element[1]->integer)}});
    return true;
}

} // namespace mercure
