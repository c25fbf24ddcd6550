"""Integration: one subscriber that stops reading never costs 1,000 others their updates.

The slow subscriber shrinks its receive buffer and never reads, and also gets 10 MB of large
updates on a topic of its own (more than the kernel's socket buffers hold); the hub queues at most
max_queued_bytes for it and then cuts it off (logged, counted), while the 1,000 others, read all
along by one selector loop in a thread, receive every update in order. With max_queued_bytes at
256K and send_buffer at its default (64K), a reader more than about 380 KB behind would be cut
off too: none is.
"""
import os
import re
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HUB_PATH, Hub, HubTestCase, main, make_token, publish  # noqa: E402

KEY = 'slow-consumer-key'
TOPIC = 'https://example.com/slow'
BIG_TOPIC = 'https://example.com/slow/big'  # only the stalled subscriber gets these
BIG = 'y' * 200000
READERS = 1000
UPDATES = 200
PAYLOAD = 'x' * 2000


def open_stream(hub, rcvbuf=None, topics=(TOPIC,)):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect((hub.host, hub.port))
    query = '&'.join('topic=' + t for t in topics)
    sock.sendall(('GET %s?%s HTTP/1.1\r\nHost: x\r\n\r\n' % (HUB_PATH, query)).encode())
    return sock


class SlowConsumerTest(HubTestCase):
    def test_one_stalled_subscriber_does_not_hold_back_a_thousand(self):
        config = {'jwt_key': KEY, 'allow_anonymous': True, 'metrics': True,
                  'max_queued_bytes': '256K', 'dispatch_timeout': '2s', 'max_connections': 5000}
        with Hub(config) as hub:
            slow = open_stream(hub, rcvbuf=4096, topics=(TOPIC, BIG_TOPIC))
            readers = [open_stream(hub) for _ in range(READERS)]
            selector = selectors.DefaultSelector()
            received = {}
            for sock in readers:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
                received[sock] = bytearray()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(b'\r\n\r\n' in b for b in received.values()):
                for key, _ in selector.select(0.2):
                    received[key.fileobj] += key.fileobj.recv(65536)
            self.assertTrue(all(b'200 OK' in b for b in received.values()), 'not every reader connected')

            token = make_token(KEY, publish=['*'])
            last = b'id: u%03d' % (UPDATES - 1)
            done = threading.Event()

            finished = set()

            def read_all_along():
                # One reusable buffer, and only the newly read tail searched for the last id:
                # the readers must keep up with a release hub (about 400 MB in all).
                chunk = bytearray(1 << 18)
                view = memoryview(chunk)
                deadline = time.monotonic() + 60
                while not done.is_set() and time.monotonic() < deadline and len(finished) < READERS:
                    for key, _ in selector.select(0.1):
                        try:
                            n = key.fileobj.recv_into(chunk)
                        except BlockingIOError:
                            continue
                        data = received[key.fileobj]
                        data += view[:n]
                        if last in data[-(n + len(last)):]:
                            finished.add(key.fileobj)
            reader = threading.Thread(target=read_all_along, daemon=True)
            reader.start()
            started = time.monotonic()
            for n in range(UPDATES):
                status, _ = publish(hub, token, {'topic': TOPIC, 'id': 'u%03d' % n, 'data': PAYLOAD}, via='http')
                self.assertEqual(status, 200)
                if n % 4 == 0:  # 10 MB in all for the stalled one: more than the kernel buffers
                    status, _ = publish(hub, token, {'topic': BIG_TOPIC, 'data': BIG}, via='http')
                    self.assertEqual(status, 200)
            reader.join(20)
            done.set()
            reader.join(5)
            elapsed = time.monotonic() - started
            complete = sum(1 for b in received.values() if last in b)
            print('%d of %d readers got all %d updates in %.2f s' % (complete, READERS, UPDATES, elapsed))
            self.assertEqual(complete, READERS)
            for b in received.values():
                ids = re.findall(rb'id: (u\d{3})', bytes(b))
                self.assertEqual(ids, [b'u%03d' % n for n in range(UPDATES)])

            # The stalled one was cut off: the hub says why and counts it.
            deadline = time.monotonic() + 5
            dropped = None
            while time.monotonic() < deadline:
                text = hub.get('/metrics')[2].decode()
                dropped = int(re.search(r'^mercure_slow_subscribers_dropped_total (\d+)$', text, re.M).group(1))
                if dropped:
                    break
                time.sleep(0.2)
            self.assertEqual(dropped, 1)
            self.assertIn('Slow subscriber disconnected', hub.stderr_text())
            slow.close()
            for sock in readers:
                sock.close()


if __name__ == '__main__':
    main()
