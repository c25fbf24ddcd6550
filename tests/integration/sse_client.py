"""Raw-socket SSE subscriber for the integration tests: exact bytes, de-chunking, bounded waits."""
import re
import socket
import time
import urllib.parse

HUB_PATH = '/.well-known/mercure'


class Headers:
    """Case-insensitive multi-valued response headers."""

    def __init__(self, pairs=()):
        self.pairs = list(pairs)

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.pairs:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.pairs if k.lower() == name]

    def __contains__(self, name):
        return self.get(name) is not None

    def __repr__(self):
        return 'Headers(%r)' % (self.pairs,)


def as_pairs(fields):
    """Form fields, query parameters or headers as a list of (name, value): from a dict (list
    values repeat the name), a list of pairs, or None."""
    if fields is None:
        return []
    if isinstance(fields, dict):
        out = []
        for k, v in fields.items():
            if isinstance(v, (list, tuple)):
                out += [(k, x) for x in v]
            else:
                out.append((k, v))
        return out
    return list(fields)


def with_query(path, items):
    """path with the (name, value) items appended as a percent-encoded query string."""
    if not items:
        return path
    return path + ('&' if '?' in path else '?') + urllib.parse.urlencode(items, quote_via=urllib.parse.quote)


class SSETimeout(AssertionError):
    pass


class Event:
    def __init__(self):
        self.id = None
        self.event = None
        self.retry = None
        self.data_lines = []
        self.fields = []
        self.comments = []
        self.raw = b''

    @property
    def data(self):
        return '\n'.join(self.data_lines) if self.data_lines else None

    def __repr__(self):
        return 'Event(id=%r, event=%r, retry=%r, data=%r, raw=%r)' % (self.id, self.event, self.retry,
                                                                      self.data, self.raw)


def _decode(b):
    try:
        return b.decode('utf-8')
    except UnicodeDecodeError:
        return b.decode('utf-8', 'surrogateescape')


