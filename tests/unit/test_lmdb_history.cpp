// Unit tests of the LMDB history: order, reopen, id lookup, retention, map growth, refusals.
#include "unit.hpp"

#include <lmdb.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "store/lmdb_history.hpp"
#include "util/lmdb.hpp"

using namespace mercure;

namespace {

// A fresh directory under TMPDIR (or /tmp), removed with its content at scope end.
struct TempDir {
    std::string root;
    std::string path;  // the store directory, not yet created

    TempDir()
    {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/mercure-lmdb-XXXXXX";
        char* made = mkdtemp(pattern.data());
        assert_non_null(made);
        root = made;
        path = root + "/history";
    }
    ~TempDir() { std::filesystem::remove_all(root); }
};

LmdbOptions options(const TempDir& dir, std::size_t max_entries = 1000)
{
    LmdbOptions o;
    o.path = dir.path;
    o.max_entries = max_entries;
    o.initial_map_size = std::size_t{1} << 20;
    o.max_map_size = std::size_t{256} << 20;
    return o;
}

std::unique_ptr<LmdbHistory> open_ok(const LmdbOptions& o)
{
    auto opened = LmdbHistory::open(o);
    if (!opened)
        fail_msg("open failed: %s", opened.error().message.c_str());
    return std::move(opened).value();
}

Update update(std::string id, std::string data = "x")
{
    Update u;
    u.topics = {"https://example.com/t"};
    u.id = std::move(id);
    u.data = std::move(data);
    return u;
}

std::uint64_t append(LmdbHistory& h, Update u, std::int64_t now_ms = 0)
{
    auto stored = h.append(std::move(u), nullptr, now_ms);
    if (!stored)
        fail_msg("append failed: %s", stored.error().message.c_str());
    return *stored;
}

std::string id_after(const LmdbHistory& h, std::uint64_t after)
{
    HistoryEntryPtr entry = h.next_after(after);
    return entry ? entry->update.id : "<none>";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

void expect_error(const LmdbOptions& o, std::initializer_list<std::string> parts)
{
    auto opened = LmdbHistory::open(o);
    assert_false(opened.ok());
    for (const std::string& part : parts)
        if (!contains(opened.error().message, part))
            fail_msg("error \"%s\" lacks \"%s\"", opened.error().message.c_str(), part.c_str());
}

void test_sequences_and_lookup(void**)
{
    TempDir dir;
    auto h = open_ok(options(dir, 10));
    assert_true(h->durable());
    assert_int_equal(h->size(), 0);
    assert_int_equal(h->horizon(), 0);
    assert_false(h->last_id().has_value());
    assert_null(h->next_after(0).get());
    assert_int_equal(append(*h, update("a")), 1);
    assert_int_equal(append(*h, update("b")), 2);
    assert_int_equal(*h->sequence_of("a"), 1);
    assert_int_equal(*h->sequence_of("b"), 2);
    assert_false(h->sequence_of("c").has_value());
    assert_string_equal(h->last_id()->c_str(), "b");
    assert_string_equal(id_after(*h, 0).c_str(), "a");
    assert_string_equal(id_after(*h, 1).c_str(), "b");
    assert_null(h->next_after(2).get());
    assert_null(h->next_after(UINT64_MAX).get());
    assert_int_equal(h->horizon(), 0);
    struct stat st {};
    assert_int_equal(stat(dir.path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

void test_sequences_continue_across_reopen(void**)
{
    TempDir dir;
    {
        auto h = open_ok(options(dir));
        for (int i = 1; i <= 3; ++i)
            append(*h, update("u" + std::to_string(i)));
    }
    auto h = open_ok(options(dir));
    assert_int_equal(h->size(), 3);
    assert_int_equal(h->horizon(), 0);
    assert_string_equal(h->last_id()->c_str(), "u3");
    assert_int_equal(append(*h, update("u4")), 4);
    std::uint64_t cursor = 0;
    for (int i = 1; i <= 4; ++i) {
        HistoryEntryPtr entry = h->next_after(cursor);
        assert_non_null(entry.get());
        assert_int_equal(entry->sequence, i);
        assert_string_equal(entry->update.id.c_str(), ("u" + std::to_string(i)).c_str());
        cursor = entry->sequence;
    }
    assert_null(h->next_after(cursor).get());
}

void test_sequences_continue_after_emptying(void**)
{
    TempDir dir;
    {
        auto h = open_ok(options(dir, 5));
        for (int i = 0; i < 7; ++i)
            append(*h, update("u" + std::to_string(i)));
        h->set_limits(0, 0);  // drops everything
        assert_int_equal(h->size(), 0);
        assert_int_equal(h->horizon(), 7);
    }
    auto h = open_ok(options(dir, 5));
    assert_int_equal(h->size(), 0);
    assert_int_equal(h->horizon(), 7);
    assert_false(h->sequence_of("u6").has_value());
    assert_int_equal(append(*h, update("next")), 8);
    assert_string_equal(id_after(*h, 0).c_str(), "next");
}

void test_zero_size_keeps_nothing(void**)
{
    TempDir dir;
    {
        auto h = open_ok(options(dir, 0));
        assert_int_equal(append(*h, update("a")), 1);
        assert_int_equal(append(*h, update("b")), 2);
        assert_int_equal(h->size(), 0);
        assert_false(h->sequence_of("b").has_value());
        assert_false(h->last_id().has_value());
        assert_int_equal(h->horizon(), 2);
        assert_null(h->next_after(0).get());
    }
    auto h = open_ok(options(dir, 0));
    assert_int_equal(h->horizon(), 2);
    assert_int_equal(append(*h, update("c")), 3);
}

void test_reused_ids(void**)
{
    TempDir dir;
    {
        auto h = open_ok(options(dir, 3));
        append(*h, update("same"));
        append(*h, update("same"));
        assert_int_equal(*h->sequence_of("same"), 2);
        append(*h, update("x"));
        append(*h, update("y"));  // evicts the first "same": the index keeps the newest
        assert_int_equal(*h->sequence_of("same"), 2);
        append(*h, update("z"));  // evicts the second: gone
        assert_false(h->sequence_of("same").has_value());
        append(*h, update("x"));  // reused: the evicted first "x" must not take the mapping
        assert_int_equal(*h->sequence_of("x"), 6);
        append(*h, update("w"));
        append(*h, update("v"));
        assert_int_equal(*h->sequence_of("x"), 6);
    }
    auto h = open_ok(options(dir, 3));
    assert_int_equal(*h->sequence_of("x"), 6);
    assert_int_equal(*h->sequence_of("v"), 8);
    assert_false(h->sequence_of("y").has_value());
}

void test_unusual_ids(void**)
{
    TempDir dir;
    std::string long_id(2000, 'L');
    std::string long_id2 = long_id + "2";
    std::string nul_id("\0abc", 4);
    {
        auto h = open_ok(options(dir, 10));
        append(*h, update(long_id));
        append(*h, update(long_id2));
        append(*h, update(""));
        append(*h, update(nul_id));
        append(*h, update("é✓"));
    }
    auto h = open_ok(options(dir, 10));
    assert_int_equal(*h->sequence_of(long_id), 1);
    assert_int_equal(*h->sequence_of(long_id2), 2);
    assert_int_equal(*h->sequence_of(""), 3);
    assert_int_equal(*h->sequence_of(nul_id), 4);
    assert_int_equal(*h->sequence_of("é✓"), 5);
    assert_false(h->sequence_of(std::string(2000, 'M')).has_value());
    assert_true(h->next_after(0)->update.id == long_id);
    h->set_limits(2, 0);
    assert_false(h->sequence_of(long_id).has_value());
    assert_false(h->sequence_of(nul_id.substr(0, 1)).has_value());
    assert_int_equal(*h->sequence_of(nul_id), 4);
}

void test_count_retention(void**)
{
    TempDir dir;
    auto h = open_ok(options(dir, 3));
    for (int i = 1; i <= 5; ++i)
        append(*h, update("u" + std::to_string(i)));
    assert_int_equal(h->size(), 3);
    assert_false(h->sequence_of("u2").has_value());
    assert_int_equal(*h->sequence_of("u3"), 3);
    assert_int_equal(h->horizon(), 2);
    assert_string_equal(id_after(*h, 0).c_str(), "u3");  // below the horizon: oldest kept
    assert_string_equal(id_after(*h, 4).c_str(), "u5");
}

void test_age_retention(void**)
{
    TempDir dir;
    LmdbOptions o = options(dir, 100);
    o.max_age_ms = 1000;
    {
        auto h = open_ok(o);
        append(*h, update("old"), 0);
        append(*h, update("new"), 900);
        h->expire(999);  // nothing old enough: no write
        assert_int_equal(h->size(), 2);
        h->expire(1500);
        assert_int_equal(h->size(), 1);
        assert_false(h->sequence_of("old").has_value());
        assert_int_equal(h->horizon(), 1);
    }
    auto h = open_ok(o);
    assert_int_equal(h->size(), 1);
    h->expire(1800);
    assert_int_equal(h->size(), 1);
    h->expire(5000);
    assert_int_equal(h->size(), 0);
    assert_false(h->last_id().has_value());
    assert_null(h->next_after(0).get());
    assert_int_equal(h->horizon(), 2);
    assert_false(h->take_error().has_value());
}

void test_age_retention_in_batches(void**)
{
    TempDir dir;
    LmdbOptions o = options(dir, 100000);
    o.max_age_ms = 10;
    auto h = open_ok(o);
    for (int i = 0; i < 10000; ++i)
        append(*h, update("u" + std::to_string(i)), i < 9000 ? 0 : 100);
    h->expire(50);
    assert_int_equal(h->size(), 1000);
    assert_int_equal(h->horizon(), 9000);
    assert_string_equal(id_after(*h, 0).c_str(), "u9000");
    assert_false(h->sequence_of("u8999").has_value());
}

void test_size_retention(void**)
{
    TempDir dir;
    LmdbOptions o = options(dir, 1000000);
    o.max_bytes = 256 * 1024;
    std::string data(1000, 'd');
    auto h = open_ok(o);
    for (int i = 0; i < 2000; ++i)
        append(*h, update("u" + std::to_string(i), data));
    assert_true(h->size() < 2000);
    assert_true(h->size() > 100);
    assert_true(h->bytes_used() <= o.max_bytes);
    assert_string_equal(h->last_id()->c_str(), "u1999");
    assert_int_equal(h->horizon(), 2000 - h->size());
    // Entries stay contiguous and readable from the horizon on.
    std::uint64_t cursor = 0;
    std::size_t walked = 0;
    while (HistoryEntryPtr entry = h->next_after(cursor)) {
        assert_int_equal(entry->sequence, cursor == 0 ? h->horizon() + 1 : cursor + 1);
        cursor = entry->sequence;
        ++walked;
    }
    assert_int_equal(walked, h->size());
    // Lowering the limit drops at once; raising it keeps what is left.
    h->set_max_bytes(64 * 1024);
    assert_true(h->bytes_used() <= 64 * 1024);
    assert_true(h->size() >= 1);
    std::size_t kept = h->size();
    h->set_max_bytes(0);
    assert_int_equal(h->size(), kept);
    assert_true(h->bytes_on_disk() >= h->bytes_used());
}

void test_shrinking_limits(void**)
{
    TempDir dir;
    auto h = open_ok(options(dir, 10));
    for (int i = 0; i < 10; ++i)
        append(*h, update(std::to_string(i)));
    h->set_limits(4, 0);
    assert_int_equal(h->size(), 4);
    assert_string_equal(id_after(*h, 0).c_str(), "6");
    h.reset();
    h = open_ok(options(dir, 2));  // a smaller limit applies at open
    assert_int_equal(h->size(), 2);
    assert_string_equal(id_after(*h, 0).c_str(), "8");
}

// Every field of these updates must come back byte for byte, as must their SSE frames.
std::vector<Update> varied_updates()
{
    std::vector<Update> all;
    Update a = update("urn:uuid:1", "line one\nline two\r\nline three\rline four\n");
    a.topics = {"https://example.com/books/1", "https://example.com/books/{id}", "urn:x"};
    a.type = "message";
    a.retry = 1500;
    a.is_private = true;
    all.push_back(a);
    Update b = update("ünïcødé ✓ 🚀", "données: 日本語 \xF0\x9F\x98\x80");
    all.push_back(b);
    Update c = update("empty", "");
    c.retry = 0;
    all.push_back(c);
    Update d = update("binary", std::string("nul\0inside", 10));
    d.topics = {};
    all.push_back(d);
    Update e = update("big", std::string(100000, 'B'));
    all.push_back(e);
    return all;
}

void expect_same(const Update& want, const HistoryEntry& got)
{
    assert_true(got.update.topics == want.topics);
    assert_true(got.update.id == want.id);
    assert_true(got.update.type == want.type);
    assert_true(got.update.data == want.data);
    assert_true(got.update.retry == want.retry);
    assert_true(got.update.is_private == want.is_private);
    assert_non_null(got.frame.get());
    assert_true(got.frame->bytes == make_frame(encode_sse_event(want))->bytes);
}

void test_reopen_keeps_data(void**)
{
    TempDir dir;
    std::vector<Update> all = varied_updates();
    for (std::size_t cache : {std::size_t{0}, std::size_t{256}}) {
        LmdbOptions o = options(dir);
        o.cache_entries = cache;
        auto h = open_ok(o);
        std::uint64_t base = h->size();
        for (std::size_t i = 0; i < all.size(); ++i) {
            FramePtr frame = make_frame(encode_sse_event(all[i]));
            assert_true(h->append(all[i], frame, 1000 + static_cast<std::int64_t>(i)).ok());
            HistoryEntryPtr live = h->next_after(base + i);
            expect_same(all[i], *live);
            if (cache > 0)
                assert_ptr_equal(live->frame.get(), frame.get());  // the shared bytes, not a copy
        }
    }
    auto h = open_ok(options(dir));
    assert_int_equal(h->size(), 2 * all.size());
    for (std::size_t i = 0; i < 2 * all.size(); ++i) {
        HistoryEntryPtr entry = h->next_after(i);
        assert_non_null(entry.get());
        assert_int_equal(entry->sequence, i + 1);
        assert_int_equal(entry->published_at_ms, 1000 + static_cast<std::int64_t>(i % all.size()));
        expect_same(all[i % all.size()], *entry);
    }
}

void test_horizon_after_eviction(void**)
{
    TempDir dir;
    LmdbOptions o = options(dir, 5);
    o.cache_entries = 2;  // the walk crosses from disk to cache
    auto h = open_ok(o);
    for (int i = 1; i <= 12; ++i)
        append(*h, update("u" + std::to_string(i)));
    assert_int_equal(h->horizon(), 7);
    assert_string_equal(id_after(*h, 0).c_str(), "u8");
    assert_string_equal(id_after(*h, 3).c_str(), "u8");
    assert_string_equal(id_after(*h, 7).c_str(), "u8");
    assert_string_equal(id_after(*h, 9).c_str(), "u10");
    assert_string_equal(id_after(*h, 11).c_str(), "u12");
    assert_null(h->next_after(12).get());
    assert_null(h->next_after(100).get());
}

void test_map_growth(void**)
{
    TempDir dir;
    LmdbOptions o = options(dir, 100000);
    o.initial_map_size = std::size_t{1} << 20;
    o.max_map_size = std::size_t{64} << 20;
    std::string data(2000, 'g');
    {
        auto h = open_ok(o);
        for (int i = 0; i < 3000; ++i)  // about 6 MB
            append(*h, update("g" + std::to_string(i), data));
        assert_true(h->map_size() >= (std::size_t{8} << 20));
        assert_true(h->map_size() <= o.max_map_size);
        assert_int_equal(h->size(), 3000);
        assert_true(h->bytes_on_disk() > (std::size_t{6} << 20));
    }
    auto h = open_ok(o);
    assert_int_equal(h->size(), 3000);
    assert_true(h->next_after(1499)->update.data == data);
    assert_int_equal(*h->sequence_of("g2999"), 3000);
    assert_int_equal(append(*h, update("more", data)), 3001);
}

void test_full_map_drops_oldest(void**)
{
    TempDir dir;
    LmdbOptions o = options(dir, 100000);
    o.initial_map_size = std::size_t{1} << 20;
    o.max_map_size = std::size_t{1} << 20;
    std::string data(1000, 'f');
    auto h = open_ok(o);
    for (int i = 1; i <= 3000; ++i)  // 3 MB through a 1 MiB map
        assert_int_equal(append(*h, update("f" + std::to_string(i), data)), i);
    assert_true(h->size() < 1000);
    assert_true(h->size() > 100);
    assert_int_equal(h->horizon(), 3000 - h->size());
    assert_int_equal(*h->sequence_of("f3000"), 3000);
    // Large updates into the full map: room is made for each.
    for (int i = 1; i <= 8; ++i) {
        std::uint64_t sequence = append(*h, update("large" + std::to_string(i), std::string(200000, 'l')));
        assert_int_equal(*h->sequence_of("large" + std::to_string(i)), sequence);
        assert_true(h->next_after(sequence - 1)->update.data.size() == 200000);
    }
    assert_true(h->size() >= 2);
    auto big = h->append(update("huge", std::string(400000, 'h')), nullptr, 0);
    assert_false(big.ok());
    assert_true(contains(big.error().message, "too large"));
    assert_true(contains(big.error().message, dir.path));
}

void test_newer_format_refused(void**)
{
    TempDir dir;
    open_ok(options(dir)).reset();
    {
        lmdb::Env env;
        assert_int_equal(lmdb::env_create(env), MDB_SUCCESS);
        mdb_env_set_maxdbs(env.get(), 3);
        assert_int_equal(mdb_env_open(env.get(), dir.path.c_str(), 0, 0600), MDB_SUCCESS);
        lmdb::Txn txn;
        assert_int_equal(lmdb::txn_begin(env.get(), 0, txn), MDB_SUCCESS);
        MDB_dbi meta;
        assert_int_equal(mdb_dbi_open(txn.get(), "meta", 0, &meta), MDB_SUCCESS);
        unsigned char version[4] = {0, 0, 0, 2};
        MDB_val key = lmdb::val("format_version"), value{sizeof version, version};
        assert_int_equal(mdb_put(txn.get(), meta, &key, &value, 0), MDB_SUCCESS);
        assert_int_equal(lmdb::commit(txn), MDB_SUCCESS);
    }
    expect_error(options(dir), {dir.path, "format version 2", "newer", "move it aside"});
}

void test_unusable_paths(void**)
{
    TempDir dir;
    {
        std::ofstream file(dir.path);  // a file where the directory should be
        file << "not a directory";
    }
    expect_error(options(dir), {dir.path, "not a directory", "move it aside"});
    std::filesystem::remove(dir.path);

    std::filesystem::create_directory(dir.path);
    {
        std::ofstream garbage(dir.path + "/data.mdb", std::ios::binary);
        for (int i = 0; i < 4096; ++i)
            garbage << static_cast<char>('A' + i % 26);
    }
    expect_error(options(dir), {dir.path, "corrupt", "move it aside"});
    assert_true(std::filesystem::file_size(dir.path + "/data.mdb") == 4096);  // never wiped

    std::filesystem::remove_all(dir.path);
    std::filesystem::create_directory(dir.path);
    {
        // Another program's LMDB environment: refused, not adopted.
        lmdb::Env env;
        assert_int_equal(lmdb::env_create(env), MDB_SUCCESS);
        assert_int_equal(mdb_env_open(env.get(), dir.path.c_str(), 0, 0600), MDB_SUCCESS);
        lmdb::Txn txn;
        assert_int_equal(lmdb::txn_begin(env.get(), 0, txn), MDB_SUCCESS);
        MDB_dbi main;
        assert_int_equal(mdb_dbi_open(txn.get(), nullptr, 0, &main), MDB_SUCCESS);
        for (const char* name : {"alpha", "beta", "gamma", "delta"}) {
            MDB_val key = lmdb::val(name), value = lmdb::val("v");
            assert_int_equal(mdb_put(txn.get(), main, &key, &value, 0), MDB_SUCCESS);
        }
        assert_int_equal(lmdb::commit(txn), MDB_SUCCESS);
    }
    expect_error(options(dir), {dir.path, "another program", "move it aside"});

    LmdbOptions missing_parent = options(dir);
    missing_parent.path = dir.root + "/no/such/dir";
    expect_error(missing_parent, {missing_parent.path});
    missing_parent.path = "";
    expect_error(missing_parent, {"empty"});
}

void test_second_open_refused(void**)
{
    TempDir dir;
    auto h = open_ok(options(dir));
    append(*h, update("a"));
    expect_error(options(dir), {dir.path, "already open"});
    assert_int_equal(*h->sequence_of("a"), 1);  // the first handle is untouched
    h.reset();
    open_ok(options(dir));
}

void test_sync_modes(void**)
{
    for (LmdbOptions::Sync sync : {LmdbOptions::Sync::Always, LmdbOptions::Sync::Batch, LmdbOptions::Sync::None}) {
        TempDir dir;
        LmdbOptions o = options(dir);
        o.sync = sync;
        {
            auto h = open_ok(o);
            assert_true(h->flush().ok());  // nothing appended: nothing to do
            for (int i = 0; i < 20; ++i) {
                append(*h, update("s" + std::to_string(i)));
                if (i % 5 == 4)
                    assert_true(h->flush().ok());
            }
            assert_true(h->flush().ok());
            assert_true(h->flush().ok());
        }
        auto h = open_ok(o);
        assert_int_equal(h->size(), 20);
        assert_int_equal(*h->sequence_of("s19"), 20);
    }
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequences_and_lookup),
        cmocka_unit_test(test_sequences_continue_across_reopen),
        cmocka_unit_test(test_sequences_continue_after_emptying),
        cmocka_unit_test(test_zero_size_keeps_nothing),
        cmocka_unit_test(test_reused_ids),
        cmocka_unit_test(test_unusual_ids),
        cmocka_unit_test(test_count_retention),
        cmocka_unit_test(test_age_retention),
        cmocka_unit_test(test_age_retention_in_batches),
        cmocka_unit_test(test_size_retention),
        cmocka_unit_test(test_shrinking_limits),
        cmocka_unit_test(test_reopen_keeps_data),
        cmocka_unit_test(test_horizon_after_eviction),
        cmocka_unit_test(test_map_growth),
        cmocka_unit_test(test_full_map_drops_oldest),
        cmocka_unit_test(test_newer_format_refused),
        cmocka_unit_test(test_unusable_paths),
        cmocka_unit_test(test_second_open_refused),
        cmocka_unit_test(test_sync_modes),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
