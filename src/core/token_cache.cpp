// TokenCache: verified tokens kept by their text, so a keep-alive publisher's token is checked once.
#include "core/token_cache.hpp"

namespace mercure {

VerifiedTokenPtr TokenCache::find(std::string_view token, std::int64_t now) const
{
    auto it = entries_.find(token);
    if (it == entries_.end() || now >= it->second->valid_until)
        return nullptr;
    return it->second;
}

VerifiedTokenPtr TokenCache::insert(std::string_view token, VerifiedTokenPtr verified)
{
    if (capacity_ == 0)
        return verified;
    if (entries_.size() >= capacity_)
        entries_.clear();
    entries_.insert_or_assign(std::string(token), verified);
    return verified;
}

VerifiedTokenPtr compile_token(TokenClaims claims, SelectorCache& selectors)
{
    auto verified = std::make_shared<VerifiedToken>();
    if (claims.publish)
        verified->publish = selectors.get_all(*claims.publish);
    if (claims.subscribe)
        verified->subscribe = selectors.get_all(*claims.subscribe);
    if (claims.expires_at)
        verified->valid_until = *claims.expires_at;
    verified->claims = std::move(claims);
    return verified;
}

} // namespace mercure
