"""Integration: the mercure-publish and mercure-subscribe command-line clients against the real hub.

Needs $MERCURE_PUBLISH_BIN and $MERCURE_SUBSCRIBE_BIN (set by meson); the tests of a tool that
is not built are skipped.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HUB_PATH, UUID_URN_RE, Hub, HubTestCase, SSEClient, free_port, main, make_token  # noqa: E402

PUBLISH_BIN = os.path.abspath(os.environ['MERCURE_PUBLISH_BIN']) if os.environ.get('MERCURE_PUBLISH_BIN') else None
SUBSCRIBE_BIN = os.path.abspath(os.environ['MERCURE_SUBSCRIBE_BIN']) if os.environ.get('MERCURE_SUBSCRIBE_BIN') else None

KEY = 'tools-secret-key-0123456789abcdef'
TOPIC = 'https://example.com/tools'

# The tools read these; the outer environment must not leak into a test.
TOOL_ENV_VARS = ('MERCURE_TOKEN', 'MERCURE_URL')


def tool_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in TOOL_ENV_VARS}
    env.update(extra or {})
    return env


def need(binary, name):
    if not binary or not os.path.exists(binary):
        raise unittest.SkipTest('%s is not built' % name)


def run_publish(args, input=b'', env=None, timeout=15):
    """Runs mercure-publish to completion: (rc, stdout bytes, stderr text)."""
    need(PUBLISH_BIN, 'mercure-publish')
    p = subprocess.run([PUBLISH_BIN] + list(args), input=input, capture_output=True, env=tool_env(env),
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace')


def run_subscribe(args, env=None, timeout=15):
    """Runs mercure-subscribe to completion: (rc, stdout bytes, stderr text, seconds taken)."""
    need(SUBSCRIBE_BIN, 'mercure-subscribe')
    start = time.monotonic()
    p = subprocess.run([SUBSCRIBE_BIN] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       env=tool_env(env), timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace'), time.monotonic() - start


class Subscriber:
    """mercure-subscribe -v running in the background; stdout and stderr go to files."""

    def __init__(self, args, env=None):
        need(SUBSCRIBE_BIN, 'mercure-subscribe')
        self.tmp = tempfile.mkdtemp(prefix='mercure-sub-')
        self.out_path = os.path.join(self.tmp, 'stdout')
        self.err_path = os.path.join(self.tmp, 'stderr')
        with open(self.out_path, 'wb') as out, open(self.err_path, 'wb') as err:
            self.proc = subprocess.Popen([SUBSCRIBE_BIN, '-v'] + list(args), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=tool_env(env))

    def _read(self, path):
        with open(path, 'rb') as f:
            return f.read()

    def stdout(self):
        return self._read(self.out_path)

    def stderr(self):
        return self._read(self.err_path).decode('utf-8', 'replace')

    def wait_stderr(self, text, count=1, timeout=6):
        """Waits until `text` appears `count` times on stderr."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stderr().count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError('mercure-subscribe did not print %r %d time(s) within %ss (rc %s)\nstderr:\n%s'
                             % (text, count, timeout, self.proc.poll(), self.stderr()))

    def wait_connected(self, count=1, timeout=6):
        self.wait_stderr('connected to ', count, timeout)

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError('mercure-subscribe still runs after %ss\nstdout:\n%r\nstderr:\n%s'
                                 % (timeout, self.stdout(), self.stderr()))

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print('\n----- mercure-subscribe stderr -----\n%s\n----- stdout -----\n%r'
                  % (self.stderr(), self.stdout()), file=sys.stderr)
        self.close()
        return False


def text_ids(output):
    """The ids of the events in mercure-subscribe's text output, in order."""
    return [line[4:] for line in output.decode('utf-8').split('\n') if line.startswith('id: ')]


def pub_token(publish=('*',)):
    return make_token(KEY, publish=list(publish))


def sub_token(subscribe=('*',)):
    return make_token(KEY, subscribe=list(subscribe))


class ToolsTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'history_size': 100}).start()
        cls.url = cls.hub.url(HUB_PATH)

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def topic(self):
        """A topic of this test only, so that history from other tests never matches."""
        return '%s/%s' % (TOPIC, self._testMethodName)

    def subscribe_raw(self, topic, **kw):
        return SSEClient(self.hub, topics=[topic], token=sub_token(), **kw)

    def publish(self, args, input=b'', env=None, token=None):
        base = ['--url', self.url]
        if token is not False and '--config' not in args and '--token-file' not in args:
            base += ['--token', token or pub_token()]
        return run_publish(base + list(args), input=input, env=env)

    # -- mercure-publish --
    def test_publish_with_token_prints_generated_id(self):
        topic = self.topic()
        sse = self.subscribe_raw(topic)
        rc, out, err = self.publish(['--topic', topic, '--data', 'hello'])
        self.assertEqual(rc, 0, err)
        update_id = out.decode().rstrip('\n')
        self.assertTrue(out.endswith(b'\n'))
        self.assertRegex(update_id, UUID_URN_RE)
        event = sse.next_event()
        self.assertEqual((event.id, event.data), (update_id, 'hello'))

    def test_publish_all_fields(self):
        topic = self.topic()
        sse = self.subscribe_raw(topic)
        rc, out, err = self.publish(['-t', topic, '-t', 'https://example.com/alternate', '-d', 'x', '--id', 'my-id',
                                     '--type', 'my-type', '--retry', '1500', '--private'])
        self.assertEqual((rc, out), (0, b'my-id\n'), err)
        event = sse.next_event()
        self.assertEqual((event.id, event.event, event.retry, event.data), ('my-id', 'my-type', '1500', 'x'))

    def test_private_update_needs_a_subscribe_claim(self):
        topic = self.topic()
        allowed = self.subscribe_raw(topic)
        denied = SSEClient(self.hub, topics=[topic], token=sub_token(['https://other.example.com/x']))
        rc, out, err = self.publish(['-t', topic, '-d', 'secret', '--private'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(allowed.next_event().data, 'secret')
        denied.assert_no_event(0.5)

    def test_publish_with_config_mints_a_token_and_finds_the_hub(self):
        topic = self.topic()
        sse = self.subscribe_raw(topic)
        # No --url: the address comes from the hub's configuration file.
        rc, out, err = run_publish(['--config', self.hub.config_path, '--topic', topic, '--data', 'from config'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sse.next_event().data, 'from config')

    def test_publish_config_token_covers_only_the_topics_given(self):
        # The minted token allows exactly the update's topics, so the hub accepts it.
        topic = self.topic()
        rc, _, err = run_publish(['--config', self.hub.config_path, '-t', topic, '-t', topic + '/alt', '-d', 'x'])
        self.assertEqual(rc, 0, err)

    def test_publish_data_from_stdin(self):
        topic = self.topic()
        sse = self.subscribe_raw(topic)
        data = 'from stdin\nsecond line & more = 100% +plus\n'
        rc, out, err = self.publish(['--topic', topic], input=data.encode('utf-8'))
        self.assertEqual(rc, 0, err)
        self.assertEqual(sse.next_event().data, data)

    def test_multiline_data_byte_exact(self):
        topic = self.topic()
        sse = self.subscribe_raw(topic)
        data = '\n  first line, indented  \n\n\tthird: a tab\nünïcødé ✓ 😀\n{"json": [1, 2]}\n%41%2B+&a=b\n\n'
        for how in ('arg', 'file', 'stdin'):
            with self.subTest(how=how):
                if how == 'arg':
                    rc, out, err = self.publish(['-t', topic, '--data', data])
                elif how == 'file':
                    with tempfile.NamedTemporaryFile(mode='wb') as f:
                        f.write(data.encode('utf-8'))
                        f.flush()
                        rc, out, err = self.publish(['-t', topic, '--data-file', f.name])
                else:
                    rc, out, err = self.publish(['-t', topic], input=data.encode('utf-8'))
                self.assertEqual(rc, 0, err)
                event = sse.next_event()
                self.assertEqual(event.data, data)
                self.assertEqual(event.id, out.decode().strip())

    def test_empty_data(self):
        topic = self.topic()
        sse = self.subscribe_raw(topic)
        rc, _, err = self.publish(['-t', topic, '--data', ''])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sse.next_event().data, '')

    def test_token_from_environment_and_file(self):
        topic = self.topic()
        rc, _, err = self.publish(['-t', topic, '-d', 'x'], env={'MERCURE_TOKEN': pub_token()}, token=False)
        self.assertEqual(rc, 0, err)
        with tempfile.NamedTemporaryFile(mode='w') as f:
            f.write('\n  %s  \n' % pub_token())
            f.flush()
            rc, _, err = self.publish(['-t', topic, '-d', 'x', '--token-file', f.name])
        self.assertEqual(rc, 0, err)
        # --token wins over the environment.
        rc, _, err = self.publish(['-t', topic, '-d', 'x', '--token', pub_token()], env={'MERCURE_TOKEN': 'bad'},
                                  token=False)
        self.assertEqual(rc, 0, err)

    def test_url_from_environment(self):
        rc, _, err = run_publish(['--token', pub_token(), '-t', self.topic(), '-d', 'x'], env={'MERCURE_URL': self.url})
        self.assertEqual(rc, 0, err)

    def test_refused_publish_exits_1_with_the_reason(self):
        topic = self.topic()
        cases = [
            (['--token', 'not.a.token'], 401),
            ([], 401),  # no token at all
            (['--token', pub_token(['https://example.com/elsewhere'])], 403),
        ]
        for token_args, status in cases:
            with self.subTest(status=status, token=token_args):
                rc, out, err = self.publish(['-t', topic, '-d', 'x'] + token_args, token=False)
                self.assertEqual(rc, 1, err)
                self.assertEqual(out, b'')
                self.assertRegex(err, r'^mercure-publish: %d \S' % status)
                self.assertEqual(err.count('\n'), 1, err)
        rc, _, err = self.publish(['-t', topic, '-d', 'x', '--id', '#fragment'])
        self.assertEqual(rc, 1)
        self.assertRegex(err, r'^mercure-publish: 400 \S')
        rc, _, err = self.publish(['-t', '/.well-known/mercure/subscriptions/x', '-d', 'x'])
        self.assertEqual(rc, 1)
        self.assertRegex(err, r'^mercure-publish: 403 \S')

    def test_body_too_large_is_refused_with_413(self):
        data = b'x' * (3 << 20)  # above the hub's default max_body_size of 1 MiB
        for how in ('stdin', 'file'):
            with self.subTest(how=how):
                if how == 'stdin':
                    rc, out, err = self.publish(['-t', self.topic()], input=data)
                else:
                    with tempfile.NamedTemporaryFile() as f:
                        f.write(data)
                        f.flush()
                        rc, out, err = self.publish(['-t', self.topic(), '--data-file', f.name])
                self.assertEqual(rc, 1, err)
                self.assertRegex(err, r'^mercure-publish: 413 \S')

    def test_publish_usage_errors_exit_2(self):
        with tempfile.NamedTemporaryFile() as f:
            cases = [
                [],                                            # no topic
                ['--data', 'x'],                               # no topic
                ['-t', 'x', '--bogus'],
                ['-t', 'x', 'extra-argument'],
                ['-t', 'x', '--data', 'a', '--data-file', f.name],
                ['-t', 'x', '--retry', 'soon'],
                ['-t', 'x', '--retry', '-1'],
                ['-t', 'x', '--timeout', '0'],
                ['-t', 'x', '--timeout', 'abc'],
                ['-t', 'x', '--token', 'a', '--token-file', f.name],
                ['-t', 'x', '--token', 'a', '--config', f.name],
                ['-t', 'x', '--token-file', '/nonexistent/token'],
                ['-t', 'x', '--data-file', '/nonexistent/data'],
                ['-t', 'x', '--config', '/nonexistent/mercure.conf'],
                ['-t', 'x', '--token', 'with space'],
                ['-t', 'x', '--url', 'not a url'],
                ['-t', 'x', '--url'],
            ]
            for args in cases:
                with self.subTest(args=args):
                    rc, out, err = run_publish(['-d', 'x'] + args if '--data' not in args and '--data-file' not in args
                                               else args)
                    self.assertEqual(rc, 2, err)
                    self.assertEqual(out, b'')
                    self.assertTrue(err.startswith('mercure-publish: '), err)

    def test_https_is_refused_clearly(self):
        rc, _, err = run_publish(['-t', 'x', '-d', 'x', '--url', 'https://hub.example.com/.well-known/mercure'])
        self.assertEqual(rc, 2)
        self.assertIn('https:// URLs are not supported', err)
        rc, _, _, _ = run_subscribe(['-t', 'x', '--url', 'https://hub.example.com/.well-known/mercure'])
        self.assertEqual(rc, 2)

    def test_publish_connection_refused_exits_3(self):
        port = free_port()
        rc, out, err = run_publish(['-t', 'x', '-d', 'x', '--url', 'http://127.0.0.1:%d/.well-known/mercure' % port])
        self.assertEqual(rc, 3, err)
        self.assertIn('cannot connect', err)

    def test_publish_timeout_exits_3(self):
        # A listener that accepts and never answers.
        import socket
        with socket.socket() as server:
            server.bind(('127.0.0.1', 0))
            server.listen(1)
            url = 'http://127.0.0.1:%d/.well-known/mercure' % server.getsockname()[1]
            start = time.monotonic()
            rc, _, err = run_publish(['-t', 'x', '-d', 'x', '--url', url, '--timeout', '0.5'])
            self.assertEqual(rc, 3, err)
            self.assertIn('timed out', err)
            self.assertLess(time.monotonic() - start, 5)

    def test_help_documents_exit_status(self):
        for run in (lambda: run_publish(['--help'])[:3], lambda: run_subscribe(['--help'])[:3]):
            rc, out, err = run()
            self.assertEqual(rc, 0)
            self.assertIn(b'Exit status: 0', out)
            self.assertIn(b' 3 network error', out)

    # -- mercure-subscribe --
    def test_subscribe_count_two_text(self):
        topic = self.topic()
        with Subscriber(['--url', self.url, '--token', sub_token(), '--topic', topic, '--count', '2']) as sub:
            sub.wait_connected()
            self.publish(['-t', topic, '-d', 'one', '--id', 'c1'])
            self.publish(['-t', topic, '-d', 'two\nlines', '--id', 'c2', '--type', 'kind', '--retry', '2000'])
            self.assertEqual(sub.wait(), 0, sub.stderr())
            self.assertEqual(sub.stdout(), b'id: c1\ndata: one\n\n'
                                           b'id: c2\nevent: kind\nretry: 2000\ndata: two\ndata: lines\n\n')

    def test_subscribe_json(self):
        topic = self.topic()
        data = 'a "quoted"\nline\t\\ ünï ✓'
        with Subscriber(['--url', self.url, '--token', sub_token(), '-t', topic, '-n', '2', '--format', 'json']) as sub:
            sub.wait_connected()
            self.publish(['-t', topic, '-d', data, '--id', 'j1', '--type', 'kind', '--retry', '750'])
            self.publish(['-t', topic, '-d', '', '--id', 'j2'])
            self.assertEqual(sub.wait(), 0, sub.stderr())
            lines = sub.stdout().decode('utf-8').splitlines()
            self.assertEqual([json.loads(line) for line in lines], [
                {'id': 'j1', 'type': 'kind', 'data': data, 'retry': 750},
                {'id': 'j2', 'type': 'message', 'data': '', 'retry': None},
            ])

    def test_subscribe_uri_template_and_several_topics(self):
        base = self.topic()
        with Subscriber(['--url', self.url, '--token', sub_token(), '-t', base + '/{id}', '-t', base + '-other',
                         '-n', '2']) as sub:
            sub.wait_connected()
            self.publish(['-t', base + '/1/deeper', '-d', 'not matched'])
            self.publish(['-t', base + '/7', '-d', 'templated', '--id', 't1'])
            self.publish(['-t', base + '-other', '-d', 'exact', '--id', 't2'])
            self.assertEqual(sub.wait(), 0, sub.stderr())
            self.assertEqual(text_ids(sub.stdout()), ['t1', 't2'])

    def test_subscribe_with_config_receives_private_updates(self):
        topic = self.topic()
        with Subscriber(['--config', self.hub.config_path, '-t', topic, '-n', '1']) as sub:
            sub.wait_connected()
            rc, _, err = self.publish(['-t', topic, '-d', 'private data', '--private', '--id', 'p1'])
            self.assertEqual(rc, 0, err)
            self.assertEqual(sub.wait(), 0, sub.stderr())
            self.assertEqual(sub.stdout(), b'id: p1\ndata: private data\n\n')

    def test_subscribe_token_from_environment(self):
        topic = self.topic()
        with Subscriber(['--url', self.url, '-t', topic, '-n', '1'], env={'MERCURE_TOKEN': sub_token()}) as sub:
            sub.wait_connected()
            self.publish(['-t', topic, '-d', 'x', '--id', 'env1'])
            self.assertEqual(sub.wait(), 0, sub.stderr())
            self.assertEqual(text_ids(sub.stdout()), ['env1'])

    def test_subscribe_refused_exits_1_without_retrying(self):
        for token_args in (['--token', 'not.a.token'], []):
            with self.subTest(token=token_args):
                rc, out, err, took = run_subscribe(['--url', self.url, '-t', self.topic(), '-v'] + token_args)
                self.assertEqual(rc, 1, err)
                self.assertEqual(out, b'')
                self.assertIn('mercure-subscribe: 401 ', err)
                self.assertEqual(err.count('connecting to'), 1, err)
                self.assertLess(took, 5)

    def test_subscribe_timeout_exits_0(self):
        rc, out, err, took = run_subscribe(['--url', self.url, '--token', sub_token(), '-t', self.topic(),
                                            '--timeout', '1'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, b'')
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)

    def test_last_event_id_replays_history(self):
        topic = self.topic()
        for i in range(3):
            rc, _, err = self.publish(['-t', topic, '-d', str(i), '--id', 'h%d' % i])
            self.assertEqual(rc, 0, err)
        rc, out, err, _ = run_subscribe(['--url', self.url, '--token', sub_token(), '-t', topic, '-n', '2',
                                         '--last-event-id', 'h0', '-v'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(text_ids(out), ['h1', 'h2'])
        self.assertIn('mercure-subscribe: Last-Event-ID: h0\n', err)
        self.assertNotIn('warning', err)
        rc, out, err, _ = run_subscribe(['--url', self.url, '--token', sub_token(), '-t', topic, '-n', '3',
                                         '--last-event-id', 'earliest'])
        self.assertEqual(rc, 0, err)
        self.assertEqual(text_ids(out), ['h0', 'h1', 'h2'])
        self.assertNotIn('warning', err)

    def test_unknown_last_event_id_warns_of_possible_loss(self):
        topic = self.topic()
        self.publish(['-t', topic, '-d', 'kept', '--id', 'u1'])
        # Whether the hub then replays anything is its choice; the client's duty is to warn.
        rc, out, err, _ = run_subscribe(['--url', self.url, '--token', sub_token(), '-t', topic, '--timeout', '1',
                                         '--last-event-id', 'an-id-the-hub-never-saw'])
        self.assertEqual(rc, 0, err)
        self.assertIn('warning', err)
        self.assertIn('an-id-the-hub-never-saw', err)
        self.assertIn('may have been lost', err)

    def test_subscribe_usage_errors_exit_2(self):
        cases = [
            [],
            ['--count', '1'],
            ['-t', 'x', '--count', '0'],
            ['-t', 'x', '--count', 'many'],
            ['-t', 'x', '--format', 'xml'],
            ['-t', 'x', '--timeout', '-1'],
            ['-t', 'x', '--bogus'],
            ['-t', 'x', 'extra'],
            ['-t', 'x', '--token', 'a', '--config', '/etc/hostname'],
            ['-t', 'x', '--config', '/nonexistent/mercure.conf'],
            ['-t', 'x', '--token-file', '/nonexistent/token'],
            ['-t', 'x', '--url', 'ftp://example.com/'],
            ['-t', 'x', '--last-event-id', ''],
        ]
        for args in cases:
            with self.subTest(args=args):
                rc, out, err, _ = run_subscribe(args)
                self.assertEqual(rc, 2, err)
                self.assertEqual(out, b'')
                self.assertTrue(err.startswith('mercure-subscribe: '), err)

    def test_connection_refused(self):
        url = 'http://127.0.0.1:%d/.well-known/mercure' % free_port()
        rc, _, err, _ = run_subscribe(['--url', url, '-t', 'x', '--no-reconnect'])
        self.assertEqual(rc, 3, err)
        self.assertIn('cannot connect', err)
        # Without --no-reconnect it keeps trying, with back-off, until --timeout.
        rc, _, err, took = run_subscribe(['--url', url, '-t', 'x', '--timeout', '2'])
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(err.count('cannot connect'), 2, err)
        self.assertIn('reconnecting in 0.5 s', err)
        self.assertIn('reconnecting in 1.0 s', err)
        self.assertLess(took, 5)

    def test_reconnects_when_the_hub_comes_back(self):
        port = free_port()
        url = 'http://127.0.0.1:%d/.well-known/mercure' % port
        topic = self.topic()
        with Subscriber(['--url', url, '--token', sub_token(), '-t', topic, '-n', '1']) as sub:
            sub.wait_stderr('cannot connect')
            with Hub({'jwt_key': KEY}, port=port) as hub:
                sub.wait_connected(timeout=10)
                rc, _, err = run_publish(['--url', hub.url(HUB_PATH), '--token', pub_token(), '-t', topic,
                                          '-d', 'back', '--id', 'b1'])
                self.assertEqual(rc, 0, err)
                self.assertEqual(sub.wait(), 0, sub.stderr())
            self.assertEqual(text_ids(sub.stdout()), ['b1'])


class ReconnectionTest(HubTestCase):
    """Streams that end (write_timeout) are resumed with Last-Event-ID: no update lost or repeated."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'write_timeout': '2s', 'history_size': 100}).start()
        cls.url = cls.hub.url(HUB_PATH)

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def publish(self, topic, update_id, data=None, retry=None):
        args = ['--url', self.url, '--token', pub_token(), '-t', topic, '--id', update_id,
                '-d', data if data is not None else 'data of ' + update_id]
        if retry is not None:
            args += ['--retry', str(retry)]
        rc, out, err = run_publish(args)
        self.assertEqual((rc, out), (0, (update_id + '\n').encode()), err)

    def test_every_update_once_and_in_order_across_reconnections(self):
        topic = TOPIC + '/reconnect'
        with Subscriber(['--url', self.url, '--token', sub_token(), '-t', topic, '-n', '7']) as sub:
            sub.wait_connected()
            # retry: 1500 makes the subscriber wait 1.5 s before reconnecting: a gap to publish in.
            self.publish(topic, 'r1', retry=1500)
            self.publish(topic, 'r2', data='line 1\nline 2')
            sub.wait_stderr('the hub ended the stream', 1)
            self.publish(topic, 'r3')    # while disconnected
            self.publish(topic, 'r4')
            sub.wait_connected(2)
            self.publish(topic, 'r5')    # live again
            sub.wait_stderr('the hub ended the stream', 2)
            self.publish(topic, 'r6')    # disconnected again
            sub.wait_connected(3)
            self.publish(topic, 'r7')
            self.assertEqual(sub.wait(), 0, sub.stderr())
            out = sub.stdout()
            err = sub.stderr()
        self.assertEqual(text_ids(out), ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'])
        self.assertIn(b'id: r2\ndata: line 1\ndata: line 2\n\n', out)
        # The subscriber sent the last id it had, and the hub knew it.
        self.assertIn('with Last-Event-ID: r2\n', err)
        self.assertIn('mercure-subscribe: Last-Event-ID: r2\n', err)
        self.assertIn('with Last-Event-ID: r5\n', err)
        self.assertIn('mercure-subscribe: Last-Event-ID: r5\n', err)
        self.assertIn('reconnecting in 1.5 s', err)
        self.assertNotIn('warning', err)

    def test_json_reconnection_keeps_retry_of_the_hub(self):
        topic = TOPIC + '/reconnect-json'
        with Subscriber(['--url', self.url, '--token', sub_token(), '-t', topic, '-n', '2', '-f', 'json']) as sub:
            sub.wait_connected()
            self.publish(topic, 'j1', retry=1200)
            sub.wait_stderr('the hub ended the stream', 1)
            self.publish(topic, 'j2')
            self.assertEqual(sub.wait(), 0, sub.stderr())
            events = [json.loads(line) for line in sub.stdout().decode().splitlines()]
            self.assertIn('reconnecting in 1.2 s', sub.stderr())
        self.assertEqual([(e['id'], e['retry']) for e in events], [('j1', 1200), ('j2', None)])

    def test_no_reconnect_exits_0_when_the_stream_ends(self):
        rc, out, err, took = run_subscribe(['--url', self.url, '--token', sub_token(), '-t', TOPIC + '/none',
                                            '--no-reconnect'])
        self.assertEqual(rc, 0, err)
        self.assertIn('the hub ended the stream', err)
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 6)


if __name__ == '__main__':
    main()
