"""Integration: every limit and every JWT attack, each followed by proof that the hub still serves.

Each test class runs one hub and keeps a well-behaved "sentinel" subscriber connected for its whole
life (a token allowed to read private updates on SENTINEL). After every attack (or group of
attacks) assertStillServes() checks that the hub process is alive, that a valid publisher can
publish a private update that reaches the sentinel (and nothing forged reached it first: forged
publishes target the sentinel's own topic), and, where asked, that a brand-new subscriber can
connect and receive. Limits are set low so that they are cheap to reach.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HUB_PATH, Hub, HubTestCase, SSEClient, b64url, claims, free_port,  # noqa: E402
                     gen_ec_key, gen_rsa_key, main, make_token, openssl_sign, parse_response_head,
                     metric, publish, run_hub_command, sign_jws)

KEY = 'hostile-secret-key-0123456789abcdef'
SENTINEL = 'https://example.com/hostile/sentinel'
MISSING_KEY_MSG = 'invalid config: one of "jwt_key" or "publisher_jwt_key" configuration parameter must be defined'
# The order of the P-256 group (for the "psychic signature" r = s = n).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# ---------------------------------------------------------------------------------------------
# Small helpers

def replace_segment(token, index, new):
    parts = token.split('.')
    parts[index] = new
    return '.'.join(parts)


def hs(header, payload, key=KEY, alg='HS256'):
    """A compact JWS with an HMAC signature over any header/payload (dicts or raw text)."""
    return sign_jws(header, payload, key=key, alg=alg)


def relabelled_hmac(alg, claim_set, key):
    """A token whose header says `alg` but whose signature is HMAC-SHA256 under `key`."""
    header = {'alg': alg}
    signing_input = (b64url(json.dumps(header, separators=(',', ':'))) + '.' +
                     b64url(json.dumps(claim_set, separators=(',', ':')))).encode()
    key = key.encode() if isinstance(key, str) else key
    return sign_jws(header, claim_set, signature=hmac.new(key, signing_input, hashlib.sha256).digest())


def good_claims(**kw):
    return claims(publish=['*'], subscribe=['*'], **kw)


def wait_for(predicate, timeout=5, what='condition', interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(interval)


def read_until_closed(sock, timeout, max_bytes=None):
    """Reads until the peer closes (or resets): (closed, data, seconds waited)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    data = b''
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, data, time.monotonic() - t0
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return False, data, time.monotonic() - t0
        except (ConnectionResetError, BrokenPipeError):
            return True, data, time.monotonic() - t0
        if not b:
            return True, data, time.monotonic() - t0
        data += b
        if max_bytes is not None and len(data) >= max_bytes:
            return False, data, time.monotonic() - t0


def send_oversized(hub, data, timeout=5):
    """Sends `data` (possibly far more than the hub will read) from a thread while reading the
    answer: (status, raw response bytes, seconds until the response head arrived)."""
    s = socket.create_connection((hub.host, hub.port), timeout=timeout)

    def sender():
        try:
            s.sendall(data)
        except OSError:
            pass  # the hub answered and closed before reading everything: expected

    t0 = time.monotonic()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    out = b''
    head_at = None
    deadline = t0 + timeout
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                break
            if not b:
                break
            out += b
            if head_at is None and b'\r\n\r\n' in out:
                head_at = time.monotonic() - t0
                break
    finally:
        # Stop the sender before closing: a closed descriptor could be reused by the next
        # socket while the thread still writes into it.
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        th.join(timeout)
        s.close()
    status, _, _ = parse_response_head(out)
    return status, out, head_at


def stalled_subscriber(hub, topic, rcvbuf=4096):
    """A subscriber that never reads, with a tiny receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5)
    sock.connect((hub.host, hub.port))
    sock.sendall(('GET %s?topic=%s HTTP/1.1\r\nHost: x\r\n\r\n'
                  % (HUB_PATH, urllib.parse.quote(topic, safe=''))).encode())
    return sock


class DrainingReader(threading.Thread):
    """A fast subscriber on a raw socket that reads (and keeps) everything until `last` appears."""

    def __init__(self, hub, topic, last):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((hub.host, hub.port), timeout=20)
        self.sock.sendall(('GET %s?topic=%s HTTP/1.1\r\nHost: x\r\n\r\n'
                           % (HUB_PATH, urllib.parse.quote(topic, safe=''))).encode())
        self.last = last
        self.data = bytearray()
        self.ready = threading.Event()
        self.done = threading.Event()

    def run(self):
        chunk = bytearray(1 << 18)  # one reusable buffer: a read costs no allocation
        view = memoryview(chunk)
        try:
            while True:
                n = self.sock.recv_into(chunk)
                if not n:
                    break
                b = view[:n]
                self.data += b
                if not self.ready.is_set() and b'\r\n\r\n' in self.data:
                    self.ready.set()
                if self.last in self.data[-(len(self.last) + len(b)):]:
                    break
        except OSError:
            pass
        finally:
            self.ready.set()
            self.done.set()

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# The sentinel base class

class SentinelCase(HubTestCase):
    """One hub per class, with a long-lived subscriber on SENTINEL that must keep working."""

    CONFIG = {}

    @classmethod
    def valid_token(cls, **kw):
        """A token the hub accepts (HS256 with KEY unless a subclass says otherwise)."""
        return make_token(KEY, **kw)

    @classmethod
    def setUpClass(cls):
        cls.extra_setup()
        cls.hub = Hub(cls.CONFIG).start()
        try:
            cls.pub_token = cls.valid_token(publish=['*'])
            cls.sub_token = cls.valid_token(subscribe=['*'])
            cls.sentinel = SSEClient(cls.hub, [SENTINEL], token=cls.sub_token)
            if cls.sentinel.status != 200:
                raise AssertionError('sentinel subscriber refused: %s %r' % (cls.sentinel.status, cls.sentinel.body))
        except BaseException:
            cls.hub.stop()
            cls.hub.dump('in setUpClass ')
            raise
        cls.seq = 0

    @classmethod
    def extra_setup(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.sentinel.close()
        died = None if cls.hub.alive() else cls.hub.exit_description()
        rc = cls.hub.stop()
        cls.extra_teardown()
        if died or rc != 0:
            cls.hub.dump('at the end of %s ' % cls.__name__)
            raise AssertionError('the hub of %s %s' % (cls.__name__, died or 'exited with status %s' % rc))

    @classmethod
    def extra_teardown(cls):
        pass

    def next_id(self, prefix='after'):
        type(self).seq += 1
        return '%s-%d' % (prefix, type(self).seq)

    def assertStillServes(self, fresh=False, what=''):
        """The hub is alive, the sentinel gets a private update published now (and nothing
        before it), and, if `fresh`, a new subscriber can connect and receive too."""
        self.assertTrue(self.hub.alive(), 'the hub died (%s) %s' % (self.hub.exit_description(), what))
        uid = self.next_id()
        status, body = publish(self.hub, self.pub_token, {'topic': SENTINEL, 'id': uid, 'data': 'still here',
                                                          'private': 'on'}, via='http')
        self.assertEqual((status, body), (200, uid), 'valid publish failed %s' % what)
        ev = self.sentinel.next_event(timeout=5)
        self.assertEqual((ev.id, ev.data), (uid, 'still here'),
                         'the sentinel did not get the next update (something forged got through?) %s' % what)
        if fresh:
            topic = 'https://example.com/hostile/fresh/%s' % uid
            with SSEClient(self.hub, [topic], token=self.sub_token) as s:
                self.assertEqual(s.status, 200, 'a fresh subscriber was refused %s' % what)
                fid = self.next_id('fresh')
                status, body = publish(self.hub, self.pub_token, {'topic': topic, 'id': fid, 'data': 'hi'}, via='http')
                self.assertEqual((status, body), (200, fid))
                self.assertEqual(s.next_event(timeout=5).id, fid, 'a fresh subscriber got nothing %s' % what)

    def assertRefused(self, token, status=401, sources=('header', 'query', 'cookie'), what=''):
        """The token is refused for subscribing and for publishing from every source; the
        publish targets the sentinel's topic, so a forged update that got through would reach it."""
        label = what or repr(token[:60])
        for where in sources:
            with SSEClient(self.hub, [SENTINEL], token=token, token_in=where, wait_initial=False) as s:
                self.assertEqual(s.status, status, 'subscribe with %s in %s' % (label, where))
            got, body = publish(self.hub, token, {'topic': SENTINEL, 'id': 'forged', 'data': 'forged',
                                                  'private': 'on'}, token_in=where, via='http')
            self.assertEqual(got, status, 'publish with %s in %s: %s' % (label, where, body))
        self.assertStillServes(what='after %s' % label)

    def assertAllRefused(self, cases, status=401, sources=('header', 'query', 'cookie')):
        for name, token in cases.items():
            with self.subTest(case=name):
                self.assertRefused(token, status=status, sources=sources, what=name)
        self.assertStillServes(fresh=True, what='after every case')


