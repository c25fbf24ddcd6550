// TokenVerifier: JWS compact verification pinned to one algorithm, Mercure claim extraction,
// and token minting.
//
// Verification is done here, not by libjwt, for three reasons: libjwt 1.10 compares HMAC
// signatures with strcmp (not constant time, and stops at a NUL byte), it does not check
// "exp"/"nbf", and parsing the JSON twice (jansson in libjwt, json-c here) would let a token
// mean one thing to the signature check and another to the claim reader. So the bytes are
// parsed once, here, and the signature is checked with OpenSSL over the exact
// "header.payload" text:
//   1. three base64url parts, strictly decoded, the whole token at most max_token_size;
//   2. the header is a JSON object whose "alg" equals the configured name (this refuses
//      "none" and HS/RS confusion) and which has no "crit" (we implement no extension);
//   3. HS*: HMAC compared with CRYPTO_memcmp after a length check; RS*: PKCS#1 v1.5;
//      ES*: the raw R||S signature of exactly twice the curve size, converted to DER;
//   4. only then the payload is parsed: "exp"/"nbf" must be numbers, the Mercure claims are
//      read from "mercure" or else "https://mercure.rocks/".
// Header and payload must be standard JSON: numbers json-c tolerates (NaN, Infinity, "1.")
// are refused, since a payload is echoed into subscription events as JSON.
// Minting uses libjwt, whose signatures are standard JWS.
#include "core/token_verifier.hpp"

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/base64url.hpp"
#include "util/json.hpp"

