// Unit tests of batched fan-out output: staging, one write per turn, helper threads, bounds.
#include "unit.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/connection.hpp"
#include "sse/heartbeat_schedule.hpp"
#include "sse/output_batch.hpp"
#include "sse/subscriber_stream.hpp"
#include "util/libevent.hpp"

using namespace mercure;

namespace {

struct Owner final : ConnectionOwner {
    void on_request(Connection&, HttpRequest&) override {}
    void on_closed(Connection&, std::string_view reason) override { reasons.emplace_back(reason); }
    void on_drained(Connection&) override {}
    std::vector<std::string> reasons;
};

// One subscriber on a socketpair: the hub's end in a Connection, the client's end kept here.
struct Peer {
    int client = -1;
    std::unique_ptr<Connection> connection;
    std::unique_ptr<SubscriberStream> stream;
    ~Peer()
    {
        stream.reset();
        connection.reset();
        if (client >= 0)
            ::close(client);
    }
};

struct Fixture {
    explicit Fixture(unsigned threads, std::size_t max_queued = 4 << 20)
        : base(event_base_new()), heartbeats(base.get(), std::chrono::milliseconds(0)),
          batch(base.get(), heartbeats, threads)
    {
        limits.max_queued_bytes = max_queued;
        limits.read_timeout = std::chrono::milliseconds(0);
        limits.dispatch_timeout = std::chrono::milliseconds(0);
    }

    // HTTP/1.0: frames go out as bare events, which keeps the expected bytes simple.
    std::unique_ptr<Peer> subscribe(int client_buffer = 0)
    {
        int fds[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        fcntl(fds[1], F_SETFL, O_NONBLOCK);
        if (client_buffer > 0) {
            setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &client_buffer, sizeof client_buffer);
            setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &client_buffer, sizeof client_buffer);
        }
        auto peer = std::make_unique<Peer>();
        peer->client = fds[1];
        peer->connection = std::make_unique<Connection>(base.get(), fds[0], "test", owner, limits);
        HttpRequest request;
        request.method = "GET";
        request.minor_version = 0;
        peer->connection->begin_stream(request, {}, std::chrono::milliseconds(0));
        peer->stream = std::make_unique<SubscriberStream>(Subscription{}, *peer->connection, heartbeats, batch);
        read_all(*peer);  // the response head
        return peer;
    }

    static std::string read_all(Peer& peer)
    {
        std::string out;
        char buffer[65536];
        for (;;) {
            ssize_t n = recv(peer.client, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n <= 0)
                return out;
            out.append(buffer, static_cast<std::size_t>(n));
        }
    }

    // Runs one non-blocking loop turn: the batch's end-of-turn event fires.
    void turn() { event_base_loop(base.get(), EVLOOP_NONBLOCK); }

    EventBasePtr base;
    Owner owner;
    ConnectionLimits limits;
    HeartbeatSchedule heartbeats;
    OutputBatch batch;
};

FramePtr event(const std::string& data)
{
    return make_frame("data: " + data + "\n\n");
}

void test_staged_until_end_of_turn_then_one_stream(void**)
{
    Fixture f(1);
    auto a = f.subscribe();
    auto b = f.subscribe();
    for (const char* data : {"one", "two", "three"}) {
        FramePtr frame = event(data);
        a->stream->deliver(frame);
        b->stream->deliver(frame);
    }
    // Nothing is written while the turn's callbacks run.
    assert_string_equal(Fixture::read_all(*a).c_str(), "");
    assert_true(a->connection->queued_bytes() > 0);
    f.turn();
    const char* expected = "data: one\n\ndata: two\n\ndata: three\n\n";
    assert_string_equal(Fixture::read_all(*a).c_str(), expected);
    assert_string_equal(Fixture::read_all(*b).c_str(), expected);
    assert_int_equal(a->connection->queued_bytes(), 0);
    assert_true(f.owner.reasons.empty());
}

void test_direct_write_after_staged_keeps_order(void**)
{
    Fixture f(1);
    auto a = f.subscribe();
    a->stream->deliver(event("live"));
    a->stream->write(make_frame(":\n"));  // a heartbeat while the live update is staged
    f.turn();
    assert_string_equal(Fixture::read_all(*a).c_str(), "data: live\n\n:\n");
}

void test_helper_threads_write_large_batches(void**)
{
    Fixture f(2);
    assert_int_equal(f.batch.threads(), 2);
    std::vector<std::unique_ptr<Peer>> peers;
    for (int i = 0; i < 1500; ++i)
        peers.push_back(f.subscribe());
    for (const char* data : {"a", "b"}) {
        FramePtr frame = event(data);
        for (auto& peer : peers)
            peer->stream->deliver(frame);
    }
    f.turn();
    for (auto& peer : peers)
        assert_string_equal(Fixture::read_all(*peer).c_str(), "data: a\n\ndata: b\n\n");
    f.batch.set_threads(1);
    assert_int_equal(f.batch.threads(), 1);
}

void test_partial_write_resumes_when_writable(void**)
{
    Fixture f(1);
    auto a = f.subscribe(4096);
    std::string big(200000, 'x');
    a->stream->deliver(event(big));
    f.turn();
    std::string received;
    for (int i = 0; i < 1000 && received.size() < big.size() + 8; ++i) {
        received += Fixture::read_all(*a);
        f.turn();  // the write event takes over from the batch
    }
    assert_true(received == "data: " + big + "\n\n");
    assert_true(f.owner.reasons.empty());
}

void test_slow_client_is_closed_at_the_bound(void**)
{
    Fixture f(1, 64 << 10);
    auto slow = f.subscribe(4096);
    auto fast = f.subscribe();
    FramePtr frame = event(std::string(8 << 10, 'y'));
    for (int i = 0; i < 40 && !slow->connection->closed(); ++i) {
        slow->stream->deliver(frame);
        fast->stream->deliver(frame);
        f.turn();
        Fixture::read_all(*fast);
    }
    assert_true(slow->connection->closed());
    assert_false(fast->connection->closed());
    assert_int_equal(f.owner.reasons.size(), 1);
    assert_true(f.owner.reasons[0].find("slow client") == 0);
}

void test_stream_destroyed_while_staged(void**)
{
    Fixture f(1);
    auto a = f.subscribe();
    auto b = f.subscribe();
    a->stream->deliver(event("gone"));
    b->stream->deliver(event("kept"));
    a.reset();  // leaves the batch before the end of the turn (ASan would see a stale pointer)
    f.turn();
    assert_string_equal(Fixture::read_all(*b).c_str(), "data: kept\n\n");
}

} // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_staged_until_end_of_turn_then_one_stream),
        cmocka_unit_test(test_direct_write_after_staged_keeps_order),
        cmocka_unit_test(test_helper_threads_write_large_batches),
        cmocka_unit_test(test_partial_write_resumes_when_writable),
        cmocka_unit_test(test_slow_client_is_closed_at_the_bound),
        cmocka_unit_test(test_stream_destroyed_while_staged),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
