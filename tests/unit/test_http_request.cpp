// Unit tests of the HTTP/1.x request parser.
#include "unit.hpp"

#include <string>

#include "http/request_parser.hpp"

using namespace mercure;

namespace {

ParseResult parse(std::string_view input, HttpRequest& request, RequestLimits limits = {})
{
    return parse_request(input, limits, request);
}

void test_simple_get(void**)
{
    HttpRequest r;
    std::string in = "GET /.well-known/mercure?topic=a&topic=b HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 12\r\n\r\n";
    ParseResult p = parse(in, r);
    assert_int_equal(static_cast<int>(p.kind), static_cast<int>(ParseResult::Kind::Complete));
    assert_int_equal(p.consumed, in.size());
    assert_string_equal(r.method.c_str(), "GET");
    assert_string_equal(r.path.c_str(), "/.well-known/mercure");
    assert_string_equal(r.query.c_str(), "topic=a&topic=b");
    assert_string_equal(std::string(*r.header("last-event-id")).c_str(), "12");
    assert_true(r.keep_alive());
}

void test_incomplete_head_needs_more(void**)
{
    HttpRequest r;
    assert_int_equal(static_cast<int>(parse("GET / HTTP/1.1\r\nHost: x\r\n", r).kind),
                     static_cast<int>(ParseResult::Kind::NeedMore));
}

void test_body_by_content_length(void**)
{
    HttpRequest r;
    std::string in = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET";
    ParseResult p = parse(in, r);
    assert_int_equal(static_cast<int>(p.kind), static_cast<int>(ParseResult::Kind::Complete));
    assert_string_equal(r.body.c_str(), "hello");
    assert_int_equal(p.consumed, in.size() - 3);
    assert_int_equal(static_cast<int>(parse("POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel", r).kind),
                     static_cast<int>(ParseResult::Kind::NeedMore));
}

void test_bare_lf_accepted(void**)
{
    HttpRequest r;
    assert_int_equal(static_cast<int>(parse("GET / HTTP/1.0\nHost: x\n\n", r).kind),
                     static_cast<int>(ParseResult::Kind::Complete));
    assert_int_equal(r.minor_version, 0);
    assert_false(r.keep_alive());
}

int error_status(std::string_view in, RequestLimits limits = {})
{
    HttpRequest r;
    ParseResult p = parse(in, r, limits);
    if (p.kind != ParseResult::Kind::Error)
        return 0;
    assert_true(!p.reason.empty());
    return p.status;
}

void test_malformed_requests(void**)
{
    assert_int_equal(error_status("GET /\r\n\r\n"), 400);
    assert_int_equal(error_status("GET  / HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(error_status("G(T / HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(error_status("GET / HTTP/2.0\r\n\r\n"), 505);
    assert_int_equal(error_status("GET / FOO/1.1\r\n\r\n"), 400);
    assert_int_equal(error_status("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"), 400);
    assert_int_equal(error_status("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
    assert_int_equal(error_status("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), 400);
    assert_int_equal(error_status("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n"), 400);
    assert_int_equal(error_status("GET /\x7f HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(error_status("GET relative HTTP/1.1\r\n\r\n"), 400);
}

void test_content_length_rules(void**)
{
    assert_int_equal(error_status("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
    assert_int_equal(error_status("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
    assert_int_equal(error_status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
    assert_int_equal(error_status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
    assert_int_equal(error_status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    assert_int_equal(error_status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
    RequestLimits small;
    small.max_body_size = 10;
    assert_int_equal(error_status("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", small), 413);
    assert_int_equal(error_status("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n", small), 0);
}

void test_header_size_limit(void**)
{
    RequestLimits small;
    small.max_header_size = 64;
    std::string big = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n";
    assert_int_equal(error_status(big, small), 431);
    std::string unfinished = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a');
    assert_int_equal(error_status(unfinished, small), 431);
}

void test_absolute_form_and_connection_close(void**)
{
    HttpRequest r;
    assert_int_equal(static_cast<int>(parse("GET http://h:3000/healthz?x HTTP/1.1\r\nConnection: Close\r\n\r\n", r).kind),
                     static_cast<int>(ParseResult::Kind::Complete));
    assert_string_equal(r.path.c_str(), "/healthz");
    assert_string_equal(r.query.c_str(), "x");
    assert_false(r.keep_alive());
}

void test_expect_continue_reported_while_body_missing(void**)
{
    HttpRequest r;
    ParseResult p = parse("POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-Continue\r\n\r\n", r);
    assert_int_equal(static_cast<int>(p.kind), static_cast<int>(ParseResult::Kind::NeedMore));
    assert_true(p.awaiting_body);
    assert_true(p.expects_continue);
    p = parse("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", r);
    assert_true(p.awaiting_body);
    assert_false(p.expects_continue);
    p = parse("POST / HTTP/1.1\r\nContent-Length: 4\r\n", r);
    assert_false(p.awaiting_body);
}

void test_chunked_body(void**)
{
    HttpRequest r;
    std::string in = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n5;ext=1\r\nhello\r\n"
                     "7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    ParseResult p = parse(in, r);
    assert_int_equal(static_cast<int>(p.kind), static_cast<int>(ParseResult::Kind::Complete));
    assert_string_equal(r.body.c_str(), "hello, world");
    assert_int_equal(p.consumed, in.size() - 4);
    for (std::size_t cut = 47; cut < in.size() - 4; ++cut) {
        ParseResult partial = parse(std::string_view(in).substr(0, cut), r);
        assert_int_equal(static_cast<int>(partial.kind), static_cast<int>(ParseResult::Kind::NeedMore));
        assert_true(partial.awaiting_body);
    }
}

void test_chunked_errors(void**)
{
    std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_int_equal(error_status(head + "zz\r\n"), 400);
    assert_int_equal(error_status(head + "3\r\nabcX\r\n0\r\n\r\n"), 400);
    assert_int_equal(error_status(head + "ffffffffffffffffffff\r\n"), 400);
    RequestLimits small;
    small.max_body_size = 10;
    assert_int_equal(error_status(head + "6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", small), 413);
    assert_int_equal(error_status(head + "b\r\n", small), 413);
    // Endless trailers or extensions cannot make the connection buffer without bound.
    std::string trailers = head + "0\r\n" + std::string(100 << 10, 'x');
    assert_int_equal(error_status(trailers, small), 413);
    std::string extensions = head + "1;" + std::string(100 << 10, 'e');
    assert_int_equal(error_status(extensions, small), 413);
}

void test_leading_empty_line_tolerated(void**)
{
    HttpRequest r;
    assert_int_equal(static_cast<int>(parse("\r\nGET / HTTP/1.1\r\n\r\n", r).kind),
                     static_cast<int>(ParseResult::Kind::Complete));
    assert_string_equal(r.method.c_str(), "GET");
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_incomplete_head_needs_more),
        cmocka_unit_test(test_body_by_content_length),
        cmocka_unit_test(test_bare_lf_accepted),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_content_length_rules),
        cmocka_unit_test(test_header_size_limit),
        cmocka_unit_test(test_absolute_form_and_connection_close),
        cmocka_unit_test(test_leading_empty_line_tolerated),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_chunked_errors),
        cmocka_unit_test(test_expect_continue_reported_while_body_missing),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
