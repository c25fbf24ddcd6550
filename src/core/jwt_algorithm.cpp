// JwtAlgorithm: names of the JWS algorithms a hub key may be configured with.
#include "core/jwt_algorithm.hpp"

#include <array>
#include <utility>

namespace mercure {

namespace {

constexpr std::array<std::pair<JwtAlgorithm, std::string_view>, 9> algorithm_names{{
    {JwtAlgorithm::HS256, "HS256"},
    {JwtAlgorithm::HS384, "HS384"},
    {JwtAlgorithm::HS512, "HS512"},
    {JwtAlgorithm::RS256, "RS256"},
    {JwtAlgorithm::RS384, "RS384"},
    {JwtAlgorithm::RS512, "RS512"},
    {JwtAlgorithm::ES256, "ES256"},
    {JwtAlgorithm::ES384, "ES384"},
    {JwtAlgorithm::ES512, "ES512"},
}};

} // namespace

// Exact, case-sensitive match: JWS algorithm names are case-sensitive (RFC 7515 4.1.1).
std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name)
{
    for (const auto& [algorithm, spelling] : algorithm_names) {
        if (spelling == name) {
            return algorithm;
        }
    }
    return std::nullopt;
}

// The JWS spelling of an algorithm.
std::string_view jwt_algorithm_name(JwtAlgorithm algorithm)
{
    for (const auto& [candidate, spelling] : algorithm_names) {
        if (candidate == algorithm) {
            return spelling;
        }
    }
    return "invalid";
}

// HS* use a shared secret; RS*/ES* a public key.
bool jwt_algorithm_is_hmac(JwtAlgorithm algorithm)
{
    return algorithm == JwtAlgorithm::HS256 || algorithm == JwtAlgorithm::HS384 ||
           algorithm == JwtAlgorithm::HS512;
}

} // namespace mercure
