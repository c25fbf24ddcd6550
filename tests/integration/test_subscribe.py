"""Integration: GET /.well-known/mercure: headers, framing byte for byte, fan-out, heartbeats."""
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HUB_PATH, SSE_CACHE_CONTROL, UUID_URN_RE, Hub, HubTestCase, SSEClient,  # noqa: E402
                     main, make_token, publish)

KEY = 'subscribe-secret-key-0123456789'
T1 = 'https://example.com/books/1'
T2 = 'https://example.com/books/2'
PUB = make_token(KEY, publish=['*'], ttl=3600)


class SubscribeTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'allow_anonymous': True}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def pub(self, fields, via='curl'):
        status, body = publish(self.hub, PUB, fields, via=via)
        self.assertEqual(status, 200, body)
        return body

    def sub(self, topics, **kw):
        s = SSEClient(self.hub, topics, **kw)
        self.addCleanup(s.close)
        if s.status != 200:
            self.fail('subscribe answered %d: %r' % (s.status, s.read_body()))
        return s

    # -- response head and opening --
    def test_headers_and_initial_comment(self):
        s = self.sub([T1])
        h = s.headers
        self.assertEqual((h.get('Content-Type') or '').split(';')[0].strip(), 'text/event-stream')
        self.assertEqual(h.get('Cache-Control'), SSE_CACHE_CONTROL)
        self.assertEqual(h.get('X-Accel-Buffering'), 'no')
        self.assertEqual((h.get('Connection') or '').lower(), 'keep-alive')
        s.wait_body(lambda b: len(b) >= 2, what='the opening comment')
        self.assertEqual(s.body[:2], b':\n')

    def test_body_is_streamed_not_length_delimited(self):
        s = self.sub([T1])
        self.assertIsNone(s.headers.get('Content-Length'), s.headers)

    # -- framing --
    def test_framing_minimal(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'id-1', 'data': 'hello'})
        ev = s.next_event()
        self.assertEqual(ev.raw, b'id: id-1\ndata: hello\n\n')

    def test_framing_full_order(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'id-2', 'type': 'book-update', 'retry': '1500', 'data': 'a\nb'})
        ev = s.next_event()
        self.assertEqual(ev.raw, b'event: book-update\nretry: 1500\nid: id-2\ndata: a\ndata: b\n\n')
        self.assertEqual((ev.event, ev.retry, ev.id, ev.data), ('book-update', '1500', 'id-2', 'a\nb'))

    def test_generated_id_is_sent(self):
        s = self.sub([T1])
        gen = self.pub({'topic': T1, 'data': 'x'})
        ev = s.next_event()
        self.assertEqual(ev.id, gen)
        self.assertRegex(ev.id, UUID_URN_RE)
        self.assertEqual(ev.raw, ('id: %s\ndata: x\n\n' % gen).encode())

    def test_line_breaks_split_data_lines(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'lb', 'data': 'a\r\nb\rc\nd\r\n\r\ne'})
        ev = s.next_event()
        self.assertEqual(ev.raw, b'id: lb\ndata: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\n\n')

    def test_empty_line_inside_data(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'el', 'data': 'a\n\nb'})
        self.assertEqual(s.next_event().raw, b'id: el\ndata: a\ndata: \ndata: b\n\n')

    def test_trailing_newline_gives_trailing_empty_data_line(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'tn', 'data': 'a\n'})
        self.assertEqual(s.next_event().raw, b'id: tn\ndata: a\ndata: \n\n')

    def test_empty_data_gives_one_data_line(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'e1', 'data': ''})
        self.assertEqual(s.next_event().raw, b'id: e1\ndata: \n\n')

    def test_absent_data_gives_one_data_line(self):
        s = self.sub([T1])
        self.pub({'topic': T1, 'id': 'e2'})
        self.assertEqual(s.next_event().raw, b'id: e2\ndata: \n\n')

    def test_data_byte_for_byte(self):
        s = self.sub([T1])
        data = '100% & = + ? # ; / \\ "quoted" \'single\' <tag> ünïcødé ✓ 日本語 🎉 \t tab  spaces  '
        self.pub({'topic': T1, 'id': 'bb', 'data': data})
        ev = s.next_event()
        self.assertEqual(ev.raw, b'id: bb\ndata: ' + data.encode('utf-8') + b'\n\n')

    def test_data_looking_like_fields_stays_data(self):
        s = self.sub([T1])
        data = 'id: fake\nevent: fake\n: comment\nretry: 1\ndata: nested'
        self.pub({'topic': T1, 'id': 'ff', 'data': data})
        ev = s.next_event()
        self.assertEqual(ev.raw, b'id: ff\ndata: id: fake\ndata: event: fake\ndata: : comment\n'
                                 b'data: retry: 1\ndata: data: nested\n\n')
        self.assertEqual(ev.data, data)

    def test_form_decoding_plus_and_percent(self):
        s = self.sub([T1])
        body = 'topic=' + T1.replace(':', '%3A').replace('/', '%2F') + '&id=fd&data=a+b%2Bc%25d%26e%3Df'
        status, text = publish(self.hub, PUB, None, body=body, via='http')
        self.assertEqual(status, 200, text)
        self.assertEqual(s.next_event().raw, b'id: fd\ndata: a b+c%d&e=f\n\n')

    def test_json_data(self):
        s = self.sub([T1])
        data = '{"@id": "/books/1", "title": "Mercure & SSE", "price": "10%", "tags": ["a=b", "c+d"]}'
        self.pub({'topic': T1, 'id': 'js', 'data': data})
        self.assertEqual(s.next_event().data, data)

    def test_large_data(self):
        s = self.sub([T1])
        data = ''.join(chr(0x41 + i % 26) for i in range(100000))
        self.pub({'topic': T1, 'id': 'big', 'data': data})
        ev = s.next_event(timeout=5)
        self.assertEqual(ev.data, data)

    def test_events_arrive_in_order(self):
        s = self.sub([T1])
        for i in range(15):
            self.pub({'topic': T1, 'id': 'ord-%d' % i, 'data': str(i)}, via='http')
        self.assertEqual([e.id for e in s.events(15, timeout=5)], ['ord-%d' % i for i in range(15)])

    # -- routing --
    def test_non_matching_subscriber_gets_nothing(self):
        s1 = self.sub([T1])
        s2 = self.sub([T2])
        self.pub({'topic': T2, 'id': 'only2'})
        self.assertEqual(s2.next_event().id, 'only2')
        self.pub({'topic': T1, 'id': 'only1'})
        self.assertEqual(s1.next_event().id, 'only1')
        s2.assert_no_event(0.3)

    def test_several_subscribers_all_receive(self):
        subs = [self.sub([T1]) for _ in range(5)] + [self.sub(['*']), self.sub([T2, T1])]
        self.pub({'topic': T1, 'id': 'fan', 'data': 'out'})
        for s in subs:
            self.assertEqual(s.next_event().raw, b'id: fan\ndata: out\n\n')

    def test_alternate_topic_reaches_its_subscribers(self):
        canonical = self.sub([T1])
        alt = self.sub(['https://example.com/alternate'])
        self.pub([('topic', T1), ('topic', 'https://example.com/alternate'), ('id', 'alt'), ('data', 'x')])
        self.assertEqual(canonical.next_event().id, 'alt')
        self.assertEqual(alt.next_event().id, 'alt')

    def test_exactly_once_when_several_selectors_and_topics_match(self):
        s = self.sub([T1, T2, '*', 'https://example.com/books/{id}'])
        self.pub([('topic', T1), ('topic', T2), ('id', 'once')])
        self.pub({'topic': T1, 'id': 'marker'})
        self.assertEqual([e.id for e in s.events(2)], ['once', 'marker'])
        s.assert_no_event(0.3)

    def test_duplicate_topic_parameter_is_once(self):
        s = self.sub([T1, T1])
        self.pub({'topic': T1, 'id': 'dup'})
        self.pub({'topic': T2, 'id': 'x'})
        self.pub({'topic': T1, 'id': 'marker'})
        self.assertEqual([e.id for e in s.events(2)], ['dup', 'marker'])

    def test_uri_template_selector(self):
        s = self.sub(['https://example.com/books/{id}'])
        self.pub({'topic': 'https://example.com/books/1/reviews/2', 'id': 'nested'})
        self.pub({'topic': 'https://example.com/authors/1', 'id': 'author'})
        self.pub({'topic': 'https://example.com/books/42', 'id': 'book42'})
        self.assertEqual(s.next_event().id, 'book42')

    def test_reserved_expansion_template_crosses_slashes(self):
        s = self.sub(['https://example.com/{+path}'])
        self.pub({'topic': 'https://example.com/a/b/c', 'id': 'deep'})
        self.assertEqual(s.next_event().id, 'deep')

    def test_template_selector_matches_itself_literally(self):
        s = self.sub(['https://example.com/books/{id}'])
        self.pub({'topic': 'https://example.com/books/{id}', 'id': 'literal'})
        self.assertEqual(s.next_event().id, 'literal')

    def test_percent_encoded_topic_in_query(self):
        topic = 'https://example.com/search?q=a b&x=1'
        s = self.sub([topic])
        self.pub({'topic': topic, 'id': 'q'})
        self.assertEqual(s.next_event().id, 'q')

    def test_iri_topic_with_unicode(self):
        topic = 'https://example.com/livres/été/日本'
        s = self.sub([topic])
        self.pub({'topic': topic, 'id': 'iri'})
        self.assertEqual(s.next_event().id, 'iri')

    def test_topics_are_compared_exactly(self):
        s = self.sub(['https://example.com/a', 'marker'])
        for t in ('https://Example.com/a', 'https://example.com/a/', 'https://example.com/A',
                  'https://example.com/%61', 'https://example.com/a?'):
            self.pub({'topic': t, 'id': 'no'})
        self.pub({'topic': 'marker', 'id': 'marker'})
        self.assertEqual(s.next_event().id, 'marker')

    def test_non_url_topic(self):
        s = self.sub(['simple-topic'])
        self.pub({'topic': 'simple-topic', 'id': 'simple'})
        self.assertEqual(s.next_event().id, 'simple')

    def test_disconnected_subscriber_does_not_break_fanout(self):
        gone = SSEClient(self.hub, [T1])
        gone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        gone.close()
        alive = self.sub([T1])
        for i in range(3):
            self.pub({'topic': T1, 'id': 'after-close-%d' % i})
        self.assertEqual([e.id for e in alive.events(3)], ['after-close-0', 'after-close-1', 'after-close-2'])
        self.assertEqual(self.hub.get('/healthz')[0], 200)

    # -- errors --
    def test_missing_topic_is_400(self):
        s = SSEClient(self.hub, [])
        self.addCleanup(s.close)
        self.assertEqual(s.status, 400)
        body = s.read_body()
        self.assertTrue(body.strip())

    def test_malformed_query_is_400(self):
        for query in ('topic=%zz', 'topic=%', 'topic=a&topic=%G1'):
            with self.subTest(query=query):
                with SSEClient(self.hub, [], path=HUB_PATH + '?' + query) as s:
                    self.assertEqual(s.status, 400)

    def test_template_matrix(self):
        cases = [  # (selector with {base}, paths that match, paths that do not)
            ('{base}/books/{id}', ['/books/1', '/books/a%20b', '/books/x-y_z.~'],
             ['/books/1/2', '/books/1?x=y', '/authors/1', '/books']),
            ('{base}/{+path}', ['/a', '/a/b/c', '/a/b?c=d'], []),
            ('{base}/search{?q}', ['/search?q=abc', '/search'], ['/search/abc', '/search?x=1']),
            ('{base}/search{?q,lang}', ['/search?q=a&lang=fr', '/search?q=a'], ['/search!q=a']),
            ('{base}/file{.ext}', ['/file.json'], ['/file/json']),
            ('{base}{/segments*}', ['/a/b', '/a'], ['?a']),
            ('{base}/page{#section}', ['/page#intro'], ['/page?intro']),
            ('{base}/{year}/{month}', ['/2024/05'], ['/2024', '/2024/05/01']),
        ]
        # Each case gets its own host so that cases cannot match each other's topics, and each
        # subscriber also listens to a marker topic published last: everything it gets before
        # the marker is what its selector matched, in publication order.
        subs = []
        for n, (sel, yes, no) in enumerate(cases):
            base = 'https://case%d.example' % n
            subs.append(self.sub([sel.replace('{base}', base), 'marker-topic']))
            for t in yes + no:
                self.pub({'topic': base + t, 'id': 'm:' + t}, via='http')
        self.pub({'topic': 'marker-topic', 'id': 'marker'}, via='http')
        for (sel, yes, _), s in zip(cases, subs):
            with self.subTest(selector=sel):
                got = []
                while True:
                    ev = s.next_event(timeout=3)
                    if ev.id == 'marker':
                        break
                    got.append(ev.id[2:])
                self.assertEqual(got, yes)

    def test_empty_query_topic_parameter_name_only(self):
        s = SSEClient(self.hub, [], path=HUB_PATH + '?other=1')
        self.addCleanup(s.close)
        self.assertEqual(s.status, 400)


