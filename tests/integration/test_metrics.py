"""Integration: /metrics (Prometheus text, basic auth, metrics_addr), /healthz and /readyz."""
import base64
import http.client
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HUB_PATH, Hub, HubTestCase, SSEClient, free_port, http_request, main, make_token, publish  # noqa: E402

KEY = 'metrics-secret-key'
TOPIC = 'https://example.com/metrics/1'


def metric(text, name, labels=''):
    match = re.search(r'^%s%s (\d+)$' % (re.escape(name), re.escape(labels)), text, re.M)
    return int(match.group(1)) if match else None


class MetricsTest(HubTestCase):
    def test_counters_follow_traffic(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'metrics': True}) as hub:
            token = make_token(KEY, publish=['*'])
            with SSEClient(hub, [TOPIC]) as s:
                self.assertEqual(publish(hub, token, {'topic': TOPIC, 'data': 'hello'})[0], 200)
                s.next_event()
                self.assertEqual(publish(hub, 'bad.token.here', {'topic': TOPIC, 'data': 'x'})[0], 401)
                self.assertEqual(publish(hub, make_token(KEY, publish=['other']), {'topic': TOPIC})[0], 403)
                status, headers, body = hub.get('/metrics')
                self.assertEqual(status, 200)
                self.assertTrue(headers.get('Content-Type').startswith('text/plain; version=0.0.4'))
                text = body.decode()
                self.assertEqual(metric(text, 'mercure_subscribers_connected'), 1)
                self.assertEqual(metric(text, 'mercure_subscribers_total'), 1)
                self.assertEqual(metric(text, 'mercure_updates_total'), 1)
                self.assertEqual(metric(text, 'mercure_updates_failed_total'), 2)
                self.assertEqual(metric(text, 'mercure_published_bytes_total'), 5)
                self.assertEqual(metric(text, 'mercure_deliveries_total'), 1)
                self.assertEqual(metric(text, 'mercure_auth_refusals_total', '{reason="malformed"}'), 1)
                self.assertEqual(metric(text, 'mercure_auth_refusals_total', '{reason="forbidden"}'), 1)
                self.assertEqual(metric(text, 'mercure_history_entries'), 1)
                self.assertIn('mercure_build_info{version="', text)
                for line in text.splitlines():
                    self.assertTrue(line.startswith('#') or re.match(r'^[a-z_]+(\{[a-z_]+="[^"]*"\})? \d+$', line), line)

    def test_metrics_off_by_default(self):
        with Hub({'jwt_key': KEY}) as hub:
            self.assertEqual(hub.get('/metrics')[0], 404)
            self.assertEqual(hub.get('/healthz')[2], b'ok')
            self.assertEqual(hub.get('/readyz')[2], b'ready')

    def test_basic_auth(self):
        with Hub({'jwt_key': KEY, 'metrics': True, 'metrics_login': 'ops', 'metrics_password': 'pw'}) as hub:
            status, headers, _ = hub.get('/metrics')
            self.assertEqual(status, 401)
            self.assertIn('Basic', headers.get('WWW-Authenticate'))
            wrong = base64.b64encode(b'ops:nope').decode()
            self.assertEqual(hub.get('/metrics', headers={'Authorization': 'Basic ' + wrong})[0], 401)
            good = base64.b64encode(b'ops:pw').decode()
            self.assertEqual(hub.get('/metrics', headers={'Authorization': 'Basic ' + good})[0], 200)

    def test_separate_metrics_address(self):
        port = free_port()
        with Hub({'jwt_key': KEY, 'metrics': True, 'metrics_addr': '127.0.0.1:%d' % port}) as hub:
            self.assertEqual(hub.get('/metrics')[0], 404)  # not on the main listener
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            conn.request('GET', '/metrics')
            response = conn.getresponse()
            self.assertEqual(response.status, 200)
            self.assertIn(b'mercure_subscribers_connected', response.read())
            conn.request('GET', HUB_PATH + '?topic=x')  # the admin address serves nothing else
            response = conn.getresponse()
            self.assertEqual(response.status, 404)
            response.read()
            conn.close()

    def test_metrics_addr_answers_while_clients_fill_max_connections(self):
        port = free_port()
        config = {'jwt_key': KEY, 'allow_anonymous': True, 'max_connections': 2, 'metrics': True,
                  'metrics_addr': '127.0.0.1:%d' % port}
        with Hub(config) as hub, SSEClient(hub, ['x']) as first, SSEClient(hub, ['x']) as second:
            self.assertEqual((first.status, second.status), (200, 200))
            with self.assertRaises((OSError, http.client.HTTPException)):  # over the limit: closed
                hub.get('/healthz', timeout=2)
            for _ in range(3):  # admin connections do not count against max_connections
                conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
                conn.request('GET', '/healthz')
                self.assertEqual(conn.getresponse().status, 200)
                conn.close()

    def test_metrics_addr_serves_probes_without_metrics(self):
        port = free_port()
        with Hub({'jwt_key': KEY, 'metrics_addr': '127.0.0.1:%d' % port}):
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            for path, status in (('/healthz', 200), ('/readyz', 200), ('/metrics', 404)):
                conn.request('GET', path)
                response = conn.getresponse()
                response.read()
                self.assertEqual(response.status, status, path)
            conn.close()

    def test_readyz_fails_while_draining(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [TOPIC]) as s:
                self.assertEqual(hub.get('/readyz')[0], 200)
                # Keep one connection open mid-request so the drain lasts, then stop the hub.
                import socket
                slow = socket.create_connection((hub.host, hub.port), timeout=5)
                slow.sendall(b'GET /readyz HTTP/1.1\r\nHost: x\r\n')
                hub.proc.send_signal(signal.SIGTERM)
                time.sleep(0.3)
                slow.sendall(b'\r\n')
                data = slow.recv(4096)
                slow.close()
                self.assertIn(b' 503 ', data.split(b'\r\n')[0])
                self.assertIn(b'draining', data)
                s.close()


if __name__ == '__main__':
    main()
