// Hub metrics endpoint: Prometheus exposition, optionally behind HTTP basic authentication.
#include <openssl/crypto.h>

#include "build_config.hpp"
#include "hub.hpp"
#include "util/base64url.hpp"

namespace mercure {

namespace {

// Standard base64 (not base64url) decoding of a Basic credential; nullopt when malformed.
std::optional<std::string> decode_basic(std::string_view text)
{
    std::string url(text);
    while (!url.empty() && url.back() == '=')
        url.pop_back();
    for (auto& c : url) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    auto bytes = base64url_decode(url);
    if (!bytes)
        return std::nullopt;
    return std::string(bytes->begin(), bytes->end());
}

// Compares secrets without leaking where they differ; lengths are not secret.
bool same_secret(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

void Hub::serve_metrics(Connection& connection, const HttpRequest& request)
{
    if (!config_.metrics_login.empty()) {
        auto header = request.header("authorization");
        std::optional<std::string> credentials;
        if (header && header->starts_with("Basic "))
            credentials = decode_basic(header->substr(6));
        std::string expected = config_.metrics_login + ":" + config_.metrics_password;
        if (!credentials || !same_secret(*credentials, expected)) {
            reply_error(connection, request, 401, "Unauthorized: metrics need basic authentication.",
                        {{"WWW-Authenticate", "Basic realm=\"mercure metrics\""}});
            return;
        }
    }
    MetricsGauges gauges;
    gauges.subscribers_connected = registry_.size();
    gauges.connections_open = connections_.size();
    gauges.history_entries = history_->size();
    gauges.ready = !stopping_ && !store_failing_;
    reply(connection, request, 200, "text/plain; version=0.0.4; charset=utf-8",
          render_metrics(metrics_, gauges, MERCURE_VERSION));
}

} // namespace mercure
