"""Integration: POST /.well-known/mercure success and error cases, driven with curl."""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HUB_PATH, UUID_URN_RE, Hub, HubTestCase, SSEClient, main, make_token,  # noqa: E402
                     none_token, publish, sign_jws)

KEY = 'publish-secret-key-0123456789'
TOPIC = 'https://example.com/books/1'
MAX_BODY = 4096


def tok(publish=('*',), **kw):
    return make_token(KEY, publish=publish, **kw)


class PublishTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'allow_anonymous': True, 'max_body_size': MAX_BODY}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def assertErrorBody(self, body):
        self.assertTrue(body.strip(), 'error body is empty')
        self.assertNotIn('\n', body.strip(), 'error body is not one line: %r' % body)

    def pub(self, fields, token=None, **kw):
        return publish(self.hub, tok() if token is None else token, fields, **kw)

    # -- success --
    def test_success_generates_urn_uuid(self):
        status, headers, body = publish(self.hub, tok(), {'topic': TOPIC, 'data': 'hello'}, full=True)
        self.assertEqual(status, 200, body)
        self.assertTrue((headers.get('Content-Type') or '').startswith('text/plain'), headers)
        self.assertRegex(body, UUID_URN_RE)

    def test_generated_ids_are_unique(self):
        ids = {self.pub({'topic': TOPIC, 'data': str(i)})[1] for i in range(5)}
        self.assertEqual(len(ids), 5)
        for i in ids:
            self.assertRegex(i, UUID_URN_RE)

    def test_client_id_echoed_verbatim(self):
        for cid in ('my-id-1', 'urn:uuid:d51e1d4d-1234-4f6e-8fd8-3c3b1c0e8a10', 'a b/c?d=e&f=g+h%20',
                    'ünïcødé-✓', 'x#y'):
            with self.subTest(id=cid):
                status, body = self.pub({'topic': TOPIC, 'id': cid, 'data': 'd'})
                self.assertEqual(status, 200, body)
                self.assertEqual(body, cid)

    def test_content_type_with_charset(self):
        for ct in ('application/x-www-form-urlencoded; charset=UTF-8',
                   'application/x-www-form-urlencoded;charset=utf-8',
                   'Application/X-WWW-Form-Urlencoded'):
            with self.subTest(ct=ct):
                status, body = self.pub({'topic': TOPIC, 'data': 'x'}, content_type=ct)
                self.assertEqual(status, 200, body)

    def test_all_fields(self):
        status, body = self.pub([('topic', TOPIC), ('topic', 'https://example.com/alt'), ('data', 'd'),
                                 ('private', 'on'), ('id', 'all-fields'), ('type', 'mytype'), ('retry', '1500')])
        self.assertEqual((status, body), (200, 'all-fields'))

    def test_retry_zero_and_large_accepted(self):
        for retry in ('0', '3000', '4294967296'):
            with self.subTest(retry=retry):
                status, body = self.pub({'topic': TOPIC, 'retry': retry})
                self.assertEqual(status, 200, body)

    def test_no_data_field_is_fine(self):
        status, body = self.pub({'topic': TOPIC})
        self.assertEqual(status, 200, body)

    def test_http_client_keep_alive_publishes(self):
        conn = http.client.HTTPConnection(self.hub.host, self.hub.port, timeout=5)
        try:
            for i in range(3):
                conn.request('POST', HUB_PATH, body='topic=%s&id=ka-%d' % (TOPIC, i),
                             headers={'Authorization': 'Bearer ' + tok(),
                                      'Content-Type': 'application/x-www-form-urlencoded'})
                resp = conn.getresponse()
                self.assertEqual((resp.status, resp.read()), (200, b'ka-%d' % i))
        finally:
            conn.close()

    def test_publish_claim_template_covers_topic(self):
        status, body = self.pub({'topic': TOPIC}, token=tok(publish=['https://example.com/books/{id}']))
        self.assertEqual(status, 200, body)

    def test_publish_claim_exact_match_covers_topic(self):
        status, body = self.pub({'topic': TOPIC}, token=tok(publish=[TOPIC]))
        self.assertEqual(status, 200, body)

    # -- 400 --
    def test_missing_topic_is_400(self):
        for fields in ({'data': 'x'}, {}, {'topic_': TOPIC}):
            with self.subTest(fields=fields):
                status, body = self.pub(fields)
                self.assertEqual(status, 400, body)
                self.assertErrorBody(body)

    def test_empty_topic_is_400(self):
        for fields in ({'topic': ''}, [('topic', TOPIC), ('topic', '')]):
            with self.subTest(fields=fields):
                status, body = self.pub(fields)
                self.assertEqual(status, 400, body)
                self.assertErrorBody(body)

    def test_too_many_topics_is_400(self):
        with Hub({'jwt_key': KEY}) as hub:  # default body limit: 1001 topics fit in it
            status, body = publish(hub, tok(), [('topic', 'https://example.com/t/%d' % i) for i in range(1001)],
                                   via='http')
            self.assertEqual(status, 400, body)
            status, body = publish(hub, tok(), [('topic', 'https://example.com/t/%d' % i) for i in range(1000)],
                                   via='http')
            self.assertEqual(status, 200, body)

    def test_bad_retry_is_400(self):
        for retry in ('abc', '-1', '1.5', '1e3', '12abc', '0x10', ' 5'):
            with self.subTest(retry=retry):
                status, body = self.pub({'topic': TOPIC, 'retry': retry})
                self.assertEqual(status, 400, body)
                self.assertErrorBody(body)

    def test_id_with_control_chars_is_400(self):
        for bad in ('a\rb', 'a\nb', 'a\r\nid: evil', 'a\0b', '\n'):
            with self.subTest(id=bad):
                status, body = self.pub({'topic': TOPIC, 'id': bad, 'data': 'x'})
                self.assertEqual(status, 400, body)
                self.assertErrorBody(body)

    def test_type_with_control_chars_is_400(self):
        for bad in ('a\rb', 'a\nb', 'message\ndata: injected', 'a\0b'):
            with self.subTest(type=bad):
                status, body = self.pub({'topic': TOPIC, 'type': bad, 'data': 'x'})
                self.assertEqual(status, 400, body)
                self.assertErrorBody(body)

    def test_id_starting_with_hash_is_400(self):
        for bad in ('#', '#frag', '#1'):
            with self.subTest(id=bad):
                status, body = self.pub({'topic': TOPIC, 'id': bad})
                self.assertEqual(status, 400, body)
                self.assertErrorBody(body)

    def test_non_form_body_is_refused(self):
        for ct in ('application/json', 'text/plain', 'multipart/form-data; boundary=x'):
            with self.subTest(content_type=ct):
                status, body = self.pub(None, body='topic=%s' % TOPIC, content_type=ct)
                self.assertEqual(status, 415, body)  # documented in mercure(8); upstream gives 400
                self.assertErrorBody(body)

    def test_malformed_percent_encoding_is_400(self):
        status, body = self.pub(None, body='topic=%zz&data=%', via='http')
        self.assertEqual(status, 400, body)

    # -- 403 reserved namespace --
    def test_topic_in_hub_namespace_is_403(self):
        for topic in ('https://hub.example/.well-known/mercure/subscriptions/x',
                      'https://example.com/.well-known/mercure',
                      '/.well-known/mercure/subscriptions/%2Fa/urn%3Auuid%3A1',
                      '/.well-known/mercure'):
            with self.subTest(topic=topic):
                status, body = self.pub({'topic': topic, 'data': 'x'})
                self.assertEqual(status, 403, body)
                self.assertErrorBody(body)

    def test_alternate_topic_in_hub_namespace_is_403(self):
        status, body = self.pub([('topic', TOPIC), ('topic', '/.well-known/mercure/subscriptions/x')])
        self.assertEqual(status, 403, body)

    # -- 401 --
    def test_no_token_is_401(self):
        status, body = publish(self.hub, None, {'topic': TOPIC, 'data': 'x'})
        self.assertEqual(status, 401, body)
        self.assertErrorBody(body)

    def test_invalid_tokens_are_401(self):
        now = int(time.time())
        cases = {
            'wrong key': make_token('not-the-key', publish=['*']),
            'expired': tok(exp=now - 60),
            'nbf in future': tok(nbf=now + 3600),
            'alg none': none_token(publish=['*']),
            'alg None': none_token(publish=['*'], alg_value='None'),
            'alg mismatch HS512': make_token(KEY, publish=['*'], alg='HS512'),
            'malformed one part': 'abc',
            'malformed three parts': 'a.b.c',
            'malformed empty': '',
            'signature stripped': tok().rsplit('.', 1)[0] + '.',
            'bad json payload': sign_jws({'alg': 'HS256', 'typ': 'JWT'}, '{"mercure":', key=KEY),
            'publish not an array': sign_jws({'alg': 'HS256', 'typ': 'JWT'},
                                             {'mercure': {'publish': '*'}, 'exp': now + 60}, key=KEY),
        }
        for name, token in cases.items():
            with self.subTest(case=name):
                status, body = self.pub({'topic': TOPIC, 'data': 'x'}, token=token)
                self.assertEqual(status, 401, body)
                self.assertErrorBody(body)

    # -- 403 not covered --
    def test_token_without_publish_claim_is_403(self):
        for token in (make_token(KEY), make_token(KEY, subscribe=['*']),
                      sign_jws({'alg': 'HS256', 'typ': 'JWT'}, {'exp': int(time.time()) + 60}, key=KEY)):
            with self.subTest(token=token):
                status, body = self.pub({'topic': TOPIC, 'data': 'x'}, token=token)
                self.assertEqual(status, 403, body)
                self.assertErrorBody(body)

    def test_empty_publish_claim_is_403(self):
        status, body = self.pub({'topic': TOPIC}, token=tok(publish=[]))
        self.assertEqual(status, 403, body)

    def test_publish_claim_not_covering_topic_is_403(self):
        for selectors in (['https://example.com/books/2'], ['https://example.com/authors/{id}'],
                          ['https://example.com/books'], ['https://example.com/books/1/']):
            with self.subTest(selectors=selectors):
                status, body = self.pub({'topic': TOPIC}, token=tok(publish=selectors))
                self.assertEqual(status, 403, body)

    def test_publish_claim_must_cover_alternate_topics_too(self):
        status, body = self.pub([('topic', TOPIC), ('topic', 'https://example.com/other')],
                                token=tok(publish=[TOPIC]))
        self.assertEqual(status, 403, body)
        status, body = self.pub([('topic', TOPIC), ('topic', 'https://example.com/other')],
                                token=tok(publish=[TOPIC, 'https://example.com/other']))
        self.assertEqual(status, 200, body)

    def test_refused_publish_dispatches_nothing(self):
        with SSEClient(self.hub, ['*']) as sub:
            status, _ = self.pub([('topic', TOPIC), ('topic', 'https://example.com/other')], token=tok(publish=[TOPIC]))
            self.assertEqual(status, 403)
            status, _ = self.pub({'topic': TOPIC, 'retry': 'bad'})
            self.assertEqual(status, 400)
            status, _ = publish(self.hub, None, {'topic': TOPIC})
            self.assertEqual(status, 401)
            status, _ = self.pub({'topic': TOPIC, 'id': 'marker', 'data': 'marker'})
            self.assertEqual(status, 200)
            ev = sub.next_event()
            self.assertEqual(ev.id, 'marker')

    # -- 413 --
    def test_body_above_limit_is_413(self):
        data = 'x' * (MAX_BODY * 2)
        status, body = self.pub({'topic': TOPIC, 'data': data})
        self.assertEqual(status, 413, body)
        self.assertEqual(self.hub.get('/healthz')[0], 200)

    def test_large_body_far_above_limit_is_413(self):
        status, body = self.pub(None, body='topic=x&data=' + 'y' * (1 << 20))
        self.assertEqual(status, 413, body)

    def test_body_below_limit_is_accepted(self):
        data = 'x' * (MAX_BODY - 200)
        status, body = self.pub({'topic': TOPIC, 'data': data})
        self.assertEqual(status, 200, body)

    def test_default_body_limit_accepts_large_update(self):
        with Hub({'jwt_key': KEY}) as hub:
            status, body = publish(hub, tok(), {'topic': TOPIC, 'data': 'z' * 200000})
            self.assertEqual(status, 200, body)


if __name__ == '__main__':
    main()
