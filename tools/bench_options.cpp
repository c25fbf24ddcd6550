// mercure-bench command line parsing: one table of long options, typed setters, validation.
#include "bench_options.hpp"

#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

namespace bench {

namespace {

constexpr const char* usage_text =
    "Usage: mercure-bench --target mercure|nchan --url http://HOST:PORT [OPTION]...\n"
    "\n"
    "Load generator for a Mercure hub or nginx+nchan: holds SSE subscribers on raw sockets\n"
    "(forked into several processes beyond --per-process), publishes timestamped updates and\n"
    "reports each phase as text, then everything as one JSON line (the last line, starting\n"
    "with '{'). Latency = receive time - CLOCK_REALTIME stamp put in the data by the publisher.\n"
    "\n"
    "Target:\n"
    "  --target mercure|nchan   protocol: Mercure (GET/POST /.well-known/mercure) or nchan\n"
    "                           (GET /sub?id=CHANNEL, POST /pub?id=CHANNEL)\n"
    "  --url URL                http://HOST:PORT[/hub-path] (IPv4 or a resolvable name)\n"
    "  --token JWT              publisher token for Mercure (Authorization: Bearer)\n"
    "  --topic IRI              Mercure topic (default https://example.com/bench)\n"
    "  --channel ID             nchan channel id (default bench)\n"
    "  --server-pid PID         server's root process: memory and CPU of its process tree\n"
    "                           are read from /proc (without it those figures are absent)\n"
    "\n"
    "Phases (default: all, in this order):\n"
    "  --phases LIST            comma-separated: idle-memory, fanout, throughput,\n"
    "                           publish-rate, publish-latency, max-connections\n"
    "  --quick                  small smoke-run defaults (1000 subscribers, 5 rounds, short\n"
    "                           durations); options given after it still apply\n"
    "\n"
    "  idle-memory      --subscribers N (10000) --settle SECONDS (3)\n"
    "  fanout           --fanout-subscribers N (10000) --rounds N (20, at most 1000)\n"
    "                   --round-gap SECONDS (0.25) --round-timeout SECONDS (10); a round ends when\n"
    "                   every subscriber has the update (or at the timeout), then the gap\n"
    "  throughput       --throughput-subscribers N (1000) --throughput-publishers N (4)\n"
    "                   --duration SECONDS (10, flat-out and again paced) --rate N (100/s, the\n"
    "                   paced publishes per second over all publishers)\n"
    "  publish-rate     --rate-publishers N (32) --rate-subscribers N (100; also runs with 0)\n"
    "                   --rate-duration SECONDS (5)\n"
    "  publish-latency  --latency-subscribers N (10000) --latency-publishes N (50, at most\n"
    "                   1000) --latency-gap SECONDS (0.1): one publisher; each publish leaves\n"
    "                   once the previous update reached every subscriber, plus the gap\n"
    "  max-connections  --max-subscribers N (19500), then one update to all of them\n"
    "  Every phase but idle-memory first publishes one probe update (never counted) and\n"
    "  waits until every connected subscriber has it (3 tries of 5 s), else warns.\n"
    "\n"
    "Load generator:\n"
    "  --per-process N          subscribers per worker process (15000; fd limit 20000)\n"
    "  --workers N              use exactly N worker processes (default: as needed)\n"
    "  --connect-window N       connections in flight per worker (256)\n"
    "  --connect-timeout SECONDS  deadline for connecting a batch (60)\n"
    "  --source-addresses N     spread subscribers over 127.0.0.2..N+1 for more ephemeral\n"
    "                           ports when the server is on loopback (8; 0 disables)\n"
    "  --payload-size N         pad each update's data to N bytes (default: no padding)\n"
    "  --drain-timeout SECONDS  wait for late deliveries after publishing stops (10)\n"
    "  --max-time SECONDS       abort the whole run after this long (1200)\n"
    "  --require-full-delivery  exit 1 on any warning (a delivery ratio below 1, subscribers\n"
    "                           that never received the probe update)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 when every phase ran without error, 1 on errors (connection failures,\n"
    "refused publishes, dropped streams), 2 on a usage error.\n";

enum OptionId : int {
    opt_target = 256, opt_url, opt_token, opt_topic, opt_channel, opt_server_pid, opt_phases, opt_quick,
    opt_subscribers, opt_fanout_subscribers, opt_rounds, opt_round_gap, opt_round_timeout, opt_settle,
    opt_throughput_subscribers, opt_throughput_publishers, opt_duration, opt_rate, opt_rate_publishers,
    opt_rate_subscribers, opt_rate_duration, opt_latency_subscribers, opt_latency_publishes,
    opt_latency_gap, opt_max_subscribers, opt_per_process, opt_workers, opt_connect_window,
    opt_connect_timeout, opt_source_addresses, opt_payload_size, opt_drain_timeout, opt_max_time,
    opt_require_full_delivery,
};

const option long_options[] = {
    {"target", required_argument, nullptr, opt_target},
    {"url", required_argument, nullptr, opt_url},
    {"token", required_argument, nullptr, opt_token},
    {"topic", required_argument, nullptr, opt_topic},
    {"channel", required_argument, nullptr, opt_channel},
    {"server-pid", required_argument, nullptr, opt_server_pid},
    {"phases", required_argument, nullptr, opt_phases},
    {"quick", no_argument, nullptr, opt_quick},
    {"subscribers", required_argument, nullptr, opt_subscribers},
    {"fanout-subscribers", required_argument, nullptr, opt_fanout_subscribers},
    {"rounds", required_argument, nullptr, opt_rounds},
    {"round-gap", required_argument, nullptr, opt_round_gap},
    {"round-timeout", required_argument, nullptr, opt_round_timeout},
    {"settle", required_argument, nullptr, opt_settle},
    {"throughput-subscribers", required_argument, nullptr, opt_throughput_subscribers},
    {"throughput-publishers", required_argument, nullptr, opt_throughput_publishers},
    {"duration", required_argument, nullptr, opt_duration},
    {"rate", required_argument, nullptr, opt_rate},
    {"rate-publishers", required_argument, nullptr, opt_rate_publishers},
    {"rate-subscribers", required_argument, nullptr, opt_rate_subscribers},
    {"rate-duration", required_argument, nullptr, opt_rate_duration},
    {"latency-subscribers", required_argument, nullptr, opt_latency_subscribers},
    {"latency-publishes", required_argument, nullptr, opt_latency_publishes},
    {"latency-gap", required_argument, nullptr, opt_latency_gap},
    {"max-subscribers", required_argument, nullptr, opt_max_subscribers},
    {"per-process", required_argument, nullptr, opt_per_process},
    {"workers", required_argument, nullptr, opt_workers},
    {"connect-window", required_argument, nullptr, opt_connect_window},
    {"connect-timeout", required_argument, nullptr, opt_connect_timeout},
    {"source-addresses", required_argument, nullptr, opt_source_addresses},
    {"payload-size", required_argument, nullptr, opt_payload_size},
    {"drain-timeout", required_argument, nullptr, opt_drain_timeout},
    {"max-time", required_argument, nullptr, opt_max_time},
    {"require-full-delivery", no_argument, nullptr, opt_require_full_delivery},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

// Prints a one-line usage error and returns the usage exit status.
int usage_error(const std::string& message)
{
    std::cerr << "mercure-bench: " << message << " (see --help)\n";
    return 2;
}

// Parses a whole unsigned decimal within [low, high].
bool parse_count(const char* text, std::uint32_t low, std::uint32_t high, std::uint32_t& out)
{
    errno = 0;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || *text == '-' || value < low || value > high)
        return false;
    out = static_cast<std::uint32_t>(value);
    return true;
}

// Parses a number of seconds within [low, high].
bool parse_seconds(const char* text, double low, double high, double& out)
{
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !std::isfinite(value) || value < low || value > high)
        return false;
    out = value;
    return true;
}

// Applies the smoke-run defaults.
void apply_quick(Options& o)
{
    o.quick = true;
    o.subscribers = 1000;
    o.fanout_subscribers = 1000;
    o.rounds = 5;
    o.round_gap = 0.1;
    o.settle = 1;
    o.throughput_subscribers = 100;
    o.duration = 2;
    o.rate = 50;
    o.rate_subscribers = 20;
    o.rate_duration = 1;
    o.latency_subscribers = 1000;
    o.latency_publishes = 10;
    o.latency_gap = 0.05;
    o.max_subscribers = 2000;
    o.drain_timeout = 5;
}

// Resolves http://HOST:PORT[/path] into the options.
bool parse_url(const std::string& url, Options& o, std::string& error)
{
    constexpr std::string_view scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0) {
        error = "--url must start with http:// (got " + url + ")";
        return false;
    }
    std::string rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    std::string path = slash == std::string::npos ? std::string() : rest.substr(slash);
    const std::string authority = rest.substr(0, slash);
    const auto colon = authority.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        error = "--url needs an explicit host and port, like http://127.0.0.1:3000";
        return false;
    }
    const std::string host = authority.substr(0, colon);
    std::uint32_t port = 0;
    if (!parse_count(authority.c_str() + colon + 1, 1, 65535, port)) {
        error = "bad port in --url " + url;
        return false;
    }
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        error = "cannot resolve " + host + " to an IPv4 address";
        return false;
    }
    std::memcpy(&o.server, found->ai_addr, sizeof o.server);
    ::freeaddrinfo(found);
    o.server.sin_port = htons(static_cast<std::uint16_t>(port));
    o.host_header = authority;
    if (path.size() > 1)
        o.hub_path = path;
    return true;
}

