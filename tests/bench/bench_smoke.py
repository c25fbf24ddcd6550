"""bench_smoke: a tiny mercure-bench run against the real hub, checking delivery, not timing.

Starts $MERCURE_BIN on a free loopback port with a temporary configuration (an HS256 key,
anonymous subscribers), mints a publisher token with $MERCURE_TOKEN_BIN, runs
$MERCURE_BENCH_BIN with 50 subscribers and a few rounds of every phase but max-connections,
and asserts: exit status 0, no error, every delivery ratio exactly 1, no dropped stream.
Python standard library only; every wait is bounded.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HUB = os.environ.get('MERCURE_BIN', '')
BENCH = os.environ.get('MERCURE_BENCH_BIN', '')
TOKEN_TOOL = os.environ.get('MERCURE_TOKEN_BIN', '')
KEY = 'bench-smoke-secret-key-0123456789abcdef'

# Settings the hub reads from the environment: scrubbed so the outer environment cannot leak in.
HUB_ENV_PREFIXES = ('JWT_', 'PUBLISHER_', 'SUBSCRIBER_', 'ADDR', 'ALLOW_', 'MAX_', 'HEARTBEAT_',
                    'DISPATCH_', 'WRITE_', 'READ_', 'HISTORY_', 'MERCURE_CONFIG', 'LISTEN_', 'NOTIFY_',
                    'WATCHDOG_', 'METRICS', 'LOG_', 'CORS_', 'PUBLISH_', 'SUBSCRIPTIONS', 'DEBUG', 'DEMO')


def fail(message):
    print('bench_smoke: FAIL: ' + message, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/healthz' % port, timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def ratios(node, path=''):
    """Every (path, delivery_ratio) in the phases object."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'delivery_ratio':
                found.append((path, value))
            else:
                found.extend(ratios(value, path + '/' + key))
    return found


def main():
    for name, path in (('MERCURE_BIN', HUB), ('MERCURE_BENCH_BIN', BENCH), ('MERCURE_TOKEN_BIN', TOKEN_TOOL)):
        if not path or not os.path.exists(path):
            fail('%s is not set or does not exist: %r' % (name, path))
    env = {k: v for k, v in os.environ.items() if not k.startswith(HUB_ENV_PREFIXES)}
    token = subprocess.run([TOKEN_TOOL, '--key', KEY, '--publish', '*'], env=env, capture_output=True,
                           text=True, timeout=30, check=True).stdout.strip()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix='bench-smoke-') as tmp:
        config = os.path.join(tmp, 'mercure.conf')
        with open(os.open(config, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as out:
            out.write('addr = "127.0.0.1:%d";\njwt_key = "%s";\nallow_anonymous = true;\n'
                      'max_connections = 10000;\nlog_level = "warning";\n' % (port, KEY))
        log = open(os.path.join(tmp, 'hub.log'), 'w+')
        hub = subprocess.Popen([HUB, '--config', config], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not wait_healthy(port, hub):
                log.seek(0)
                fail('the hub did not start:\n' + log.read())
            cmd = [BENCH, '--target', 'mercure', '--url', 'http://127.0.0.1:%d' % port, '--token', token,
                   '--server-pid', str(hub.pid),
                   '--phases', 'idle-memory,fanout,throughput,publish-rate,publish-latency',
                   '--subscribers', '50', '--fanout-subscribers', '50', '--rounds', '3', '--round-gap', '0.05',
                   '--settle', '0.2', '--throughput-subscribers', '20', '--throughput-publishers', '2',
                   '--duration', '0.5', '--rate', '20', '--rate-publishers', '4', '--rate-subscribers', '10',
                   '--rate-duration', '0.3', '--latency-subscribers', '50', '--latency-publishes', '3',
                   '--latency-gap', '0.02', '--drain-timeout', '5', '--max-time', '90']
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=100)
            print(run.stdout)
            print(run.stderr, file=sys.stderr)
            if hub.poll() is not None:
                log.seek(0)
                fail('the hub exited during the run:\n' + log.read())
        finally:
            if hub.poll() is None:
                hub.send_signal(signal.SIGTERM)
                try:
                    hub.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    hub.kill()
                    hub.wait(timeout=5)
            log.close()
    lines = [line for line in run.stdout.splitlines() if line.startswith('{')]
    if not lines:
        fail('no JSON line in the output')
    report = json.loads(lines[-1])
    if run.returncode != 0:
        fail('mercure-bench exited with %d' % run.returncode)
    if not report.get('ok') or report.get('errors'):
        fail('errors reported: %r' % report.get('errors'))
    phases = report['phases']
    expected = {'idle_memory', 'fanout', 'throughput', 'publish_rate', 'publish_latency'}
    if set(phases) != expected:
        fail('phases %r, expected %r' % (sorted(phases), sorted(expected)))
    found = ratios(phases)
    if len(found) < 5:
        fail('too few delivery ratios in the report: %r' % found)
    for path, ratio in found:
        if ratio != 1:
            fail('delivery ratio %r at %s' % (ratio, path))
    for path, node in (('fanout', phases['fanout']), ('publish_latency', phases['publish_latency'])):
        if node.get('disconnects', 0) != 0:
            fail('%s: %d streams dropped' % (path, node['disconnects']))
    if phases['idle_memory'].get('connected') != 50 or phases['fanout'].get('received') != 150:
        fail('unexpected counts: %r / %r' % (phases['idle_memory'], phases['fanout']))
    print('bench_smoke: OK (%d delivery ratios, all 1)' % len(found))


if __name__ == '__main__':
    main()
