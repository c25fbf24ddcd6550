// systemd integration: socket activation, sd_notify readiness/status/watchdog, journal detection.
#include "systemd.hpp"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace mercure {

std::vector<PassedSocket> systemd_passed_sockets()
{
    std::vector<PassedSocket> sockets;
    char** names = nullptr;
    int count = sd_listen_fds_with_names(1, &names);
    for (int i = 0; i < count; ++i) {
        int fd = SD_LISTEN_FDS_START + i;
        std::string name = names && names[i] ? names[i] : "";
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0)
            sockets.push_back(PassedSocket{fd, name});
    }
    if (names) {
        for (int i = 0; i < count; ++i)
            std::free(names[i]);
        std::free(names);
    }
    return sockets;
}

SystemdNotifier::SystemdNotifier()
{
    const char* socket = std::getenv("NOTIFY_SOCKET");
    enabled_ = socket && *socket;
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        watchdog_interval_ = std::chrono::microseconds(usec / 2);
}

void SystemdNotifier::send(const std::string& message)
{
    if (enabled_)
        sd_notify(0, message.c_str());
}

void SystemdNotifier::ready() { send("READY=1"); }

void SystemdNotifier::reloading()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long usec = static_cast<long long>(now.tv_sec) * 1000000LL + now.tv_nsec / 1000;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() { send("STOPPING=1"); }

void SystemdNotifier::watchdog() { send("WATCHDOG=1"); }

void SystemdNotifier::status(std::string_view text) { send("STATUS=" + std::string(text)); }

bool stderr_is_journal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream)
        return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2)
        return false;
    struct stat st {};
    if (fstat(2, &st) < 0)
        return false;
    return st.st_dev == device && st.st_ino == inode;
}

} // namespace mercure
