"""Integration: the systemd protocol without systemd (sd_notify socket, watchdog, socket activation).

The real unit under a real systemd is the system tier's job; here a test plays systemd's part
with the same environment variables, which catches protocol mistakes in seconds.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MERCURE_BIN, Hub, HubTestCase, SSEClient, clean_env, free_port, http_request,  # noqa: E402
                     main, make_token, publish, render_config, write_private)

KEY = 'systemd-secret-key'
T1 = 'https://example.com/books/1'


class NotifySocket:
    """A NOTIFY_SOCKET that records every datagram as a list of (time, [KEY=VALUE lines])."""

    def __init__(self, directory):
        self.path = os.path.join(directory, 'notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def poll(self, timeout):
        self.sock.settimeout(max(0.01, timeout))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        self.messages.append((time.monotonic(), data.decode('utf-8', 'replace').splitlines()))
        return True

    def lines(self):
        return [line for _, lines in self.messages for line in lines]

    def wait_for(self, line, timeout=5, after=0):
        """Waits for a datagram holding `line`, beyond the first `after` datagrams; returns its index."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (_, lines) in enumerate(self.messages[after:], after):
                if any(line(x) if callable(line) else x == line for x in lines):
                    return i
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %r from the hub within %ss; got %r' % (line, timeout, self.messages))
            self.poll(left)

    def close(self):
        self.sock.close()


class NotifyTest(HubTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='mercure-it-notify-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.notify = NotifySocket(self.tmp)
        self.addCleanup(self.notify.close)

    def test_ready_after_listening_then_reloading_and_stopping(self):
        hub = Hub({'jwt_key': KEY}, env={'NOTIFY_SOCKET': self.notify.path}, wait=False).start()
        try:
            self.notify.wait_for('READY=1')
            # READY=1 means the listener is up: the first connection must succeed.
            status, _, body = http_request(hub, 'GET', '/healthz', timeout=2)
            self.assertEqual((status, body.strip()), (200, b'ok'))
            self.notify.wait_for(lambda x: x.startswith('STATUS='), timeout=2)
            n = len(self.notify.messages)
            hub.reload()
            reloading = self.notify.wait_for('RELOADING=1', after=n)
            self.notify.wait_for('READY=1', after=reloading)
            n = len(self.notify.messages)
            hub.proc.send_signal(signal.SIGTERM)
            self.notify.wait_for('STOPPING=1', after=n)
            self.assertEqual(hub.proc.wait(timeout=5), 0)
        finally:
            hub.stop()

    def test_watchdog_pings(self):
        env = {'NOTIFY_SOCKET': self.notify.path, 'WATCHDOG_USEC': '600000'}
        with Hub({'jwt_key': KEY}, env=env) as hub:
            first = self.notify.wait_for('WATCHDOG=1', timeout=2)
            self.notify.wait_for('WATCHDOG=1', timeout=2, after=first + 1)
            self.assertTrue(hub.alive())

    def test_no_notify_socket_is_fine(self):
        with Hub({'jwt_key': KEY}) as hub:
            self.assertEqual(hub.get('/healthz')[0], 200)


class SocketActivationTest(HubTestCase):
    def test_listens_on_passed_socket(self):
        tmp = tempfile.mkdtemp(prefix='mercure-it-activation-')
        self.addCleanup(shutil.rmtree, tmp, True)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        config = os.path.join(tmp, 'mercure.conf')
        write_private(config, render_config({'jwt_key': KEY, 'allow_anonymous': True,
                                             'addr': '127.0.0.1:%d' % free_port()}))
        # The passed socket must be fd 3 and LISTEN_PID the hub's own pid: a tiny exec shim sets both.
        shim = ('import os, sys\n'
                'fd = int(sys.argv[1])\n'
                'if fd != 3:\n'
                '    os.dup2(fd, 3)\n'
                '    os.close(fd)\n'
                'os.environ["LISTEN_PID"] = str(os.getpid())\n'
                'os.execv(sys.argv[2], sys.argv[2:])\n')
        env = clean_env({'LISTEN_FDS': '1', 'LISTEN_FDNAMES': 'mercure.socket'})
        err_path = os.path.join(tmp, 'stderr')
        with open(err_path, 'wb') as err:
            proc = subprocess.Popen([sys.executable, '-c', shim, str(listener.fileno()), MERCURE_BIN,
                                     '--config', config], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    pass_fds=(listener.fileno(),), cwd=tmp)
        listener.close()  # the hub holds its own copy now

        class Endpoint:  # what the harness helpers need of a hub
            host = '127.0.0.1'

            def url(self, path='/'):
                return 'http://127.0.0.1:%d%s' % (port, path)

        target = Endpoint()
        target.port = port
        try:
            deadline = time.monotonic() + 5
            while True:
                self.assertIsNone(proc.poll(), open(err_path).read())
                try:
                    status, _, body = http_request(target, 'GET', '/healthz', timeout=1)
                    if status == 200:
                        break
                except OSError:
                    pass
                self.assertLess(time.monotonic(), deadline, 'no answer on the activated socket: %s' % open(err_path).read())
                time.sleep(0.05)
            with SSEClient(target, [T1]) as s:
                self.assertEqual(s.status, 200)
                self.assertEqual(publish(target, make_token(KEY, publish=['*']), {'topic': T1, 'id': 'sa'})[0], 200)
                self.assertEqual(s.next_event().id, 'sa')
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.assertEqual(proc.returncode, 0, open(err_path).read())


if __name__ == '__main__':
    main()