// Splits a comma-separated phase list and checks every name.
bool parse_phases(const std::string& text, std::vector<std::string>& phases, std::string& error)
{
    phases.clear();
    std::size_t start = 0;
    for (int guard = 0; guard < 100 && start <= text.size(); ++guard) {
        const auto comma = text.find(',', start);
        const std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!name.empty()) {
            const auto& known = all_phases();
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                error = "unknown phase '" + name + "'";
                return false;
            }
            phases.push_back(name);
        }
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    if (phases.empty()) {
        error = "--phases names no phase";
        return false;
    }
    return true;
}

} // namespace

bool Options::wants(const std::string& phase) const
{
    return std::find(phases.begin(), phases.end(), phase) != phases.end();
}

std::uint32_t Options::largest_subscriber_count() const
{
    std::uint32_t largest = 1;
    if (wants("idle-memory"))
        largest = std::max(largest, subscribers);
    if (wants("fanout"))
        largest = std::max(largest, fanout_subscribers);
    if (wants("throughput"))
        largest = std::max(largest, throughput_subscribers);
    if (wants("publish-rate"))
        largest = std::max(largest, rate_subscribers);
    if (wants("publish-latency"))
        largest = std::max(largest, latency_subscribers);
    if (wants("max-connections"))
        largest = std::max(largest, max_subscribers);
    return largest;
}

