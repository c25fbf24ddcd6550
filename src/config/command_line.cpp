// Command line and legacy environment: argv + envp -> Invocation (action + effective Config).
//
// Precedence, lowest first: table defaults, the main file, conf.d drop-ins in name order,
// upstream environment variables (table order), then flags (argv order). Environment and
// flag values are kept as text in the Invocation so that a reload re-reads the files and
// re-applies exactly the same overrides on top.
#include "config/command_line.hpp"

#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <string_view>

#include "build_config.hpp"
#include "config/config_dump.hpp"
#include "config/config_loader.hpp"
#include "config/config_table.hpp"

namespace mercure {

namespace {

constexpr int exit_config = 1;
constexpr int exit_usage = 2;
constexpr std::string_view default_config_path = MERCURE_SYSCONFDIR "/mercure/mercure.conf";
constexpr std::string_view config_env = "MERCURE_CONFIG";

// A value or name shown in a message: printable ASCII kept, the rest as \xNN, bounded.
std::string printable(std::string_view text)
{
    std::string out;
    for (const char c : text.substr(0, 80)) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\') {
            out += c;
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02X", u);
            out += buf;
        }
    }
    if (text.size() > 80)
        out += "...";
    return out;
}

InvocationError usage_error(const std::string& what)
{
    return {what + " (see \"mercure --help\")", exit_usage};
}

// Applies one environment or flag override to the draft; the reason when it is invalid.
std::optional<std::string> apply_override(const ConfigOverride& o, ConfigDraft& draft)
{
    const KeySpec& key = config_table()[o.key];
    auto value = parse_value_text(key, o.value,
                                  o.from_environment ? ListSyntax::Spaces : ListSyntax::Commas);
    std::optional<std::string> why;
    if (!value)
        why = key.type == KeyType::Bool ? "must be a boolean: 1/0, true/false, yes/no, on/off"
                                        : type_requirement(key);
    else
        why = check_value(key, *value);
    if (why)
        return o.origin + " " + *why + (key.secret ? "" : " (got \"" + printable(o.value) + "\")");
    if (o.append && key.type == KeyType::StringList) {
        auto list = std::get<std::vector<std::string>>(key.get(draft.config));
        for (auto& item : std::get<std::vector<std::string>>(*value))
            list.push_back(std::move(item));
        value = std::move(list);
    }
    key.set(draft, std::move(*value));
    return std::nullopt;
}

// Builds the effective Config from the files and the overrides.
std::variant<Config, InvocationError> build_config(const std::string& path, bool explicit_path,
                                                   const std::vector<ConfigOverride>& env,
                                                   const std::vector<ConfigOverride>& flags,
                                                   bool require_key,
                                                   std::vector<std::string>& warnings)
{
    ConfigDraft draft = default_draft();
    if (Status s = apply_config_files(path, explicit_path, draft, warnings); !s)
        return InvocationError{s.error().message, exit_config};
    for (const ConfigOverride& o : env)
        if (auto why = apply_override(o, draft))
            return InvocationError{*why, exit_config};
    for (const ConfigOverride& o : flags)
        if (auto why = apply_override(o, draft))
            return InvocationError{*why, exit_config};  // a bad value is a configuration error
    Config config = resolve_draft(draft);
    if (Status s = validate_config(config, require_key); !s)
        return InvocationError{s.error().message, exit_config};
    return config;
}

// The environment as name -> value; the first definition of a name wins, as with getenv.
std::map<std::string, std::string, std::less<>> environment_map(char** envp)
{
    std::map<std::string, std::string, std::less<>> env;
    for (char** e = envp; e && *e; ++e) {
        const std::string_view entry(*e);
        const std::size_t eq = entry.find('=');
        if (eq == std::string_view::npos)
            continue;
        env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return env;
}

std::string placeholder(const KeySpec& key)
{
    switch (key.type) {
    case KeyType::String:
        return key.name.ends_with("_key")         ? "KEY"
               : key.name.ends_with("_algorithm") ? "ALG"
               : key.name == "addr"               ? "ADDR"
                                                  : "STRING";
    case KeyType::Bool: return "BOOL";
    case KeyType::Duration: return "DURATION";
    case KeyType::Size: return "SIZE";
    case KeyType::Integer: return "N";
    case KeyType::StringList: return "LIST";
    }
    return "VALUE";
}

} // namespace