class AnonymousTest(HubTestCase):
    def test_anonymous_refused_by_default(self):
        with Hub({'jwt_key': KEY}) as hub:
            with SSEClient(hub, [T1]) as s:
                self.assertEqual(s.status, 401)
                self.assertTrue(s.read_body().strip())

    def test_anonymous_allowed(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [T1]) as s:
                self.assertEqual(s.status, 200)
                status, _ = publish(hub, PUB, {'topic': T1, 'id': 'anon', 'data': 'x'})
                self.assertEqual(status, 200)
                self.assertEqual(s.next_event().id, 'anon')

    def test_valid_token_without_claims_may_subscribe_to_public_updates(self):
        with Hub({'jwt_key': KEY}) as hub:
            with SSEClient(hub, [T1], token=make_token(KEY)) as s:
                self.assertEqual(s.status, 200)
                status, _ = publish(hub, PUB, {'topic': T1, 'id': 'pub'})
                self.assertEqual(status, 200)
                self.assertEqual(s.next_event().id, 'pub')

    def test_invalid_token_refused_even_with_anonymous(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [T1], token=make_token('wrong-key', subscribe=['*'])) as s:
                self.assertEqual(s.status, 401)


class HeartbeatTest(HubTestCase):
    def check_heartbeat(self, hub):
        with SSEClient(hub, [T1]) as s:
            self.assertEqual(s.status, 200)
            s.wait_body(lambda b: len(b) >= 2)
            t0 = time.monotonic()
            s.wait_body(lambda b: len(b) >= 4, timeout=2.5, what='a heartbeat')
            self.assertEqual(s.body[:4], b':\n:\n')
            self.assertLess(time.monotonic() - t0, 2.5)
            # A second one follows.
            s.wait_body(lambda b: len(b) >= 6, timeout=2.5, what='a second heartbeat')
            self.assertEqual(s.body[:6], b':\n:\n:\n')

    def test_heartbeat_from_config_file(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'heartbeat_interval': '1s'}) as hub:
            self.check_heartbeat(hub)

    def test_heartbeat_from_flag(self):
        with Hub(None, ['--jwt-key=' + KEY, '--allow-anonymous', '--heartbeat-interval=1s']) as hub:
            self.check_heartbeat(hub)

    def test_events_still_delivered_with_heartbeats(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'heartbeat_interval': '1s'}) as hub:
            with SSEClient(hub, [T1]) as s:
                s.wait_body(lambda b: b.count(b':\n') >= 2, timeout=2.5, what='a heartbeat')
                status, _ = publish(hub, PUB, {'topic': T1, 'id': 'hb-ev', 'data': 'x'})
                self.assertEqual(status, 200)
                self.assertEqual(s.next_event().raw, b'id: hb-ev\ndata: x\n\n')

    def test_no_heartbeat_when_disabled(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'heartbeat_interval': '0s'}) as hub:
            with SSEClient(hub, [T1]) as s:
                s.wait_body(lambda b: len(b) >= 2)
                time.sleep(1.5)
                s.assert_no_event(0.1)
                self.assertEqual(s.body, b':\n')


