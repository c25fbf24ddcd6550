// base64url (RFC 4648 section 5) without padding, as JWS compact serialization uses it.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

// Encodes bytes as unpadded base64url.
std::string base64url_encode(std::string_view bytes);

// Decodes unpadded base64url strictly: nullopt on any character outside [A-Za-z0-9_-]
// (including '=' and whitespace), on an impossible length (4n+1), or on non-zero unused
// trailing bits, so every byte string has exactly one accepted encoding.
std::optional<std::string> base64url_decode(std::string_view text);

} // namespace mercure
