// Unit tests of UriTemplate: RFC 6570 expansions as matches, malformed templates, limits.
#include <chrono>
#include <cstdio>
#include <string>

#include "core/uri_template.hpp"
// Last: cmocka defines macros (fail, ...) that break standard headers included after it.
#include "unit.hpp"

namespace {

enum class Expect { match, no_match, invalid };

// One row: a template, a topic, and what matching the topic against it must give.
struct Case {
    const char* tmpl;
    const char* topic;
    Expect expect;
};

constexpr Expect M = Expect::match;
constexpr Expect N = Expect::no_match;
constexpr Expect X = Expect::invalid;

// Most topics come from the RFC 6570 examples: var=value, hello="Hello World!", x=1024,
// y=768, empty="", path=/foo/bar, list=(red,green,blue), keys=[(semi,;),(dot,.),(comma,,)].
const Case kCases[] = {
    // Simple expansion: unreserved and %XX only, never crossing "/".
    {"https://example.com/books/{id}", "https://example.com/books/1", M},
    {"https://example.com/books/{id}", "https://example.com/books/1/reviews", N},
    {"https://example.com/books/{id}", "https://example.com/books/", M},
    {"https://example.com/books/{id}", "https://example.com/books/abc-._~XYZ", M},
    {"https://example.com/books/{id}", "https://example.com/books/a%2Fb", M},
    {"https://example.com/books/{id}", "https://example.com/books/a%2fb", M},
    {"https://example.com/books/{id}", "https://example.com/books/a%", N},
    {"https://example.com/books/{id}", "https://example.com/books/a%G1", N},
    {"https://example.com/books/{id}", "https://example.com/books/a%2", N},
    {"https://example.com/books/{id}", "https://example.com/authors/1", N},
    {"https://example.com/books/{id}", "https://example.com/books/a:b", N},
    {"https://example.com/books/{id}", "https://example.com/books/{id}", N},
    {"https://example.com/books/{id}", "https://example.com/book", N},
    {"{var}", "value", M},
    {"{var}", "a b", N},
    {"{var}", "", M},
    {"{x,y}", "1024,768", M},
    {"{x,y}", "1024", M},
    {"{x,y}", ",768", M},
    {"{x,y}", "1024,768,1", M},
    {"{x,y}", "1024;768", N},
    {"{x,hello,y}", "1024,Hello%20World%21,768", M},
    {"{x,hello,y}", "1024,Hello World!,768", N},
    // Reserved expansion: reserved characters pass, "/" included.
    {"https://example.com/{+path}", "https://example.com/a/b/c", M},
    {"https://example.com/{+path}", "https://example.com/", M},
    {"https://example.com/{+path}", "https://example.org/a", N},
    {"{+path}/here", "/foo/bar/here", M},
    {"{+path}/here", "/foo/bar/there", N},
    {"{+x,hello,y}", "1024,Hello%20World!,768", M},
    {"{+var}", "!$&'()*+,;=:/?#[]@", M},
    {"{+path}", "a b", N},
    {"{+path}", "a%zz", N},
    {"{+path}", "a\"b", N},
    // Fragment expansion.
    {"X{#var}", "X#value", M},
    {"X{#var}", "X", M},
    {"X{#var}", "Xvalue", N},
    {"{#x,hello,y}", "#1024,Hello%20World!,768", M},
    {"{#path:6}/here", "#/foo/b/here", M},
    {"{#path:6}/here", "#/foo/ba/here", N},
    // Label expansion: "." is unreserved, so a value may hold dots.
    {"X{.var}", "X.value", M},
    {"X{.x,y}", "X.1024.768", M},
    {"X{.var}", "X.a.b", M},
    {"X{.var}", "Xvalue", N},
    {"X{.var}", "X./", N},
    {"{.list*}", ".red.green.blue", M},
    // Path segment expansion.
    {"{/var}", "/value", M},
    {"{/var,x}/here", "/value/1024/here", M},
    {"{/var}", "/a/b", N},
    {"{/var}", "", M},
    {"{/var}", "value", N},
    {"{/list*}", "/red/green/blue", M},
    {"{/list*,path:4}", "/red/green/blue/%2Ffoo", M},
    {"{/keys*}", "/semi=%3B/dot=./comma=%2C", M},
    // Path-style parameters: ";" drops "=" for an empty value.
    {"{;x,y}", ";x=1024;y=768", M},
    {"{;x,y,empty}", ";x=1024;y=768;empty", M},
    {"{;x}", ";y=1", N},
    {"{;x}", ";x", M},
    {"{;hello:5}", ";hello=Hello", M},
    {"{;hello:5}", ";hello=HelloW", N},
    {"{;list}", ";list=red,green,blue", M},
    {"{;list*}", ";list=red;list=green;list=blue", M},
    {"{;keys*}", ";semi=%3B;dot=.;comma=%2C", M},
    // Form-style query: "?" first, "&" between, "name=" even when empty.
    {"{?x,y}", "?x=1024&y=768", M},
    {"{?x,y,empty}", "?x=1024&y=768&empty=", M},
    {"{?x,y}", "?y=768", M},
    {"{?x,y}", "?y=768&x=1024", N},
    {"{?x}", "?x", N},
    {"{?x}", "&x=1", N},
    {"/search{?q,lang}", "/search", M},
    {"/search{?q,lang}", "/search?q=cat&lang=en", M},
    {"/search{?q,lang}", "/search?q=c/t", N},
    {"/search{?q,lang}", "/search?lang=en&q=cat", N},
    {"{?list}", "?list=red,green,blue", M},
    {"{?list*}", "?list=red&list=green&list=blue", M},
    {"{?keys*}", "?semi=%3B&dot=.&comma=%2C", M},
    {"{?keys*}", "?semi=&dot", N},
    {"{&keys*}", "&semi=&dot=", M},
    {"{?var:3}", "?var=val", M},
    {"{?var:3}", "?var=valu", N},
    // Form-style query continuation.
    {"?fixed=yes{&x}", "?fixed=yes&x=1024", M},
    {"?fixed=yes{&x}", "?fixed=yes", M},
    {"{&x,y,empty}", "&x=1024&y=768&empty=", M},
    {"{&x}", "?x=1", N},
    // Prefix modifier: counted in characters, a %-encoded UTF-8 character being one.
    {"{var:3}", "val", M},
    {"{var:3}", "valu", N},
    {"{var:3}", "", M},
    {"{var:3}", "%C3%A9ab", M},
    {"{var:3}", "%C3%A9abc", N},
    {"{var:30}", "value", M},
    {"{var:9999}", "value", M},
    {"{+path:6}/here", "/foo/b/here", M},
    {"{+path:6}/here", "/foo/bar/here", N},
    // Explode and composite values.
    {"{list}", "red,green,blue", M},
    {"{list*}", "red,green,blue", M},
    {"{keys}", "semi,%3B,dot,.,comma,%2C", M},
    {"{keys*}", "semi=%3B,dot=.,comma=%2C", M},
    {"{keys*}", "semi=%3B=x", N},
    {"{+keys*}", "semi=;,dot=.,comma=,", M},
    {"{#keys*}", "#semi=;,dot=.,comma=,", M},
    // Several expressions and literals.
    {"https://example.com/users/{user}/books/{book}",
     "https://example.com/users/dunglas/books/42", M},
    {"https://example.com/users/{user}/books/{book}", "https://example.com/users/dunglas/books",
     N},
    {"https://example.com/books/{id}.json", "https://example.com/books/1.json", M},
    {"https://example.com/books/{id}.json", "https://example.com/books/1.xml", N},
    {"{a}{b}", "abc", M},
    {"{a}/{b}", "abc", N},
    {"{%41b.c_d}", "x", M},
    // Not templates: the caller treats them as literals.
    {"https://example.com/books/1", "https://example.com/books/1", X},
    {"", "", X},
    {"{", "", X},
    {"}", "", X},
    {"{}", "", X},
    {"{/}", "", X},
    {"{va r}", "", X},
    {"a{b", "", X},
    {"a}b{c}", "", X},
    {"{a}}", "", X},
    {"{a{b}}", "", X},
    {"{=var}", "", X},
    {"{|var}", "", X},
    {"{!var}", "", X},
    {"{var:0}", "", X},
    {"{var:10000}", "", X},
    {"{var:}", "", X},
    {"{var*:3}", "", X},
    {"{var:3*}", "", X},
    {"{.var.}", "", X},
    {"{.var}", ".x", M},
    {"{var..x}", "", X},
    {"{a,}", "", X},
    {"{,a}", "", X},
    {"{%2}", "", X},
    {"{-var}", "", X},
};

// Human-readable name of an expectation for failure messages.
const char* expect_name(Expect e)
{
    switch (e) {
    case Expect::match: return "match";
    case Expect::no_match: return "no match";
    default: return "invalid";
    }
}

// Runs every row of kCases and fails once, listing each wrong row.
void test_table(void** /*state*/)
{
    int failures = 0;
    for (const Case& c : kCases) {
        const auto t = mercure::UriTemplate::compile(c.tmpl);
        Expect got = Expect::invalid;
        if (t)
            got = t->matches(c.topic) ? Expect::match : Expect::no_match;
        if (got != c.expect) {
            std::fprintf(stderr, "template %s topic %s: want %s, got %s\n", c.tmpl, c.topic,
                         expect_name(c.expect), expect_name(got));
            ++failures;
        }
    }
    assert_int_equal(failures, 0);
    assert_true(sizeof(kCases) / sizeof(kCases[0]) >= 70);
}

// The literal prefix stops at the first expression.
void test_literal_prefix(void** /*state*/)
{
    const auto t = mercure::UriTemplate::compile("https://example.com/books/{id}/x");
    assert_true(t.has_value());
    assert_true(t->literal_prefix() == "https://example.com/books/");
    const auto u = mercure::UriTemplate::compile("{+path}/x");
    assert_true(u.has_value());
    assert_true(u->literal_prefix().empty());
}

// A moved template keeps matching; the moved-from one matches nothing.
void test_move(void** /*state*/)
{
    auto t = mercure::UriTemplate::compile("/books/{id}");
    assert_true(t.has_value());
    mercure::UriTemplate moved = std::move(*t);
    assert_true(moved.matches("/books/7"));
    assert_false(t->matches("/books/7"));
    assert_true(t->literal_prefix().empty());
    auto other = mercure::UriTemplate::compile("/a/{b}");
    assert_true(other.has_value());
    moved = std::move(*other);
    assert_true(moved.matches("/a/b"));
    assert_false(moved.matches("/books/7"));
}

// Templates beyond the size limits are refused rather than compiled.
void test_limits(void** /*state*/)
{
    std::string many;
    for (int i = 0; i < 200; ++i)
        many += "{a}";
    assert_false(mercure::UriTemplate::compile(many).has_value());
    std::string long_literal(5000, 'a');
    long_literal += "{a}";
    assert_false(mercure::UriTemplate::compile(long_literal).has_value());
    std::string fine(3000, 'a');
    fine += "{a}";
    const auto t = mercure::UriTemplate::compile(fine);
    assert_true(t.has_value());
    assert_true(t->matches(fine.substr(0, 3000) + "xyz"));
}

// Prints how long `tmpl` takes against `topic`; the point is that it returns at all.
bool timed_match(const std::string& tmpl, const std::string& topic)
{
    const auto t = mercure::UriTemplate::compile(tmpl);
    assert_true(t.has_value());
    const auto start = std::chrono::steady_clock::now();
    const bool result = t->matches(topic);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::fprintf(stderr, "%zu-byte template, %zu-byte topic: %lld ms\n", tmpl.size(),
                 topic.size(), static_cast<long long>(ms.count()));
    return result;
}

// Ambiguous templates that would make a backtracking matcher explode stay linear.
void test_pathological(void** /*state*/)
{
    std::string tmpl;
    for (int i = 0; i < 10; ++i)
        tmpl += "{+a}{b,c}{.d*}";
    tmpl += "!";
    std::string topic(100 * 1024, 'a');
    assert_false(timed_match(tmpl, topic));
    topic.back() = '!';
    assert_true(timed_match(tmpl, topic));

    std::string prefixes;
    for (int i = 0; i < 3; ++i)
        prefixes += "{a:16}";
    std::string pct;
    while (pct.size() < 100 * 1024)
        pct += "%41";
    assert_false(timed_match(prefixes, pct));
    assert_true(timed_match(prefixes, pct.substr(0, 3 * 48)));
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_literal_prefix),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_pathological),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
