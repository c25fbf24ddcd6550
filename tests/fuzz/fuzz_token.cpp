// libFuzzer driver of TokenVerifier::verify(): token parsing, signature check and Mercure
// claim extraction.
//
// The input is used three ways:
//   1. as a token, verified by an HS256 verifier: anything it accepts must carry the right
//      HMAC, so a forged token is a finding;
//   2. as "HEADER\nPAYLOAD" JSON bytes, base64url-encoded and signed with the verifier's
//      secret, so the fuzzer reaches the header and payload parsing behind the signature
//      check: such a token is never refused for its signature, and an HS384 verifier with the
//      same secret never accepts it;
//   3. as lines of topics minted into a token's "subscribe" claim with mint_token(): when
//      minting succeeds, verifying gives exactly those topics back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/token_verifier.hpp"
#include "fuzz_check.hpp"
#include "util/base64url.hpp"

using namespace mercure;

namespace {

constexpr std::string_view secret = "fuzzing-secret-0123456789";
constexpr std::int64_t now = 1700000000;

// The HS256 or HS384 verifier with the fuzzing secret, built once.
const TokenVerifier& verifier(JwtAlgorithm algorithm)
{
    static const auto hs256 = TokenVerifier::create(JwtAlgorithm::HS256, std::string(secret));
    static const auto hs384 = TokenVerifier::create(JwtAlgorithm::HS384, std::string(secret));
    const auto& made = algorithm == JwtAlgorithm::HS256 ? hs256 : hs384;
    FUZZ_CHECK(made.ok());
    return *made.value();
}

// HMAC-SHA256 of `data` under the fuzzing secret.
std::string hmac_sha256(std::string_view data)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    FUZZ_CHECK(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                    reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length) != nullptr);
    return std::string(reinterpret_cast<const char*>(mac), length);
}

// Checks the claims of an accepted token for internal consistency.
void check_claims(const TokenClaims& claims)
{
    if (claims.expires_at)
        FUZZ_CHECK(*claims.expires_at > now);
}

// 1: the input as a token.
void verify_raw(std::string_view token)
{
    const auto result = verifier(JwtAlgorithm::HS256).verify(token, now);
    if (const auto* claims = std::get_if<TokenClaims>(&result)) {
        const std::size_t last_dot = token.rfind('.');
        FUZZ_CHECK(last_dot != std::string_view::npos);
        const auto signature = base64url_decode(token.substr(last_dot + 1));
        FUZZ_CHECK(signature && *signature == hmac_sha256(token.substr(0, last_dot)));
        check_claims(*claims);
    }
    static_cast<void>(verifier(JwtAlgorithm::HS384).verify(token, now));
}

// 2: the input as header and payload JSON, signed with the secret.
void verify_signed(std::string_view input)
{
    const std::size_t newline = input.find('\n');
    const std::string_view header = input.substr(0, newline);
    const std::string_view payload = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    for (const std::string_view part : {header, payload})
        FUZZ_CHECK(base64url_decode(base64url_encode(part)) == std::string(part));

    const std::string signed_part = base64url_encode(header) + "." + base64url_encode(payload);
    const std::string token = signed_part + "." + base64url_encode(hmac_sha256(signed_part));
    const auto result = verifier(JwtAlgorithm::HS256).verify(token, now);
    if (const auto* refusal = std::get_if<TokenRefusal>(&result)) {
        FUZZ_CHECK(*refusal != TokenRefusal::BadSignature);
        FUZZ_CHECK(!token_refusal_reason(*refusal).empty());
    } else {
        check_claims(std::get<TokenClaims>(result));
    }
    FUZZ_CHECK(std::holds_alternative<TokenRefusal>(verifier(JwtAlgorithm::HS384).verify(token, now)));
}

// 3: the input's lines minted as a subscribe claim, read back.
void mint_and_verify(std::string_view input)
{
    std::vector<std::string> topics;
    for (std::size_t start = 0; start <= input.size() && topics.size() < 16;) {
        const std::size_t end = input.find('\n', start);
        topics.emplace_back(input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    TokenGrant grant;
    grant.subscribe = topics;
    grant.expires_at = now + 60;
    const Result<std::string> token = mint_token(JwtAlgorithm::HS256, secret, grant);
    if (!token)
        return;
    const auto result = verifier(JwtAlgorithm::HS256).verify(*token, now);
    FUZZ_CHECK(std::holds_alternative<TokenClaims>(result));
    const TokenClaims& claims = std::get<TokenClaims>(result);
    FUZZ_CHECK(claims.subscribe == topics);
    FUZZ_CHECK(!claims.publish.has_value());
    FUZZ_CHECK(claims.expires_at == now + 60);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    verify_raw(input);
    verify_signed(input);
    mint_and_verify(input);
    return 0;
}
