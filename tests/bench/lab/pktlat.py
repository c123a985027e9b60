#!/usr/bin/python3
"""pktlat.py - one-way latency of packets between two captures of the same
flows, taken on the same host clock: the client's veth (c0, egress) and
the server's veth (s0, ingress).  What the appliance in between adds is
the difference; run on captures with the inspection path on and off.

    pktlat.py CLIENT.pcap SERVER.pcap FILTER
        prints: payload N p50 p99 / other N p50 p99 (microseconds),
        unmatched counts

Packets are matched on (source port, TCP flags, absolute sequence range,
length) from `tcpdump -tt -n -S`; a retransmission keeps its first
sighting on each side, so it cannot pair with a later copy.
"""

import re
import subprocess
import sys

LINE = re.compile(r"^(\d+\.\d+) IP6? (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\](?:, seq (\S+?))?,.* length (\d+)")


def packets(path, flt):
    out = subprocess.run(["tcpdump", "-tt", "-n", "-S", "-r", path, flt],
                         capture_output=True, text=True, check=False).stdout
    first = {}
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        t, src, sport, dst, dport, flags, seq, length = m.groups()
        key = (src, sport, dst, dport, flags, seq or "", length)
        first.setdefault(key, float(t))
    return first


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def main():
    cli, srv, flt = sys.argv[1], sys.argv[2], sys.argv[3]
    a, b = packets(cli, flt), packets(srv, flt)
    pay, other = [], []
    for k, t0 in a.items():
        t1 = b.get(k)
        if t1 is None:
            continue
        (pay if k[6] != "0" else other).append((t1 - t0) * 1e6)
    print("payload %d %.1f %.1f" % (len(pay), pct(pay, 50), pct(pay, 99)))
    print("other %d %.1f %.1f" % (len(other), pct(other, 50), pct(other, 99)))
    print("unmatched %d %d" % (len(a) - len(pay) - len(other), len(b)))


if __name__ == "__main__":
    main()