namespace mercure {

namespace {

// Tokens travel in headers, query strings and cookies; nothing legitimate comes near this.
constexpr std::size_t max_token_size = 64 * 1024;
// Nesting limit for header and payload JSON.
constexpr int max_json_depth = 32;

struct EvpPkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct X509Free {
    void operator()(X509* certificate) const noexcept { X509_free(certificate); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct EvpMdCtxFree {
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

struct EcdsaSigFree {
    void operator()(ECDSA_SIG* signature) const noexcept { ECDSA_SIG_free(signature); }
};
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

struct BignumFree {
    void operator()(BIGNUM* number) const noexcept { BN_free(number); }
};
using BignumPtr = std::unique_ptr<BIGNUM, BignumFree>;

struct JwtFree {
    void operator()(jwt_t* jwt) const noexcept { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

struct CFree {
    void operator()(char* text) const noexcept { std::free(text); }
};
using CStringPtr = std::unique_ptr<char, CFree>;

// Refuses to decrypt: OpenSSL's default would prompt on the terminal for a passphrase.
extern "C" int no_passphrase(char*, int, int, void*)
{
    return -1;
}

// The digest an algorithm signs with.
const EVP_MD* algorithm_digest(JwtAlgorithm algorithm)
{
    switch (algorithm) {
    case JwtAlgorithm::HS256:
    case JwtAlgorithm::RS256:
    case JwtAlgorithm::ES256:
        return EVP_sha256();
    case JwtAlgorithm::HS384:
    case JwtAlgorithm::RS384:
    case JwtAlgorithm::ES384:
        return EVP_sha384();
    case JwtAlgorithm::HS512:
    case JwtAlgorithm::RS512:
    case JwtAlgorithm::ES512:
        return EVP_sha512();
    }
    return nullptr;
}

bool algorithm_is_ec(JwtAlgorithm algorithm)
{
    return algorithm == JwtAlgorithm::ES256 || algorithm == JwtAlgorithm::ES384 ||
           algorithm == JwtAlgorithm::ES512;
}

// The curve RFC 7518 3.4 pairs with an ES* algorithm, and its coordinate size in bytes.
struct Curve {
    int nid;
    std::string_view name;
    std::size_t coordinate_size;
};

Curve algorithm_curve(JwtAlgorithm algorithm)
{
    switch (algorithm) {
    case JwtAlgorithm::ES384:
        return {NID_secp384r1, "P-384", 48};
    case JwtAlgorithm::ES512:
        return {NID_secp521r1, "P-521", 66};
    default:
        return {NID_X9_62_prime256v1, "P-256", 32};
    }
}

// The first queued OpenSSL error as text (and the queue cleared), for one-line messages.
std::string openssl_error()
{
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return "no detail";
    }
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    return buffer.data();
}

// Checks that a key suits the algorithm: RSA for RS*, the matching NIST curve for ES*.
std::optional<Error> check_key_type(JwtAlgorithm algorithm, EVP_PKEY* key, std::string_view kind)
{
    const std::string name(jwt_algorithm_name(algorithm));
    if (algorithm_is_ec(algorithm)) {
        const Curve curve = algorithm_curve(algorithm);
        if (!EVP_PKEY_is_a(key, "EC")) {
            return Error{"the " + name + " key is not an EC key (" + name + " needs an EC " +
                         std::string(curve.name) + " " + std::string(kind) + " key)"};
        }
        std::array<char, 80> group{};
        std::size_t group_length = 0;
        if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_length) != 1 ||
            OBJ_txt2nid(group.data()) != curve.nid) {
            ERR_clear_error();
            return Error{"the " + name + " key is not on curve " + std::string(curve.name)};
        }
    } else if (!EVP_PKEY_is_a(key, "RSA")) {
        return Error{"the " + name + " key is not an RSA key"};
    }
    return std::nullopt;
}

// Parses a PEM public key ("BEGIN PUBLIC KEY") or X.509 certificate and checks its type.
Result<EvpPkeyPtr> load_public_key(JwtAlgorithm algorithm, std::string_view pem)
{
    const std::string_view name = jwt_algorithm_name(algorithm);
    if (pem.empty()) {
        return Error{"the " + std::string(name) + " key is empty; a PEM public key is required"};
    }
    if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return Error{"the " + std::string(name) + " key is too large"};
    }
    const int length = static_cast<int>(pem.size());
    EvpPkeyPtr key;
    {
        BioPtr bio(BIO_new_mem_buf(pem.data(), length));
        if (!bio) {
            return Error{"cannot read the " + std::string(name) + " key: " + openssl_error()};
        }
        key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    }
    if (!key) {
        ERR_clear_error();
        BioPtr bio(BIO_new_mem_buf(pem.data(), length));
        if (!bio) {
            return Error{"cannot read the " + std::string(name) + " key: " + openssl_error()};
        }
        X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
        if (certificate) {
            key.reset(X509_get_pubkey(certificate.get()));
        }
    }
    if (!key) {
        ERR_clear_error();
        return Error{"the " + std::string(name) +
                     " key is not a PEM public key (\"-----BEGIN PUBLIC KEY-----\") or certificate"};
    }
    if (std::optional<Error> wrong = check_key_type(algorithm, key.get(), "public")) {
        return *wrong;
    }
    return key;
}

// HMAC of `data` under `secret`; empty on failure.
std::string compute_hmac(JwtAlgorithm algorithm, std::string_view secret, std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_length = 0;
    if (secret.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        HMAC(algorithm_digest(algorithm), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
             &mac_length) == nullptr) {
        ERR_clear_error();
        return {};
    }
    return std::string(reinterpret_cast<const char*>(mac.data()), mac_length);
}

// Checks an HMAC signature in constant time (the length is public).
bool verify_hmac(JwtAlgorithm algorithm, std::string_view secret, std::string_view signed_part,
                 std::string_view signature)
{
    const std::string expected = compute_hmac(algorithm, secret, signed_part);
    if (expected.empty() || signature.size() != expected.size()) {
        return false;
    }
    return CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

// Converts a JWS ECDSA signature (R||S, each exactly `coordinate_size` bytes) to DER.
std::string ecdsa_raw_to_der(std::string_view raw, std::size_t coordinate_size)
{
    if (raw.size() != 2 * coordinate_size) {
        return {};
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
    const int size = static_cast<int>(coordinate_size);
    BignumPtr r(BN_bin2bn(bytes, size, nullptr));
    BignumPtr s(BN_bin2bn(bytes + coordinate_size, size, nullptr));
    EcdsaSigPtr signature(ECDSA_SIG_new());
    if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
        ERR_clear_error();
        return {};
    }
    // ECDSA_SIG_set0 took ownership of r and s.
    static_cast<void>(r.release());
    static_cast<void>(s.release());
    const int der_length = i2d_ECDSA_SIG(signature.get(), nullptr);
    if (der_length <= 0) {
        ERR_clear_error();
        return {};
    }
    std::string der(static_cast<std::size_t>(der_length), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(signature.get(), &out) != der_length) {
        ERR_clear_error();
        return {};
    }
    return der;
}

// Checks an RS*/ES* signature with OpenSSL.
bool verify_public_key(JwtAlgorithm algorithm, EVP_PKEY* key, std::string_view signed_part,
                       std::string_view signature)
{
    std::string der;
    if (algorithm_is_ec(algorithm)) {
        der = ecdsa_raw_to_der(signature, algorithm_curve(algorithm).coordinate_size);
        if (der.empty()) {
            return false;
        }
        signature = der;
    }
    EvpMdCtxPtr context(EVP_MD_CTX_new());
    const bool ok =
        context &&
        EVP_DigestVerifyInit(context.get(), nullptr, algorithm_digest(algorithm), nullptr, key) == 1 &&
        EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                         signed_part.size()) == 1;
    ERR_clear_error();
    return ok;
}

// RFC 8259 number syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number_text(std::string_view text)
{
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
        }
        return i - start;
    };
    if (i < text.size() && text[i] == '-') {
        ++i;
    }
    if (i < text.size() && text[i] == '0') {
        ++i;
    } else if (digits() == 0) {
        return false;
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (digits() == 0) {
            return false;
        }
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
            ++i;
        }
        if (digits() == 0) {
            return false;
        }
    }
    return i == text.size();
}

