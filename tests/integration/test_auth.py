"""Integration: JWT sources and precedence, key/algorithm checks, RS256/ES256, private updates."""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (MERCURE_TOKEN_BIN, Hub, HubTestCase, SSEClient, claims, decode_jwt,  # noqa: E402
                     gen_ec_key, gen_rsa_key, main, make_token, none_token, publish, sign_jws,
                     tool_token)

KEY = 'auth-secret-key-0123456789abcdef'
T1 = 'https://example.com/books/1'
T2 = 'https://example.com/books/2'


def pub_token(key=KEY, publish=('*',), **kw):
    return make_token(key, publish=publish, **kw)


class TokenSourceTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'publish_allowed_origins': ['https://app.example']}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def sub(self, topics=(T1,), **kw):
        s = SSEClient(self.hub, topics, **kw)
        self.addCleanup(s.close)
        return s

    def pub(self, token, fields=None, **kw):
        return publish(self.hub, token, fields or {'topic': T1, 'data': 'x'}, **kw)

    def test_header_token(self):
        self.assertEqual(self.pub(pub_token())[0], 200)
        self.assertEqual(self.sub(token=make_token(KEY, subscribe=['*'])).status, 200)

    def test_query_token(self):
        self.assertEqual(self.pub(pub_token(), token_in='query')[0], 200)
        self.assertEqual(self.sub(token=make_token(KEY, subscribe=['*']), token_in='query').status, 200)

    def test_cookie_token_subscribe(self):
        s = self.sub(token=make_token(KEY, subscribe=['*']), token_in='cookie')
        self.assertEqual(s.status, 200)

    def test_cookie_among_other_cookies(self):
        t = make_token(KEY, subscribe=['*'])
        s = self.sub(headers={'Cookie': 'a=1; mercureAuthorization=%s; b=2' % t})
        self.assertEqual(s.status, 200)

    def test_cookie_publish_needs_allowed_origin(self):
        status, body = self.pub(pub_token(), token_in='cookie')
        self.assertEqual(status, 403, body)
        status, body = self.pub(pub_token(), token_in='cookie', headers={'Origin': 'https://evil.example'})
        self.assertEqual(status, 403, body)
        status, body = self.pub(pub_token(), token_in='cookie', headers={'Referer': 'https://evil.example/x'})
        self.assertEqual(status, 403, body)
        status, body = self.pub(pub_token(), token_in='cookie', headers={'Origin': 'https://app.example.evil'})
        self.assertEqual(status, 403, body)
        status, body = self.pub(pub_token(), token_in='cookie', headers={'Origin': 'https://app.example'})
        self.assertEqual(status, 200, body)

    def test_cookie_publish_with_allowed_referer(self):
        status, body = self.pub(pub_token(), token_in='cookie', headers={'Referer': 'https://app.example/page'})
        self.assertEqual(status, 200, body)

    def test_header_publish_needs_no_origin(self):
        status, body = self.pub(pub_token(), headers={'Origin': 'https://evil.example'})
        self.assertEqual(status, 200, body)

    def test_valid_header_wins_over_invalid_cookie(self):
        bad = make_token('wrong', subscribe=['*'])
        s = self.sub(token=make_token(KEY, subscribe=['*']),
                     headers={'Cookie': 'mercureAuthorization=' + bad})
        self.assertEqual(s.status, 200)
        status, body = self.pub(pub_token(), headers={'Cookie': 'mercureAuthorization=' + bad})
        self.assertEqual(status, 200, body)

    def test_invalid_header_with_valid_query_is_refused(self):
        good = make_token(KEY, subscribe=['*'], publish=['*'])
        bad = make_token('wrong', subscribe=['*'], publish=['*'])
        s = self.sub(headers={'Authorization': 'Bearer ' + bad}, query={'authorization': good})
        self.assertEqual(s.status, 401)
        status, body = publish(self.hub, bad, {'topic': T1}, path='/.well-known/mercure?authorization=' + good)
        self.assertEqual(status, 401, body)

    def test_valid_query_wins_over_invalid_cookie(self):
        good = make_token(KEY, subscribe=['*'])
        s = self.sub(token=good, token_in='query', headers={'Cookie': 'mercureAuthorization=garbage'})
        self.assertEqual(s.status, 200)

    def test_invalid_query_with_valid_cookie_is_refused(self):
        good = make_token(KEY, subscribe=['*'])
        s = self.sub(query={'authorization': 'garbage'}, headers={'Cookie': 'mercureAuthorization=' + good})
        self.assertEqual(s.status, 401)

    def test_invalid_tokens_refused_on_subscribe(self):
        now = int(time.time())
        cases = {
            'wrong key': make_token('wrong', subscribe=['*']),
            'expired': make_token(KEY, subscribe=['*'], exp=now - 10),
            'nbf in future': make_token(KEY, subscribe=['*'], nbf=now + 3600),
            'alg none': none_token(subscribe=['*']),
            'alg mismatch': make_token(KEY, subscribe=['*'], alg='HS384'),
            'malformed': 'not-a-jwt',
            'truncated': make_token(KEY, subscribe=['*'])[:-5],
        }
        # allow_anonymous, so that a token the hub ignored would give 200 instead of 401.
        with Hub({'jwt_key': KEY, 'allow_anonymous': True}) as hub:
            for name, token in cases.items():
                with self.subTest(case=name):
                    for where in ('header', 'query', 'cookie'):
                        with SSEClient(hub, [T1], token=token, token_in=where) as s:
                            self.assertEqual(s.status, 401, where)

    def test_invalid_tokens_refused_on_publish(self):
        now = int(time.time())
        cases = {
            'wrong key': pub_token('wrong'),
            'expired': pub_token(exp=now - 10),
            'nbf in future': pub_token(nbf=now + 3600),
            'alg none': none_token(publish=['*']),
            'alg none, key as signature': sign_jws({'alg': 'none'}, claims(publish=['*']), signature=KEY.encode()),
            'alg mismatch HS512': pub_token(alg='HS512'),
            'alg mismatch HS384': pub_token(alg='HS384'),
            'HS256 header but HS512 signature': sign_jws({'alg': 'HS256', 'typ': 'JWT'}, claims(publish=['*']),
                                                         key=KEY, alg='HS512'),
        }
        for name, token in cases.items():
            with self.subTest(case=name):
                for where in ('header', 'query'):
                    status, body = self.pub(token, token_in=where)
                    self.assertEqual(status, 401, '%s: %s' % (where, body))

    def test_token_still_valid_before_exp_and_after_nbf(self):
        now = int(time.time())
        status, body = self.pub(pub_token(exp=now + 30, nbf=now - 30))
        self.assertEqual(status, 200, body)

    def test_header_without_typ_and_with_kid(self):
        for header in ({'alg': 'HS256'}, {'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'}):
            with self.subTest(header=header):
                status, body = self.pub(make_token(KEY, publish=['*'], header=header))
                self.assertEqual(status, 200, body)

    def test_token_without_exp(self):
        status, body = self.pub(pub_token(exp=False))
        self.assertEqual(status, 200, body)

    def test_namespaced_claim_key(self):
        token = make_token(KEY, publish=['*'], namespace='https://mercure.rocks/')
        status, body = self.pub(token)
        self.assertEqual(status, 200, body)


