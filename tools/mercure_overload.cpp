// mercure-overload: floods a hub with connections and publishes, checks it stays responsive and bounded.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <sstream>

#include "overload_hub.hpp"
#include "overload_options.hpp"
#include "overload_report.hpp"
#include "overload_scenario.hpp"

namespace {

// The /metrics lines worth showing after an overload run.
std::string select_metrics(const std::string& text)
{
    std::istringstream lines(text);
    std::string line;
    std::string out;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        for (const char* name : {"mercure_connections_refused_total", "mercure_connections_total ",
                                 "mercure_slow_subscribers_dropped_total", "mercure_updates_total",
                                 "mercure_updates_failed_total", "mercure_auth_refusals_total{reason=\"signature\"}",
                                 "mercure_connections_open", "mercure_subscribers_connected"}) {
            if (line.rfind(name, 0) == 0)
                out += "  " + line + "\n";
        }
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    overload::Options options;
    const int parsed = overload::parse_options(argc, argv, options);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    std::signal(SIGPIPE, SIG_IGN);
    // One descriptor per client connection: raise the soft limit to the hard one.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const rlim_t needed = options.max_connections + options.knockers + 64 + 256;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
        std::fprintf(stderr, "mercure-overload: needs %llu file descriptors, the limit is %llu\n",
                     static_cast<unsigned long long>(needed), static_cast<unsigned long long>(limit.rlim_cur));
        return 2;
    }

    overload::HubProcess hub;
    std::string error;
    std::string token = options.token;
    if (!options.hub_binary.empty()) {
        token = overload::mint_publisher_token(options.key, error);
        if (token.empty()) {
            std::fprintf(stderr, "mercure-overload: cannot mint a token: %s\n", error.c_str());
            return 1;
        }
        if (!hub.start(options, error)) {
            std::fprintf(stderr, "mercure-overload: %s\n", error.c_str());
            return 1;
        }
    }
    // A token signed with another key: every publish with it must be refused (401).
    const std::string bad_token = overload::mint_publisher_token("not-the-hub-key-0123456789abcdef0123456789", error);
    std::printf("mercure-overload: hub at %s, pid %d, /healthz probes on %s%s%s\n", options.url.c_str(),
                static_cast<int>(options.pid), options.admin_host_header.c_str(),
                options.healthz_on_main_port ? " (the main address)" : " (metrics_addr)",
                options.quick ? " (quick run)" : "");
    std::fflush(stdout);

    overload::Figures figures;
    figures.load_before = overload::read_load_average();
    const double cpu_before = overload::read_process_cpu(options.pid);
    overload::Scenario scenario(options, token, bad_token);
    if (!scenario.run(figures)) {
        std::fprintf(stderr, "mercure-overload: cannot set up the event loop\n");
        return 1;
    }
    const double cpu_after = overload::read_process_cpu(options.pid);
    figures.load_after = overload::read_load_average();
    if (cpu_before >= 0 && cpu_after >= 0)
        figures.hub_cpu_seconds = cpu_after - cpu_before;
    std::string metrics;
    if (overload::http_get(options.admin_server, options.admin_host_header, "/metrics", metrics) == 200)
        figures.metrics = select_metrics(metrics);
    if (!options.hub_binary.empty()) {
        figures.hub_alive = hub.alive();
        std::string first;
        figures.hub_log_lines = hub.log_lines(first, 0);
        if (!options.hub_log.empty() && !hub.copy_log(options.hub_log))
            figures.notes.push_back("cannot copy the hub's log to " + options.hub_log);
        const int status = hub.stop();
        if (!options.hub_log.empty())
            figures.notes.push_back("hub log (up to the end of the run) copied to " + options.hub_log);
        if (figures.hub_alive && status != 0)
            figures.notes.push_back("the hub exited with status " + std::to_string(status) + " after SIGTERM");
    }
    const overload::MemoryBound bound = overload::memory_bound(options, figures.rss_idle);
    return overload::report(options, figures, bound) ? 0 : 1;
}
