// Tokens for the command-line clients: read from a file, or minted from the hub's own
// configuration (its publisher or subscriber key), like mercure-token --config.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/result.hpp"

namespace mercure {

// Reads a token file: its first line, surrounding whitespace removed. An empty or unreadable
// file is an error.
Result<std::string> read_token_file(const std::string& path);

enum class TokenRole { Publisher, Subscriber };

// Mints a token with the configured key of `role` granting exactly `topics` (mercure.publish
// for a publisher, mercure.subscribe for a subscriber), expiring ttl_seconds from now. An
// error when that key is an RS*/ES* public key (no private key to sign with) or is not set;
// config_path only names the file in messages.
Result<std::string> mint_token_from_config(const Config& config, const std::string& config_path, TokenRole role,
                                           const std::vector<std::string>& topics, std::int64_t ttl_seconds);

} // namespace mercure
