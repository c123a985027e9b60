#!/usr/bin/python3
"""corpus.py - the legitimate mail corpus, delivered and then checked in
the lab's Maildirs byte for byte (DESIGN.md 4: legitimate mail must be
delivered untouched; a false positive is a bug).

    corpus.py --tmp LAB_TMP --cafile CERT [--only a,b] [--list]
        run in the client namespace; LAB_TMP is the lab's temp dir (the
        Maildirs of the server's and the outside MX's Postfix are under it:
        the namespaces share the file system)

Every item is one function that speaks SMTP through smtpc.py and returns
the messages it expects to find: (instance, user, tag, body).  After all
items ran, each expected message is looked up by its X-Corpus-Tag header in
the user's Maildir and its body compared with what was sent (Postfix stores
LF line ends: CRLF is normalised before the comparison; nothing else is).
Exit 0 when every item was accepted and every body matches, 1 otherwise;
one line per item on stdout.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smtpc  # noqa: E402

A = None    # parsed arguments
DOMAIN = "lab.test"


class Fail(Exception):
    pass


def expect(reply, code, what):
    if reply.code != code:
        raise Fail("%s: expected %d, got %r %s" % (what, code, reply, reply.text[:200]))


def message(tag, body, extra=b"", to=b"alice@lab.test"):
    """A message with CRLF line ends whose body is `body` (bytes)."""
    hdr = (b"From: Sender <sender@example.org>\r\n"
           b"To: <" + to + b">\r\n"
           b"Subject: mxwall corpus " + tag.encode() + b"\r\n"
           b"Message-ID: <" + tag.encode() + b"." + str(os.getpid()).encode() +
           b"@example.org>\r\n"
           b"X-Corpus-Tag: " + tag.encode() + b"\r\n" + extra + b"\r\n")
    return hdr + body


def text_body(tag, lines=3):
    return b"".join(b"corpus %s line %d\r\n" % (tag.encode(), i) for i in range(lines))


def open_session(server=None, source=None, port=25):
    c, g, e = smtpc.session(server or A.server4, port, source or A.source4)
    expect(g, 220, "greeting")
    expect(e, 250, "EHLO")
    return c


def send_simple(c, tag, body, rcpts=("alice",), mail_from="<sender@example.org>",
                mail_params="", use_bdat=False, extra=b""):
    """MAIL/RCPT/DATA (or BDAT) one command at a time."""
    expect(c.cmd("MAIL FROM:%s%s" % (mail_from, mail_params)), 250, "MAIL")
    for r in rcpts:
        expect(c.cmd("RCPT TO:<%s@%s>" % (r, DOMAIN)), 250, "RCPT " + r)
    msg = message(tag, body, extra, ("%s@%s" % (rcpts[0], DOMAIN)).encode())
    if use_bdat:
        expect(c.bdat(msg, chunk=4096), 250, "BDAT")
    else:
        d, end = c.data(msg)
        expect(d, 354, "DATA")
        expect(end, 250, "end of data")
    return [("srv", r, tag, body) for r in rcpts]


# ------------------------------------------------------------------ items

def it_plain():
    c = open_session()
    out = send_simple(c, "plain", text_body("plain"))
    c.quit()
    return out


def it_ipv6():
    c = open_session(A.server6, A.source6)
    out = send_simple(c, "ipv6", text_body("ipv6"))
    c.quit()
    return out


def it_pipelining():
    """RFC 2920: MAIL, RCPTs and DATA in one write, one reply each."""
    c = open_session()
    if "PIPELINING" not in c.ext:
        raise Fail("server does not advertise PIPELINING")
    rs = c.pipeline(["MAIL FROM:<sender@example.org>", "RCPT TO:<alice@lab.test>",
                     "RCPT TO:<bob@lab.test>", "DATA"])
    if [r.code for r in rs] != [250, 250, 250, 354]:
        raise Fail("pipelined replies %r" % rs)
    body = text_body("pipelining")
    c.send(smtpc.Client.dot_stuff(message("pipelining", body)))
    expect(c.read_reply(), 250, "end of data")
    # A second transaction in the same session, pipelined with RSET first.
    rs = c.pipeline(["RSET", "MAIL FROM:<sender@example.org>",
                     "RCPT TO:<bob@lab.test>", "DATA"])
    if [r.code for r in rs] != [250, 250, 250, 354]:
        raise Fail("second pipelined group %r" % rs)
    body2 = text_body("pipelining2")
    c.send(smtpc.Client.dot_stuff(message("pipelining2", body2, to=b"bob@lab.test")))
    expect(c.read_reply(), 250, "end of data 2")
    c.quit()
    return [("srv", "alice", "pipelining", body), ("srv", "bob", "pipelining", body),
            ("srv", "bob", "pipelining2", body2)]


def it_starttls():
    c = open_session()
    expect(c.starttls(A.cafile), 220, "STARTTLS")
    expect(c.ehlo(), 250, "EHLO after STARTTLS")
    out = send_simple(c, "starttls", text_body("starttls"))
    c.quit()
    return out


def it_bdat():
    """RFC 3030 CHUNKING: no dot-stuffing, so leading dots and a line
    holding only a dot travel as they are."""
    c = open_session()
    if "CHUNKING" not in c.ext:
        raise Fail("server does not advertise CHUNKING")
    body = text_body("bdat", 400) + b".\r\n..leading dots\r\n.\r\nend\r\n"
    out = send_simple(c, "bdat", body, use_bdat=True)
    c.quit()
    return out


def it_8bitmime():
    c = open_session()
    body = (b"caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9e\r\n"
            b"latin-1 octets: \xe9\xe8\xe0\xff\r\n" + text_body("8bitmime"))
    out = send_simple(c, "8bitmime", body, mail_params=" BODY=8BITMIME",
                      extra=b"MIME-Version: 1.0\r\n"
                            b"Content-Type: text/plain; charset=utf-8\r\n"
                            b"Content-Transfer-Encoding: 8bit\r\n")
    c.quit()
    return out


def it_smtputf8():
    """RFC 6531: UTF-8 sender, recipient and header."""
    c = open_session()
    if "SMTPUTF8" not in c.ext:
        raise Fail("server does not advertise SMTPUTF8")
    expect(c.cmd("MAIL FROM:<jürgen@exämple.org> SMTPUTF8 BODY=8BITMIME"), 250, "MAIL")
    expect(c.cmd("RCPT TO:<δοκιμή@lab.test>"), 250, "RCPT")
    body = "Γειά σου κόσμε, ünïcödé body\r\n".encode() + text_body("smtputf8")
    msg = message("smtputf8", body, "Subject2: ηλεκτρονικό ταχυδρομείο\r\n".encode(),
                  "δοκιμή@lab.test".encode())
    d, end = c.data(msg)
    expect(d, 354, "DATA")
    expect(end, 250, "end of data")
    c.quit()
    return [("srv", "δοκιμή", "smtputf8", body)]


def it_bounce():
    """A delivery status notification: null reverse path (RFC 5321 4.5.5)."""
    c = open_session()
    body = (b"This is the mail system at host mx.example.org.\r\n\r\n"
            b"Your message could not be delivered.\r\n")
    out = send_simple(c, "bounce", body, rcpts=("postmaster",), mail_from="<>",
                      extra=b"Auto-Submitted: auto-replied\r\n")
    c.quit()
    return out


def it_longline():
    """RFC 5321 4.5.3.1.6: a text line of 998 octets plus CRLF."""
    c = open_session()
    line = (b"L" * 990 + b"-998-end")
    assert len(line) == 998
    body = b"before\r\n" + line + b"\r\n" + b"after\r\n"
    out = send_simple(c, "longline", body)
    c.quit()
    return out


def it_big():
    """A 5 MB message (base64-like lines of 76 octets)."""
    c = open_session()
    row = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0"
    n = 5 * 1024 * 1024 // (len(row) + 2) + 1
    body = b"".join(row[:70] + b"%06d" % i + b"\r\n" for i in range(n))
    out = send_simple(c, "big", body)
    c.quit()
    return out


def it_manyrcpt():
    """40 recipients in one pipelined transaction."""
    c = open_session()
    users = ["r%02d" % i for i in range(1, 41)]
    cmds = ["MAIL FROM:<list@example.org>"] + \
        ["RCPT TO:<%s@%s>" % (u, DOMAIN) for u in users] + ["DATA"]
    rs = c.pipeline(cmds)
    if [r.code for r in rs] != [250] * 41 + [354]:
        raise Fail("replies %r" % [r.code for r in rs])
    body = text_body("manyrcpt")
    c.send(smtpc.Client.dot_stuff(message("manyrcpt", body, to=b"list@lab.test")))
    expect(c.read_reply(), 250, "end of data")
    c.quit()
    return [("srv", u, "manyrcpt", body) for u in users]


def it_auth587():
    """Submission: STARTTLS, AUTH PLAIN inside TLS, then relay to a remote
    domain (permit_sasl_authenticated), delivered to the outside MX."""
    c = open_session(port=587)
    expect(c.starttls(A.cafile), 220, "STARTTLS")
    expect(c.ehlo(), 250, "EHLO after STARTTLS")
    expect(c.auth_plain(A.sasl_user, A.sasl_pass), 235, "AUTH PLAIN")
    expect(c.cmd("MAIL FROM:<%s>" % A.sasl_user), 250, "MAIL")
    expect(c.cmd("RCPT TO:<carol@remote.test>"), 250, "RCPT (authenticated relay)")
    body = text_body("auth587")
    d, end = c.data(message("auth587", body, to=b"carol@remote.test"))
    expect(d, 354, "DATA")
    expect(end, 250, "end of data")
    c.quit()
    return [("out", "carol", "auth587", body)]


def it_mistyped():
    """One mistyped recipient: 550 5.1.1 for it, the message still goes to
    the right one."""
    c = open_session()
    expect(c.cmd("MAIL FROM:<sender@example.org>"), 250, "MAIL")
    expect(c.cmd("RCPT TO:<alice@lab.test>"), 250, "RCPT alice")
    r = c.cmd("RCPT TO:<alcie@lab.test>")
    if r.code != 550 or "5.1.1" not in r.text:
        raise Fail("mistyped recipient: expected 550 5.1.1, got %r" % r)
    body = text_body("mistyped")
    d, end = c.data(message("mistyped", body))
    expect(d, 354, "DATA")
    expect(end, 250, "end of data")
    c.quit()
    return [("srv", "alice", "mistyped", body)]


def it_reconnect():
    """A sender that reconnects often: 12 sessions, one message each."""
    out = []
    for i in range(12):
        c = open_session()
        tag = "reconnect%02d" % i
        out += send_simple(c, tag, text_body(tag, 1), rcpts=("bob",))
        c.quit()
    return out


def it_dotstuff():
    """Lines starting with a dot (RFC 5321 4.5.2 transparency)."""
    c = open_session()
    body = b".hidden\r\n..two\r\n. space\r\n" + text_body("dotstuff")
    out = send_simple(c, "dotstuff", body)
    c.quit()
    return out


ITEMS = [("plain", it_plain), ("ipv6", it_ipv6), ("pipelining", it_pipelining),
         ("starttls", it_starttls), ("bdat", it_bdat), ("8bitmime", it_8bitmime),
         ("smtputf8", it_smtputf8), ("bounce", it_bounce), ("longline", it_longline),
         ("big", it_big), ("manyrcpt", it_manyrcpt), ("auth587", it_auth587),
         ("mistyped", it_mistyped), ("reconnect", it_reconnect),
         ("dotstuff", it_dotstuff)]


# ------------------------------------------------------------------ check

def maildir_find(inst, user, tag, deadline):
    """Body (bytes, LF line ends) of the message tagged `tag` in the user's
    Maildir, waiting until deadline; None if it never arrived."""
    base = os.path.join(A.tmp, inst, "mail", user)
    needle = b"\nX-Corpus-Tag: " + tag.encode() + b"\n"
    while True:
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    data = f.read()
                head, sep, body = data.partition(b"\n\n")
                if sep and needle in head + b"\n":
                    return body
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp")
    ap.add_argument("--cafile")
    ap.add_argument("--server4", default="192.0.2.25")
    ap.add_argument("--server6", default="2001:db8:1::25")
    ap.add_argument("--source4", default="192.0.2.10")
    ap.add_argument("--source6", default="2001:db8:1::10")
    ap.add_argument("--sasl-user", default="alice@lab.test")
    ap.add_argument("--sasl-pass", default="")
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    A = ap.parse_args()
    if A.list:
        print("\n".join(n for n, _ in ITEMS))
        return 0
    only = set(filter(None, A.only.split(",")))
    unknown = only - {n for n, _ in ITEMS}
    if unknown:
        print("unknown items: %s" % ",".join(sorted(unknown)), file=sys.stderr)
        return 2
    failed = 0
    expected = []
    for name, fn in ITEMS:
        if only and name not in only:
            continue
        t0 = time.monotonic()
        try:
            exp = fn()
        except (Fail, OSError) as e:
            print("FAIL %s: %s" % (name, e))
            failed += 1
            continue
        expected.append((name, exp))
        print("sent %s (%d message copies, %.2f s)" % (name, len(exp), time.monotonic() - t0))
    deadline = time.monotonic() + 30
    for name, exp in expected:
        bad = []
        for inst, user, tag, body in exp:
            got = maildir_find(inst, user, tag, deadline)
            want = body.replace(b"\r\n", b"\n")
            if got is None:
                bad.append("%s/%s: %s not delivered" % (inst, user, tag))
            elif got != want:
                i = next((k for k in range(min(len(got), len(want)))
                          if got[k] != want[k]), min(len(got), len(want)))
                bad.append("%s/%s: %s body differs at octet %d (got %d, sent %d octets)"
                           % (inst, user, tag, i, len(got), len(want)))
        if bad:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(bad[:3])))
        else:
            print("ok %s" % name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
