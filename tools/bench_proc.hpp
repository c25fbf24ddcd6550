// Server-side resource readings for mercure-bench: process tree, memory, CPU time.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Memory of a process tree, summed over its processes, in bytes.
struct MemoryUsage {
    std::uint64_t rss = 0;
    std::uint64_t pss = 0;
    int processes = 0;
};

// Observes the server under test through /proc: the process `root` and every descendant
// (found through /proc/PID/task/*/children, recursively, at each reading, so workers that
// restart are still counted).
class ServerProbe {
public:
    explicit ServerProbe(pid_t root) : root_(root) {}

    // Whether a root was given (pid 0 disables every reading).
    bool enabled() const { return root_ > 0; }
    // Whether the root process still exists.
    bool alive() const;
    // The root and its descendants, at most 4096 of them.
    std::vector<pid_t> tree() const;
    // Rss and Pss from /proc/PID/smaps_rollup summed over the tree.
    MemoryUsage memory() const;
    // utime + stime from /proc/PID/stat summed over the tree, in seconds.
    double cpu_seconds() const;

private:
    pid_t root_;
};

// The fields of /proc/PID/stat after the command name: utime + stime in clock ticks;
// -1 when unreadable. Exposed for tests.
long long parse_stat_cpu_ticks(const std::string& stat);

} // namespace bench
