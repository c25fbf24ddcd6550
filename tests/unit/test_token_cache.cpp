// Unit tests of the verified-token cache: hits, expiry, bounds, compiled claims.
#include "unit.hpp"

#include "core/token_cache.hpp"

using namespace mercure;

namespace {

VerifiedTokenPtr verified(std::optional<std::int64_t> exp, SelectorCache& selectors)
{
    TokenClaims claims;
    claims.publish = std::vector<std::string>{"https://example.com/{id}", "*"};
    claims.expires_at = exp;
    return compile_token(std::move(claims), selectors);
}

void test_hit_until_expiry(void**)
{
    SelectorCache selectors;
    TokenCache cache;
    cache.insert("tok", verified(100, selectors));
    assert_non_null(cache.find("tok", 99).get());
    assert_null(cache.find("tok", 100).get());  // exp is exclusive
    assert_null(cache.find("other", 50).get());
}

void test_no_exp_never_expires(void**)
{
    SelectorCache selectors;
    TokenCache cache;
    cache.insert("tok", verified(std::nullopt, selectors));
    assert_non_null(cache.find("tok", std::numeric_limits<std::int64_t>::max() - 1).get());
}

void test_bounded(void**)
{
    SelectorCache selectors;
    TokenCache cache(3);
    for (int i = 0; i < 10; ++i)
        cache.insert("t" + std::to_string(i), verified(std::nullopt, selectors));
    assert_true(cache.size() <= 3);
    assert_non_null(cache.find("t9", 0).get());
    cache.clear();
    assert_null(cache.find("t9", 0).get());
}

void test_claims_compiled(void**)
{
    SelectorCache selectors;
    auto token = verified(std::nullopt, selectors);
    assert_int_equal(token->publish.size(), 2);
    assert_true(token->publish[0]->matches("https://example.com/42"));
    assert_true(token->subscribe.empty());
    assert_ptr_equal(token->publish[1].get(), selectors.get("*").get());
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_until_expiry),
        cmocka_unit_test(test_no_exp_never_expires),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_claims_compiled),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
