// TokenVerifier: checks a JWS compact token against one configured key and algorithm and
// extracts the Mercure claims.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/jwt_algorithm.hpp"
#include "util/result.hpp"

namespace mercure {

// The Mercure claims of a verified token. Taken from the "mercure" claim, or from the
// namespaced "https://mercure.rocks/" claim when "mercure" is absent.
struct TokenClaims {
    std::optional<std::vector<std::string>> publish;    // absent claim != empty array
    std::optional<std::vector<std::string>> subscribe;
    std::string payload_json;                            // mercure.payload serialized, "" if absent
    std::optional<std::int64_t> expires_at;              // "exp", seconds since the epoch
};

// Why a token was refused. Only logged (at debug level); clients just get 401.
enum class TokenRefusal {
    Malformed,           // not three base64url parts, bad JSON, bad claim types
    AlgorithmMismatch,   // header "alg" differs from the configured algorithm (incl. "none")
    BadSignature,
    Expired,             // now >= exp
    NotYetValid,         // now < nbf
};

// A short English reason for logs, e.g. "signature does not verify".
std::string_view token_refusal_reason(TokenRefusal refusal);

class TokenVerifier {
public:
    // Builds a verifier. For HS* the key is the shared secret (must be non-empty); for RS*/ES*
    // it is a PEM public key (or certificate), checked here so a bad key fails at start.
    static Result<std::shared_ptr<const TokenVerifier>> create(JwtAlgorithm algorithm, std::string key);

    // Verifies the token at time `now` (seconds since the epoch). The header's "alg" must equal
    // the configured algorithm; HMAC signatures are compared in constant time.
    std::variant<TokenClaims, TokenRefusal> verify(std::string_view token, std::int64_t now) const;

    JwtAlgorithm algorithm() const { return algorithm_; }

    TokenVerifier(JwtAlgorithm algorithm, std::string key);
    ~TokenVerifier();
    TokenVerifier(const TokenVerifier&) = delete;
    TokenVerifier& operator=(const TokenVerifier&) = delete;

private:
    struct PublicKey;  // the parsed RS*/ES* key (an EVP_PKEY), defined in token_verifier.cpp

    TokenVerifier(JwtAlgorithm algorithm, std::string key, std::unique_ptr<PublicKey> public_key);

    JwtAlgorithm algorithm_;
    std::string key_;                         // the HS* secret or the RS*/ES* PEM text
    std::unique_ptr<PublicKey> public_key_;  // null for HS*, or when the PEM did not parse
};

// What a minted token grants; used by the token tool and by tests.
struct TokenGrant {
    std::optional<std::vector<std::string>> publish;
    std::optional<std::vector<std::string>> subscribe;
    std::string payload_json;             // "" for none
    std::optional<std::int64_t> expires_at;
    std::optional<std::int64_t> not_before;
};

// Signs a token with libjwt. For RS*/ES* the key is a PEM private key.
Result<std::string> mint_token(JwtAlgorithm algorithm, std::string_view key, const TokenGrant& grant);

} // namespace mercure
