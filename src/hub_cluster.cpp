// Hub cluster mode: the Redis transport wired into publishing, history, presence and the API.
//
// With transport_url = "redis://...", a publish is not stored locally: it is appended to the
// cluster's Redis stream and its publisher is answered once Redis has it (503 when Redis is
// unreachable or refuses). Every node, the publishing one included, stores and delivers an
// update only when it reads it back from the stream, so all nodes deliver the same updates in
// the same order and the local history is a replica of the stream's tail (Last-Event-ID works
// on any node). See docs/cluster.md for the guarantees.
#include "cluster/cluster_transport.hpp"
#include "cluster/stream_entry.hpp"
#include "core/subscription_document.hpp"
#include "hub.hpp"

namespace mercure {

Status Hub::start_cluster()
{
    auto settings = parse_cluster_url(config_.transport_url);
    if (!settings)
        return Error{"transport_url: " + settings.error().message};
    if (!config_.transport_password.empty())
        settings->password = config_.transport_password;
    std::string node = uuids_.next_urn().substr(9);  // without "urn:uuid:"
    ClusterTransport::Handlers handlers;
    handlers.on_entry = [this](Update update, const std::string& entry_id) {
        cluster_deliver(std::move(update), entry_id);
    };
    handlers.on_state = [this](bool up, const std::string& reason) {
        metrics_.cluster.up = up;
        if (up && metrics_.cluster.was_up)
            ++metrics_.cluster.reconnects_total;
        metrics_.cluster.was_up = metrics_.cluster.was_up || up;
        if (up)
            logger_.log(LogLevel::Notice, LogEvent::ClusterUp,
                        "Cluster transport up: publishing and reading the Redis stream",
                        {{"MERCURE_SUBSCRIBERS", std::to_string(registry_.size())}});
        else
            logger_.log(LogLevel::Error, LogEvent::ClusterDown,
                        "Cluster transport down: publishes answer 503 until Redis is back",
                        {{"REASON", reason}});
    };
    handlers.on_rejoined = [this] {
        ++metrics_.cluster.rejoins_total;
        // Another node published departures for every subscription here and deleted this
        // node's presence: subscription_events() adds each again (fresh farewell) and announces it.
        for (auto& [connection, state] : connections_)
            if (state.stream)
                for (Update& event : subscription_events(state.stream->subscription(), true))
                    cluster_publish(std::move(event), std::nullopt);
    };
    handlers.on_reaped = [this](std::uint64_t nodes, std::uint64_t) { metrics_.cluster.nodes_reaped_total += nodes; };
    cluster_ = std::make_unique<ClusterTransport>(base_.get(), *settings, config_.history_size, node, logger_,
                                                  std::move(handlers));
    metrics_.cluster.enabled = true;
    std::string where = settings->host + ":" + std::to_string(settings->port);
    auto booted = cluster_->bootstrap();
    if (!booted) {
        if (settings->fail_fast)
            return Error{"cluster transport: " + booted.error().message + " (transport_url has start=fail)"};
        logger_.log(LogLevel::Warning,
                    "Cluster transport: Redis unreachable at start; serving (publishes answer 503) and retrying",
                    {{"REASON", booted.error().message}});
    } else {
        logger_.log(LogLevel::Notice,
                    "Cluster transport: node " + node + " joined stream \"" + settings->stream + "\" at " + where +
                        "; " + std::to_string(history_->size()) + " updates loaded into history");
    }
    cluster_->start();
    return Ok{};
}

void Hub::cluster_publish(Update update, std::optional<PublishAck> ack)
{
    auto refuse = [this](std::optional<PublishAck>& pending, const std::string& reason) {
        ++metrics_.updates_failed_total;
        if (pending && connections_.contains(pending->connection) && pending->connection->serial() == pending->serial)
            pending->connection->respond_later(pending->reply, 503, pending->headers,
                                               "Service Unavailable: the cluster transport is unavailable (" +
                                                   reason + ").\n");
    };
    std::string id = update.id;
    std::string topic = update.topics.front();
    std::size_t bytes = update.data.size();
    bool sent = cluster_->publish(update, [this, ack, id, topic, bytes, refuse](Result<std::string> entry) mutable {
        --cluster_in_flight_;
        if (stopping_)
            finish_if_drained();  // a stopping hub waits for its last appends (departures)
        if (!entry) {
            ++metrics_.cluster.append_failures_total;
            logger_.log(LogLevel::Error, "Cluster transport: update not appended to the stream",
                        {{"MERCURE_UPDATE_ID", id}, {"REASON", entry.error().message}});
            refuse(ack, entry.error().message);
            return;
        }
        ++metrics_.cluster.appended_total;
        if (!ack)
            return;  // a subscription event: delivered when read back
        ++metrics_.updates_total;
        metrics_.published_bytes_total += bytes;
        if (connections_.contains(ack->connection) && ack->connection->serial() == ack->serial)
            ack->connection->respond_later(ack->reply, 200, ack->headers, id);
        logger_.log(LogLevel::Info, LogEvent::UpdatePublished, "Update published",
                    {{"MERCURE_UPDATE_ID", id}, {"MERCURE_TOPIC", topic}, {"REMOTE_ADDR", ack->remote}});
    });
    if (sent)
        ++cluster_in_flight_;
    else
        refuse(ack, cluster_->down_reason());
}

void Hub::cluster_deliver(Update update, const std::string& entry_id)
{
    std::int64_t now = now_ms();
    std::int64_t appended = stream_id_ms(entry_id);
    FramePtr frame = make_frame(encode_sse_event(update));
    history_->expire(now);
    auto sequence = history_->append(update, frame, appended > 0 ? appended : now);
    if (!sequence) {
        logger_.log(LogLevel::Error, "Cannot store update in history",
                    {{"MERCURE_UPDATE_ID", update.id}, {"REASON", sequence.error().message}});
        return;
    }
    metrics_.cluster.entries_read_total += 1;
    StoredUpdate stored{*sequence, std::move(update), std::move(frame), std::nullopt};
    deliver_stored(stored);
}

void Hub::cluster_presence(const Subscription& subscription, bool active)
{
    if (!cluster_)
        return;
    if (!active) {
        cluster_->presence_remove(subscription.id);
        return;
    }
    PresenceRecord record;
    record.id = subscription.id;
    record.payload_json = subscription.payload_json;
    for (const SelectorPtr& selector : subscription.selectors)
        record.topics.push_back(selector->text());
    cluster_->presence_add(subscription.id, encode_presence(record),
                           encode_farewell(subscription_updates(subscription, false)));
}

void Hub::serve_cluster_subscriptions(Connection& connection, const HttpRequest& request,
                                      std::optional<std::string> topic, std::optional<std::string> subscriber,
                                      std::string last_event_id, HeaderList headers)
{
    if (!cluster_->up()) {
        reply_error(connection, request, 503,
                    "Service Unavailable: the cluster transport is unavailable (" + cluster_->down_reason() + ").");
        return;
    }
    HeaderList cors = cors_headers(request);
    Connection* raw = &connection;
    std::uint64_t serial = connection.serial();
    Connection::ReplyContext context = Connection::reply_context(request, stopping_);
    std::string path = request.path;
    auto answer = [this, raw, serial, context, cors](int status, std::string_view type, HeaderList headers,
                                                     std::string_view body) {
        if (!connections_.contains(raw) || raw->serial() != serial)
            return;
        headers.emplace_back("Content-Type", std::string(type));
        for (const auto& header : cors)
            headers.push_back(header);
        raw->respond_later(context, status, headers, body);
    };
    connection.defer_response();
    auto listed = [this, answer, topic, subscriber, last_event_id, headers, path](
                      Result<std::vector<std::string>> records) {
        if (!records) {
            answer(503, "text/plain; charset=utf-8", {},
                   "Service Unavailable: the cluster transport is unavailable (" + records.error().message + ").\n");
            return;
        }
        std::vector<Subscription> subscriptions;
        subscriptions.reserve(records->size());
        for (const std::string& text : *records) {
            auto record = decode_presence(text);
            if (!record || (subscriber && record->id != *subscriber))
                continue;
            Subscription s;
            s.id = std::move(record->id);
            s.payload_json = std::move(record->payload_json);
            s.selectors = selectors_.get_all(record->topics);
            subscriptions.push_back(std::move(s));
        }
        std::vector<SubscriptionView> views;
        for (const Subscription& s : subscriptions)
            for (const SelectorPtr& selector : s.selectors)
                if (!topic || selector->text() == *topic)
                    views.push_back(SubscriptionView{&s, &selector->text()});
        if (subscriber) {
            if (views.empty()) {
                answer(404, "text/plain; charset=utf-8", {}, "Not Found: no such subscription.\n");
                return;
            }
            answer(200, "application/ld+json", headers,
                   subscription_json(*views.front().subscription, *views.front().selector, true, last_event_id));
            return;
        }
        answer(200, "application/ld+json", headers, subscriptions_collection_json(path, last_event_id, views));
    };
    if (!cluster_->list_presence(listed))
        answer(503, "text/plain; charset=utf-8", {},
               "Service Unavailable: the cluster transport is unavailable (" + cluster_->down_reason() + ").\n");
}

} // namespace mercure