std::variant<Invocation, InvocationError> parse_invocation(int argc, char** argv, char** envp)
{
    std::vector<std::string_view> args;
    for (int i = 1; i < argc && argv && argv[i]; ++i)
        args.emplace_back(argv[i]);

    Invocation inv;
    inv.config_path = std::string(default_config_path);

    // --help and --version win over anything else, and need no configuration at all.
    for (const std::string_view arg : args) {
        if (arg == "--")
            break;
        if (arg == "--help" || arg == "-h" || arg == "--version" || arg == "-V") {
            inv.action = arg == "--help" || arg == "-h" ? Action::Help : Action::Version;
            inv.config = resolve_draft(default_draft());
            return inv;
        }
    }

    std::optional<std::string> flag_config_path;
    std::vector<bool> list_seen(config_table().size(), false);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--") {
            if (i + 1 < args.size())
                return usage_error("unexpected argument \"" + printable(args[i + 1]) + "\"");
            break;
        }
        if (arg.size() < 2 || arg[0] != '-')
            return usage_error("unexpected argument \"" + printable(arg) + "\"");

        // Split "--name=value" / "-cVALUE"; `inline_value` is set when the value is attached.
        std::string_view name = arg;
        std::optional<std::string_view> inline_value;
        if (arg.starts_with("--")) {
            if (const std::size_t eq = arg.find('='); eq != std::string_view::npos) {
                name = arg.substr(0, eq);
                inline_value = arg.substr(eq + 1);
            }
        } else if (arg.starts_with("-c")) {
            name = "--config";
            if (arg.size() > 2)
                inline_value = arg.substr(2);
        } else {
            return usage_error("unknown option \"" + printable(arg) + "\"");
        }
        // The value of an option that needs one: attached, or the next argument whatever it
        // looks like (PEM keys start with "-----").
        const auto take_value = [&]() -> std::optional<std::string> {
            if (inline_value)
                return std::string(*inline_value);
            if (i + 1 < args.size())
                return std::string(args[++i]);
            return std::nullopt;
        };
        const std::string shown_name = printable(name);

        if (name == "--config") {
            auto value = take_value();
            if (!value || value->empty())
                return usage_error("option --config requires a path");
            flag_config_path = std::move(*value);
            continue;
        }
        if (name == "--check-config" || name == "--dump-config") {
            if (inline_value)
                return usage_error("option " + shown_name + " takes no value");
            const Action action = name == "--check-config" ? Action::CheckConfig : Action::DumpConfig;
            if (inv.action != Action::Run && inv.action != action)
                return usage_error("options --check-config and --dump-config cannot be combined");
            inv.action = action;
            continue;
        }
        if (const auto index = find_key_by_flag(name)) {
            const KeySpec& key = config_table()[*index];
            std::optional<std::string> value;
            if (key.type == KeyType::Bool)
                value = inline_value ? std::string(*inline_value) : std::string("true");
            else
                value = take_value();
            if (!value)
                return usage_error("option " + shown_name + " requires a value");
            const bool append = key.type == KeyType::StringList && list_seen[*index];
            list_seen[*index] = true;
            inv.flag_overrides.push_back(
                {"option " + std::string(key.flag), *index, std::move(*value), false, append});
            if (key.secret)
                inv.warnings.push_back("option " + std::string(key.flag) +
                                       " puts a secret on the command line, where every local "
                                       "user can read it; prefer \"" + std::string(key.name) +
                                       "\" in a configuration file readable only by the hub");
            continue;
        }
        bool legacy = false;
        for (const LegacySetting& setting : unsupported_legacy_settings()) {
            if (setting.flag != name)
                continue;
            legacy = true;
            if (setting.takes_value && !inline_value && !take_value())
                return usage_error("option " + shown_name + " requires a value");
            inv.warnings.push_back("option " + std::string(setting.flag) +
                                   " is not supported and is ignored: " + std::string(setting.why));
        }
        if (!legacy)
            return usage_error("unknown option \"" + shown_name + "\"");
    }

    // Environment: the config path, every key's upstream name, the unsupported ones.
    const auto env = environment_map(envp);
    if (flag_config_path) {
        inv.config_path = *flag_config_path;
        inv.config_path_explicit = true;
    } else if (auto it = env.find(config_env); it != env.end() && !it->second.empty()) {
        inv.config_path = it->second;
        inv.config_path_explicit = true;
    }
    for (std::size_t i = 0; i < config_table().size(); ++i) {
        const KeySpec& key = config_table()[i];
        // Like upstream (viper), an empty variable counts as unset.
        if (auto it = env.find(key.env); it != env.end() && !it->second.empty())
            inv.env_overrides.push_back(
                {"environment variable " + std::string(key.env), i, it->second, true, false});
    }
    for (const LegacySetting& setting : unsupported_legacy_settings())
        if (auto it = env.find(setting.env); it != env.end() && !it->second.empty())
            inv.warnings.push_back("environment variable " + std::string(setting.env) +
                                   " is not supported and is ignored: " + std::string(setting.why));

    const bool require_key = inv.action != Action::DumpConfig;
    auto built = build_config(inv.config_path, inv.config_path_explicit, inv.env_overrides,
                              inv.flag_overrides, require_key, inv.warnings);
    if (auto* error = std::get_if<InvocationError>(&built))
        return std::move(*error);
    inv.config = std::move(std::get<Config>(built));
    for (std::string& w : config_warnings(inv.config))
        inv.warnings.push_back(std::move(w));
    return inv;
}

