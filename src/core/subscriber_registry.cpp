// SubscriberRegistry: finds the subscribers an update goes to without scanning them all.
#include "core/subscriber_registry.hpp"

namespace mercure {

SubscriberRegistry::GroupMap& SubscriberRegistry::map_for(const TopicSelector& selector)
{
    return selector.kind() == TopicSelector::Kind::Template ? templates_ : exact_;
}

void SubscriberRegistry::add(Subscriber& subscriber)
{
    if (subscriber.registered_)
        return;
    const auto& selectors = subscriber.subscription_.selectors;
    subscriber.slots_.resize(selectors.size());
    for (std::size_t i = 0; i < selectors.size(); ++i) {
        const SelectorPtr& selector = selectors[i];
        Group* group = &wildcard_;
        if (selector->kind() != TopicSelector::Kind::Any) {
            GroupMap& map = map_for(*selector);
            auto [it, inserted] = map.try_emplace(selector->text());
            if (inserted)
                it->second.selector = selector;
            group = &it->second;
        }
        subscriber.slots_[i] = static_cast<std::uint32_t>(group->members.size());
        group->members.push_back(&subscriber);
    }
    subscriber.registered_ = true;
    ++count_;
}

void SubscriberRegistry::remove(Subscriber& subscriber)
{
    if (!subscriber.registered_)
        return;
    const auto& selectors = subscriber.subscription_.selectors;
    for (std::size_t i = 0; i < selectors.size(); ++i) {
        const TopicSelector& selector = *selectors[i];
        GroupMap* map = selector.kind() == TopicSelector::Kind::Any ? nullptr : &map_for(selector);
        GroupMap::iterator it;
        Group* group = &wildcard_;
        if (map) {
            it = map->find(selector.text());
            group = &it->second;
        }
        // Swap-remove: the last member takes this slot and its own slot index is updated.
        std::uint32_t slot = subscriber.slots_[i];
        Subscriber* moved = group->members.back();
        group->members[slot] = moved;
        group->members.pop_back();
        if (moved != &subscriber) {
            const auto& moved_selectors = moved->subscription_.selectors;
            for (std::size_t j = 0; j < moved_selectors.size(); ++j) {
                const TopicSelector& candidate = *moved_selectors[j];
                if (candidate.kind() == selector.kind() && candidate.text() == selector.text()) {
                    moved->slots_[j] = slot;
                    break;
                }
            }
        }
        if (map && group->members.empty())
            map->erase(it);
    }
    subscriber.slots_.clear();
    subscriber.registered_ = false;
    --count_;
}

void SubscriberRegistry::consider(Subscriber* subscriber, const Update& update, std::vector<Subscriber*>& out)
{
    if (subscriber->dispatch_mark_ == dispatch_counter_)
        return;
    subscriber->dispatch_mark_ = dispatch_counter_;
    if (subscriber->subscription_.may_receive(update))
        out.push_back(subscriber);
}

void SubscriberRegistry::collect_recipients(const Update& update, std::vector<Subscriber*>& out)
{
    out.clear();
    ++dispatch_counter_;
    for (Subscriber* s : wildcard_.members)
        consider(s, update, out);
    for (const std::string& topic : update.topics) {
        if (auto it = exact_.find(topic); it != exact_.end()) {
            for (Subscriber* s : it->second.members)
                consider(s, update, out);
        }
    }
    for (auto& [text, group] : templates_) {
        for (const std::string& topic : update.topics) {
            if (group.selector->matches(topic)) {
                for (Subscriber* s : group.members)
                    consider(s, update, out);
                break;
            }
        }
    }
}

} // namespace mercure
