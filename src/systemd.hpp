// systemd integration: socket activation, sd_notify readiness/status/watchdog, journal detection.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercure {

// One listening socket passed by systemd (LISTEN_FDS), with its FileDescriptorName=.
struct PassedSocket {
    int fd;
    std::string name;
};

// The stream sockets systemd passed to this process; empty when not socket-activated.
// Clears the LISTEN_* variables so children do not inherit them.
std::vector<PassedSocket> systemd_passed_sockets();

// Sends sd_notify messages when NOTIFY_SOCKET is set; every call is a cheap no-op otherwise.
class SystemdNotifier {
public:
    SystemdNotifier();

    bool enabled() const { return enabled_; }
    // The interval at which WATCHDOG=1 must be sent (half of WATCHDOG_USEC); nullopt if none.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }

    void ready();
    void reloading();  // RELOADING=1 with MONOTONIC_USEC=
    void stopping();
    void watchdog();
    void status(std::string_view text);

private:
    void send(const std::string& message);
    bool enabled_ = false;
    std::optional<std::chrono::microseconds> watchdog_interval_;
};

// True when stderr is connected to the journal (JOURNAL_STREAM names its device and inode).
bool stderr_is_journal();

} // namespace mercure
