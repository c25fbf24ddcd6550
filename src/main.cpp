// mercure: argv -> Config -> Hub; exit codes; nothing else.
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <variant>

#include "build_config.hpp"
#include "config/command_line.hpp"
#include "hub.hpp"
#include "log.hpp"

extern char** environ;

namespace {

// Exit codes (documented in mercure(8)).
constexpr int exit_ok = 0;
constexpr int exit_config = 1;
constexpr int exit_runtime = 3;

mercure::LogLevel log_level_of(const mercure::Config& config)
{
    if (config.debug)
        return mercure::LogLevel::Debug;
    return mercure::parse_log_level(config.log_level).value_or(mercure::LogLevel::Info);
}

int run_hub(const mercure::Invocation& invocation, mercure::Logger& logger)
{
    auto reloader = [&invocation]() -> mercure::Result<mercure::Config> {
        auto reloaded = mercure::reload_config(invocation);
        if (auto* error = std::get_if<mercure::InvocationError>(&reloaded))
            return mercure::Error{error->message};
        return std::get<mercure::Config>(std::move(reloaded));
    };
    auto hub = mercure::Hub::create(invocation.config, logger, reloader);
    if (!hub) {
        std::fprintf(stderr, "invalid config: %s\n", hub.error().message.c_str());
        return exit_config;
    }
    if (auto listening = (*hub)->listen(); !listening) {
        logger.log(mercure::LogLevel::Error, "Cannot listen", {{"REASON", listening.error().message}});
        return exit_runtime;
    }
    std::string addresses;
    for (const auto& address : (*hub)->listening_on())
        addresses += (addresses.empty() ? "" : " ") + address;
    logger.log(mercure::LogLevel::Notice, mercure::LogEvent::Started, "Mercure hub started",
               {{"MERCURE_LISTEN", addresses}, {"MERCURE_VERSION", MERCURE_VERSION}});
    int code = (*hub)->run();
    logger.log(mercure::LogLevel::Notice, mercure::LogEvent::Stopped, "Mercure hub stopped");
    return code;
}

} // namespace

int main(int argc, char** argv)
{
    auto parsed = mercure::parse_invocation(argc, argv, environ);
    if (auto* error = std::get_if<mercure::InvocationError>(&parsed)) {
        std::fprintf(stderr, "%s\n", error->message.c_str());
        return error->exit_code;
    }
    auto& invocation = std::get<mercure::Invocation>(parsed);
    switch (invocation.action) {
    case mercure::Action::Help:
        std::fputs(mercure::help_text().c_str(), stdout);
        return exit_ok;
    case mercure::Action::Version:
        std::printf("mercure %s\n", MERCURE_VERSION);
        return exit_ok;
    case mercure::Action::DumpConfig:
        std::fputs(mercure::dump_config(invocation.config).c_str(), stdout);
        return exit_ok;
    case mercure::Action::CheckConfig:
        if (auto keys = mercure::Hub::check_keys(invocation.config); !keys) {
            std::fprintf(stderr, "invalid config: %s\n", keys.error().message.c_str());
            return exit_config;
        }
        std::printf("configuration OK: %s\n", invocation.config_path.c_str());
        return exit_ok;
    case mercure::Action::Run:
        break;
    }
    // Every connection is a descriptor: take the hard limit (systemd's LimitNOFILE= sets both).
    if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    mercure::Logger logger(log_level_of(invocation.config));
    for (const auto& warning : invocation.warnings)
        logger.log(mercure::LogLevel::Warning, warning);
    try {
        return run_hub(invocation, logger);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mercure: fatal: %s\n", e.what());
        return exit_runtime;
    }
}
