// Hub publish handler: authenticate, validate, acknowledge, then fan out.
#include <algorithm>

#include "core/publish_form.hpp"
#include "hub.hpp"

namespace mercure {

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
}

// "https://example.com/path" -> "https://example.com": the origin of a Referer.
std::string_view origin_of(std::string_view url)
{
    std::size_t scheme = url.find("://");
    if (scheme == std::string_view::npos)
        return url;
    std::size_t slash = url.find('/', scheme + 3);
    return url.substr(0, slash);
}

} // namespace

void Hub::serve_publish(Connection& connection, HttpRequest& request)
{
    // Every refusal below counts as a failed update.
    auto refuse = [&](int status, std::string_view reason) {
        ++metrics_.updates_failed_total;
        reply_error(connection, request, status, reason);
    };
    if (auto type = request.header("content-type")) {
        std::string media = lower(type->substr(0, type->find(';')));
        while (!media.empty() && media.back() == ' ')
            media.pop_back();
        if (media != "application/x-www-form-urlencoded") {
            refuse(415, "Unsupported Content-Type: expected application/x-www-form-urlencoded.");
            return;
        }
    }
    auto query = parse_urlencoded(request.query).value_or(FormPairs{});
    Authentication auth = authenticate(request, query, publisher_verifier_.get(), publisher_tokens_);
    std::string remote = client_address(connection, request);
    if (auth.anonymous || auth.refused) {
        logger_.log(LogLevel::Debug, LogEvent::AuthRefused, "Publish refused: invalid or missing token",
                    {{"REASON", auth.anonymous ? "no token" : auth.reason}, {"REMOTE_ADDR", remote}});
        metrics_.refuse(auth.refusal);
        refuse(401, "Unauthorized: a valid publisher token is required.");
        return;
    }
    if (auth.source == TokenSource::Cookie) {
        // Cookies are sent by browsers on cross-site requests: require a known Origin (CSRF).
        auto origin = request.header("origin");
        std::string_view claimed = origin ? *origin : origin_of(request.header("referer").value_or(""));
        const auto& allowed = config_.publish_allowed_origins;
        bool listed = !claimed.empty() && std::any_of(allowed.begin(), allowed.end(), [&](const std::string& o) {
            return o == "*" || o == claimed;
        });
        if (!listed) {
            logger_.log(LogLevel::Debug, LogEvent::AuthRefused, "Publish refused: cookie without an allowed Origin",
                        {{"REASON", claimed.empty() ? "no Origin or Referer" : claimed}, {"REMOTE_ADDR", remote}});
            metrics_.refuse(RefusalReason::Origin);
            refuse(403, "Forbidden: origin not allowed to publish with a cookie.");
            return;
        }
    }

    auto parsed = parse_publish_form(request.body, config_.max_topics, config_.max_topic_length);
    if (auto* refusal = std::get_if<PublishRefusal>(&parsed)) {
        refuse(refusal->status, refusal->reason);
        return;
    }
    Update& update = std::get<Update>(parsed);

    if (!auth.token->claims.publish) {
        metrics_.refuse(RefusalReason::Forbidden);
        refuse(403, "Forbidden: the token has no \"mercure.publish\" claim.");
        return;
    }
    if (!selectors_cover_all(auth.token->publish, update.topics)) {
        logger_.log(LogLevel::Debug, LogEvent::AuthRefused, "Publish refused: topic not allowed by the token",
                    {{"MERCURE_TOPIC", update.topics.front()}, {"REMOTE_ADDR", remote}});
        metrics_.refuse(RefusalReason::Forbidden);
        refuse(403, "Forbidden: the token does not allow publishing to every topic.");
        return;
    }
    if (update.id.empty())
        update.id = uuids_.next_urn();

    PublishAck ack;
    ack.connection = &connection;
    ack.serial = connection.serial();
    ack.reply = Connection::reply_context(request, stopping_);
    ack.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    for (auto& header : cors_headers(request))
        ack.headers.push_back(std::move(header));
    ack.remote = std::move(remote);
    // The answer may wait for the group commit: keep later pipelined requests behind it.
    connection.defer_response();
    publish(std::move(update), std::move(ack));
}

} // namespace mercure
