// Unit tests of the client-side event stream path: the WHATWG SSE parser, and the pieces
// that feed it and print its events (chunked decoding, response heads, URLs, output formats).
#include "unit.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "client/event_format.hpp"
#include "client/http_response.hpp"
#include "client/url.hpp"
#include "core/update.hpp"
#include "sse/event_parser.hpp"

using namespace mercure;

namespace {

// Feeds the whole text at once.
std::vector<SseEvent> parse(std::string_view text, SseEventParser& parser)
{
    std::vector<SseEvent> events;
    assert_true(parser.feed(text, events));
    return events;
}

std::vector<SseEvent> parse(std::string_view text)
{
    SseEventParser parser;
    return parse(text, parser);
}

// Feeds one byte at a time.
std::vector<SseEvent> parse_bytewise(std::string_view text, SseEventParser& parser)
{
    std::vector<SseEvent> events;
    for (char c : text)
        assert_true(parser.feed(std::string_view(&c, 1), events));
    return events;
}

void assert_event(const SseEvent& event, const char* id, const char* type, const char* data)
{
    assert_string_equal(event.id.c_str(), id);
    assert_string_equal(event.type.c_str(), type);
    assert_string_equal(event.data.c_str(), data);
}

// -- the parser --------------------------------------------------------------------------

void test_simple_event(void**)
{
    auto events = parse("id: 1\nevent: greet\ndata: hello\n\n");
    assert_int_equal(events.size(), 1);
    assert_event(events[0], "1", "greet", "hello");
    assert_false(events[0].retry.has_value());
}

void test_multiline_data_joined_with_lf(void**)
{
    auto events = parse("data: a\ndata: \ndata: b\ndata:\n\n");
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "a\n\nb\n");
}

void test_every_line_end(void**)
{
    auto events = parse("data: a\r\ndata: b\rdata: c\n\r\nid: 2\r\rdata: d\n\n");
    assert_int_equal(events.size(), 2);
    assert_event(events[0], "", "", "a\nb\nc");
    assert_event(events[1], "2", "", "d");
}

void test_crlf_split_between_feeds(void**)
{
    SseEventParser parser;
    std::vector<SseEvent> events;
    assert_true(parser.feed("data: x\r", events));
    assert_true(parser.feed("\n\r", events));
    assert_int_equal(events.size(), 1);
    assert_true(parser.feed("\ndata: y\r\n\r\n", events));
    assert_int_equal(events.size(), 2);
    assert_string_equal(events[0].data.c_str(), "x");
    assert_string_equal(events[1].data.c_str(), "y");
}

void test_cr_then_other_byte_in_next_feed(void**)
{
    SseEventParser parser;
    std::vector<SseEvent> events;
    assert_true(parser.feed("data: x\r", events));
    assert_true(parser.feed("data: y\r", events));
    assert_true(parser.feed("\r", events));
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "x\ny");
}

void test_bom_stripped_once(void**)
{
    auto events = parse("\xEF\xBB\xBF" "data: a\n\n");
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "a");

    // A second BOM belongs to the field name, which is then unknown.
    events = parse("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n");
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "b");
}

void test_bom_split_between_feeds(void**)
{
    SseEventParser parser;
    auto events = parse_bytewise("\xEF\xBB\xBF" "data: a\n\n", parser);
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "a");
}

void test_bom_prefix_that_is_not_a_bom_is_kept(void**)
{
    SseEventParser parser;
    std::vector<SseEvent> events;
    assert_true(parser.feed("\xEF\xBB", events));
    assert_true(parser.feed("x: 1\ndata: a\n\n", events));
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "a");
    // "data" right after a lone 0xEF is the unknown field "\xEF" "data".
    events = parse("\xEF" "data: lost\n\n");
    assert_int_equal(events.size(), 0);
}

void test_bom_expected_again_after_restart(void**)
{
    SseEventParser parser;
    parse("\xEF\xBB\xBF" "data: a\n\n", parser);
    parser.restart();
    auto events = parse("\xEF\xBB\xBF" "data: b\n\n", parser);
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "b");
}

void test_comments_ignored_and_counted(void**)
{
    SseEventParser parser;
    auto events = parse(":\n: heartbeat\ndata: a\n:inside\n\n:\n", parser);
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "a");
    assert_int_equal(parser.comments(), 4);
}

