// Config: the hub's immutable, validated settings, built once by the config loader.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace mercure {

using Duration = std::chrono::milliseconds;

// One JWT verification key with its algorithm name ("HS256", "RS256", ...). An empty key
// means "not configured".
struct JwtKeyConfig {
    std::string key;
    std::string algorithm = "HS256";
};

// Every setting of the hub. Field names are the configuration keys (upstream names in
// snake_case). Built and validated by load_config(); never mutated afterwards: a reload
// builds a new Config and swaps it in whole.
struct Config {
    // Listening address: ":3000", "localhost:3000", "127.0.0.1:3000", "[::1]:3000".
    std::string addr = ":3000";

    // Keys. publisher/subscriber fall back to jwt_key/jwt_algorithm when their key is empty;
    // the loader resolves that, so these two are the effective keys.
    JwtKeyConfig publisher;
    JwtKeyConfig subscriber;

    bool allow_anonymous = false;
    std::vector<std::string> cors_allowed_origins;
    std::vector<std::string> publish_allowed_origins;
    bool use_forwarded_headers = false;
    bool debug = false;
    bool demo = false;
    bool subscriptions = false;
    std::string cookie_name = "mercureAuthorization";

    Duration heartbeat_interval = std::chrono::seconds(40);  // 0 disables
    Duration dispatch_timeout = std::chrono::seconds(5);     // 0 disables
    Duration write_timeout = std::chrono::seconds(600);      // 0 disables
    Duration read_timeout = std::chrono::seconds(5);         // 0 disables

    // History kept for reconnecting subscribers (Last-Event-ID).
    std::size_t history_size = 1000;                         // updates kept; 0 keeps none
    Duration history_max_age = std::chrono::seconds(0);      // 0: no age limit
    std::string history_store = "auto";                      // "auto", "memory", "lmdb"
    std::string history_path;                                // lmdb directory
    std::string history_sync = "batch";                      // "always", "batch", "none"
    std::size_t history_max_bytes = 0;                       // lmdb data bound, 0: none
    std::string transport_url;                               // "bolt://PATH", "local://" or "redis://..."
    std::string transport_password;                          // Redis AUTH password (cluster mode)

    // Limits on sizes a client controls.
    std::size_t max_body_size = 1 << 20;         // bytes of a publish body (413 beyond)
    std::size_t max_header_size = 16 << 10;      // bytes of request line + headers (431 beyond)
    std::size_t max_topics = 1000;               // topic selectors per request (400 beyond)
    std::size_t max_topic_length = 2048;         // bytes of one topic or selector (400 beyond)
    std::size_t max_queued_bytes = 4 << 20;      // bytes queued for one subscriber
    std::size_t send_buffer = 64 << 10;          // SO_SNDBUF of subscriber streams; 0: autotuning
    std::size_t max_connections = 100000;        // open client connections

    // Threads that write a large fan-out (the event loop's own included); 0: one per core.
    std::size_t workers = 0;

    // Prometheus metrics: /metrics on the main listener, or on metrics_addr when set.
    bool metrics = false;
    std::string metrics_addr;
    std::string metrics_login;
    std::string metrics_password;

    std::string log_level = "info";              // "debug", "info", "notice", "warning", "error"
};

} // namespace mercure
