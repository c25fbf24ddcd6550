// Hub: the one context of a running hub: event loop, config, keys, registry, connections.
#include "hub.hpp"

#include <event2/event.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <thread>

#include "cluster/cluster_settings.hpp"
#include "cluster/cluster_transport.hpp"
#include "core/publish_form.hpp"
#include "store/lmdb_history.hpp"
#include "store/memory_history.hpp"

namespace mercure {

namespace {

// How long a graceful stop waits for streams and responses to flush before exiting anyway.
constexpr std::chrono::seconds drain_limit{5};

// Connections the operational endpoints on metrics_addr may hold at once (probes, scrapers).
constexpr std::size_t max_admin_connections = 64;
// Descriptors kept free of client connections: the metrics_addr allowance, listeners, the
// history store, the cluster's Redis connections, the journal stream.
constexpr std::size_t reserved_descriptors = max_admin_connections + 64;

// max_connections, lowered to what the process's descriptor limit allows: past it accept()
// fails with EMFILE and clients wait in the backlog instead of being refused at once, and a
// publisher could not get in until subscribers leave.
std::size_t connection_limit(const Config& config)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return config.max_connections;
    auto descriptors = static_cast<std::size_t>(limit.rlim_cur);
    std::size_t usable = descriptors > 2 * reserved_descriptors ? descriptors - reserved_descriptors
                                                                : descriptors / 2;
    return std::min(config.max_connections, usable);
}

// Threads writing a large fan-out (the loop's own thread is one of them): `workers`, or one
// per core.
unsigned fanout_threads(const Config& config)
{
    if (config.workers > 0)
        return static_cast<unsigned>(config.workers);
    return std::clamp(std::thread::hardware_concurrency(), 1u, 64u);
}

ConnectionLimits limits_from(const Config& config)
{
    ConnectionLimits limits;
    limits.request.max_header_size = config.max_header_size;
    limits.request.max_body_size = config.max_body_size;
    limits.max_queued_bytes = config.max_queued_bytes;
    limits.send_buffer = config.send_buffer;
    limits.read_timeout = config.read_timeout;
    limits.dispatch_timeout = config.dispatch_timeout;
    return limits;
}

Result<std::shared_ptr<const TokenVerifier>> make_verifier(const JwtKeyConfig& key, std::string_view role)
{
    auto algorithm = parse_jwt_algorithm(key.algorithm);
    if (!algorithm)
        return Error{"invalid " + std::string(role) + " JWT algorithm \"" + key.algorithm + "\""};
    auto verifier = TokenVerifier::create(*algorithm, key.key);
    if (!verifier)
        return Error{"invalid " + std::string(role) + " JWT key: " + verifier.error().message};
    return std::move(*verifier);
}

// Where the history lives: an explicit history_store, else the upstream transport_url, else
// lmdb under systemd's StateDirectory= (the packaged service), else memory.
struct HistoryPlace {
    bool durable = false;
    std::string path;
};

Result<HistoryPlace> history_place(const Config& config)
{
    const char* state = std::getenv("STATE_DIRECTORY");
    // STATE_DIRECTORY may list several directories separated by ':'; the first is ours.
    std::string state_directory = state ? std::string(state).substr(0, std::string(state).find(':')) : "";
    std::string store = config.history_store;
    std::string path = config.history_path;
    if (is_cluster_url(config.transport_url)) {
        // Cluster mode: the Redis stream is the durable history; each node keeps a replica of
        // its tail in memory.
        if (store == "lmdb")
            return Error{"history_store = \"lmdb\" cannot be combined with a redis:// transport_url: "
                         "in cluster mode the Redis stream is the history"};
        return HistoryPlace{};
    }
    if (store == "auto") {
        if (config.transport_url.starts_with("bolt://")) {
            store = "lmdb";
            std::string url_path = config.transport_url.substr(7);
            url_path = url_path.substr(0, url_path.find('?'));
            if (path.empty())
                path = url_path;
        } else if (config.transport_url.empty() && !state_directory.empty()) {
            store = "lmdb";
        } else {
            store = "memory";
        }
    }
    if (store == "memory")
        return HistoryPlace{};
    if (path.empty()) {
        if (state_directory.empty())
            return Error{"history_store = \"lmdb\" needs history_path (or systemd's StateDirectory=)"};
        path = state_directory + "/history";
    }
    return HistoryPlace{true, path};
}

LmdbOptions::Sync sync_mode(const std::string& name)
{
    if (name == "always")
        return LmdbOptions::Sync::Always;
    if (name == "none")
        return LmdbOptions::Sync::None;
    return LmdbOptions::Sync::Batch;
}

Result<std::unique_ptr<History>> open_history(const Config& config)
{
    auto place = history_place(config);
    if (!place)
        return place.error();
    if (!place->durable)
        return std::unique_ptr<History>(
            std::make_unique<MemoryHistory>(config.history_size, config.history_max_age.count()));
    LmdbOptions options;
    options.path = place->path;
    options.max_entries = config.history_size;
    options.max_age_ms = config.history_max_age.count();
    options.max_bytes = config.history_max_bytes;
    options.sync = sync_mode(config.history_sync);
    auto opened = LmdbHistory::open(options);
    if (!opened)
        return opened.error();
    return std::unique_ptr<History>(std::move(*opened));
}

} // namespace

