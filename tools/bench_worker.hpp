// The subscriber worker: a forked process that holds SSE subscribers for mercure-bench.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace bench {

// What a worker needs to open subscribers; fixed before fork.
struct WorkerConfig {
    sockaddr_in server{};
    std::string request;              // the whole GET request every subscriber sends
    std::uint32_t source_addresses = 0; // > 0: bind to 127.0.0.2.. round-robin
};

// Runs a worker's event loop until the parent sends `quit` or closes the command pipe.
// Commands arrive on `command_fd`, replies go to `reply_fd` (see bench_wire.hpp). Returns the
// process exit status.
int worker_main(const WorkerConfig& config, int command_fd, int reply_fd);

} // namespace bench