class CookieNameTest(HubTestCase):
    def test_custom_cookie_name(self):
        with Hub({'jwt_key': KEY, 'cookie_name': 'myAuth'}) as hub:
            t = make_token(KEY, subscribe=['*'])
            with SSEClient(hub, [T1], token=t, token_in='cookie', cookie_name='myAuth') as s:
                self.assertEqual(s.status, 200)
            with SSEClient(hub, [T1], token=t, token_in='cookie') as s:
                self.assertEqual(s.status, 401)  # default cookie name ignored: anonymous


class AlgorithmTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='mercure-it-keys-')
        cls.rsa_priv, cls.rsa_pub = gen_rsa_key(cls.tmp)
        cls.rsa2_priv, cls.rsa2_pub = gen_rsa_key(cls.tmp, 'rsa2')
        cls.ec_priv, cls.ec_pub = gen_ec_key(cls.tmp)
        cls.ec2_priv, cls.ec2_pub = gen_ec_key(cls.tmp, 'ec2')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_hs384_and_hs512_configured(self):
        for alg in ('HS384', 'HS512'):
            with self.subTest(alg=alg):
                with Hub({'jwt_key': KEY, 'jwt_algorithm': alg}) as hub:
                    self.assertEqual(publish(hub, pub_token(alg=alg), {'topic': T1})[0], 200)
                    self.assertEqual(publish(hub, pub_token(alg='HS256'), {'topic': T1})[0], 401)

    def test_rs256_openssl_signed(self):
        with Hub({'jwt_key': self.rsa_pub, 'jwt_algorithm': 'RS256'}) as hub:
            good = make_token(self.rsa_priv, publish=['*'], alg='RS256')
            status, body = publish(hub, good, {'topic': T1})
            self.assertEqual(status, 200, body)
            other = make_token(self.rsa2_priv, publish=['*'], alg='RS256')
            self.assertEqual(publish(hub, other, {'topic': T1})[0], 401)

    def test_es256_openssl_signed(self):
        with Hub({'jwt_key': self.ec_pub, 'jwt_algorithm': 'ES256'}) as hub:
            good = make_token(self.ec_priv, publish=['*'], alg='ES256')
            status, body = publish(hub, good, {'topic': T1})
            self.assertEqual(status, 200, body)
            other = make_token(self.ec2_priv, publish=['*'], alg='ES256')
            self.assertEqual(publish(hub, other, {'topic': T1})[0], 401)

    @unittest.skipUnless(MERCURE_TOKEN_BIN, 'MERCURE_TOKEN_BIN is not set (mercure-token not built)')
    def test_rs256_token_tool(self):
        with Hub({'jwt_key': self.rsa_pub, 'jwt_algorithm': 'RS256', 'allow_anonymous': False}) as hub:
            pub = tool_token('RS256', self.rsa_priv, publish=['*'], ttl=60)
            self.assertEqual(decode_jwt(pub)[0].get('alg'), 'RS256')
            sub_tok = tool_token('RS256', self.rsa_priv, subscribe=[T1], payload={'user': 'u1'}, ttl=60)
            with SSEClient(hub, [T1], token=sub_tok) as s:
                self.assertEqual(s.status, 200)
                status, body = publish(hub, pub, {'topic': T1, 'id': 'rs', 'private': 'on', 'data': 'x'})
                self.assertEqual(status, 200, body)
                self.assertEqual(s.next_event().id, 'rs')
            wrong = tool_token('RS256', self.rsa2_priv, publish=['*'], ttl=60)
            self.assertEqual(publish(hub, wrong, {'topic': T1})[0], 401)

    @unittest.skipUnless(MERCURE_TOKEN_BIN, 'MERCURE_TOKEN_BIN is not set (mercure-token not built)')
    def test_es256_token_tool(self):
        with Hub({'jwt_key': self.ec_pub, 'jwt_algorithm': 'ES256'}) as hub:
            pub = tool_token('ES256', self.ec_priv, publish=['*'], ttl=60)
            self.assertEqual(decode_jwt(pub)[0].get('alg'), 'ES256')
            status, body = publish(hub, pub, {'topic': T1})
            self.assertEqual(status, 200, body)
            sub_tok = tool_token('ES256', self.ec_priv, subscribe=['*'], ttl=60)
            with SSEClient(hub, [T1], token=sub_tok) as s:
                self.assertEqual(s.status, 200)
            wrong = tool_token('ES256', self.ec2_priv, publish=['*'], ttl=60)
            self.assertEqual(publish(hub, wrong, {'topic': T1})[0], 401)

    @unittest.skipUnless(MERCURE_TOKEN_BIN, 'MERCURE_TOKEN_BIN is not set (mercure-token not built)')
    def test_token_tool_ttl_is_honoured(self):
        with Hub({'jwt_key': KEY}) as hub:
            t = tool_token('HS256', self._hs_key_file(), publish=['*'], ttl=60)
            _, payload = decode_jwt(t)
            self.assertAlmostEqual(payload['exp'], time.time() + 60, delta=10)
            self.assertEqual(payload['mercure']['publish'], ['*'])
            self.assertEqual(publish(hub, t, {'topic': T1})[0], 200)

    def _hs_key_file(self):
        path = os.path.join(self.tmp, 'hs.key')
        with open(path, 'w') as f:
            f.write(KEY + '\n')
        return path

    def test_hs256_signed_with_public_key_text_refused_when_rs256_configured(self):
        with Hub({'jwt_key': self.rsa_pub, 'jwt_algorithm': 'RS256'}) as hub:
            for key in (self.rsa_pub, self.rsa_pub.strip(), self.rsa_pub.encode()):
                with self.subTest(key=key[-10:]):
                    forged = make_token(key, publish=['*'], alg='HS256')
                    status, body = publish(hub, forged, {'topic': T1})
                    self.assertEqual(status, 401, body)
            self.assertEqual(publish(hub, none_token(publish=['*']), {'topic': T1})[0], 401)
            # ES256 token against an RS256 hub.
            es = make_token(self.ec_priv, publish=['*'], alg='ES256')
            self.assertEqual(publish(hub, es, {'topic': T1})[0], 401)
            # The right signature but the header lies about the algorithm.
            lying = sign_jws({'alg': 'RS512', 'typ': 'JWT'}, claims(publish=['*']), key=self.rsa_priv, alg='RS256')
            self.assertEqual(publish(hub, lying, {'topic': T1})[0], 401)

    def test_hs256_signed_with_ec_public_key_refused_when_es256_configured(self):
        with Hub({'jwt_key': self.ec_pub, 'jwt_algorithm': 'ES256'}) as hub:
            forged = make_token(self.ec_pub, publish=['*'], alg='HS256')
            self.assertEqual(publish(hub, forged, {'topic': T1})[0], 401)

    def test_rs256_subscriber_private_update(self):
        with Hub({'jwt_key': self.rsa_pub, 'jwt_algorithm': 'RS256'}) as hub:
            sub_tok = make_token(self.rsa_priv, subscribe=[T1], alg='RS256')
            with SSEClient(hub, [T1], token=sub_tok) as s:
                self.assertEqual(s.status, 200)
                pub = make_token(self.rsa_priv, publish=['*'], alg='RS256')
                self.assertEqual(publish(hub, pub, {'topic': T1, 'id': 'p', 'private': 'on'})[0], 200)
                self.assertEqual(s.next_event().id, 'p')


