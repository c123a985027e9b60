#!/usr/bin/python3
"""frames.py - crafted frames for the mxwall lab (scapy; Debian /usr/bin/python3).

  frames.py syn IFACE DST_MAC SRC DST DPORT [--tags 100,200] [--count N]

sends N TCP SYNs, optionally inside a stack of VLAN tags: the first tag is
802.1ad (0x88a8) when two are given (QinQ), 802.1Q otherwise.  IPv6 when SRC
contains a colon.  Used to show that a VLAN tag is no way around the filter:
the appliance must judge the inner packet.
"""
import argparse
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Dot1AD, Dot1Q, Ether, IP, IPv6, TCP, conf, sendp  # noqa: E402


def build(args):
    l3 = IPv6(src=args.src, dst=args.dst) if ":" in args.src else IP(src=args.src, dst=args.dst)
    frame = Ether(dst=args.dst_mac)
    tags = [int(t) for t in args.tags.split(",")] if args.tags else []
    if len(tags) > 2:
        raise SystemExit("at most two tags")
    for i, vid in enumerate(tags):
        if len(tags) == 2 and i == 0:
            frame = frame / Dot1AD(vlan=vid)
        else:
            frame = frame / Dot1Q(vlan=vid)
    return frame / l3 / TCP(sport=args.sport, dport=args.dport, flags="S", seq=1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["syn"])
    ap.add_argument("iface")
    ap.add_argument("dst_mac")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("dport", type=int)
    ap.add_argument("--tags", default="")
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--sport", type=int, default=40000)
    args = ap.parse_args()
    conf.verb = 0
    frame = build(args)
    sendp(frame, iface=args.iface, count=args.count, inter=0.05, verbose=False)
    print("frames: sent %d x %s" % (args.count, frame.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
