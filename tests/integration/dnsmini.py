#!/usr/bin/python3
"""dnsmini.py - a tiny DNS responder and query client for the mxwall lab.

The lab's "outside" namespace runs `dnsmini.py serve ADDR...`: every A query
is answered with LAB_ANSWER (192.0.2.80), anything else with NOTIMP.  The
protected server runs `dnsmini.py query ADDR NAME` to show that its own
outbound UDP (a resolver lookup) and the reply coming back from the outside
pass the appliance through a return-path entry.

Only the standard library: it must run with Debian's /usr/bin/python3.
Input from the network is hostile: every length is checked before use.
"""
import os
import random
import select
import socket
import struct
import sys

LAB_ANSWER = "192.0.2.80"
DNS_MAX = 512                 # classic UDP DNS message limit (RFC 1035 4.2.1)
NAME_MAX = 255


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError("bad label in %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def question_end(msg):
    """Offset just past the first question, or None if malformed."""
    off = 12
    total = 0
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        if n & 0xC0:              # no compression in a question we accept
            return None
        off += 1
        if n == 0:
            break
        total += n + 1
        if total > NAME_MAX or off + n > len(msg):
            return None
        off += n
    if off + 4 > len(msg):
        return None
    return off + 4


def answer(query):
    if len(query) < 12 or len(query) > DNS_MAX:
        return None
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qd != 1:  # a response, or not exactly one question
        return None
    end = question_end(query)
    if end is None:
        return None
    qtype, qclass = struct.unpack("!HH", query[end - 4:end])
    question = query[12:end]
    if qtype == 1 and qclass == 1:
        hdr = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
        rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4)
        return hdr + question + rr + socket.inet_aton(LAB_ANSWER)
    return struct.pack("!HHHHHH", qid, 0x8184, 1, 0, 0, 0) + question


def serve(addrs):
    socks = []
    for a in addrs:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, 53))
        socks.append(s)
    print("dnsmini: serving on %s" % ", ".join(addrs), flush=True)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            data, peer = s.recvfrom(4096)
            reply = answer(data)
            if reply is not None:
                s.sendto(reply, peer)


def query(server, name, timeout):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    qid = random.randrange(1, 0xFFFF)
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    msg += encode_name(name) + struct.pack("!HH", 1, 1)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect((server, 53))
    s.send(msg)
    try:
        data = s.recv(4096)
    except socket.timeout:
        print("dnsmini: no answer from %s within %.1fs" % (server, timeout))
        return 1
    if len(data) < 12 or struct.unpack("!H", data[:2])[0] != qid:
        print("dnsmini: malformed or mismatched answer")
        return 1
    ancount = struct.unpack("!H", data[6:8])[0]
    if ancount < 1 or len(data) < 4 or data[-4:] != socket.inet_aton(LAB_ANSWER):
        print("dnsmini: answer without the expected A record")
        return 1
    print("dnsmini: %s A %s (from %s)" % (name, LAB_ANSWER, server))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "serve":
        serve(argv[2:])
        return 0
    if len(argv) in (4, 5) and argv[1] == "query":
        timeout = float(argv[4]) if len(argv) == 5 else 3.0
        return query(argv[2], argv[3], timeout)
    sys.stderr.write("usage: dnsmini.py serve ADDR... | query SERVER NAME [TIMEOUT]\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
