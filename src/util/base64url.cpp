// base64url (RFC 4648 section 5) without padding: encoder and strict decoder.
#include "util/base64url.hpp"

#include <array>
#include <cstdint>

namespace mercure {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t invalid = 0xff;

// Maps each byte to its 6-bit value, or `invalid`.
constexpr std::array<std::uint8_t, 256> make_decode_table()
{
    std::array<std::uint8_t, 256> table{};
    table.fill(invalid);
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    }
    return table;
}

constexpr std::array<std::uint8_t, 256> decode_table = make_decode_table();

} // namespace

// Three bytes become four characters; a tail of one or two bytes becomes two or three.
std::string base64url_encode(std::string_view bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out += alphabet[n >> 18 & 0x3f];
        out += alphabet[n >> 12 & 0x3f];
        out += alphabet[n >> 6 & 0x3f];
        out += alphabet[n & 0x3f];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        out += alphabet[n >> 18 & 0x3f];
        out += alphabet[n >> 12 & 0x3f];
    } else if (rest == 2) {
        const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        out += alphabet[n >> 18 & 0x3f];
        out += alphabet[n >> 12 & 0x3f];
        out += alphabet[n >> 6 & 0x3f];
    }
    return out;
}

// Accumulates 6-bit groups and emits a byte whenever 8 bits are available; the bits left
// over at the end must be zero, else the text is not the canonical encoding of anything.
std::optional<std::string> base64url_decode(std::string_view text)
{
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const std::uint8_t value = decode_table[static_cast<unsigned char>(c)];
        if (value == invalid) {
            return std::nullopt;
        }
        buffer = (buffer << 6 | value) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(buffer >> bits & 0xff);
        }
    }
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

} // namespace mercure
