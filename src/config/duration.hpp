// Text forms of durations ("1m30s") and byte sizes ("64K") used by the config file,
// the legacy environment variables and the flags.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace mercure {

// Parses "40s", "5m", "1h", "500ms", "1m30s" (units h, m, s, ms, in any combination) or a
// plain integer meaning seconds. nullopt when malformed, negative or absurdly large.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest canonical text of a duration: "0s", "40s", "1m30s", "1h", "1s500ms".
std::string format_duration(Duration d);

// Parses a byte size: a plain integer ("1048576"), or an integer with a binary suffix
// K, M or G (case-insensitive, optionally followed by "B" or "iB": "64K", "1MiB", "2GB").
std::optional<std::uint64_t> parse_size(std::string_view text);

// The shortest canonical text of a byte size: "1G", "1M", "16K" or plain bytes "1000".
std::string format_size(std::uint64_t bytes);

} // namespace mercure
