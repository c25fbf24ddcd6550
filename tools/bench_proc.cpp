// ServerProbe: reads /proc for the process tree, smaps_rollup memory and stat CPU time.
#include "bench_proc.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace bench {

namespace {

constexpr std::size_t max_tree = 4096;

// Reads a whole (small) /proc file; empty when it cannot be opened.
std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        return {};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Appends the children listed in every /proc/PID/task/TID/children.
void add_children(pid_t pid, std::vector<pid_t>& out)
{
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* tasks = ::opendir(dir.c_str());
    if (tasks == nullptr)
        return;
    for (int guard = 0; guard < 65536; ++guard) {
        const dirent* entry = ::readdir(tasks);
        if (entry == nullptr)
            break;
        if (entry->d_name[0] == '.')
            continue;
        std::istringstream children(slurp(dir + "/" + entry->d_name + "/children"));
        long child = 0;
        while (out.size() < max_tree && children >> child)
            out.push_back(static_cast<pid_t>(child));
    }
    ::closedir(tasks);
}

// Value in kB of a "Name:   123 kB" line of smaps_rollup, converted to bytes.
std::uint64_t field_bytes(const std::string& text, const std::string& name)
{
    const auto at = text.find("\n" + name + ":");
    const auto start = at == std::string::npos ? (text.rfind(name + ":", 0) == 0 ? 0 : std::string::npos) : at + 1;
    if (start == std::string::npos)
        return 0;
    const char* value = text.c_str() + start + name.size() + 1;
    return std::strtoull(value, nullptr, 10) * 1024;
}

} // namespace

bool ServerProbe::alive() const
{
    return enabled() && ::access(("/proc/" + std::to_string(root_) + "/stat").c_str(), F_OK) == 0;
}

std::vector<pid_t> ServerProbe::tree() const
{
    std::vector<pid_t> pids;
    if (!enabled())
        return pids;
    pids.push_back(root_);
    for (std::size_t i = 0; i < pids.size() && i < max_tree; ++i)
        add_children(pids[i], pids);
    return pids;
}

MemoryUsage ServerProbe::memory() const
{
    MemoryUsage usage;
    for (pid_t pid : tree()) {
        const std::string text = slurp("/proc/" + std::to_string(pid) + "/smaps_rollup");
        if (text.empty())
            continue;
        usage.rss += field_bytes(text, "Rss");
        usage.pss += field_bytes(text, "Pss");
        ++usage.processes;
    }
    return usage;
}

long long parse_stat_cpu_ticks(const std::string& stat)
{
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos)
        return -1;
    std::istringstream fields(stat.substr(paren + 1));
    std::string field;
    long long utime = -1;
    long long stime = -1;
    // Field 3 (state) is the first after ')'; utime and stime are fields 14 and 15.
    for (int index = 3; index <= 15 && fields >> field; ++index) {
        if (index == 14)
            utime = std::atoll(field.c_str());
        if (index == 15)
            stime = std::atoll(field.c_str());
    }
    return utime < 0 || stime < 0 ? -1 : utime + stime;
}

double ServerProbe::cpu_seconds() const
{
    static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    long long ticks = 0;
    for (pid_t pid : tree()) {
        const long long t = parse_stat_cpu_ticks(slurp("/proc/" + std::to_string(pid) + "/stat"));
        if (t > 0)
            ticks += t;
    }
    return static_cast<double>(ticks) / static_cast<double>(ticks_per_second > 0 ? ticks_per_second : 100);
}

} // namespace bench