# ---------------------------------------------------------------------------------------------
# JWT attacks on an HS256 hub

class HmacAttackTest(SentinelCase):
    # allow_anonymous: a token the hub ignored would give 200 instead of 401.
    CONFIG = {'jwt_key': KEY, 'allow_anonymous': True, 'max_header_size': '128K', 'log_level': 'debug'}

    def assertNoTokenInLog(self, token):
        log = self.hub.stderr_text() + self.hub.stdout_text()
        for part in [token] + [p for p in token.split('.') if len(p) >= 24]:
            self.assertNotIn(part, log, 'token text found in the log')

    def assertRefused(self, token, **kw):
        super().assertRefused(token, **kw)
        if len(token) >= 40:
            self.assertNoTokenInLog(token)

    def test_alg_none_in_every_casing(self):
        cases = {}
        for alg in ('none', 'None', 'NONE', 'nOnE', 'NoNe', 'nonE'):
            cases['alg %s, empty signature' % alg] = sign_jws({'alg': alg, 'typ': 'JWT'}, good_claims(), alg='none')
            cases['alg %s, HMAC signature' % alg] = hs({'alg': alg, 'typ': 'JWT'}, good_claims())
            cases['alg %s, two segments' % alg] = sign_jws({'alg': alg}, good_claims(), alg='none')[:-1]
        cases['alg none, key as signature'] = sign_jws({'alg': 'none'}, good_claims(), signature=KEY.encode())
        self.assertAllRefused(cases)

    def test_alg_header_variants(self):
        c = good_claims()
        cases = {
            'no alg': hs({'typ': 'JWT'}, c),
            'alg null': hs({'alg': None}, c),
            'alg number': hs({'alg': 256}, c),
            'alg array': hs({'alg': ['HS256']}, c),
            'alg object': hs({'alg': {'name': 'HS256'}}, c),
            'alg lower case': hs({'alg': 'hs256'}, c),
            'alg with trailing space': hs({'alg': 'HS256 '}, c),
            'alg with NUL': hs({'alg': 'HS256\u0000'}, c),
            'alg empty': hs({'alg': ''}, c),
            'alg HS384 with HS256 signature': hs({'alg': 'HS384'}, c),
            'alg HS256 with HS512 signature': hs({'alg': 'HS256'}, c, alg='HS512'),
            'crit header': hs({'alg': 'HS256', 'crit': ['exp']}, c),
            'kid path traversal, empty key': hs({'alg': 'HS256', 'kid': '../../../../dev/null'}, c, key=''),
        }
        self.assertAllRefused(cases)

    def test_rs256_and_es256_labelled_tokens_on_an_hs256_hub(self):
        tmp = tempfile.mkdtemp(prefix='mercure-it-hostile-')
        try:
            rsa_priv, rsa_pub = gen_rsa_key(tmp)
            ec_priv, ec_pub = gen_ec_key(tmp)
            c = good_claims()
            cases = {
                'RS256 signed with an RSA key': make_token(rsa_priv, publish=['*'], subscribe=['*'], alg='RS256'),
                'ES256 signed with an EC key': make_token(ec_priv, publish=['*'], subscribe=['*'], alg='ES256'),
                'RS256 label, HMAC signature with the hub key': hs({'alg': 'RS256'}, c),
                'ES256 label, HMAC signature with the hub key': hs({'alg': 'ES256'}, c),
                'RS256 label, HMAC with the RSA public key': relabelled_hmac('RS256', c, rsa_pub),
                'HS256 signed with the RSA public key': make_token(rsa_pub, publish=['*'], subscribe=['*']),
            }
            self.assertAllRefused(cases)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_empty_and_short_secrets(self):
        cases = {
            'signed with the empty string': make_token('', publish=['*'], subscribe=['*']),
            'signed with one byte': make_token('a', publish=['*'], subscribe=['*']),
            'signed with the key minus its last byte': make_token(KEY[:-1], publish=['*'], subscribe=['*']),
            'signed with the key plus one byte': make_token(KEY + 'x', publish=['*'], subscribe=['*']),
            'signed with the key in upper case': make_token(KEY.upper(), publish=['*'], subscribe=['*']),
            'HS384 signed with the empty string': make_token('', publish=['*'], subscribe=['*'], alg='HS384'),
        }
        self.assertAllRefused(cases)

    def test_tampered_tokens(self):
        valid = make_token(KEY, publish=[SENTINEL], subscribe=['https://example.com/nothing'])
        header, payload, signature = valid.split('.')
        wide = b64url(json.dumps(claims(publish=['*'], subscribe=['*']), separators=(',', ':')))
        # The same claims re-encoded (spaces): same meaning, different bytes, so the signature fails.
        spaced = b64url(json.dumps(json.loads(base64.urlsafe_b64decode(payload + '==')), indent=1))
        sig = base64.urlsafe_b64decode(signature + '==')
        flipped = b64url(bytes([sig[0] ^ 1]) + sig[1:])
        other = make_token(KEY, publish=['*'], subscribe=['*'], extra={'jti': 'other'})
        cases = {
            'payload widened, signature kept': '.'.join([header, wide, signature]),
            'payload re-encoded, signature kept': '.'.join([header, spaced, signature]),
            'header changed (typ), signature kept': '.'.join([b64url('{"alg":"HS256","typ":"jwt"}'), payload,
                                                              signature]),
            'one signature bit flipped': '.'.join([header, payload, flipped]),
            'signature truncated by a byte': '.'.join([header, payload, b64url(sig[:-1])]),
            'signature with a byte appended': '.'.join([header, payload, b64url(sig + b'\0')]),
            'signature doubled': '.'.join([header, payload, b64url(sig + sig)]),
            'signature of another token': '.'.join([header, payload, other.split('.')[2]]),
            'payload of another token': '.'.join([header, other.split('.')[1], signature]),
            'signature with padding': valid + '=',
            'signature in padded standard base64': '.'.join([header, payload, base64.b64encode(sig).decode()]),
            'all-zero signature': '.'.join([header, payload, b64url(b'\0' * 32)]),
        }
        self.assertAllRefused(cases)
        # The untampered token still works: a 403-free publish to its one topic, nothing wider.
        status, body = publish(self.hub, valid, {'topic': SENTINEL, 'id': self.next_id('narrow')}, via='http')
        self.assertEqual(status, 200, body)
        self.sentinel.next_event()
        status, body = publish(self.hub, valid, {'topic': 'https://example.com/elsewhere'}, via='http')
        self.assertEqual(status, 403, body)
        self.assertStillServes(fresh=True)

    def test_expired_and_not_yet_valid(self):
        now = int(time.time())
        cases = {
            'expired 10 s ago': make_token(KEY, publish=['*'], subscribe=['*'], exp=now - 10),
            'expiring now': make_token(KEY, publish=['*'], subscribe=['*'], exp=now),
            'exp 0': make_token(KEY, publish=['*'], subscribe=['*'], exp=0),
            'exp negative': make_token(KEY, publish=['*'], subscribe=['*'], exp=-1),
            'exp fractional, in the past': hs({'alg': 'HS256'}, dict(good_claims(), exp=now - 0.5)),
            'nbf in an hour': make_token(KEY, publish=['*'], subscribe=['*'], nbf=now + 3600),
            'nbf in a minute': make_token(KEY, publish=['*'], subscribe=['*'], nbf=now + 60),
            'nbf huge': make_token(KEY, publish=['*'], subscribe=['*'], nbf=2 ** 62),
            'exp as a string': hs({'alg': 'HS256'}, dict(good_claims(), exp=str(now + 3600))),
            'exp as a boolean': hs({'alg': 'HS256'}, dict(good_claims(), exp=True)),
            'exp as an object': hs({'alg': 'HS256'}, dict(good_claims(), exp={'t': now + 3600})),
            'exp as an array': hs({'alg': 'HS256'}, dict(good_claims(), exp=[now + 3600])),
            'exp null': hs({'alg': 'HS256'}, dict(good_claims(), exp=None)),
            'nbf as a string': hs({'alg': 'HS256'}, dict(good_claims(), nbf=str(now - 10))),
        }
        self.assertAllRefused(cases)
        # Control: valid window.
        ok = make_token(KEY, publish=['*'], exp=now + 60, nbf=now - 60)
        self.assertEqual(publish(self.hub, ok, {'topic': 'https://example.com/x'}, via='http')[0], 200)

    def test_garbage_in_every_segment(self):
        valid = make_token(KEY, publish=['*'], subscribe=['*'])
        garbage = {
            'invalid base64url character !': 'eyJ!bGci',
            'invalid base64url character +': 'eyJ+bGci',
            'invalid base64url character /': 'eyJ/bGci',
            'invalid base64url character %': 'eyJ%25bGci',
            'base64 length 1 mod 4': 'eyJhb',
            'padding inside': 'ey==Jhb',
            'internal space': 'eyJh bGci',
            'internal tab': 'eyJh\tbGci',
            'non-ASCII': 'eyJh\u00e9bGci',
            'empty': '',
        }
        cases = {}
        for index, segment in enumerate(('header', 'payload', 'signature')):
            for name, g in garbage.items():
                cases['%s: %s' % (segment, name)] = replace_segment(valid, index, g)
                # Garbage appended to a valid segment too.
                if g:
                    cases['%s: valid + %s' % (segment, name)] = replace_segment(
                        valid, index, valid.split('.')[index] + g)
        self.assertAllRefused(cases)

    def test_bad_json_in_header_and_payload(self):
        bad = {
            'truncated object': '{"alg":"HS256"',
            'trailing comma': '{"alg":"HS256",}',
            'single quotes': "{'alg':'HS256'}",
            'trailing garbage': '{"alg":"HS256"}x',
            'two objects': '{"alg":"HS256"}{"alg":"HS256"}',
            'NUL after the object': '{"alg":"HS256"}\u0000',
            'invalid UTF-8': b'{"alg":"HS256","x":"\xff\xfe"}',
            'BOM first': '\ufeff{"alg":"HS256"}',
            'comment': '{"alg":"HS256"/* c */}',
            'bare word': 'HS256',
            'empty object': '{}',
            'JSON null': 'null',
            'JSON array': '["HS256"]',
            'JSON string': '"HS256"',
            'JSON number': '256',
            'JSON true': 'true',
            'NaN': '{"alg":"HS256","x":NaN}',
            'Infinity': '{"alg":"HS256","x":Infinity}',
            '-Infinity': '{"alg":"HS256","x":[-Infinity]}',
            'number without fraction digits': '{"alg":"HS256","x":1.}',
            'number with leading zero': '{"alg":"HS256","x":01}',
            'hexadecimal number': '{"alg":"HS256","x":0x10}',
            'deep nesting': '{"alg":"HS256","x":' + '[' * 5000 + ']' * 5000 + '}',
        }
        c = good_claims()
        cases = {}
        for name, text in bad.items():
            raw = text if isinstance(text, bytes) else text.encode('utf-8')
            # Header garbage (payload valid), signed with the key so only the header is wrong.
            cases['header: ' + name] = hs(raw, c)
            # Payload garbage, validly signed: it reaches the payload parser.
            payload = raw.replace(b'"alg":"HS256"', b'"mercure":{"publish":["*"],"subscribe":["*"]}')
            if payload != b'{}':
                cases['payload: ' + name] = hs({'alg': 'HS256', 'typ': 'JWT'}, payload)
        self.assertAllRefused(cases)

    def test_claims_of_wrong_types(self):
        def tok(mercure, **extra):
            body = {'exp': int(time.time()) + 3600, 'mercure': mercure}
            body.update(extra)
            return hs({'alg': 'HS256', 'typ': 'JWT'}, body)
        cases = {}
        for claim in ('subscribe', 'publish'):
            for name, value in (('a string', '*'), ('a number', 1), ('true', True), ('an object', {'0': '*'}),
                                ('an array of numbers', [1]), ('a nested array', [['*']]),
                                ('an array with null', ['*', None]), ('an array with an object', [{'t': '*'}]),
                                ('deeply nested arrays', [[[[['*']]]]])):
                other = 'publish' if claim == 'subscribe' else 'subscribe'
                cases['%s is %s' % (claim, name)] = tok({claim: value, other: ['*']})
        cases['mercure is a string'] = tok('publish')
        cases['mercure is an array'] = tok([{'publish': ['*']}])
        cases['mercure is a number'] = tok(1)
        cases['namespaced claim is a string'] = hs({'alg': 'HS256'}, {'https://mercure.rocks/': '*'})
        # mercure.payload is echoed as JSON in subscription events: non-JSON numbers are refused.
        for name, text in (('NaN', 'NaN'), ('Infinity', 'Infinity'), ('-Infinity', '-Infinity'), ('1.', '1.')):
            cases['payload claim with %s' % name] = hs({'alg': 'HS256'}, '{"mercure":{"publish":["*"],'
                                                       '"subscribe":["*"],"payload":{"n":[%s]}}}' % text)
        self.assertAllRefused(cases)

    def test_claim_names_are_exact(self):
        # Lookalike claim names grant nothing: the token is valid but carries no publish claim,
        # so a publish is forbidden (403), and a private update does not reach its subscriber.
        lookalikes = {
            'MERCURE': {'MERCURE': {'publish': ['*'], 'subscribe': ['*']}},
            'mercure with a space': {'mercure ': {'publish': ['*'], 'subscribe': ['*']}},
            'Publish': {'mercure': {'Publish': ['*'], 'Subscribe': ['*']}},
            'namespace without slash': {'https://mercure.rocks': {'publish': ['*'], 'subscribe': ['*']}},
        }
        for name, body in lookalikes.items():
            with self.subTest(case=name):
                token = hs({'alg': 'HS256'}, body)
                status, text = publish(self.hub, token, {'topic': SENTINEL, 'id': 'forged', 'private': 'on'},
                                       via='http')
                self.assertEqual(status, 403, text)
                with SSEClient(self.hub, [SENTINEL], token=token) as s:
                    self.assertEqual(s.status, 200)  # public updates only
                    uid = self.next_id('private')
                    self.assertEqual(publish(self.hub, self.pub_token, {'topic': SENTINEL, 'id': uid,
                                                                        'private': 'on'}, via='http')[0], 200)
                    pid = self.next_id('public')
                    self.assertEqual(publish(self.hub, self.pub_token, {'topic': SENTINEL, 'id': pid},
                                             via='http')[0], 200)
                    self.assertEqual(s.next_event().id, pid)
                self.assertEqual([e.id for e in self.sentinel.events(2)], [uid, pid])
                self.assertStillServes()

    def test_segment_count_and_empty_segments(self):
        valid = make_token(KEY, publish=['*'], subscribe=['*'])
        h, p, s = valid.split('.')
        cases = {
            'two segments': h + '.' + p,
            'one segment': h,
            'four segments': valid + '.' + s,
            'five segments (JWE shape)': valid + '.' + s + '.' + s,
            'trailing dot': valid + '.',
            'leading dot': '.' + valid,
            'double dot': h + '..' + p + '.' + s,
            'only dots': '..',
            'one dot': '.',
            'empty header': '.' + p + '.' + s,
            'empty payload': h + '..' + s,
            'empty signature': h + '.' + p + '.',
            'all empty but dots': '...',
            'space inside': h + '. ' + p + '.' + s,
            'tab inside': h + '.' + p + '\t.' + s,
            'dot replaced by comma': h + ',' + p + ',' + s,
            'a word': 'garbage',
        }
        self.assertAllRefused(cases)
        # Malformed Authorization values: not a bearer token at all.
        for value in ('Bearer', 'Bearer ', 'Basic ' + base64.b64encode(b'a:b').decode(), 'Token ' + valid,
                      'Bearer  ', valid, 'Bearer ' + valid + ' ' + valid):
            with self.subTest(authorization=value[:30]):
                with SSEClient(self.hub, [SENTINEL], headers={'Authorization': value}, wait_initial=False) as sub:
                    self.assertEqual(sub.status, 401)
                status, body = publish(self.hub, None, {'topic': SENTINEL, 'id': 'forged'},
                                       headers={'Authorization': value}, via='http')
                self.assertEqual(status, 401, body)
                self.assertStillServes()
        # Empty query and cookie tokens are refused too (present but empty is not anonymous).
        with SSEClient(self.hub, [SENTINEL], query={'authorization': ''}, wait_initial=False) as sub:
            self.assertEqual(sub.status, 401)
        with SSEClient(self.hub, [SENTINEL], headers={'Cookie': 'mercureAuthorization='}, wait_initial=False) as sub:
            self.assertEqual(sub.status, 401)
        self.assertStillServes(fresh=True)

    def test_query_token_with_control_bytes(self):
        valid = make_token(KEY, publish=['*'], subscribe=['*'])
        for name, token in (('NUL inside', valid[:20] + '\0' + valid[20:]), ('NUL appended', valid + '\0'),
                            ('newline appended', valid + '\n'), ('CR LF inside', valid[:10] + '\r\n' + valid[10:])):
            with self.subTest(case=name):
                self.assertRefused(token, sources=('query',), what=name)

    def test_one_mebibyte_token_gets_431(self):
        token = 'a' * (1 << 20)
        for where, request in (
                ('header', b'GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '
                 + token.encode() + b'\r\n\r\n'),
                ('query', b'GET /.well-known/mercure?topic=x&authorization=' + token.encode() +
                 b' HTTP/1.1\r\nHost: x\r\n\r\n'),
                ('cookie', b'GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: x\r\nCookie: mercureAuthorization='
                 + token.encode() + b'\r\n\r\n')):
            with self.subTest(where=where):
                status, out, head_at = send_oversized(self.hub, request)
                self.assertEqual(status, 431, out[:200])
                self.assertLess(head_at, 3.0)
                self.assertStillServes()
        # Also a real, validly signed token of 1 MiB (claims padded).
        big = make_token(KEY, publish=['*'], extra={'pad': 'p' * (1 << 20)})
        status, out, _ = send_oversized(self.hub, ('POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\n'
                                                   'Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n'
                                                   % big).encode())
        self.assertEqual(status, 431, out[:200])
        self.assertStillServes(fresh=True)

    def test_token_near_the_header_limit_is_refused_without_harm(self):
        # 7,200 claim entries, validly signed: about 120 KiB, within this hub's 128 KiB header
        # limit but over the verifier's 64 KiB token limit, so it is refused unparsed.
        big = make_token(KEY, publish=['*'], subscribe=['*'], extra={'k%d' % i: i for i in range(7200)})
        self.assertGreater(len(big), 120000)
        self.assertLess(len(big), 128 * 1024 - 500)
        t0 = time.monotonic()
        self.assertRefused(big, what='a 120 KiB signed token with 7,200 claims')
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertStillServes(fresh=True)

    def test_thousands_of_claim_entries(self):
        # Validly signed tokens of 40-60 KiB: thousands of selectors, thousands of other claims.
        topics = ['/c/%d' % i for i in range(4000)]
        many_sub = make_token(KEY, subscribe=topics)
        many_pub = make_token(KEY, publish=topics)
        self.assertGreater(len(many_sub), 40000)
        with SSEClient(self.hub, ['/c/3999', '/c/0'], token=many_sub) as s:
            self.assertEqual(s.status, 200)
            t0 = time.monotonic()
            status, body = publish(self.hub, many_pub, {'topic': '/c/3999', 'id': 'many-claims', 'private': 'on'},
                                   via='http')
            self.assertEqual((status, body), (200, 'many-claims'))
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual(s.next_event().id, 'many-claims')
        self.assertEqual(publish(self.hub, many_pub, {'topic': '/c/4000'}, via='http')[0], 403)
        extra = {'k%d' % i: i for i in range(3000)}
        wide = make_token(KEY, publish=['*'], extra=extra)
        self.assertEqual(publish(self.hub, wide, {'topic': 'https://example.com/wide'}, via='http')[0], 200)
        # Templates in the claims: thousands of them, matched against a private update.
        templates = ['https://example.com/{a}/%d/{+b}{c}' % i for i in range(1500)]
        tmpl = make_token(KEY, subscribe=templates[-1000:])
        self.assertLess(len(tmpl), 64 * 1024)
        with SSEClient(self.hub, ['*'], token=tmpl) as s:
            self.assertEqual(s.status, 200)
            t0 = time.monotonic()
            status, _ = publish(self.hub, self.pub_token, {'topic': 'https://example.com/x/1499/y/zz', 'private': 'on',
                                                           'id': 'tmpl'}, via='http')
            self.assertEqual(status, 200)
            self.assertEqual(s.next_event().id, 'tmpl')
            self.assertLess(time.monotonic() - t0, 2.0)
        self.assertStillServes(fresh=True)

    def test_long_templates_in_claims(self):
        # Claim selectors are not bounded by max_topic_length (they come from the key holder),
        # but matching them must never blow up: pathological templates, within and beyond the
        # template compiler's limits (beyond, a selector is a literal), are tried first, and a
        # plain control selector then lets the private update through.
        hostile = ['{+a}' * 500, '{a}{b}' * 300, '{+a}/' * 400 + 'z', '{/a*}{?b*}{&c*}' * 60,
                   '{+a}' * 2000, '{a}' * 1500 + 'x']
        token = make_token(KEY, subscribe=hostile + ['https://example.com/ctl/{id}'])
        with SSEClient(self.hub, ['*'], token=token) as s:
            self.assertEqual(s.status, 200)
            for topic in ('b' * 2048, 'a/' * 1000, 'x' * 2047 + 'y', '/'.join(['ab'] * 600)):
                t0 = time.monotonic()
                uid = self.next_id('tpl')
                status, _ = publish(self.hub, self.pub_token, [('topic', topic), ('topic', 'https://example.com/ctl/1'),
                                                               ('private', 'on'), ('id', uid)], via='http')
                self.assertEqual(status, 200)
                self.assertEqual(s.next_event().id, uid)
                self.assertLess(time.monotonic() - t0, 1.0, 'private dispatch took too long: template blow-up?')
        self.assertStillServes(fresh=True)

    def test_deeply_nested_signed_payloads(self):
        # Past the signature check: the payload parser must refuse, not recurse without bound.
        cases = {
            'arrays 20000 deep': hs({'alg': 'HS256'}, '{"mercure":{"publish":' + '[' * 20000 + ']' * 20000 + '}}'),
            'objects 5000 deep': hs({'alg': 'HS256'}, '{"x":' + '{"a":' * 5000 + '1' + '}' * 5000 + '}'),
            'payload claim 40 deep': hs({'alg': 'HS256'}, {'mercure': {'publish': ['*'], 'payload': json.loads(
                '[' * 40 + ']' * 40)}}),
            'unclosed arrays': hs({'alg': 'HS256'}, '[' * 30000),
            'header arrays 20000 deep': hs('{"alg":"HS256","x":' + '[' * 20000 + ']' * 20000 + '}', good_claims()),
        }
        self.assertAllRefused(cases, sources=('header', 'query'))