void test_field_without_colon_and_space_rules(void**)
{
    auto events = parse("data\n\n");
    assert_int_equal(events.size(), 1);
    assert_string_equal(events[0].data.c_str(), "");

    events = parse("data:x\n\ndata:  two spaces\n\ndata: a: b\n\n");
    assert_int_equal(events.size(), 3);
    assert_string_equal(events[0].data.c_str(), "x");
    assert_string_equal(events[1].data.c_str(), " two spaces");
    assert_string_equal(events[2].data.c_str(), "a: b");
}

void test_unknown_fields_ignored(void**)
{
    auto events = parse("foo: bar\nData: no\nDATA: no\ndata: yes\nevent : no\n\n");
    assert_int_equal(events.size(), 1);
    assert_event(events[0], "", "", "yes");
}

void test_id_with_nul_ignored(void**)
{
    const std::string stream = std::string("id: good\ndata: a\n\nid: b") + '\0' + "d\ndata: b\n\n";
    auto events = parse(stream);
    assert_int_equal(events.size(), 2);
    assert_string_equal(events[0].id.c_str(), "good");
    assert_string_equal(events[1].id.c_str(), "good");
}

void test_id_persists_and_can_be_emptied(void**)
{
    SseEventParser parser;
    auto events = parse("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", parser);
    assert_int_equal(events.size(), 3);
    assert_string_equal(events[0].id.c_str(), "7");
    assert_string_equal(events[1].id.c_str(), "7");
    assert_string_equal(events[2].id.c_str(), "");
    assert_string_equal(parser.last_event_id().c_str(), "");
}

void test_block_without_data_sets_id_only(void**)
{
    SseEventParser parser;
    auto events = parse("id: 9\nevent: ignored\n\ndata: x\n\n", parser);
    assert_string_equal(parser.last_event_id().c_str(), "9");
    assert_int_equal(events.size(), 1);
    assert_event(events[0], "9", "", "x");  // the type was reset with the empty block
}

void test_type_resets_after_dispatch(void**)
{
    auto events = parse("event: a\ndata: 1\n\ndata: 2\n\n");
    assert_int_equal(events.size(), 2);
    assert_string_equal(events[0].type.c_str(), "a");
    assert_string_equal(events[1].type.c_str(), "");
}

void test_retry(void**)
{
    SseEventParser parser;
    auto events = parse("retry: 1500\ndata: a\n\nretry: 1x\ndata: b\n\nretry:\n\nretry: 250\n\n", parser);
    assert_int_equal(events.size(), 2);
    assert_true(events[0].retry.has_value());
    assert_int_equal(*events[0].retry, 1500);
    assert_false(events[1].retry.has_value());
    assert_true(parser.reconnection_time().has_value());
    assert_int_equal(*parser.reconnection_time(), 250);  // set even without an event

    SseEventParser big;
    parse("retry: 99999999999999999999999\n\n", big);
    assert_true(*big.reconnection_time() == UINT64_MAX);
}

void test_unfinished_event_discarded_on_restart(void**)
{
    SseEventParser parser;
    auto events = parse("id: 1\ndata: a\n\nid: 2\ndata: partial\n", parser);
    assert_int_equal(events.size(), 1);
    parser.restart();
    assert_string_equal(parser.last_event_id().c_str(), "1");
    events = parse("data: b\n\n", parser);
    assert_int_equal(events.size(), 1);
    // A new stream starts with an empty id buffer: an event without id has the empty id.
    assert_event(events[0], "", "", "b");

    SseEventParser line;
    parse("data: a\n\ndata: cut", line);
    line.restart();
    events = parse("\n\n", line);
    assert_int_equal(events.size(), 0);
}

