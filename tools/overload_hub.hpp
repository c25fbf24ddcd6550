// mercure-overload's hub under test: a child hub with a temporary config, /proc readings, tokens.
#pragma once
#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "overload_options.hpp"

namespace overload {

// A hub started by the tool: a private temporary directory holding its config and log, a
// free loopback port, the child process (killed with the tool: PR_SET_PDEATHSIG). stop() ends
// it with SIGTERM (SIGKILL after 10 s) and removes the directory.
class HubProcess {
public:
    HubProcess() = default;
    ~HubProcess() { stop(); }
    HubProcess(const HubProcess&) = delete;
    HubProcess& operator=(const HubProcess&) = delete;

    // Writes the config (metrics_addr on a second free port unless
    // options.healthz_on_main_port), starts `options.hub_binary`, fills options.server/url/
    // host_header and options.admin_server/admin_host_header (the probe address) and waits
    // (10 s at most) for /healthz on both. False and `error` on failure.
    bool start(Options& options, std::string& error);
    // Stops the hub (if running); returns its exit status (-1 when it was killed or absent).
    int stop();
    pid_t pid() const { return pid_; }
    // Whether the child still runs.
    bool alive();
    // Lines the hub wrote to its log so far, and the first `keep` of them.
    std::uint64_t log_lines(std::string& first, std::size_t keep) const;
    // Copies the log to `path`; false when it cannot.
    bool copy_log(const std::string& path) const;

private:
    pid_t pid_ = -1;
    int exit_status_ = -1;
    std::string dir_;
    std::string log_path_;
};

// Memory of one process from /proc/PID/status, in bytes (0 when unreadable).
struct ProcessMemory {
    std::uint64_t rss = 0;  // VmRSS
    std::uint64_t hwm = 0;  // VmHWM: the peak RSS since the process started
};
ProcessMemory read_process_memory(pid_t pid);

// Bytes the kernel holds in the send queues of the sockets whose local port is `port` (the
// hub's side of its client connections): the tx_queue column of /proc/net/tcp and tcp6. This
// memory is in no process's RSS; send_buffer bounds it per subscriber.
std::uint64_t read_send_queues(std::uint16_t port);

// The first three fields of /proc/loadavg.
std::string read_load_average();

// utime + stime of a process in seconds (-1 when unreadable).
double read_process_cpu(pid_t pid);

// An HS256 publisher token for every topic signed with `key`; empty and `error` on failure.
std::string mint_publisher_token(const std::string& key, std::string& error);

// Connects to `server` and sends one GET with a 2 s deadline; the status (0 on failure) and
// the body. Blocking: used before and after the load, not during it.
int http_get(const sockaddr_in& server, const std::string& host_header, const std::string& path, std::string& body);

} // namespace overload
