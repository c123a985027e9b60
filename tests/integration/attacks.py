#!/usr/bin/python3
"""attacks.py - the attack battery of e2e_insp.sh, one real client per
threat of DESIGN.md section 1, all speaking through smtpc.py.

    attacks.py NAME --server ADDR --source ADDR [--port N] [--count N]
               [--user U --password P]

Each attack does what an abuser does and prints one line

    RESULT attack=NAME key=value ...

describing what the *client* saw (how far it got, which replies, how the
session ended: "killed" = reset or EOF while a reply was awaited,
"timeout" = silence, "refused" = no connection).  It exits 0 when the
attack could be performed at all, 1 when it could not even start (no
greeting on the first connection), 2 on usage errors.  Whether the
outcome is the right one is for the caller to judge, together with what
the server's wire, Postfix's log and mxwalld saw.
"""

import argparse
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smtpc  # noqa: E402

A = None


def result(**kv):
    print("RESULT attack=%s %s" % (A.name, " ".join("%s=%s" % (k, v)
                                                    for k, v in kv.items())))
    sys.stdout.flush()


def ended(r):
    """'killed' / 'timeout' for an ended session, 'reply:NNN' otherwise."""
    if r.code is None:
        return "timeout" if "timeout" in r.how else "killed"
    return "reply:%d" % r.code


def start(port=None, source=None, timeout=None):
    """Connect, greeting, EHLO: the client or None (connect failed)."""
    try:
        c, g, e = smtpc.session(A.server, port or A.port, source or A.source,
                                timeout or A.timeout)
    except OSError:
        return None
    if g.code != 220 or e.code != 250:
        c.close()
        return None
    return c


def connect_raw():
    """A connection without reading the greeting, or the RESULT line
    outcome=refused and None."""
    c = smtpc.Client(A.server, A.port, A.source, A.timeout)
    try:
        return c.connect()
    except OSError:
        result(outcome="refused")
        return None


def begin():
    """start(), or the RESULT line outcome=refused and None."""
    c = start()
    if c is None:
        result(outcome="refused")
    return c


def one_command(line):
    """A session with one offending command after EHLO."""
    c = begin()
    if c is None:
        return 1
    r = c.cmd(line)
    result(outcome=ended(r))
    c.close()
    return 0


def a_vrfy():
    return one_command("VRFY alice")


def a_expn():
    return one_command("EXPN postmaster")


def a_longcmd():
    """RFC 5321 4.5.3.1.4: 512 octets including CRLF; this is 702.  Not
    MAIL or RCPT: those may carry extension parameters (RFC 1869 4.1.2,
    the engine allows them 1024)."""
    return one_command("NOOP " + "A" * 695)


def a_relay():
    """RCPT to a domain that is not ours, without AUTH."""
    c = begin()
    if c is None:
        return 1
    r = c.cmd("MAIL FROM:<spammer@example.org>")
    if r.code != 250:
        result(outcome="mail:" + ended(r))
        return 0
    r = c.cmd("RCPT TO:<victim@remote.test>")
    result(outcome=ended(r))
    c.close()
    return 0


def command_flood(make):
    """Commands make(i) one after the other, A.count at most, until the
    session ends; reports how many were answered."""
    c = begin()
    if c is None:
        return 1
    n = 0
    r = None
    for i in range(A.count):
        r = c.cmd(make(i))
        if r.code is None:
            break
        n += 1
    result(outcome=ended(r), replies=n)
    c.close()
    return 0


def a_unknown():
    """Unknown commands until the session ends (error limit)."""
    return command_flood(lambda i: "XCMD%d hello" % i)


def a_junk():
    """RSET / NOOP flood (junk limit)."""
    return command_flood(lambda i: "NOOP" if i % 2 else "RSET")


def a_pregreet():
    """Talk before the greeting (postscreen's PREGREET)."""
    c = connect_raw()
    if c is None:
        return 1
    try:
        c.send(b"EHLO pregreet.example.org\r\n")
    except smtpc.Closed:
        result(outcome="killed")
        return 0
    g = c.read_reply()
    r = c.read_reply() if g.code == 220 else g
    result(outcome=ended(r), greeting=ended(g))
    c.close()
    return 0


def raw_after_greeting(data):
    c = connect_raw()
    if c is None:
        return 1
    g = c.read_reply()
    if g.code != 220:
        result(outcome="greeting:" + ended(g))
        return 1
    try:
        c.send(data)
    except smtpc.Closed:
        result(outcome="killed")
        return 0
    r = c.read_reply()
    result(outcome=ended(r))
    c.close()
    return 0


def a_starttls_inject():
    """Plain-text commands in the same write as STARTTLS (CVE-2011-0411):
    a server that buffered them would run them as if sent over TLS."""
    c = begin()
    if c is None:
        return 1
    rs = c.pipeline(["STARTTLS", "MAIL FROM:<injected@example.org>"])
    result(outcome=ended(rs[-1]), starttls=ended(rs[0]))
    c.close()
    return 0