void test_bytewise_equals_whole(void**)
{
    const std::string stream =
        "\xEF\xBB\xBF:\r\nid: 1\r\nevent: t\r\nretry: 10\r\ndata: a\r\ndata: b\r\n\r\n"
        "id: 2\rdata: c\r\rid: 3\ndata:\ndata: d\n\n: tail\nid: 4\ndata: unfinished";
    SseEventParser whole;
    SseEventParser bytewise;
    auto a = parse(stream, whole);
    auto b = parse_bytewise(stream, bytewise);
    assert_int_equal(a.size(), 3);
    assert_int_equal(b.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        assert_string_equal(a[i].id.c_str(), b[i].id.c_str());
        assert_string_equal(a[i].type.c_str(), b[i].type.c_str());
        assert_string_equal(a[i].data.c_str(), b[i].data.c_str());
        assert_true(a[i].retry == b[i].retry);
    }
    assert_event(a[0], "1", "t", "a\nb");
    assert_event(a[1], "2", "", "c");
    assert_event(a[2], "3", "", "\nd");
    assert_string_equal(whole.last_event_id().c_str(), "3");
    assert_string_equal(bytewise.last_event_id().c_str(), "3");
}

void test_size_limit(void**)
{
    SseEventParser parser(16);
    std::vector<SseEvent> events;
    assert_true(parser.feed("data: 0123456789\n\n", events));  // the line and data fit
    assert_int_equal(events.size(), 1);
    assert_false(parser.feed("data: 0123456789abcdef", events));
    assert_true(parser.failed());
    assert_false(parser.feed("\n\n", events));

    SseEventParser lines(16);
    events.clear();
    assert_false(lines.feed("data: 0123456\ndata: 789abcdef\n", events));
}

void test_hub_frames_round_trip(void**)
{
    // What the hub's encoder sends, the parser gives back: LF-separated data byte for byte.
    Update update;
    update.topics = {"https://example.com/a"};
    update.id = "urn:uuid:1";
    update.type = "t";
    update.retry = 3000;
    update.data = "line 1\n\n  line 3 \nüñí\t{\"json\": true}\n";
    auto events = parse(":\n" + encode_sse_event(update));
    assert_int_equal(events.size(), 1);
    assert_event(events[0], "urn:uuid:1", "t", update.data.c_str());
    assert_int_equal(*events[0].retry, 3000);

    update.data = "";
    update.type = "";
    update.retry.reset();
    events = parse(encode_sse_event(update));
    assert_int_equal(events.size(), 1);
    assert_event(events[0], "urn:uuid:1", "", "");
}

// -- output formats ----------------------------------------------------------------------

void test_text_format_reparses(void**)
{
    SseEvent event{"id-1", "kind", "a\n\nb", 42};
    const std::string text = format_event_text(event);
    assert_string_equal(text.c_str(), "id: id-1\nevent: kind\nretry: 42\ndata: a\ndata: \ndata: b\n\n");
    auto events = parse(text);
    assert_int_equal(events.size(), 1);
    assert_event(events[0], "id-1", "kind", "a\n\nb");

    SseEvent plain{"x", "", "", std::nullopt};
    assert_string_equal(format_event_text(plain).c_str(), "id: x\ndata: \n\n");
}

void test_json_format(void**)
{
    SseEvent event{"i\"d", "", std::string("a\nb\t\\/\x01\x7f", 8) + "é", std::nullopt};
    assert_string_equal(format_event_json(event).c_str(),
                        "{\"id\":\"i\\\"d\",\"type\":\"message\",\"data\":\"a\\nb\\t\\\\/\\u0001\x7f\xC3\xA9\",\"retry\":null}\n");
    event.retry = 5;
    event.type = "t";
    event.data = "";
    assert_string_equal(format_event_json(event).c_str(), "{\"id\":\"i\\\"d\",\"type\":\"t\",\"data\":\"\",\"retry\":5}\n");
}

