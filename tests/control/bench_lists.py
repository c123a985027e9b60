#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""
bench_lists.py - mxwalld with a large blocklist: time to add N /32 blocks
over the control socket (pipelined 1000 at a time), worst `status` latency
while the daemon carries them (sweeps and state file writes run in the same
loop), peak RSS, state file size, final write at stop, and restore from the
state file after the pins are removed.  Uses the control test's lab (its
own netns and pins).  Run on demand, e.g.:

    N=1000000 meson test -C build --benchmark --suite control -v
    /usr/bin/python3 tests/control/bench_lists.py --mxwalld ... -n 1000000
"""
import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_control as T  # noqa: E402


def peak_rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxwalld", required=True)
    ap.add_argument("--mxwallctl", required=True)
    ap.add_argument("-n", type=int, default=int(os.environ.get("N", "200000")))
    args = ap.parse_args()
    if os.geteuid() != 0:
        T.skip("needs root")
    os.environ["PATH"] += ":/usr/sbin:/sbin"
    n = args.n
    lab = T.Lab(os.path.abspath(args.mxwalld), os.path.abspath(args.mxwallctl))
    lab.cfg["log"]["level"] = "info"
    try:
        lab.start()
        c = lab.conn()
        c.s.settimeout(60)
        t0 = time.time()
        batch = []
        for i in range(n):
            batch.append(b'{"cmd":"block.add","addr":"10.%d.%d.%d","ttl":86400}\n'
                         % (i >> 16, (i >> 8) & 255, i & 255))
            if len(batch) == 1000 or i == n - 1:
                c.send_raw(b"".join(batch))
                for _ in batch:
                    T.check(c.read_line()["ok"], "add")
                batch = []
        t_add = time.time() - t0
        worst = 0.0
        t_end = time.time() + 10
        while time.time() < t_end:
            t = time.time()
            c.ok("status")
            worst = max(worst, time.time() - t)
            time.sleep(0.05)
        rss_run = peak_rss_kb(lab.proc.pid)
        c.close()
        t = time.time()
        lab.stop()
        t_stop = time.time() - t
        size = os.stat(os.path.join(lab.state_dir, "lists.json")).st_size
        shutil.rmtree(lab.pin_dir)
        t = time.time()
        lab.start()
        t_restore = time.time() - t
        rss_restore = peak_rss_kb(lab.proc.pid)
        c = lab.conn()
        total = c.ok("status")["entries"]["block_exact"]
        c.close()
        T.check(total == n, "all %d restored (%d)" % (n, total))
        print(json.dumps({
            "entries": n,
            "add_seconds": round(t_add, 2),
            "adds_per_second": int(n / t_add),
            "status_worst_latency_ms": round(worst * 1000, 1),
            "peak_rss_kb_running": rss_run,
            "state_file_bytes": size,
            "stop_with_final_write_seconds": round(t_stop, 2),
            "restart_with_restore_seconds": round(t_restore, 2),
            "peak_rss_kb_after_restore": rss_restore,
        }, indent=1))
    finally:
        lab.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
