// Authorization decisions: where a request's token comes from, and what its claims allow.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/topic_selector.hpp"

namespace mercure {

enum class TokenSource { None, Header, Query, Cookie };

// The token a request presents. `malformed` is set when an Authorization header is present but
// is not "Bearer <token>": such a request is refused, never treated as anonymous.
struct PresentedToken {
    TokenSource source = TokenSource::None;
    std::string token;
    bool malformed = false;
};

// Finds the token strictly in protocol order: the Authorization header, else the
// "authorization" query parameter, else the cookie named `cookie_name`.
PresentedToken locate_token(std::optional<std::string_view> authorization_header,
                            std::optional<std::string_view> query_token,
                            std::optional<std::string_view> cookie_header, std::string_view cookie_name);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), unquoted; nullopt when absent.
std::optional<std::string> find_cookie(std::string_view cookie_header, std::string_view name);

// True when every topic is matched by at least one selector (publishing needs all of them).
bool selectors_cover_all(const std::vector<SelectorPtr>& selectors, const std::vector<std::string>& topics);

// True when at least one topic is matched by at least one selector.
bool selectors_match_any(const std::vector<SelectorPtr>& selectors, const std::vector<std::string>& topics);

} // namespace mercure
