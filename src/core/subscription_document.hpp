// JSON-LD documents of the active subscriptions feature: events and API bodies.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/subscriber.hpp"

namespace mercure {

// Path prefix of subscription topics and of the API.
inline constexpr std::string_view subscriptions_path = "/.well-known/mercure/subscriptions";

// "/.well-known/mercure/subscriptions/{topic}/{subscriber}", both parts percent-encoded the way
// an RFC 6570 {var} expansion encodes them (upper-case hex).
std::string subscription_topic(std::string_view selector, std::string_view subscriber_id);

// One subscription of a subscriber to one selector, as listed by the API.
struct SubscriptionView {
    const Subscription* subscription;
    const std::string* selector;
};

// The JSON-LD object of one subscription (@context, id, type, topic, subscriber, active,
// payload when the token had one); `last_event_id` is added when non-empty (API responses).
std::string subscription_json(const Subscription& subscription, const std::string& selector, bool active,
                              std::string_view last_event_id = {});

// The JSON-LD collection for the API: @context, id (`path`), type "Subscriptions",
// lastEventID and every subscription listed.
std::string subscriptions_collection_json(std::string_view path, std::string_view last_event_id,
                                          const std::vector<SubscriptionView>& subscriptions);

// Decodes %XX escapes of one path segment (no '+' rule); nullopt when malformed.
std::optional<std::string> decode_path_segment(std::string_view segment);

} // namespace mercure