std::variant<Config, InvocationError> reload_config(const Invocation& original)
{
    std::vector<std::string> warnings;
    return build_config(original.config_path, original.config_path_explicit,
                        original.env_overrides, original.flag_overrides, true, warnings);
}

std::string help_text()
{
    std::string out = R"(Usage: mercure [OPTION]...
A Mercure hub: delivers published updates to subscribers as server-sent events.

Actions:
  -h, --help            show this help and exit
  -V, --version         show the version and exit
      --check-config    check the configuration and exit (0 when valid)
      --dump-config     print the effective configuration, secrets masked, and exit

Configuration:
  -c, --config=PATH     main configuration file (libconfig syntax), default
                        )" + std::string(default_config_path) + R"(
                        or $MERCURE_CONFIG; then conf.d/*.conf next to it
Every setting below is a key of the configuration file, an environment variable and an
option. Precedence, lowest first: defaults, the main file, the drop-ins in name order,
environment variables, options. Lists are comma-separated in options (an option may
also be repeated) and space-separated in environment variables. Durations: 40s, 5m,
1h, 500ms, 1m30s (a plain number is seconds). Sizes: 64K, 1M, 1G or a number of bytes.
Booleans: true/false, 1/0, yes/no, on/off; a boolean option alone means true.

Settings:
)";
    for (const KeySpec& key : config_table()) {
        out += "  " + std::string(key.flag) +
               (key.type == KeyType::Bool ? "[=BOOL]" : "=" + placeholder(key)) + "\n";
        out += "      " + std::string(key.help) + "\n";
        std::string dflt = std::string(key.default_text);
        out += "      key " + std::string(key.name) + ", environment " + std::string(key.env) +
               ", default " + (dflt.empty() ? "none" : dflt) + "\n";
    }
    return out;
}

std::string dump_config(const Config& c)
{
    return "# Effective mercure configuration; secrets are masked.\n" + dump_config_text(c, true);
}

} // namespace mercure
