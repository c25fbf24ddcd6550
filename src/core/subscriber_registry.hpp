// SubscriberRegistry: finds the subscribers an update goes to without scanning them all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/subscriber.hpp"

namespace mercure {

// Subscribers are grouped by selector. Exact selectors are found by hashing each topic of the
// update; "*" subscribers sit in one list; a template group is evaluated once per update for all
// the subscribers sharing that template (after a cheap literal-prefix check). A subscriber that
// several groups select is returned once (dispatch marks), and only when it may see the update.
//
// The registry does not own subscribers: the hub removes a subscriber before destroying it.
class SubscriberRegistry {
public:
    // Registers a subscriber under each of its selectors.
    void add(Subscriber& subscriber);

    // Unregisters a subscriber; harmless if it is not registered.
    void remove(Subscriber& subscriber);

    // Fills `out` (cleared first) with every registered subscriber that must receive `update`.
    void collect_recipients(const Update& update, std::vector<Subscriber*>& out);

    std::size_t size() const { return count_; }

private:
    struct Group {
        SelectorPtr selector;
        std::vector<Subscriber*> members;
    };
    using GroupMap = std::unordered_map<std::string_view, Group>;

    GroupMap& map_for(const TopicSelector& selector);
    void consider(Subscriber* subscriber, const Update& update, std::vector<Subscriber*>& out);

    GroupMap exact_;
    GroupMap templates_;
    Group wildcard_;
    std::uint64_t dispatch_counter_ = 0;
    std::size_t count_ = 0;
};

} // namespace mercure
