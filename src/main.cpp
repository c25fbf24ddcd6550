// mercure: argv -> Config -> Hub; exit codes; nothing else.
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

int run_hub(const mercure::Invocation& invocation, mercure::Logger& logger)
{
    auto hub = mercure::Hub::create(invocation.config, logger);
    if (!hub) {
        std::fprintf(stderr, "invalid config: %s\n", hub.error().message.c_str());
        return exit_config;
    }
    if (invocation.action == mercure::Action::CheckConfig) {
        std::printf("configuration OK: %s\n", invocation.config_path.c_str());
        return exit_ok;
    }
    if (auto listening = (*hub)->listen(); !listening) {
        logger.log(mercure::LogLevel::Error, "Cannot listen", {{"REASON", listening.error().message}});
        return exit_runtime;
    }
    std::string addresses;
    for (const auto& address : (*hub)->listening_on())
        addresses += (addresses.empty() ? "" : " ") + address;
    logger.log(mercure::LogLevel::Notice, "Mercure hub started",
               {{"LISTEN", addresses}, {"VERSION", MERCURE_VERSION}});
    int code = (*hub)->run();
    logger.log(mercure::LogLevel::Notice, "Mercure hub stopped");
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
    case mercure::Action::Run:
        break;
    }
    mercure::Logger logger(mercure::parse_log_level(invocation.config.log_level).value_or(mercure::LogLevel::Info));
    if (invocation.config.debug)
        logger.set_minimum(mercure::LogLevel::Debug);
    for (const auto& warning : invocation.warnings)
        logger.log(mercure::LogLevel::Warning, warning);
    try {
        return run_hub(invocation, logger);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mercure: fatal: %s\n", e.what());
        return exit_runtime;
    }
}
