// Hub subscribe handler: authenticate, then turn the connection into an SSE stream.
#include <ctime>

#include "hub.hpp"

namespace mercure {

namespace {

// Headers every event stream carries; X-Accel-Buffering stops nginx from buffering it.
HeaderList stream_headers()
{
    return {{"Content-Type", "text/event-stream"},
            {"Cache-Control", "private, no-cache, no-store, must-revalidate, max-age=0"},
            {"X-Accel-Buffering", "no"},
            {"Connection", "keep-alive"}};
}

} // namespace

Hub::ReplayStart Hub::replay_start(const HttpRequest& request, const FormPairs& query) const
{
    std::optional<std::string_view> id = request.header("last-event-id");
    if (!id) {
        for (const auto& [key, value] : query) {
            if (key == "lastEventID" || key == "Last-Event-ID") {
                id = value;
                break;
            }
        }
    }
    ReplayStart start;
    if (!id)
        return start;
    start.requested = true;
    if (*id == "earliest") {
        start.after = history_->horizon();
    } else if (auto sequence = history_->sequence_of(*id)) {
        start.after = sequence;
        start.known_id = std::string(*id);
    }
    return start;
}

void Hub::serve_subscribe(Connection& connection, HttpRequest& request)
{
    auto query = parse_urlencoded(request.query);
    if (!query) {
        reply_error(connection, request, 400, "Invalid query string: malformed percent-encoding.");
        return;
    }
    std::vector<std::string> topics;
    for (auto& [key, value] : *query)
        if (key == "topic")
            topics.push_back(value);
    if (topics.empty()) {
        reply_error(connection, request, 400, "Missing \"topic\" parameter.");
        return;
    }
    for (const auto& topic : topics) {
        if (topic.empty() || topic.size() > config_.max_topic_length) {
            reply_error(connection, request, 400,
                        "Invalid \"topic\" parameter: empty or longer than " +
                            std::to_string(config_.max_topic_length) + " bytes.");
            return;
        }
    }
    if (topics.size() > config_.max_topics) {
        reply_error(connection, request, 400,
                    "Too many \"topic\" parameters (limit " + std::to_string(config_.max_topics) + ").");
        return;
    }

    Authentication auth = authenticate(request, *query, subscriber_verifier_.get(), subscriber_tokens_);
    std::string remote = client_address(connection, request);
    if (auth.refused || (auth.anonymous && !config_.allow_anonymous)) {
        logger_.log(LogLevel::Debug, LogEvent::AuthRefused, "Subscription refused",
                    {{"REASON", auth.refused ? auth.reason : "anonymous subscribers are not allowed"},
                     {"REMOTE_ADDR", remote}});
        metrics_.refuse(auth.refusal);
        reply_error(connection, request, 401, "Unauthorized: a valid subscriber token is required.");
        return;
    }

    HeaderList headers = stream_headers();
    for (auto& header : cors_headers(request))
        headers.push_back(std::move(header));
    history_->expire(now_ms());
    ReplayStart replay = replay_start(request, *query);
    if (replay.requested) {
        // The id of the event just before the first one this stream will send: the client's
        // own id when the hub knows it (nothing was lost), else "earliest": for "earliest" the
        // replay starts at the oldest stored update; for an unknown id nothing is replayed (as
        // upstream) and the header tells the client it may have missed updates.
        headers.emplace_back("Last-Event-ID", replay.known_id ? std::string(*replay.known_id) : "earliest");
    }
    if (request.method == "HEAD") {
        connection.respond(request, 200, headers, "");
        return;
    }

    Subscription subscription;
    subscription.id = uuids_.next_urn();
    subscription.selectors = selectors_.get_all(topics);
    subscription.anonymous = auth.anonymous;
    if (auth.token) {
        subscription.private_selectors = auth.token->subscribe;
        subscription.payload_json = auth.token->claims.payload_json;
    }

    // The stream ends at write_timeout, or when the token expires, whichever comes first.
    std::chrono::milliseconds lifetime = config_.write_timeout;
    if (auth.token && auth.token->claims.expires_at) {
        auto left = std::chrono::seconds(*auth.token->claims.expires_at - static_cast<std::int64_t>(std::time(nullptr)));
        auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(left);
        if (left_ms.count() < 1)
            left_ms = std::chrono::milliseconds(1);
        if (lifetime.count() == 0 || left_ms < lifetime)
            lifetime = left_ms;
    }

    connection.set_peer(remote);
    connection.begin_stream(request, headers, lifetime);
    if (connection.closed())
        return;
    auto& entry = connections_.at(&connection);
    entry.stream = std::make_unique<SubscriberStream>(std::move(subscription), connection, heartbeats_, output_);
    SubscriberStream& stream = *entry.stream;
    heartbeats_.add(stream);
    stream.write(stream_opening_);
    if (connection.closed())
        return;
    if (stopping_) {
        // A subscriber arriving during the drain gets an empty stream that ends at once, so an
        // EventSource reconnects (to the next instance) instead of failing on an error status.
        connection.end_stream("hub stopping");
        return;
    }
    if (replay.after)
        stream.start_replay(*replay.after);
    registry_.add(stream);
    ++metrics_.subscribers_total;
    pump_replay(stream);
    if (connection.closed())
        return;
    for (Update& event : subscription_events(stream.subscription(), true))
        publish(std::move(event), std::nullopt);

    std::string topic_list;
    for (const auto& selector : stream.subscription().selectors)
        topic_list += (topic_list.empty() ? "" : " ") + selector->text();
    logger_.log(LogLevel::Info, LogEvent::SubscriberConnected, "New subscriber",
                {{"MERCURE_SUBSCRIBER", stream.subscription().id}, {"MERCURE_TOPIC", topic_list},
                 {"REMOTE_ADDR", remote}});
}

} // namespace mercure