# ---------------------------------------------------------------------------------------------
# Algorithm confusion on RS256 and ES256 hubs

class _KeyedCase(SentinelCase):
    ALG = None
    TMP = None

    @classmethod
    def extra_setup(cls):
        cls.TMP = tempfile.mkdtemp(prefix='mercure-it-hostile-')
        if cls.ALG.startswith('RS'):
            cls.priv, cls.pub = gen_rsa_key(cls.TMP)
            cls.other_priv, _ = gen_rsa_key(cls.TMP, 'rsa2')
        else:
            cls.priv, cls.pub = gen_ec_key(cls.TMP)
            cls.other_priv, _ = gen_ec_key(cls.TMP, 'ec2')
        cls.CONFIG = {'jwt_key': cls.pub, 'jwt_algorithm': cls.ALG, 'allow_anonymous': True}

    @classmethod
    def extra_teardown(cls):
        shutil.rmtree(cls.TMP, ignore_errors=True)

    @classmethod
    def valid_token(cls, **kw):
        return make_token(cls.priv, alg=cls.ALG, **kw)

    def pem_der(self):
        body = ''.join(line for line in self.pub.strip().splitlines() if not line.startswith('-----'))
        return base64.b64decode(body)

    def confusion_cases(self):
        c = good_claims()
        cases = {
            'HS256 signed with the public key PEM': make_token(self.pub, publish=['*'], subscribe=['*']),
            'HS256 signed with the stripped PEM': make_token(self.pub.strip(), publish=['*'], subscribe=['*']),
            'HS256 signed with the PEM, CRLF lines': make_token(self.pub.replace('\n', '\r\n'), publish=['*'],
                                                                subscribe=['*']),
            'HS256 signed with the DER key': make_token(self.pem_der(), publish=['*'], subscribe=['*']),
            'HS384 signed with the PEM': make_token(self.pub, publish=['*'], subscribe=['*'], alg='HS384'),
            'HS512 signed with the PEM': make_token(self.pub, publish=['*'], subscribe=['*'], alg='HS512'),
            '%s label, HMAC-SHA256 signature with the PEM' % self.ALG: relabelled_hmac(self.ALG, c, self.pub),
            'alg none': sign_jws({'alg': 'none'}, c, alg='none'),
            'alg NONE': sign_jws({'alg': 'NONE'}, c, alg='none'),
            '%s, empty signature' % self.ALG: sign_jws({'alg': self.ALG}, c, signature=b''),
            '%s, signed with another key' % self.ALG: make_token(self.other_priv, publish=['*'], subscribe=['*'],
                                                                alg=self.ALG),
            '%s, lower-case alg' % self.ALG: sign_jws({'alg': self.ALG.lower()}, c, key=self.priv, alg=self.ALG),
            '%s with 384 label' % self.ALG: sign_jws({'alg': self.ALG[:2] + '384'}, c, key=self.priv, alg=self.ALG),
            'embedded jwk, signed with another key': sign_jws(
                {'alg': self.ALG, 'jwk': {'kty': 'RSA' if self.ALG.startswith('RS') else 'EC', 'n': 'AQAB'}},
                c, key=self.other_priv, alg=self.ALG),
            'jku and x5u, signed with another key': sign_jws(
                {'alg': self.ALG, 'jku': 'https://evil.example/jwks.json', 'x5u': 'https://evil.example/cert.pem'},
                c, key=self.other_priv, alg=self.ALG),
        }
        valid = self.valid_token(publish=['*'], subscribe=['*'])
        h, p, s = valid.split('.')
        sig = base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
        wide = b64url(json.dumps(claims(publish=['*'], subscribe=['*'], ttl=86400 * 365), separators=(',', ':')))
        cases.update({
            'valid signature, payload replaced': '.'.join([h, wide, s]),
            'signature truncated': '.'.join([h, p, b64url(sig[:-1])]),
            'signature extended': '.'.join([h, p, b64url(sig + b'\0')]),
            'signature all zeros': '.'.join([h, p, b64url(b'\0' * len(sig))]),
            'signature all ones': '.'.join([h, p, b64url(b'\xff' * len(sig))]),
        })
        return cases


