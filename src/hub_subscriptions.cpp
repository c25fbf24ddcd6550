// Hub active subscriptions: subscription events and the JSON-LD subscriptions API.
#include "core/subscription_document.hpp"
#include "hub.hpp"

namespace mercure {

namespace {

// If-None-Match may list several tags, quoted or weak ("W/"); ours is the bare last event id.
bool etag_matches(std::string_view header, std::string_view tag)
{
    while (!header.empty()) {
        std::size_t comma = header.find(',');
        std::string_view candidate = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        while (!candidate.empty() && candidate.front() == ' ')
            candidate.remove_prefix(1);
        while (!candidate.empty() && candidate.back() == ' ')
            candidate.remove_suffix(1);
        if (candidate.starts_with("W/"))
            candidate.remove_prefix(2);
        if (candidate.size() >= 2 && candidate.front() == '"' && candidate.back() == '"')
            candidate = candidate.substr(1, candidate.size() - 2);
        if (candidate == tag || candidate == "*")
            return true;
    }
    return false;
}

} // namespace

std::vector<Update> Hub::subscription_events(const Subscription& subscription, bool active)
{
    if (!config_.subscriptions)
        return {};
    // Every subscription starts and ends here, so presence in the cluster follows it.
    cluster_presence(subscription, active);
    return subscription_updates(subscription, active);
}

std::vector<Update> Hub::subscription_updates(const Subscription& subscription, bool active)
{
    std::vector<Update> events;
    for (const SelectorPtr& selector : subscription.selectors) {
        Update event;
        event.topics.push_back(subscription_topic(selector->text(), subscription.id));
        event.is_private = true;
        event.id = uuids_.next_urn();
        event.data = subscription_json(subscription, selector->text(), active);
        events.push_back(std::move(event));
    }
    return events;
}

void Hub::serve_subscriptions_api(Connection& connection, HttpRequest& request)
{
    if (!config_.subscriptions) {
        reply_error(connection, request, 404, "Not Found: the subscriptions API is disabled.");
        return;
    }
    if (request.method == "OPTIONS") {
        serve_preflight(connection, request);
        return;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        reply_error(connection, request, 405, "Method Not Allowed.", {{"Allow", "GET, HEAD, OPTIONS"}});
        return;
    }
    auto query = parse_urlencoded(request.query).value_or(FormPairs{});
    Authentication auth = authenticate(request, query, subscriber_verifier_.get(), subscriber_tokens_);
    if (auth.anonymous || auth.refused) {
        logger_.log(LogLevel::Debug, LogEvent::AuthRefused, "Subscriptions API refused",
                    {{"REASON", auth.anonymous ? "no token" : auth.reason},
                     {"REMOTE_ADDR", client_address(connection, request)}});
        reply_error(connection, request, 401, "Unauthorized: a valid subscriber token is required.");
        return;
    }
    std::vector<std::string> requested{request.target, request.path};
    if (!auth.token->claims.subscribe || !selectors_match_any(auth.token->subscribe, requested)) {
        reply_error(connection, request, 403, "Forbidden: the token's \"mercure.subscribe\" does not cover this URL.");
        return;
    }

    // Segments after the prefix: none (all), {topic}, or {topic}/{subscriber}.
    std::string_view rest = std::string_view(request.path).substr(subscriptions_path.size());
    std::optional<std::string> topic;
    std::optional<std::string> subscriber;
    if (!rest.empty()) {
        rest.remove_prefix(1);
        std::size_t slash = rest.find('/');
        topic = decode_path_segment(rest.substr(0, slash));
        if (slash != std::string_view::npos) {
            std::string_view id = rest.substr(slash + 1);
            if (id.find('/') != std::string_view::npos) {
                reply_error(connection, request, 404, "Not Found.");
                return;
            }
            subscriber = decode_path_segment(id);
            if (!subscriber) {
                reply_error(connection, request, 400, "Invalid subscriber: malformed percent-encoding.");
                return;
            }
        }
        if (!topic) {
            reply_error(connection, request, 400, "Invalid topic: malformed percent-encoding.");
            return;
        }
    }

    std::string last_event_id = history_->last_id().value_or("earliest");
    HeaderList headers{{"ETag", last_event_id}};
    if (auto match = request.header("if-none-match"); match && etag_matches(*match, last_event_id)) {
        for (auto& header : cors_headers(request))
            headers.push_back(std::move(header));
        connection.respond(request, 304, headers, "");
        return;
    }

    if (cluster_) {
        serve_cluster_subscriptions(connection, request, std::move(topic), std::move(subscriber),
                                    std::move(last_event_id), std::move(headers));
        return;
    }
    std::vector<SubscriptionView> views;
    for (const auto& [raw, entry] : connections_) {
        if (!entry.stream || raw->closed())
            continue;
        const Subscription& s = entry.stream->subscription();
        if (subscriber && s.id != *subscriber)
            continue;
        for (const SelectorPtr& selector : s.selectors)
            if (!topic || selector->text() == *topic)
                views.push_back(SubscriptionView{&s, &selector->text()});
    }
    if (subscriber) {
        if (views.empty()) {
            reply_error(connection, request, 404, "Not Found: no such subscription.");
            return;
        }
        reply(connection, request, 200, "application/ld+json",
              subscription_json(*views.front().subscription, *views.front().selector, true, last_event_id),
              std::move(headers));
        return;
    }
    reply(connection, request, 200, "application/ld+json",
          subscriptions_collection_json(request.path, last_event_id, views), std::move(headers));
}

} // namespace mercure
