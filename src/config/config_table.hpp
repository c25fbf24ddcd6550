// The configuration key table: the single source of truth for every setting's name, type,
// default, range, help, legacy environment variable and flag, secrecy and place in Config.
//
// Everything else is derived from it: the file loader, the environment and flag parsers,
// --help, --dump-config, the shipped etc/mercure/mercure.conf (checked by a unit test) and
// the man page. Defaults live here as text in flag syntax and are parsed like any flag, so
// the table and `Config{}` can be compared (a unit test keeps them in step).
//
// The JWT keys do not map one-to-one onto Config: jwt_key, publisher_jwt_key, ... are
// collected in a ConfigDraft and resolved into Config::publisher/subscriber at the end.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace mercure {

// How a key's value is written and stored.
enum class KeyType { String, Bool, Duration, Size, Integer, StringList };

// A typed value of one key. Size and Integer both use std::uint64_t.
using ConfigValue =
    std::variant<std::string, bool, Duration, std::uint64_t, std::vector<std::string>>;

// Config under construction: the raw JWT settings before publisher/subscriber fallback.
struct ConfigDraft {
    Config config;
    std::string jwt_key;
    std::string jwt_algorithm;
    std::string publisher_jwt_key;
    std::string publisher_jwt_algorithm;  // empty: use jwt_algorithm
    std::string subscriber_jwt_key;
    std::string subscriber_jwt_algorithm;  // empty: use jwt_algorithm
};

// One configuration key.
struct KeySpec {
    std::string_view name;          // file key, upstream name in snake_case: "jwt_key"
    std::string_view env;           // legacy environment variable: "JWT_KEY"
    std::string_view flag;          // legacy flag: "--jwt-key"
    KeyType type;
    std::string_view default_text;  // in flag syntax ("40s", "1M", "false", "a,b")
    std::uint64_t min;              // range for Duration (ms), Size and Integer
    std::uint64_t max;
    // Extra check of a parsed value: nullopt when fine, else the reason ("must be one of ...").
    std::optional<std::string> (*check)(const ConfigValue& value);
    std::string_view help;          // one line
    bool secret;                    // masked in --dump-config, never echoed in errors
    void (*set)(ConfigDraft& draft, ConfigValue&& value);
    // The value to write back for an effective Config (for --dump-config).
    ConfigValue (*get)(const Config& config);
};

// Every key, in the order of --help, --dump-config and the shipped file.
std::span<const KeySpec> config_table();

// Every key's name in table order (for the man page and the shipped file checks).
std::vector<std::string_view> config_key_names();

// Lookups; nullopt when unknown. Indexes are into config_table().
std::optional<std::size_t> find_key_by_name(std::string_view name);
std::optional<std::size_t> find_key_by_flag(std::string_view flag);  // "--jwt-key"

// The phrase saying what a key's value must look like:
// `must be a duration like "40s"`.
std::string type_requirement(const KeySpec& key);

// Checks range and choices of a typed value: nullopt when valid, else the reason
// (`must be between 1 and 100000`).
std::optional<std::string> check_value(const KeySpec& key, const ConfigValue& value);

// A typed value built in place (constructing a ConfigValue and moving it into an optional
// trips GCC 12's -Wmaybe-uninitialized under the sanitizers).
template <typename T, typename... Args>
std::optional<ConfigValue> make_config_value(Args&&... args)
{
    return std::optional<ConfigValue>(std::in_place, std::in_place_type<T>,
                                      std::forward<Args>(args)...);
}

// How a list is written in a legacy text value.
enum class ListSyntax { Spaces, Commas };

// Parses the text of an environment variable or flag (or a default) into a typed value:
// booleans 1/0/true/false/yes/no/on/off (any case), durations, sizes, integers, lists
// separated by whitespace or commas. nullopt when malformed (not range-checked).
std::optional<ConfigValue> parse_value_text(const KeySpec& key, std::string_view text,
                                            ListSyntax lists);

// A draft holding every key's default.
ConfigDraft default_draft();

// Resolves the JWT fallbacks: publisher/subscriber key empty -> jwt_key; algorithm empty
// -> jwt_algorithm.
Config resolve_draft(const ConfigDraft& draft);

// Legacy upstream settings this hub does not support, with the reason given in warnings.
struct LegacySetting {
    std::string_view env;   // "TRANSPORT_URL"
    std::string_view flag;  // "--transport-url"
    bool takes_value;       // false for boolean flags
    std::string_view why;
};
std::span<const LegacySetting> unsupported_legacy_settings();

} // namespace mercure
