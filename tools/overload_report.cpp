// mercure-overload's figures: what the run measured, the memory bound, the pass/fail criteria.
#include "overload_report.hpp"

#include <cstdio>
#include <string>

#include "bench_json.hpp"

namespace overload {

namespace {

constexpr std::uint64_t KiB = 1024;
constexpr double MiB = 1024.0 * 1024.0;

double ms(std::int64_t ns)
{
    return static_cast<double>(ns) / 1e6;
}

double mib(std::uint64_t bytes)
{
    return static_cast<double>(bytes) / MiB;
}

std::string fixed(double value, int decimals = 1)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

void row(const char* name, const std::string& value)
{
    std::printf("  %-44s %s\n", name, value.c_str());
}

std::string latency_text(const bench::LatencyHistogram& h)
{
    if (h.count() == 0)
        return "n/a";
    return "p50 " + fixed(ms(h.quantile_ns(0.5)), 2) + " ms, p99 " + fixed(ms(h.quantile_ns(0.99)), 2) + " ms, max "
         + fixed(ms(h.max_ns()), 2) + " ms (" + std::to_string(h.count()) + ")";
}

std::string attempts_text(const AttemptCounts& a)
{
    return std::to_string(a.attempted) + " attempted, " + std::to_string(a.accepted) + " accepted, "
         + std::to_string(a.refused) + " refused, " + std::to_string(a.failed) + " failed";
}

bench::JsonObject latency_json(const bench::LatencyHistogram& h)
{
    bench::JsonObject j;
    j.set("count", h.count())
        .set("p50_ms", ms(h.quantile_ns(0.5)))
        .set("p99_ms", ms(h.quantile_ns(0.99)))
        .set("max_ms", ms(h.max_ns()));
    return j;
}

bench::JsonObject attempts_json(const AttemptCounts& a)
{
    bench::JsonObject j;
    j.set("attempted", a.attempted)
        .set("accepted", a.accepted)
        .set("refused", a.refused)
        .set("failed", a.failed)
        .set("refuse_time", latency_json(a.refuse_time));
    return j;
}

bench::JsonObject probe_json(const ProbeCounts& p)
{
    bench::JsonObject j;
    j.set("sent", p.sent)
        .set("ok", p.ok)
        .set("refused", p.refused)
        .set("timed_out", p.timed_out)
        .set("bad_status", p.bad_status)
        .set("skipped", p.skipped)
        .set("latency", latency_json(p.latency));
    return j;
}

struct Criterion {
    std::string name;
    bool ok;
    std::string detail;
};

} // namespace

MemoryBound memory_bound(const Options& o, std::uint64_t idle_rss)
{
    // A connection is either reading a request or streaming, never both:
    //  - reading: its input buffer holds at most the head, the body and the chunked framing
    //    allowance (plus one 16 KiB read), in a std::string that may have doubled: 2x;
    //  - streaming: at most max_queued_bytes of queued frames, plus the frame being written,
    //    plus 24-byte queue entries (one per frame of at least 64 bytes, vector doubling: 0.75x).
    // Plus 4 KiB of state (the hub measures ~1 KB per idle subscriber), and the history: each
    // entry holds the update and its frame (2x the largest frame).
    MemoryBound b;
    b.idle = idle_rss;
    const std::uint64_t frame = o.large_body + KiB;
    const std::uint64_t reading = 2 * (o.max_header_size + o.max_body_size + 64 * KiB + 16 * KiB);
    const std::uint64_t streaming = o.max_queued_bytes + o.max_queued_bytes * 3 / 4 + frame;
    b.per_connection = 4 * KiB + std::max(reading, streaming);
    b.connections = std::uint64_t{o.max_connections} * b.per_connection;
    b.history = std::uint64_t{o.history_size} * 2 * frame;
    b.total = b.idle + b.connections + b.history;
    if (o.memory_bound_mib > 0)
        b.total = static_cast<std::uint64_t>(o.memory_bound_mib * MiB);
    b.formula = "idle + max_connections x (4 KiB + max(2 x (max_header_size + max_body_size + 80 KiB), "
                "1.75 x max_queued_bytes + largest frame)) + history_size x 2 x largest frame";
    return b;
}

bool report(const Options& o, const Figures& f, const MemoryBound& bound)
{
    const double bound_ms = o.latency_bound_ms;
    AttemptCounts all;
    for (const AttemptCounts* a : {&f.good, &f.knockers, &f.slowloris, &f.stalled}) {
        all.attempted += a->attempted;
        all.accepted += a->accepted;
        all.refused += a->refused;
        all.failed += a->failed;
        all.refuse_time.merge(a->refuse_time);
    }
    const double flood_rate = f.seconds > 0 ? static_cast<double>(f.flood_ok) / o.flood_seconds : 0;

    std::printf("\nfigures (max_connections %u, max_queued_bytes %llu, dispatch_timeout %.1f s, read_timeout %.1f s):\n",
                o.max_connections, static_cast<unsigned long long>(o.max_queued_bytes), o.dispatch_timeout,
                o.read_timeout);
    row("connections, all kinds", attempts_text(all));
    row("  well-behaved subscribers", attempts_text(f.good));
    row("  beyond the limit (knockers)", attempts_text(f.knockers));
    row("  slowloris", attempts_text(f.slowloris));
    row("  stalled readers", attempts_text(f.stalled));
    row("time to refuse", latency_text(all.refuse_time));
    row("slowloris held until 408", latency_text(f.slowloris_held));
    row("well-behaved streams ended by the hub", std::to_string(f.good_dropped));
    row("flood readers ended by the hub", std::to_string(f.flood_reader_dropped) + " of " + std::to_string(o.flood_readers));
    row(o.healthz_on_main_port ? "/healthz (main address)" : "/healthz (metrics_addr)", latency_text(f.healthz.latency));
    row("/healthz failures",
        std::to_string(f.healthz.failures()) + " of " + std::to_string(f.healthz.sent) + " (refused "
            + std::to_string(f.healthz.refused) + ", timed out " + std::to_string(f.healthz.timed_out) + ", bad status "
            + std::to_string(f.healthz.bad_status) + ")");
    row("canary publish", latency_text(f.canary.latency));
    row("canary publish failures",
        std::to_string(f.canary.failures()) + " of " + std::to_string(f.canary.sent) + " (skipped ticks "
            + std::to_string(f.canary.skipped) + ")");
    row("canary deliveries received / expected",
        std::to_string(f.canary_received) + " / " + std::to_string(f.canary_expected));
    row("canary events missed by well-behaved subs", std::to_string(f.good_canary_missing));
    row("flood publishes ok / failed",
        std::to_string(f.flood_ok) + " / " + std::to_string(f.flood_failed) + " (" + fixed(flood_rate, 0) + "/s, "
            + fixed(mib(f.flood_bytes), 1) + " MiB)");
    row("flood publish latency", latency_text(f.flood_latency));
    row("bad-token publishes answered 401 / other", std::to_string(f.bad_refused) + " / " + std::to_string(f.bad_other));
    row("hub RSS idle", fixed(mib(f.rss_idle)) + " MiB");
    row("hub RSS peak (100 ms samples / VmHWM)", fixed(mib(f.rss_peak_sampled)) + " / " + fixed(mib(f.rss_hwm)) + " MiB");
    row("hub RSS after the floods", fixed(mib(f.rss_after)) + " MiB");
    row("kernel send queues toward clients, peak", fixed(mib(f.send_queues_peak)) + " MiB (in no RSS; see send_buffer)");
    row("memory bound", fixed(mib(bound.total)) + " MiB (" + fixed(mib(bound.per_connection) * 1024, 0)
                            + " KiB per connection)");
    row("hub CPU time", f.hub_cpu_seconds < 0 ? std::string("n/a") : fixed(f.hub_cpu_seconds, 2) + " s in "
                                                                         + fixed(f.seconds, 1) + " s");
    row("hub log lines", std::to_string(f.hub_log_lines));
    row("load generator's loop lag", latency_text(f.loop_lag));
    row("load average before / after", f.load_before + " / " + f.load_after);
    for (const auto& note : f.notes)
        std::printf("  note: %s\n", note.c_str());
    if (!f.metrics.empty())
        std::printf("hub metrics after the run:\n%s", f.metrics.c_str());

    const double healthz_p99 = ms(f.healthz.latency.quantile_ns(0.99));
    const double canary_p99 = ms(f.canary.latency.quantile_ns(0.99));
    const std::uint64_t peak = std::max(f.rss_hwm, f.rss_peak_sampled);
    std::vector<Criterion> criteria = {
        {"hub alive", f.hub_alive, f.hub_alive ? "yes" : "the hub exited"},
        // On the main address the hub refuses probes at max_connections by design; on
        // metrics_addr (its own allowance) a refusal is a failure like any other.
        {o.healthz_on_main_port ? "/healthz never times out or errs" : "/healthz never fails",
         (o.healthz_on_main_port ? f.healthz.failures() - f.healthz.refused : f.healthz.failures()) == 0
             && f.healthz.ok > 0,
         std::to_string(f.healthz.failures()) + " failures (" + std::to_string(f.healthz.refused) + " refused"
             + (o.healthz_on_main_port ? " at the connection limit, main address" : "") + ")"},
        {"/healthz p99 under " + fixed(bound_ms, 0) + " ms", f.healthz.latency.count() > 0 && healthz_p99 <= bound_ms,
         fixed(healthz_p99, 2) + " ms"},
        {"canary publishes never fail", f.canary.failures() == 0 && f.canary.ok > 0,
         std::to_string(f.canary.failures()) + " failures"},
        {"canary publish p99 under " + fixed(bound_ms, 0) + " ms",
         f.canary.latency.count() > 0 && canary_p99 <= bound_ms, fixed(canary_p99, 2) + " ms"},
        {"every canary update delivered", f.canary_expected > 0 && f.canary_received == f.canary_expected,
         std::to_string(f.canary_received) + " / " + std::to_string(f.canary_expected)},
        {"well-behaved subscribers kept and served", f.good_dropped == 0 && f.good_canary_missing == 0,
         std::to_string(f.good_dropped) + " dropped, " + std::to_string(f.good_canary_missing) + " events missed"},
    };
    if (o.pid > 0)
        criteria.push_back({"peak RSS under the bound", peak > 0 && peak <= bound.total,
                            fixed(mib(peak)) + " MiB <= " + fixed(mib(bound.total)) + " MiB"});
    std::printf("\ncriteria (memory bound = %s):\n", bound.formula.c_str());
    bool all_ok = true;
    for (const auto& c : criteria) {
        std::printf("  %-4s %-44s %s\n", c.ok ? "ok" : "FAIL", c.name.c_str(), c.detail.c_str());
        all_ok = all_ok && c.ok;
    }
    std::printf("mercure-overload: %s\n", all_ok ? "all criteria hold" : "FAILED");

    if (o.json) {
        bench::JsonObject memory;
        memory.set("idle_bytes", f.rss_idle)
            .set("peak_sampled_bytes", f.rss_peak_sampled)
            .set("hwm_bytes", f.rss_hwm)
            .set("after_bytes", f.rss_after)
            .set("kernel_send_queues_peak_bytes", f.send_queues_peak)
            .set("bound_bytes", bound.total)
            .set("per_connection_bound_bytes", bound.per_connection);
        bench::JsonObject failed;
        std::vector<std::string> failing;
        for (const auto& c : criteria) {
            if (!c.ok)
                failing.push_back(c.name);
        }
        bench::JsonObject json;
        json.set("tool", "mercure-overload")
            .set("quick", o.quick)
            .set("max_connections", o.max_connections)
            .set("max_queued_bytes", o.max_queued_bytes)
            .set("connections", attempts_json(all))
            .set("well_behaved", attempts_json(f.good))
            .set("knockers", attempts_json(f.knockers))
            .set("slowloris", attempts_json(f.slowloris))
            .set("stalled", attempts_json(f.stalled))
            .set("good_dropped", f.good_dropped)
            .set("good_canary_missing", f.good_canary_missing)
            .set("healthz", probe_json(f.healthz))
            .set("healthz_on_main_port", o.healthz_on_main_port)
            .set("canary", probe_json(f.canary))
            .set("canary_expected", f.canary_expected)
            .set("canary_received", f.canary_received)
            .set("flood_ok", f.flood_ok)
            .set("flood_failed", f.flood_failed)
            .set("flood_bytes", f.flood_bytes)
            .set("flood_latency", latency_json(f.flood_latency))
            .set("bad_refused", f.bad_refused)
            .set("bad_other", f.bad_other)
            .set("memory", memory)
            .set("hub_cpu_seconds", f.hub_cpu_seconds)
            .set("seconds", f.seconds)
            .set("loop_lag", latency_json(f.loop_lag))
            .set("load_before", f.load_before)
            .set("load_after", f.load_after)
            .set("failed_criteria", failing)
            .set("ok", all_ok);
        std::printf("%s\n", json.str().c_str());
    }
    std::fflush(stdout);
    return all_ok;
}

} // namespace overload
