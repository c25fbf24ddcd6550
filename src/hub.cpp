// Hub: the one context of a running hub: event loop, config, keys, registry, connections.
#include "hub.hpp"

#include <event2/event.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>

#include "core/publish_form.hpp"
#include "store/memory_history.hpp"

namespace mercure {

namespace {

// How long a graceful stop waits for streams and responses to flush before exiting anyway.
constexpr std::chrono::seconds drain_limit{5};

ConnectionLimits limits_from(const Config& config)
{
    ConnectionLimits limits;
    limits.request.max_header_size = config.max_header_size;
    limits.request.max_body_size = config.max_body_size;
    limits.max_queued_bytes = config.max_queued_bytes;
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
    event_base* base = event_base_new();
    if (!base)
        return Error{"cannot create the event loop"};
    std::unique_ptr<Hub> hub(new Hub(std::move(config), logger, base));
    hub->publisher_verifier_ = std::move(verifiers->publisher);
    hub->subscriber_verifier_ = std::move(verifiers->subscriber);
    hub->reloader_ = std::move(reloader);
    return hub;
}

Hub::Hub(Config config, Logger& logger, event_base* base)
    : base_(base),
      config_(std::move(config)),
      logger_(logger),
      limits_(limits_from(config_)),
      history_(std::make_unique<MemoryHistory>(config_.history_size, config_.history_max_age.count())),
      heartbeats_(base, config_.heartbeat_interval),
      stream_opening_(make_frame(":\n"))
{
    event_assign(&reaper_, base, -1, 0, &Hub::on_reap, this);
    event_assign(&drain_timer_, base, -1, 0, &Hub::on_drain_timeout, this);
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
    for (auto& [raw, entry] : connections_) {
        if (entry.stream)
            registry_.remove(*entry.stream);
    }
    connections_.clear();
    listeners_.clear();
    admin_listeners_.clear();
    event_del(&reaper_);
    event_del(&drain_timer_);
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
    if (!config_.metrics || config_.metrics_addr.empty())
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
    config_ = std::move(next);
    limits_ = limits_from(config_);  // connections read their limits by reference
    publisher_verifier_ = std::move(verifiers->publisher);
    subscriber_verifier_ = std::move(verifiers->subscriber);
    heartbeats_.set_interval(config_.heartbeat_interval);
    history_->set_limits(config_.history_size, config_.history_max_age.count());
    logger_.set_minimum(config_.debug ? LogLevel::Debug
                                      : parse_log_level(config_.log_level).value_or(LogLevel::Info));
    reload_problem_.clear();
    logger_.log(LogLevel::Notice, LogEvent::ConfigReloaded, "Configuration reloaded",
                {{"MERCURE_SUBSCRIBERS", std::to_string(registry_.size())}});
    update_status();
    notifier_.ready();
}

void Hub::on_accept(int fd, std::string peer)
{
    accept(fd, std::move(peer), false);
}

void Hub::accept(int fd, std::string peer, bool admin)
{
    if (stopping_ || connections_.size() >= config_.max_connections) {
        ++metrics_.connections_refused_total;
        ::close(fd);
        if (!stopping_)
            logger_.log(LogLevel::Warning, LogEvent::RequestRefused, "Connection refused: max_connections reached",
                        {{"REMOTE_ADDR", peer}});
        return;
    }
    auto connection = std::make_unique<Connection>(base_.get(), fd, std::move(peer), *this, limits_);
    Connection* raw = connection.get();
    connections_.emplace(raw, ConnectionEntry{std::move(connection), nullptr, admin});
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
        // reaper, which runs on the next loop turn.
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
        self->connections_.erase(connection);
    std::vector<Update> updates;
    updates.swap(self->deferred_updates_);
    for (Update& update : updates)
        self->dispatch(std::move(update));
    if (self->stopping_)
        self->finish_if_drained();
}

std::int64_t Hub::now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::size_t Hub::dispatch(Update update)
{
    FramePtr frame = make_frame(encode_sse_event(update));
    // The scratch vector is moved out so a delivery that ends up dispatching again (it should
    // not, but a callback chain might) cannot clobber the list being walked.
    std::vector<Subscriber*> recipients = std::move(recipients_);
    registry_.collect_recipients(update, recipients);
    std::int64_t now = now_ms();
    history_->expire(now);
    if (auto stored = history_->append(std::move(update), frame, now); !stored)
        logger_.log(LogLevel::Error, "Cannot store update in history", {{"REASON", stored.error().message}});
    // Replaying streams skip live delivery: their replay reads this update from history.
    ++updates_published_;
    metrics_.deliveries_total += recipients.size();
    for (Subscriber* subscriber : recipients)
        subscriber->deliver(frame);
    std::size_t count = recipients.size();
    recipients.clear();
    recipients_ = std::move(recipients);
    return count;
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
        if (!entry) {
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
        else if (connection->queued_bytes() == 0)
            connection->close("hub stopping");
    }
    timeval tv{static_cast<time_t>(drain_limit.count()), 0};
    event_add(&drain_timer_, &tv);
    finish_if_drained();
}

void Hub::finish_if_drained()
{
    if (connections_.empty() && doomed_.empty())
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
