#!/usr/bin/python3
"""blat.py - the client side of the block-latency benchmark (bench_blocklat.sh).

Runs in the lab's client namespace.  Every source address offends exactly
once, with ONE offending segment: a real TCP/SMTP session (greeting, EHLO,
MAIL FROM) followed by "RCPT TO:<...@relay.invalid>", an open-relay probe.
With the lab's policy (relay_attempt weight 10 = threshold 10) that one
segment earns the source a block; the engine's action for it is "kill".

  mxwall  SERVER SOCK SOURCES...   inspection on: per source, the block's
          latency_us from its "block" event (arrival stamp in XDP -> map
          write done), the wall time from the RCPT write to that event on the
          control socket, and for every SAMPLE-th source the next SYN after
          the kill (bound to PROBE_PORT so that captures can find it): it must
          get no answer, and the fast path's drop_blocklist must count it.
  f2b     SERVER F2BLOG MAILLOG SOURCES...  inspection off, fail2ban on
          the server: the wall time from the RCPT write to Postfix's reject
          line in its maillog, to fail2ban's "Ban ADDR" line in its log, and
          to the first refused connection after that.

One JSON object per source on stdout; nothing is aggregated here.

Why real TCP clients and not scapy frames: the block must be shown
effective on the next real SYN of a real stack, fail2ban needs Postfix to
really log the rejected RCPT, and both sides then see the same session.
The price is a full handshake per source (a few ms), which is outside
every measured interval.
"""

import argparse
import ipaddress
import json
import os
import random
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "integration"))
import smtpc  # noqa: E402  (the lab's one SMTP client)

MAX_EVENT_LINE = 65536          # longer event lines are not ours: dropped
EVENT_WAIT = 3.0                # s for a block event before "missing"
RELAY_RCPT = "RCPT TO:<victim@relay.invalid>"


def now():
    return time.monotonic()


def source_key(addr):
    """The policy's source for ADDR: the address for IPv4, its /64 for IPv6
    (fastpath.syn.ipv6_source_len, default 64)."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 4:
        return str(ip)
    return str(ipaddress.ip_network("%s/64" % ip, strict=False))


def event_key(text):
    """Canonical form of a block event's addr ("a.b.c.d", "x::/64", ...)."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


class Control:
    """Requests on one control-socket connection (newline-delimited JSON)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.n = 0

    def call(self, cmd, **args):
        self.n += 1
        req = dict(args, id=self.n, cmd=cmd)
        self.s.sendall(json.dumps(req).encode() + b"\n")
        line = self.f.readline(1 << 22)
        rep = json.loads(line)
        if rep.get("id") != self.n:
            raise RuntimeError("control: reply id %r for %r" % (rep.get("id"), self.n))
        return rep

    def drop_blocklist(self):
        rep = self.call("stats")
        return int(rep["result"]["reasons"]["drop_blocklist"]["packets"])


class Events(threading.Thread):
    """events.subscribe for "block": arrival time and latency_us per source."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.sendall(b'{"id": "blat", "cmd": "events.subscribe", '
                       b'"types": ["block"]}\n')
        self.f = self.s.makefile("rb")
        rep = json.loads(self.f.readline(MAX_EVENT_LINE))
        if not rep.get("ok"):
            raise RuntimeError("events.subscribe: %r" % rep)
        self.cv = threading.Condition()
        self.seen = {}          # source key -> (arrival, event)
        self.lost = 0

    def run(self):
        while True:
            line = self.f.readline(MAX_EVENT_LINE)
            t = now()
            if not line:
                return
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if not isinstance(ev, dict):
                continue
            if ev.get("type") == "lost":
                self.lost += 1
            if ev.get("type") != "block" or not isinstance(ev.get("addr"), str):
                continue
            k = event_key(ev["addr"])
            with self.cv:
                self.seen.setdefault(k, (t, ev))     # the first block counts
                self.cv.notify_all()

    def wait(self, key, timeout):
        end = now() + timeout
        with self.cv:
            while key not in self.seen:
                left = end - now()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.seen[key]


def offend(server, src):
    """Session from SRC up to MAIL FROM, then the one offending RCPT.
    Returns (t_write, reply) or raises RuntimeError when the session could
    not even get that far (then nothing was measured)."""
    c = smtpc.Client(server, 25, source=src, timeout=5.0)
    c.connect()
    try:
        r = c.greeting()
        if r.code != 220:
            raise RuntimeError("%s: greeting %r" % (src, r))
        if c.ehlo("blat.example.org").code != 250:
            raise RuntimeError("%s: EHLO refused" % src)
        r = c.cmd("MAIL FROM:<blat@example.org>")
        if r.code != 250:
            raise RuntimeError("%s: MAIL %r" % (src, r))
        t = now()
        r = c.cmd(RELAY_RCPT)
        if r.code is not None:
            c.cmd("QUIT")
        return t, r
    finally:
        c.close()


def offend_or_report(server, out):
    """offend() for out["src"]; when it fails, records why in OUT, prints
    it and returns None (that source measured nothing)."""
    try:
        return offend(server, out["src"])
    except (RuntimeError, OSError) as e:
        out["error"] = str(e)[:200]
        print(json.dumps(out), flush=True)
        return None


