// Unit tests of the durable history's record encoding: round trips, heads, malformed records.
#include "unit.hpp"

#include "store/history_record.hpp"

using namespace mercure;

namespace {

Update sample()
{
    Update update;
    update.id = "urn:uuid:0f6a";
    update.type = "message";
    update.topics = {"https://example.com/books/1", "https://example.com/books/{id}"};
    update.data = std::string("line 1\nline 2\0binary", 20);
    update.is_private = true;
    update.retry = 1500;
    return update;
}

void test_round_trip(void**)
{
    Update in = sample();
    std::string record;
    encode_record(in, 1700000000123, record);
    assert_int_equal(record.size(), record_size(in));
    Update out;
    std::int64_t published = 0;
    assert_true(decode_record(record, out, published));
    assert_true(published == 1700000000123);
    assert_true(out.id == in.id && out.type == in.type && out.topics == in.topics && out.data == in.data);
    assert_true(out.is_private);
    assert_true(out.retry == std::optional<std::uint64_t>(1500));
}

void test_optional_fields_absent(void**)
{
    Update in;
    in.id = "a";
    in.topics = {"t"};
    std::string record;
    encode_record(in, -5, record);
    Update out;
    std::int64_t published = 0;
    assert_true(decode_record(record, out, published));
    assert_true(published == -5);
    assert_false(out.is_private);
    assert_false(out.retry.has_value());
    assert_true(out.type.empty() && out.data.empty());
}

void test_head_reads_id_and_time_only(void**)
{
    std::string record;
    encode_record(sample(), 42, record);
    RecordHead head;
    assert_true(decode_head(record, head));
    assert_true(head.published_at_ms == 42);
    assert_true(head.id == "urn:uuid:0f6a");
    // The head needs nothing past the id: a record cut right after it still has a head.
    std::string cut = record.substr(0, 1 + 1 + 8 + 8 + 4 + head.id.size());
    assert_true(decode_head(cut, head));
    Update out;
    std::int64_t published = 0;
    assert_false(decode_record(cut, out, published));
}

void test_malformed_records_are_refused(void**)
{
    std::string record;
    encode_record(sample(), 7, record);
    Update out;
    std::int64_t published = 0;
    RecordHead head;
    // Every truncation is refused, never read past the end (ASan would see it).
    for (std::size_t size = 0; size < record.size(); ++size)
        assert_false(decode_record(std::string_view(record).substr(0, size), out, published));
    assert_false(decode_record(record + "x", out, published));   // bytes left over
    std::string newer = record;
    newer[0] = 2;                                                  // unknown version
    assert_false(decode_record(newer, out, published));
    assert_false(decode_head(newer, head));
    std::string flags = record;
    flags[1] = static_cast<char>(flags[1] | 0x80);                 // unknown flag
    assert_false(decode_record(flags, out, published));
    std::string topics = record;
    // The topic count sits after the header, the id and the type.
    std::size_t count_at = 1 + 1 + 8 + 8 + 4 + sample().id.size() + 4 + sample().type.size();
    topics[count_at + 3] = 0x7f;                                    // a huge topic count
    assert_false(decode_record(topics, out, published));
}

} // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_optional_fields_absent),
        cmocka_unit_test(test_head_reads_id_and_time_only),
        cmocka_unit_test(test_malformed_records_are_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