class RsaConfusionTest(_KeyedCase):
    ALG = 'RS256'

    def test_algorithm_confusion_and_forgeries(self):
        self.assertAllRefused(self.confusion_cases())

    def test_valid_token_works(self):
        token = self.valid_token(publish=[SENTINEL])
        uid = self.next_id('rs')
        self.assertEqual(publish(self.hub, token, {'topic': SENTINEL, 'id': uid}, via='http'), (200, uid))
        self.assertEqual(self.sentinel.next_event().id, uid)
        self.assertStillServes(fresh=True)


class EcConfusionTest(_KeyedCase):
    ALG = 'ES256'

    def test_algorithm_confusion_and_forgeries(self):
        self.assertAllRefused(self.confusion_cases())

    def test_psychic_and_malformed_ecdsa_signatures(self):
        c = good_claims()
        n = P256_ORDER.to_bytes(32, 'big')
        signing_input = (b64url(json.dumps({'alg': 'ES256'}, separators=(',', ':'))) + '.' +
                         b64url(json.dumps(c, separators=(',', ':')))).encode()
        der = openssl_sign('ES256', self.priv, signing_input)  # raw R||S, as JWS wants
        cases = {
            'r = s = 0 (CVE-2022-21449)': sign_jws({'alg': 'ES256'}, c, signature=b'\0' * 64),
            'r = s = n': sign_jws({'alg': 'ES256'}, c, signature=n + n),
            'r = 0, s = valid': sign_jws({'alg': 'ES256'}, c, signature=b'\0' * 32 + der[32:]),
            'r = valid, s = 0': sign_jws({'alg': 'ES256'}, c, signature=der[:32] + b'\0' * 32),
            'r and s swapped': sign_jws({'alg': 'ES256'}, c, signature=der[32:] + der[:32]),
            '63-byte signature': sign_jws({'alg': 'ES256'}, c, signature=der[:63]),
            '65-byte signature': sign_jws({'alg': 'ES256'}, c, signature=der + b'\0'),
            'DER-encoded signature': sign_jws({'alg': 'ES256'}, c, signature=_raw_to_der(der)),
        }
        # A correct signature over these exact bytes is accepted (control), the forgeries are not.
        good = sign_jws({'alg': 'ES256'}, c, signature=der)
        self.assertEqual(publish(self.hub, good, {'topic': 'https://example.com/es'}, via='http')[0], 200)
        self.assertAllRefused(cases)


