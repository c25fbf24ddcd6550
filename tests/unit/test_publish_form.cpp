// Unit tests of publish form parsing and validation.
#include "unit.hpp"

#include <string>
#include <variant>

#include "core/publish_form.hpp"

using namespace mercure;

namespace {

Update accept(std::string_view body)
{
    auto result = parse_publish_form(body, 1000);
    if (auto* refusal = std::get_if<PublishRefusal>(&result))
        fail_msg("refused with %d: %s", refusal->status, refusal->reason.c_str());
    return std::get<Update>(result);
}

int refusal_status(std::string_view body, std::size_t max_topics = 1000)
{
    auto result = parse_publish_form(body, max_topics);
    auto* refusal = std::get_if<PublishRefusal>(&result);
    if (!refusal)
        return 0;
    assert_true(!refusal->reason.empty());
    assert_true(refusal->reason.find('\n') == std::string::npos);
    return refusal->status;
}

void test_all_fields(void**)
{
    Update u = accept("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=a+b%26c%3Dd&private=on&id=my-id&type=t&retry=42");
    assert_int_equal(u.topics.size(), 1);
    assert_string_equal(u.topics[0].c_str(), "https://example.com/books/1");
    assert_string_equal(u.data.c_str(), "a b&c=d");
    assert_true(u.is_private);
    assert_string_equal(u.id.c_str(), "my-id");
    assert_string_equal(u.type.c_str(), "t");
    assert_int_equal(*u.retry, 42);
}

void test_alternate_topics_keep_order(void**)
{
    Update u = accept("topic=a&data=x&topic=b&topic=c");
    assert_int_equal(u.topics.size(), 3);
    assert_string_equal(u.topics[0].c_str(), "a");
    assert_string_equal(u.topics[2].c_str(), "c");
    assert_false(u.is_private);
    assert_false(u.retry.has_value());
    assert_true(u.id.empty());
}

void test_private_presence_is_enough(void**)
{
    assert_true(accept("topic=a&private").is_private);
    assert_true(accept("topic=a&private=").is_private);
    assert_true(accept("topic=a&private=false").is_private);
}

void test_multiline_data_decoded(void**)
{
    assert_string_equal(accept("topic=a&data=l1%0D%0Al2%0Al3").data.c_str(), "l1\r\nl2\nl3");
}

void test_missing_topic(void**) { assert_int_equal(refusal_status("data=x"), 400); }
void test_empty_topic(void**) { assert_int_equal(refusal_status("topic=&data=x"), 400); }
void test_bad_retry(void**)
{
    assert_int_equal(refusal_status("topic=a&retry=-1"), 400);
    assert_int_equal(refusal_status("topic=a&retry=abc"), 400);
    assert_int_equal(refusal_status("topic=a&retry=1.5"), 400);
    assert_int_equal(refusal_status("topic=a&retry="), 400);
    assert_int_equal(refusal_status("topic=a&retry=99999999999999999999999"), 400);
}
void test_id_injection(void**)
{
    assert_int_equal(refusal_status("topic=a&id=a%0Ab"), 400);
    assert_int_equal(refusal_status("topic=a&id=a%0Db"), 400);
    assert_int_equal(refusal_status("topic=a&id=a%00b"), 400);
    assert_int_equal(refusal_status("topic=a&id=%23frag"), 400);
}
void test_type_injection(void**)
{
    assert_int_equal(refusal_status("topic=a&type=a%0Adata:x"), 400);
}
void test_malformed_escape(void**) { assert_int_equal(refusal_status("topic=a%2"), 400); }
void test_too_many_topics(void**)
{
    assert_int_equal(refusal_status("topic=a&topic=b&topic=c", 2), 400);
    assert_int_equal(refusal_status("topic=a&topic=b", 2), 0);
}
void test_topic_length_limit(void**)
{
    std::string at_limit = "topic=" + std::string(64, 'a');
    std::string above = "topic=" + std::string(65, 'a');
    assert_int_equal(static_cast<int>(std::get<Update>(parse_publish_form(at_limit, 10, 64)).topics[0].size()), 64);
    auto refused = parse_publish_form(above, 10, 64);
    assert_int_equal(std::get<PublishRefusal>(refused).status, 400);
}

void test_reserved_namespace(void**)
{
    assert_int_equal(refusal_status("topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx"), 403);
    assert_int_equal(refusal_status("topic=https%3A%2F%2Fhub.example%2F.well-known%2Fmercure"), 403);
    assert_int_equal(refusal_status("topic=a&topic=https%3A%2F%2Fh%2F.well-known%2Fmercure%2Fx"), 403);
    assert_false(is_reserved_topic("https://example.com/.well-known/mercurex"));
    assert_false(is_reserved_topic("https://example.com/books/.well-known/mercure"));
    assert_true(is_reserved_topic("https://example.com/.well-known/mercure?x"));
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_alternate_topics_keep_order),
        cmocka_unit_test(test_private_presence_is_enough),
        cmocka_unit_test(test_multiline_data_decoded),
        cmocka_unit_test(test_missing_topic),
        cmocka_unit_test(test_empty_topic),
        cmocka_unit_test(test_bad_retry),
        cmocka_unit_test(test_id_injection),
        cmocka_unit_test(test_type_injection),
        cmocka_unit_test(test_malformed_escape),
        cmocka_unit_test(test_too_many_topics),
        cmocka_unit_test(test_reserved_namespace),
        cmocka_unit_test(test_topic_length_limit),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
