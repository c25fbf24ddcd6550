"""Integration: SIGHUP reload (new settings applied whole, bad files keep the old config)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hub, HubTestCase, SSEClient, main, make_token, publish  # noqa: E402

T1 = 'https://example.com/books/1'


def can_publish(hub, key):
    return publish(hub, make_token(key, publish=['*']), {'topic': T1, 'data': 'x'}, via='http')[0] == 200


def anonymous_allowed(hub):
    with SSEClient(hub, [T1]) as s:
        return s.status == 200


def wait_until(predicate, timeout=3, what='condition'):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(0.05)


class ReloadTest(HubTestCase):
    def test_new_key_applies_and_streams_survive(self):
        with Hub({'jwt_key': 'old-key', 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [T1]) as s:
                self.assertEqual(s.status, 200)
                hub.rewrite_config({'jwt_key': 'new-key', 'allow_anonymous': True})
                hub.reload()
                wait_until(lambda: can_publish(hub, 'new-key'), what='the new key to be accepted')
                self.assertFalse(can_publish(hub, 'old-key'))
                self.assertTrue(hub.alive())
                status, _ = publish(hub, make_token('new-key', publish=['*']), {'topic': T1, 'id': 'after-reload'})
                self.assertEqual(status, 200)
                ids = [e.id for e in s.events(2, timeout=3)]  # the probe publish, then ours
                self.assertEqual(ids[-1], 'after-reload')
                self.assertFalse(s.eof or s.complete)

    def test_bad_file_keeps_old_config(self):
        with Hub({'jwt_key': 'old-key'}) as hub:
            hub.rewrite_config(text='jwt_key = "new-key";\nthis is not libconfig\n')
            hub.reload()
            wait_until(lambda: hub.config_path in hub.stderr_text(), what='the reload error to be logged')
            self.assertIn('%s:2' % hub.config_path, hub.stderr_text())
            self.assertTrue(hub.alive())
            self.assertTrue(can_publish(hub, 'old-key'))
            self.assertFalse(can_publish(hub, 'new-key'))

    def test_invalid_value_keeps_old_config(self):
        with Hub({'jwt_key': 'old-key'}) as hub:
            hub.rewrite_config({'jwt_key': 'new-key', 'heartbeat_interval': 'whenever'})
            hub.reload()
            wait_until(lambda: 'heartbeat_interval' in hub.stderr_text(), what='the reload error to be logged')
            self.assertTrue(hub.alive())
            self.assertTrue(can_publish(hub, 'old-key'))
            self.assertFalse(can_publish(hub, 'new-key'))

    def test_environment_still_wins_after_reload(self):
        with Hub({'jwt_key': 'file-key'}, env={'JWT_KEY': 'env-key'}) as hub:
            hub.rewrite_config({'jwt_key': 'file-key-2', 'allow_anonymous': True})
            hub.reload()
            wait_until(lambda: anonymous_allowed(hub), what='allow_anonymous from the new file')
            self.assertTrue(can_publish(hub, 'env-key'))
            self.assertFalse(can_publish(hub, 'file-key-2'))

    def test_several_reloads(self):
        with Hub({'jwt_key': 'k0'}) as hub:
            for i in range(1, 4):
                hub.rewrite_config({'jwt_key': 'k%d' % i})
                hub.reload()
                wait_until(lambda: can_publish(hub, 'k%d' % i), what='key k%d' % i)
            self.assertEqual(hub.get('/healthz')[0], 200)


if __name__ == '__main__':
    main()