def probe(server, src, port, timeout):
    """One connection attempt from SRC:PORT: "connected", "refused" or
    "no_answer" (the SYN got nothing back within TIMEOUT)."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    try:
        s.bind((src, port))
        s.connect((server, 25))
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "no_answer"
    finally:
        s.close()


def run_mxwall(a):
    ev = Events(a.sock)
    ev.start()
    ctl = Control(a.sock)
    for i, src in enumerate(a.sources):
        out = {"src": src}
        got = offend_or_report(a.server, out)
        if got is None:
            continue
        t0, r = got
        out["killed"] = r.code is None and r.how == "reset"
        out["reply"] = r.code
        if a.sample > 0 and i % a.sample == 0:
            # The very next SYN from this source, sent as soon as the kill
            # (the RST the worker sends after the map write) has reached
            # the client, before the block event is read.
            d0 = ctl.drop_blocklist()
            out["probe"] = probe(a.server, src, a.probe_port, a.probe_timeout)
            out["drop_blocklist_delta"] = ctl.drop_blocklist() - d0
        got = ev.wait(source_key(src), EVENT_WAIT)
        if got is None:
            out["event"] = False
        else:
            t1, e = got
            out["event"] = True
            out["wall_us"] = round((t1 - t0) * 1e6, 1)
            out["latency_us"] = e.get("latency_us")
            out["why"] = e.get("why")
        print(json.dumps(out), flush=True)
    out = {"summary": True, "events_lost": ev.lost,
           "loadavg": open("/proc/loadavg").read().split()[:3]}
    st = ctl.call("stats")["result"]["inspection"]
    out["stats_block_latency_us"] = st.get("block_latency_us")
    out["stats_blocks"] = st.get("blocks")
    print(json.dumps(out), flush=True)


class Tail:
    """New complete lines of a growing log file, from its end at creation."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.buf = b""

    def lines(self):
        chunk = self.f.read(1 << 16)
        if not chunk:
            return []
        self.buf += chunk
        out = self.buf.split(b"\n")
        self.buf = out.pop()[-4096:]       # a partial line, bounded
        return out


def wait_lines(wanted, deadline):
    """WANTED: {name: (Tail, regex)}.  Polls every ms until each regex has
    matched a new line of its file or DEADLINE; returns {name: time seen}."""
    seen = {}
    while len(seen) < len(wanted) and now() < deadline:
        busy = False
        for name, (tail, rx) in wanted.items():
            for ln in tail.lines():
                busy = True
                if name not in seen and rx.search(ln):
                    seen[name] = now()
        if not busy:
            time.sleep(0.001)
    return seen


def run_f2b(a):
    maillog, f2blog = Tail(a.maillog), Tail(a.f2blog)
    # Offences arrive at random times for a real server, not in step with
    # fail2ban's poll cycle: each one waits a uniform 0..GAP s first (fixed
    # seed per source, so a rerun sends at the same offsets).  The wait is
    # before the offending write, outside the measured interval.
    for src in a.sources:
        time.sleep(random.Random(src).uniform(0, a.gap))
        out = {"src": src}
        esc = re.escape(src.encode())
        got = offend_or_report(a.server, out)
        if got is None:
            continue
        t0, r = got
        out["reply"] = r.code
        # Postfix's reject line (what fail2ban reads) and fail2ban's ban.
        seen = wait_lines({
            "log": (maillog, re.compile(rb"\[" + esc + rb"\]: 554 .*Relay access denied")),
            "ban": (f2blog, re.compile(rb"\[postfix\] Ban " + esc + rb"$")),
        }, t0 + a.ban_timeout)
        if "log" in seen:
            out["log_wall_us"] = round((seen["log"] - t0) * 1e6, 1)
        out["banned"] = "ban" in seen
        if "ban" in seen:
            tb = seen["ban"]
            out["ban_wall_us"] = round((tb - t0) * 1e6, 1)
            # The ban action (nftables) runs after the log line: probe
            # until a connection is refused, every 5 ms, up to 5 s.
            while now() < tb + 5:
                res = probe(a.server, src, 0, 0.2)
                if res != "connected":
                    out["effective_wall_us"] = round((now() - t0) * 1e6, 1)
                    out["probe"] = res
                    break
                time.sleep(0.005)
        print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("mxwall")
    m.add_argument("--server", required=True)
    m.add_argument("--sock", required=True)
    m.add_argument("--sample", type=int, default=25)
    m.add_argument("--probe-port", type=int, default=61999)
    m.add_argument("--probe-timeout", type=float, default=0.3)
    m.add_argument("sources", nargs="+")
    f = sub.add_parser("f2b")
    f.add_argument("--server", required=True)
    f.add_argument("--f2blog", required=True)
    f.add_argument("--maillog", required=True)
    f.add_argument("--ban-timeout", type=float, default=15.0)
    f.add_argument("--gap", type=float, default=2.0)
    f.add_argument("sources", nargs="+")
    a = p.parse_args()
    if len(a.sources) > 4096:
        p.error("at most 4096 sources")
    if a.mode == "mxwall":
        if not 1024 <= a.probe_port <= 65535 or a.sample < 0:
            p.error("bad --probe-port or --sample")
        run_mxwall(a)
    else:
        if not 0 <= a.gap <= 60:
            p.error("--gap 0..60 s")
        run_f2b(a)


if __name__ == "__main__":
    main()