class SeparateKeysTest(HubTestCase):
    PK = 'publisher-key-aaaaaaaaaaaaaaaa'
    SK = 'subscriber-key-bbbbbbbbbbbbbbbb'

    def test_separate_publisher_and_subscriber_keys(self):
        with Hub({'publisher_jwt_key': self.PK, 'subscriber_jwt_key': self.SK}) as hub:
            self.assertEqual(publish(hub, pub_token(self.PK), {'topic': T1})[0], 200)
            self.assertEqual(publish(hub, pub_token(self.SK), {'topic': T1})[0], 401)
            with SSEClient(hub, [T1], token=make_token(self.SK, subscribe=['*'])) as s:
                self.assertEqual(s.status, 200)
            with SSEClient(hub, [T1], token=make_token(self.PK, subscribe=['*'])) as s:
                self.assertEqual(s.status, 401)

    def test_jwt_key_is_fallback_for_unset_side(self):
        with Hub({'jwt_key': KEY, 'subscriber_jwt_key': self.SK}) as hub:
            self.assertEqual(publish(hub, pub_token(KEY), {'topic': T1})[0], 200)
            with SSEClient(hub, [T1], token=make_token(self.SK, subscribe=['*'])) as s:
                self.assertEqual(s.status, 200)
            with SSEClient(hub, [T1], token=make_token(KEY, subscribe=['*'])) as s:
                self.assertEqual(s.status, 401)

    def test_separate_algorithms(self):
        with Hub({'publisher_jwt_key': self.PK, 'publisher_jwt_algorithm': 'HS512',
                  'subscriber_jwt_key': self.SK, 'subscriber_jwt_algorithm': 'HS384'}) as hub:
            self.assertEqual(publish(hub, pub_token(self.PK, alg='HS512'), {'topic': T1})[0], 200)
            self.assertEqual(publish(hub, pub_token(self.PK, alg='HS256'), {'topic': T1})[0], 401)
            with SSEClient(hub, [T1], token=make_token(self.SK, subscribe=['*'], alg='HS384')) as s:
                self.assertEqual(s.status, 200)
            with SSEClient(hub, [T1], token=make_token(self.SK, subscribe=['*'], alg='HS512')) as s:
                self.assertEqual(s.status, 401)


