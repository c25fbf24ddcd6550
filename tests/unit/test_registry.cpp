// Unit tests of subscriber selection: exact index, wildcard, templates, private, exactly once.
#include "unit.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/selector_cache.hpp"
#include "core/subscriber_registry.hpp"

using namespace mercure;

namespace {

class FakeSubscriber final : public Subscriber {
public:
    using Subscriber::Subscriber;
    void deliver(const FramePtr&) override { ++delivered; }
    int delivered = 0;
};

struct Fixture {
    SelectorCache cache;
    SubscriberRegistry registry;
    std::vector<std::unique_ptr<FakeSubscriber>> subscribers;

    FakeSubscriber& add(std::vector<std::string> topics, std::vector<std::string> allowed = {})
    {
        Subscription s;
        s.id = "sub-" + std::to_string(subscribers.size());
        s.selectors = cache.get_all(topics);
        s.private_selectors = cache.get_all(allowed);
        subscribers.push_back(std::make_unique<FakeSubscriber>(std::move(s)));
        registry.add(*subscribers.back());
        return *subscribers.back();
    }

    std::vector<Subscriber*> recipients(std::vector<std::string> topics, bool is_private = false)
    {
        Update u;
        u.topics = std::move(topics);
        u.is_private = is_private;
        std::vector<Subscriber*> out;
        registry.collect_recipients(u, out);
        return out;
    }
};

bool contains(const std::vector<Subscriber*>& v, Subscriber& s)
{
    return std::find(v.begin(), v.end(), &s) != v.end();
}

void test_exact_and_wildcard(void**)
{
    Fixture f;
    auto& a = f.add({"https://example.com/a"});
    auto& b = f.add({"https://example.com/b"});
    auto& all = f.add({"*"});
    auto r = f.recipients({"https://example.com/a"});
    assert_int_equal(r.size(), 2);
    assert_true(contains(r, a));
    assert_true(contains(r, all));
    assert_false(contains(r, b));
}

void test_exactly_once_with_several_matches(void**)
{
    Fixture f;
    auto& s = f.add({"a", "b", "*", "{x}"});
    auto r = f.recipients({"a", "b"});
    assert_int_equal(r.size(), 1);
    assert_true(contains(r, s));
    assert_int_equal(f.recipients({"a"}).size(), 1);  // marks reset between dispatches
}

void test_alternate_topic_reaches_subscriber(void**)
{
    Fixture f;
    auto& s = f.add({"alt"});
    assert_true(contains(f.recipients({"canonical", "alt"}), s));
}

void test_template_group(void**)
{
    Fixture f;
    auto& t1 = f.add({"https://example.com/books/{id}"});
    auto& t2 = f.add({"https://example.com/books/{id}"});
    auto& other = f.add({"https://example.com/authors/{id}"});
    auto r = f.recipients({"https://example.com/books/1"});
    assert_int_equal(r.size(), 2);
    assert_true(contains(r, t1) && contains(r, t2));
    assert_false(contains(r, other));
    assert_int_equal(f.recipients({"https://example.com/books/1/reviews"}).size(), 0);
    assert_int_equal(f.recipients({"https://example.com/books/{id}"}).size(), 2);  // literal match
}

void test_private_needs_matching_claim(void**)
{
    Fixture f;
    auto& anonymous = f.add({"*"});
    auto& allowed = f.add({"https://example.com/a"}, {"https://example.com/{x}"});
    auto& other_claim = f.add({"https://example.com/a"}, {"https://other.example/a"});
    auto r = f.recipients({"https://example.com/a"}, true);
    assert_int_equal(r.size(), 1);
    assert_true(contains(r, allowed));
    assert_false(contains(r, anonymous) || contains(r, other_claim));
}

void test_private_claim_may_match_another_topic(void**)
{
    Fixture f;
    auto& s = f.add({"https://example.com/a"}, {"https://example.com/alt"});
    assert_true(contains(f.recipients({"https://example.com/a", "https://example.com/alt"}, true), s));
}

void test_remove_keeps_others_reachable(void**)
{
    Fixture f;
    std::vector<FakeSubscriber*> subs;
    for (int i = 0; i < 50; ++i)
        subs.push_back(&f.add({"t", i % 2 ? "u" : "v", "*"}));
    for (int i = 0; i < 50; i += 3)
        f.registry.remove(*subs[i]);
    f.registry.remove(*subs[0]);  // twice is harmless
    auto r = f.recipients({"t"});
    assert_int_equal(r.size(), 50 - 17);
    for (int i = 0; i < 50; ++i)
        assert_int_equal(contains(r, *subs[i]), i % 3 != 0);
    assert_int_equal(f.registry.size(), 33);
    auto u = f.recipients({"u"});
    for (int i = 0; i < 50; ++i)
        assert_int_equal(contains(u, *subs[i]), i % 3 != 0);
}

void test_selector_cache_interns(void**)
{
    SelectorCache cache(2);
    auto a1 = cache.get("a");
    auto a2 = cache.get("a");
    assert_ptr_equal(a1.get(), a2.get());
    auto b = cache.get("b");
    auto c = cache.get("c");  // full and all in use: served uncached
    assert_int_equal(cache.size(), 2);
    assert_true(c->matches("c"));
    b.reset();
    auto d = cache.get("d");  // "b" was unused: swept
    assert_int_equal(cache.size(), 2);
    assert_ptr_equal(cache.get("d").get(), d.get());
}

void test_selector_kinds(void**)
{
    TopicSelector any("*"), exact("https://e.com/{"), tmpl("https://e.com/{id}");
    assert_int_equal(static_cast<int>(any.kind()), static_cast<int>(TopicSelector::Kind::Any));
    assert_int_equal(static_cast<int>(exact.kind()), static_cast<int>(TopicSelector::Kind::Exact));
    assert_int_equal(static_cast<int>(tmpl.kind()), static_cast<int>(TopicSelector::Kind::Template));
    assert_true(exact.matches("https://e.com/{"));
    assert_false(exact.matches("https://e.com/x"));
    assert_true(tmpl.matches("https://e.com/x"));
    assert_false(tmpl.matches("https://e.com/x/y"));
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_wildcard),
        cmocka_unit_test(test_exactly_once_with_several_matches),
        cmocka_unit_test(test_alternate_topic_reaches_subscriber),
        cmocka_unit_test(test_template_group),
        cmocka_unit_test(test_private_needs_matching_claim),
        cmocka_unit_test(test_private_claim_may_match_another_topic),
        cmocka_unit_test(test_remove_keeps_others_reachable),
        cmocka_unit_test(test_selector_cache_interns),
        cmocka_unit_test(test_selector_kinds),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
