"""Integration: history and reconnection (Last-Event-ID header/query, earliest, bounds, no gap)."""
import http.client
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HUB_PATH, Hub, HubTestCase, SSEClient, main, make_token, publish  # noqa: E402

KEY = 'history-secret-key-0123456789'
T1 = 'https://example.com/books/1'
T2 = 'https://example.com/books/2'
PUB = make_token(KEY, publish=['*'])


def form(**fields):
    return urllib.parse.urlencode(fields).encode()


class Publisher:
    """A keep-alive publisher (faster than curl when a test publishes many updates)."""

    def __init__(self, hub):
        self.conn = http.client.HTTPConnection(hub.host, hub.port, timeout=5)

    def __call__(self, fields):
        self.conn.request('POST', HUB_PATH, body=urllib.parse.urlencode(fields, doseq=True).encode(),
                          headers={'Authorization': 'Bearer ' + PUB,
                                   'Content-Type': 'application/x-www-form-urlencoded'})
        r = self.conn.getresponse()
        body = r.read().decode()
        if r.status != 200:
            raise AssertionError('publish answered %d: %s' % (r.status, body))
        return body

    def close(self):
        self.conn.close()


class HistoryTest(HubTestCase):
    def setUp(self):
        self.hub = Hub({'jwt_key': KEY, 'allow_anonymous': True}).start()
        self.addCleanup(self.hub.stop)
        self.pub = Publisher(self.hub)
        self.addCleanup(self.pub.close)

    def sub(self, topics, **kw):
        s = SSEClient(self.hub, topics, **kw)
        self.addCleanup(s.close)
        if s.status != 200:
            self.fail('subscribe answered %d: %r' % (s.status, s.read_body()))
        return s

    def test_replay_after_last_event_id_header(self):
        for i in range(1, 4):
            self.pub({'topic': T1, 'id': 'a%d' % i, 'data': 'd%d' % i})
        self.pub({'topic': T2, 'id': 'other'})
        s = self.sub([T1], last_event_id='a1')
        self.assertEqual([e.id for e in s.events(2)], ['a2', 'a3'])
        self.pub({'topic': T1, 'id': 'live'})
        self.assertEqual(s.next_event().id, 'live')
        self.assertNotIn(b'other', s.body)

    def test_replayed_events_are_framed_like_live_ones(self):
        live = self.sub([T1])
        self.pub({'topic': T1, 'id': 'first'})
        self.pub({'topic': T1, 'id': 'f2', 'type': 't', 'retry': '10', 'data': 'a\nb'})
        live.events(2)
        replay = self.sub([T1], last_event_id='first')
        self.assertEqual(replay.next_event().raw, b'event: t\nretry: 10\nid: f2\ndata: a\ndata: b\n\n')

    def test_last_event_id_query_parameter(self):
        for i in range(1, 4):
            self.pub({'topic': T1, 'id': 'q%d' % i})
        for name in ('lastEventID', 'Last-Event-ID'):
            with self.subTest(name=name):
                s = self.sub([T1], query={name: 'q2'})
                self.assertEqual(s.next_event().id, 'q3')
                s.assert_no_event(0.2)
                self.assertEqual(s.headers.get('Last-Event-ID'), 'q2')

    def test_header_wins_over_query(self):
        for i in range(1, 4):
            self.pub({'topic': T1, 'id': 'h%d' % i})
        s = self.sub([T1], query={'lastEventID': 'h1'}, last_event_id='h2')
        self.assertEqual(s.next_event().id, 'h3')
        s.assert_no_event(0.2)

    def test_earliest_gets_everything_stored_for_the_topics(self):
        self.pub({'topic': T1, 'id': 'e1'})
        self.pub({'topic': T2, 'id': 'e2'})
        self.pub({'topic': [T2, T1], 'id': 'e3'})
        self.pub({'topic': 'https://example.com/books/3', 'id': 'e4'})
        s = self.sub([T1], last_event_id='earliest')
        self.assertEqual([e.id for e in s.events(2)], ['e1', 'e3'])
        s.assert_no_event(0.2)
        t = self.sub(['https://example.com/books/{id}'], query={'lastEventID': 'earliest'})
        self.assertEqual([e.id for e in t.events(4)], ['e1', 'e2', 'e3', 'e4'])

    def test_response_header_when_nothing_to_replay(self):
        self.pub({'topic': T1, 'id': 'only'})
        s = self.sub([T1], last_event_id='only')
        self.assertEqual(s.headers.get('Last-Event-ID'), 'only')
        s.assert_no_event(0.2)

    def test_response_header_after_replay(self):
        for i in range(1, 4):
            self.pub({'topic': T1, 'id': 'r%d' % i})
        s = self.sub([T1], last_event_id='r1')
        self.assertEqual(s.headers.get('Last-Event-ID'), 'r1')

    def test_unknown_id_gives_earliest_header(self):
        self.pub({'topic': T1, 'id': 'known'})
        s = self.sub([T1], last_event_id='never-published')
        self.assertEqual(s.headers.get('Last-Event-ID'), 'earliest')

    def test_empty_history_gives_earliest_header(self):
        s = self.sub([T1], last_event_id='anything')
        self.assertEqual(s.headers.get('Last-Event-ID'), 'earliest')
        s2 = self.sub([T1], last_event_id='earliest')
        self.assertEqual(s2.headers.get('Last-Event-ID'), 'earliest')

    def test_no_header_without_requested_id(self):
        self.pub({'topic': T1, 'id': 'x'})
        s = self.sub([T1])
        self.assertIsNone(s.headers.get('Last-Event-ID'))
        s.assert_no_event(0.2)  # no replay without an id

    def test_private_updates_replayed_only_to_authorized(self):
        self.pub({'topic': T1, 'id': 'p0'})
        self.pub({'topic': T1, 'id': 'p1', 'private': 'on', 'data': 'secret'})
        self.pub({'topic': T1, 'id': 'p2'})
        anon = self.sub([T1], last_event_id='p0')
        self.assertEqual(anon.next_event().id, 'p2')
        other = self.sub([T1], last_event_id='p0', token=make_token(KEY, subscribe=[T2]))
        self.assertEqual(other.next_event().id, 'p2')
        allowed = self.sub([T1], last_event_id='p0', token=make_token(KEY, subscribe=[T1]))
        self.assertEqual([e.id for e in allowed.events(2)], ['p1', 'p2'])
        self.assertNotIn(b'secret', anon.body + other.body)

    def test_response_header_never_discloses_a_private_id(self):
        self.pub({'topic': T1, 'id': 'pub-1'})
        self.pub({'topic': T1, 'id': 'secret-id', 'private': 'on'})
        anon = self.sub([T1], last_event_id='pub-1')
        self.assertNotEqual(anon.headers.get('Last-Event-ID'), 'secret-id')
        self.assertIn(anon.headers.get('Last-Event-ID'), ('pub-1', 'earliest'))
        allowed = self.sub([T1], last_event_id='pub-1', token=make_token(KEY, subscribe=[T1]))
        self.assertEqual(allowed.next_event().id, 'secret-id')
        self.assertEqual(allowed.headers.get('Last-Event-ID'), 'pub-1')

    def test_replay_is_exactly_once_with_overlapping_selectors(self):
        self.pub({'topic': T1, 'id': 'o0'})
        self.pub({'topic': [T1, T2], 'id': 'o1'})
        s = self.sub([T1, T2, '*'], last_event_id='o0')
        self.assertEqual(s.next_event().id, 'o1')
        s.assert_no_event(0.2)

    def test_no_gap_no_duplicate_between_replay_and_live(self):
        self.pub({'topic': T1, 'id': 'g0'})
        stop = threading.Event()
        published = []
        errors = []

        def keep_publishing():
            p = Publisher(self.hub)
            try:
                i = 1
                while not stop.is_set() and i <= 300:
                    p({'topic': T1, 'id': 'g%d' % i, 'data': 'x' * 200})
                    published.append('g%d' % i)
                    i += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                p.close()

        t = threading.Thread(target=keep_publishing)
        t.start()
        try:
            while len(published) < 50:
                time.sleep(0.005)
            s = self.sub([T1], last_event_id='g0')  # connects while updates keep coming
            time.sleep(0.2)
        finally:
            stop.set()
            t.join(10)
        self.assertEqual(errors, [])
        got = [e.id for e in s.events(len(published), timeout=10)]
        self.assertEqual(got, published)
        s.assert_no_event(0.3)


