// Tokens for mercure-publish and mercure-subscribe.
#include "client/token_source.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "core/jwt_algorithm.hpp"
#include "core/token_verifier.hpp"

namespace mercure {

namespace {

// A token file larger than this is certainly not a token.
constexpr std::size_t max_token_file_size = 64 << 10;

} // namespace

Result<std::string> read_token_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return Error{"cannot open token file " + path + ": " + std::strerror(errno)};
    std::string contents;
    char buffer[4096];
    while (file) {
        file.read(buffer, sizeof buffer);
        contents.append(buffer, static_cast<std::size_t>(file.gcount()));
        if (contents.size() > max_token_file_size)
            return Error{"token file " + path + " is too large to hold a token"};
    }
    if (file.bad())
        return Error{"cannot read token file " + path};
    const std::size_t begin = contents.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos)
        return Error{"token file " + path + " is empty"};
    std::string token = contents.substr(begin, contents.find_first_of("\r\n", begin) - begin);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.pop_back();
    return token;
}

Result<std::string> mint_token_from_config(const Config& config, const std::string& config_path, TokenRole role,
                                           const std::vector<std::string>& topics, std::int64_t ttl_seconds)
{
    const bool publisher = role == TokenRole::Publisher;
    const JwtKeyConfig& key = publisher ? config.publisher : config.subscriber;
    const std::string which = publisher ? "publisher" : "subscriber";
    if (key.key.empty())
        return Error{config_path + " sets no " + which + " key"};
    const std::optional<JwtAlgorithm> algorithm = parse_jwt_algorithm(key.algorithm);
    if (!algorithm)
        return Error{config_path + ": unknown " + which + " algorithm " + key.algorithm};
    if (!jwt_algorithm_is_hmac(*algorithm))
        return Error{config_path + " configures " + key.algorithm + " with a public key: a " + which +
                     " token needs the private key; mint one with mercure-token --key-file and pass it with --token-file"};
    TokenGrant grant;
    if (publisher)
        grant.publish = topics;
    else
        grant.subscribe = topics;
    grant.expires_at = static_cast<std::int64_t>(std::time(nullptr)) + ttl_seconds;
    return mint_token(*algorithm, key.key, grant);
}

} // namespace mercure
