// mercure-bench command line: the options of every phase, --quick defaults, validation.
#pragma once
#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

enum class Target { mercure, nchan };

// The phases, in the order they run.
inline const std::vector<std::string>& all_phases()
{
    static const std::vector<std::string> phases = {
        "idle-memory", "fanout", "throughput", "publish-rate", "publish-latency", "max-connections"};
    return phases;
}

struct Options {
    Target target = Target::mercure;
    std::string url;
    sockaddr_in server{};     // resolved from url
    std::string host_header;  // host[:port] as given in url
    std::string hub_path = "/.well-known/mercure";
    std::string token;
    std::string topic = "https://example.com/bench";
    std::string channel = "bench";
    pid_t server_pid = 0;
    std::vector<std::string> phases;
    bool quick = false;

    std::uint32_t subscribers = 10000;           // idle-memory
    std::uint32_t fanout_subscribers = 10000;    // fanout
    std::uint32_t rounds = 20;
    double round_gap = 0.25;
    double round_timeout = 10;
    double settle = 3;

    std::uint32_t throughput_subscribers = 1000;
    std::uint32_t throughput_publishers = 4;
    double duration = 10;
    double rate = 100;                           // paced publishes per second

    std::uint32_t rate_publishers = 32;
    std::uint32_t rate_subscribers = 100;
    double rate_duration = 5;

    std::uint32_t latency_subscribers = 10000;
    std::uint32_t latency_publishes = 50;
    double latency_gap = 0.1;

    std::uint32_t max_subscribers = 19500;

    std::uint32_t per_process = 15000;
    std::uint32_t workers = 0;                   // 0: as many as the subscriber count needs
    std::uint32_t connect_window = 256;
    double connect_timeout = 60;
    std::uint32_t source_addresses = 8;
    std::uint32_t payload_size = 0;
    double drain_timeout = 10;
    double max_time = 1200;
    bool require_full_delivery = false;

    // Whether the phase was selected.
    bool wants(const std::string& phase) const;
    // The largest subscriber count any selected phase uses.
    std::uint32_t largest_subscriber_count() const;
};

// Parses argv. Returns 0 and fills `options`, or prints help (returns -1: exit 0) or a usage
// error (returns 2).
int parse_options(int argc, char** argv, Options& options);

} // namespace bench