class HistoryBoundsTest(HubTestCase):
    def test_history_size(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'history_size': 3}) as hub:
            p = Publisher(hub)
            for i in range(1, 6):
                p({'topic': T1, 'id': 'n%d' % i})
            p.close()
            with SSEClient(hub, [T1], last_event_id='earliest') as s:
                self.assertEqual([e.id for e in s.events(3)], ['n3', 'n4', 'n5'])
                s.assert_no_event(0.2)
            with SSEClient(hub, [T1], last_event_id='n1') as s:  # evicted: unknown now
                self.assertEqual(s.headers.get('Last-Event-ID'), 'earliest')
            with SSEClient(hub, [T1], last_event_id='n3') as s:
                self.assertEqual([e.id for e in s.events(2)], ['n4', 'n5'])

    def test_history_disabled(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'history_size': 0}) as hub:
            self.assertEqual(publish(hub, PUB, {'topic': T1, 'id': 'z1'})[0], 200)
            with SSEClient(hub, [T1], last_event_id='earliest') as s:
                self.assertEqual(s.status, 200)
                self.assertEqual(s.headers.get('Last-Event-ID'), 'earliest')
                s.assert_no_event(0.3)

    def test_history_max_age(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'history_max_age': '1s'}) as hub:
            p = Publisher(hub)
            p({'topic': T1, 'id': 'old'})
            time.sleep(1.5)
            p({'topic': T1, 'id': 'new'})
            p.close()
            with SSEClient(hub, [T1], last_event_id='earliest') as s:
                self.assertEqual(s.next_event().id, 'new')
                s.assert_no_event(0.2)


if __name__ == '__main__':
    main()