void test_json_replaces_invalid_utf8(void**)
{
    assert_string_equal(json_quote("\xFF" "a\xC3").c_str(), "\"\xEF\xBF\xBD" "a\xEF\xBF\xBD\"");
    assert_string_equal(json_quote("\xED\xA0\x80").c_str(), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
    assert_string_equal(json_quote("\xF0\x9F\x98\x80").c_str(), "\"\xF0\x9F\x98\x80\"");
    assert_string_equal(json_quote("\xC0\xAF").c_str(), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong
}

// -- chunked decoding --------------------------------------------------------------------

// Decodes `input` fed in pieces of `piece` bytes; returns the data, asserts completion.
std::string dechunk(std::string_view input, std::size_t piece, std::string* rest = nullptr)
{
    ChunkedDecoder decoder;
    std::string out;
    std::string left;
    for (std::size_t i = 0; i < input.size(); i += piece) {
        std::string_view part = input.substr(i, piece);
        if (decoder.done()) {
            left.append(part);
            continue;
        }
        assert_true(decoder.feed(part, out).ok());
        left.append(part);
    }
    assert_true(decoder.done());
    if (rest)
        *rest = left;
    return out;
}

void test_chunked_any_split(void**)
{
    const std::string body = "5\r\nhello\r\n1;ext=\"a;b\"\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
    for (std::size_t piece = 1; piece <= body.size(); ++piece) {
        std::string rest;
        assert_string_equal(dechunk(body, piece, &rest).c_str(), "hello 0123456789");
        assert_string_equal(rest.c_str(), "NEXT");
    }
    assert_string_equal(dechunk("3\nabc\n0\n\n", 1).c_str(), "abc");  // bare LF line ends
}

void test_chunked_errors(void**)
{
    for (const char* bad : {"x\r\n", "5\r\nhelloX\r\n", "3\r\nabc\r\n0\r\n\rX", "10000000000000000\r\n", "\r\n"}) {
        ChunkedDecoder decoder;
        std::string out;
        std::string_view input = bad;
        assert_false(decoder.feed(input, out).ok());
    }
    ChunkedDecoder unfinished;
    std::string out;
    std::string_view input = "5\r\nhel";
    assert_true(unfinished.feed(input, out).ok());
    assert_false(unfinished.done());
    assert_string_equal(out.c_str(), "hel");
}

// -- response heads ----------------------------------------------------------------------

void test_response_head(void**)
{
    HttpResponseHead head;
    const std::string text = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nLast-Event-ID:  earliest \r\n"
                             "Content-Length: 5\r\n\r\nbody!";
    for (std::size_t cut = 0; cut < text.size() - 5; ++cut)
        assert_int_equal(static_cast<int>(parse_response_head(text.substr(0, cut), 65536, head).kind),
                         static_cast<int>(HeadParse::Kind::NeedMore));
    HeadParse parsed = parse_response_head(text, 65536, head);
    assert_int_equal(static_cast<int>(parsed.kind), static_cast<int>(HeadParse::Kind::Complete));
    assert_int_equal(parsed.consumed, text.size() - 5);
    assert_int_equal(head.status, 401);
    assert_string_equal(head.reason.c_str(), "Unauthorized");
    assert_string_equal(std::string(*head.header("last-event-id")).c_str(), "earliest");
    auto framing = body_framing(head, false);
    assert_true(framing.ok());
    assert_int_equal(static_cast<int>(framing->kind), static_cast<int>(BodyFraming::Kind::Length));
    assert_int_equal(framing->length, 5);
    assert_string_equal(response_reason(head, "\n  Missing \"topic\".\nmore").c_str(), "Missing \"topic\".");
    assert_string_equal(response_reason(head, "").c_str(), "Unauthorized");
}

void test_response_framing(void**)
{
    HttpResponseHead head;
    assert_int_equal(static_cast<int>(parse_response_head("HTTP/1.1 200\nTransfer-Encoding: gzip, chunked\n\n", 1024, head).kind),
                     static_cast<int>(HeadParse::Kind::Complete));
    assert_int_equal(static_cast<int>(body_framing(head, false)->kind), static_cast<int>(BodyFraming::Kind::Chunked));
    assert_int_equal(static_cast<int>(body_framing(head, true)->kind), static_cast<int>(BodyFraming::Kind::None));
    parse_response_head("HTTP/1.0 200 OK\r\n\r\n", 1024, head);
    assert_int_equal(static_cast<int>(body_framing(head, false)->kind), static_cast<int>(BodyFraming::Kind::UntilClose));
    parse_response_head("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", 1024, head);
    assert_int_equal(static_cast<int>(body_framing(head, false)->kind), static_cast<int>(BodyFraming::Kind::None));
    parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 1024, head);
    assert_false(body_framing(head, false).ok());

    for (const char* bad : {"SSH-2.0-OpenSSH\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
                            "HTTP/2 200\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"})
        assert_int_equal(static_cast<int>(parse_response_head(bad, 1024, head).kind),
                         static_cast<int>(HeadParse::Kind::Error));
    assert_int_equal(static_cast<int>(parse_response_head("HTTP/1.1 200 OK\r\nX: " + std::string(100, 'a'), 64, head).kind),
                     static_cast<int>(HeadParse::Kind::Error));
}

// -- URLs --------------------------------------------------------------------------------

void test_urls(void**)
{
    auto url = parse_http_url("HTTP://Example.COM:3000/.well-known/mercure?x=1#frag");
    assert_true(url.ok());
    assert_string_equal(url->host.c_str(), "example.com");
    assert_int_equal(url->port, 3000);
    assert_string_equal(url->target.c_str(), "/.well-known/mercure?x=1");
    assert_string_equal(url->authority().c_str(), "example.com:3000");
    append_query_parameter(*url, "topic", "https://example.com/books/{id}");
    assert_string_equal(url->target.c_str(), "/.well-known/mercure?x=1&topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D");

    url = parse_http_url("http://[::1]:8080");
    assert_true(url.ok());
    assert_string_equal(url->host.c_str(), "::1");
    assert_string_equal(url->target.c_str(), "/");
    assert_string_equal(url->text().c_str(), "http://[::1]:8080/");
    append_query_parameter(*url, "a b", "c&d");
    assert_string_equal(url->target.c_str(), "/?a%20b=c%26d");

    url = parse_http_url("http://localhost?topic=x");
    assert_true(url.ok());
    assert_int_equal(url->port, 80);
    assert_string_equal(url->target.c_str(), "/?topic=x");
    assert_string_equal(url->authority().c_str(), "localhost");

    auto https = parse_http_url("https://hub.example.com/.well-known/mercure");
    assert_false(https.ok());
    assert_non_null(std::strstr(https.error().message.c_str(), "https:// URLs are not supported"));
    for (const char* bad : {"localhost:3000", "ftp://x/", "http://", "http://:80/", "http://a:0/", "http://a:65536/",
                            "http://a:x/", "http://u@a/", "http://a/b c", "http://a/\r\nX: y", "http://[::1/"})
        assert_false(parse_http_url(bad).ok());
}

void test_url_from_listen_address(void**)
{
    assert_string_equal(hub_url_for_listen_address(":3000").c_str(), "http://localhost:3000/.well-known/mercure");
    assert_string_equal(hub_url_for_listen_address("127.0.0.1:4000").c_str(), "http://127.0.0.1:4000/.well-known/mercure");
    assert_string_equal(hub_url_for_listen_address("[::]:80").c_str(), "http://localhost/.well-known/mercure");
    assert_string_equal(hub_url_for_listen_address("[::1]:5000").c_str(), "http://[::1]:5000/.well-known/mercure");
    assert_string_equal(hub_url_for_listen_address("nonsense").c_str(), "");
}

} // namespace