// json-c accepts NaN, Infinity, -Infinity and "1." even in strict mode, and writes a parsed
// number back as it was spelled: such a number in mercure.payload would make the hub emit
// invalid JSON (subscription events, the subscriptions API). Only RFC 8259 numbers pass.
// Recursion is bounded by the parser's depth limit.
bool only_standard_numbers(json_object* value)
{
    switch (json_object_get_type(value)) {
    case json_type_double: {
        const char* text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
        return text != nullptr && is_json_number_text(text);
    }
    case json_type_array: {
        const std::size_t count = json_object_array_length(value);
        for (std::size_t i = 0; i < count; ++i) {
            if (!only_standard_numbers(json_object_array_get_idx(value, i))) {
                return false;
            }
        }
        return true;
    }
    case json_type_object: {
        json_object_iterator it = json_object_iter_begin(value);
        const json_object_iterator end = json_object_iter_end(value);
        for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
            if (!only_standard_numbers(json_object_iter_peek_value(&it))) {
                return false;
            }
        }
        return true;
    }
    default:
        return true;
    }
}

// Outcome of reading a numeric date claim ("exp", "nbf").
enum class DateClaim { Absent, Present, Invalid };

// Reads "exp"/"nbf": absent, or a JSON number (fractions allowed, RFC 7519 NumericDate).
DateClaim read_date_claim(json_object* payload, const char* name, double& value)
{
    json_object* claim = nullptr;
    if (!json_object_object_get_ex(payload, name, &claim)) {
        return DateClaim::Absent;
    }
    switch (json_object_get_type(claim)) {
    case json_type_int:
        // json-c keeps integers beyond int64 as uint64; get_int64 saturates, which is right here.
        value = static_cast<double>(json_object_get_int64(claim));
        return DateClaim::Present;
    case json_type_double:
        value = json_object_get_double(claim);
        return std::isnan(value) ? DateClaim::Invalid : DateClaim::Present;
    default:
        return DateClaim::Invalid;
    }
}

// Reads an optional array of strings; false when the claim has another type. JSON null is
// treated as absent, as upstream (Go) does.
bool read_string_array(json_object* claims, const char* name,
                       std::optional<std::vector<std::string>>& out)
{
    json_object* array = nullptr;
    if (!json_object_object_get_ex(claims, name, &array) || array == nullptr) {
        return true;
    }
    if (!json_object_is_type(array, json_type_array)) {
        return false;
    }
    std::vector<std::string> strings;
    const std::size_t count = json_object_array_length(array);
    strings.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        json_object* element = json_object_array_get_idx(array, i);
        if (element == nullptr || !json_object_is_type(element, json_type_string)) {
            return false;
        }
        strings.emplace_back(json_object_get_string(element),
                             static_cast<std::size_t>(json_object_get_string_len(element)));
    }
    out = std::move(strings);
    return true;
}