def a_helo_pipelining():
    """HELO (no extensions, so no PIPELINING advertised), then MAIL, RCPT
    and RSET in one write: the spambot's shortcut postscreen looks for."""
    c = connect_raw()
    if c is None:
        return 1
    g = c.read_reply()
    h = c.cmd("HELO bot.example.org") if g.code == 220 else g
    if h.code != 250:
        result(outcome="helo:" + ended(h))
        return 1
    rs = c.pipeline(["MAIL FROM:<bot@example.org>", "RCPT TO:<alice@lab.test>", "RSET"])
    result(outcome=ended(rs[-1]), replies=len(rs))
    c.close()
    return 0


def a_http():
    return raw_after_greeting(b"GET / HTTP/1.1\r\nHost: mx.lab.test\r\n\r\n")


def a_connect():
    return raw_after_greeting(b"CONNECT 192.0.2.99:25 HTTP/1.0\r\n\r\n")


# SMTP smuggling (SEC Consult, 2023): an end-of-data that the receiver
# accepts and a filter does not (or the other way round), followed by a
# second, forged transaction inside the first message's body.
SMUGGLE = {
    "lf": b"\n.\n",
    "lfcrlf": b"\n.\r\n",
    "crlflf": b"\r\n.\n",
    "cr": b"\r.\r",
}


def a_smuggle():
    c = begin()
    if c is None:
        return 1
    ending = SMUGGLE[A.variant]
    tag = "smuggled-%s" % A.variant
    forged = (b"MAIL FROM:<ceo@lab.test>\r\nRCPT TO:<alice@lab.test>\r\nDATA\r\n"
              b"From: ceo@lab.test\r\nSubject: " + tag.encode() + b"\r\n\r\n"
              b"wire the money\r\n.\r\n")
    msg = (b"From: sender@example.org\r\nSubject: smuggle carrier\r\n\r\n"
           b"innocent text" + ending + forged)
    r = c.cmd("MAIL FROM:<sender@example.org>")
    r2 = c.cmd("RCPT TO:<alice@lab.test>")
    if r.code != 250 or r2.code != 250:
        result(outcome="envelope:" + ended(r2))
        return 0
    d, end = c.data(msg)
    # Whatever ended the first transaction, the forged one must not follow.
    extra = c.read_reply() if end.code == 250 else end
    result(outcome=ended(end), data=ended(d), after=ended(extra) if end.code == 250 else "-")
    c.close()
    return 0


def auth_attempt(c, user, password):
    if A.mech == "login":
        return c.auth_login(user, password)
    return c.auth_plain(user, password)


def until_refused(setup, attempt, hit):
    """Sessions of up to A.per_session attempts each, until A.count
    attempts were hits (refused by the server in the way the policy
    counts) or the source can no longer connect.  setup(c) opens a
    session's transaction (False: give up), attempt(c, i) returns the
    reply to guess i.  Returns a dict: hits, sessions, guesses (sent
    before the source was refused, or in all), last (outcome of the last
    guess: the one that earns the block is usually "killed", because the
    block lands before the server's reply is forwarded), refused_after
    (hits seen before the first refused connection, -1 if the source was
    never refused; one extra connection is tried after the last hit)."""
    hits = sessions = i = 0
    last = "-"
    while hits < A.count:
        c = start(timeout=4)
        if c is None:
            return dict(hits=hits, sessions=sessions, guesses=i, last=last,
                        refused_after=hits)
        sessions += 1
        if not setup(c):
            c.close()
            break
        for _ in range(A.per_session):
            r = attempt(c, i)
            i += 1
            last = ended(r)
            if hit(r):
                hits += 1
            if not hit(r) or hits >= A.count:
                break
        c.close()
    c = start(timeout=3)
    refused = c is None
    if c is not None:
        c.close()
    return dict(hits=hits, sessions=sessions, guesses=i, last=last,
                refused_after=hits if refused else -1)


def idle_outcome(c):
    """What became of an idle session: 'reset' (an RST arrived), 'closed'
    (the server closed it), 'open' (nothing within a second)."""
    c.sock.settimeout(1.0)
    try:
        data = c.sock.recv(4096)
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "open"
    finally:
        c.close()
    return "closed" if not data else "data"


def a_idle():
    """A.count sessions that sit idle after EHLO for A.interval seconds
    (what a connection-exhaustion attacker holds), then idle= says what
    became of each (idle_outcome)."""
    idle = [start() for _ in range(A.count)]
    time.sleep(A.interval)
    result(opened=sum(c is not None for c in idle),
           idle=",".join("refused" if c is None else idle_outcome(c)
                         for c in idle))
    return 0