class PrivateUpdateTest(HubTestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub({'jwt_key': KEY, 'allow_anonymous': True}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def sub(self, topics, token=None):
        s = SSEClient(self.hub, topics, token=token)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        return s

    def pub(self, fields):
        status, body = publish(self.hub, pub_token(), fields)
        self.assertEqual(status, 200, body)

    def private_then_marker(self, private_fields, marker_topic=T1):
        self.pub(dict(private_fields, private='on', id='private'))
        self.pub({'topic': marker_topic, 'id': 'marker'})

    def test_authorized_subscribers_get_private_updates(self):
        subs = [self.sub([T1], make_token(KEY, subscribe=[T1])),
                self.sub([T1], make_token(KEY, subscribe=['*'])),
                self.sub([T1], make_token(KEY, subscribe=['https://example.com/books/{id}'])),
                self.sub(['*'], make_token(KEY, subscribe=[T1])),
                self.sub([T1], make_token(KEY, subscribe=[T1], namespace='https://mercure.rocks/'))]
        self.private_then_marker({'topic': T1, 'data': 'secret'})
        for s in subs:
            ev = s.next_event()
            self.assertEqual((ev.id, ev.data), ('private', 'secret'))
            self.assertEqual(s.next_event().id, 'marker')

    def test_unauthorized_subscribers_do_not_get_private_updates(self):
        subs = [self.sub([T1]),                                            # anonymous
                self.sub([T1], make_token(KEY)),                           # no claim
                self.sub([T1], make_token(KEY, subscribe=[])),             # empty claim
                self.sub([T1], make_token(KEY, subscribe=[T2])),           # other topic
                self.sub([T1], make_token(KEY, publish=['*'])),            # publish is not subscribe
                self.sub([T1], make_token(KEY, subscribe=['https://example.com/authors/{id}']))]
        self.private_then_marker({'topic': T1, 'data': 'secret'})
        for s in subs:
            self.assertEqual(s.next_event().id, 'marker')
            self.assertNotIn(b'secret', s.body)

    def test_claim_and_selector_may_match_different_topics(self):
        alt = 'https://example.com/alt/1'
        s = self.sub([T1], make_token(KEY, subscribe=[alt]))
        self.pub({'topic': [T1, alt], 'private': 'on', 'id': 'split'})
        self.assertEqual(s.next_event().id, 'split')

    def test_mere_presence_of_private_makes_it_private(self):
        anon = self.sub([T1])
        authorized = self.sub([T1], make_token(KEY, subscribe=[T1]))
        for value in ('', 'off', 'false', '0'):
            self.pub({'topic': T1, 'private': value, 'id': 'private-%s' % value})
        self.pub({'topic': T1, 'id': 'marker'})
        self.assertEqual(anon.next_event().id, 'marker')
        self.assertEqual([e.id for e in authorized.events(5)],
                         ['private-', 'private-off', 'private-false', 'private-0', 'marker'])

    def test_public_updates_reach_everyone(self):
        subs = [self.sub([T1]), self.sub([T1], make_token(KEY, subscribe=[T2]))]
        self.pub({'topic': T1, 'id': 'public'})
        for s in subs:
            self.assertEqual(s.next_event().id, 'public')


if __name__ == '__main__':
    main()
