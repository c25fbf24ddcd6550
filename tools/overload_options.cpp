// mercure-overload command line: the hub's limits under test, the load's shape, the bounds.
#include "overload_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <variant>
#include <vector>

#include "overload_net.hpp"

namespace overload {

namespace {

constexpr const char* usage_text = R"(usage: mercure-overload (--hub PATH | --url http://HOST:PORT --token TOKEN [--pid PID]
                         [--healthz-url http://HOST:PORT]) [options]

Overloads a Mercure hub and checks that it stays responsive and bounded in memory.
With --hub it starts that binary itself on a free loopback port with a temporary config
(the limits below, anonymous subscribers, an in-memory history, metrics_addr on a second
free loopback port) and stops it at the end.

Phases: "connection flood" (well-behaved subscribers close to max_connections, slowloris
clients, subscribers that never read, and --flood-factor x max_connections attempts in all),
then "publisher flood" (keep-alive publishers flat out with 4 KiB and 64 KiB bodies, and
publishers with a bad token). Throughout: GET /healthz every --healthz-interval on a fresh
connection to metrics_addr (where load balancers should probe: its connections have their own
allowance), a canary publisher and a canary subscriber, the hub's RSS every 100 ms.

Exit status: 0 when every criterion holds, 1 when one fails, 2 on a usage error.

hub:
  --hub PATH                 the mercure binary to start
  --url URL --token T        an existing hub and a publisher token for it
  --pid PID                  the existing hub's pid (memory and CPU figures)
  --healthz-url URL          the existing hub's metrics_addr, for /healthz and /metrics
                             (without it they go to --url, as with --healthz-on-main-port)
  --healthz-on-main-port     probe /healthz on the main address (the started hub gets no
                             metrics_addr); probes refused there at max_connections are
                             reported but do not fail the run, since those connections
                             count in max_connections
  --hub-log PATH             keep a copy of the started hub's log there
  --max-connections N        1000      --max-queued-bytes N   262144
  --max-body-size N          131072    --max-header-size N    16384
  --history-size N           100       --dispatch-timeout S   2     --read-timeout S  2
load:
  --flood-factor X           5         --headroom X           0.02 (of max_connections)
  --slowloris-share X        0.1       --stalled-share X      0.2
  --knockers N               64        --flood-readers N      8
  --publishers N             4         --bad-publishers N     4
  --small-body N             4096      --large-body N         65536   --large-every N  8
  --connect-seconds S        10        --flood-seconds S      20
  --healthz-interval S       0.05      --canary-interval S    0.1     --probe-timeout S 2
bounds:
  --latency-bound-ms MS      100       (p99 of /healthz and of canary publishes)
  --memory-bound-mib MIB     computed from the config (see docs/security.md)
  --max-time S               300
output:
  --quick                    a short run for CI: max_connections 200, 3 s + 5 s
  --json                     also print the figures as one JSON line
  --help
)";

using Target = std::variant<std::string*, std::uint32_t*, std::uint64_t*, double*, bool*>;

struct Flag {
    const char* name;
    Target target;
};

// Stores `text` into the flag's target; false when it does not parse.
bool store(const Flag& flag, const char* text)
{
    char* end = nullptr;
    if (auto* s = std::get_if<std::string*>(&flag.target)) {
        **s = text;
        return true;
    }
    if (auto* u = std::get_if<std::uint32_t*>(&flag.target)) {
        const unsigned long long v = std::strtoull(text, &end, 10);
        if (*text == '\0' || *end != '\0' || v > 0xffffffffULL)
            return false;
        **u = static_cast<std::uint32_t>(v);
        return true;
    }
    if (auto* u = std::get_if<std::uint64_t*>(&flag.target)) {
        const unsigned long long v = std::strtoull(text, &end, 10);
        if (*text == '\0' || *end != '\0')
            return false;
        **u = v;
        return true;
    }
    if (auto* d = std::get_if<double*>(&flag.target)) {
        const double v = std::strtod(text, &end);
        if (*text == '\0' || *end != '\0' || !(v >= 0))
            return false;
        **d = v;
        return true;
    }
    return false;
}

int usage_error(const std::string& message)
{
    std::fprintf(stderr, "mercure-overload: %s\n(see --help)\n", message.c_str());
    return 2;
}

} // namespace

int parse_options(int argc, char** argv, Options& o)
{
    std::uint32_t pid = 0;
    const std::vector<Flag> flags = {
        {"--hub", &o.hub_binary}, {"--url", &o.url}, {"--token", &o.token}, {"--pid", &pid}, {"--hub-log", &o.hub_log},
        {"--healthz-url", &o.healthz_url},
        {"--max-connections", &o.max_connections}, {"--max-queued-bytes", &o.max_queued_bytes},
        {"--max-body-size", &o.max_body_size}, {"--max-header-size", &o.max_header_size},
        {"--history-size", &o.history_size}, {"--dispatch-timeout", &o.dispatch_timeout},
        {"--read-timeout", &o.read_timeout}, {"--flood-factor", &o.flood_factor}, {"--headroom", &o.headroom},
        {"--slowloris-share", &o.slowloris_share}, {"--stalled-share", &o.stalled_share},
        {"--knockers", &o.knockers}, {"--flood-readers", &o.flood_readers}, {"--publishers", &o.publishers},
        {"--bad-publishers", &o.bad_publishers}, {"--small-body", &o.small_body}, {"--large-body", &o.large_body},
        {"--large-every", &o.large_every}, {"--connect-seconds", &o.connect_seconds},
        {"--flood-seconds", &o.flood_seconds}, {"--healthz-interval", &o.healthz_interval},
        {"--canary-interval", &o.canary_interval}, {"--probe-timeout", &o.probe_timeout},
        {"--latency-bound-ms", &o.latency_bound_ms}, {"--memory-bound-mib", &o.memory_bound_mib},
        {"--max-time", &o.max_time},
    };
    // --quick sets its defaults first, so explicit flags given with it still win.
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            o.quick = true;
            o.max_connections = 200;
            o.knockers = 32;
            o.flood_readers = 4;
            o.publishers = 2;
            o.bad_publishers = 2;
            o.connect_seconds = 3;
            o.flood_seconds = 5;
            o.max_time = 60;
        }
    }
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage_text, stdout);
            return -1;
        }
        if (arg == "--quick")
            continue;
        if (arg == "--json") {
            o.json = true;
            continue;
        }
        if (arg == "--healthz-on-main-port") {
            o.healthz_on_main_port = true;
            continue;
        }
        const Flag* flag = nullptr;
        for (const Flag& f : flags) {
            if (arg == f.name)
                flag = &f;
        }
        if (flag == nullptr)
            return usage_error("unknown option " + std::string(arg));
        if (i + 1 >= argc)
            return usage_error(std::string(arg) + " needs a value");
        if (!store(*flag, argv[++i]))
            return usage_error("invalid value for " + std::string(arg) + ": " + argv[i]);
    }
    o.pid = static_cast<pid_t>(pid);
    if (o.hub_binary.empty() == o.url.empty())
        return usage_error("give either --hub PATH or --url URL");
    if (!o.url.empty()) {
        if (o.token.empty())
            return usage_error("--url needs --token (a publisher token for that hub)");
        if (!parse_url(o.url, o.server, o.host_header))
            return usage_error("--url must be http://IPV4:PORT or http://localhost:PORT");
        if (o.healthz_url.empty()) {
            o.healthz_on_main_port = true;
        } else if (o.healthz_on_main_port) {
            return usage_error("give --healthz-url or --healthz-on-main-port, not both");
        } else if (!parse_url(o.healthz_url, o.admin_server, o.admin_host_header)) {
            return usage_error("--healthz-url must be http://IPV4:PORT or http://localhost:PORT");
        }
        if (o.healthz_on_main_port) {
            o.admin_server = o.server;
            o.admin_host_header = o.host_header;
        }
    } else if (!o.healthz_url.empty()) {
        return usage_error("--healthz-url goes with --url (with --hub the tool sets metrics_addr itself)");
    }
    if (o.max_connections < 50 || o.max_connections > 15000)
        return usage_error("--max-connections must be between 50 and 15000 (one process, 20000 descriptors)");
    if (o.flood_factor < 1 || o.flood_factor > 20)
        return usage_error("--flood-factor must be between 1 and 20");
    if (o.headroom > 0.5 || o.slowloris_share + o.stalled_share > 0.8)
        return usage_error("--headroom at most 0.5; --slowloris-share + --stalled-share at most 0.8");
    if (o.large_every == 0 || o.small_body == 0 || o.large_body == 0 || o.large_body > o.max_body_size - 1024)
        return usage_error("bodies must be non-empty and --large-body below --max-body-size - 1024");
    if (o.publishers == 0 || o.knockers == 0 || o.healthz_interval < 0.005 || o.canary_interval < 0.005)
        return usage_error("--publishers, --knockers must be > 0; intervals at least 0.005 s");
    if (o.max_time < o.connect_seconds + o.flood_seconds + 10)
        return usage_error("--max-time must exceed the phases by at least 10 s");
    return 0;
}

} // namespace overload
