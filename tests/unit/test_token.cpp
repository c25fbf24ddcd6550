// Unit tests of token verification, minting and base64url.
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/jwt_algorithm.hpp"
#include "core/token_verifier.hpp"
#include "util/base64url.hpp"
#include "util/json.hpp"

// Last: cmocka defines macros (fail, ...) that clash with standard headers.
#include "unit.hpp"

using namespace mercure;

namespace {

constexpr std::int64_t now = 1'700'000'000;
constexpr std::string_view secret = "!ChangeMe!";

// ---- key material, generated once per run ----

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct X509Free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};

struct KeyPair {
    std::string private_pem;
    std::string public_pem;
    std::string certificate_pem;
};

// The contents of a memory BIO.
std::string bio_text(BIO* bio)
{
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(length));
}

// A self-signed certificate for `key`.
std::string make_certificate(EVP_PKEY* key)
{
    std::unique_ptr<X509, X509Free> certificate(X509_new());
    assert_non_null(certificate.get());
    assert_int_equal(X509_set_version(certificate.get(), 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600);
    assert_int_equal(X509_set_pubkey(certificate.get(), key), 1);
    X509_NAME* name = X509_get_subject_name(certificate.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(certificate.get(), name);
    assert_true(X509_sign(certificate.get(), key, EVP_sha256()) > 0);
    BioPtr bio(BIO_new(BIO_s_mem()));
    assert_int_equal(PEM_write_bio_X509(bio.get(), certificate.get()), 1);
    return bio_text(bio.get());
}

// PEM-encodes a fresh key pair.
KeyPair pem_pair(EVP_PKEY* key)
{
    assert_non_null(key);
    KeyPair pair;
    BioPtr private_bio(BIO_new(BIO_s_mem()));
    assert_int_equal(PEM_write_bio_PrivateKey(private_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
    pair.private_pem = bio_text(private_bio.get());
    BioPtr public_bio(BIO_new(BIO_s_mem()));
    assert_int_equal(PEM_write_bio_PUBKEY(public_bio.get(), key), 1);
    pair.public_pem = bio_text(public_bio.get());
    pair.certificate_pem = make_certificate(key);
    return pair;
}

KeyPair make_rsa()
{
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    return pem_pair(key.get());
}

KeyPair make_ec(const char* curve)
{
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    return pem_pair(key.get());
}

struct Keys {
    KeyPair rsa;
    KeyPair rsa_other;
    KeyPair p256;
    KeyPair p256_other;
    KeyPair p384;
    KeyPair p521;
};

// Generated lazily so that tests not needing keys stay fast.
const Keys& keys()
{
    static const Keys generated{make_rsa(), make_rsa(), make_ec("P-256"), make_ec("P-256"),
                                make_ec("P-384"), make_ec("P-521")};
    return generated;
}

// The signing (private) and verification (public) keys for an algorithm.
const KeyPair* pair_for(JwtAlgorithm algorithm)
{
    switch (algorithm) {
    case JwtAlgorithm::RS256:
    case JwtAlgorithm::RS384:
    case JwtAlgorithm::RS512:
        return &keys().rsa;
    case JwtAlgorithm::ES256:
        return &keys().p256;
    case JwtAlgorithm::ES384:
        return &keys().p384;
    case JwtAlgorithm::ES512:
        return &keys().p521;
    default:
        return nullptr;
    }
}

std::string signing_key(JwtAlgorithm algorithm)
{
    const KeyPair* pair = pair_for(algorithm);
    return pair ? pair->private_pem : std::string(secret);
}

std::string verification_key(JwtAlgorithm algorithm)
{
    const KeyPair* pair = pair_for(algorithm);
    return pair ? pair->public_pem : std::string(secret);
}

constexpr JwtAlgorithm all_algorithms[] = {
    JwtAlgorithm::HS256, JwtAlgorithm::HS384, JwtAlgorithm::HS512,
    JwtAlgorithm::RS256, JwtAlgorithm::RS384, JwtAlgorithm::RS512,
    JwtAlgorithm::ES256, JwtAlgorithm::ES384, JwtAlgorithm::ES512,
};

// ---- helpers ----

std::shared_ptr<const TokenVerifier> verifier(JwtAlgorithm algorithm, std::string key)
{
    auto created = TokenVerifier::create(algorithm, std::move(key));
    if (!created) {
        print_error("create failed: %s\n", created.error().message.c_str());
    }
    assert_true(created.ok());
    return created.value();
}

std::shared_ptr<const TokenVerifier> hs256()
{
    return verifier(JwtAlgorithm::HS256, std::string(secret));
}

std::string mint(JwtAlgorithm algorithm, const TokenGrant& grant)
{
    auto token = mint_token(algorithm, signing_key(algorithm), grant);
    if (!token) {
        print_error("mint failed: %s\n", token.error().message.c_str());
    }
    assert_true(token.ok());
    return token.value();
}

// Signs arbitrary header and payload JSON with an HMAC algorithm, the way an attacker could.
std::string forge_hmac(const EVP_MD* digest, std::string_view key, std::string_view header,
                       std::string_view payload)
{
    const std::string signed_part = base64url_encode(header) + "." + base64url_encode(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    assert_non_null(HMAC(digest, key.data(), static_cast<int>(key.size()),
                         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
                         &mac_length));
    return signed_part + "." +
           base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_length));
}

// An HS256 token with the given payload, signed with the test secret.
std::string hs256_token(std::string_view payload)
{
    return forge_hmac(EVP_sha256(), secret, R"({"alg":"HS256","typ":"JWT"})", payload);
}

struct Parts {
    std::string header;
    std::string payload;
    std::string signature;
};

Parts split(const std::string& token)
{
    const std::size_t a = token.find('.');
    const std::size_t b = token.find('.', a + 1);
    return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

std::string join(const Parts& parts)
{
    return parts.header + "." + parts.payload + "." + parts.signature;
}

TokenClaims expect_claims(const TokenVerifier& v, std::string_view token)
{
    auto result = v.verify(token, now);
    if (auto* refusal = std::get_if<TokenRefusal>(&result)) {
        print_error("refused: %s\n", std::string(token_refusal_reason(*refusal)).c_str());
        fail();
    }
    return std::get<TokenClaims>(std::move(result));
}

void expect_refusal(const TokenVerifier& v, std::string_view token, TokenRefusal expected,
                    std::int64_t at = now)
{
    auto result = v.verify(token, at);
    if (std::holds_alternative<TokenClaims>(result)) {
        print_error("token accepted, expected: %s\n", std::string(token_refusal_reason(expected)).c_str());
        fail();
    }
    const TokenRefusal got = std::get<TokenRefusal>(result);
    if (got != expected) {
        print_error("refused with \"%s\", expected \"%s\"\n", std::string(token_refusal_reason(got)).c_str(),
                    std::string(token_refusal_reason(expected)).c_str());
        fail();
    }
}

void expect_create_error(JwtAlgorithm algorithm, std::string key, std::string_view fragment)
{
    auto created = TokenVerifier::create(algorithm, std::move(key));
    assert_false(created.ok());
    const std::string& message = created.error().message;
    if (message.find(fragment) == std::string::npos || message.find('\n') != std::string::npos) {
        print_error("unexpected message: %s\n", message.c_str());
        fail();
    }
}

// ---- algorithm names ----

void test_algorithm_names(void**)
{
    for (const JwtAlgorithm algorithm : all_algorithms) {
        const auto parsed = parse_jwt_algorithm(jwt_algorithm_name(algorithm));
        assert_true(parsed.has_value());
        assert_true(*parsed == algorithm);
        assert_true(jwt_algorithm_is_hmac(algorithm) == (jwt_algorithm_name(algorithm)[0] == 'H'));
    }
    assert_false(parse_jwt_algorithm("none").has_value());
    assert_false(parse_jwt_algorithm("hs256").has_value());
    assert_false(parse_jwt_algorithm("HS256 ").has_value());
    assert_false(parse_jwt_algorithm("").has_value());
    assert_false(parse_jwt_algorithm("PS256").has_value());
}

// ---- base64url ----

void test_base64url_vectors(void**)
{
    // RFC 4648 section 10, unpadded.
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
        {"\xfb\xff\xbf", "-_-_"},
    };
    for (const auto& [plain, encoded] : vectors) {
        assert_string_equal(base64url_encode(plain).c_str(), std::string(encoded).c_str());
        const auto decoded = base64url_decode(encoded);
        assert_true(decoded.has_value());
        assert_true(*decoded == plain);
    }
    std::string all_bytes;
    for (int i = 0; i < 256; ++i) {
        all_bytes += static_cast<char>(i);
    }
    for (std::size_t n = 0; n <= all_bytes.size(); n += 37) {
        const std::string chunk = all_bytes.substr(0, n);
        const auto decoded = base64url_decode(base64url_encode(chunk));
        assert_true(decoded.has_value() && *decoded == chunk);
    }
}

void test_base64url_strict(void**)
{
    assert_false(base64url_decode("Zg==").has_value());   // padding
    assert_false(base64url_decode("Zm9v\n").has_value()); // whitespace
    assert_false(base64url_decode("Zm 9v").has_value());
    assert_false(base64url_decode("+/+/").has_value());   // standard alphabet
    assert_false(base64url_decode("Zm9vY").has_value());  // 4n+1 characters
    assert_false(base64url_decode("Zh").has_value());     // non-zero unused bits
    assert_false(base64url_decode("Zm9").has_value());
    assert_false(base64url_decode(std::string_view("Zm\0v", 4)).has_value());
    assert_false(base64url_decode("Zm9v\xc3\xa9").has_value());
}

// ---- json helper ----

void test_json_parse_strict(void**)
{
    JsonPtr object = json_parse_strict(R"( {"a": [1, "b/c"]} )");
    assert_non_null(object.get());
    assert_string_equal(json_to_compact_string(object.get()).c_str(), R"({"a":[1,"b/c"]})");
    assert_null(json_parse_strict(R"({"a":1} x)").get());
    assert_null(json_parse_strict(R"({"a":1}{})").get());
    // (json-c 0.16 accepts single-quoted strings even in strict mode; harmless, not tested.)
    assert_null(json_parse_strict(R"({"a":1,})").get());
    assert_null(json_parse_strict(R"({"a":1)").get());
    assert_null(json_parse_strict("{\"a\":\"\xff\"}").get());
    assert_null(json_parse_strict(std::string(100, '[') + std::string(100, ']')).get());
    assert_null(json_parse_strict(std::string_view("{}\0", 3)).get());
    assert_null(json_parse_strict(std::string_view("4\0" "2", 3)).get());
    assert_null(json_parse_strict("").get());
    assert_null(json_parse_strict("  ").get());
    // Top-level scalars parse completely.
    JsonPtr number = json_parse_strict(" 42 ");
    assert_non_null(number.get());
    assert_int_equal(json_object_get_int(number.get()), 42);
    JsonPtr string = json_parse_strict(R"("s")");
    assert_non_null(string.get());
    assert_null(json_parse_strict("4 2").get());
}

// ---- round trips ----

void test_round_trip_all_algorithms(void**)
{
    for (const JwtAlgorithm algorithm : all_algorithms) {
        TokenGrant grant;
        grant.publish = std::vector<std::string>{"https://example.com/books/{id}", "*"};
        grant.subscribe = std::vector<std::string>{"https://example.com/users/dunglas/{?topic}"};
        grant.payload_json = R"({"user": "https://example.com/users/dunglas", "n": 3})";
        grant.expires_at = now + 60;
        grant.not_before = now - 60;
        const std::string token = mint(algorithm, grant);

        const auto v = verifier(algorithm, verification_key(algorithm));
        assert_true(v->algorithm() == algorithm);
        const TokenClaims claims = expect_claims(*v, token);
        assert_true(claims.publish.has_value());
        assert_int_equal(claims.publish->size(), 2);
        assert_string_equal((*claims.publish)[0].c_str(), "https://example.com/books/{id}");
        assert_string_equal((*claims.publish)[1].c_str(), "*");
        assert_true(claims.subscribe.has_value());
        assert_int_equal(claims.subscribe->size(), 1);
        assert_string_equal((*claims.subscribe)[0].c_str(), "https://example.com/users/dunglas/{?topic}");
        // libjwt (jansson) sorts object keys when it encodes the claims.
        assert_string_equal(claims.payload_json.c_str(), R"({"n":3,"user":"https://example.com/users/dunglas"})");
        assert_true(claims.expires_at.has_value());
        assert_int_equal(*claims.expires_at, now + 60);

        // The token is refused once expired and before nbf.
        expect_refusal(*v, token, TokenRefusal::Expired, now + 60);
        expect_refusal(*v, token, TokenRefusal::NotYetValid, now - 61);
    }
}

void test_round_trip_certificate(void**)
{
    // An X.509 certificate is accepted where a public key is.
    const auto rs = verifier(JwtAlgorithm::RS256, keys().rsa.certificate_pem);
    expect_claims(*rs, mint(JwtAlgorithm::RS256, TokenGrant{}));
    const auto es = verifier(JwtAlgorithm::ES256, keys().p256.certificate_pem);
    expect_claims(*es, mint(JwtAlgorithm::ES256, TokenGrant{}));
}

void test_direct_construction(void**)
{
    // The public constructor works too; with a bad key it refuses everything.
    const TokenVerifier good(JwtAlgorithm::RS256, keys().rsa.public_pem);
    expect_claims(good, mint(JwtAlgorithm::RS256, TokenGrant{}));
    const TokenVerifier bad(JwtAlgorithm::RS256, "not a key");
    expect_refusal(bad, mint(JwtAlgorithm::RS256, TokenGrant{}), TokenRefusal::BadSignature);
    const TokenVerifier empty(JwtAlgorithm::HS256, "");
    expect_refusal(empty, forge_hmac(EVP_sha256(), "", R"({"alg":"HS256"})", "{}"), TokenRefusal::BadSignature);
}

// ---- interoperability: RFC 7515 appendix A examples ----

// The payload of both examples: {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
constexpr std::int64_t rfc7515_now = 1300819379;

void test_rfc7515_hs256_example(void**)
{
    const auto key = base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
    assert_true(key.has_value());
    const auto v = verifier(JwtAlgorithm::HS256, *key);
    const std::string token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    auto result = v->verify(token, rfc7515_now);
    assert_true(std::holds_alternative<TokenClaims>(result));
    assert_int_equal(*std::get<TokenClaims>(result).expires_at, 1300819380);
    assert_false(std::get<TokenClaims>(result).publish.has_value());
    expect_refusal(*v, token, TokenRefusal::Expired, rfc7515_now + 1);
}

void test_rfc7515_es256_example(void**)
{
    const std::string public_pem =
        "-----BEGIN PUBLIC KEY-----\n"
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
        "6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
        "-----END PUBLIC KEY-----\n";
    const auto v = verifier(JwtAlgorithm::ES256, public_pem);
    const std::string token =
        "eyJhbGciOiJFUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    auto result = v->verify(token, rfc7515_now);
    assert_true(std::holds_alternative<TokenClaims>(result));
    assert_int_equal(*std::get<TokenClaims>(result).expires_at, 1300819380);
}

// ---- signatures ----

void test_wrong_key(void**)
{
    const std::string hs = mint(JwtAlgorithm::HS256, TokenGrant{});
    expect_refusal(*verifier(JwtAlgorithm::HS256, "another secret"), hs, TokenRefusal::BadSignature);
    expect_refusal(*verifier(JwtAlgorithm::HS256, "!ChangeMe"), hs, TokenRefusal::BadSignature);
    expect_refusal(*verifier(JwtAlgorithm::HS256, "!ChangeMe!!"), hs, TokenRefusal::BadSignature);

    const std::string rs = mint(JwtAlgorithm::RS256, TokenGrant{});
    expect_refusal(*verifier(JwtAlgorithm::RS256, keys().rsa_other.public_pem), rs, TokenRefusal::BadSignature);

    const std::string es = mint(JwtAlgorithm::ES256, TokenGrant{});
    expect_refusal(*verifier(JwtAlgorithm::ES256, keys().p256_other.public_pem), es, TokenRefusal::BadSignature);
}

void test_tampered_payload(void**)
{
    TokenGrant grant;
    grant.subscribe = std::vector<std::string>{"https://example.com/a"};
    for (const JwtAlgorithm algorithm : all_algorithms) {
        Parts parts = split(mint(algorithm, grant));
        parts.payload = base64url_encode(R"({"mercure":{"subscribe":["*"]}})");
        expect_refusal(*verifier(algorithm, verification_key(algorithm)), join(parts), TokenRefusal::BadSignature);
    }
}

void test_tampered_signature(void**)
{
    for (const JwtAlgorithm algorithm : all_algorithms) {
        const auto v = verifier(algorithm, verification_key(algorithm));
        const Parts original = split(mint(algorithm, TokenGrant{}));
        std::string signature = *base64url_decode(original.signature);

        // One flipped bit, first and last byte.
        for (const std::size_t index : {std::size_t{0}, signature.size() - 1}) {
            Parts parts = original;
            std::string flipped = signature;
            flipped[index] = static_cast<char>(flipped[index] ^ 0x01);
            parts.signature = base64url_encode(flipped);
            expect_refusal(*v, join(parts), TokenRefusal::BadSignature);
        }
        // Truncated by one byte, or to nothing.
        Parts truncated = original;
        truncated.signature = base64url_encode(std::string_view(signature).substr(0, signature.size() - 1));
        expect_refusal(*v, join(truncated), TokenRefusal::BadSignature);
        truncated.signature.clear();
        expect_refusal(*v, join(truncated), TokenRefusal::BadSignature);
        // Extended by one byte.
        Parts extended = original;
        extended.signature = base64url_encode(signature + std::string(1, '\0'));
        expect_refusal(*v, join(extended), TokenRefusal::BadSignature);
    }
}

void test_es_signature_must_be_raw(void**)
{
    // A DER-encoded ECDSA signature (what OpenSSL produces natively) is not a JWS signature.
    const auto v = verifier(JwtAlgorithm::ES256, keys().p256.public_pem);
    Parts parts = split(mint(JwtAlgorithm::ES256, TokenGrant{}));
    const std::string signed_part = parts.header + "." + parts.payload;
    BioPtr bio(BIO_new_mem_buf(keys().p256.private_pem.data(), static_cast<int>(keys().p256.private_pem.size())));
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    assert_non_null(key.get());
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    assert_int_equal(EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
    unsigned char der[128];
    size_t der_length = sizeof der;
    assert_int_equal(EVP_DigestSign(context.get(), der, &der_length,
                                    reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()),
                     1);
    parts.signature = base64url_encode(std::string_view(reinterpret_cast<const char*>(der), der_length));
    expect_refusal(*v, join(parts), TokenRefusal::BadSignature);
}

// ---- algorithm pinning ----

void test_alg_none(void**)
{
    const auto v = hs256();
    const std::string payload = base64url_encode(R"({"mercure":{"publish":["*"]}})");
    for (const std::string_view header : {R"({"alg":"none"})", R"({"alg":"none","typ":"JWT"})",
                                          R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
        const std::string unsigned_token = base64url_encode(header) + "." + payload + ".";
        expect_refusal(*v, unsigned_token, TokenRefusal::AlgorithmMismatch);
        const std::string with_signature = unsigned_token + split(mint(JwtAlgorithm::HS256, TokenGrant{})).signature;
        expect_refusal(*v, with_signature, TokenRefusal::AlgorithmMismatch);
    }
    const auto rs = verifier(JwtAlgorithm::RS256, keys().rsa.public_pem);
    expect_refusal(*rs, base64url_encode(R"({"alg":"none"})") + "." + payload + ".", TokenRefusal::AlgorithmMismatch);
}

void test_alg_missing_or_odd(void**)
{
    const auto v = hs256();
    const std::string_view payload = R"({"mercure":{"publish":["*"]}})";
    for (const std::string_view header :
         {R"({})", R"({"typ":"JWT"})", R"({"alg":null})", R"({"alg":256})", R"({"alg":["HS256"]})",
          R"({"alg":"hs256"})", R"({"alg":"HS256 "})", R"({"alg":"HS2560"})", R"({"alg":"HS384"})",
          "{\"alg\":\"HS256\\u0000\"}"}) {
        expect_refusal(*v, forge_hmac(EVP_sha256(), secret, header, payload), TokenRefusal::AlgorithmMismatch);
    }
}

void test_hs256_signed_with_rsa_public_key_refused_by_rs256(void**)
{
    // The classic confusion: the attacker knows the public key and uses its PEM as an HMAC secret.
    const std::string& pem = keys().rsa.public_pem;
    const auto v = verifier(JwtAlgorithm::RS256, pem);
    const std::string forged = forge_hmac(EVP_sha256(), pem, R"({"alg":"HS256","typ":"JWT"})",
                                          R"({"mercure":{"publish":["*"]}})");
    expect_refusal(*v, forged, TokenRefusal::AlgorithmMismatch);
    // Even with the header claiming RS256, an HMAC is not an RSA signature.
    const std::string relabelled = forge_hmac(EVP_sha256(), pem, R"({"alg":"RS256","typ":"JWT"})",
                                              R"({"mercure":{"publish":["*"]}})");
    expect_refusal(*v, relabelled, TokenRefusal::BadSignature);
    // Same against ES256 with an EC public key.
    const std::string& ec_pem = keys().p256.public_pem;
    const auto es = verifier(JwtAlgorithm::ES256, ec_pem);
    expect_refusal(*es, forge_hmac(EVP_sha256(), ec_pem, R"({"alg":"HS256"})", "{}"), TokenRefusal::AlgorithmMismatch);
}

void test_rs256_token_refused_by_hs256(void**)
{
    expect_refusal(*hs256(), mint(JwtAlgorithm::RS256, TokenGrant{}), TokenRefusal::AlgorithmMismatch);
    expect_refusal(*hs256(), mint(JwtAlgorithm::ES256, TokenGrant{}), TokenRefusal::AlgorithmMismatch);
    expect_refusal(*hs256(), mint(JwtAlgorithm::HS512, TokenGrant{}), TokenRefusal::AlgorithmMismatch);
    expect_refusal(*verifier(JwtAlgorithm::RS256, keys().rsa.public_pem), mint(JwtAlgorithm::RS512, TokenGrant{}),
                   TokenRefusal::AlgorithmMismatch);
    expect_refusal(*verifier(JwtAlgorithm::ES384, keys().p384.public_pem), mint(JwtAlgorithm::ES256, TokenGrant{}),
                   TokenRefusal::AlgorithmMismatch);
}

void test_crit_header_refused(void**)
{
    const auto v = hs256();
    expect_refusal(*v, forge_hmac(EVP_sha256(), secret, R"({"alg":"HS256","crit":["exp"],"exp":1})", "{}"),
                   TokenRefusal::Malformed);
    expect_refusal(*v, forge_hmac(EVP_sha256(), secret, R"({"alg":"HS256","b64":false,"crit":["b64"]})", "{}"),
                   TokenRefusal::Malformed);
    // Unknown header parameters without crit are ignored.
    expect_claims(*v, forge_hmac(EVP_sha256(), secret, R"({"alg":"HS256","kid":"k1","x":{"y":[]}})", "{}"));
}

// ---- time ----

void test_expiry(void**)
{
    const auto v = hs256();
    expect_refusal(*v, hs256_token(R"({"exp":1699999999})"), TokenRefusal::Expired);
    expect_refusal(*v, hs256_token(R"({"exp":1700000000})"), TokenRefusal::Expired); // exactly now
    expect_refusal(*v, hs256_token(R"({"exp":0})"), TokenRefusal::Expired);
    expect_refusal(*v, hs256_token(R"({"exp":-5})"), TokenRefusal::Expired);
    expect_refusal(*v, hs256_token(R"({"exp":1699999999.5})"), TokenRefusal::Expired);
    const TokenClaims later = expect_claims(*v, hs256_token(R"({"exp":1700000001})"));
    assert_int_equal(*later.expires_at, 1700000001);
    const TokenClaims fractional = expect_claims(*v, hs256_token(R"({"exp":1700000000.5})"));
    assert_int_equal(*fractional.expires_at, 1700000000);
    const TokenClaims huge = expect_claims(*v, hs256_token(R"({"exp":99999999999999999999999})"));
    assert_true(*huge.expires_at > now);
    const TokenClaims none = expect_claims(*v, hs256_token(R"({})"));
    assert_false(none.expires_at.has_value());
}

void test_not_before(void**)
{
    const auto v = hs256();
    expect_refusal(*v, hs256_token(R"({"nbf":1700000001})"), TokenRefusal::NotYetValid);
    expect_refusal(*v, hs256_token(R"({"nbf":1700000000.5})"), TokenRefusal::NotYetValid);
    expect_claims(*v, hs256_token(R"({"nbf":1700000000})")); // exactly now is valid
    expect_claims(*v, hs256_token(R"({"nbf":1600000000})"));
    // Expiry is reported before nbf when both fail.
    expect_refusal(*v, hs256_token(R"({"nbf":1800000000,"exp":1600000000})"), TokenRefusal::Expired);
}

void test_non_numeric_dates(void**)
{
    const auto v = hs256();
    for (const std::string_view payload :
         {R"({"exp":"1800000000"})", R"({"exp":true})", R"({"exp":null})", R"({"exp":[1800000000]})",
          R"({"exp":{}})", R"({"nbf":"0"})", R"({"nbf":false})", R"({"nbf":null})"}) {
        expect_refusal(*v, hs256_token(payload), TokenRefusal::Malformed);
    }
}

// ---- claims ----

void test_namespaced_claim(void**)
{
    const auto v = hs256();
    const TokenClaims namespaced =
        expect_claims(*v, hs256_token(R"({"https://mercure.rocks/":{"publish":["a"],"subscribe":["b"]}})"));
    assert_true(namespaced.publish.has_value() && namespaced.publish->size() == 1);
    assert_string_equal((*namespaced.publish)[0].c_str(), "a");
    assert_string_equal((*namespaced.subscribe)[0].c_str(), "b");
    // "mercure" wins when both are present.
    const TokenClaims both = expect_claims(
        *v, hs256_token(R"({"https://mercure.rocks/":{"publish":["a"]},"mercure":{"publish":["m"]}})"));
    assert_string_equal((*both.publish)[0].c_str(), "m");
    // Other namespaces are not Mercure claims.
    const TokenClaims other = expect_claims(*v, hs256_token(R"({"https://mercure.rocks":{"publish":["a"]}})"));
    assert_false(other.publish.has_value());
}

void test_payload_serialization(void**)
{
    const auto v = hs256();
    const TokenClaims object = expect_claims(
        *v, hs256_token(R"({"mercure":{"payload":{ "user" : "https://example.com/u/1", "tags":[1, 2.5, true, null, "\u00e9"] }}})"));
    assert_string_equal(object.payload_json.c_str(),
                        "{\"user\":\"https://example.com/u/1\",\"tags\":[1,2.5,true,null,\"\xc3\xa9\"]}");
    const TokenClaims string = expect_claims(*v, hs256_token(R"({"mercure":{"payload":"a/b \"q\""}})"));
    assert_string_equal(string.payload_json.c_str(), R"("a/b \"q\"")");
    const TokenClaims number = expect_claims(*v, hs256_token(R"({"mercure":{"payload":42}})"));
    assert_string_equal(number.payload_json.c_str(), "42");
    const TokenClaims array = expect_claims(*v, hs256_token(R"({"mercure":{"payload":[]}})"));
    assert_string_equal(array.payload_json.c_str(), "[]");
    const TokenClaims absent = expect_claims(*v, hs256_token(R"({"mercure":{}})"));
    assert_string_equal(absent.payload_json.c_str(), "");
    const TokenClaims null_payload = expect_claims(*v, hs256_token(R"({"mercure":{"payload":null}})"));
    assert_string_equal(null_payload.payload_json.c_str(), "");
}

void test_publish_subscribe_absent_vs_empty(void**)
{
    const auto v = hs256();
    const TokenClaims no_claim = expect_claims(*v, hs256_token(R"({"sub":"x"})"));
    assert_false(no_claim.publish.has_value());
    assert_false(no_claim.subscribe.has_value());
    assert_string_equal(no_claim.payload_json.c_str(), "");
    const TokenClaims absent = expect_claims(*v, hs256_token(R"({"mercure":{}})"));
    assert_false(absent.publish.has_value());
    assert_false(absent.subscribe.has_value());
    const TokenClaims empty = expect_claims(*v, hs256_token(R"({"mercure":{"publish":[],"subscribe":[]}})"));
    assert_true(empty.publish.has_value() && empty.publish->empty());
    assert_true(empty.subscribe.has_value() && empty.subscribe->empty());
    const TokenClaims only_publish = expect_claims(*v, hs256_token(R"({"mercure":{"publish":["*"]}})"));
    assert_true(only_publish.publish.has_value());
    assert_false(only_publish.subscribe.has_value());
    const TokenClaims nulls = expect_claims(*v, hs256_token(R"({"mercure":{"publish":null,"subscribe":null}})"));
    assert_false(nulls.publish.has_value());
    assert_false(nulls.subscribe.has_value());

    // Minting keeps the distinction.
    TokenGrant grant;
    grant.publish = std::vector<std::string>{};
    const TokenClaims minted = expect_claims(*v, mint(JwtAlgorithm::HS256, grant));
    assert_true(minted.publish.has_value() && minted.publish->empty());
    assert_false(minted.subscribe.has_value());
}

void test_bad_claim_types(void**)
{
    const auto v = hs256();
    for (const std::string_view payload :
         {R"({"mercure":{"publish":["a",1]}})", R"({"mercure":{"publish":[null]}})",
          R"({"mercure":{"subscribe":[["a"]]}})", R"({"mercure":{"subscribe":[{"a":1}]}})",
          R"({"mercure":{"publish":"*"}})", R"({"mercure":{"subscribe":{"0":"*"}}})",
          R"({"mercure":{"subscribe":true}})", R"({"mercure":"publish"})", R"({"mercure":["*"]})",
          R"({"https://mercure.rocks/":42})"}) {
        expect_refusal(*v, hs256_token(payload), TokenRefusal::Malformed);
    }
    // Selectors keep embedded NULs rather than being cut short.
    const TokenClaims nul = expect_claims(*v, hs256_token(R"({"mercure":{"publish":["a\u0000b"]}})"));
    assert_int_equal((*nul.publish)[0].size(), 3);
}

// ---- malformed tokens ----

void test_huge_token(void**)
{
    const auto v = hs256();
    const std::string big_payload = R"({"mercure":{"payload":")" + std::string(70 * 1024, 'x') + R"("}})";
    expect_refusal(*v, hs256_token(big_payload), TokenRefusal::Malformed);
    expect_refusal(*v, std::string(1024 * 1024, 'A'), TokenRefusal::Malformed);
    // Just under the limit is fine.
    const std::string fitting = R"({"mercure":{"payload":")" + std::string(40 * 1024, 'x') + R"("}})";
    expect_claims(*v, hs256_token(fitting));
}

void test_deeply_nested_payload(void**)
{
    const auto v = hs256();
    const std::string deep = R"({"mercure":{"payload":)" + std::string(1000, '[') + std::string(1000, ']') + "}}";
    expect_refusal(*v, hs256_token(deep), TokenRefusal::Malformed);
}

void test_wrong_part_count(void**)
{
    const auto v = hs256();
    const std::string good = mint(JwtAlgorithm::HS256, TokenGrant{});
    const Parts p = split(good);
    for (const std::string& token :
         {std::string(), std::string("."), std::string(".."), std::string("..."), p.header, p.header + "." + p.payload,
          good + ".", good + "." + p.signature, "." + good, p.header + ".." + p.payload + "." + p.signature,
          std::string("Bearer ") + good}) {
        expect_refusal(*v, token, TokenRefusal::Malformed);
    }
}

void test_garbage_in_each_part(void**)
{
    const auto v = hs256();
    const Parts good = split(mint(JwtAlgorithm::HS256, TokenGrant{}));
    const std::string_view garbage[] = {"@@@@", "ab=", "a b", "a+/b", "\xff\xfe", "!", std::string_view("\0", 1)};
    for (const std::string_view junk : garbage) {
        for (int part = 0; part < 3; ++part) {
            Parts parts = good;
            std::string& target = part == 0 ? parts.header : part == 1 ? parts.payload : parts.signature;
            target += junk;
            expect_refusal(*v, join(parts), TokenRefusal::Malformed);
        }
    }
    // Non-canonical base64url: a 32-byte HMAC is 43 characters whose last one carries 2 unused
    // bits; setting them gives a different text for the same bytes.
    Parts noncanonical = good;
    assert_int_equal(noncanonical.signature.size(), 43);
    const char last = noncanonical.signature.back();
    const std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    noncanonical.signature.back() = alphabet[alphabet.find(last) | 1];
    expect_refusal(*v, join(noncanonical), TokenRefusal::Malformed);
    // A length that no byte string encodes to (4n+1).
    Parts impossible = good;
    impossible.signature += "AA";
    assert_int_equal(impossible.signature.size() % 4, 1);
    expect_refusal(*v, join(impossible), TokenRefusal::Malformed);
    // Padding on an otherwise valid part.
    Parts padded = good;
    padded.signature += "=";
    expect_refusal(*v, join(padded), TokenRefusal::Malformed);
    // Empty header or payload.
    expect_refusal(*v, "." + good.payload + "." + good.signature, TokenRefusal::Malformed);
    expect_refusal(*v, good.header + ".." + good.signature, TokenRefusal::Malformed);
}

void test_bad_json(void**)
{
    const auto v = hs256();
    const std::string_view header = R"({"alg":"HS256"})";
    // Header that is not a JSON object.
    for (const std::string_view bad_header :
         {"not json", R"(["alg","HS256"])", R"("HS256")", R"({"alg":"HS256")", R"({"alg":"HS256"}x)",
          R"({"alg":"HS256",})", R"({'alg':'HS256'})", "{\"alg\":\"HS256\",\"x\":\"\xff\"}"}) {
        expect_refusal(*v, forge_hmac(EVP_sha256(), secret, bad_header, "{}"), TokenRefusal::Malformed);
    }
    // Correctly signed payloads that are not a JSON object.
    for (const std::string_view bad_payload :
         {"not json", "[]", "42", R"("s")", "null", R"({"exp":1)", R"({} {})", R"({"a":1,})"}) {
        expect_refusal(*v, forge_hmac(EVP_sha256(), secret, header, bad_payload), TokenRefusal::Malformed);
    }
    // Surrounding whitespace is fine JSON.
    expect_claims(*v, forge_hmac(EVP_sha256(), secret, " { \"alg\" : \"HS256\" } ", "\n{}\n"));
}

// json-c parses NaN, Infinity, -Infinity and "1." and writes them back as spelled: a correctly
// signed token carrying one (here in mercure.payload, which the hub re-emits in subscription
// events, and elsewhere in the payload) is malformed. RFC 8259 numbers are accepted.
void test_non_standard_numbers(void**)
{
    const auto v = hs256();
    for (const std::string bad : {"NaN", "Infinity", "-Infinity", "1."}) {
        for (const std::string& payload :
             {R"({"mercure":{"payload":)" + bad + "}}", R"({"mercure":{"payload":{"n":[)" + bad + "]}}}",
              R"({"x":)" + bad + "}", R"({"exp":)" + bad + "}"}) {
            expect_refusal(*v, hs256_token(payload), TokenRefusal::Malformed);
        }
    }
    for (const std::string good : {"1", "1.5", "-2e3"}) {
        const TokenClaims direct = expect_claims(*v, hs256_token(R"({"mercure":{"payload":)" + good + "}}"));
        assert_string_equal(direct.payload_json.c_str(), good.c_str());
        const TokenClaims nested =
            expect_claims(*v, hs256_token(R"({"x":)" + good + R"(,"mercure":{"payload":{"n":[)" + good + "]}}}"));
        assert_string_equal(nested.payload_json.c_str(), (R"({"n":[)" + good + "]}").c_str());
    }
}

// ---- create and mint errors ----

void test_create_errors(void**)
{
    expect_create_error(JwtAlgorithm::HS256, "", "secret is empty");
    expect_create_error(JwtAlgorithm::HS512, "", "HS512");
    expect_create_error(JwtAlgorithm::RS256, "", "empty");
    expect_create_error(JwtAlgorithm::RS256, "not a pem", "not a PEM public key");
    expect_create_error(JwtAlgorithm::RS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                        "not a PEM public key");
    // A private key is not accepted where a public key is configured.
    expect_create_error(JwtAlgorithm::RS256, keys().rsa.private_pem, "not a PEM public key");
    expect_create_error(JwtAlgorithm::ES256, keys().rsa.public_pem, "not an EC key");
    expect_create_error(JwtAlgorithm::ES256, keys().rsa.certificate_pem, "not an EC key");
    expect_create_error(JwtAlgorithm::RS256, keys().p256.public_pem, "not an RSA key");
    expect_create_error(JwtAlgorithm::ES256, keys().p384.public_pem, "not on curve P-256");
    expect_create_error(JwtAlgorithm::ES384, keys().p521.public_pem, "not on curve P-384");
    expect_create_error(JwtAlgorithm::ES512, keys().p256.public_pem, "not on curve P-521");
    // Any PEM public key of the right type is accepted for each size.
    verifier(JwtAlgorithm::RS512, keys().rsa.public_pem);
    verifier(JwtAlgorithm::ES384, keys().p384.public_pem);
}

void test_mint_errors(void**)
{
    assert_false(mint_token(JwtAlgorithm::HS256, "", TokenGrant{}).ok());
    assert_false(mint_token(JwtAlgorithm::RS256, keys().rsa.public_pem, TokenGrant{}).ok());
    assert_false(mint_token(JwtAlgorithm::RS256, "garbage", TokenGrant{}).ok());
    assert_false(mint_token(JwtAlgorithm::ES256, keys().rsa.private_pem, TokenGrant{}).ok());
    assert_false(mint_token(JwtAlgorithm::ES256, keys().p384.private_pem, TokenGrant{}).ok());
    assert_false(mint_token(JwtAlgorithm::RS256, keys().p256.private_pem, TokenGrant{}).ok());
    TokenGrant bad_payload;
    bad_payload.payload_json = "{not json";
    assert_false(mint_token(JwtAlgorithm::HS256, secret, bad_payload).ok());
    bad_payload.payload_json = "{} trailing";
    assert_false(mint_token(JwtAlgorithm::HS256, secret, bad_payload).ok());
    bad_payload.payload_json = "null";
    assert_false(mint_token(JwtAlgorithm::HS256, secret, bad_payload).ok());
    TokenGrant spaced;
    spaced.payload_json = " {\"a\": 1}\n";
    assert_string_equal(expect_claims(*hs256(), mint(JwtAlgorithm::HS256, spaced)).payload_json.c_str(), R"({"a":1})");
    // Bare scalars are valid payloads.
    TokenGrant scalar;
    scalar.payload_json = "42";
    assert_string_equal(expect_claims(*hs256(), mint(JwtAlgorithm::HS256, scalar)).payload_json.c_str(), "42");
    scalar.payload_json = R"("x/y")";
    assert_string_equal(expect_claims(*hs256(), mint(JwtAlgorithm::HS256, scalar)).payload_json.c_str(), R"("x/y")");
}

void test_mint_header(void**)
{
    // The minted header names the algorithm, so verifiers that pin alg accept it.
    for (const JwtAlgorithm algorithm : all_algorithms) {
        const Parts parts = split(mint(algorithm, TokenGrant{}));
        const auto header = base64url_decode(parts.header);
        assert_true(header.has_value());
        JsonPtr object = json_parse_strict(*header);
        assert_non_null(object.get());
        json_object* alg = nullptr;
        assert_true(json_object_object_get_ex(object.get(), "alg", &alg));
        assert_string_equal(json_object_get_string(alg), std::string(jwt_algorithm_name(algorithm)).c_str());
    }
}

void test_refusal_reasons(void**)
{
    for (const TokenRefusal refusal : {TokenRefusal::Malformed, TokenRefusal::AlgorithmMismatch,
                                       TokenRefusal::BadSignature, TokenRefusal::Expired, TokenRefusal::NotYetValid}) {
        assert_false(token_refusal_reason(refusal).empty());
    }
    assert_string_equal(std::string(token_refusal_reason(TokenRefusal::BadSignature)).c_str(),
                        "signature does not verify");
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algorithm_names),
        cmocka_unit_test(test_base64url_vectors),
        cmocka_unit_test(test_base64url_strict),
        cmocka_unit_test(test_json_parse_strict),
        cmocka_unit_test(test_round_trip_all_algorithms),
        cmocka_unit_test(test_round_trip_certificate),
        cmocka_unit_test(test_direct_construction),
        cmocka_unit_test(test_rfc7515_hs256_example),
        cmocka_unit_test(test_rfc7515_es256_example),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_es_signature_must_be_raw),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_missing_or_odd),
        cmocka_unit_test(test_hs256_signed_with_rsa_public_key_refused_by_rs256),
        cmocka_unit_test(test_rs256_token_refused_by_hs256),
        cmocka_unit_test(test_crit_header_refused),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_not_before),
        cmocka_unit_test(test_non_numeric_dates),
        cmocka_unit_test(test_namespaced_claim),
        cmocka_unit_test(test_payload_serialization),
        cmocka_unit_test(test_publish_subscribe_absent_vs_empty),
        cmocka_unit_test(test_bad_claim_types),
        cmocka_unit_test(test_huge_token),
        cmocka_unit_test(test_deeply_nested_payload),
        cmocka_unit_test(test_wrong_part_count),
        cmocka_unit_test(test_garbage_in_each_part),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_non_standard_numbers),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_mint_errors),
        cmocka_unit_test(test_mint_header),
        cmocka_unit_test(test_refusal_reasons),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