def a_authbrute():
    """Guess passwords until A.count 535 replies or refused.  With
    --idle N, N sessions of the same source sit idle after EHLO meanwhile
    (a connection-exhaustion attacker's): idle= says what became of each
    once the guessing is over."""
    idle = [start() for _ in range(A.idle)]
    r = until_refused(
        lambda c: True,
        lambda c, i: auth_attempt(c, A.user, "guess%d" % i),
        lambda r: r.code == 535)
    if A.idle:
        r["idle"] = ",".join("refused" if c is None else idle_outcome(c)
                             for c in idle)
    result(**r)
    return 0


def a_authok():
    """The legitimate resemblance: one failure, then the right password."""
    c = begin()
    if c is None:
        return 1
    r1 = auth_attempt(c, A.user, "typo-" + A.password)
    r2 = auth_attempt(c, A.user, A.password)
    result(first=ended(r1), second=ended(r2))
    c.quit()
    return 0


def a_harvest():
    """Directory harvest: RCPT to guessed names until A.count 550 5.1.1
    replies or refused."""
    result(**until_refused(
        lambda c: c.cmd("MAIL FROM:<harvest@example.org>").code == 250,
        lambda c, i: c.cmd("RCPT TO:<guess%03d@lab.test>" % i),
        lambda r: r.code == 550 and "5.1.1" in r.text))
    return 0


def a_kills():
    """Up to A.count sessions each killed by the inspector (HTTP on port
    25), until the source is refused: the cheapest way for one address to
    earn a block (used by the escalation and kill -9 cases)."""
    killed = 0
    refused = False
    for _ in range(A.count):
        c = smtpc.Client(A.server, A.port, A.source, 4)
        try:
            c.connect()
            g = c.read_reply()
        except OSError:
            refused = True
            break
        if g.code != 220:
            c.close()
            refused = True
            break
        try:
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_reply()
        except smtpc.Closed:
            r = smtpc.Reply(None, [], "killed")
        if r.code is None:
            killed += 1
        c.close()
    if not refused:
        c = start(timeout=3)
        refused = c is None
        if c is not None:
            c.close()
    result(killed=killed, refused=int(refused))
    return 0


def a_probe():
    """Can the source still open a session (greeting within 3 s)?"""
    c = start(timeout=3)
    result(outcome="greeting" if c is not None else "refused")
    if c is not None:
        c.quit()
    return 0


def a_deliver():
    """A plain message to alice (continuous traffic in the kill -9 case);
    prints ok or the failing step.  --count messages, --tag prefix."""
    ok = 0
    for i in range(A.count):
        if i:
            time.sleep(A.interval)
        c = start(timeout=5)
        if c is None:
            continue
        tag = "%s-%d" % (A.tag, i)
        rs = [c.cmd("MAIL FROM:<sender@example.org>"), c.cmd("RCPT TO:<alice@lab.test>")]
        if all(r.code == 250 for r in rs):
            d, end = c.data(b"Subject: mxwall lab " + tag.encode() + b"\r\n\r\nbody\r\n")
            if end.code == 250:
                ok += 1
        c.close()
    result(delivered=ok, of=A.count)
    return 0


# POP3 / IMAP clear-text logins (DESIGN.md 1: detect and apply policy).
def cleartext_login(lines):
    """Greeting, then each line with its one-line answer; the outcome is
    whether the last line (the password) was answered."""
    s = socket.create_connection((A.server, A.port), A.timeout,
                                 source_address=(A.source, 0))
    f = s.makefile("rwb")
    r = f.readline(smtpc.MAX_LINE)
    for line in lines:
        try:
            f.write(line)
            f.flush()
            r = f.readline(smtpc.MAX_LINE)
        except OSError:
            r = b""
    result(outcome="reply" if r else "killed")
    s.close()
    return 0


def a_pop3():
    return cleartext_login([b"USER alice\r\n", b"PASS cleartext-secret\r\n"])


def a_imap():
    return cleartext_login([b"a1 LOGIN alice cleartext-secret\r\n"])


ATTACKS = {n[2:]: f for n, f in globals().items() if n.startswith("a_")}


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(ATTACKS))
    ap.add_argument("--server", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--count", type=int, default=25)
    ap.add_argument("--per-session", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--variant", default="lf", choices=sorted(SMUGGLE))
    ap.add_argument("--mech", default="plain", choices=["plain", "login"])
    ap.add_argument("--user", default="alice@lab.test")
    ap.add_argument("--password", default="")
    ap.add_argument("--tag", default="cont")
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--idle", type=int, default=0)
    A = ap.parse_args()
    if not 1 <= A.count <= 10000 or not 1 <= A.per_session <= 100 or \
            not 0 <= A.idle <= 16:
        ap.error("--count 1..10000, --per-session 1..100, --idle 0..16")
    try:
        return ATTACKS[A.name]()
    except OSError as e:
        result(outcome="error", error=str(e).replace(" ", "_"))
        return 1


if __name__ == "__main__":
    sys.exit(main())