// Converts a NumericDate to whole seconds, saturating.
std::int64_t date_to_seconds(double value)
{
    constexpr double low = static_cast<double>(std::numeric_limits<std::int64_t>::min());
    constexpr double high = 9223372036854774784.0; // largest double below 2^63
    if (value <= low) {
        return std::numeric_limits<std::int64_t>::min();
    }
    if (value >= high) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(std::floor(value));
}

// libjwt's algorithm constant.
jwt_alg_t libjwt_algorithm(JwtAlgorithm algorithm)
{
    switch (algorithm) {
    case JwtAlgorithm::HS256:
        return JWT_ALG_HS256;
    case JwtAlgorithm::HS384:
        return JWT_ALG_HS384;
    case JwtAlgorithm::HS512:
        return JWT_ALG_HS512;
    case JwtAlgorithm::RS256:
        return JWT_ALG_RS256;
    case JwtAlgorithm::RS384:
        return JWT_ALG_RS384;
    case JwtAlgorithm::RS512:
        return JWT_ALG_RS512;
    case JwtAlgorithm::ES256:
        return JWT_ALG_ES256;
    case JwtAlgorithm::ES384:
        return JWT_ALG_ES384;
    case JwtAlgorithm::ES512:
        return JWT_ALG_ES512;
    }
    return JWT_ALG_INVAL;
}

// Builds a JSON array of strings.
JsonPtr string_array(const std::vector<std::string>& strings)
{
    JsonPtr array(json_object_new_array_ext(static_cast<int>(strings.size())));
    if (!array) {
        return nullptr;
    }
    for (const std::string& s : strings) {
        if (s.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
            json_object_array_add(array.get(), json_object_new_string_len(s.data(), static_cast<int>(s.size()))) != 0) {
            return nullptr;
        }
    }
    return array;
}

} // namespace

struct TokenVerifier::PublicKey {
    EvpPkeyPtr key;
};

// One short phrase per refusal, for debug logs.
std::string_view token_refusal_reason(TokenRefusal refusal)
{
    switch (refusal) {
    case TokenRefusal::Malformed:
        return "token is malformed";
    case TokenRefusal::AlgorithmMismatch:
        return "token algorithm differs from the configured one";
    case TokenRefusal::BadSignature:
        return "signature does not verify";
    case TokenRefusal::Expired:
        return "token has expired";
    case TokenRefusal::NotYetValid:
        return "token is not valid yet";
    }
    return "token refused";
}

// Validates the key up front so a bad configuration fails at start with one line.
Result<std::shared_ptr<const TokenVerifier>> TokenVerifier::create(JwtAlgorithm algorithm, std::string key)
{
    if (jwt_algorithm_is_hmac(algorithm)) {
        if (key.empty()) {
            return Error{"the " + std::string(jwt_algorithm_name(algorithm)) + " secret is empty"};
        }
        return std::shared_ptr<const TokenVerifier>(new TokenVerifier(algorithm, std::move(key), nullptr));
    }
    Result<EvpPkeyPtr> loaded = load_public_key(algorithm, key);
    if (!loaded) {
        return loaded.error();
    }
    auto public_key = std::make_unique<PublicKey>(PublicKey{std::move(loaded.value())});
    return std::shared_ptr<const TokenVerifier>(
        new TokenVerifier(algorithm, std::move(key), std::move(public_key)));
}

// Direct construction does not report key errors: a bad RS/ES key refuses every token.
TokenVerifier::TokenVerifier(JwtAlgorithm algorithm, std::string key)
    : algorithm_(algorithm), key_(std::move(key))
{
    if (!jwt_algorithm_is_hmac(algorithm_)) {
        Result<EvpPkeyPtr> loaded = load_public_key(algorithm_, key_);
        if (loaded) {
            public_key_ = std::make_unique<PublicKey>(PublicKey{std::move(loaded.value())});
        }
    }
}

