// Hub: the one context of a running hub: event loop, config, keys, registry, connections.
#pragma once
#include <event2/event_struct.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/selector_cache.hpp"
#include "core/subscriber_registry.hpp"
#include "core/token_cache.hpp"
#include "core/token_verifier.hpp"
#include "http/connection.hpp"
#include "http/listener.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "systemd.hpp"
#include "sse/heartbeat_schedule.hpp"
#include "sse/output_batch.hpp"
#include "sse/subscriber_stream.hpp"
#include "store/history.hpp"
#include "util/percent_encoding.hpp"
#include "util/result.hpp"
#include "util/libevent.hpp"
#include "util/uuid.hpp"

namespace mercure {

class ClusterTransport;

// Owns everything a hub needs and nothing is global: several hubs (or, later, several loops)
// can live in one process. Connections are owned here and destroyed only from the reaper
// callback, never inside their own callbacks (deferred destruction).
class Hub final : public ConnectionOwner, public AcceptHandler {
public:
    // Re-reads the configuration from its sources (SIGHUP): a new validated Config, or why not.
    using Reloader = std::function<Result<Config>()>;

    // Builds a hub from a validated config: creates the loop and the token verifiers. Fails
    // with a one-line reason when a key cannot be used (bad PEM, empty secret).
    static Result<std::unique_ptr<Hub>> create(Config config, Logger& logger, Reloader reloader = {});
    ~Hub();

    // Checks that a config's keys can be used, without building a hub (--check-config).
    static Status check_keys(const Config& config);

    // Serves the sockets systemd passed (socket activation), or binds the configured address.
    Status listen();
    // Binds metrics_addr when set (the operational endpoints on their own address).
    Status listen_admin();
    // Runs the loop until a graceful stop completes; returns the process exit code.
    int run();
    // Begins a graceful stop: no new connections, every stream ended cleanly, bounded drain.
    void stop();
    // Re-reads the configuration and applies it without dropping subscribers, or keeps the
    // current one and says why (journal and STATUS=).
    void reload();
    // Descriptions of the bound listeners ("127.0.0.1:3000").
    std::vector<std::string> listening_on() const;

private:
    Hub(Config config, Logger& logger, event_base* base);
    // The key verifiers of a config, built together so a reload swaps both or neither.
    struct Verifiers {
        std::shared_ptr<const TokenVerifier> publisher;
        std::shared_ptr<const TokenVerifier> subscriber;
    };
    static Result<Verifiers> make_verifiers(const Config& config);
    void update_status();
    static void on_watchdog(int, short, void* arg);
    static void on_status_timer(int, short, void* arg);

    // ConnectionOwner and AcceptHandler: called from connection and listener callbacks.
    void on_request(Connection& connection, HttpRequest& request) override;
    void on_closed(Connection& connection, std::string_view reason) override;
    void on_drained(Connection& connection) override;
    void on_accept(int fd, std::string peer) override;
    void accept(int fd, std::string peer, bool admin);

    // Accepts on metrics_addr: those connections serve only /metrics, /healthz and /readyz.
    class AdminAcceptor final : public AcceptHandler {
    public:
        explicit AdminAcceptor(Hub& hub) : hub_(hub) {}
        void on_accept(int fd, std::string peer) override { hub_.accept(fd, std::move(peer), true); }

    private:
        Hub& hub_;
    };

    // Routes (hub_routes.cpp, hub_publish.cpp, hub_subscribe.cpp).
    void serve_hub_url(Connection& connection, HttpRequest& request);
    void serve_preflight(Connection& connection, const HttpRequest& request);
    void serve_metrics(Connection& connection, const HttpRequest& request);
    void serve_ui(Connection& connection, const HttpRequest& request, std::string_view relative);
    void serve_operational(Connection& connection, const HttpRequest& request, bool admin);
    void serve_publish(Connection& connection, HttpRequest& request);
    void serve_subscribe(Connection& connection, HttpRequest& request);
    void serve_subscriptions_api(Connection& connection, HttpRequest& request);
    // The subscriptions API answered from every node's presence in Redis (cluster mode).
    void serve_cluster_subscriptions(Connection& connection, const HttpRequest& request,
                                     std::optional<std::string> topic, std::optional<std::string> subscriber,
                                     std::string last_event_id, HeaderList headers);
    // Subscription events (subscriptions = true): one private update per selector.
    std::vector<Update> subscription_events(const Subscription& subscription, bool active);
    // connection_limit_ from max_connections and the descriptor limit (logged when lowered).
    void apply_connection_limit();
    // The events themselves, one per selector, without side effects.
    std::vector<Update> subscription_updates(const Subscription& subscription, bool active);
    void reply(Connection& connection, const HttpRequest& request, int status, std::string_view content_type,
               std::string_view body, HeaderList headers = {});
    void reply_error(Connection& connection, const HttpRequest& request, int status, std::string_view reason,
                     HeaderList headers = {});
    HeaderList cors_headers(const HttpRequest& request) const;
    std::string client_address(const Connection& connection, const HttpRequest& request) const;

    // The outcome of checking a request's credentials against one verifier.
    struct Authentication {
        bool anonymous = true;
        bool refused = false;
        std::string reason;        // why refused (logged at debug level only)
        TokenSource source = TokenSource::None;
        RefusalReason refusal = RefusalReason::MissingToken;
        VerifiedTokenPtr token;    // set when a token verified
    };
    // Checks the request's token with `verifier`, through `cache` (a verified token is checked
    // once, then found by its text until it expires).
    Authentication authenticate(const HttpRequest& request, const FormPairs& query, const TokenVerifier* verifier,
                                TokenCache& cache);