class StreamEndTest(HubTestCase):
    def test_write_timeout_ends_stream_cleanly(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'write_timeout': '2s'}) as hub:
            with SSEClient(hub, [T1]) as s:
                t0 = time.monotonic()
                self.assertTrue(s.wait_closed(timeout=5), 'stream still open after write_timeout')
                self.assertGreater(time.monotonic() - t0, 1.0)
                self.assertTrue(s.complete, 'stream ended without the terminating chunk: %r' % s.wire[-40:])

    def test_sigterm_ends_streams_with_terminating_chunk(self):
        hub = Hub({'jwt_key': KEY, 'allow_anonymous': True}).start()
        try:
            subs = [SSEClient(hub, [T1]) for _ in range(3)]
            hub.proc.send_signal(signal.SIGTERM)
            for s in subs:
                self.assertTrue(s.wait_closed(timeout=5))
                self.assertTrue(s.complete, 'no terminating chunk: %r' % s.wire[-40:])
                s.close()
            self.assertEqual(hub.proc.wait(timeout=5), 0)
        finally:
            hub.stop()

    def test_head_gets_headers_and_no_body(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [T1], method='HEAD') as s:
                self.assertEqual(s.status, 200)
                self.assertEqual((s.headers.get('Content-Type') or '').split(';')[0], 'text/event-stream')
                self.assertEqual(s.headers.get('Cache-Control'), SSE_CACHE_CONTROL)
                # No body may follow: the next bytes on the connection (if any) must not be SSE.
                try:
                    s.sock.settimeout(0.5)
                    extra = s.sock.recv(100)
                except socket.timeout:
                    extra = b''
                self.assertEqual(extra, b'')


class ExpiryTest(HubTestCase):
    def test_stream_closed_when_token_expires(self):
        with Hub({'jwt_key': KEY}) as hub:
            token = make_token(KEY, subscribe=[T1], exp=int(time.time()) + 2)
            with SSEClient(hub, [T1], token=token) as s:
                self.assertEqual(s.status, 200)
                t0 = time.monotonic()
                self.assertTrue(s.wait_closed(timeout=5), 'stream still open 5 s after a 2 s token: %r' % s.body)
                self.assertLess(time.monotonic() - t0, 4.5)
                self.assertTrue(s.complete, 'stream did not end cleanly (no terminating chunk): %r' % s.wire[-40:])


if __name__ == '__main__':
    main()
