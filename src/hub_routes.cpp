// Hub request routing, small endpoints, CORS and authentication shared by the handlers.
#include <algorithm>
#include <ctime>

#include "cluster/cluster_transport.hpp"
#include "core/subscription_document.hpp"
#include "hub.hpp"
#include "ui/ui_assets.hpp"

namespace mercure {

namespace {

constexpr std::string_view hub_path = "/.well-known/mercure";
constexpr std::string_view ui_path = "/.well-known/mercure/ui/";

constexpr std::string_view welcome_page = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Welcome to Mercure!</title>
</head>
<body>
<h1>Welcome to Mercure!</h1>
<p>This is a <a href="https://mercure.rocks">Mercure</a> hub. Subscribe with an SSE client to
<code>/.well-known/mercure?topic=...</code>; publish with a <code>POST</code> to the same URL.</p>
<p>See <code>man mercure</code> for how to configure and operate it.</p>
</body>
</html>
)";

bool origin_listed(const std::vector<std::string>& allowed, std::string_view origin)
{
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const std::string& entry) { return entry == "*" || entry == origin; });
}

} // namespace

void Hub::reply(Connection& connection, const HttpRequest& request, int status, std::string_view content_type,
                std::string_view body, HeaderList headers)
{
    headers.emplace_back("Content-Type", std::string(content_type));
    for (auto& header : cors_headers(request))
        headers.push_back(std::move(header));
    connection.respond(request, status, headers, body, stopping_);
}

void Hub::reply_error(Connection& connection, const HttpRequest& request, int status, std::string_view reason,
                      HeaderList headers)
{
    std::string body(reason);
    body += '\n';
    reply(connection, request, status, "text/plain; charset=utf-8", body, std::move(headers));
}

HeaderList Hub::cors_headers(const HttpRequest& request) const
{
    auto origin = request.header("origin");
    if (!origin || !origin_listed(config_.cors_allowed_origins, *origin))
        return {};
    return {{"Access-Control-Allow-Origin", std::string(*origin)},
            {"Access-Control-Allow-Credentials", "true"},
            {"Vary", "Origin"}};
}

std::string Hub::client_address(const Connection& connection, const HttpRequest& request) const
{
    if (!config_.use_forwarded_headers)
        return connection.peer();
    if (auto forwarded_for = request.header("x-forwarded-for")) {
        std::string_view first = forwarded_for->substr(0, forwarded_for->find(','));
        while (!first.empty() && first.front() == ' ')
            first.remove_prefix(1);
        while (!first.empty() && first.back() == ' ')
            first.remove_suffix(1);
        if (!first.empty())
            return std::string(first);
    }
    if (auto forwarded = request.header("forwarded")) {
        std::string_view rest = *forwarded;
        std::size_t at = rest.find("for=");
        if (at != std::string_view::npos) {
            std::string_view value = rest.substr(at + 4);
            value = value.substr(0, value.find_first_of(";,"));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            if (!value.empty())
                return std::string(value);
        }
    }
    return connection.peer();
}

Hub::Authentication Hub::authenticate(const HttpRequest& request, const FormPairs& query,
                                      const TokenVerifier* verifier, TokenCache& cache)
{
    std::optional<std::string_view> query_token;
    for (const auto& [key, value] : query) {
        if (key == "authorization") {
            query_token = value;
            break;
        }
    }
    PresentedToken presented =
        locate_token(request.header("authorization"), query_token, request.header("cookie"), config_.cookie_name);
    Authentication auth;
    auth.source = presented.source;
    if (presented.source == TokenSource::None)
        return auth;
    auth.anonymous = false;
    if (presented.malformed) {
        auth.refused = true;
        auth.refusal = RefusalReason::Malformed;
        auth.reason = "malformed Authorization header (expected \"Bearer <token>\")";
        return auth;
    }
    if (!verifier) {
        auth.refused = true;
        auth.refusal = RefusalReason::Signature;
        auth.reason = "no key is configured for this role";
        return auth;
    }
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    if ((auth.token = cache.find(presented.token, now)))
        return auth;
    auto verdict = verifier->verify(presented.token, now);
    if (auto* refusal = std::get_if<TokenRefusal>(&verdict)) {
        auth.refused = true;
        auth.reason = std::string(token_refusal_reason(*refusal));
        switch (*refusal) {
        case TokenRefusal::Malformed: auth.refusal = RefusalReason::Malformed; break;
        case TokenRefusal::AlgorithmMismatch: auth.refusal = RefusalReason::Algorithm; break;
        case TokenRefusal::BadSignature: auth.refusal = RefusalReason::Signature; break;
        case TokenRefusal::Expired: auth.refusal = RefusalReason::Expired; break;
        case TokenRefusal::NotYetValid: auth.refusal = RefusalReason::NotYetValid; break;
        }
        return auth;
    }
    auth.token = cache.insert(presented.token, compile_token(std::move(std::get<TokenClaims>(verdict)), selectors_));
    return auth;
}

