// Listening addresses ("host:port" as upstream writes them) and socket address formatting.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

// "host:port" split: host may be empty (every address), a name, an IPv4 literal or "[v6]".
struct ListenAddress {
    std::string host;   // without brackets
    std::uint16_t port = 0;
};

// Parses ":3000", "localhost:3000", "127.0.0.1:3000", "[::1]:3000"; nullopt when malformed.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

// "192.0.2.1:443" or "[2001:db8::1]:443".
std::string format_socket_address(const sockaddr* address);

} // namespace mercure
