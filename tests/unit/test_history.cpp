// Unit tests of the in-memory history: order, id lookup, count and age retention.
#include "unit.hpp"

#include <string>

#include "store/memory_history.hpp"

using namespace mercure;

namespace {

Update update(std::string id)
{
    Update u;
    u.topics = {"t"};
    u.id = std::move(id);
    return u;
}

void test_sequences_and_lookup(void**)
{
    MemoryHistory h(10, 0);
    assert_int_equal(*h.append(update("a"), nullptr, 0), 1);
    assert_int_equal(*h.append(update("b"), nullptr, 0), 2);
    assert_int_equal(*h.sequence_of("a"), 1);
    assert_int_equal(*h.sequence_of("b"), 2);
    assert_false(h.sequence_of("c").has_value());
    assert_string_equal(h.last_id()->c_str(), "b");
    assert_string_equal(h.next_after(0)->update.id.c_str(), "a");
    assert_string_equal(h.next_after(1)->update.id.c_str(), "b");
    assert_null(h.next_after(2).get());
    assert_int_equal(h.horizon(), 0);
}

void test_count_retention(void**)
{
    MemoryHistory h(3, 0);
    for (int i = 1; i <= 5; ++i)
        h.append(update("u" + std::to_string(i)), nullptr, 0);
    assert_int_equal(h.size(), 3);
    assert_false(h.sequence_of("u2").has_value());
    assert_int_equal(*h.sequence_of("u3"), 3);
    assert_int_equal(h.horizon(), 2);
    assert_string_equal(h.next_after(0)->update.id.c_str(), "u3");  // below the horizon: oldest kept
    assert_string_equal(h.next_after(4)->update.id.c_str(), "u5");
}

void test_age_retention(void**)
{
    MemoryHistory h(100, 1000);
    h.append(update("old"), nullptr, 0);
    h.append(update("new"), nullptr, 900);
    h.expire(1500);
    assert_int_equal(h.size(), 1);
    assert_false(h.sequence_of("old").has_value());
    assert_int_equal(h.horizon(), 1);
    h.expire(5000);
    assert_int_equal(h.size(), 0);
    assert_false(h.last_id().has_value());
    assert_null(h.next_after(0).get());
}

void test_reused_id_points_to_newest(void**)
{
    MemoryHistory h(2, 0);
    h.append(update("same"), nullptr, 0);
    h.append(update("same"), nullptr, 0);
    assert_int_equal(*h.sequence_of("same"), 2);
    h.append(update("x"), nullptr, 0);  // evicts the first "same": the index keeps the newest
    assert_int_equal(*h.sequence_of("same"), 2);
}

void test_zero_size_keeps_nothing(void**)
{
    MemoryHistory h(0, 0);
    assert_int_equal(*h.append(update("a"), nullptr, 0), 1);
    assert_int_equal(*h.append(update("b"), nullptr, 0), 2);
    assert_int_equal(h.size(), 0);
    assert_false(h.sequence_of("b").has_value());
    assert_int_equal(h.horizon(), 2);
    assert_null(h.next_after(0).get());
}

void test_shrinking_limits(void**)
{
    MemoryHistory h(10, 0);
    for (int i = 0; i < 10; ++i)
        h.append(update(std::to_string(i)), nullptr, 0);
    h.set_limits(4, 0);
    assert_int_equal(h.size(), 4);
    assert_string_equal(h.next_after(0)->update.id.c_str(), "6");
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequences_and_lookup),
        cmocka_unit_test(test_count_retention),
        cmocka_unit_test(test_age_retention),
        cmocka_unit_test(test_reused_id_points_to_newest),
        cmocka_unit_test(test_zero_size_keeps_nothing),
        cmocka_unit_test(test_shrinking_limits),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
