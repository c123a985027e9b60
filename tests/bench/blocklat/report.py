#!/usr/bin/python3
"""report.py DIR RUNS NSRC F2B_N - the tables of bench_blocklat.sh.

Reads what blat.py wrote per run (mx-FAMILY-R.json, f2b-BACKEND-R.json)
and the probe captures' packet counts (mx-FAMILY-R.cap: client side,
server side), prints one line per run and the medians over the runs, and
exits 1 when a block was shown not to be effective (a probe SYN answered
or seen on the server's wire, not counted as drop_blocklist), a source
got no block event, or a block had another cause than the one relay
attempt: the benchmark's claims would then be false.

Percentiles are nearest-rank (the value at rank ceil(p * n)), the same
definition over every set, so p99 of 500 blocks is the 495th smallest.
"""

import json
import math
import os
import sys


def pct(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def median(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    v = sorted(vals)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def load(path):
    rows, summary = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if not isinstance(o, dict):
                continue
            if o.get("summary"):
                summary = o
            else:
                rows.append(o)
    return rows, summary


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float) and v != int(v):
        return "%.1f%s" % (v, unit)
    return "%d%s" % (v, unit)


def main():
    d, runs, nsrc, f2b_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    bad = []
    med = {}
    print("mxwall, per run (latency_us: XDP arrival stamp -> map write, from the"
          " block events; stats: the daemon's own block_latency_us; wall: client's"
          " write of the offending RCPT -> block event read on the control socket)")
    print("fam run blocks/sources | event latency_us p50 p99 max <100us | stats p50 p99 max"
          " | wall_us p50 p99 max | probes no_answer drop_blocklist+ c0_syns s0_syns | load")
    for fam in ("4", "6"):
        per = {k: [] for k in ("p50", "p99", "max", "u100", "sp50", "sp99", "smax",
                               "w50", "w99", "wmax")}
        for r in range(1, runs + 1):
            rows, summ = load(os.path.join(d, "mx-%s-%d.json" % (fam, r)))
            ev = [o for o in rows if o.get("event")]
            lat = [o["latency_us"] for o in ev if isinstance(o.get("latency_us"), int)]
            wall = [o["wall_us"] for o in ev]
            probes = [o for o in rows if "probe" in o]
            no_ans = sum(o["probe"] == "no_answer" for o in probes)
            dropped = sum(o.get("drop_blocklist_delta", 0) >= 1 for o in probes)
            with open(os.path.join(d, "mx-%s-%d.cap" % (fam, r))) as f:
                c_syn, s_syn = (int(x) for x in f.read().split())
            st = summ.get("stats_block_latency_us") or {}
            if len(ev) != nsrc or len(lat) != nsrc:
                bad.append("IPv%s run %d: %d of %d sources got a measured block event"
                           " (errors: %s)" % (fam, r, len(lat), nsrc,
                                              [o.get("error") for o in rows if "error" in o][:3]))
            # One relay RCPT, nothing else, must be what blocked each source.
            other = [o["src"] for o in ev if "relay_attempt 1)" not in str(o.get("why"))]
            if other:
                bad.append("IPv%s run %d: %d blocks not caused by the one relay"
                           " attempt, e.g. %s" % (fam, r, len(other), other[0]))
            if no_ans != len(probes) or dropped != len(probes) or s_syn != 0 \
                    or c_syn < len(probes) or not probes:
                bad.append("IPv%s run %d: probes %d, unanswered %d, counted as"
                           " drop_blocklist %d, probe SYNs on c0 %d, on s0 %d"
                           % (fam, r, len(probes), no_ans, dropped, c_syn, s_syn))
            if st.get("count") != len(lat):
                bad.append("IPv%s run %d: stats count %r, events %d"
                           % (fam, r, st.get("count"), len(lat)))
            u100 = 100.0 * sum(v < 100 for v in lat) / len(lat) if lat else None
            vals = (pct(lat, 50), pct(lat, 99), max(lat, default=None), u100,
                    st.get("p50"), st.get("p99"), st.get("max"),
                    pct(wall, 50), pct(wall, 99), max(wall, default=None))
            for k, v in zip(per, vals):
                per[k].append(v)
            print("v%s %d %d/%d | %s %s %s %s%% | %s %s %s | %s %s %s | %d %d %d %d %d | %s" % (
                (fam, r, len(lat), nsrc) + tuple(fmt(v) for v in vals) +
                (len(probes), no_ans, dropped, c_syn, s_syn,
                 " ".join(summ.get("loadavg", [])))))
        med[fam] = {k: median(v) for k, v in per.items()}
        m = med[fam]
        print("median IPv%s over %d runs: latency_us p50 %s p99 %s max %s, %s%% < 100 us; stats"
              " p50 %s p99 %s max %s; wall_us p50 %s p99 %s max %s" % (
                  fam, runs, fmt(m["p50"]), fmt(m["p99"]), fmt(m["max"]), fmt(m["u100"]),
                  fmt(m["sp50"]), fmt(m["sp99"]), fmt(m["smax"]),
                  fmt(m["w50"]), fmt(m["w99"]), fmt(m["wmax"])))
    worst99 = max(med[f]["p99"] for f in med)
    print("target p99 < 100 us (median over runs, both families): %s (worst p99 %s us)"
          % ("met" if worst99 < 100 else "MISSED", fmt(worst99)))

    if f2b_n > 0:
        print()
        print("fail2ban baseline, per run (ban: client's write of the RCPT ->"
              " \"Ban\" line in fail2ban's log; effective: -> first refused connection)")
        print("backend run banned/sources | maillog_ms p50 | ban_ms p50 max | effective_ms p50 max")
        mx_wall = median([med[f]["w50"] for f in med])
        mx_lat = median([med[f]["p50"] for f in med])
        for b in ("auto", "polling"):
            p_ban, p_eff, p_log = [], [], []
            for r in range(1, runs + 1):
                rows, _ = load(os.path.join(d, "f2b-%s-%d.json" % (b, r)))
                ban = [o["ban_wall_us"] / 1000.0 for o in rows if o.get("banned")]
                eff = [o["effective_wall_us"] / 1000.0 for o in rows
                       if "effective_wall_us" in o]
                logd = [o["log_wall_us"] / 1000.0 for o in rows if "log_wall_us" in o]
                p_log.append(median(logd))
                if len(ban) != f2b_n or len(eff) != f2b_n:
                    bad.append("fail2ban %s run %d: %d banned, %d effective of %d"
                               % (b, r, len(ban), len(eff), f2b_n))
                p_ban.append(median(ban))
                p_eff.append(median(eff))
                print("%s %d %d/%d | %s | %s %s | %s %s" % (
                    b, r, len(ban), f2b_n, fmt(median(logd)), fmt(median(ban)), fmt(max(ban, default=None)),
                    fmt(median(eff)), fmt(max(eff, default=None))))
            mb, me = median(p_ban), median(p_eff)
            print("median fail2ban %s over %d runs: maillog %s ms, ban %s ms, effective %s ms;"
                  " effective / mxwall wall (%s us) = %s; effective / mxwall"
                  " latency_us (%s us) = %s" % (
                      b, runs, fmt(median(p_log)), fmt(mb), fmt(me), fmt(mx_wall),
                      "%.0f" % (me * 1000 / mx_wall) if me and mx_wall else "-",
                      fmt(mx_lat),
                      "%.0f" % (me * 1000 / mx_lat) if me and mx_lat else "-"))
    for b in bad:
        print("FAIL: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
