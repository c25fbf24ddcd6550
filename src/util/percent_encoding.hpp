// Percent-decoding of query strings and form bodies, and RFC 6570-style encoding.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercure {

// The value of a hexadecimal digit (either case), or -1.
int hex_value(char c);

// Decodes one application/x-www-form-urlencoded component: '+' is a space, %XX a byte.
// Returns nullopt on a malformed escape ("%", "%4", "%G1").
std::optional<std::string> form_decode(std::string_view in);

// Decodes %XX escapes only ('+' stays '+'), as in URL paths and userinfo.
// Returns nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in);

using FormPairs = std::vector<std::pair<std::string, std::string>>;

// Splits and decodes "a=1&b=2&a=3" (query strings and form bodies), keeping order and
// repeats; a key without "=" has an empty value and empty segments are skipped. Returns
// nullopt when any component has a malformed escape.
std::optional<FormPairs> parse_urlencoded(std::string_view in);

// Percent-encodes every byte outside RFC 3986 "unreserved", with upper-case hex, as an RFC 6570
// simple-string expansion does.
std::string percent_encode(std::string_view in);

} // namespace mercure
