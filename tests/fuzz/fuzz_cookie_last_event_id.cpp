// libFuzzer driver of the small request-value parsers around authorization and replay:
// find_cookie() and locate_token() (where a token comes from), decode_path_segment() (the
// subscriptions API's topic and subscriber segments), the Last-Event-ID lookup of the history
// and the JSON-LD documents that echo a last event id and a request path.
//
// The input is up to five fields separated by '\n': Authorization header, query token, Cookie
// header, cookie name, and an id / path segment; its first byte says which of the first three
// are present. Invariants: the protocol's token order and "malformed" rule; a cookie appended
// to a header that lacks it is found; path segments and subscription topics decode back to what
// was encoded; the history finds exactly the ids it holds; the documents stay valid JSON that
// carries the id and the path unchanged when they are valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/authorization.hpp"
#include "core/subscription_document.hpp"
#include "core/update.hpp"
#include "fuzz_check.hpp"
#include "store/memory_history.hpp"
#include "util/json.hpp"
#include "util/percent_encoding.hpp"

using namespace mercure;

namespace {

// Splits `input` at '\n' into exactly `count` fields (missing ones are empty).
std::vector<std::string_view> split_fields(std::string_view input, std::size_t count)
{
    std::vector<std::string_view> fields;
    while (fields.size() + 1 < count) {
        const std::size_t newline = input.find('\n');
        if (newline == std::string_view::npos)
            break;
        fields.push_back(input.substr(0, newline));
        input.remove_prefix(newline + 1);
    }
    fields.push_back(input);
    fields.resize(count);
    return fields;
}

// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values > U+10FFFF).
bool is_utf8(std::string_view s)
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size())
                return false;
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

// True when `token` has no leading or trailing space or tab.
bool is_trimmed(std::string_view token)
{
    return token.empty() || (token.front() != ' ' && token.front() != '\t' && token.back() != ' ' &&
                             token.back() != '\t');
}

void check_locate_token(unsigned flags, std::string_view authorization, std::string_view query_token,
                        std::string_view cookie_header, std::string_view cookie_name)
{
    const std::optional<std::string_view> header = (flags & 1) ? std::optional(authorization) : std::nullopt;
    const std::optional<std::string_view> query = (flags & 2) ? std::optional(query_token) : std::nullopt;
    const std::optional<std::string_view> cookie = (flags & 4) ? std::optional(cookie_header) : std::nullopt;
    const PresentedToken presented = locate_token(header, query, cookie, cookie_name);
    FUZZ_CHECK(presented.malformed == (presented.source != TokenSource::None && presented.token.empty()));
    if (header) {
        FUZZ_CHECK(presented.source == TokenSource::Header);
        FUZZ_CHECK(is_trimmed(presented.token));
        FUZZ_CHECK(presented.token.empty() || authorization.find(presented.token) != std::string_view::npos);
    } else if (query) {
        FUZZ_CHECK(presented.source == TokenSource::Query && presented.token == *query);
    } else if (cookie && find_cookie(*cookie, cookie_name)) {
        FUZZ_CHECK(presented.source == TokenSource::Cookie && presented.token == *find_cookie(*cookie, cookie_name));
    } else {
        FUZZ_CHECK(presented.source == TokenSource::None && presented.token.empty());
    }
}

void check_find_cookie(std::string_view header, std::string_view name)
{
    const std::optional<std::string> value = find_cookie(header, name);
    if (value) {
        FUZZ_CHECK(value->find(';') == std::string::npos);
        FUZZ_CHECK(header.find(*value) != std::string_view::npos);
    }
    // A well-formed cookie appended to a header without it is found.
    const bool plain_name = !name.empty() && is_trimmed(name) && name.find_first_of(";=") == std::string_view::npos;
    if (!value && plain_name) {
        const std::string appended = std::string(header) + "; " + std::string(name) + "=\"tok.en\"";
        FUZZ_CHECK(find_cookie(appended, name) == "tok.en");
    }
}

void check_path_segments(std::string_view segment, std::string_view selector)
{
    FUZZ_CHECK(decode_path_segment(percent_encode(segment)) == std::string(segment));
    const std::optional<std::string> decoded = decode_path_segment(segment);
    if (segment.find('+') == std::string_view::npos)
        FUZZ_CHECK(decoded == form_decode(segment));
    if (decoded)
        FUZZ_CHECK(decode_path_segment(percent_encode(*decoded)) == *decoded);

    // The subscriptions API splits a subscription topic back into selector and subscriber.
    const std::string topic = subscription_topic(selector, segment);
    const std::string prefix = std::string(subscriptions_path) + "/";
    FUZZ_CHECK(topic.starts_with(prefix));
    const std::string_view rest = std::string_view(topic).substr(prefix.size());
    const std::size_t slash = rest.find('/');
    FUZZ_CHECK(slash != std::string_view::npos && rest.find('/', slash + 1) == std::string_view::npos);
    FUZZ_CHECK(decode_path_segment(rest.substr(0, slash)) == std::string(selector));
    FUZZ_CHECK(decode_path_segment(rest.substr(slash + 1)) == std::string(segment));
}

void check_last_event_id(std::string_view id, std::string_view other_id, std::string_view path)
{
    MemoryHistory history(2, 0);
    Update update;
    update.topics = {"https://example.com/books/1"};
    for (const std::string_view stored : {std::string_view("urn:uuid:0"), other_id, std::string_view("urn:uuid:2")}) {
        update.id = std::string(stored);
        FUZZ_CHECK(history.append(update, make_frame(encode_sse_event(update)), 0).ok());
    }
    // Kept: other_id (sequence 2) and "urn:uuid:2" (3); "urn:uuid:0" was dropped.
    const std::optional<std::uint64_t> sequence = history.sequence_of(id);
    if (id == "urn:uuid:2")
        FUZZ_CHECK(sequence == 3u);
    else if (id == other_id)
        FUZZ_CHECK(sequence == 2u);
    else
        FUZZ_CHECK(!sequence);
    FUZZ_CHECK(history.last_id() == "urn:uuid:2");

    const std::string document = subscriptions_collection_json(path, id, {});
    if (is_utf8(id) && is_utf8(path)) {
        const JsonPtr parsed = json_parse_strict(document);
        FUZZ_CHECK(parsed != nullptr);
        json_object* field = nullptr;
        FUZZ_CHECK(json_object_object_get_ex(parsed.get(), "lastEventID", &field));
        FUZZ_CHECK(std::string_view(json_object_get_string(field),
                                    static_cast<std::size_t>(json_object_get_string_len(field))) == id);
        FUZZ_CHECK(json_object_object_get_ex(parsed.get(), "id", &field));
        FUZZ_CHECK(std::string_view(json_object_get_string(field),
                                    static_cast<std::size_t>(json_object_get_string_len(field))) == path);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const unsigned flags = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::vector<std::string_view> f = split_fields(input, 5);

    check_locate_token(flags, f[0], f[1], f[2], f[3]);
    check_find_cookie(f[2], f[3]);
    check_path_segments(f[4], f[1]);
    check_last_event_id(f[4], f[1], f[0]);
    return 0;
}