def _raw_to_der(raw):
    def integer(b):
        b = b.lstrip(b'\0') or b'\0'
        if b[0] & 0x80:
            b = b'\0' + b
        return b'\x02' + bytes([len(b)]) + b
    body = integer(raw[:32]) + integer(raw[32:])
    return b'\x30' + bytes([len(body)]) + body


def strict_json(text):
    """json.loads that refuses NaN and Infinity (Python accepts them by default)."""
    def refuse(constant):
        raise ValueError('not JSON: %s' % constant)
    return json.loads(text, parse_constant=refuse)


class PayloadJsonTest(SentinelCase):
    CONFIG = {'jwt_key': KEY, 'allow_anonymous': True, 'subscriptions': True}

    def test_subscription_payloads_stay_valid_json(self):
        # Unusual but valid JSON in mercure.payload is accepted and echoed as valid JSON.
        odd = '{"mercure":{"subscribe":["*"],"payload":{"a":-0,"b":1e300,"c":"\\u0001\\"\\\\","d":[[],{}]}}}'
        token = hs({'alg': 'HS256'}, odd)
        watcher_token = make_token(KEY, subscribe=['*'])
        with SSEClient(self.hub, ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'],
                       token=watcher_token) as watcher:
            self.assertEqual(watcher.status, 200)
            with SSEClient(self.hub, ['https://example.com/odd'], token=token) as s:
                self.assertEqual(s.status, 200)
                event = {}
                while event.get('topic') != 'https://example.com/odd':
                    event = strict_json(watcher.next_event().data)
                self.assertEqual(event['payload']['d'], [[], {}])
                self.assertEqual(event['payload']['c'], '\x01"\\')
                status, _, body = self.hub.get('/.well-known/mercure/subscriptions',
                                               headers={'Authorization': 'Bearer ' + watcher_token})
                self.assertEqual(status, 200)
                document = strict_json(body.decode())
                self.assertIn(event['payload'], [x.get('payload') for x in document['subscriptions']])
            # Non-JSON numbers never get that far.
            for text in ('NaN', 'Infinity', '-Infinity', '1.', '[1,NaN]'):
                with self.subTest(number=text):
                    bad = hs({'alg': 'HS256'}, '{"mercure":{"subscribe":["*"],"payload":{"n":%s}}}' % text)
                    self.assertRefused(bad, what='payload %s' % text)
            status, _, body = self.hub.get('/.well-known/mercure/subscriptions',
                                           headers={'Authorization': 'Bearer ' + watcher_token})
            self.assertEqual(status, 200)
            strict_json(body.decode())
        self.assertStillServes(fresh=True)


# ---------------------------------------------------------------------------------------------
# Empty secrets and the configuration

