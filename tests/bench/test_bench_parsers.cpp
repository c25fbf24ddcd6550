// Unit tests of mercure-bench's pure parts: SSE stream decoding, histogram, /proc parsing, wire.
#include "tests/unit/unit.hpp"

#include <cstdio>
#include <cstring>

#include "tools/bench_histogram.hpp"
#include "tools/bench_proc.hpp"
#include "tools/bench_sse.hpp"
#include "tools/bench_wire.hpp"

using namespace bench;

namespace {

// Collects what the decoder reports.
struct Recorder {
    int opens = 0;
    std::vector<std::string> events;
    void on_open() { ++opens; }
    void on_event(std::string_view data) { events.emplace_back(data); }
};

// One HTTP chunk holding `payload`.
std::string chunk(const std::string& payload)
{
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", payload.size());
    return size + payload + "\r\n";
}

const std::string hub_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string nchan_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\r\n";

// Feeds `bytes` in pieces of `step` bytes; returns the last status.
SseStream::Status feed_in_steps(SseStream& stream, const std::string& bytes, std::size_t step, Recorder& sink)
{
    SseStream::Status status = SseStream::Status::ok;
    for (std::size_t at = 0; at < bytes.size() && status == SseStream::Status::ok; at += step)
        status = stream.feed(bytes.data() + at, std::min(step, bytes.size() - at), sink);
    return status;
}

void test_chunked_stream_in_every_split(void**)
{
    const std::string body = chunk(":\n") + chunk("id: urn:uuid:1\ndata: b.7.0.123\nretry: 5\n\n")
        + chunk("id: x\ndata: b.7.1.456.xxxx\n\n");
    for (std::size_t step = 1; step <= 9; ++step) {
        SseStream stream;
        Recorder sink;
        assert_int_equal(static_cast<int>(feed_in_steps(stream, hub_head + body, step, sink)),
                         static_cast<int>(SseStream::Status::ok));
        assert_int_equal(sink.opens, 1);
        assert_int_equal(sink.events.size(), 2);
        assert_string_equal(sink.events[0].c_str(), "b.7.0.123");
        assert_string_equal(sink.events[1].c_str(), "b.7.1.456.xxxx");
    }
}

void test_raw_stream_with_comment_and_crlf(void**)
{
    SseStream stream;
    Recorder sink;
    const std::string bytes = nchan_head + ": hi\n\nid: 1:0\r\ndata:b.1.2.3\r\n\r\n";
    assert_int_equal(static_cast<int>(feed_in_steps(stream, bytes, 3, sink)), static_cast<int>(SseStream::Status::ok));
    assert_true(stream.open());
    assert_int_equal(sink.events.size(), 1);
    assert_string_equal(sink.events[0].c_str(), "b.1.2.3");
}

void test_long_data_is_truncated(void**)
{
    SseStream stream;
    Recorder sink;
    const std::string data(500, 'y');
    const std::string bytes = nchan_head + "data: " + data + "\n\n";
    stream.feed(bytes.data(), bytes.size(), sink);
    assert_int_equal(sink.events.size(), 1);
    assert_int_equal(sink.events[0].size(), SseStream::data_capacity);
}

void test_refusal_and_bad_chunking_fail(void**)
{
    {
        SseStream stream;
        Recorder sink;
        const std::string bytes = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
        assert_int_equal(static_cast<int>(stream.feed(bytes.data(), bytes.size(), sink)),
                         static_cast<int>(SseStream::Status::failed));
        assert_non_null(std::strstr(stream.error().c_str(), "401"));
        assert_int_equal(sink.opens, 0);
    }
    {
        SseStream stream;
        Recorder sink;
        const std::string bytes = hub_head + "zz\r\n";
        assert_int_equal(static_cast<int>(stream.feed(bytes.data(), bytes.size(), sink)),
                         static_cast<int>(SseStream::Status::failed));
    }
    {
        SseStream stream;
        Recorder sink;
        const std::string bytes = hub_head + "0\r\n\r\n";
        assert_int_equal(static_cast<int>(stream.feed(bytes.data(), bytes.size(), sink)),
                         static_cast<int>(SseStream::Status::ended));
    }
}

void test_histogram_quantiles_and_merge(void**)
{
    LatencyHistogram a;
    LatencyHistogram b;
    for (int i = 1; i <= 100; ++i)
        a.record(std::int64_t{i} * 1000000); // 1..100 ms
    b.record(5000000000); // 5 s
    a.merge(b);
    assert_int_equal(a.count(), 101);
    assert_int_equal(a.max_ns(), 5000000000);
    assert_int_equal(a.min_ns(), 1000000);
    const double p50 = static_cast<double>(a.quantile_ns(0.5)) / 1e6;
    assert_true(p50 > 49 && p50 < 52);
    assert_int_equal(a.quantile_ns(1.0), 5000000000);
    // Every bucket's bounds contain the values mapped to it.
    for (std::uint64_t us : {0ull, 1ull, 1023ull, 1024ull, 1500ull, 65535ull, 1000000ull, 123456789ull}) {
        const int bucket = LatencyHistogram::bucket_of(us);
        assert_true(LatencyHistogram::bucket_low(bucket) <= us);
        assert_true(us < LatencyHistogram::bucket_high(bucket));
    }
}

void test_stats_survive_the_wire(void**)
{
    WorkerStats stats;
    stats.received = 42;
    stats.disconnects = 1;
    stats.open = 7;
    stats.first_error = "the server closed the stream";
    stats.all.record(2500000);
    stats.rounds.resize(3);
    stats.rounds[2].record(777000);
    WorkerStats copy;
    assert_true(copy.deserialize(stats.serialize()));
    assert_int_equal(copy.received, 42);
    assert_int_equal(copy.open, 7);
    assert_string_equal(copy.first_error.c_str(), "the server closed the stream");
    assert_int_equal(copy.rounds.size(), 3);
    assert_int_equal(copy.rounds[2].max_ns(), 777000);
    assert_int_equal(copy.all.quantile_ns(0.5), stats.all.quantile_ns(0.5));
    const std::string truncated = stats.serialize().substr(0, 20);
    assert_false(copy.deserialize(truncated));
}

void test_stat_cpu_ticks(void**)
{
    const std::string stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 1 1 1";
    assert_int_equal(parse_stat_cpu_ticks(stat), 325);
    assert_int_equal(parse_stat_cpu_ticks("garbage"), -1);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_stream_in_every_split),
        cmocka_unit_test(test_raw_stream_with_comment_and_crlf),
        cmocka_unit_test(test_long_data_is_truncated),
        cmocka_unit_test(test_refusal_and_bad_chunking_fail),
        cmocka_unit_test(test_histogram_quantiles_and_merge),
        cmocka_unit_test(test_stats_survive_the_wire),
        cmocka_unit_test(test_stat_cpu_ticks),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
