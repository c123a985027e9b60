#!/usr/bin/python3
"""smtpc.py - the lab's one scripted SMTP client (stdlib only).

The legitimate corpus (corpus.py) and the attack battery (attacks.py) both
speak SMTP through this module, so that what a test sends is exactly what
it says: raw bytes on a socket, no library that fixes up line endings,
reorders commands or retries behind our back (smtplib does several of
these).  Supports PIPELINING batches, STARTTLS with the lab's self-signed
certificate, BDAT (CHUNKING), AUTH PLAIN / LOGIN, and raw writes for
attacks.

A session that the appliance kills shows up as a reset or an EOF while a
reply is awaited: read_reply() then returns code None instead of raising,
so callers can assert "the session was killed" as an ordinary outcome.
"""

import base64
import socket
import ssl

# Bound on one reply (lines and octets): the server is a test peer, but a
# client that reads without a bound is a bad example to copy.
MAX_REPLY_LINES = 100
MAX_LINE = 4096


class Closed(Exception):
    """The peer closed or reset the connection."""


class Reply:
    """One SMTP reply: code (int, None if the connection ended) and lines."""

    def __init__(self, code, lines, how=""):
        self.code = code
        self.lines = lines
        self.how = how          # "eof", "reset", "timeout" when code is None

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        if self.code is None:
            return "<closed:%s>" % self.how
        return "<%d %s>" % (self.code, self.lines[-1][:60] if self.lines else "")


class Client:
    """One SMTP session.  All commands are bytes or str (encoded UTF-8)."""

    def __init__(self, server, port=25, source=None, timeout=10.0):
        self.server, self.port = server, port
        self.source, self.timeout = source, timeout
        self.sock = None
        self.buf = b""
        self.ext = {}            # EHLO keyword -> parameter string
        self.tls = False
        self.transcript = []     # ("C"|"S", bytes) for failure reports

    # -- transport ---------------------------------------------------------

    def connect(self):
        """Open the connection; raises OSError if it cannot be opened."""
        fam = socket.AF_INET6 if ":" in self.server else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        if self.source:
            s.bind((self.source, 0))
        try:
            s.connect((self.server, self.port))
        except OSError:
            s.close()
            raise
        self.sock = s
        return self

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def send(self, data):
        """Raw write; Closed if the connection is gone."""
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append(("C", data[:200]))
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError) as e:
            raise Closed(str(e)) from None

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            raise Closed("reset") from None
        except socket.timeout:
            raise Closed("timeout") from None
        except (ssl.SSLError, OSError) as e:
            raise Closed("error: %s" % e) from None
        if not chunk:
            raise Closed("eof")
        self.buf += chunk

    def _line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise Closed("overlong reply line")
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def read_reply(self):
        """One (possibly multi-line) reply, or Reply(None, ..., how)."""
        lines = []
        try:
            while len(lines) < MAX_REPLY_LINES:
                ln = self._line()
                self.transcript.append(("S", ln[:200]))
                lines.append(ln.decode("utf-8", "replace"))
                if len(ln) < 3 or not ln[:3].isdigit():
                    return Reply(0, lines)
                if len(ln) == 3 or ln[3:4] == b" ":
                    return Reply(int(ln[:3]), lines)
            return Reply(0, lines, "too many lines")
        except Closed as e:
            return Reply(None, lines, str(e))

    def cmd(self, line):
        """Send one command line (CRLF added) and read its reply."""
        if isinstance(line, str):
            line = line.encode()
        try:
            self.send(line + b"\r\n")
        except Closed as e:
            return Reply(None, [], str(e))
        return self.read_reply()

    def pipeline(self, lines):
        """Send several commands in one write; read one reply per command
        (stops at the first ended connection)."""
        data = b"".join((l.encode() if isinstance(l, str) else l) + b"\r\n"
                        for l in lines)
        try:
            self.send(data)
        except Closed as e:
            return [Reply(None, [], str(e))]
        out = []
        for _ in lines:
            r = self.read_reply()
            out.append(r)
            if r.code is None:
                break
        return out

    # -- SMTP --------------------------------------------------------------

    def greeting(self):
        return self.read_reply()

    def ehlo(self, name="client.example.org"):
        r = self.cmd("EHLO " + name)
        self.ext = {}
        if r.code == 250:
            for l in r.lines[1:]:
                kw = l[4:].split(" ", 1)
                self.ext[kw[0].upper()] = kw[1] if len(kw) > 1 else ""
        return r

    def starttls(self, cafile=None, name="mx.lab.test"):
        """STARTTLS; the certificate is checked against cafile when given
        (the lab's self-signed cert), else not at all."""
        r = self.cmd("STARTTLS")
        if r.code != 220:
            return r
        ctx = ssl.create_default_context(cafile=cafile) if cafile else \
            ssl._create_unverified_context()
        if not cafile:
            ctx.check_hostname = False
        self.sock = ctx.wrap_socket(self.sock, server_hostname=name)
        self.buf = b""
        self.tls = True
        return r

    def auth_plain(self, user, password):
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        return self.cmd(b"AUTH PLAIN " + tok)

    def auth_login(self, user, password):
        r = self.cmd("AUTH LOGIN")
        if r.code != 334:
            return r
        r = self.cmd(base64.b64encode(user.encode()))
        if r.code != 334:
            return r
        return self.cmd(base64.b64encode(password.encode()))

    @staticmethod
    def dot_stuff(msg):
        """CRLF-terminated message -> DATA payload with the final dot."""
        if not msg.endswith(b"\r\n"):
            msg += b"\r\n"
        lines = msg.split(b"\r\n")[:-1]
        return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                        for l in lines) + b".\r\n"

    def data(self, msg):
        """DATA + message; returns (reply to DATA, reply to the final dot)."""
        r = self.cmd("DATA")
        if r.code != 354:
            return r, r
        try:
            self.send(self.dot_stuff(msg))
        except Closed as e:
            return r, Reply(None, [], str(e))
        return r, self.read_reply()

    def bdat(self, msg, chunk=65536):
        """The message in BDAT chunks (no dot-stuffing: RFC 3030); returns
        the reply to the last chunk or the first failing one."""
        r = Reply(0, [])
        pos = 0
        while True:
            part = msg[pos:pos + chunk]
            pos += len(part)
            last = pos >= len(msg)
            head = b"BDAT %d%s\r\n" % (len(part), b" LAST" if last else b"")
            try:
                self.send(head + part)
            except Closed as e:
                return Reply(None, [], str(e))
            r = self.read_reply()
            if r.code != 250 or last:
                return r

    def quit(self):
        r = self.cmd("QUIT")
        self.close()
        return r


def session(server, port=25, source=None, timeout=10.0, helo="client.example.org"):
    """Connect, read the greeting, EHLO.  Returns (client, greeting, ehlo)."""
    c = Client(server, port, source, timeout).connect()
    g = c.greeting()
    e = c.ehlo(helo) if g.code == 220 else g
    return c, g, e