int main()
{
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_event),
        cmocka_unit_test(test_multiline_data_joined_with_lf),
        cmocka_unit_test(test_every_line_end),
        cmocka_unit_test(test_crlf_split_between_feeds),
        cmocka_unit_test(test_cr_then_other_byte_in_next_feed),
        cmocka_unit_test(test_bom_stripped_once),
        cmocka_unit_test(test_bom_split_between_feeds),
        cmocka_unit_test(test_bom_prefix_that_is_not_a_bom_is_kept),
        cmocka_unit_test(test_bom_expected_again_after_restart),
        cmocka_unit_test(test_comments_ignored_and_counted),
        cmocka_unit_test(test_field_without_colon_and_space_rules),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_id_with_nul_ignored),
        cmocka_unit_test(test_id_persists_and_can_be_emptied),
        cmocka_unit_test(test_block_without_data_sets_id_only),
        cmocka_unit_test(test_type_resets_after_dispatch),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_unfinished_event_discarded_on_restart),
        cmocka_unit_test(test_bytewise_equals_whole),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_hub_frames_round_trip),
        cmocka_unit_test(test_text_format_reparses),
        cmocka_unit_test(test_json_format),
        cmocka_unit_test(test_json_replaces_invalid_utf8),
        cmocka_unit_test(test_chunked_any_split),
        cmocka_unit_test(test_chunked_errors),
        cmocka_unit_test(test_response_head),
        cmocka_unit_test(test_response_framing),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_url_from_listen_address),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
