// Authorization decisions: where a request's token comes from, and what its claims allow.
#include "core/authorization.hpp"

#include <algorithm>

namespace mercure {

namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool matched_by_any(const std::vector<SelectorPtr>& selectors, std::string_view topic)
{
    return std::any_of(selectors.begin(), selectors.end(), [&](const SelectorPtr& s) { return s->matches(topic); });
}

} // namespace

std::optional<std::string> find_cookie(std::string_view header, std::string_view name)
{
    while (!header.empty()) {
        std::size_t semi = header.find(';');
        std::string_view pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
        std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name)
            continue;
        std::string_view value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        return std::string(value);
    }
    return std::nullopt;
}

PresentedToken locate_token(std::optional<std::string_view> authorization_header,
                            std::optional<std::string_view> query_token,
                            std::optional<std::string_view> cookie_header, std::string_view cookie_name)
{
    PresentedToken presented;
    if (authorization_header) {
        presented.source = TokenSource::Header;
        std::string_view value = trim(*authorization_header);
        static constexpr std::string_view scheme = "Bearer ";
        if (value.size() > scheme.size() && value.substr(0, scheme.size()) == scheme)
            presented.token = std::string(trim(value.substr(scheme.size())));
        presented.malformed = presented.token.empty();
        return presented;
    }
    if (query_token) {
        presented.source = TokenSource::Query;
        presented.token = std::string(*query_token);
        presented.malformed = presented.token.empty();
        return presented;
    }
    if (cookie_header) {
        if (auto value = find_cookie(*cookie_header, cookie_name)) {
            presented.source = TokenSource::Cookie;
            presented.token = std::move(*value);
            presented.malformed = presented.token.empty();
        }
    }
    return presented;
}

bool selectors_cover_all(const std::vector<SelectorPtr>& selectors, const std::vector<std::string>& topics)
{
    return std::all_of(topics.begin(), topics.end(), [&](const std::string& t) { return matched_by_any(selectors, t); });
}

bool selectors_match_any(const std::vector<SelectorPtr>& selectors, const std::vector<std::string>& topics)
{
    return std::any_of(topics.begin(), topics.end(), [&](const std::string& t) { return matched_by_any(selectors, t); });
}

} // namespace mercure
