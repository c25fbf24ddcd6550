// JSON-LD documents of the active subscriptions feature: events and API bodies.
#include "core/subscription_document.hpp"

#include "util/json.hpp"
#include "util/percent_encoding.hpp"

namespace mercure {

namespace {

constexpr std::string_view context = "https://mercure.rocks/";

json_object* new_string(std::string_view s)
{
    return json_object_new_string_len(s.data(), static_cast<int>(s.size()));
}

JsonPtr subscription_object(const Subscription& subscription, const std::string& selector, bool active,
                            std::string_view last_event_id)
{
    JsonPtr object(json_object_new_object());
    json_object* o = object.get();
    json_object_object_add(o, "@context", new_string(context));
    json_object_object_add(o, "id", new_string(subscription_topic(selector, subscription.id)));
    json_object_object_add(o, "type", new_string("Subscription"));
    json_object_object_add(o, "topic", new_string(selector));
    json_object_object_add(o, "subscriber", new_string(subscription.id));
    json_object_object_add(o, "active", json_object_new_boolean(active));
    if (!subscription.payload_json.empty()) {
        if (JsonPtr payload = json_parse_strict(subscription.payload_json))
            json_object_object_add(o, "payload", payload.release());
    }
    if (!last_event_id.empty())
        json_object_object_add(o, "lastEventID", new_string(last_event_id));
    return object;
}

} // namespace

std::string subscription_topic(std::string_view selector, std::string_view subscriber_id)
{
    std::string topic(subscriptions_path);
    topic += '/';
    topic += percent_encode(selector);
    topic += '/';
    topic += percent_encode(subscriber_id);
    return topic;
}

std::string subscription_json(const Subscription& subscription, const std::string& selector, bool active,
                              std::string_view last_event_id)
{
    return json_to_compact_string(subscription_object(subscription, selector, active, last_event_id).get());
}

std::string subscriptions_collection_json(std::string_view path, std::string_view last_event_id,
                                          const std::vector<SubscriptionView>& subscriptions)
{
    JsonPtr object(json_object_new_object());
    json_object* o = object.get();
    json_object_object_add(o, "@context", new_string(context));
    json_object_object_add(o, "id", new_string(path));
    json_object_object_add(o, "type", new_string("Subscriptions"));
    json_object_object_add(o, "lastEventID", new_string(last_event_id));
    json_object* list = json_object_new_array();
    for (const SubscriptionView& view : subscriptions)
        json_object_array_add(list, subscription_object(*view.subscription, *view.selector, true, {}).release());
    json_object_object_add(o, "subscriptions", list);
    return json_to_compact_string(o);
}

std::optional<std::string> decode_path_segment(std::string_view segment)
{
    return percent_decode(segment);
}

} // namespace mercure
