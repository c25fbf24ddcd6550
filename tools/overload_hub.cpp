// mercure-overload's hub under test: a child hub with a temporary config, /proc readings, tokens.
#include "overload_hub.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench_proc.hpp"
#include "core/token_verifier.hpp"
#include "overload_net.hpp"

namespace overload {

namespace {

// A free loopback port (bound then released: a small race, as in the other tests).
int free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    ::close(fd);
    return port;
}

std::string milliseconds(double seconds)
{
    return std::to_string(static_cast<long long>(seconds * 1000 + 0.5)) + "ms";
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The value in kB of a "Name:   123 kB" line of /proc/PID/status, in bytes.
std::uint64_t status_field(const std::string& text, const char* name)
{
    const std::size_t at = text.find(name);
    if (at == std::string::npos)
        return 0;
    return std::strtoull(text.c_str() + at + std::strlen(name), nullptr, 10) * 1024;
}

} // namespace

bool HubProcess::start(Options& o, std::string& error)
{
    char pattern[] = "/tmp/mercure-overload-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
        error = std::string("mkdtemp: ") + std::strerror(errno);
        return false;
    }
    dir_ = pattern;
    const int port = free_port();
    int admin_port = port;
    // A second, different port for metrics_addr (a few tries: the first one was released).
    for (int attempt = 0; attempt < 8 && !o.healthz_on_main_port && admin_port == port; ++attempt)
        admin_port = free_port();
    if (port <= 0 || admin_port <= 0 || (!o.healthz_on_main_port && admin_port == port)) {
        error = "no free port";
        return false;
    }
    const std::string config_path = dir_ + "/mercure.conf";
    {
        std::ofstream config(config_path);
        config << "addr = \"127.0.0.1:" << port << "\";\n"
               << "jwt_key = \"" << o.key << "\";\n"
               << "allow_anonymous = true;\n"
               << "max_connections = " << o.max_connections << ";\n"
               << "max_queued_bytes = " << o.max_queued_bytes << ";\n"
               << "max_body_size = " << o.max_body_size << ";\n"
               << "max_header_size = " << o.max_header_size << ";\n"
               << "history_store = \"memory\";\n"
               << "history_size = " << o.history_size << ";\n"
               << "dispatch_timeout = \"" << milliseconds(o.dispatch_timeout) << "\";\n"
               << "read_timeout = \"" << milliseconds(o.read_timeout) << "\";\n"
               << "metrics = true;\n"
               << "log_level = \"info\";\n";
        // The operational endpoints on their own address, with their own connection allowance.
        if (!o.healthz_on_main_port)
            config << "metrics_addr = \"127.0.0.1:" << admin_port << "\";\n";
        if (!config) {
            error = "cannot write " + config_path;
            return false;
        }
    }
    log_path_ = dir_ + "/hub.log";
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t child = ::fork();
    if (child < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        return false;
    }
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log >= 0) {
            ::dup2(log, 1);
            ::dup2(log, 2);
        }
        // The hub reads settings from the environment too: none may leak in from ours.
        ::clearenv();
        ::setenv("PATH", "/usr/bin:/bin", 1);
        execl(o.hub_binary.c_str(), o.hub_binary.c_str(), "--config", config_path.c_str(), static_cast<char*>(nullptr));
        std::fprintf(stderr, "exec %s: %s\n", o.hub_binary.c_str(), std::strerror(errno));
        ::_exit(127);
    }
    pid_ = child;
    o.pid = child;
    o.url = "http://127.0.0.1:" + std::to_string(port);
    parse_url(o.url, o.server, o.host_header);
    parse_url("http://127.0.0.1:" + std::to_string(admin_port), o.admin_server, o.admin_host_header);
    // Bounded wait for /healthz on both addresses: 200 tries, 50 ms apart.
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (!alive()) {
            error = "the hub exited at start:\n" + slurp(log_path_);
            return false;
        }
        std::string body;
        if (http_get(o.server, o.host_header, "/healthz", body) == 200
            && http_get(o.admin_server, o.admin_host_header, "/healthz", body) == 200)
            return true;
        ::usleep(50000);
    }
    error = "the hub did not answer /healthz within 10 s:\n" + slurp(log_path_);
    return false;
}

bool HubProcess::alive()
{
    if (pid_ <= 0)
        return false;
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        return false;
    }
    return true;
}

