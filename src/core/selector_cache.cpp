// SelectorCache: interns compiled topic selectors by their text, bounded in size.
#include "core/selector_cache.hpp"

#include <algorithm>
#include <unordered_set>

namespace mercure {

void SelectorCache::sweep_unused()
{
    std::erase_if(entries_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

SelectorPtr SelectorCache::get(std::string_view text)
{
    if (auto it = entries_.find(text); it != entries_.end())
        return it->second;
    auto selector = std::make_shared<const TopicSelector>(std::string(text));
    if (entries_.size() >= capacity_)
        sweep_unused();
    if (entries_.size() < capacity_)
        entries_.emplace(std::string(text), selector);
    return selector;
}

std::vector<SelectorPtr> SelectorCache::get_all(const std::vector<std::string>& texts)
{
    std::vector<SelectorPtr> out;
    out.reserve(texts.size());
    std::unordered_set<std::string_view> seen;
    for (const auto& text : texts) {
        if (seen.insert(text).second)
            out.push_back(get(text));
    }
    return out;
}

} // namespace mercure
