"""Integration: CORS on the hub URL (allowed origins, preflight, credentials, Origin: null)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HUB_PATH, Hub, HubTestCase, SSEClient, http_request, main, make_token, publish  # noqa: E402

KEY = 'cors-secret-key'
T1 = 'https://example.com/books/1'
ALLOWED = 'https://app.example'


class CorsTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'allow_anonymous': True,
                       'cors_allowed_origins': [ALLOWED, 'http://localhost:8080']}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def test_allowed_origin_on_subscribe(self):
        with SSEClient(self.hub, [T1], headers={'Origin': ALLOWED}) as s:
            self.assertEqual(s.status, 200)
            self.assertEqual(s.headers.get('Access-Control-Allow-Origin'), ALLOWED)
            self.assertEqual(s.headers.get('Access-Control-Allow-Credentials'), 'true')

    def test_second_allowed_origin(self):
        with SSEClient(self.hub, [T1], headers={'Origin': 'http://localhost:8080'}) as s:
            self.assertEqual(s.headers.get('Access-Control-Allow-Origin'), 'http://localhost:8080')

    def test_other_origin_gets_no_cors_headers(self):
        for origin in ('https://evil.example', 'https://app.example.evil', 'null', 'https://APP.example.com'):
            with self.subTest(origin=origin):
                with SSEClient(self.hub, [T1], headers={'Origin': origin}) as s:
                    self.assertIsNone(s.headers.get('Access-Control-Allow-Origin'), s.headers)
                    self.assertIsNone(s.headers.get('Access-Control-Allow-Credentials'), s.headers)

    def test_no_origin_no_cors_headers(self):
        with SSEClient(self.hub, [T1]) as s:
            self.assertIsNone(s.headers.get('Access-Control-Allow-Origin'), s.headers)

    def test_preflight(self):
        status, headers, _ = http_request(self.hub, 'OPTIONS', HUB_PATH + '?topic=x', headers={
            'Origin': ALLOWED, 'Access-Control-Request-Method': 'GET',
            'Access-Control-Request-Headers': 'authorization, cache-control, last-event-id'})
        self.assertIn(status, (200, 204))
        self.assertEqual(headers.get('Access-Control-Allow-Origin'), ALLOWED)
        self.assertEqual(headers.get('Access-Control-Allow-Credentials'), 'true')
        allowed = [h.strip().lower() for h in (headers.get('Access-Control-Allow-Headers') or '').split(',')]
        for h in ('authorization', 'cache-control', 'last-event-id'):
            self.assertIn(h, allowed, headers)

    def test_preflight_for_publish(self):
        status, headers, _ = http_request(self.hub, 'OPTIONS', HUB_PATH, headers={
            'Origin': ALLOWED, 'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'authorization'})
        self.assertIn(status, (200, 204))
        self.assertEqual(headers.get('Access-Control-Allow-Origin'), ALLOWED)
        methods = (headers.get('Access-Control-Allow-Methods') or '').upper()
        self.assertIn('POST', methods, headers)

    def test_preflight_from_other_origin(self):
        status, headers, _ = http_request(self.hub, 'OPTIONS', HUB_PATH, headers={
            'Origin': 'https://evil.example', 'Access-Control-Request-Method': 'GET'})
        self.assertIsNone(headers.get('Access-Control-Allow-Origin'), headers)

    def test_publish_response_has_cors_headers(self):
        status, headers, body = publish(self.hub, make_token(KEY, publish=['*']), {'topic': T1},
                                        headers={'Origin': ALLOWED}, full=True)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get('Access-Control-Allow-Origin'), ALLOWED)

    def test_error_response_has_cors_headers(self):
        # A browser can only read the 401 if the CORS headers are on it too.
        status, headers, body = publish(self.hub, None, {'topic': T1}, headers={'Origin': ALLOWED}, full=True)
        self.assertEqual(status, 401, body)
        self.assertEqual(headers.get('Access-Control-Allow-Origin'), ALLOWED)


class WildcardCorsTest(HubTestCase):
    def test_wildcard_allows_any_origin_and_file_pages(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'cors_allowed_origins': ['*']}) as hub:
            for origin in ('null', 'https://anything.example'):
                with self.subTest(origin=origin):
                    with SSEClient(hub, [T1], headers={'Origin': origin}) as s:
                        self.assertEqual(s.status, 200)
                        self.assertIn(s.headers.get('Access-Control-Allow-Origin'), (origin, '*'))


if __name__ == '__main__':
    main()