TokenVerifier::TokenVerifier(JwtAlgorithm algorithm, std::string key, std::unique_ptr<PublicKey> public_key)
    : algorithm_(algorithm), key_(std::move(key)), public_key_(std::move(public_key))
{
}

// Wipes the secret.
TokenVerifier::~TokenVerifier()
{
    if (!key_.empty()) {
        OPENSSL_cleanse(key_.data(), key_.size());
    }
}

// See the essay at the top of this file for the order of checks.
std::variant<TokenClaims, TokenRefusal> TokenVerifier::verify(std::string_view token, std::int64_t now) const
{
    if (token.empty() || token.size() > max_token_size) {
        return TokenRefusal::Malformed;
    }
    const std::size_t first_dot = token.find('.');
    if (first_dot == std::string_view::npos) {
        return TokenRefusal::Malformed;
    }
    const std::size_t second_dot = token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
        return TokenRefusal::Malformed;
    }
    const std::string_view header_part = token.substr(0, first_dot);
    const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
    const std::string_view signature_part = token.substr(second_dot + 1);
    const std::string_view signed_part = token.substr(0, second_dot);

    const std::optional<std::string> header_json = base64url_decode(header_part);
    const std::optional<std::string> payload_json = base64url_decode(payload_part);
    const std::optional<std::string> signature = base64url_decode(signature_part);
    if (!header_json || !payload_json || !signature || header_json->empty() || payload_json->empty()) {
        return TokenRefusal::Malformed;
    }

    // Header: pin the algorithm before anything depends on the key.
    const JsonPtr header = json_parse_strict(*header_json, max_json_depth);
    if (!header || !json_object_is_type(header.get(), json_type_object) || !only_standard_numbers(header.get())) {
        return TokenRefusal::Malformed;
    }
    json_object* alg = nullptr;
    if (!json_object_object_get_ex(header.get(), "alg", &alg) || alg == nullptr ||
        !json_object_is_type(alg, json_type_string)) {
        return TokenRefusal::AlgorithmMismatch;
    }
    const std::string_view alg_name(json_object_get_string(alg),
                                    static_cast<std::size_t>(json_object_get_string_len(alg)));
    if (alg_name != jwt_algorithm_name(algorithm_)) {
        return TokenRefusal::AlgorithmMismatch;
    }
    // RFC 7515 4.1.11: an extension we do not implement must make the token invalid.
    if (json_object_object_get_ex(header.get(), "crit", nullptr)) {
        return TokenRefusal::Malformed;
    }

    // Signature over the exact bytes received.
    bool signature_ok = false;
    if (jwt_algorithm_is_hmac(algorithm_)) {
        signature_ok = !key_.empty() && verify_hmac(algorithm_, key_, signed_part, *signature);
    } else {
        signature_ok = public_key_ && verify_public_key(algorithm_, public_key_->key.get(), signed_part, *signature);
    }
    if (!signature_ok) {
        return TokenRefusal::BadSignature;
    }

    // Payload: authenticated from here on, but still checked for shape.
    const JsonPtr payload = json_parse_strict(*payload_json, max_json_depth);
    if (!payload || !json_object_is_type(payload.get(), json_type_object) || !only_standard_numbers(payload.get())) {
        return TokenRefusal::Malformed;
    }
    double exp = 0;
    double nbf = 0;
    const DateClaim exp_state = read_date_claim(payload.get(), "exp", exp);
    const DateClaim nbf_state = read_date_claim(payload.get(), "nbf", nbf);
    if (exp_state == DateClaim::Invalid || nbf_state == DateClaim::Invalid) {
        return TokenRefusal::Malformed;
    }
    const double now_seconds = static_cast<double>(now);
    if (exp_state == DateClaim::Present && now_seconds >= exp) {
        return TokenRefusal::Expired;
    }
    if (nbf_state == DateClaim::Present && now_seconds < nbf) {
        return TokenRefusal::NotYetValid;
    }

    TokenClaims claims;
    if (exp_state == DateClaim::Present) {
        claims.expires_at = date_to_seconds(exp);
    }
    json_object* mercure = nullptr;
    if (!json_object_object_get_ex(payload.get(), "mercure", &mercure) || mercure == nullptr) {
        mercure = nullptr;
        json_object_object_get_ex(payload.get(), "https://mercure.rocks/", &mercure);
    }
    if (mercure == nullptr) {
        return claims;
    }
    if (!json_object_is_type(mercure, json_type_object)) {
        return TokenRefusal::Malformed;
    }
    if (!read_string_array(mercure, "publish", claims.publish) ||
        !read_string_array(mercure, "subscribe", claims.subscribe)) {
        return TokenRefusal::Malformed;
    }
    json_object* grant_payload = nullptr;
    if (json_object_object_get_ex(mercure, "payload", &grant_payload) && grant_payload != nullptr) {
        claims.payload_json = json_to_compact_string(grant_payload);
    }
    return claims;
}

