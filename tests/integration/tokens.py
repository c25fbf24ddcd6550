"""JWT minting for the integration tests: HS* in pure Python (any header, payload or key bytes,
alg none), RS*/ES* through the openssl CLI, and tokens from the project's mercure-token tool."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time
import unittest

MERCURE_TOKEN_BIN = os.path.abspath(os.environ['MERCURE_TOKEN_BIN']) if os.environ.get('MERCURE_TOKEN_BIN') else None
OPENSSL = shutil.which('openssl') or '/usr/bin/openssl'


def b64url(b):
    if isinstance(b, str):
        b = b.encode('utf-8')
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode('ascii')


def _json_part(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode('utf-8')
    return json.dumps(x, separators=(',', ':')).encode('utf-8')


_HS = {'HS256': hashlib.sha256, 'HS384': hashlib.sha384, 'HS512': hashlib.sha512}
_UNSET = object()


def claims(publish=None, subscribe=None, payload=_UNSET, exp=None, nbf=None, namespace='mercure',
           extra=None, ttl=3600):
    """A JWT claim set. exp defaults to now+ttl (pass exp=False for no exp)."""
    c = {}
    m = {}
    if publish is not None:
        m['publish'] = list(publish)
    if subscribe is not None:
        m['subscribe'] = list(subscribe)
    if payload is not _UNSET:
        m['payload'] = payload
    if namespace is not None:
        c[namespace] = m
    now = int(time.time())
    if exp is None:
        c['exp'] = now + ttl
    elif exp is not False:
        c['exp'] = int(exp)
    if nbf is not None:
        c['nbf'] = int(nbf)
    if extra:
        c.update(extra)
    return c


def sign_jws(header, payload, key=None, alg=None, signature=None):
    """Compact JWS from a header and a payload (dicts, or raw str/bytes used verbatim).

    The signature is, in order: `signature` bytes if given; HMAC with `key` for HS*; empty for
    `none`; openssl with the PEM private key file `key` for RS*/ES*.
    """
    if alg is None:
        alg = header.get('alg') if isinstance(header, dict) else 'HS256'
    signing_input = (b64url(_json_part(header)) + '.' + b64url(_json_part(payload))).encode('ascii')
    if signature is None:
        if alg in _HS:
            k = key.encode('utf-8') if isinstance(key, str) else key
            signature = hmac.new(k, signing_input, _HS[alg]).digest()
        elif alg is None or str(alg).lower() == 'none':
            signature = b''
        elif alg[:2] in ('RS', 'ES', 'PS'):
            signature = openssl_sign(alg, key, signing_input)
        else:
            raise ValueError('cannot sign with %r' % alg)
    return signing_input.decode('ascii') + '.' + b64url(signature)


def make_token(key, publish=None, subscribe=None, alg='HS256', header=None, **kw):
    """A token with mercure claims; kw goes to claims() (payload, exp, nbf, namespace, extra)."""
    h = {'alg': alg, 'typ': 'JWT'} if header is None else header
    return sign_jws(h, claims(publish, subscribe, **kw), key=key, alg=alg)


def none_token(publish=None, subscribe=None, alg_value='none', **kw):
    return sign_jws({'alg': alg_value, 'typ': 'JWT'}, claims(publish, subscribe, **kw), alg='none')


def _der_ecdsa_to_raw(der, size):
    # SEQUENCE { INTEGER r, INTEGER s }
    def read_len(b, i):
        n = b[i]
        i += 1
        if n & 0x80:
            k = n & 0x7f
            n = int.from_bytes(b[i:i + k], 'big')
            i += k
        return n, i
    assert der[0] == 0x30
    _, i = read_len(der, 1)
    out = b''
    for _ in range(2):
        assert der[i] == 0x02
        n, i = read_len(der, i + 1)
        v = int.from_bytes(der[i:i + n], 'big')
        i += n
        out += v.to_bytes(size, 'big')
    return out


def openssl_sign(alg, key_file, data):
    digest = {'256': '-sha256', '384': '-sha384', '512': '-sha512'}[alg[2:]]
    p = subprocess.run([OPENSSL, 'dgst', digest, '-sign', key_file], input=data, capture_output=True,
                       timeout=10)
    if p.returncode != 0:
        raise AssertionError('openssl dgst -sign failed: %s' % p.stderr.decode())
    sig = p.stdout
    if alg.startswith('ES'):
        sig = _der_ecdsa_to_raw(sig, {'256': 32, '384': 48, '512': 66}[alg[2:]])
    return sig


def _openssl(args, input=None):
    p = subprocess.run([OPENSSL] + args, input=input, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError('openssl %s failed: %s' % (' '.join(args), p.stderr.decode()))
    return p.stdout


def gen_rsa_key(directory, name='rsa'):
    """(private key file path, public key PEM text)."""
    priv = os.path.join(directory, name + '.pem')
    _openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', priv])
    pub = _openssl(['pkey', '-in', priv, '-pubout']).decode('ascii')
    return priv, pub


def gen_ec_key(directory, name='ec', curve='prime256v1'):
    """(PKCS#8 private key file path, public key PEM text)."""
    raw = _openssl(['ecparam', '-name', curve, '-genkey', '-noout'])
    pk8 = _openssl(['pkcs8', '-topk8', '-nocrypt'], input=raw)
    priv = os.path.join(directory, name + '.pem')
    with open(priv, 'wb') as f:
        f.write(pk8)
    pub = _openssl(['pkey', '-in', priv, '-pubout']).decode('ascii')
    return priv, pub


def tool_token(alg, key_file, publish=None, subscribe=None, payload=None, ttl=3600):
    """A token minted by $MERCURE_TOKEN_BIN (callers skip when it is not set)."""
    if not MERCURE_TOKEN_BIN:
        raise unittest.SkipTest('MERCURE_TOKEN_BIN is not set (mercure-token not built)')
    cmd = [MERCURE_TOKEN_BIN, '--alg', alg, '--key-file', key_file]
    for p in publish or ():
        cmd += ['--publish', p]
    for s in subscribe or ():
        cmd += ['--subscribe', s]
    if payload is not None:
        cmd += ['--payload', json.dumps(payload)]
    if ttl is not None:
        cmd += ['--ttl', str(ttl)]
    p = subprocess.run(cmd, capture_output=True, timeout=10)
    if p.returncode != 0:
        raise AssertionError('%s failed (rc %d): %s' % (cmd, p.returncode, p.stderr.decode('utf-8', 'replace')))
    tok = p.stdout.decode('ascii').strip()
    if tok.count('.') != 2:
        raise AssertionError('mercure-token printed %r, not a compact JWS' % tok)
    return tok


def decode_jwt(token):
    """(header, payload) dicts of a compact JWS, without verification."""
    def d(s):
        return json.loads(base64.urlsafe_b64decode(s + '=' * (-len(s) % 4)))
    h, p, _ = token.split('.')
    return d(h), d(p)
