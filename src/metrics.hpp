// Metrics: the hub's counters and their Prometheus text exposition.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mercure {

// Why a request's credentials were refused, as a metrics label.
enum class RefusalReason { MissingToken, Malformed, Algorithm, Signature, Expired, NotYetValid, Forbidden, Origin, Count_ };

// The label value of a refusal reason ("expired").
std::string_view refusal_reason_label(RefusalReason reason);

// The cluster transport's state and counters (cluster mode only; not rendered otherwise).
struct ClusterMetrics {
    bool enabled = false;                    // transport_url is redis://
    bool up = false;                         // the transport is usable now
    bool was_up = false;                     // it has been up since start
    std::uint64_t appended_total = 0;        // updates appended to the stream (XADD answered)
    std::uint64_t append_failures_total = 0; // XADDs refused or unanswered
    std::uint64_t entries_read_total = 0;    // stream entries read and delivered locally
    std::uint64_t reconnects_total = 0;      // times the transport came back after a loss
    std::uint64_t nodes_reaped_total = 0;    // dead nodes whose departures this node published
    std::uint64_t rejoins_total = 0;         // times this node found itself reaped and re-announced
};

// Monotonic counters, updated on the event loop (single-threaded).
struct MetricsCounters {
    std::uint64_t subscribers_total = 0;
    std::uint64_t updates_total = 0;
    std::uint64_t updates_failed_total = 0;    // publishes refused or not stored
    std::uint64_t published_bytes_total = 0;   // bytes of update data accepted
    std::uint64_t deliveries_total = 0;        // update frames handed to subscribers
    std::uint64_t slow_subscribers_dropped_total = 0;
    std::uint64_t connections_total = 0;
    std::uint64_t connections_refused_total = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(RefusalReason::Count_)> auth_refusals{};
    ClusterMetrics cluster;

    void refuse(RefusalReason reason) { ++auth_refusals[static_cast<std::size_t>(reason)]; }
};

// Values read at exposition time.
struct MetricsGauges {
    std::size_t subscribers_connected = 0;
    std::size_t connections_open = 0;
    std::size_t history_entries = 0;
    bool ready = true;
};

// Renders every metric in the Prometheus text format (version 0.0.4), upstream names where
// upstream has one (mercure_subscribers_connected, mercure_subscribers_total,
// mercure_updates_total).
std::string render_metrics(const MetricsCounters& counters, const MetricsGauges& gauges, std::string_view version);

} // namespace mercure