class EmptySecretConfigTest(HubTestCase):
    def test_empty_jwt_key_refuses_to_start(self):
        port = free_port()
        runs = {
            'config file': (['--config', '{config}'], None, 'jwt_key = "";\naddr = "127.0.0.1:%d";\n' % port),
            'environment': (['--addr=127.0.0.1:%d' % port], {'JWT_KEY': ''}, None),
            'flag': (['--jwt-key=', '--addr=127.0.0.1:%d' % port], None, None),
            'RS256 with an empty key': (['--config', '{config}'], None,
                                        'jwt_key = "";\njwt_algorithm = "RS256";\naddr = "127.0.0.1:%d";\n' % port),
            'empty jwt_key and publisher_jwt_key': (['--config', '{config}'], None,
                                                    'jwt_key = "";\npublisher_jwt_key = "";\n'
                                                    'subscriber_jwt_key = "s";\naddr = "127.0.0.1:%d";\n' % port),
        }
        for name, (args, env, text) in runs.items():
            with self.subTest(case=name):
                rc, out, err, _ = run_hub_command(args, env=env, config_text=text)
                self.assertEqual(rc, 1, err)
                self.assertIn(MISSING_KEY_MSG, err)
                rc, out, err, _ = run_hub_command(['--check-config'] + args, env=env, config_text=text)
                self.assertEqual(rc, 1, err)
                self.assertIn(MISSING_KEY_MSG, err)
        # Nothing is listening: the hub did not half-start.
        with self.assertRaises(OSError):
            socket.create_connection(('127.0.0.1', port), timeout=1).close()

    def test_alg_none_cannot_be_configured(self):
        for alg in ('none', 'None', 'NONE', 'hs256', 'HS256 '):
            with self.subTest(alg=alg):
                rc, out, err, path = run_hub_command(['--check-config', '--config', '{config}'],
                                                     config_text='jwt_key = "k";\njwt_algorithm = "%s";\n' % alg)
                self.assertEqual(rc, 1, err)
                self.assertIn('jwt_algorithm', err)

    def test_role_without_key_refuses_every_token(self):
        # Only the publisher has a key: the subscriber side has none, so any subscriber token
        # (even one signed with the empty string, or with the publisher's key) is refused.
        pk = 'publisher-only-key-0123456789'
        with Hub({'publisher_jwt_key': pk, 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [SENTINEL]) as anonymous:
                self.assertEqual(anonymous.status, 200)
                for key in ('', pk):
                    with SSEClient(hub, [SENTINEL], token=make_token(key, subscribe=['*']), wait_initial=False) as s:
                        self.assertEqual(s.status, 401)
                self.assertEqual(publish(hub, make_token('', publish=['*']), {'topic': SENTINEL}, via='http')[0], 401)
                status, body = publish(hub, make_token(pk, publish=['*']), {'topic': SENTINEL, 'id': 'pk'}, via='http')
                self.assertEqual((status, body), (200, 'pk'))
                self.assertEqual(anonymous.next_event().id, 'pk')

    def test_reload_to_an_empty_key_is_refused_and_the_old_key_kept(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True}) as hub:
            with SSEClient(hub, [SENTINEL]) as s:
                hub.rewrite_config({'jwt_key': '', 'allow_anonymous': True})
                hub.reload()
                wait_for(lambda: 'reload failed' in hub.stderr_text().lower(), what='the reload failure in the log')
                self.assertIn('jwt_key', hub.stderr_text())
                self.assertTrue(hub.alive())
                self.assertEqual(publish(hub, make_token('', publish=['*']), {'topic': SENTINEL}, via='http')[0], 401)
                status, body = publish(hub, make_token(KEY, publish=['*']), {'topic': SENTINEL, 'id': 'kept'},
                                       via='http')
                self.assertEqual((status, body), (200, 'kept'))
                self.assertEqual(s.next_event().id, 'kept')


# ---------------------------------------------------------------------------------------------
# Debug logs never contain tokens

class TokenLoggingTest(HubTestCase):
    def test_debug_log_gives_reasons_but_never_the_token(self):
        now = int(time.time())
        valid_sub = make_token(KEY, subscribe=['*'])
        valid_pub = make_token(KEY, publish=['*'])
        bad = [
            ('header', make_token(KEY, publish=['*'], subscribe=['*'], exp=now - 100), 'expired'),
            ('query', make_token('wrong-key-0123456789', publish=['*'], subscribe=['*']), 'signature'),
            ('cookie', sign_jws({'alg': 'none'}, good_claims(), alg='none'), 'algorithm'),
            ('header', 'eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24gYXQgYWxsIGJ1dCBsb25n.' + '!' * 43, 'malformed'),
            ('query', make_token(KEY, publish=['*'], subscribe=['*'], nbf=now + 3600), 'not valid yet'),
        ]
        with Hub({'jwt_key': KEY, 'allow_anonymous': False, 'log_level': 'debug'}) as hub:
            with SSEClient(hub, [SENTINEL], token=valid_sub) as sentinel:
                self.assertEqual(sentinel.status, 200)
                for where, token, reason in bad:
                    with self.subTest(reason=reason, where=where):
                        with SSEClient(hub, [SENTINEL], token=token, token_in=where, wait_initial=False) as s:
                            self.assertEqual(s.status, 401)
                        self.assertEqual(publish(hub, token, {'topic': SENTINEL}, token_in=where, via='http')[0], 401)
                        wait_for(lambda: reason in hub.stderr_text().lower(), what='the reason %r in the log' % reason)
                status, body = publish(hub, valid_pub, {'topic': SENTINEL, 'id': 'logged'}, token_in='query',
                                       via='http')
                self.assertEqual((status, body), (200, 'logged'))
                self.assertEqual(sentinel.next_event().id, 'logged')
                wait_for(lambda: 'logged' in hub.stderr_text(), what='the publish in the log')
            log = hub.stderr_text() + hub.stdout_text()
            self.assertIn('debug', log)
            self.assertGreaterEqual(log.lower().count('refused'), len(bad))
            for _, token, _ in bad + [(None, valid_sub, None), (None, valid_pub, None)]:
                for part in [token] + [p for p in token.split('.') if len(p) >= 24]:
                    self.assertNotIn(part, log, 'token text in the debug log')
                    self.assertNotIn(urllib.parse.quote(part, safe=''), log, 'token text in the debug log')


# ---------------------------------------------------------------------------------------------
# Request limits