Result<Hub::Verifiers> Hub::make_verifiers(const Config& config)
{
    Verifiers verifiers;
    if (!config.publisher.key.empty()) {
        auto verifier = make_verifier(config.publisher, "publisher");
        if (!verifier)
            return verifier.error();
        verifiers.publisher = std::move(*verifier);
    }
    if (!config.subscriber.key.empty()) {
        auto verifier = make_verifier(config.subscriber, "subscriber");
        if (!verifier)
            return verifier.error();
        verifiers.subscriber = std::move(*verifier);
    }
    return verifiers;
}

Status Hub::check_keys(const Config& config)
{
    auto verifiers = make_verifiers(config);
    if (!verifiers)
        return verifiers.error();
    return Ok{};
}

Result<std::unique_ptr<Hub>> Hub::create(Config config, Logger& logger, Reloader reloader)
{
    auto verifiers = make_verifiers(config);
    if (!verifiers)
        return verifiers.error();
    auto history = open_history(config);
    if (!history)
        return Error{"history: " + history.error().message};
    event_base* base = event_base_new();
    if (!base)
        return Error{"cannot create the event loop"};
    std::unique_ptr<Hub> hub(new Hub(std::move(config), logger, base));
    hub->history_ = std::move(*history);
    // Whatever a durable store holds at start was committed by an earlier run: replays may
    // send all of it (a restart must not hide updates a subscriber had not received yet).
    hub->delivered_sequence_ = hub->history_->horizon() + hub->history_->size();
    hub->publisher_verifier_ = std::move(verifiers->publisher);
    hub->subscriber_verifier_ = std::move(verifiers->subscriber);
    hub->reloader_ = std::move(reloader);
    if (is_cluster_url(hub->config_.transport_url)) {
        if (auto joined = hub->start_cluster(); !joined)
            return joined.error();
    }
    return hub;
}

