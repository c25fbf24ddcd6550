// Subscriber: what a subscription asked for and may see, as the registry knows it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/authorization.hpp"
#include "core/topic_selector.hpp"
#include "core/update.hpp"

namespace mercure {

// The immutable facts of one subscription, fixed when the stream starts.
struct Subscription {
    std::string id;                               // "urn:uuid:...", per connection
    std::vector<SelectorPtr> selectors;           // the `topic` selectors, deduplicated
    std::vector<SelectorPtr> private_selectors;   // the token's mercure.subscribe; empty: none
    std::string payload_json;                     // the token's mercure.payload, "" if none
    bool anonymous = true;

    // True when one of the selectors matches one of the update's topics.
    bool matches(const Update& update) const
    {
        return selectors_match_any(selectors, update.topics);
    }

    // True when the update is public, or private with a topic its claims match.
    bool may_receive(const Update& update) const
    {
        return !update.is_private || selectors_match_any(private_selectors, update.topics);
    }
};

// A registered receiver of updates. The SSE stream derives from it; unit tests derive fakes.
class Subscriber {
public:
    explicit Subscriber(Subscription subscription) : subscription_(std::move(subscription)) {}
    virtual ~Subscriber() = default;
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    const Subscription& subscription() const { return subscription_; }

    // Sends one frame. Called while the hub walks its recipients: an implementation that fails
    // must only mark itself dead and let the hub reap it later, never destroy itself here.
    virtual void deliver(const FramePtr& frame) = 0;

private:
    friend class SubscriberRegistry;
    Subscription subscription_;
    std::uint64_t dispatch_mark_ = 0;   // last dispatch that selected it: exactly-once delivery
    std::vector<std::uint32_t> slots_;  // its index in each selector's group, parallel to selectors
    bool registered_ = false;
};

} // namespace mercure