int HubProcess::stop()
{
    if (alive()) {
        ::kill(pid_, SIGTERM);
        bool reaped = false;
        int status = 0;
        for (int i = 0; i < 1000 && !reaped; ++i) { // 10 s
            reaped = ::waitpid(pid_, &status, WNOHANG) == pid_;
            if (!reaped)
                ::usleep(10000);
        }
        if (!reaped) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            exit_status_ = -1;
        } else {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        pid_ = -1;
    }
    if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        dir_.clear();
    }
    return exit_status_;
}

std::uint64_t HubProcess::log_lines(std::string& first, std::size_t keep) const
{
    std::ifstream in(log_path_);
    std::string line;
    std::uint64_t count = 0;
    // Bounded by the file; each line is read once.
    while (std::getline(in, line)) {
        if (count < keep)
            first += line + "\n";
        ++count;
    }
    return count;
}

bool HubProcess::copy_log(const std::string& path) const
{
    std::error_code error;
    std::filesystem::copy_file(log_path_, path, std::filesystem::copy_options::overwrite_existing, error);
    return !error;
}

std::string read_load_average()
{
    std::istringstream fields(slurp("/proc/loadavg"));
    std::string one, five, fifteen;
    fields >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

ProcessMemory read_process_memory(pid_t pid)
{
    ProcessMemory memory;
    if (pid <= 0)
        return memory;
    const std::string text = slurp("/proc/" + std::to_string(pid) + "/status");
    memory.rss = status_field(text, "VmRSS:");
    memory.hwm = status_field(text, "VmHWM:");
    return memory;
}

std::uint64_t read_send_queues(std::uint16_t port)
{
    std::uint64_t total = 0;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::istringstream lines(slurp(table));
        std::string line;
        std::getline(lines, line);  // the header
        while (std::getline(lines, line)) {
            // "sl local_address rem_address st tx_queue:rx_queue ...", addresses "HEX:PORT".
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues;
            if (!(fields >> slot >> local >> remote >> state >> queues))
                continue;
            std::size_t colon = local.rfind(':');
            if (colon == std::string::npos || std::strtoul(local.c_str() + colon + 1, nullptr, 16) != port)
                continue;
            total += std::strtoull(queues.substr(0, queues.find(':')).c_str(), nullptr, 16);
        }
    }
    return total;
}

double read_process_cpu(pid_t pid)
{
    if (pid <= 0)
        return -1;
    const long long ticks = bench::parse_stat_cpu_ticks(slurp("/proc/" + std::to_string(pid) + "/stat"));
    const long per_second = ::sysconf(_SC_CLK_TCK);
    return ticks < 0 ? -1 : static_cast<double>(ticks) / static_cast<double>(per_second > 0 ? per_second : 100);
}

std::string mint_publisher_token(const std::string& key, std::string& error)
{
    mercure::TokenGrant grant;
    grant.publish = std::vector<std::string>{"*"};
    grant.subscribe = std::vector<std::string>{"*"};
    auto token = mercure::mint_token(mercure::JwtAlgorithm::HS256, key, grant);
    if (!token) {
        error = token.error().message;
        return {};
    }
    return *token;
}

int http_get(const sockaddr_in& server, const std::string& host_header, const std::string& path, std::string& body)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    const std::int64_t deadline = monotonic_ns() + 2000000000LL;
    auto wait_for = [&](short events) {
        const std::int64_t left = deadline - monotonic_ns();
        pollfd p{fd, events, 0};
        return left > 0 && ::poll(&p, 1, static_cast<int>(left / 1000000) + 1) == 1;
    };
    int status = 0;
    std::string reply;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_header + "\r\nConnection: close\r\n\r\n";
    if ((::connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) == 0 || errno == EINPROGRESS)
        && wait_for(POLLOUT) && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        ReplyReader reader;
        char buffer[16384];
        // Bounded by the deadline: every pass waits for data or gives up.
        while (wait_for(POLLIN)) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0)
                break;
            reader.append(buffer, static_cast<std::size_t>(n));
            int got = 0;
            const auto result = reader.next(got, body);
            if (result == ReplyReader::Result::reply) {
                status = got;
                break;
            }
            if (result == ReplyReader::Result::malformed)
                break;
        }
    }
    ::close(fd);
    return status;
}

} // namespace overload
