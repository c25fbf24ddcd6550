// Command line and legacy environment: argv + envp -> Invocation (action + effective Config).
#pragma once
#include <cstddef>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace mercure {

// What the binary was asked to do.
enum class Action { Run, CheckConfig, DumpConfig, Help, Version };

// One legacy override (an environment variable or a --flag) kept for reload.
struct ConfigOverride {
    std::string origin;  // "environment variable JWT_KEY" or "option --jwt-key": for messages
    std::size_t key;     // index into config_table()
    std::string value;   // raw text as given
    bool from_environment;  // lists: space-separated (environment) or comma-separated (flag)
    bool append;         // a list flag given again appends instead of replacing
};

// The result of parsing the command line: the action and the effective, validated Config.
struct Invocation {
    Action action = Action::Run;
    Config config;                      // effective, validated configuration
    std::string config_path;            // main file used (may not exist when not explicit)
    std::vector<std::string> warnings;  // e.g. deprecated or unsupported legacy settings

    // What reload_config() needs to rebuild the same Config from fresh files.
    bool config_path_explicit = false;        // from --config or MERCURE_CONFIG
    std::vector<ConfigOverride> env_overrides;   // in application order
    std::vector<ConfigOverride> flag_overrides;  // in application order
};

// A failure to build an Invocation: print `message` as-is (one or more lines, no trailing
// newline) on stderr and exit with `exit_code` (1: configuration error, 2: usage error).
struct InvocationError {
    std::string message;
    int exit_code;
};

// Parses argv and the environment, loads the main file and its drop-ins and applies the
// legacy environment variables and flags on top. --help and --version load nothing.
std::variant<Invocation, InvocationError> parse_invocation(int argc, char** argv, char** envp);

// Re-reads the config file(s) and re-applies the original flags/env; used on reload.
std::variant<Config, InvocationError> reload_config(const Invocation& original);

// The --help output.
std::string help_text();

// The --dump-config output: libconfig syntax, every key in table order, secrets masked
// ("********", or "" when empty). The output is itself a valid configuration file.
std::string dump_config(const Config& c);

} // namespace mercure