class RequestLimitsTest(SentinelCase):
    CONFIG = {'jwt_key': KEY, 'allow_anonymous': True, 'max_header_size': 4096, 'max_body_size': 8192,
              'max_topics': 5, 'max_topic_length': 256, 'read_timeout': '1s'}

    def test_request_line_and_headers_too_large_get_431(self):
        cases = {
            'long request line': b'GET /healthz?x=' + b'a' * 5000 + b' HTTP/1.1\r\nHost: x\r\n\r\n',
            'long subscribe URL': (b'GET /.well-known/mercure?topic=' + b'a' * 5000 + b' HTTP/1.1\r\nHost: x\r\n\r\n'),
            'one large header': b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ' + b'p' * 5000 + b'\r\n\r\n',
            'many small headers': b'GET /healthz HTTP/1.1\r\nHost: x\r\n' + b''.join(
                b'X-H%d: v\r\n' % i for i in range(600)) + b'\r\n',
            'large token header': (b'GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '
                                   + make_token(KEY, subscribe=['x' * 5000]).encode() + b'\r\n\r\n'),
            'head never terminated': b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ' + b'p' * 6000,
            'one mebibyte of headers': (b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ' + b'p' * (1 << 20) +
                                        b'\r\n\r\n'),
        }
        for name, request in cases.items():
            with self.subTest(case=name):
                status, out, head_at = send_oversized(self.hub, request)
                self.assertEqual(status, 431, out[:200])
                self.assertLess(head_at, 2.0)
                self.assertStillServes(what='after ' + name)
        # Just under the limit is fine.
        status, _, body = self.hub.get('/healthz', headers={'X-Pad': 'p' * 3500})
        self.assertEqual((status, body), (200, b'ok'))
        self.assertStillServes(fresh=True)

    def test_body_too_large_gets_413(self):
        auth = ('Authorization: Bearer %s\r\n' % self.pub_token).encode()
        head = b'POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\n' + auth + \
            b'Content-Type: application/x-www-form-urlencoded\r\n'
        body = ('topic=%s&data=' % urllib.parse.quote(SENTINEL, safe='')).encode()
        big = body + b'x' * (8193 - len(body))
        chunked = b''.join(b'1000\r\n' + b'x' * 4096 + b'\r\n' for _ in range(4)) + b'0\r\n\r\n'
        cases = {
            'declared and sent': head + b'Content-Length: %d\r\n\r\n' % len(big) + big,
            'declared huge, nothing sent': head + b'Content-Length: 1000000000000\r\n\r\n',
            'chunked past the limit': head + b'Transfer-Encoding: chunked\r\n\r\n' + chunked,
            'one mebibyte sent': head + b'Content-Length: %d\r\n\r\n' % (1 << 20) + b'x' * (1 << 20),
        }
        for name, request in cases.items():
            with self.subTest(case=name):
                status, out, head_at = send_oversized(self.hub, request)
                self.assertEqual(status, 413, out[:200])
                self.assertLess(head_at, 2.0)
                self.assertStillServes(what='after ' + name)
        with self.subTest(case='Content-Length overflowing 64 bits'):
            status, out, _ = send_oversized(self.hub, head + b'Content-Length: 99999999999999999999999\r\n\r\n')
            self.assertIn(status, (400, 413), out[:200])
        # Exactly at the limit is accepted.
        uid = self.next_id('limit')
        exact = ('topic=%s&id=%s&data=' % (urllib.parse.quote(SENTINEL, safe=''), uid)).encode()
        exact += b'y' * (8192 - len(exact))
        status, out, _ = send_oversized(self.hub, head + b'Content-Length: 8192\r\nConnection: close\r\n\r\n' + exact)
        self.assertEqual(status, 200, out[:200])
        self.assertEqual(self.sentinel.next_event().id, uid)
        self.assertStillServes(fresh=True)

    def test_too_many_topics_gets_400(self):
        with SSEClient(self.hub, ['t%d' % i for i in range(6)], wait_initial=False) as s:
            self.assertEqual(s.status, 400)
        with SSEClient(self.hub, ['t%d' % i for i in range(300)], wait_initial=False) as s:
            self.assertEqual(s.status, 400)
        with SSEClient(self.hub, ['t%d' % i for i in range(5)]) as s:
            self.assertEqual(s.status, 200)
        self.assertStillServes()
        for n in (6, 50):
            status, body = publish(self.hub, self.pub_token, [('topic', SENTINEL)] + [('topic', 't%d' % i)
                                                                                     for i in range(n - 1)], via='http')
            self.assertEqual(status, 400, body)
        # The refused publishes reached nobody; five topics are fine.
        uid = self.next_id('five')
        fields = [('topic', SENTINEL)] + [('topic', 't%d' % i) for i in range(4)] + [('id', uid)]
        status, body = publish(self.hub, self.pub_token, fields, via='http')
        self.assertEqual((status, body), (200, uid))
        self.assertEqual(self.sentinel.next_event().id, uid)
        self.assertStillServes(fresh=True)

    def test_selector_length_and_template_complexity(self):
        with SSEClient(self.hub, ['a' * 257], wait_initial=False) as s:
            self.assertEqual(s.status, 400)
        with SSEClient(self.hub, ['{a}' * 100], wait_initial=False) as s:  # 300 bytes of expressions
            self.assertEqual(s.status, 400)
        with SSEClient(self.hub, ['a' * 256]) as s:
            self.assertEqual(s.status, 200)
        status, body = publish(self.hub, self.pub_token, {'topic': 'a' * 257}, via='http')
        self.assertEqual(status, 400, body)
        self.assertStillServes()
        # Pathological templates within the limit: accepted or refused, never slow.
        hostile = ['{a}' * 85, '{+a}' * 64, '{+a}x' * 51, '{/a*}{?b*}{&c*}{#d}' * 12,
                   '{+a}/' * 51, '{' * 200, '}' * 200, '{a' * 128, '{+a,b,c,d,e,f,g,h,i,j,k,l,m,n}' * 7]
        subs = []
        try:
            for selector in hostile:
                self.assertLessEqual(len(selector), 256)
                s = SSEClient(self.hub, [selector], wait_initial=False)
                subs.append(s)
                self.assertIn(s.status, (200, 400), selector)
            for topic in ('a' * 256, 'a/' * 128, 'x' * 255 + '/', '/'.join(['ab'] * 85)):
                t0 = time.monotonic()
                status, _ = publish(self.hub, self.pub_token, {'topic': topic, 'data': 'x'}, via='http')
                self.assertEqual(status, 200)
                self.assertLess(time.monotonic() - t0, 1.0, 'publish took too long: template blow-up?')
            self.assertStillServes()
        finally:
            for s in subs:
                s.close()
        self.assertStillServes(fresh=True)

    def test_idle_and_dribbling_connections_closed_after_read_timeout(self):
        idle = [socket.create_connection((self.hub.host, self.hub.port), timeout=5) for _ in range(20)]
        partial = socket.create_connection((self.hub.host, self.hub.port), timeout=5)
        partial.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
        body_wait = socket.create_connection((self.hub.host, self.hub.port), timeout=5)
        body_wait.sendall(('POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
                           'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntopic=a'
                           % self.pub_token).encode())
        dribble = socket.create_connection((self.hub.host, self.hub.port), timeout=5)
        stop = threading.Event()
        dribble_result = {}

        def dribbler():
            request = b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b's' * 200
            t0 = time.monotonic()
            for byte in request:
                if stop.is_set():
                    break
                try:
                    dribble.sendall(bytes([byte]))
                except OSError:
                    dribble_result['closed_after'] = time.monotonic() - t0
                    return
                time.sleep(0.1)
            dribble_result['closed_after'] = None

        t0 = time.monotonic()
        th = threading.Thread(target=dribbler, daemon=True)
        th.start()
        try:
            # While they hang around, the hub serves everybody else.
            self.assertStillServes(fresh=True, what='while idle connections are open')
            for sock in idle:
                closed, data, _ = read_until_closed(sock, 4 - (time.monotonic() - t0))
                self.assertTrue(closed, 'idle connection still open after %.1fs' % (time.monotonic() - t0))
                self.assertEqual(data, b'')
            elapsed = time.monotonic() - t0
            self.assertGreater(elapsed, 0.8)
            self.assertLess(elapsed, 4.0)
            for name, sock in (('partial head', partial), ('body never completed', body_wait)):
                closed, data, _ = read_until_closed(sock, 4 - (time.monotonic() - t0))
                self.assertTrue(closed, '%s: connection still open' % name)
                self.assertTrue(data == b'' or data.startswith(b'HTTP/1.1 408'), '%s: %r' % (name, data[:100]))
            closed, data, _ = read_until_closed(dribble, 5 - (time.monotonic() - t0))
            self.assertTrue(closed, 'a client sending one byte every 100 ms kept its connection past read_timeout')
            self.assertTrue(data == b'' or data.startswith(b'HTTP/1.1 408'), data[:100])
            self.assertLess(time.monotonic() - t0, 5.0)
        finally:
            stop.set()
            th.join(5)
            for sock in idle + [partial, body_wait, dribble]:
                sock.close()
        self.assertStillServes(fresh=True)


# ---------------------------------------------------------------------------------------------
# max_connections

class ConnectionLimitTest(SentinelCase):
    CONFIG = {'jwt_key': KEY, 'allow_anonymous': True, 'metrics': True, 'max_connections': 6}

    def probe(self):
        """One connection attempt: True when served, False when refused (closed without answer)."""
        try:
            s = socket.create_connection((self.hub.host, self.hub.port), timeout=3)
        except OSError:
            return False, 0.0
        t0 = time.monotonic()
        try:
            try:
                s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            except OSError:
                return False, time.monotonic() - t0
            closed, data, _ = read_until_closed(s, 3)
            return data.startswith(b'HTTP/1.1 200'), time.monotonic() - t0
        finally:
            s.close()

    def test_connections_beyond_the_limit_are_refused_quickly_and_counted(self):
        before = metric(self.hub, 'mercure_connections_refused_total')
        time.sleep(0.2)  # let the hub see the metrics connection close
        holders = []
        try:
            for _ in range(5):  # with the sentinel: 6, the limit
                holders.append(SSEClient(self.hub, ['https://example.com/hold']))
                self.assertEqual(holders[-1].status, 200)
            refused = 0
            for _ in range(60):
                served, elapsed = self.probe()
                self.assertFalse(served, 'a connection beyond max_connections was served')
                self.assertLess(elapsed, 1.0, 'refusal was not quick')
                refused += 1
            self.assertTrue(self.hub.alive())
            # Free three slots: the hub accepts again (attempts refused meanwhile are counted too).
            for s in holders[:3]:
                s.close()
            del holders[:3]

            def accepted():
                nonlocal refused
                served, _ = self.probe()
                if not served:
                    refused += 1
                return served
            wait_for(accepted, timeout=5, what='the hub to accept again')
            self.assertStillServes(fresh=True, what='after the connection flood')
            total = metric(self.hub, 'mercure_connections_refused_total')
            self.assertEqual(total - before, refused)
        finally:
            for s in holders:
                s.close()
        self.assertStillServes(fresh=True)


