// Unit tests of the cluster transport's pure parts: redis:// URLs and stream entry encoding.
#include "unit.hpp"

#include "cluster/cluster_settings.hpp"
#include "cluster/stream_entry.hpp"

using namespace mercure;

namespace {

void test_url_defaults(void**)
{
    auto s = parse_cluster_url("redis://");
    assert_true(s.ok());
    assert_string_equal(s->host.c_str(), "127.0.0.1");
    assert_int_equal(s->port, 6379);
    assert_int_equal(s->db, 0);
    assert_string_equal(s->stream.c_str(), "mercure");
    assert_false(s->fail_fast);
    assert_int_equal(s->stream_max_len(1000), 10000);
    assert_int_equal(s->stream_max_len(50000), 50000);
    assert_int_equal(s->presence_ttl.count(), 15000);
}

void test_url_every_part(void**)
{
    auto s = parse_cluster_url("redis://bob:p%40ss@redis.example.com:6380/3?stream=hub%3Aupdates&max_len=500&"
                               "start=fail&presence_ttl=30&block_ms=200&timeout_ms=1500");
    assert_true(s.ok());
    assert_string_equal(s->user.c_str(), "bob");
    assert_string_equal(s->password.c_str(), "p@ss");
    assert_string_equal(s->host.c_str(), "redis.example.com");
    assert_int_equal(s->port, 6380);
    assert_int_equal(s->db, 3);
    assert_string_equal(s->stream.c_str(), "hub:updates");
    assert_int_equal(s->stream_max_len(1000), 500);
    assert_true(s->fail_fast);
    assert_int_equal(s->presence_ttl.count(), 30000);
    assert_int_equal(s->block.count(), 200);
    assert_int_equal(s->timeout.count(), 1500);
}

void test_url_password_only_and_ipv6(void**)
{
    auto s = parse_cluster_url("redis://:secret@[::1]:7000");
    assert_true(s.ok());
    assert_string_equal(s->user.c_str(), "");
    assert_string_equal(s->password.c_str(), "secret");
    assert_string_equal(s->host.c_str(), "::1");
    assert_int_equal(s->port, 7000);
    auto lone = parse_cluster_url("redis://secret@localhost");
    assert_true(lone.ok());
    assert_string_equal(lone->password.c_str(), "secret");
    assert_string_equal(lone->host.c_str(), "localhost");
}

void test_url_refusals(void**)
{
    for (const char* bad : {"http://x", "redis://host:0", "redis://host:99999", "redis://host:", "redis://host/x",
                            "redis://host?stream=", "redis://host?max_len=0", "redis://host?start=maybe",
                            "redis://host?presence_ttl=1", "redis://host?colour=blue", "redis://[::1",
                            "redis://ho st", "redis://a:%zz@host"}) {
        auto s = parse_cluster_url(bad);
        if (s.ok())
            fail_msg("accepted %s", bad);
        assert_false(s.error().message.empty());
    }
    assert_true(is_cluster_url("redis://x"));
    assert_false(is_cluster_url("bolt://x"));
}

void test_update_round_trip(void**)
{
    Update u;
    u.topics = {"https://example.com/a", "https://example.com/b"};
    u.id = "urn:uuid:1";
    u.type = "kind";
    u.data = std::string("a\nb\0c", 5);
    u.retry = 1500;
    u.is_private = true;
    auto fields = encode_update_fields(u);
    std::vector<std::string_view> views(fields.begin(), fields.end());
    auto back = decode_update_fields(views);
    assert_true(back.ok());
    assert_true(back->topics == u.topics);
    assert_string_equal(back->id.c_str(), "urn:uuid:1");
    assert_string_equal(back->type.c_str(), "kind");
    assert_true(back->data == u.data);
    assert_int_equal(*back->retry, 1500);
    assert_true(back->is_private);

    Update plain;
    plain.topics = {"t"};
    plain.id = "x";
    auto plain_fields = encode_update_fields(plain);
    assert_int_equal(plain_fields.size(), 6);  // i, t, d: nothing optional
    std::vector<std::string_view> plain_views(plain_fields.begin(), plain_fields.end());
    auto plain_back = decode_update_fields(plain_views);
    assert_true(plain_back.ok());
    assert_false(plain_back->retry.has_value());
    assert_false(plain_back->is_private);
    assert_true(plain_back->data.empty());
}

void test_update_refusals(void**)
{
    assert_false(decode_update_fields({"i", "x"}).ok());               // no topic
    assert_false(decode_update_fields({"t", "x"}).ok());               // no id
    assert_false(decode_update_fields({"i", "x", "t"}).ok());          // odd
    assert_false(decode_update_fields({"i", "x", "t", "y", "r", "1a"}).ok());
    assert_true(decode_update_fields({"i", "x", "t", "y", "future", "z"}).ok());  // unknown fields ignored
}

void test_presence_round_trip(void**)
{
    PresenceRecord r{"urn:uuid:s", "{\"a\":1}", {"https://example.com/{id}", std::string("x:\n1\0", 5)}};
    auto back = decode_presence(encode_presence(r));
    assert_true(back.ok());
    assert_string_equal(back->id.c_str(), "urn:uuid:s");
    assert_string_equal(back->payload_json.c_str(), "{\"a\":1}");
    assert_true(back->topics == r.topics);
    PresenceRecord empty{"id", "", {}};
    assert_true(decode_presence(encode_presence(empty)).ok());
    assert_false(decode_presence("p1").ok());
    assert_false(decode_presence("p15:ab").ok());
    assert_false(decode_presence("x13:abc").ok());
}

void test_farewell_round_trip(void**)
{
    Update a;
    a.id = "urn:uuid:1";
    a.topics = {"/.well-known/mercure/subscriptions/t/s"};
    a.data = std::string("{\"active\":false}\n:\0", 19);
    a.is_private = true;
    Update b = a;
    b.id = "urn:uuid:2";
    b.type = "kind";
    b.retry = 1500;
    auto back = decode_farewell(encode_farewell({a, b}));
    assert_true(back.ok());
    assert_int_equal(back->size(), 2);
    assert_true((*back)[0].data == a.data);
    assert_true((*back)[0].topics == a.topics);
    assert_true((*back)[0].is_private);
    assert_string_equal((*back)[1].id.c_str(), "urn:uuid:2");
    assert_string_equal((*back)[1].type.c_str(), "kind");
    assert_int_equal(*(*back)[1].retry, 1500);
    // The exact layout the Redis reaper splits: "f1", then "<length>:<bytes>" per event whose
    // bytes are "<length>:<bytes>" per stream field.
    Update c;
    c.id = "x";
    c.topics = {"t"};
    c.data = "d";
    assert_string_equal(encode_farewell({c}).c_str(), "f118:1:i1:x1:t1:t1:d1:d");
    auto empty = decode_farewell(encode_farewell({}));
    assert_true(empty.ok());
    assert_true(empty->empty());
    assert_false(decode_farewell("p1").ok());
    assert_false(decode_farewell("f19:1:i").ok());
    assert_false(decode_farewell("f14:1:i1").ok());  // an entry whose field is truncated
    assert_false(decode_farewell("f14:1:ix").ok());  // an entry without topic
}

void test_stream_ids(void**)
{
    assert_true(stream_id_after("1700000000001-0", "1700000000000-5"));
    assert_true(stream_id_after("5-10", "5-9"));
    assert_false(stream_id_after("5-9", "5-10"));
    assert_false(stream_id_after("5-9", "5-9"));
    assert_true(stream_id_after("1-0", "0-0"));
    assert_int_equal(stream_id_ms("1700000000001-7"), 1700000000001LL);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_defaults),
        cmocka_unit_test(test_url_every_part),
        cmocka_unit_test(test_url_password_only_and_ipv6),
        cmocka_unit_test(test_url_refusals),
        cmocka_unit_test(test_update_round_trip),
        cmocka_unit_test(test_update_refusals),
        cmocka_unit_test(test_presence_round_trip),
        cmocka_unit_test(test_farewell_round_trip),
        cmocka_unit_test(test_stream_ids),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
