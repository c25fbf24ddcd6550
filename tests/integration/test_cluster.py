"""Integration: cluster mode (issue 9). Two or three hubs share one Redis stream.

Each test starts a private redis-server on a free loopback port (owned by the test, so it can
be killed and restarted), then hubs with transport_url = "redis://127.0.0.1:PORT?stream=...".
Covered: cross-node delivery (exactly once, same order everywhere), Last-Event-ID across nodes
and for a node started later, the cluster-wide subscriptions API and subscription events (a
dead node's departures published once by a survivor; a node reaped while stopped announces its
subscriptions again), Redis
down at start (retry and fail-fast), Redis killed and restarted while a publisher runs (no
acknowledged update lost, refused ones got 503, subscribers stay connected), and a node killed
while its subscriber reads (it resumes on another node with Last-Event-ID and loses nothing).
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HUB_PATH, Hub, HubTestCase, SSEClient, SSETimeout, free_port, http_request, metric,  # noqa: E402
                     main, make_token, run_hub_command)

REDIS_SERVER = shutil.which('redis-server') or ('/usr/bin/redis-server' if os.path.exists('/usr/bin/redis-server')
                                                else None)
KEY = 'cluster-secret-key-0123456789abcdef'
PUB = make_token(KEY, publish=['*'])
SUBS_API = make_token(KEY, subscribe=['*'])
T1 = 'https://example.com/books/1'


class Redis:
    """A private redis-server on a free loopback port; persistent (AOF, fsync always) on demand."""

    def __init__(self, persistent=False, port=None, extra_args=()):
        self.port = port or free_port()
        self.persistent = persistent
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix='mercure-redis-')
        self.proc = None

    def start(self, timeout=10):
        cmd = [REDIS_SERVER, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
               '--dir', self.dir, '--daemonize', 'no', '--protected-mode', 'no',
               '--appendonly', 'yes' if self.persistent else 'no', '--appendfsync', 'always'] + self.extra_args
        self.log = open(os.path.join(self.dir, 'redis.log'), 'ab')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('redis-server exited with %s' % self.proc.returncode)
            try:
                if self.command('PING') == b'+PONG\r\n':
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError('redis-server did not answer PING within %ss' % timeout)

    def command(self, *args):
        """One command over a raw socket (RESP); the raw reply bytes (first read)."""
        payload = b'*%d\r\n' % len(args) + b''.join(
            b'$%d\r\n%s\r\n' % (len(a.encode()), a.encode()) for a in args)
        with socket.create_connection(('127.0.0.1', self.port), timeout=2) as s:
            s.sendall(payload)
            return s.recv(65536)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, 'log', None):
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, stream, **params):
        query = urllib.parse.urlencode(dict(stream=stream, **params))
        return 'redis://127.0.0.1:%d?%s' % (self.port, query)


class Publisher:
    """A keep-alive publisher that reconnects after an error; returns (status, body)."""

    def __init__(self, hub):
        self.hub = hub
        self.conn = None

    def __call__(self, fields):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.hub.host, self.hub.port, timeout=10)
                self.conn.request('POST', HUB_PATH, body=urllib.parse.urlencode(fields, doseq=True).encode(),
                                  headers={'Authorization': 'Bearer ' + PUB,
                                           'Content-Type': 'application/x-www-form-urlencoded'})
                r = self.conn.getresponse()
                return r.status, r.read().decode()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError('unreachable')

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))


def ready(hub):
    try:
        return http_request(hub, 'GET', '/readyz', timeout=2)[0] == 200
    except OSError:
        return False


@unittest.skipUnless(REDIS_SERVER, 'redis-server is not installed (tools/install-deps installs it)')
class ClusterTestCase(HubTestCase):
    persistent_redis = False

    def setUp(self):
        self.redis = Redis(persistent=self.persistent_redis).start()
        self.addCleanup(self.redis.cleanup)
        self.stream = 'mercure-test-%d' % os.getpid()

    def node(self, wait_ready=True, **extra):
        params = extra.pop('url_params', {})
        config = {'jwt_key': KEY, 'allow_anonymous': True,
                  'transport_url': self.redis.url(self.stream, **params)}
        config.update(extra)
        hub = Hub(config).start()
        self.addCleanup(hub.stop)
        if wait_ready:
            wait_until(lambda: ready(hub), 10, 'the node to report ready')
        return hub

    def sub(self, hub, topics=(T1,), **kw):
        s = SSEClient(hub, topics, **kw)
        self.addCleanup(s.close)
        if s.status != 200:
            self.fail('subscribe answered %d: %r' % (s.status, s.read_body()))
        return s

    def publish_ok(self, publisher, **fields):
        fields.setdefault('topic', T1)
        status, body = publisher(fields)
        self.assertEqual(status, 200, body)
        return body


class CrossNodeDeliveryTest(ClusterTestCase):
    def test_update_published_on_one_node_reaches_every_node_once_in_order(self):
        nodes = [self.node() for _ in range(3)]
        subs = [self.sub(n) for n in nodes]
        publishers = [Publisher(n) for n in nodes]
        for p in publishers:
            self.addCleanup(p.close)
        ids = ['u%d' % i for i in range(30)]
        for i, update_id in enumerate(ids):
            self.assertEqual(self.publish_ok(publishers[i % 3], id=update_id, data='d%d' % i), update_id)
        for s in subs:
            got = s.events(30, timeout=10)
            self.assertEqual([e.id for e in got], ids)
            self.assertEqual([e.data for e in got], ['d%d' % i for i in range(30)])
            s.assert_no_event(0.3)

    def test_concurrent_publishers_give_every_node_the_same_order(self):
        nodes = [self.node() for _ in range(3)]
        subs = [self.sub(n) for n in nodes]
        per_node = 40
        errors = []

        def run(hub, prefix):
            p = Publisher(hub)
            try:
                for i in range(per_node):
                    status, body = p({'topic': T1, 'id': '%s-%d' % (prefix, i)})
                    if status != 200:
                        errors.append((status, body))
            finally:
                p.close()
        threads = [threading.Thread(target=run, args=(n, 'n%d' % k)) for k, n in enumerate(nodes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        orders = [[e.id for e in s.events(3 * per_node, timeout=15)] for s in subs]
        self.assertEqual(len(set(orders[0])), 3 * per_node)  # exactly once
        self.assertEqual(orders[1], orders[0])              # same order on every node
        self.assertEqual(orders[2], orders[0])
        for k in range(3):  # each publisher's own order is kept
            mine = [i for i in orders[0] if i.startswith('n%d-' % k)]
            self.assertEqual(mine, ['n%d-%d' % (k, i) for i in range(per_node)])

    def test_fields_survive_the_stream(self):
        a, b = self.node(), self.node()
        s = self.sub(b, topics=['https://example.com/other'])
        p = Publisher(a)
        self.addCleanup(p.close)
        self.publish_ok(p, topic=['https://example.com/alt', 'https://example.com/other'], id='f1',
                        type='kind', retry='1500', data='line1\nline2\r\n\u00e9\u00e8')
        e = s.next_event(5)
        self.assertEqual(e.raw, 'event: kind\nretry: 1500\nid: f1\ndata: line1\ndata: line2\ndata: \u00e9\u00e8\n\n'
                         .encode())

    def test_private_update_reaches_only_authorized_subscribers_on_other_nodes(self):
        a, b = self.node(), self.node()
        allowed = self.sub(b, token=make_token(KEY, subscribe=[T1]))
        anonymous = self.sub(b)
        p = Publisher(a)
        self.addCleanup(p.close)
        self.publish_ok(p, id='secret', private='on')
        self.publish_ok(p, id='public')
        self.assertEqual([e.id for e in allowed.events(2, timeout=5)], ['secret', 'public'])
        self.assertEqual(anonymous.next_event(5).id, 'public')


class CrossNodeHistoryTest(ClusterTestCase):
    def test_reconnecting_to_another_node_replays_exactly_what_was_missed(self):
        a, b = self.node(), self.node()
        pa, pb = Publisher(a), Publisher(b)
        self.addCleanup(pa.close)
        self.addCleanup(pb.close)
        first = self.sub(a)
        for i in range(10):
            self.publish_ok(pa if i % 2 else pb, id='h%d' % i)
        seen = [e.id for e in first.events(4, timeout=5)]
        self.assertEqual(seen, ['h0', 'h1', 'h2', 'h3'])
        first.close()
        again = self.sub(b, last_event_id=seen[-1])
        self.assertEqual(again.headers.get('Last-Event-ID'), 'h3')
        self.assertEqual([e.id for e in again.events(6, timeout=5)], ['h%d' % i for i in range(4, 10)])
        again.assert_no_event(0.3)
        self.publish_ok(pa, id='live')
        self.assertEqual(again.next_event(5).id, 'live')

    def test_node_started_later_loads_the_stream_history(self):
        a = self.node()
        pa = Publisher(a)
        self.addCleanup(pa.close)
        for i in range(5):
            self.publish_ok(pa, id='old%d' % i)
        late = self.node(history_size=3)
        s = self.sub(late, last_event_id='old2')
        self.assertEqual(s.headers.get('Last-Event-ID'), 'old2')
        self.assertEqual([e.id for e in s.events(2, timeout=5)], ['old3', 'old4'])
        e = self.sub(late, query={'lastEventID': 'earliest'})
        self.assertEqual([x.id for x in e.events(3, timeout=5)], ['old2', 'old3', 'old4'])
        unknown = self.sub(late, last_event_id='old0')  # beyond this node's window of 3
        self.assertEqual(unknown.headers.get('Last-Event-ID'), 'earliest')


class ClusterSubscriptionsTest(ClusterTestCase):
    def test_api_on_any_node_lists_every_node_and_events_cross_nodes(self):
        a = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        b = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        watcher = self.sub(b, topics=['/.well-known/mercure/subscriptions{/topic}{/subscriber}'], token=SUBS_API)
        on_a = self.sub(a, topics=[T1])
        # The watcher first sees its own arrival (published by node B), then node A's subscriber.
        docs = [json.loads(watcher.next_event(5).data)]
        while docs[-1]['topic'] != T1:
            docs.append(json.loads(watcher.next_event(5).data))
        doc = docs[-1]
        self.assertTrue(doc['active'])
        subscriber = doc['subscriber']

        def listed(hub):
            status, headers, body = http_request(hub, 'GET', HUB_PATH + '/subscriptions',
                                                 headers={'Authorization': 'Bearer ' + SUBS_API})
            self.assertEqual(status, 200, body)
            self.assertEqual(headers.get('Content-Type'), 'application/ld+json')
            return {(s['subscriber'], s['topic']) for s in json.loads(body)['subscriptions']}
        wait_until(lambda: (subscriber, T1) in listed(b), 5, 'node B to list the subscriber on node A')
        self.assertIn((subscriber, T1), listed(a))
        # The watcher on node B is listed by node A too.
        self.assertTrue(any(t.startswith('/.well-known/mercure/subscriptions') for _, t in listed(a)))
        # One subscription by topic and subscriber, asked on the other node.
        path = '%s/subscriptions/%s/%s' % (HUB_PATH, urllib.parse.quote(T1, safe=''),
                                            urllib.parse.quote(subscriber, safe=''))
        status, _, body = http_request(b, 'GET', path, headers={'Authorization': 'Bearer ' + SUBS_API})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)['subscriber'], subscriber)
        on_a.close()
        # Node B's XADD of the watcher's own arrival may reach the stream after node A's, so
        # that arrival can still be pending here: skip it, never anything about topic T1.
        gone = json.loads(watcher.next_event(5).data)
        while gone['topic'] != T1:
            self.assertTrue(gone['topic'].startswith('/.well-known/mercure/subscriptions'), gone)
            self.assertTrue(gone['active'], gone)
            gone = json.loads(watcher.next_event(5).data)
        self.assertEqual(gone['subscriber'], subscriber)
        self.assertFalse(gone['active'])
        wait_until(lambda: (subscriber, T1) not in listed(b), 5, 'the closed subscription to leave the list')

    def watch_events(self, hub):
        """A subscriber to every subscription event of the cluster; its own arrival is skipped."""
        watcher = self.sub(hub, topics=['/.well-known/mercure/subscriptions{/topic}{/subscriber}'], token=SUBS_API)
        own = json.loads(watcher.next_event(5).data)
        self.assertTrue(own['topic'].startswith('/.well-known/mercure/subscriptions'), own)
        return watcher

    def next_about(self, watcher, topic, timeout=8):
        """The next subscription event about `topic` (others, such as arrivals of watchers, skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            doc = json.loads(watcher.next_event(max(0.1, deadline - time.monotonic())).data)
            if doc['topic'] == topic:
                return doc

    def topics(self, hub):
        status, _, body = http_request(hub, 'GET', HUB_PATH + '/subscriptions',
                                       headers={'Authorization': 'Bearer ' + SUBS_API})
        self.assertEqual(status, 200, body)
        return {s['topic'] for s in json.loads(body)['subscriptions']}

    def test_a_dead_nodes_subscriptions_expire_and_their_departures_are_published(self):
        a = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        b = self.node(subscriptions=True, url_params={'presence_ttl': 3}, metrics=True)
        c = self.node(subscriptions=True, url_params={'presence_ttl': 3}, metrics=True)
        watcher = self.watch_events(b)
        self.sub(a, topics=['https://example.com/on-a'])
        arrival = self.next_about(watcher, 'https://example.com/on-a')
        self.assertTrue(arrival['active'])
        wait_until(lambda: 'https://example.com/on-a' in self.topics(b), 5, 'node B to list node A')
        a.stop(sig=signal.SIGKILL)
        started = time.monotonic()
        # One of the surviving nodes reaps node A and publishes the departure, exactly once.
        departure = self.next_about(watcher, 'https://example.com/on-a')
        self.assertEqual(departure['subscriber'], arrival['subscriber'])
        self.assertFalse(departure['active'])
        self.assertLess(time.monotonic() - started, 6)
        wait_until(lambda: 'https://example.com/on-a' not in self.topics(b), 3, "the dead node's subscriptions to go")
        self.assertNotIn('https://example.com/on-a', self.topics(c))
        with self.assertRaises(SSETimeout):
            self.next_about(watcher, 'https://example.com/on-a', timeout=2)
        reaped = sum(metric(hub, 'mercure_cluster_nodes_reaped_total') for hub in (b, c))
        self.assertEqual(reaped, 1)
        self.assertIn(b'dead node(s) reaped; 1 departure events published',
                      b.stderr_text().encode() + c.stderr_text().encode())

    def test_without_scripting_dead_nodes_still_leave_the_list(self):
        self.redis.stop()
        self.redis = Redis(extra_args=['--rename-command', 'EVAL', '']).start()  # as some managed offers
        self.addCleanup(self.redis.cleanup)
        a = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        b = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        self.sub(a, topics=['https://example.com/no-lua'])
        wait_until(lambda: 'https://example.com/no-lua' in self.topics(b), 5, 'node B to list node A')
        a.stop(sig=signal.SIGKILL)
        wait_until(lambda: 'https://example.com/no-lua' not in self.topics(b), 8, "the dead node's subscriptions to go")
        wait_until(lambda: self.redis.command('ZCARD', self.stream + ':nodes') == b':1\r\n', 5,
                   'the dead node to leave the node set')
        self.assertEqual(b.stderr_text().count('the reaper script failed'), 1)
        # A clean stop without scripting: the node leaves the list at once and publishes the
        # departures itself as it ends its streams.
        watcher = self.watch_events(b)
        c = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        self.sub(c, topics=['https://example.com/no-lua-stop'])
        self.assertTrue(self.next_about(watcher, 'https://example.com/no-lua-stop')['active'])
        c.stop()
        self.assertNotIn('https://example.com/no-lua-stop', self.topics(b))
        self.assertFalse(self.next_about(watcher, 'https://example.com/no-lua-stop')['active'])

    def test_a_node_stopping_cleanly_publishes_its_departures_once(self):
        a = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        b = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        watcher = self.watch_events(b)
        self.sub(a, topics=['https://example.com/leaving'])
        arrival = self.next_about(watcher, 'https://example.com/leaving')
        a.stop()  # SIGTERM: the node withdraws, appending its farewell, then ends its streams
        departure = self.next_about(watcher, 'https://example.com/leaving')
        self.assertEqual(departure['subscriber'], arrival['subscriber'])
        self.assertFalse(departure['active'])
        self.assertNotIn('https://example.com/leaving', self.topics(b))
        # Neither the stopping node (its streams' ends) nor a reaper publishes it again.
        with self.assertRaises(SSETimeout):
            self.next_about(watcher, 'https://example.com/leaving', timeout=5)
        self.assertIn('withdrew this node; 1 departure events published', a.stderr_text())

    def test_a_node_reaped_while_alive_announces_its_subscriptions_again(self):
        a = self.node(subscriptions=True, url_params={'presence_ttl': 3}, metrics=True)
        b = self.node(subscriptions=True, url_params={'presence_ttl': 3})
        watcher = self.watch_events(b)
        on_a = self.sub(a, topics=['https://example.com/paused'])
        arrival = self.next_about(watcher, 'https://example.com/paused')
        os.kill(a.proc.pid, signal.SIGSTOP)  # alive but silent for longer than presence_ttl
        try:
            departure = self.next_about(watcher, 'https://example.com/paused')
            self.assertFalse(departure['active'])
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        again = self.next_about(watcher, 'https://example.com/paused')
        self.assertTrue(again['active'])
        self.assertEqual(again['subscriber'], arrival['subscriber'])
        wait_until(lambda: 'https://example.com/paused' in self.topics(b), 5, 'node B to list node A again')
        self.assertEqual(metric(a, 'mercure_cluster_rejoins_total'), 1)
        self.assertIn('presence had expired', a.stderr_text())
        # Node A's subscriber kept its stream all along and still receives updates.
        p = Publisher(b)
        self.addCleanup(p.close)
        self.publish_ok(p, topic='https://example.com/paused', id='after-pause')
        self.assertEqual(on_a.next_event(5).id, 'after-pause')
        # Its normal departure later is published once, by node A itself.
        on_a.close()
        gone = self.next_about(watcher, 'https://example.com/paused')
        self.assertFalse(gone['active'])


class RedisFailureTest(ClusterTestCase):
    def test_redis_down_at_start_is_retried_in_the_background(self):
        port = free_port()
        self.redis.stop()
        self.redis = Redis(port=port)
        self.addCleanup(self.redis.cleanup)
        hub = self.node(wait_ready=False)
        self.assertEqual(http_request(hub, 'GET', '/healthz')[0], 200)
        status, _, body = http_request(hub, 'GET', '/readyz')
        self.assertEqual(status, 503)
        self.assertIn(b'cluster transport unavailable', body)
        early = self.sub(hub)
        p = Publisher(hub)
        self.addCleanup(p.close)
        status, body = p({'topic': T1, 'id': 'too-early'})
        self.assertEqual(status, 503)
        self.assertIn('cluster transport is unavailable', body)
        self.redis.start()
        wait_until(lambda: ready(hub), 10, 'the node to connect once Redis is up')
        self.publish_ok(p, id='now')
        self.assertEqual(early.next_event(5).id, 'now')
        self.assertIn('Redis unreachable at start', hub.stderr_text())

    def test_redis_down_at_start_with_start_fail_exits(self):
        port = free_port()
        rc, out, err, _ = run_hub_command(
            ['--config', '{config}'],
            config_text='jwt_key = "%s";\naddr = "127.0.0.1:%d";\ntransport_url = "redis://127.0.0.1:%d?start=fail&timeout_ms=500";\n'
                        % (KEY, free_port(), port))
        self.assertNotEqual(rc, 0)
        self.assertIn('cannot reach Redis at 127.0.0.1:%d' % port, err)

    def test_bad_redis_url_is_a_config_error(self):
        rc, out, err, _ = run_hub_command(
            ['--check-config', '--config', '{config}'],
            config_text='jwt_key = "%s";\ntransport_url = "redis://127.0.0.1:99999";\n' % KEY)
        self.assertNotEqual(rc, 0)
        self.assertIn('transport_url', err)
        self.assertIn('invalid port', err)

    def test_redis_lost_while_running(self):
        a, b = self.node(), self.node()
        s = self.sub(b)
        pa = Publisher(a)
        self.addCleanup(pa.close)
        self.publish_ok(pa, id='before')
        self.assertEqual(s.next_event(5).id, 'before')
        self.redis.stop(signal.SIGKILL)
        wait_until(lambda: not ready(a), 5, 'node A to report not ready')
        status, body = pa({'topic': T1, 'id': 'during'})
        self.assertEqual(status, 503)
        self.assertIn('Service Unavailable: the cluster transport is unavailable', body)
        self.redis.start()
        wait_until(lambda: ready(a) and ready(b), 15, 'both nodes to reconnect')
        self.publish_ok(pa, id='after')
        self.assertEqual(s.next_event(5).id, 'after')  # the same stream, still connected
        self.assertFalse(s.eof)
        status, _, metrics = http_request(a, 'GET', '/metrics')  # metrics are off: 404 is fine
        self.assertIn(status, (200, 404))


class RedisRestartTest(ClusterTestCase):
    persistent_redis = True  # AOF with fsync always: what Redis acknowledged survives its restart

    def test_no_acknowledged_update_is_lost_when_redis_restarts_under_load(self):
        a, b = self.node(metrics=True), self.node()
        s = self.sub(b)
        acked, refused = [], []
        stop = threading.Event()

        def publish_forever():
            p = Publisher(a)
            i = 0
            try:
                while not stop.is_set():
                    update_id = 'r%d' % i
                    i += 1
                    try:
                        status, body = p({'topic': T1, 'id': update_id})
                    except (OSError, http.client.HTTPException):
                        refused.append((update_id, 'connection error'))
                        continue
                    if status == 200:
                        acked.append(update_id)
                    else:
                        self.assertEqual(status, 503, body)
                        refused.append((update_id, body))
                        time.sleep(0.01)
            finally:
                p.close()
        t = threading.Thread(target=publish_forever)
        t.start()
        try:
            wait_until(lambda: len(acked) >= 50, 10, '50 acknowledged updates')
            self.redis.stop(signal.SIGKILL)
            time.sleep(0.7)
            self.redis.start()
            wait_until(lambda: ready(a) and ready(b), 15, 'both nodes to reconnect')
            n = len(acked)
            wait_until(lambda: len(acked) >= n + 50, 10, '50 more acknowledged updates after the restart')
        finally:
            stop.set()
            t.join(20)
        self.assertGreater(len(refused), 0, 'no publish was refused while Redis was down')
        received = []
        deadline = time.monotonic() + 20
        wanted = set(acked)
        while not wanted.issubset(received) and time.monotonic() < deadline:
            try:
                received.append(s.next_event(2).id)
            except SSETimeout:
                break
        self.assertFalse(s.eof, 'the subscriber was disconnected')
        missing = [i for i in acked if i not in set(received)]
        self.assertEqual(missing, [], 'acknowledged updates never delivered')
        self.assertEqual(len(received), len(set(received)), 'an update was delivered twice')
        refused_ids = {i for i, _ in refused}
        self.assertTrue(set(received) <= wanted | refused_ids)
        # Delivery order follows acknowledgement order.
        self.assertEqual([i for i in received if i in wanted], acked)
        status, _, metrics = http_request(a, 'GET', '/metrics')
        self.assertEqual(status, 200)
        self.assertIn(b'mercure_cluster_transport_up 1', metrics)
        self.assertIn(b'mercure_cluster_reconnects_total 1', metrics)


class NodeKilledTest(ClusterTestCase):
    def test_subscriber_of_a_killed_node_resumes_on_another_without_loss(self):
        a, b = self.node(), self.node()
        first = self.sub(a)
        acked = []
        stop = threading.Event()

        def publish_forever():
            p = Publisher(b)
            i = 0
            try:
                while not stop.is_set():
                    update_id = 'k%d' % i
                    i += 1
                    status, body = p({'topic': T1, 'id': update_id})
                    self.assertEqual(status, 200, body)
                    acked.append(update_id)
                    time.sleep(0.002)
            finally:
                p.close()
        t = threading.Thread(target=publish_forever)
        t.start()
        received = []
        try:
            while len(received) < 40:
                received.append(first.next_event(5).id)
            a.stop(sig=signal.SIGKILL)
            # Read what node A sent before dying, up to the end of its stream.
            try:
                while True:
                    received.append(first.next_event(2).id)
            except SSETimeout:
                pass
            self.assertTrue(first.eof)
            second = self.sub(b, last_event_id=received[-1])
            self.assertEqual(second.headers.get('Last-Event-ID'), received[-1])
            wait_until(lambda: len(acked) >= len(received) + 40, 10, 'more updates after the failover')
        finally:
            stop.set()
            t.join(20)
        wanted = list(acked)
        deadline = time.monotonic() + 15
        while len(received) < len(wanted) and time.monotonic() < deadline:
            try:
                received.append(second.next_event(2).id)
            except SSETimeout:
                break
        self.assertEqual(received, wanted)


if __name__ == '__main__':
    main()
