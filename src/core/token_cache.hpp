// TokenCache: verified tokens kept by their text, so a keep-alive publisher's token is checked once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/selector_cache.hpp"
#include "core/token_verifier.hpp"

namespace mercure {

// A token that verified, with its claims' selectors compiled once.
struct VerifiedToken {
    TokenClaims claims;
    std::vector<SelectorPtr> publish;    // compiled mercure.publish (empty when absent)
    std::vector<SelectorPtr> subscribe;  // compiled mercure.subscribe (empty when absent)
    std::int64_t valid_until = std::numeric_limits<std::int64_t>::max();  // exp, seconds
};
using VerifiedTokenPtr = std::shared_ptr<const VerifiedToken>;

// Only tokens that verified are kept (so the cache cannot be filled without the key), each
// until its exp; a hit past exp is a miss, and the caller verifies again, which refuses it.
// Bounded: when full, the cache is emptied and refills with the tokens in use. Cleared when the
// keys change (reload). One per verifier; single-threaded.
class TokenCache {
public:
    explicit TokenCache(std::size_t capacity = 4096) : capacity_(capacity) {}

    // The verified token for this text when cached and not expired at `now`; null otherwise.
    VerifiedTokenPtr find(std::string_view token, std::int64_t now) const;

    // Keeps a verified token and returns it.
    VerifiedTokenPtr insert(std::string_view token, VerifiedTokenPtr verified);

    void clear() { entries_.clear(); }
    std::size_t size() const { return entries_.size(); }

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::size_t capacity_;
    std::unordered_map<std::string, VerifiedTokenPtr, Hash, std::equal_to<>> entries_;
};

// Compiles a verified token's claims into a VerifiedToken.
VerifiedTokenPtr compile_token(TokenClaims claims, SelectorCache& selectors);

} // namespace mercure
