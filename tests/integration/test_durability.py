"""Crash test of the durable history: nothing acknowledged is lost across SIGKILLs.

A harness process holds the listening socket (as systemd does with socket activation) and
starts the hub with it (LISTEN_FDS), so clients queue in the kernel while the hub is down.
Four publishers send 20,000 numbered updates; the hub is killed with SIGKILL and restarted
several times; two subscribers reconnect with Last-Event-ID after each crash. At the end every
subscriber must hold every acknowledged update exactly once, in each publisher's order.
"""
import http.client
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CONFIG_ENV_VARS, MERCURE_BIN, make_token, require_binary  # noqa: E402

PUBLISHERS = 4
PER_PUBLISHER = 5000
CRASHES = 5
KEY = 'durability-test-key'
TOPIC = 'https://example.com/durable'
DEADLINE = 240  # seconds for the whole scenario (slow under sanitizers and parallel tests)


class SocketActivatedHub:
    """Holds the listening socket and (re)starts the hub on it."""

    def __init__(self, directory):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.config = os.path.join(directory, 'mercure.conf')
        with open(self.config, 'w') as f:
            f.write('jwt_key = "%s";\nallow_anonymous = true;\nhistory_store = "lmdb";\n'
                    'history_path = "%s";\nhistory_size = 100000;\nhistory_sync = "batch";\n'
                    'heartbeat_interval = "1s";\n' % (KEY, os.path.join(directory, 'history')))
        os.chmod(self.config, 0o600)
        self.log = open(os.path.join(directory, 'hub.log'), 'ab')
        self.proc = None
        self.starts = 0

    def start(self):
        env = {k: v for k, v in os.environ.items() if k not in CONFIG_ENV_VARS}
        fd = self.sock.fileno()
        # The shell moves the socket to fd 3 and execs the hub with its own pid in LISTEN_PID.
        script = 'exec 3<&%d; LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" --config "$1"' % fd
        self.proc = subprocess.Popen(['sh', '-c', script, MERCURE_BIN, self.config], env=env,
                                     pass_fds=[fd], stdout=self.log, stderr=self.log)
        self.starts += 1

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.sock.close()
        self.log.close()


class Publisher(threading.Thread):
    def __init__(self, port, index, token, deadline):
        super().__init__(daemon=True)
        self.port, self.index, self.token, self.deadline = port, index, token, deadline
        self.acked = []
        self.unacked = 0

    def run(self):
        conn = None
        for n in range(PER_PUBLISHER):
            if time.monotonic() > self.deadline:
                return
            update_id = 'p%d-%05d' % (self.index, n)
            body = 'topic=%s&id=%s&data=%s' % (TOPIC, update_id, update_id)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
                conn.request('POST', '/.well-known/mercure', body=body, headers={
                    'Authorization': 'Bearer ' + self.token,
                    'Content-Type': 'application/x-www-form-urlencoded'})
                response = conn.getresponse()
                text = response.read().decode()
                if response.status == 200 and text == update_id:
                    self.acked.append(update_id)
                else:
                    self.unacked += 1
            except (OSError, http.client.HTTPException):
                # The hub died mid-request: this update may or may not be stored. Never retry
                # it (a retry could legitimately duplicate it); go on with the next one.
                self.unacked += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)


class Subscriber(threading.Thread):
    def __init__(self, port, deadline):
        super().__init__(daemon=True)
        self.port, self.deadline = port, deadline
        self.ids = []
        self.reconnects = 0
        self.stop_flag = threading.Event()

    def run(self):
        last = 'earliest'
        while not self.stop_flag.is_set() and time.monotonic() < self.deadline:
            try:
                sock = socket.create_connection(('127.0.0.1', self.port), timeout=5)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                sock.settimeout(2)
                sock.sendall(('GET /.well-known/mercure?topic=%s HTTP/1.0\r\nLast-Event-ID: %s\r\n\r\n'
                              % (TOPIC, last)).encode())
                buffer = b''
                head_done = False
                while not self.stop_flag.is_set():
                    try:
                        chunk = sock.recv(65536)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    buffer += chunk
                    if not head_done:
                        end = buffer.find(b'\r\n\r\n')
                        if end < 0:
                            continue
                        head_done = True
                        buffer = buffer[end + 4:]
                    while b'\n\n' in buffer:
                        event, buffer = buffer.split(b'\n\n', 1)
                        for line in event.split(b'\n'):
                            if line.startswith(b'id: '):
                                last = line[4:].decode()
                                self.ids.append(last)
            except OSError:
                pass
            finally:
                sock.close()
            self.reconnects += 1
            time.sleep(0.05)


class DurabilityTest(unittest.TestCase):
    def test_sigkill_loses_no_acknowledged_update(self):
        require_binary()
        directory = tempfile.mkdtemp(prefix='mercure-durability-')
        hub = SocketActivatedHub(directory)
        deadline = time.monotonic() + DEADLINE
        try:
            hub.start()
            token = make_token(KEY, publish=['*'])
            subscribers = [Subscriber(hub.port, deadline) for _ in range(2)]
            for s in subscribers:
                s.start()
            time.sleep(0.5)
            publishers = [Publisher(hub.port, i, token, deadline) for i in range(PUBLISHERS)]
            for p in publishers:
                p.start()
            # Crash at evenly spaced points of the publishing progress (not of the clock), so a
            # fast build still sees every crash before the publishers finish.
            crashes = 0
            total = PUBLISHERS * PER_PUBLISHER
            while any(p.is_alive() for p in publishers) and time.monotonic() < deadline:
                time.sleep(0.05)
                done = sum(len(p.acked) + p.unacked for p in publishers)
                if crashes < CRASHES and done >= total * (crashes + 1) // (CRASHES + 1):
                    hub.kill()
                    crashes += 1
                    time.sleep(0.2)
                    hub.start()
            for p in publishers:
                p.join(max(1, deadline - time.monotonic()))
            acked = [i for p in publishers for i in p.acked]
            expected = set(acked)
            # Wait (bounded) until every subscriber has every acknowledged update.
            while time.monotonic() < deadline and not all(expected <= set(s.ids) for s in subscribers):
                time.sleep(0.2)
            for s in subscribers:
                s.stop_flag.set()
                s.join(5)
            print('publishes: %d acknowledged, %d unacknowledged; crashes: %d; hub starts: %d'
                  % (len(acked), sum(p.unacked for p in publishers), crashes, hub.starts))
            for n, s in enumerate(subscribers):
                print('subscriber %d: %d events, %d reconnects' % (n, len(s.ids), s.reconnects))
            self.assertEqual(crashes, CRASHES)
            self.assertGreater(len(acked), PUBLISHERS * PER_PUBLISHER * 0.9)
            for n, s in enumerate(subscribers):
                self.assertEqual(len(s.ids), len(set(s.ids)), 'subscriber %d got duplicates' % n)
                missing = expected - set(s.ids)
                self.assertFalse(missing, 'subscriber %d lost %d acknowledged updates, e.g. %s'
                                 % (n, len(missing), sorted(missing)[:5]))
                for p in range(PUBLISHERS):
                    mine = [i for i in s.ids if i.startswith('p%d-' % p)]
                    self.assertEqual(mine, sorted(mine), 'subscriber %d: publisher %d out of order' % (n, p))
        finally:
            hub.stop()
            if os.environ.get("KEEP"):
                print("kept", directory)
            else:
                shutil.rmtree(directory, ignore_errors=True)


if __name__ == '__main__':
    unittest.main()
