// Unit tests of SSE framing: field order, line splitting, chunk wrapping.
#include "unit.hpp"

#include <string>

#include "core/update.hpp"

using namespace mercure;

namespace {

Update make(std::string data)
{
    Update u;
    u.topics = {"https://example.com/a"};
    u.id = "id-1";
    u.data = std::move(data);
    return u;
}

void test_minimal_event(void**)
{
    assert_string_equal(encode_sse_event(make("hello")).c_str(), "id: id-1\ndata: hello\n\n");
}

void test_field_order_with_type_and_retry(void**)
{
    Update u = make("x");
    u.type = "message-type";
    u.retry = 1500;
    assert_string_equal(encode_sse_event(u).c_str(), "event: message-type\nretry: 1500\nid: id-1\ndata: x\n\n");
}

void test_retry_zero_is_sent(void**)
{
    Update u = make("x");
    u.retry = 0;
    assert_string_equal(encode_sse_event(u).c_str(), "retry: 0\nid: id-1\ndata: x\n\n");
}

void test_every_line_break_splits(void**)
{
    assert_string_equal(encode_sse_event(make("a\nb\r\nc\rd")).c_str(),
                        "id: id-1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
}

void test_empty_lines_inside_data(void**)
{
    assert_string_equal(encode_sse_event(make("a\n\nb\n")).c_str(), "id: id-1\ndata: a\ndata: \ndata: b\ndata: \n\n");
}

void test_empty_data_gives_one_line(void**)
{
    assert_string_equal(encode_sse_event(make("")).c_str(), "id: id-1\ndata: \n\n");
}

void test_cr_cr_is_two_breaks(void**)
{
    assert_string_equal(encode_sse_event(make("a\r\rb")).c_str(), "id: id-1\ndata: a\ndata: \ndata: b\n\n");
}

void test_utf8_and_nul_bytes_pass_through(void**)
{
    std::string data("caf\xc3\xa9 \x00 end", 11);
    std::string text = encode_sse_event(make(data));
    assert_true(text == "id: id-1\ndata: " + data + "\n\n");
}

void test_frame_is_one_chunk(void**)
{
    FramePtr frame = make_frame("id: 1\ndata: x\n\n");
    assert_string_equal(frame->bytes.c_str(), "f\r\nid: 1\ndata: x\n\n\r\n");
    assert_true(frame->event() == "id: 1\ndata: x\n\n");
    assert_true(frame->chunked() == frame->bytes);
}

void test_large_frame_chunk_size_in_hex(void**)
{
    std::string text(300, 'a');
    FramePtr frame = make_frame(text);
    assert_true(frame->bytes.starts_with("12c\r\n"));
    assert_int_equal(frame->event().size(), 300);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_event),
        cmocka_unit_test(test_field_order_with_type_and_retry),
        cmocka_unit_test(test_retry_zero_is_sent),
        cmocka_unit_test(test_every_line_break_splits),
        cmocka_unit_test(test_empty_lines_inside_data),
        cmocka_unit_test(test_empty_data_gives_one_line),
        cmocka_unit_test(test_cr_cr_is_two_breaks),
        cmocka_unit_test(test_utf8_and_nul_bytes_pass_through),
        cmocka_unit_test(test_frame_is_one_chunk),
        cmocka_unit_test(test_large_frame_chunk_size_in_hex),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
