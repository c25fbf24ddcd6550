"""Integration: active subscriptions (subscription events and the JSON-LD subscriptions API)."""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HUB_PATH, Hub, HubTestCase, SSEClient, http_request, main, make_token, publish  # noqa: E402

KEY = 'subscriptions-secret-key-012345'
T1 = 'https://example.com/books/1'
T2 = 'https://example.com/books/{id}'
SUBS_PATH = HUB_PATH + '/subscriptions'
SUBS_TEMPLATE = '/.well-known/mercure/subscriptions/{topic}/{subscriber}'
WATCH = make_token(KEY, subscribe=[SUBS_TEMPLATE, '/.well-known/mercure/subscriptions{/topic}{/subscriber}'])
API = make_token(KEY, subscribe=['/.well-known/mercure/subscriptions{/topic}{/subscriber}'])


def enc(s):
    """RFC 6570 simple-string expansion of one variable: everything but unreserved, upper-case hex."""
    return urllib.parse.quote(s, safe='-._~')


def strip_etag(v):
    v = v or ''
    if v.startswith('W/'):
        v = v[2:]
    return v.strip('"')


class SubscriptionEventsTest(HubTestCase):
    def setUp(self):
        self.hub = Hub({'jwt_key': KEY, 'subscriptions': True}).start()
        self.addCleanup(self.hub.stop)

    def sub(self, topics, token, **kw):
        s = SSEClient(self.hub, topics, token=token, **kw)
        self.addCleanup(s.close)
        if s.status != 200:
            self.fail('subscribe answered %d: %r' % (s.status, s.read_body()))
        return s

    def watch(self):
        """A subscriber to subscription events; its own subscription's event is consumed."""
        w = self.sub([SUBS_TEMPLATE], WATCH)
        own = json.loads(w.next_event().data)
        self.assertEqual(own['topic'], SUBS_TEMPLATE)
        return w

    def api(self, path, token=API, headers=None):
        h = {'Authorization': 'Bearer ' + token} if token else {}
        h.update(headers or {})
        status, hdrs, body = self.hub.get(path, headers=h)
        return status, hdrs, body

    def test_events_on_connect_and_disconnect(self):
        watcher = self.watch()
        payload = {'user': 'https://example.com/users/dunglas', 'n': [1, 2]}
        s = SSEClient(self.hub, [T1], token=make_token(KEY, subscribe=[T1], payload=payload))
        self.assertEqual(s.status, 200)
        ev = watcher.next_event()
        doc = json.loads(ev.data)
        subscriber = doc['subscriber']
        self.assertRegex(subscriber, r'^urn:uuid:[0-9a-f-]{36}$')
        expected_topic = '/.well-known/mercure/subscriptions/%s/%s' % (enc(T1), enc(subscriber))
        self.assertEqual(doc, {'@context': 'https://mercure.rocks/', 'id': expected_topic, 'type': 'Subscription',
                               'topic': T1, 'subscriber': subscriber, 'active': True, 'payload': payload})
        self.assertIn('%2F', expected_topic)
        s.close()
        ev2 = watcher.next_event()
        doc2 = json.loads(ev2.data)
        self.assertEqual(doc2['id'], expected_topic)
        self.assertIs(doc2['active'], False)
        self.assertEqual(doc2['subscriber'], subscriber)
        self.assertEqual(doc2.get('payload'), payload)

    def test_one_event_per_selector_with_template_encoding(self):
        watcher = self.watch()
        self.sub([T1, T2], make_token(KEY))
        docs = [json.loads(e.data) for e in watcher.events(2)]
        self.assertEqual(sorted(d['topic'] for d in docs), sorted([T1, T2]))
        self.assertEqual(docs[0]['subscriber'], docs[1]['subscriber'])
        for d in docs:
            self.assertNotIn('payload', d)
            self.assertEqual(d['id'], '/.well-known/mercure/subscriptions/%s/%s' % (enc(d['topic']), enc(d['subscriber'])))
        tpl = [d for d in docs if d['topic'] == T2][0]
        self.assertIn('%7Bid%7D', tpl['id'])

    def test_subscription_events_are_private(self):
        anon_hub = Hub({'jwt_key': KEY, 'subscriptions': True, 'allow_anonymous': True}).start()
        self.addCleanup(anon_hub.stop)
        anon = SSEClient(anon_hub, [SUBS_TEMPLATE, 'marker'])
        self.addCleanup(anon.close)
        unauthorized = SSEClient(anon_hub, [SUBS_TEMPLATE, 'marker'], token=make_token(KEY, subscribe=[T1]))
        self.addCleanup(unauthorized.close)
        other = SSEClient(anon_hub, [T1])
        other.close()
        self.assertEqual(publish(anon_hub, make_token(KEY, publish=['*']), {'topic': 'marker', 'id': 'marker'})[0], 200)
        self.assertEqual(anon.next_event().id, 'marker')
        self.assertEqual(unauthorized.next_event().id, 'marker')

    def test_publishers_cannot_forge_subscription_events(self):
        status, body = publish(self.hub, make_token(KEY, publish=['*']),
                               {'topic': '/.well-known/mercure/subscriptions/x/y', 'data': '{}'})
        self.assertEqual(status, 403, body)

    def test_api_collection(self):
        s = self.sub([T1, T2], make_token(KEY, subscribe=[T1], payload={'a': 1}))
        status, hdrs, body = self.api(SUBS_PATH)
        self.assertEqual(status, 200, body)
        self.assertEqual((hdrs.get('Content-Type') or '').split(';')[0], 'application/ld+json')
        doc = json.loads(body)
        self.assertEqual(doc['@context'], 'https://mercure.rocks/')
        self.assertEqual(doc['id'], SUBS_PATH)
        self.assertEqual(doc['type'], 'Subscriptions')
        self.assertIn('lastEventID', doc)
        mine = [x for x in doc['subscriptions'] if x['topic'] in (T1, T2)]
        self.assertEqual(len(mine), 2, doc)
        for x in mine:
            self.assertEqual(x['type'], 'Subscription')
            self.assertIs(x['active'], True)
            self.assertEqual(x['payload'], {'a': 1})
            self.assertEqual(x['id'], '/.well-known/mercure/subscriptions/%s/%s' % (enc(x['topic']), enc(x['subscriber'])))
        self.assertEqual(strip_etag(hdrs.get('ETag')), doc['lastEventID'])
        s.close()

    def test_api_by_topic_and_single_subscription(self):
        self.sub([T1], make_token(KEY))
        self.sub([T2], make_token(KEY))
        status, _, body = self.api(SUBS_PATH + '/' + enc(T1))
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertEqual(doc['id'], SUBS_PATH + '/' + enc(T1))
        self.assertEqual([x['topic'] for x in doc['subscriptions']], [T1])
        one = doc['subscriptions'][0]
        status, _, body = self.api(one['id'])
        self.assertEqual(status, 200, body)
        single = json.loads(body)
        self.assertEqual(single['id'], one['id'])
        self.assertEqual(single['@context'], 'https://mercure.rocks/')
        self.assertEqual(single['type'], 'Subscription')
        self.assertEqual(single['subscriber'], one['subscriber'])
        self.assertIn('lastEventID', single)

    def test_api_unknown_subscription_is_404(self):
        status, _, body = self.api(SUBS_PATH + '/' + enc(T1) + '/' + enc('urn:uuid:00000000-0000-4000-8000-000000000000'))
        self.assertEqual(status, 404, body)

    def test_api_collection_reflects_disconnects(self):
        s = SSEClient(self.hub, ['gone-topic'], token=make_token(KEY))
        self.assertEqual(s.status, 200)
        status, _, body = self.api(SUBS_PATH + '/gone-topic')
        self.assertEqual(len(json.loads(body)['subscriptions']), 1)
        s.close()
        for _ in range(50):
            status, _, body = self.api(SUBS_PATH + '/gone-topic')
            if not json.loads(body)['subscriptions']:
                break
            time.sleep(0.02)
        self.assertEqual(json.loads(body)['subscriptions'], [])

    def test_api_etag_and_if_none_match(self):
        self.sub([T1], make_token(KEY))
        status, hdrs, body = self.api(SUBS_PATH)
        etag = hdrs.get('ETag')
        self.assertTrue(etag)
        status, _, body2 = self.api(SUBS_PATH, headers={'If-None-Match': etag})
        self.assertEqual(status, 304)
        self.assertEqual(body2, b'')
        # A new subscription changes lastEventID, so the old tag no longer matches.
        self.sub([T2], make_token(KEY))
        status, hdrs2, _ = self.api(SUBS_PATH, headers={'If-None-Match': etag})
        self.assertEqual(status, 200)
        self.assertNotEqual(hdrs2.get('ETag'), etag)

    def test_api_authorization(self):
        status, _, _ = self.api(SUBS_PATH, token=None)
        self.assertEqual(status, 401)
        status, _, _ = self.api(SUBS_PATH, token=make_token('wrong-key', subscribe=['*']))
        self.assertEqual(status, 401)
        status, _, _ = self.api(SUBS_PATH, token=make_token(KEY, subscribe=[T1]))
        self.assertEqual(status, 403)
        status, _, _ = self.api(SUBS_PATH, token=make_token(KEY, subscribe=['*']))
        self.assertEqual(status, 200)
        # A claim for one topic's subscriptions only.
        narrow = make_token(KEY, subscribe=[SUBS_PATH + '/' + enc(T1) + '{/subscriber}'])
        self.assertEqual(self.api(SUBS_PATH + '/' + enc(T1), token=narrow)[0], 200)
        self.assertEqual(self.api(SUBS_PATH, token=narrow)[0], 403)

    def test_api_is_get_only(self):
        status, _, _ = self.hub.get(SUBS_PATH, headers={'Authorization': 'Bearer ' + API})
        self.assertEqual(status, 200)
        status, _, _ = http_request(self.hub, 'POST', SUBS_PATH, body=b'', headers={'Authorization': 'Bearer ' + API})
        self.assertEqual(status, 405)


class SubscriptionsDisabledTest(HubTestCase):
    def test_api_absent_and_no_events_when_disabled(self):
        with Hub({'jwt_key': KEY}) as hub:
            status, _, _ = hub.get(SUBS_PATH, headers={'Authorization': 'Bearer ' + API})
            self.assertEqual(status, 404)
            with SSEClient(hub, [SUBS_TEMPLATE, 'marker'], token=WATCH) as w:
                SSEClient(hub, [T1], token=make_token(KEY)).close()
                self.assertEqual(publish(hub, make_token(KEY, publish=['*']), {'topic': 'marker', 'id': 'm'})[0], 200)
                self.assertEqual(w.next_event().id, 'm')


if __name__ == '__main__':
    main()