// Builds the claims JSON with json-c, then signs with libjwt.
Result<std::string> mint_token(JwtAlgorithm algorithm, std::string_view key, const TokenGrant& grant)
{
    const std::string_view name = jwt_algorithm_name(algorithm);
    if (key.empty()) {
        return Error{"the " + std::string(name) + " signing key is empty"};
    }
    if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return Error{"the " + std::string(name) + " signing key is too large"};
    }

    JsonPtr mercure(json_object_new_object());
    JsonPtr claims(json_object_new_object());
    if (!mercure || !claims) {
        return Error{"out of memory building the token claims"};
    }
    if (grant.publish) {
        JsonPtr array = string_array(*grant.publish);
        if (!array) {
            return Error{"out of memory building the token claims"};
        }
        json_object_object_add(mercure.get(), "publish", array.release());
    }
    if (grant.subscribe) {
        JsonPtr array = string_array(*grant.subscribe);
        if (!array) {
            return Error{"out of memory building the token claims"};
        }
        json_object_object_add(mercure.get(), "subscribe", array.release());
    }
    if (!grant.payload_json.empty()) {
        // Any JSON value but null (which verifiers read as "no payload") is accepted whole.
        JsonPtr value = json_parse_strict(grant.payload_json, max_json_depth);
        if (!value || !only_standard_numbers(value.get())) {
            return Error{"the payload is not a JSON value other than null: " + grant.payload_json};
        }
        json_object_object_add(mercure.get(), "payload", value.release());
    }
    json_object_object_add(claims.get(), "mercure", mercure.release());
    const std::string claims_json = json_to_compact_string(claims.get());

    if (!jwt_algorithm_is_hmac(algorithm)) {
        // Checked here for a clear message; libjwt would only say that signing failed.
        BioPtr bio(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())));
        EvpPkeyPtr private_key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
        ERR_clear_error();
        if (!private_key) {
            return Error{"the " + std::string(name) + " signing key is not an unencrypted PEM private key"};
        }
        if (std::optional<Error> wrong = check_key_type(algorithm, private_key.get(), "private")) {
            return *wrong;
        }
    }

    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0 || raw == nullptr) {
        return Error{"cannot create a token: out of memory"};
    }
    JwtPtr jwt(raw);
    if (jwt_add_grants_json(jwt.get(), claims_json.c_str()) != 0) {
        return Error{"cannot add the claims to the token"};
    }
    if (grant.expires_at && jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(*grant.expires_at)) != 0) {
        return Error{"cannot add \"exp\" to the token"};
    }
    if (grant.not_before && jwt_add_grant_int(jwt.get(), "nbf", static_cast<long>(*grant.not_before)) != 0) {
        return Error{"cannot add \"nbf\" to the token"};
    }
    if (jwt_set_alg(jwt.get(), libjwt_algorithm(algorithm), reinterpret_cast<const unsigned char*>(key.data()),
                    static_cast<int>(key.size())) != 0) {
        return Error{"cannot use the " + std::string(name) + " signing key"};
    }
    CStringPtr encoded(jwt_encode_str(jwt.get()));
    ERR_clear_error();
    if (!encoded) {
        return Error{"cannot sign the token with the " + std::string(name) + " key"};
    }
    return std::string(encoded.get());
}

} // namespace mercure
