// JwtAlgorithm: the JWS algorithms a hub key may be configured with.
#pragma once
#include <optional>
#include <string_view>

namespace mercure {

enum class JwtAlgorithm { HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 };

// Parses an algorithm name exactly as JWS spells it ("HS256"); nullopt for anything else,
// including "none".
std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name);

// The JWS name of an algorithm.
std::string_view jwt_algorithm_name(JwtAlgorithm algorithm);

// True for HS256/384/512 (shared secret), false for RS/ES (PEM public key).
bool jwt_algorithm_is_hmac(JwtAlgorithm algorithm);

} // namespace mercure
