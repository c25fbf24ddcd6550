// libFuzzer driver of UriTemplate::compile() / matches() and of TopicSelector.
//
// The input is "TEMPLATE\nTOPIC" (no newline: the template alone, matched against itself).
// Invariants:
//   - a selector always matches its own text (the protocol's byte-for-byte rule);
//   - a topic the template matches starts with the template's literal prefix;
//   - the template matches its own RFC 6570 expansions: this driver expands it with every
//     variable undefined, defined as "x", defined as "", and in a mix chosen by the topic's
//     bytes, and each expansion must match (the matcher may accept more, never less).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/topic_selector.hpp"
#include "core/uri_template.hpp"
#include "fuzz_check.hpp"

using mercure::TopicSelector;
using mercure::UriTemplate;

namespace {

// What a variable is set to in one expansion.
enum class Value { Undefined, X, Empty };

// One RFC 6570 operator's expansion rules (appendix A).
struct Rules {
    std::string_view first;
    char sep;
    bool named;
    bool ifemp_equals;
};

Rules rules_of(char op)
{
    switch (op) {
    case '+': return {"", ',', false, false};
    case '#': return {"#", ',', false, false};
    case '.': return {".", '.', false, false};
    case '/': return {"/", '/', false, false};
    case ';': return {";", ';', true, false};
    case '?': return {"?", '&', true, true};
    case '&': return {"&", '&', true, true};
    default: return {"", ',', false, false};
    }
}

// Expands `text`, assumed to be a template that compiled, with the variable values that
// `choose(index)` gives (a string value, or for an exploded variable a one-member list).
template <typename Choose>
std::string expand(std::string_view text, Choose choose)
{
    std::string out;
    std::size_t index = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '{') {
            out += text[i++];
            continue;
        }
        const std::size_t close = text.find('}', i);
        std::string_view body = text.substr(i + 1, close - i - 1);
        i = close + 1;
        char op = 0;
        if (!body.empty() && std::string_view("+#./;?&").find(body[0]) != std::string_view::npos) {
            op = body[0];
            body.remove_prefix(1);
        }
        const Rules rules = rules_of(op);
        bool emitted = false;
        while (true) {
            const std::size_t comma = body.find(',');
            std::string_view spec = body.substr(0, comma);
            const std::size_t modifier = spec.find_first_of(":*");
            const std::string_view name = spec.substr(0, modifier);
            const Value value = choose(index++);
            if (value != Value::Undefined) {
                const std::string_view v = value == Value::X ? "x" : "";
                out += emitted ? std::string(1, rules.sep) : std::string(rules.first);
                emitted = true;
                if (rules.named) {
                    out += name;
                    if (!v.empty() || rules.ifemp_equals)
                        out += '=';
                }
                out += v;
            }
            if (comma == std::string_view::npos)
                break;
            body.remove_prefix(comma + 1);
        }
    }
    return out;
}

// Checks that `tmpl` (compiled from `text`) matches `topic`, a known expansion of it.
void check_expansion(const UriTemplate& tmpl, std::string_view text, const std::string& topic)
{
    if (!tmpl.matches(topic)) {
        std::fprintf(stderr, "template %.*s does not match its expansion %s\n",
                     static_cast<int>(text.size()), text.data(), topic.c_str());
        FUZZ_CHECK(tmpl.matches(topic));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    const std::string_view text = input.substr(0, newline);
    const std::string_view topic = newline == std::string_view::npos ? text : input.substr(newline + 1);

    const TopicSelector selector{std::string(text)};
    FUZZ_CHECK(selector.matches(text));
    const bool selector_matches = selector.matches(topic);

    const std::optional<UriTemplate> tmpl = UriTemplate::compile(text);
    FUZZ_CHECK(tmpl.has_value() == (selector.kind() == TopicSelector::Kind::Template));
    if (!tmpl) {
        FUZZ_CHECK(selector_matches == (text == "*" || topic == text));
        return 0;
    }
    const bool matched = tmpl->matches(topic);
    FUZZ_CHECK(selector_matches == (matched || topic == text));
    if (matched)
        FUZZ_CHECK(topic.starts_with(tmpl->literal_prefix()));
    FUZZ_CHECK(text.starts_with(tmpl->literal_prefix()));

    check_expansion(*tmpl, text, expand(text, [](std::size_t) { return Value::Undefined; }));
    check_expansion(*tmpl, text, expand(text, [](std::size_t) { return Value::X; }));
    check_expansion(*tmpl, text, expand(text, [](std::size_t) { return Value::Empty; }));
    if (!topic.empty()) {
        check_expansion(*tmpl, text, expand(text, [&](std::size_t index) {
            return static_cast<Value>(static_cast<unsigned char>(topic[index % topic.size()]) % 3);
        }));
    }
    return 0;
}
