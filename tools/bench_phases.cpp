// Bench phases: idle memory, fan-out, throughput, publish rate, publish latency, max connections.
#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <optional>

#include "bench_publisher.hpp"
#include "bench_runner.hpp"

namespace bench {

namespace {

double ms(std::int64_t ns)
{
    return static_cast<double>(ns) / 1e6;
}

// The median of some values (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// Latency quantiles of a histogram, in milliseconds, into `json` under `prefix`.
void latency_json(JsonObject& json, const std::string& prefix, const LatencyHistogram& h)
{
    json.set(prefix + "_p50_ms", ms(h.quantile_ns(0.50)))
        .set(prefix + "_p99_ms", ms(h.quantile_ns(0.99)))
        .set(prefix + "_max_ms", ms(h.max_ns()));
}

void say(const char* format, ...) __attribute__((format(printf, 1, 2)));
void say(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    std::vprintf(format, args);
    va_end(args);
    std::fflush(stdout);
}

} // namespace

void Bench::check_connect(const std::string& phase, const ConnectOutcome& outcome, std::uint32_t wanted, JsonObject& json)
{
    const double rate = outcome.seconds > 0 ? outcome.established / outcome.seconds : 0;
    json.set("subscribers", wanted)
        .set("connected", outcome.established)
        .set("connect_failures", outcome.failed)
        .set("connect_seconds", outcome.seconds)
        .set("connect_rate_per_s", rate);
    say("  connected %u/%u subscribers in %.3f s (%.0f/s)\n", outcome.established, wanted, outcome.seconds, rate);
    if (outcome.failed > 0 || outcome.established < wanted)
        error(phase + ": " + std::to_string(wanted - outcome.established) + " of " + std::to_string(wanted)
              + " subscribers could not connect; first error: " + outcome.first_error);
}

void Bench::check_delivery(const std::string& phase, const WorkerStats& stats, std::uint64_t expected, JsonObject& json)
{
    const double ratio = expected ? static_cast<double>(stats.received) / static_cast<double>(expected) : 1.0;
    json.set("received", stats.received)
        .set("expected", expected)
        .set("delivery_ratio", ratio)
        .set("disconnects", stats.disconnects)
        .set("malformed_events", stats.malformed);
    if (stats.disconnects > 0)
        error(phase + ": " + std::to_string(stats.disconnects) + " subscriber streams ended early; first: " + stats.first_error);
    if (stats.malformed > 0)
        error(phase + ": " + std::to_string(stats.malformed) + " events carried no benchmark stamp");
    if (stats.received < expected)
        warn(phase + ": delivery ratio " + std::to_string(ratio) + " (" + std::to_string(stats.received) + " of "
             + std::to_string(expected) + " events received)");
}

void Bench::check_publishes(const std::string& phase, const PublisherPool& pool, JsonObject& json)
{
    const auto& s = pool.stats();
    json.set("publishes_ok", s.ok).set("publishes_failed", s.failed);
    if (s.failed > 0 || !s.first_error.empty())
        error(phase + ": " + std::to_string(s.failed) + " publishes failed; first error: " + s.first_error);
}

bool Bench::confirm_subscribed(const std::string& phase, JsonObject& json)
{
    // A stream can be open (the response head arrived) before the server delivers to it: a
    // window measured then sees nothing, and its publishes run at the no-subscriber rate.
    // The probe's tag is armed here and replaced by the measurement's own arm() afterwards,
    // which resets the counters: the probe never counts, and late copies are "ignored".
    const auto started = std::chrono::steady_clock::now();
    const std::uint32_t tag = new_tag();
    if (!arm(tag, probe_attempts))
        return false;
    PublisherPool pool(base_, options_);
    if (!pool.open(1, 5)) {
        error(phase + ": probe publisher: " + pool.stats().first_error);
        return false;
    }
    std::uint64_t open = 0;
    std::uint64_t missing = 0;
    std::uint32_t attempts = 0;
    bool confirmed = false;
    while (attempts < probe_attempts && !confirmed) {
        const std::uint32_t attempt = attempts++;
        pool.publish_one(tag, attempt);
        run_until([&] { return pool.idle() && round_complete(tag, attempt); }, probe_timeout);
        const auto& ps = pool.stats();
        if (ps.failed > 0 || !ps.first_error.empty() || !pool.idle()) {
            error(phase + ": the probe publish failed: "
                  + (ps.first_error.empty() ? "no response within " + std::to_string(probe_timeout) + " s" : ps.first_error));
            return false;
        }
        const auto stats = collect();
        if (!stats)
            return false;
        if (stats->disconnects > 0)
            error(phase + ": " + std::to_string(stats->disconnects)
                  + " subscriber streams ended before the measurement; first: " + stats->first_error);
        open = stats->open;
        // Once a stream receives, it keeps receiving: the latest probe's count is the number
        // of subscribed streams (an earlier probe may also reach late ones as a replay).
        const std::uint64_t got = attempt < stats->rounds.size() ? stats->rounds[attempt].count() : 0;
        missing = open > got ? open - got : 0;
        confirmed = missing == 0;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    json.set("probe_attempts", attempts).set("probe_unconfirmed", missing);
    if (confirmed) {
        say("  probe: all %llu open subscribers receive updates (%u probe publish%s, %.0f ms)\n",
            static_cast<unsigned long long>(open), attempts, attempts == 1 ? "" : "es", seconds * 1000);
    } else {
        warn(phase + ": " + std::to_string(missing) + " of " + std::to_string(open)
             + " connected subscribers did not receive the probe update (" + std::to_string(attempts)
             + " publishes, " + std::to_string(static_cast<int>(probe_timeout)) + " s each); measuring anyway");
    }
    return confirmed;
}

void Bench::phase_idle_memory()
{
    const std::string phase = "idle-memory";
    const std::uint32_t n = options_.subscribers;
    JsonObject json;
    say("== idle-memory: %u idle subscribers\n", n);
    const MemoryUsage before = probe_.memory();
    const ConnectOutcome outcome = connect_subscribers(n);
    check_connect(phase, outcome, n, json);
    sleep_for(options_.settle);
    const MemoryUsage after = probe_.memory();
    const auto stats = collect();
    if (stats && stats->disconnects > 0)
        error(phase + ": " + std::to_string(stats->disconnects) + " idle streams ended; first: " + stats->first_error);
    if (probe_.enabled() && outcome.established > 0) {
        const double count = outcome.established;
        const double rss = (static_cast<double>(after.rss) - static_cast<double>(before.rss)) / count;
        const double pss = (static_cast<double>(after.pss) - static_cast<double>(before.pss)) / count;
        json.set("server_processes", after.processes)
            .set("rss_before", before.rss)
            .set("rss_after", after.rss)
            .set("pss_before", before.pss)
            .set("pss_after", after.pss)
            .set("rss_per_subscriber", rss)
            .set("pss_per_subscriber", pss);
        say("  server (%d processes) RSS %.1f -> %.1f MiB = %.0f B/subscriber; PSS %.1f -> %.1f MiB = %.0f B/subscriber\n",
            after.processes, static_cast<double>(before.rss) / 1048576, static_cast<double>(after.rss) / 1048576, rss,
            static_cast<double>(before.pss) / 1048576, static_cast<double>(after.pss) / 1048576, pss);
    }
    close_subscribers();
    phases_json_.set("idle_memory", json);
}

void Bench::phase_fanout()
{
    const std::string phase = "fanout";
    const std::uint32_t n = options_.fanout_subscribers;
    const std::uint32_t rounds = options_.rounds;
    JsonObject json;
    say("== fanout: 1 message to %u subscribers, %u rounds\n", n, rounds);
    const ConnectOutcome outcome = connect_subscribers(n);
    check_connect(phase, outcome, n, json);
    if (outcome.established == 0) {
        close_subscribers();
        phases_json_.set("fanout", json);
        return;
    }
    sleep_for(std::min(options_.settle, 1.0));
    confirm_subscribed(phase, json);
    const std::uint32_t tag = new_tag();
    arm(tag, rounds);
    PublisherPool pool(base_, options_);
    if (!pool.open(1, 5)) {
        error(phase + ": " + pool.stats().first_error);
        close_subscribers();
        phases_json_.set("fanout", json);
        return;
    }
    const double cpu_before = probe_.cpu_seconds();
    std::uint32_t incomplete = 0;
    for (std::uint32_t r = 0; r < rounds; ++r) {
        pool.publish_one(tag, r);
        run_until([&] { return pool.idle(); }, options_.round_timeout);
        if (!run_until([&] { return round_complete(tag, r); }, options_.round_timeout))
            ++incomplete;
        if (r + 1 < rounds)
            sleep_for(options_.round_gap);
    }
    const double cpu = probe_.cpu_seconds() - cpu_before;
    check_publishes(phase, pool, json);
    const auto stats = collect();
    close_subscribers();
    if (!stats) {
        phases_json_.set("fanout", json);
        return;
    }
    std::vector<double> p50, p99, last, counts;
    for (std::uint32_t r = 0; r < rounds && r < stats->rounds.size(); ++r) {
        const auto& h = stats->rounds[r];
        p50.push_back(ms(h.quantile_ns(0.5)));
        p99.push_back(ms(h.quantile_ns(0.99)));
        last.push_back(ms(h.max_ns()));
        counts.push_back(static_cast<double>(h.count()));
    }
    json.set("rounds", rounds)
        .set("incomplete_rounds", incomplete)
        .set("p50_ms_median", median(p50))
        .set("p99_ms_median", median(p99))
        .set("time_to_last_ms_median", median(last))
        .set("p50_ms_rounds", p50)
        .set("time_to_last_ms_rounds", last)
        .set("received_rounds", counts)
        .set("publish_response_p50_ms", ms(pool.stats().response.quantile_ns(0.5)))
        .set("publish_response_p99_ms", ms(pool.stats().response.quantile_ns(0.99)));
    say("  latency medians over %u rounds: p50 %.2f ms, p99 %.2f ms, time-to-last %.2f ms (publish response p50 %.2f ms)\n",
        rounds, median(p50), median(p99), median(last), ms(pool.stats().response.quantile_ns(0.5)));
    check_delivery(phase, *stats, std::uint64_t{outcome.established} * rounds, json);
    if (incomplete > 0)
        warn(phase + ": " + std::to_string(incomplete) + " rounds did not reach every subscriber within "
             + std::to_string(options_.round_timeout) + " s");
    if (probe_.enabled()) {
        const double per_event = stats->received ? cpu * 1e6 / static_cast<double>(stats->received) : 0;
        json.set("server_cpu_seconds", cpu).set("server_cpu_us_per_event", per_event);
        say("  server CPU %.3f s for %llu deliveries = %.2f us/event\n", cpu,
            static_cast<unsigned long long>(stats->received), per_event);
    }
    phases_json_.set("fanout", json);
}

JsonObject Bench::throughput_run(const std::string& name, std::uint32_t established, double rate)
{
    const std::string phase = "throughput " + name;
    JsonObject json;
    const std::uint32_t tag = new_tag();
    arm(tag, 0);
    PublisherPool pool(base_, options_);
    if (!pool.open(options_.throughput_publishers, 5)) {
        error(phase + ": " + pool.stats().first_error);
        return json;
    }
    const double cpu_before = probe_.cpu_seconds();
    if (rate > 0)
        pool.start_paced(tag, rate, options_.duration);
    else
        pool.start_flat_out(tag, options_.duration);
    run_until([&] { return pool.idle(); }, options_.duration + options_.round_timeout);
    pool.stop();
    const auto& ps = pool.stats();
    const std::uint64_t expected = ps.ok * established;
    const auto stats = drain(expected);
    const double cpu = probe_.cpu_seconds() - cpu_before;
    check_publishes(phase, pool, json);
    if (!stats)
        return json;
    const double span = static_cast<double>(stats->last_receive_ns - ps.first_send_realtime_ns) / 1e9;
    const double publish_span = static_cast<double>(ps.last_response_ns - ps.first_send_ns) / 1e9;
    const double delivered_per_s = span > 0 ? static_cast<double>(stats->received) / span : 0;
    const double publishes_per_s = publish_span > 0 ? static_cast<double>(ps.ok) / publish_span : 0;
    json.set("publishers", options_.throughput_publishers)
        .set("subscribers", established)
        .set("target_rate", rate)
        .set("publishes_per_s", publishes_per_s)
        .set("late_sends", ps.late)
        .set("delivered_per_s", delivered_per_s);
    latency_json(json, "latency", stats->all);
    say("  %s: %llu publishes (%.0f/s), %llu deliveries in %.2f s = %.0f/s; latency p50 %.2f ms p99 %.2f ms\n",
        name.c_str(), static_cast<unsigned long long>(ps.ok), publishes_per_s,
        static_cast<unsigned long long>(stats->received), span, delivered_per_s, ms(stats->all.quantile_ns(0.5)),
        ms(stats->all.quantile_ns(0.99)));
    check_delivery(phase, *stats, expected, json);
    say("  %s: delivery ratio %.4f\n", name.c_str(),
        expected ? static_cast<double>(stats->received) / static_cast<double>(expected) : 1.0);
    if (probe_.enabled()) {
        const double per_cpu = cpu > 0 ? static_cast<double>(stats->received) / cpu : 0;
        json.set("server_cpu_seconds", cpu)
            .set("deliveries_per_server_cpu_s", per_cpu)
            .set("server_cpu_us_per_event", stats->received ? cpu * 1e6 / static_cast<double>(stats->received) : 0.0);
        say("  %s: server CPU %.3f s = %.0f deliveries per server CPU-second\n", name.c_str(), cpu, per_cpu);
    }
    return json;
}

void Bench::phase_throughput()
{
    const std::string phase = "throughput";
    const std::uint32_t n = options_.throughput_subscribers;
    JsonObject json;
    say("== throughput: %u publishers, %u subscribers, %.1f s flat-out then %.1f s at %.0f publishes/s\n",
        options_.throughput_publishers, n, options_.duration, options_.duration, options_.rate);
    const ConnectOutcome outcome = connect_subscribers(n);
    check_connect(phase, outcome, n, json);
    if (outcome.established > 0) {
        sleep_for(std::min(options_.settle, 1.0));
        confirm_subscribed(phase, json);
        json.set("flat_out", throughput_run("flat-out", outcome.established, 0));
        check_server(phase);
        json.set("paced", throughput_run("paced", outcome.established, options_.rate));
    }
    close_subscribers();
    phases_json_.set("throughput", json);
}

JsonObject Bench::publish_rate_run(std::uint32_t subscribers)
{
    const std::string phase = "publish-rate (" + std::to_string(subscribers) + " subscribers)";
    JsonObject json;
    std::uint32_t established = 0;
    if (subscribers > 0) {
        const ConnectOutcome outcome = connect_subscribers(subscribers);
        check_connect(phase, outcome, subscribers, json);
        established = outcome.established;
        sleep_for(0.5);
        if (established > 0)
            confirm_subscribed(phase, json);
    } else {
        json.set("subscribers", 0);
    }
    const std::uint32_t tag = new_tag();
    if (subscribers > 0)
        arm(tag, 0);
    PublisherPool pool(base_, options_);
    if (pool.open(options_.rate_publishers, 5)) {
        const double cpu_before = probe_.cpu_seconds();
        pool.start_flat_out(tag, options_.rate_duration);
        run_until([&] { return pool.idle(); }, options_.rate_duration + options_.round_timeout);
        pool.stop();
        const auto& ps = pool.stats();
        std::optional<WorkerStats> stats;
        if (subscribers > 0)
            stats = drain(ps.ok * established);
        const double cpu = probe_.cpu_seconds() - cpu_before;
        const double span = static_cast<double>(ps.last_response_ns - ps.first_send_ns) / 1e9;
        const double per_s = span > 0 ? static_cast<double>(ps.ok) / span : 0;
        json.set("publishers", options_.rate_publishers).set("publishes_per_s", per_s);
        latency_json(json, "response", ps.response);
        check_publishes(phase, pool, json);
        say("  %u subscribers: %llu publishes in %.2f s = %.0f/s; response p50 %.2f ms p99 %.2f ms\n", subscribers,
            static_cast<unsigned long long>(ps.ok), span, per_s, ms(ps.response.quantile_ns(0.5)),
            ms(ps.response.quantile_ns(0.99)));
        if (probe_.enabled()) {
            json.set("server_cpu_seconds", cpu).set("publishes_per_server_cpu_s", cpu > 0 ? static_cast<double>(ps.ok) / cpu : 0.0);
            say("  %u subscribers: server CPU %.3f s\n", subscribers, cpu);
        }
        if (stats)
            check_delivery(phase, *stats, ps.ok * established, json);
    } else {
        error(phase + ": " + pool.stats().first_error);
    }
    if (subscribers > 0)
        close_subscribers();
    return json;
}

void Bench::phase_publish_rate()
{
    JsonObject json;
    say("== publish-rate: %u keep-alive publishers flat-out for %.1f s, with 0 then %u subscribers\n",
        options_.rate_publishers, options_.rate_duration, options_.rate_subscribers);
    json.set("no_subscriber", publish_rate_run(0));
    check_server("publish-rate");
    json.set("with_subscribers", publish_rate_run(options_.rate_subscribers));
    phases_json_.set("publish_rate", json);
}

void Bench::phase_publish_latency()
{
    const std::string phase = "publish-latency";
    const std::uint32_t n = options_.latency_subscribers;
    JsonObject json;
    say("== publish-latency: %u publishes to %u subscribers, each %.0f ms after the previous one was delivered\n",
        options_.latency_publishes, n, options_.latency_gap * 1000);
    const ConnectOutcome outcome = connect_subscribers(n);
    check_connect(phase, outcome, n, json);
    if (outcome.established > 0) {
        sleep_for(std::min(options_.settle, 1.0));
        confirm_subscribed(phase, json);
        const std::uint32_t tag = new_tag();
        arm(tag, options_.latency_publishes);
        PublisherPool pool(base_, options_);
        if (pool.open(1, 5)) {
            // Each publish leaves once the previous update reached every subscriber (and the
            // gap passed): the response time then measures the publish path with N
            // subscribers connected, not queueing behind the previous fan-out.
            for (std::uint32_t i = 0; i < options_.latency_publishes; ++i) {
                pool.publish_one(tag, i);
                run_until([&] { return pool.idle(); }, options_.round_timeout);
                run_until([&] { return round_complete(tag, i); }, options_.round_timeout);
                sleep_for(options_.latency_gap);
            }
            const auto& ps = pool.stats();
            latency_json(json, "response", ps.response);
            json.set("publishes", options_.latency_publishes);
            check_publishes(phase, pool, json);
            say("  publish response p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", ms(ps.response.quantile_ns(0.5)),
                ms(ps.response.quantile_ns(0.99)), ms(ps.response.max_ns()));
            const auto stats = drain(ps.ok * outcome.established);
            if (stats) {
                latency_json(json, "delivery", stats->all);
                std::vector<double> last;
                for (const auto& round : stats->rounds)
                    last.push_back(ms(round.max_ns()));
                json.set("time_to_last_ms_median", median(last));
                check_delivery(phase, *stats, ps.ok * outcome.established, json);
            }
        } else {
            error(phase + ": " + pool.stats().first_error);
        }
    }
    close_subscribers();
    phases_json_.set("publish_latency", json);
}

void Bench::phase_max_connections()
{
    const std::string phase = "max-connections";
    const std::uint32_t n = options_.max_subscribers;
    JsonObject json;
    say("== max-connections: %u concurrent subscribers, then one message to all\n", n);
    const MemoryUsage before = probe_.memory();
    const ConnectOutcome outcome = connect_subscribers(n);
    check_connect(phase, outcome, n, json);
    if (outcome.established > 0) {
        sleep_for(std::min(options_.settle, 2.0));
        const MemoryUsage after = probe_.memory();
        if (probe_.enabled()) {
            const double rss = (static_cast<double>(after.rss) - static_cast<double>(before.rss)) / outcome.established;
            json.set("rss_per_subscriber", rss);
            say("  server RSS %.1f MiB = %.0f B/subscriber\n", static_cast<double>(after.rss) / 1048576, rss);
        }
        confirm_subscribed(phase, json);
        const std::uint32_t tag = new_tag();
        arm(tag, 1);
        PublisherPool pool(base_, options_);
        if (pool.open(1, 5)) {
            pool.publish_one(tag, 0);
            run_until([&] { return pool.idle(); }, options_.round_timeout * 2);
            run_until([&] { return round_complete(tag, 0); }, options_.round_timeout * 2);
            check_publishes(phase, pool, json);
            const auto stats = collect();
            if (stats) {
                json.set("time_to_last_ms", ms(stats->all.max_ns()));
                say("  one message to %u subscribers: time-to-last %.2f ms, %llu received\n", outcome.established,
                    ms(stats->all.max_ns()), static_cast<unsigned long long>(stats->received));
                check_delivery(phase, *stats, outcome.established, json);
            }
        } else {
            error(phase + ": " + pool.stats().first_error);
        }
    }
    close_subscribers();
    phases_json_.set("max_connections", json);
}

} // namespace bench
