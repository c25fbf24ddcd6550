// Unit tests of form/query decoding, percent-encoding, cookies and token location.
#include "unit.hpp"

#include <string>

#include "core/authorization.hpp"
#include "util/percent_encoding.hpp"

using namespace mercure;

namespace {

void test_parse_pairs(void**)
{
    auto pairs = parse_urlencoded("topic=a%2Fb&topic=c+d&&flag&empty=&x=%E2%82%AC");
    assert_true(pairs.has_value());
    assert_int_equal(pairs->size(), 5);
    assert_string_equal((*pairs)[0].second.c_str(), "a/b");
    assert_string_equal((*pairs)[1].second.c_str(), "c d");
    assert_string_equal((*pairs)[2].first.c_str(), "flag");
    assert_string_equal((*pairs)[2].second.c_str(), "");
    assert_string_equal((*pairs)[4].second.c_str(), "\xe2\x82\xac");
}

void test_malformed_escapes(void**)
{
    assert_false(parse_urlencoded("a=%").has_value());
    assert_false(parse_urlencoded("a=%4").has_value());
    assert_false(parse_urlencoded("a=%G1").has_value());
    assert_false(parse_urlencoded("%zz=1").has_value());
    assert_true(parse_urlencoded("").has_value());
}

void test_percent_encode_upper_hex(void**)
{
    assert_string_equal(percent_encode("https://e.com/{id}").c_str(), "https%3A%2F%2Fe.com%2F%7Bid%7D");
    assert_string_equal(percent_encode("a-._~Z9").c_str(), "a-._~Z9");
}

void test_cookies(void**)
{
    assert_string_equal(find_cookie("a=1; mercureAuthorization=tok; b=2", "mercureAuthorization")->c_str(), "tok");
    assert_string_equal(find_cookie("x=\"quoted\"", "x")->c_str(), "quoted");
    assert_false(find_cookie("amercureAuthorization=1", "mercureAuthorization").has_value());
    assert_false(find_cookie("", "x").has_value());
}

void test_token_precedence(void**)
{
    auto t = locate_token("Bearer header", "query", "mercureAuthorization=cookie", "mercureAuthorization");
    assert_int_equal(static_cast<int>(t.source), static_cast<int>(TokenSource::Header));
    assert_string_equal(t.token.c_str(), "header");
    t = locate_token(std::nullopt, "query", "mercureAuthorization=cookie", "mercureAuthorization");
    assert_int_equal(static_cast<int>(t.source), static_cast<int>(TokenSource::Query));
    t = locate_token(std::nullopt, std::nullopt, "mercureAuthorization=cookie", "mercureAuthorization");
    assert_int_equal(static_cast<int>(t.source), static_cast<int>(TokenSource::Cookie));
    assert_string_equal(t.token.c_str(), "cookie");
    t = locate_token(std::nullopt, std::nullopt, "other=cookie", "mercureAuthorization");
    assert_int_equal(static_cast<int>(t.source), static_cast<int>(TokenSource::None));
}

void test_malformed_header_is_not_anonymous(void**)
{
    auto t = locate_token("Basic abc", "query", std::nullopt, "c");
    assert_int_equal(static_cast<int>(t.source), static_cast<int>(TokenSource::Header));
    assert_true(t.malformed);
    t = locate_token("Bearer ", std::nullopt, std::nullopt, "c");
    assert_true(t.malformed);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pairs),
        cmocka_unit_test(test_malformed_escapes),
        cmocka_unit_test(test_percent_encode_upper_hex),
        cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_token_precedence),
        cmocka_unit_test(test_malformed_header_is_not_anonymous),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