# ---------------------------------------------------------------------------------------------
# Slow subscribers

BIG = 'b' * 50000
BIG_COUNT = 320  # 16 MB: more than loopback socket buffers hold for a subscriber that never reads


class _SlowCase(SentinelCase):
    def run_stall(self, topic):
        stalled = stalled_subscriber(self.hub, topic)
        last = b'id: big-%d\n' % (BIG_COUNT - 1)
        reader = DrainingReader(self.hub, topic, last)
        reader.start()
        self.assertTrue(reader.ready.wait(5))
        before = metric(self.hub, 'mercure_slow_subscribers_dropped_total')
        try:
            conn = http.client.HTTPConnection(self.hub.host, self.hub.port, timeout=10)
            body_base = 'topic=%s&data=%s' % (urllib.parse.quote(topic, safe=''), BIG)
            t0 = time.monotonic()
            for i in range(BIG_COUNT):
                conn.request('POST', HUB_PATH, body='%s&id=big-%d' % (body_base, i),
                             headers={'Authorization': 'Bearer ' + self.pub_token,
                                      'Content-Type': 'application/x-www-form-urlencoded'})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                if i % 40 == 0:
                    self.assertStillServes(what='while a subscriber is stalled')
            conn.close()
            publish_time = time.monotonic() - t0
            self.assertLess(publish_time, 20)
            # The fast reader got every update, in order.
            self.assertTrue(reader.done.wait(15), 'the fast reader did not get everything')
            ids = re.findall(rb'id: big-(\d+)\n', bytes(reader.data))
            self.assertEqual([int(x) for x in ids], list(range(BIG_COUNT)))
            # The stalled one is cut off and counted.
            wait_for(lambda: metric(self.hub, 'mercure_slow_subscribers_dropped_total') > before, timeout=6,
                     what='the stalled subscriber to be dropped')
            self.assertEqual(metric(self.hub, 'mercure_slow_subscribers_dropped_total'), before + 1)
            self.assertIn('Slow subscriber disconnected', self.hub.stderr_text())
            closed, data, _ = read_until_closed(stalled, 10, max_bytes=BIG_COUNT * len(BIG))
            self.assertTrue(closed, 'the stalled subscriber was not disconnected (read %d bytes)' % len(data))
            self.assertLess(len(data), BIG_COUNT * len(BIG))
        finally:
            stalled.close()
            reader.close()
            reader.join(5)
        self.assertStillServes(fresh=True)


class QueuedBytesLimitTest(_SlowCase):
    # 2M: the stalled subscriber is sent 16 MB, and the fast reader (a Python thread racing a
    # release hub) gets 40 updates of slack beyond its 64K send buffer.
    CONFIG = {'jwt_key': KEY, 'allow_anonymous': True, 'metrics': True, 'max_queued_bytes': '2M',
              'dispatch_timeout': '2s'}

    def test_subscriber_over_max_queued_bytes_is_cut_off(self):
        self.run_stall('https://example.com/hostile/big-queue')
        self.assertRegex(self.hub.stderr_text(), r'Slow subscriber disconnected .*(bytes queued|dispatch timeout)')


class DispatchTimeoutTest(_SlowCase):
    CONFIG = {'jwt_key': KEY, 'allow_anonymous': True, 'metrics': True, 'max_queued_bytes': '64M',
              'dispatch_timeout': '1s'}

    def test_stalled_subscriber_is_cut_off_after_dispatch_timeout(self):
        self.run_stall('https://example.com/hostile/big-stall')
        self.assertIn('no output accepted within the dispatch timeout', self.hub.stderr_text())


def hub_send_queue(hub, client_sock):
    """Bytes the kernel holds in the hub's send queue toward client_sock (/proc/net/tcp)."""
    client_port = client_sock.getsockname()[1]
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(':')[1], 16)
            remote_port = int(fields[2].split(':')[1], 16)
            if local_port == hub.port and remote_port == client_port:
                return int(fields[4].split(':')[0], 16)
    raise AssertionError('no hub socket toward port %d in /proc/net/tcp' % client_port)


class SendBufferTest(HubTestCase):
    """A subscriber that stops reading holds a bounded amount of kernel memory (send_buffer)."""

    def stalled_queue(self, send_buffer):
        config = {'jwt_key': KEY, 'allow_anonymous': True, 'dispatch_timeout': '30s', 'max_queued_bytes': '64M'}
        if send_buffer is not None:
            config['send_buffer'] = send_buffer
        with Hub(config) as hub:
            token = make_token(KEY, publish=['*'])
            with SSEClient(hub, [SENTINEL]) as witness:
                stalled = stalled_subscriber(hub, 'https://example.com/hostile/kernel')
                try:
                    time.sleep(0.3)
                    conn = http.client.HTTPConnection(hub.host, hub.port, timeout=10)
                    for i in range(250):  # 1 MB toward a subscriber that reads nothing
                        conn.request('POST', HUB_PATH, body='topic=https://example.com/hostile/kernel&data=' + 'k' * 4000,
                                     headers={'Authorization': 'Bearer ' + token,
                                              'Content-Type': 'application/x-www-form-urlencoded'})
                        r = conn.getresponse()
                        r.read()
                        self.assertEqual(r.status, 200)
                    conn.close()
                    time.sleep(0.3)
                    queued = hub_send_queue(hub, stalled)
                    # Others are served all along.
                    publish(hub, token, {'topic': SENTINEL, 'id': 'after-kernel'}, via='http')
                    self.assertEqual(witness.next_event(5).id, 'after-kernel')
                    return queued
                finally:
                    stalled.close()

    def test_the_default_send_buffer_bounds_kernel_memory(self):
        fixed = self.stalled_queue(None)  # the default, 64K: the kernel keeps about twice that
        self.assertGreater(fixed, 0)
        self.assertLessEqual(fixed, 192 * 1024)
        autotuned = self.stalled_queue('0')  # the kernel's autotuning grows it well beyond
        self.assertGreater(autotuned, 2 * fixed)


# ---------------------------------------------------------------------------------------------
# write_timeout: maximum stream life

class StreamLifeTest(HubTestCase):
    def test_streams_end_at_write_timeout_even_when_busy(self):
        with Hub({'jwt_key': KEY, 'allow_anonymous': True, 'write_timeout': '2s'}) as hub:
            token = make_token(KEY, publish=['*'])
            long_lived = make_token(KEY, subscribe=['*'], ttl=3600)
            busy = SSEClient(hub, [SENTINEL], token=long_lived)
            idle = SSEClient(hub, ['https://example.com/quiet'])
            stalled = stalled_subscriber(hub, 'https://example.com/quiet')
            try:
                t0 = time.monotonic()
                i = 0
                # Keep the busy stream busy: activity does not extend its life.
                while not busy.eof and not busy.complete and time.monotonic() - t0 < 6:
                    publish(hub, token, {'topic': SENTINEL, 'id': 'busy-%d' % i}, via='http')
                    i += 1
                    try:
                        busy.next_event(timeout=0.3)
                    except AssertionError:
                        break
                    time.sleep(0.1)
                for name, s in (('busy', busy), ('idle', idle)):
                    self.assertTrue(s.wait_closed(timeout=max(0.1, 5 - (time.monotonic() - t0))),
                                    '%s stream still open after write_timeout' % name)
                    self.assertTrue(s.complete, '%s stream ended without the terminating chunk' % name)
                elapsed = time.monotonic() - t0
                self.assertGreater(elapsed, 1.5)
                self.assertLess(elapsed, 5.0)
                self.assertGreater(i, 3)
                closed, data, _ = read_until_closed(stalled, 8)
                self.assertTrue(closed, 'a subscriber that never reads outlived write_timeout')
                self.assertTrue(data.endswith(b'0\r\n\r\n'), data[-50:])
            finally:
                busy.close()
                idle.close()
                stalled.close()
            # Still serving afterwards: a new stream connects and receives.
            with SSEClient(hub, [SENTINEL], token=long_lived) as s:
                self.assertEqual(s.status, 200)
                self.assertEqual(publish(hub, token, {'topic': SENTINEL, 'id': 'after-life'}, via='http')[0], 200)
                self.assertEqual(s.next_event().id, 'after-life')
            self.assertTrue(hub.alive())


if __name__ == '__main__':
    main()
