"""Integration: welcome page, health check, routing errors and HTTP/1.1 basics of the hub."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CURL, HUB_PATH, Hub, HubTestCase, http_request, main,  # noqa: E402
                     parse_response_head, raw_exchange)

KEY = 'basics-secret-key'


class BasicsTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'allow_anonymous': True}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def test_welcome_page(self):
        status, headers, body = self.hub.get('/')
        self.assertEqual(status, 200)
        self.assertTrue((headers.get('Content-Type') or '').startswith('text/html'), headers)
        self.assertIn(b'Welcome to Mercure!', body)

    def test_welcome_page_with_curl(self):
        p = subprocess.run([CURL, '-sS', '--max-time', '5', self.hub.url('/')], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b'Welcome to Mercure!', p.stdout)

    def test_healthz(self):
        status, _, body = self.hub.get('/healthz')
        self.assertEqual(status, 200)
        self.assertEqual(body.strip(), b'ok')

    def test_unknown_path_is_404(self):
        for path in ('/nope', '/.well-known/other', '/healthz/extra', '/.well-known/mercurex'):
            with self.subTest(path=path):
                status, _, _ = self.hub.get(path)
                self.assertEqual(status, 404)

    def test_wrong_method_on_hub_url_is_405(self):
        for method in ('PUT', 'DELETE', 'PATCH'):
            with self.subTest(method=method):
                status, _, _ = http_request(self.hub, method, HUB_PATH + '?topic=x', body=b'')
                self.assertEqual(status, 405)

    def test_head_on_hub_url_is_accepted(self):
        status, headers, _ = http_request(self.hub, 'HEAD', HUB_PATH + '?topic=https%3A%2F%2Fexample.com%2Fa')
        self.assertEqual(status, 200)
        self.assertTrue((headers.get('Content-Type') or '').startswith('text/event-stream'), headers)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        req = ('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' * 2 +
               'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').encode()
        data = raw_exchange(self.hub, req, timeout=3)
        self.assertEqual(data.count(b'HTTP/1.1 200'), 3, data)

    def test_slow_partial_request_does_not_block_others(self):
        s = socket.create_connection((self.hub.host, self.hub.port), timeout=3)
        try:
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')  # head not finished
            status, _, body = self.hub.get('/healthz', timeout=2)
            self.assertEqual((status, body.strip()), (200, b'ok'))
            s.sendall(b'\r\n')
            s.settimeout(3)
            self.assertTrue(s.recv(4096).startswith(b'HTTP/1.1 200'))
        finally:
            s.close()

    def test_garbage_request_is_refused_and_hub_survives(self):
        for garbage in (b'GARBAGE\r\n\r\n', b'GET\r\n\r\n', b'\x00\x01\x02\xff\r\n\r\n',
                        b'GET / HTTP/9.9\r\nHost: x\r\n\r\n', b'GET / HTTP/1.1\r\nno colon here\r\n\r\n'):
            with self.subTest(garbage=garbage):
                data = raw_exchange(self.hub, garbage, timeout=2)
                if data:
                    status, _, _ = parse_response_head(data)
                    self.assertIsNotNone(status, data)
                    self.assertTrue(400 <= status < 600, data)
                status, _, body = self.hub.get('/healthz')
                self.assertEqual((status, body.strip()), (200, b'ok'))

    def test_oversized_request_head_is_refused(self):
        req = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * (64 * 1024) + b'\r\n\r\n'
        data = raw_exchange(self.hub, req, timeout=3)
        status, _, _ = parse_response_head(data)
        self.assertEqual(status, 431, data[:200])
        self.assertEqual(self.hub.get('/healthz')[0], 200)

    def test_abrupt_disconnects_do_not_hurt(self):
        for _ in range(20):
            s = socket.create_connection((self.hub.host, self.hub.port), timeout=2)
            s.sendall(b'GET ' + HUB_PATH.encode() + b'?topic=a HTTP/1.1\r\nHost: x\r\n\r\n')
            s.close()
        self.assertEqual(self.hub.get('/healthz')[0], 200)


class LifecycleTest(HubTestCase):
    def test_sigterm_exits_cleanly(self):
        hub = Hub({'jwt_key': KEY}).start()
        try:
            hub.proc.send_signal(signal.SIGTERM)
            rc = hub.proc.wait(timeout=5)
            self.assertEqual(rc, 0, hub.stderr_text())
        finally:
            hub.stop()

    def test_sigterm_with_open_subscriber_exits_cleanly(self):
        hub = Hub({'jwt_key': KEY, 'allow_anonymous': True}).start()
        try:
            s = socket.create_connection((hub.host, hub.port), timeout=3)
            s.sendall(b'GET ' + HUB_PATH.encode() + b'?topic=a HTTP/1.1\r\nHost: x\r\n\r\n')
            s.recv(4096)
            t0 = time.monotonic()
            hub.proc.send_signal(signal.SIGTERM)
            rc = hub.proc.wait(timeout=5)
            self.assertEqual(rc, 0, hub.stderr_text())
            self.assertLess(time.monotonic() - t0, 5)
            s.close()
        finally:
            hub.stop()


if __name__ == '__main__':
    main()
