// Metrics: the hub's counters and their Prometheus text exposition.
#include "metrics.hpp"

namespace mercure {

namespace {

void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            std::uint64_t value)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

} // namespace

std::string_view refusal_reason_label(RefusalReason reason)
{
    switch (reason) {
    case RefusalReason::MissingToken: return "missing_token";
    case RefusalReason::Malformed: return "malformed";
    case RefusalReason::Algorithm: return "algorithm";
    case RefusalReason::Signature: return "signature";
    case RefusalReason::Expired: return "expired";
    case RefusalReason::NotYetValid: return "not_yet_valid";
    case RefusalReason::Forbidden: return "forbidden";
    case RefusalReason::Origin: return "origin";
    case RefusalReason::Count_: break;
    }
    return "unknown";
}

std::string render_metrics(const MetricsCounters& c, const MetricsGauges& g, std::string_view version)
{
    std::string out;
    out.reserve(4096);
    metric(out, "mercure_subscribers_connected", "gauge", "Subscribers currently connected.", g.subscribers_connected);
    metric(out, "mercure_subscribers_total", "counter", "Subscribers that connected since start.", c.subscribers_total);
    metric(out, "mercure_updates_total", "counter", "Updates published since start.", c.updates_total);
    metric(out, "mercure_updates_failed_total", "counter", "Publish requests refused or not stored.",
           c.updates_failed_total);
    metric(out, "mercure_published_bytes_total", "counter", "Bytes of update data published.",
           c.published_bytes_total);
    metric(out, "mercure_deliveries_total", "counter", "Updates handed to subscribers (one per subscriber).",
           c.deliveries_total);
    metric(out, "mercure_slow_subscribers_dropped_total", "counter",
           "Subscribers disconnected because they did not read fast enough.", c.slow_subscribers_dropped_total);
    metric(out, "mercure_connections_open", "gauge", "Open client connections.", g.connections_open);
    metric(out, "mercure_connections_total", "counter", "Client connections accepted.", c.connections_total);
    metric(out, "mercure_connections_refused_total", "counter", "Connections refused at max_connections.",
           c.connections_refused_total);
    metric(out, "mercure_history_entries", "gauge", "Updates kept in history.", g.history_entries);
    metric(out, "mercure_ready", "gauge", "1 when the hub accepts work, 0 while it drains.", g.ready ? 1 : 0);

    if (c.cluster.enabled) {
        metric(out, "mercure_cluster_transport_up", "gauge", "1 while the Redis cluster transport is usable.",
               c.cluster.up ? 1 : 0);
        metric(out, "mercure_cluster_appended_total", "counter", "Updates appended to the cluster stream.",
               c.cluster.appended_total);
        metric(out, "mercure_cluster_append_failures_total", "counter",
               "Appends to the cluster stream refused or unanswered (publishers got 503).",
               c.cluster.append_failures_total);
        metric(out, "mercure_cluster_entries_read_total", "counter",
               "Cluster stream entries read and delivered by this node.", c.cluster.entries_read_total);
        metric(out, "mercure_cluster_reconnects_total", "counter",
               "Times the cluster transport came back after losing Redis.", c.cluster.reconnects_total);
        metric(out, "mercure_cluster_nodes_reaped_total", "counter",
               "Dead nodes this node removed, publishing their subscribers' departures.",
               c.cluster.nodes_reaped_total);
        metric(out, "mercure_cluster_rejoins_total", "counter",
               "Times this node found its presence expired and announced its subscriptions again.",
               c.cluster.rejoins_total);
    }
    out += "# HELP mercure_auth_refusals_total Requests refused for their credentials, by reason.\n";
    out += "# TYPE mercure_auth_refusals_total counter\n";
    for (std::size_t i = 0; i < c.auth_refusals.size(); ++i) {
        out += "mercure_auth_refusals_total{reason=\"";
        out += refusal_reason_label(static_cast<RefusalReason>(i));
        out += "\"} ";
        out += std::to_string(c.auth_refusals[i]);
        out += '\n';
    }
    out += "# HELP mercure_build_info Build information.\n# TYPE mercure_build_info gauge\n";
    out += "mercure_build_info{version=\"";
    out += version;
    out += "\"} 1\n";
    return out;
}

} // namespace mercure
