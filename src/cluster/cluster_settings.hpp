// ClusterSettings: the Redis transport's settings, parsed from a redis:// transport_url.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mercure {

// Where the cluster's Redis is and how the hub uses it. Pure data: parsing it opens nothing.
struct ClusterSettings {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string user;                      // Redis 6 ACL user ("" : the default user)
    std::string password;                  // AUTH password ("" : none)
    int db = 0;                            // SELECT
    std::string stream = "mercure";        // the stream key; presence keys derive from it
    std::size_t max_len = 0;               // XADD MAXLEN ~ (0: max(10000, history_size))
    bool fail_fast = false;                // start=fail: exit when Redis is unreachable at start
    std::chrono::milliseconds presence_ttl{15000};
    std::chrono::milliseconds block{1000};  // XREAD BLOCK
    std::chrono::milliseconds timeout{5000};  // connect and command timeout

    // The stream trim length for a history of `history_size` entries.
    std::size_t stream_max_len(std::size_t history_size) const
    {
        if (max_len > 0)
            return max_len;
        return history_size > 10000 ? history_size : 10000;
    }
};

// Whether a transport_url names the Redis transport ("redis://...").
bool is_cluster_url(std::string_view url);

// Parses "redis://[[user]:password@]host[:port][/db][?stream=NAME&max_len=N&start=retry|fail&
// presence_ttl=SECONDS&block_ms=N&timeout_ms=N]"; host may be a bracketed IPv6 address.
// Percent-escapes are decoded in the user, password and stream. Fails with a one-line reason.
Result<ClusterSettings> parse_cluster_url(std::string_view url);

} // namespace mercure