int parse_options(int argc, char** argv, Options& o)
{
    // --quick sets defaults that the other options, wherever they are, override.
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--quick")
            apply_quick(o);
    }
    constexpr std::uint32_t many = 1000000;
    bool have_target = false;
    std::string phases_text;
    std::string error;
    ::opterr = 0;
    for (int guard = 0; guard < 10000; ++guard) {
        int index = 0;
        const int id = ::getopt_long(argc, argv, ":h", long_options, &index);
        if (id == -1)
            break;
        const char* arg = ::optarg;
        bool good = true;
        switch (id) {
        case 'h':
            std::cout << usage_text;
            return -1;
        case opt_target:
            if (std::string_view(arg) == "mercure")
                o.target = Target::mercure;
            else if (std::string_view(arg) == "nchan")
                o.target = Target::nchan;
            else
                return usage_error("--target must be mercure or nchan");
            have_target = true;
            break;
        case opt_url: o.url = arg; break;
        case opt_token: o.token = arg; break;
        case opt_topic: o.topic = arg; break;
        case opt_channel: o.channel = arg; break;
        case opt_server_pid: {
            std::uint32_t pid = 0;
            good = parse_count(arg, 1, 1u << 30, pid);
            o.server_pid = static_cast<pid_t>(pid);
            break;
        }
        case opt_phases: phases_text = arg; break;
        case opt_quick: break;
        case opt_subscribers: good = parse_count(arg, 1, many, o.subscribers); break;
        case opt_fanout_subscribers: good = parse_count(arg, 1, many, o.fanout_subscribers); break;
        case opt_rounds: good = parse_count(arg, 1, 1000, o.rounds); break;
        case opt_round_gap: good = parse_seconds(arg, 0, 60, o.round_gap); break;
        case opt_round_timeout: good = parse_seconds(arg, 0.1, 600, o.round_timeout); break;
        case opt_settle: good = parse_seconds(arg, 0, 600, o.settle); break;
        case opt_throughput_subscribers: good = parse_count(arg, 1, many, o.throughput_subscribers); break;
        case opt_throughput_publishers: good = parse_count(arg, 1, 1000, o.throughput_publishers); break;
        case opt_duration: good = parse_seconds(arg, 0.1, 3600, o.duration); break;
        case opt_rate: good = parse_seconds(arg, 0.1, 1e7, o.rate); break;
        case opt_rate_publishers: good = parse_count(arg, 1, 1000, o.rate_publishers); break;
        case opt_rate_subscribers: good = parse_count(arg, 1, many, o.rate_subscribers); break;
        case opt_rate_duration: good = parse_seconds(arg, 0.1, 3600, o.rate_duration); break;
        case opt_latency_subscribers: good = parse_count(arg, 1, many, o.latency_subscribers); break;
        case opt_latency_publishes: good = parse_count(arg, 1, 1000, o.latency_publishes); break;
        case opt_latency_gap: good = parse_seconds(arg, 0, 60, o.latency_gap); break;
        case opt_max_subscribers: good = parse_count(arg, 1, many, o.max_subscribers); break;
        case opt_per_process: good = parse_count(arg, 1, 1000000, o.per_process); break;
        case opt_workers: good = parse_count(arg, 1, 64, o.workers); break;
        case opt_connect_window: good = parse_count(arg, 1, 100000, o.connect_window); break;
        case opt_connect_timeout: good = parse_seconds(arg, 0.1, 3600, o.connect_timeout); break;
        case opt_source_addresses: good = parse_count(arg, 0, 250, o.source_addresses); break;
        case opt_payload_size: good = parse_count(arg, 0, 1 << 20, o.payload_size); break;
        case opt_drain_timeout: good = parse_seconds(arg, 0, 600, o.drain_timeout); break;
        case opt_max_time: good = parse_seconds(arg, 1, 86400, o.max_time); break;
        case opt_require_full_delivery: o.require_full_delivery = true; break;
        case ':':
            return usage_error(std::string("option ") + argv[::optind - 1] + " needs a value");
        default:
            return usage_error(std::string("unknown option ") + argv[::optind - 1]);
        }
        if (!good)
            return usage_error(std::string("bad value '") + arg + "' for --" + long_options[index].name);
    }
    if (::optind < argc)
        return usage_error(std::string("unexpected argument ") + argv[::optind]);
    if (!have_target)
        return usage_error("--target is required");
    if (o.url.empty())
        return usage_error("--url is required");
    if (!parse_url(o.url, o, error))
        return usage_error(error);
    if (o.target == Target::mercure && o.token.empty())
        return usage_error("--target mercure needs --token (a publisher JWT)");
    if (phases_text.empty())
        o.phases = all_phases();
    else if (!parse_phases(phases_text, o.phases, error))
        return usage_error(error);
    return 0;
}

} // namespace bench