class SSEClient:
    """A subscriber on a raw socket.

    After construction, status/reason/headers are known. For a 200 response the initial
    bytes (the ':' comment) are awaited when wait_initial is true. `body` holds every
    de-chunked body byte received so far.
    """

    def __init__(self, hub, topics=(), token=None, token_in='header', headers=None, query=None,
                 cookie_name='mercureAuthorization', last_event_id=None, method='GET', path=None,
                 timeout=5, wait_initial=True, http_version='1.1', connect_only=False):
        self.hub = hub
        q = [('topic', t) for t in topics] + as_pairs(query)
        hdrs = as_pairs(headers)
        if token is not None:
            if token_in == 'header':
                hdrs.append(('Authorization', 'Bearer ' + token))
            elif token_in == 'query':
                q.append(('authorization', token))
            elif token_in == 'cookie':
                hdrs.append(('Cookie', '%s=%s' % (cookie_name, token)))
            else:
                raise ValueError(token_in)
        if last_event_id is not None:
            hdrs.append(('Last-Event-ID', last_event_id))
        if path is None:
            path = with_query(HUB_PATH, q)
        self.path = path
        self.method = method
        req = ['%s %s HTTP/%s' % (method, path, http_version), 'Host: %s:%d' % (hub.host, hub.port),
               'Accept: text/event-stream']
        req += ['%s: %s' % (k, v) for k, v in hdrs]
        self.request_bytes = ('\r\n'.join(req) + '\r\n\r\n').encode('utf-8')
        self.sock = socket.create_connection((hub.host, hub.port), timeout=timeout)
        self._buf = b''          # wire bytes not yet de-chunked
        self.wire = b''          # every wire byte after the response head
        self.body = b''          # de-chunked body bytes
        self._pos = 0            # parse position in body
        self.eof = False         # peer closed
        self.complete = False    # body framing says the body is over (last chunk / length)
        self.status = None
        self.reason = None
        self.headers = Headers()
        self.comments = []       # (monotonic time, text) for every comment line
        self._events = []        # parsed events not yet taken
        self._block = Event()
        self._block_raw = b''
        self._chunk_state = 'size'
        self._chunk_left = 0
        self._length = None
        self.mode = None
        self.sock.sendall(self.request_bytes)
        if connect_only:  # a subscriber that never reads (slow-consumer tests)
            return
        self._read_head(timeout)
        if wait_initial and self.status == 200 and self.method != 'HEAD':
            self._wait(lambda: len(self.body) > 0, timeout, 'the first body bytes')

    # -- wire --
    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            b = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            b = b''
        if not b:
            self.eof = True
            return False
        return b

    def _read_head(self, timeout):
        deadline = time.monotonic() + timeout
        while b'\r\n\r\n' not in self._buf:
            b = self._recv(deadline)
            if b is False:
                raise SSETimeout('no complete response head within %ss (eof=%s, got %r)'
                                 % (timeout, self.eof, self._buf))
            self._buf += b
        head, _, rest = self._buf.partition(b'\r\n\r\n')
        lines = head.split(b'\r\n')
        m = re.match(rb'^HTTP/1\.[01] (\d{3}) ?(.*)$', lines[0])
        if not m:
            raise AssertionError('bad status line %r' % lines[0])
        self.status = int(m.group(1))
        self.reason = m.group(2).decode('latin-1')
        pairs = []
        for line in lines[1:]:
            k, _, v = line.partition(b':')
            pairs.append((k.decode('latin-1').strip(), v.decode('latin-1').strip()))
        self.headers = Headers(pairs)
        self.head_bytes = head + b'\r\n\r\n'
        te = (self.headers.get('Transfer-Encoding') or '').lower()
        if self.method == 'HEAD' or self.status in (204, 304):
            self.mode = 'none'
            self.complete = True
        elif 'chunked' in te:
            self.mode = 'chunked'
        elif self.headers.get('Content-Length') is not None:
            self.mode = 'length'
            self._length = int(self.headers.get('Content-Length'))
        else:
            self.mode = 'close'
        self._buf = b''
        self._feed(rest)

    def _feed(self, data):
        self.wire += data
        if self.mode == 'none':
            return
        if self.mode == 'close':
            self.body += data
        elif self.mode == 'length':
            need = self._length - len(self.body)
            self.body += data[:need]
            if len(self.body) >= self._length:
                self.complete = True
        else:
            self._buf += data
            self._dechunk()
        self._parse()

    def _dechunk(self):
        while True:
            st = self._chunk_state
            if st == 'size':
                i = self._buf.find(b'\r\n')
                if i < 0:
                    return
                line = self._buf[:i].split(b';')[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    raise AssertionError('bad chunk size line %r (wire so far %r)' % (self._buf[:i], self.wire))
                self._buf = self._buf[i + 2:]
                if size == 0:
                    self._chunk_state = 'trailer'
                else:
                    self._chunk_left = size
                    self._chunk_state = 'data'
            elif st == 'data':
                if not self._buf:
                    return
                take = self._buf[:self._chunk_left]
                self.body += take
                self._buf = self._buf[len(take):]
                self._chunk_left -= len(take)
                if self._chunk_left == 0:
                    self._chunk_state = 'crlf'
            elif st == 'crlf':
                if len(self._buf) < 2:
                    return
                if self._buf[:2] != b'\r\n':
                    raise AssertionError('chunk not followed by CRLF (wire so far %r)' % self.wire)
                self._buf = self._buf[2:]
                self._chunk_state = 'size'
            elif st == 'trailer':
                i = self._buf.find(b'\r\n')
                if i < 0:
                    return
                line = self._buf[:i]
                self._buf = self._buf[i + 2:]
                if line == b'':
                    self._chunk_state = 'done'
                    self.complete = True
                    return
            else:
                return

    def _pump(self, deadline):
        """Reads once; False on timeout or EOF."""
        if self.eof or self.complete:
            return False
        b = self._recv(deadline)
        if b is False:
            if self.eof:
                self._parse()
            return False
        self._feed(b)
        return True

    def _wait(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while not cond():
            if not self._pump(deadline):
                if cond():
                    return
                if self.eof or self.complete:
                    raise SSETimeout('stream ended while waiting for %s (body so far %r)' % (what, self.body))
                raise SSETimeout('timed out after %ss waiting for %s (body so far %r)' % (timeout, what, self.body))

    # -- event parsing --
    def _next_line(self):
        b = self.body
        i = self._pos
        n = len(b)
        j = i
        while j < n and b[j] not in (0x0a, 0x0d):
            j += 1
        if j >= n:
            return None, 0
        if b[j] == 0x0a:
            return b[i:j], j + 1 - i
        if j + 1 < n:
            return b[i:j], (j + 2 - i) if b[j + 1] == 0x0a else (j + 1 - i)
        if self.eof or self.complete:
            return b[i:j], j + 1 - i
        return None, 0

    def _parse(self):
        while True:
            line, used = self._next_line()
            if line is None:
                return
            self._block_raw += self.body[self._pos:self._pos + used]
            self._pos += used
            blk = self._block
            if line == b'':
                if blk.fields:
                    blk.raw = self._block_raw
                    self._events.append(blk)
                self._block = Event()
                self._block_raw = b''
                continue
            if line.startswith(b':'):
                text = _decode(line[1:])
                self.comments.append((time.monotonic(), text))
                blk.comments.append(text)
                if not blk.fields:
                    # A comment before any field does not belong to the next event's raw bytes.
                    self._block_raw = b''
                continue
            name, colon, value = line.partition(b':')
            if colon and value.startswith(b' '):
                value = value[1:]
            name = _decode(name)
            value = _decode(value)
            blk.fields.append((name, value))
            if name == 'data':
                blk.data_lines.append(value)
            elif name == 'id':
                blk.id = value
            elif name == 'event':
                blk.event = value
            elif name == 'retry':
                blk.retry = value

    # -- public API --
    def next_event(self, timeout=3):
        self._wait(lambda: bool(self._events), timeout, 'an event')
        return self._events.pop(0)

    def events(self, n, timeout=3):
        deadline = time.monotonic() + timeout
        out = []
        for _ in range(n):
            out.append(self.next_event(max(0.01, deadline - time.monotonic())))
        return out

    def iter_events(self, timeout=3):
        """Yields events as they arrive; stops (without error) after `timeout` s of silence."""
        while True:
            try:
                yield self.next_event(timeout)
            except SSETimeout:
                return

    def assert_no_event(self, timeout=0.5):
        try:
            self._wait(lambda: bool(self._events), timeout, 'an event')
        except SSETimeout:
            return
        raise AssertionError('unexpected event: %r' % (self._events[0],))

    def wait_comments(self, n, timeout=3):
        self._wait(lambda: len(self.comments) >= n, timeout, '%d comment(s)' % n)
        return self.comments[:n]

    def wait_body(self, predicate, timeout=3, what='body bytes'):
        self._wait(lambda: predicate(self.body), timeout, what)
        return self.body

    def wait_closed(self, timeout=3):
        """True when the peer closed or the body ended within timeout."""
        deadline = time.monotonic() + timeout
        while not (self.eof or self.complete):
            if not self._pump(deadline):
                if not (self.eof or self.complete) and time.monotonic() >= deadline:
                    return False
        return True

    def read_body(self, timeout=3):
        """Reads until the body is complete (error responses); returns body bytes."""
        self.wait_closed(timeout)
        return self.body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