Hub::Hub(Config config, Logger& logger, event_base* base)
    : base_(base),
      config_(std::move(config)),
      logger_(logger),
      limits_(limits_from(config_)),
      heartbeats_(base, config_.heartbeat_interval),
      output_(base, heartbeats_, fanout_threads(config_)),
      stream_opening_(make_frame(":\n"))
{
    apply_connection_limit();
    event_assign(&reaper_, base, -1, 0, &Hub::on_reap, this);
    event_assign(&drain_timer_, base, -1, 0, &Hub::on_drain_timeout, this);
    event_assign(&commit_event_, base, -1, 0, &Hub::on_commit, this);
    event_assign(&sigint_, base, SIGINT, EV_SIGNAL | EV_PERSIST, &Hub::on_signal, this);
    event_assign(&sigterm_, base, SIGTERM, EV_SIGNAL | EV_PERSIST, &Hub::on_signal, this);
    event_assign(&sighup_, base, SIGHUP, EV_SIGNAL | EV_PERSIST, &Hub::on_signal, this);
    event_assign(&watchdog_timer_, base, -1, EV_PERSIST, &Hub::on_watchdog, this);
    event_assign(&status_timer_, base, -1, EV_PERSIST, &Hub::on_status_timer, this);
    event_add(&sigint_, nullptr);
    event_add(&sigterm_, nullptr);
    event_add(&sighup_, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

Hub::~Hub()
{
    cluster_.reset();  // first: no transport callback may reach a half-destroyed hub
    // Updates stored but not yet committed are made durable; their publishers got no answer.
    if (!pending_.empty() && history_)
        history_->flush();
    for (auto& [raw, entry] : connections_) {
        if (entry.stream)
            registry_.remove(*entry.stream);
    }
    connections_.clear();
    listeners_.clear();
    admin_listeners_.clear();
    event_del(&reaper_);
    event_del(&drain_timer_);
    event_del(&commit_event_);
    event_del(&sigint_);
    event_del(&sigterm_);
    event_del(&sighup_);
    event_del(&watchdog_timer_);
    event_del(&status_timer_);
}

Status Hub::listen()
{
    auto passed = systemd_passed_sockets();
    if (!passed.empty()) {
        // Socket activation: systemd owns the sockets, so `addr` is not used and a restart
        // refuses no connection (they wait in the kernel's backlog).
        socket_activated_ = true;
        for (const PassedSocket& socket : passed) {
            // A socket named "metrics" (FileDescriptorName=metrics) serves only operations.
            bool admin = socket.name == "metrics";
            auto listener = Listener::adopt(base_.get(), socket.fd, admin ? static_cast<AcceptHandler&>(admin_acceptor_) : *this);
            if (!listener)
                return listener.error();
            (admin ? admin_listeners_ : listeners_).push_back(std::move(*listener));
        }
        if (!admin_listeners_.empty())
            return Ok{};
        return listen_admin();
    }
    auto bound = Listener::bind(base_.get(), config_.addr, *this);
    if (!bound)
        return bound.error();
    for (auto& listener : *bound)
        listeners_.push_back(std::move(listener));
    return listen_admin();
}

Status Hub::listen_admin()
{
    // Bound whenever set, metrics on or not: health probes belong here (docs/security.md).
    if (config_.metrics_addr.empty())
        return Ok{};
    auto bound = Listener::bind(base_.get(), config_.metrics_addr, admin_acceptor_);
    if (!bound)
        return Error{"metrics_addr: " + bound.error().message};
    for (auto& listener : *bound)
        admin_listeners_.push_back(std::move(listener));
    return Ok{};
}

std::vector<std::string> Hub::listening_on() const
{
    std::vector<std::string> out;
    for (const auto& listener : listeners_)
        out.push_back(listener->description());
    return out;
}

int Hub::run()
{
    // Watchdog pings come from a timer on this very loop: a stuck loop stops pinging.
    if (auto interval = notifier_.watchdog_interval()) {
        timeval tv{static_cast<time_t>(interval->count() / 1000000),
                   static_cast<suseconds_t>(interval->count() % 1000000)};
        event_add(&watchdog_timer_, &tv);
        notifier_.watchdog();
    }
    timeval status_period{5, 0};
    event_add(&status_timer_, &status_period);
    last_status_ = std::chrono::steady_clock::now();
    notifier_.ready();
    update_status();
    event_base_dispatch(base_.get());
    return 0;
}

void Hub::on_watchdog(int, short, void* arg)
{
    static_cast<Hub*>(arg)->notifier_.watchdog();
}

void Hub::on_status_timer(int, short, void* arg)
{
    static_cast<Hub*>(arg)->update_status();
}

void Hub::update_status()
{
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last_status_).count();
    double rate = seconds > 0.5 ? static_cast<double>(updates_published_ - updates_at_last_status_) / seconds : 0;
    if (seconds > 0.5) {
        last_status_ = now;
        updates_at_last_status_ = updates_published_;
    }
    std::string addresses;
    for (const auto& listener : listeners_)
        addresses += (addresses.empty() ? "" : ", ") + listener->description();
    char rate_text[32];
    std::snprintf(rate_text, sizeof rate_text, "%.1f", rate);
    std::string status = "listening on " + addresses + "; " + std::to_string(registry_.size()) + " subscribers; " +
                         rate_text + " updates/s; " + std::to_string(history_->size()) + " in history";
    if (!reload_problem_.empty())
        status += "; " + reload_problem_;
    notifier_.status(status);
}

void Hub::reload()
{
    notifier_.reloading();
    auto fail = [&](const std::string& why) {
        reload_problem_ = "reload failed, running the previous configuration: " + why;
        logger_.log(LogLevel::Error, LogEvent::ConfigReloadFailed, "Configuration reload failed", {{"REASON", why}});
        update_status();
        notifier_.ready();
    };
    if (!reloader_)
        return fail("this hub was started without a configuration source to reload");
    auto loaded = reloader_();
    if (!loaded)
        return fail(loaded.error().message);
    Config next = std::move(*loaded);
    auto verifiers = make_verifiers(next);
    if (!verifiers)
        return fail(verifiers.error().message);

    if (next.addr != config_.addr && !socket_activated_) {
        logger_.log(LogLevel::Warning, LogEvent::ConfigReloaded, "addr changed: restart the hub to listen there",
                    {{"MERCURE_ADDR", next.addr}});
        next.addr = config_.addr;
    }
    if (next.history_store != config_.history_store || next.history_path != config_.history_path ||
        next.history_sync != config_.history_sync || next.transport_url != config_.transport_url) {
        logger_.log(LogLevel::Warning, LogEvent::ConfigReloaded,
                    "history_store, history_path, history_sync and transport_url change at the next restart");
        next.history_store = config_.history_store;
        next.history_path = config_.history_path;
        next.history_sync = config_.history_sync;
        next.transport_url = config_.transport_url;
    }
    config_ = std::move(next);
    limits_ = limits_from(config_);  // connections read their limits by reference
    publisher_verifier_ = std::move(verifiers->publisher);
    subscriber_verifier_ = std::move(verifiers->subscriber);
    publisher_tokens_.clear();   // tokens verified with the old keys must be checked again
    subscriber_tokens_.clear();
    heartbeats_.set_interval(config_.heartbeat_interval);
    output_.set_threads(fanout_threads(config_));
    apply_connection_limit();
    history_->set_limits(config_.history_size, config_.history_max_age.count());
    history_->set_max_bytes(config_.history_max_bytes);
    report_history_error();
    logger_.set_minimum(config_.debug ? LogLevel::Debug
                                      : parse_log_level(config_.log_level).value_or(LogLevel::Info));
    reload_problem_.clear();
    logger_.log(LogLevel::Notice, LogEvent::ConfigReloaded, "Configuration reloaded",
                {{"MERCURE_SUBSCRIBERS", std::to_string(registry_.size())}});
    update_status();
    notifier_.ready();
}

void Hub::apply_connection_limit()
{
    std::size_t limit = connection_limit(config_);
    if (limit < config_.max_connections && limit != connection_limit_)
        logger_.log(LogLevel::Notice, "max_connections lowered to what the descriptor limit (LimitNOFILE) allows",
                    {{"MERCURE_MAX_CONNECTIONS", std::to_string(limit)}});
    connection_limit_ = limit;
}

void Hub::on_accept(int fd, std::string peer)
{
    accept(fd, std::move(peer), false);
}

void Hub::accept(int fd, std::string peer, bool admin)
{
    // The operational endpoints on metrics_addr have their own small allowance, so a flood of
    // client connections at max_connections never makes a health probe fail.
    bool full = admin ? admin_connections_ >= max_admin_connections
                      : connections_.size() - admin_connections_ >= connection_limit_;
    if (stopping_ || full) {
        ++metrics_.connections_refused_total;
        ::close(fd);
        if (!stopping_)
            logger_.log(LogLevel::Warning, LogEvent::RequestRefused,
                        admin ? "Connection refused: too many connections on metrics_addr"
                              : "Connection refused: max_connections reached",
                        {{"REMOTE_ADDR", peer}});
        return;
    }
    auto connection = std::make_unique<Connection>(base_.get(), fd, std::move(peer), *this, limits_);
    Connection* raw = connection.get();
    raw->set_serial(next_serial_++);
    connections_.emplace(raw, ConnectionEntry{std::move(connection), nullptr, admin});
    admin_connections_ += admin ? 1 : 0;
    ++metrics_.connections_total;
    raw->start();
}

void Hub::on_closed(Connection& connection, std::string_view reason)
{
    auto it = connections_.find(&connection);
    if (it == connections_.end())
        return;
    if (auto& stream = it->second.stream) {
        registry_.remove(*stream);
        heartbeats_.remove(*stream);
        // Closing may happen in the middle of a fan-out: the departure events wait for the
        // reaper, which runs on the next loop turn. A withdrawn cluster node's farewell carried
        // them already (and its presence is gone).
        if (!departures_published_)
            for (Update& event : subscription_events(stream->subscription(), false))
                deferred_updates_.push_back(std::move(event));
        bool slow = reason.starts_with("slow client");
        if (slow)
            ++metrics_.slow_subscribers_dropped_total;
        logger_.log(slow ? LogLevel::Warning : LogLevel::Info,
                    slow ? LogEvent::SlowSubscriberDropped : LogEvent::SubscriberDisconnected,
                    slow ? "Slow subscriber disconnected" : "Subscriber disconnected",
                    {{"MERCURE_SUBSCRIBER", stream->subscription().id}, {"REMOTE_ADDR", connection.peer()},
                     {"REASON", reason}});
    }
    schedule_reap(connection);
}

void Hub::schedule_reap(Connection& connection)
{
    doomed_.push_back(&connection);
    event_active(&reaper_, 0, 0);
}

void Hub::on_reap(int, short, void* arg)
{
    auto* self = static_cast<Hub*>(arg);
    std::vector<Connection*> doomed;
    doomed.swap(self->doomed_);
    for (Connection* connection : doomed)
        if (auto it = self->connections_.find(connection); it != self->connections_.end()) {
            self->admin_connections_ -= it->second.admin ? 1 : 0;
            self->connections_.erase(it);
        }
    std::vector<Update> updates;
    updates.swap(self->deferred_updates_);
    for (Update& update : updates)
        self->publish(std::move(update), std::nullopt);
    if (self->stopping_)
        self->finish_if_drained();
}

std::int64_t Hub::now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void Hub::publish(Update update, std::optional<PublishAck> ack)
{
    if (cluster_) {
        // Cluster mode: stored and delivered when read back from the stream (hub_cluster.cpp).
        cluster_publish(std::move(update), std::move(ack));
        return;
    }
    FramePtr frame = make_frame(encode_sse_event(update));
    std::int64_t now = now_ms();
    history_->expire(now);
    report_history_error();
    auto sequence = history_->append(update, frame, now);
    store_failing_ = !sequence;
    if (!sequence) {
        ++metrics_.updates_failed_total;
        logger_.log(LogLevel::Error, "Cannot store update in history",
                    {{"MERCURE_UPDATE_ID", update.id}, {"REASON", sequence.error().message}});
        if (ack && connections_.contains(ack->connection) && ack->connection->serial() == ack->serial)
            ack->connection->respond_later(ack->reply, 503, ack->headers,
                                           "Service Unavailable: the update could not be stored.\n");
        return;
    }
    StoredUpdate stored{*sequence, std::move(update), std::move(frame), std::move(ack)};
    if (config_.history_sync == "batch" && history_->durable()) {
        // Group commit: every update stored during this loop turn shares one fsync.
        if (pending_.empty())
            event_active(&commit_event_, 0, 0);
        pending_.push_back(std::move(stored));
        return;
    }
    deliver_stored(stored);
}

void Hub::report_history_error()
{
    if (auto error = history_->take_error())
        logger_.log(LogLevel::Error, "History retention failed", {{"REASON", error->message}});
}

void Hub::on_commit(int, short, void* arg)
{
    auto* self = static_cast<Hub*>(arg);
    try {
        self->commit_pending();
    } catch (const std::exception& e) {
        self->logger_.log(LogLevel::Error, "Group commit failed", {{"REASON", e.what()}});
    }
}

void Hub::commit_pending()
{
    std::vector<StoredUpdate> pending;
    pending.swap(pending_);
    Status flushed = history_->flush();
    store_failing_ = !flushed;
    for (StoredUpdate& stored : pending) {
        if (flushed) {
            deliver_stored(stored);
            continue;
        }
        ++metrics_.updates_failed_total;
        logger_.log(LogLevel::Error, "Cannot make update durable",
                    {{"MERCURE_UPDATE_ID", stored.update.id}, {"REASON", flushed.error().message}});
        PublishAck* ack = stored.ack ? &*stored.ack : nullptr;
        if (ack && connections_.contains(ack->connection) && ack->connection->serial() == ack->serial)
            ack->connection->respond_later(ack->reply, 503, ack->headers,
                                           "Service Unavailable: the update could not be stored durably.\n");
    }
}

void Hub::deliver_stored(StoredUpdate& stored)
{
    const Update& update = stored.update;
    if (stored.ack) {
        // Acknowledge first: the publisher's answer never waits for the fan-out.
        PublishAck& ack = *stored.ack;
        if (connections_.contains(ack.connection) && ack.connection->serial() == ack.serial)
            ack.connection->respond_later(ack.reply, 200, ack.headers, update.id);
        ++metrics_.updates_total;
        metrics_.published_bytes_total += update.data.size();
    }
    // The scratch vector is moved out so a delivery that ends up publishing again (it should
    // not, but a callback chain might) cannot clobber the list being walked.
    std::vector<Subscriber*> recipients = std::move(recipients_);
    registry_.collect_recipients(update, recipients);
    delivered_sequence_ = stored.sequence;
    ++updates_published_;
    metrics_.deliveries_total += recipients.size();
    // Replaying streams skip live delivery: their replay reads this update from history.
    for (Subscriber* subscriber : recipients)
        subscriber->deliver(stored.frame);
    if (stored.ack) {
        logger_.log(LogLevel::Info, LogEvent::UpdatePublished, "Update published",
                    {{"MERCURE_UPDATE_ID", update.id}, {"MERCURE_TOPIC", update.topics.front()},
                     {"MERCURE_PRIVATE", update.is_private ? "true" : "false"},
                     {"MERCURE_RECIPIENTS", std::to_string(recipients.size())}, {"REMOTE_ADDR", stored.ack->remote}});
    }
    recipients.clear();
    recipients_ = std::move(recipients);
}

void Hub::on_drained(Connection& connection)
{
    auto it = connections_.find(&connection);
    if (it != connections_.end() && it->second.stream && it->second.stream->replaying())
        pump_replay(*it->second.stream);
}

void Hub::pump_replay(SubscriberStream& stream)
{
    Connection& connection = stream.connection();
    const Subscription& subscription = stream.subscription();
    while (stream.replaying() && !connection.closed() && connection.queued_bytes() == 0) {
        if (stream.replay_cursor() < history_->horizon()) {
            connection.end_stream("replay fell behind the history retention");
            return;
        }
        HistoryEntryPtr entry = history_->next_after(stream.replay_cursor());
        // Stored but not yet committed updates are delivered live at the commit, not replayed.
        if (!entry || entry->sequence > delivered_sequence_) {
            stream.finish_replay();  // caught up: live delivery from now on
            return;
        }
        stream.advance_replay(entry->sequence);
        if (subscription.matches(entry->update) && subscription.may_receive(entry->update))
            stream.write(entry->frame);
    }
}

void Hub::stop()
{
    if (stopping_)
        return;
    stopping_ = true;
    notifier_.stopping();
    logger_.log(LogLevel::Notice, LogEvent::Stopping, "Stopping: ending every stream");
    // This node's subscriptions leave the cluster's list at once, and their departure events
    // are appended to the stream by Redis (the node's farewell), so closing the streams below
    // must not publish them a second time.
    if (cluster_)
        departures_published_ = cluster_->withdraw();
    for (auto& listener : listeners_)
        listener->disable();
    for (auto& listener : admin_listeners_)
        listener->disable();
    std::vector<Connection*> open;
    for (auto& [raw, entry] : connections_)
        open.push_back(raw);
    for (Connection* connection : open) {
        if (connection->streaming())
            connection->end_stream("hub stopping");
        else
            connection->close_if_idle("hub stopping");
    }
    timeval tv{static_cast<time_t>(drain_limit.count()), 0};
    event_add(&drain_timer_, &tv);
    finish_if_drained();
}

void Hub::finish_if_drained()
{
    if (connections_.empty() && doomed_.empty() && cluster_in_flight_ == 0)
        event_base_loopexit(base_.get(), nullptr);
}

void Hub::on_drain_timeout(int, short, void* arg)
{
    auto* self = static_cast<Hub*>(arg);
    self->logger_.log(LogLevel::Warning, "Drain time exceeded: closing remaining connections");
    event_base_loopexit(self->base_.get(), nullptr);
}

void Hub::on_signal(int signal, short, void* arg)
{
    auto* self = static_cast<Hub*>(arg);
    try {
        if (signal == SIGHUP)
            self->reload();
        else
            self->stop();
    } catch (const std::exception& e) {
        self->logger_.log(LogLevel::Error, "Signal handling failed", {{"REASON", e.what()}});
    }
}

} // namespace mercure