    // How to answer the publisher of an update once it is stored.
    struct PublishAck {
        Connection* connection = nullptr;
        std::uint64_t serial = 0;          // guards against a reused Connection address
        Connection::ReplyContext reply;
        HeaderList headers;                // CORS headers of the request
        std::string remote;
    };
    // An update stored in history, waiting for the group commit before it is acknowledged and
    // delivered (history_sync = "batch" on a durable store).
    struct StoredUpdate {
        std::uint64_t sequence = 0;
        Update update;
        FramePtr frame;
        std::optional<PublishAck> ack;
    };
    // Stores the update; acknowledges and delivers it now, or after the next group commit.
    // An update that cannot be stored is refused (503 to its publisher) and never delivered.
    void publish(Update update, std::optional<PublishAck> ack);
    // Answers the publisher (first), then delivers to every live recipient.
    void deliver_stored(StoredUpdate& stored);
    // Cluster mode (hub_cluster.cpp): connects the Redis transport, loading the stream's tail
    // into the history; fails only when Redis is unreachable and start=fail.
    Status start_cluster();
    // Appends the update to the cluster stream; its publisher is answered when Redis has it.
    void cluster_publish(Update update, std::optional<PublishAck> ack);
    // An entry read from the stream: stored in the local history, then delivered.
    void cluster_deliver(Update update, const std::string& entry_id);
    // Keeps this node's presence in Redis in step with its subscriptions.
    void cluster_presence(const Subscription& subscription, bool active);
    // The group commit: makes the pending updates durable, then delivers them in order.
    static void on_commit(int, short, void* arg);
    void commit_pending();
    // Logs a retention failure the history could not return (full disk, I/O error).
    void report_history_error();
    static std::int64_t now_ms();
    // Writes history to a replaying stream while its socket takes it; switches it to live
    // delivery when it reaches the newest entry.
    void pump_replay(SubscriberStream& stream);
    // Where a subscriber's replay starts, from Last-Event-ID (header, then query parameters).
    struct ReplayStart {
        bool requested = false;                  // the request carried an id
        std::optional<std::uint64_t> after;      // replay entries after this sequence
        std::optional<std::string> known_id;     // the client's id, when the history holds it
    };
    ReplayStart replay_start(const HttpRequest& request, const FormPairs& query) const;
    void schedule_reap(Connection& connection);
    static void on_reap(int, short, void* arg);
    static void on_signal(int signal, short, void* arg);
    static void on_drain_timeout(int, short, void* arg);
    void finish_if_drained();

    struct ConnectionEntry {
        std::unique_ptr<Connection> connection;
        std::unique_ptr<SubscriberStream> stream;
        bool admin = false;  // accepted on metrics_addr
    };

    EventBasePtr base_;  // first member: destroyed last, after every event that uses it
    Config config_;
    Logger& logger_;
    ConnectionLimits limits_;
    std::shared_ptr<const TokenVerifier> publisher_verifier_;
    std::shared_ptr<const TokenVerifier> subscriber_verifier_;
    TokenCache publisher_tokens_;
    TokenCache subscriber_tokens_;
    SelectorCache selectors_;
    SubscriberRegistry registry_;
    std::unique_ptr<History> history_;
    std::unique_ptr<ClusterTransport> cluster_;  // set when transport_url is redis://
    HeartbeatSchedule heartbeats_;
    OutputBatch output_;  // before connections_: streams leave it when destroyed
    UuidGenerator uuids_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    AdminAcceptor admin_acceptor_{*this};
    std::vector<std::unique_ptr<Listener>> admin_listeners_;
    MetricsCounters metrics_;
    std::unordered_map<Connection*, ConnectionEntry> connections_;
    std::size_t admin_connections_ = 0;  // of connections_, accepted on metrics_addr
    std::size_t connection_limit_ = 0;   // max_connections within the descriptor limit
    std::vector<Connection*> doomed_;
    std::vector<Update> deferred_updates_;  // published by the reaper, outside any fan-out
    std::vector<StoredUpdate> pending_;     // stored, awaiting the group commit
    std::uint64_t delivered_sequence_ = 0;  // newest update delivered live: replays stop there
    std::uint64_t next_serial_ = 1;
    struct event commit_event_;
    std::vector<Subscriber*> recipients_;  // scratch for dispatch, reused
    FramePtr stream_opening_;              // the ":" comment every stream starts with
    bool stopping_ = false;
    bool departures_published_ = false;  // cluster: the stopping node's farewell is in the stream
    std::size_t cluster_in_flight_ = 0;  // cluster: appends awaiting Redis's answer
    bool store_failing_ = false;  // the last history write failed: not ready
    bool socket_activated_ = false;
    Reloader reloader_;
    SystemdNotifier notifier_;
    std::string reload_problem_;               // shown in STATUS= until a reload succeeds
    std::uint64_t updates_published_ = 0;
    std::uint64_t updates_at_last_status_ = 0;
    std::chrono::steady_clock::time_point last_status_{};
    struct event reaper_;
    struct event sighup_;
    struct event watchdog_timer_;
    struct event status_timer_;
    struct event drain_timer_;
    struct event sigint_;
    struct event sigterm_;
};

} // namespace mercure
