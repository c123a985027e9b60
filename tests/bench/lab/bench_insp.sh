#!/usr/bin/env bash
# bench_insp.sh - what the inspection path costs, through the real lab
# (issue 4, point 7): per-packet one-way latency client -> server (p50,
# p99 of payload packets of port-25 flows, from captures on both end
# hosts' veths, same host clock) and inspected SMTP sessions per second
# (BI_WORKERS parallel clients, one message per session), with the
# inspection path on and off, alternating, in one lab and one run.
# Results and the command: docs/benchmarks.md, "Inspection through the lab".
#
# Env: BI_RUNS (default 3 per variant), BI_SESSIONS (default 100 per run),
#      BI_WORKERS (default 4), MXW_BUILD_ROOT.
# Exit: 0 measured (reported, not enforced), 1 error, 77 skip.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../../integration/lab.sh"

RUNS=${BI_RUNS:-3}
SESSIONS=${BI_SESSIONS:-100}
WORKERS=${BI_WORKERS:-4}
export LAB_SYN_RATE=5000 LAB_SYN_BURST=10000

# one_run VARIANT N: restart mxwalld with inspection VARIANT (on|off), send
# SESSIONS sessions, print "VARIANT sessions/s p50 p99 npackets".
one_run() {
	local v=$1 n=$2 t0 t1 i per pids=() lat
	lab_mxwalld_stop TERM
	LAB_INSPECT=0
	[[ $v == on ]] && LAB_INSPECT=1
	lab_write_config >/dev/null
	lab_mxwalld_start >/dev/null 2>&1 || return 1
	lab_capture_start "c$v$n" "$LAB_NS_CLI" c0 "tcp port 25 and host $LAB_SRV4" || return 1
	lab_capture_start "s$v$n" "$LAB_NS_SRV" s0 "tcp port 25 and host $LAB_SRV4" || return 1
	per=$((SESSIONS / WORKERS))
	t0=$(now)
	for ((i = 0; i < WORKERS; i++)); do
		lab_cli "$LAB_PY" "$LAB_DIR_SRC/attacks.py" deliver --server "$LAB_SRV4" \
			--source "$LAB_CLI4" --count "$per" --tag "b$v$n-$i" \
			>"$LAB_TMP/w-$v$n-$i.log" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(now)
	lab_capture_stop "c$v$n"
	lab_capture_stop "s$v$n"
	local ok
	ok=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' "$LAB_TMP"/w-"$v$n"-*.log |
		awk '{ n += $1 } END { print n + 0 }')
	lat=$("$LAB_PY" "$HERE/pktlat.py" "$LAB_TMP/c$v$n.pcap" "$LAB_TMP/s$v$n.pcap" \
		"tcp and src host $LAB_CLI4 and dst port 25" | awk '$1 == "payload" { print $3, $4, $2 }')
	# Frames the inspection worker handled: proof that "on" inspected and
	# "off" did not.
	# The worker's own view: each frame's XDP arrival to its verdict.
	local frames vlat
	read -r frames vlat < <(lab_ctl -j stats | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
i = d.get("result", d)["inspection"]
v = i.get("verdict_latency_us", {})
print(i["frames"], "%s/%s" % (v.get("p50"), v.get("p99")))')
	if [[ $v == on && $frames -eq 0 ]] || [[ $v == off && $frames -ne 0 ]]; then
		lab_fail "inspection $v but the worker handled $frames frames"
		return 1
	fi
	echo "$v $(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }') $lat $ok $frames $vlat"
}

main() {
	lab_require_root
	lab_require_tools ip nsenter ethtool tcpdump postfix script openssl saslpasswd2
	lab_require_inspection
	LAB_INSPECT=0
	lab_up mxwalld >/dev/null || return 1
	local r v
	echo "variant sessions/s p50_us p99_us payload_packets delivered inspected_frames worker_verdict_p50/p99_us"
	# Not in $(...): one_run restarts mxwalld and must update
	# LAB_MXWALLD_PID in this shell, or the next stop misses the daemon.
	for ((r = 1; r <= RUNS; r++)); do
		for v in off on; do
			one_run "$v" "$r" >>"$LAB_TMP/results" || return 1
			tail -n 1 "$LAB_TMP/results"
		done
	done
	awk '
		{ s[$1] = s[$1] " " $2; p50[$1] = p50[$1] " " $3; p99[$1] = p99[$1] " " $4 }
		function med(str,   a, n, i, j, t) {
			n = split(str, a, " ")
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return a[int((n + 1) / 2)]
		}
		END {
			printf "median off: %s sessions/s, p50 %s us, p99 %s us\n", med(s["off"]), med(p50["off"]), med(p99["off"])
			printf "median on:  %s sessions/s, p50 %s us, p99 %s us\n", med(s["on"]), med(p50["on"]), med(p99["on"])
			printf "on/off: sessions/s %.2f, p50 latency %.2f, p99 latency %.2f\n",
				med(s["on"]) / med(s["off"]), med(p50["on"]) / med(p50["off"]), med(p99["on"]) / med(p99["off"])
		}' "$LAB_TMP/results"
}

main "$@"
