// SelectorCache: interns compiled topic selectors by their text, bounded in size.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/topic_selector.hpp"

namespace mercure {

// Compiling a template costs far more than a hash lookup, and thousands of subscribers usually
// share a handful of selectors: interning also shares their memory. The cache holds at most
// `capacity` entries; when full it first drops entries nobody else references, and if all are
// in use it hands out an uncached selector rather than grow.
class SelectorCache {
public:
    explicit SelectorCache(std::size_t capacity = 10000) : capacity_(capacity) {}

    // The compiled selector for `text`, shared with every other holder of the same text.
    SelectorPtr get(std::string_view text);

    // Compiles every text, in order, skipping duplicates.
    std::vector<SelectorPtr> get_all(const std::vector<std::string>& texts);

    std::size_t size() const { return entries_.size(); }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    void sweep_unused();

    std::size_t capacity_;
    std::unordered_map<std::string, SelectorPtr, Hash, std::equal_to<>> entries_;
};

} // namespace mercure
