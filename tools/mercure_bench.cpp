// mercure-bench: load generator comparing a Mercure hub with nginx+nchan (see --help).
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "bench_options.hpp"
#include "bench_runner.hpp"

namespace {

// The whole run is bounded by --max-time: past it, say so and leave (workers die with us).
void on_alarm(int)
{
    static const char message[] = "mercure-bench: --max-time exceeded, aborting\n";
    const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    ::_exit(1);
}

} // namespace

int main(int argc, char** argv)
{
    bench::Options options;
    const int parsed = bench::parse_options(argc, argv, options);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    std::signal(SIGALRM, on_alarm);
    ::alarm(static_cast<unsigned>(options.max_time));
    bench::Bench bench(options);
    return bench.run();
}