void Hub::on_request(Connection& connection, HttpRequest& request)
{
    const std::string& path = request.path;
    bool admin = connections_.at(&connection).admin;
    if (admin || path == "/healthz" || path == "/readyz" || path == "/metrics") {
        serve_operational(connection, request, admin);
    } else if (path == hub_path) {
        serve_hub_url(connection, request);
    } else if (path == subscriptions_path || path.starts_with(std::string(subscriptions_path) + "/")) {
        serve_subscriptions_api(connection, request);
    } else if (path == "/.well-known/mercure/ui" && (config_.demo || config_.debug)) {
        reply(connection, request, 308, "text/plain; charset=utf-8", "", {{"Location", std::string(ui_path)}});
    } else if (path.starts_with(ui_path) && (config_.demo || config_.debug)) {
        serve_ui(connection, request, std::string_view(path).substr(ui_path.size()));
    } else if (path.starts_with(std::string(hub_path) + "/")) {
        reply_error(connection, request, 404, "Not Found.");
    } else if (path == "/") {
        if (config_.demo)  // demo mode: the UI is the home page, as upstream
            reply(connection, request, 302, "text/plain; charset=utf-8", "", {{"Location", std::string(ui_path)}});
        else if (request.method == "GET" || request.method == "HEAD")
            reply(connection, request, 200, "text/html; charset=utf-8", welcome_page);
        else
            reply_error(connection, request, 405, "Method Not Allowed.", {{"Allow", "GET, HEAD"}});
    } else if (request.method == "OPTIONS") {
        serve_preflight(connection, request);
    } else {
        reply_error(connection, request, 404, "Not Found.");
    }
}

void Hub::serve_operational(Connection& connection, const HttpRequest& request, bool admin)
{
    const std::string& path = request.path;
    bool metrics_here = config_.metrics && (admin || config_.metrics_addr.empty());
    if (path != "/healthz" && path != "/readyz" && !(path == "/metrics" && metrics_here)) {
        reply_error(connection, request, 404, "Not Found.");
        return;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        reply_error(connection, request, 405, "Method Not Allowed.", {{"Allow", "GET, HEAD"}});
        return;
    }
    if (path == "/healthz") {
        // Liveness: the loop answers.
        reply(connection, request, 200, "text/plain; charset=utf-8", "ok");
    } else if (path == "/readyz") {
        // Readiness: fails while draining, so a load balancer stops sending new clients.
        if (stopping_)
            reply(connection, request, 503, "text/plain; charset=utf-8", "draining\n");
        else if (store_failing_)
            reply(connection, request, 503, "text/plain; charset=utf-8", "history store failing\n");
        else if (cluster_ && !cluster_->up())
            reply(connection, request, 503, "text/plain; charset=utf-8",
                  "cluster transport unavailable: " + cluster_->down_reason() + "\n");
        else
            reply(connection, request, 200, "text/plain; charset=utf-8", "ready");
    } else {
        serve_metrics(connection, request);
    }
}

void Hub::serve_ui(Connection& connection, const HttpRequest& request, std::string_view relative)
{
    if (request.method != "GET" && request.method != "HEAD") {
        reply_error(connection, request, 405, "Method Not Allowed.", {{"Allow", "GET, HEAD"}});
        return;
    }
    const UiAsset* asset = find_ui_asset(relative);
    if (!asset) {
        reply_error(connection, request, 404, "Not Found.");
        return;
    }
    reply(connection, request, 200, asset->content_type, asset->body,
          {{"Cache-Control", "no-cache"},
           {"X-Content-Type-Options", "nosniff"},
           {"Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"}});
}

void Hub::serve_hub_url(Connection& connection, HttpRequest& request)
{
    const std::string& method = request.method;
    if (method == "GET" || method == "HEAD")
        serve_subscribe(connection, request);
    else if (method == "POST")
        serve_publish(connection, request);
    else if (method == "OPTIONS")
        serve_preflight(connection, request);
    else
        reply_error(connection, request, 405, "Method Not Allowed.", {{"Allow", "GET, HEAD, POST, OPTIONS"}});
}

void Hub::serve_preflight(Connection& connection, const HttpRequest& request)
{
    HeaderList headers = cors_headers(request);
    if (!headers.empty()) {
        headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
        headers.emplace_back("Access-Control-Allow-Headers", "authorization, cache-control, last-event-id, content-type");
        headers.emplace_back("Access-Control-Max-Age", "600");
    }
    connection.respond(request, 204, headers, "", stopping_);
}

} // namespace mercure
