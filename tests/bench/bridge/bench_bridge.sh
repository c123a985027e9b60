#!/usr/bin/env bash
# bench_bridge.sh - TCP throughput through the mxwall XDP bridge against a
# plain Linux bridge, same namespaces, same veths, measured in the same run
# (issue 2, point 6).  Results and the command: docs/benchmarks.md,
# "Bridge throughput (veth)".
#
#   ns mxw-bb-c-S: c0 192.0.2.10 -- out0 [ns mxw-bb-a-S: mxwalld XDP  ] in0 -- s0 192.0.2.25 :ns mxw-bb-s-S
#                                        [            or Linux br0    ]        iperf3 -s -p 587
#
# Runs alternate xdp / linux: for each, the appliance is set up (mxwalld
# started, or br0 created), one iperf3 run of BB_SECONDS (default 6) to the
# server's mail port 587 is made, and the appliance is torn down again (XDP
# detached, pins removed, or br0 deleted).  The end-host veth fixes of
# ENVIRONMENT.md (tx off, GRO on) are applied once, so both variants see the
# same end hosts.  Prints each run, then medians, the ratio, retransmits.
#
# Env: BB_RUNS (default 5 per variant), BB_SECONDS (default 6),
#      MXW_BUILD_ROOT (build dir holding control/mxwalld).
# Exit: 0 measured (the target is reported, not enforced), 1 error, 77 skip.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../../integration/lab.sh"

RUNS=${BB_RUNS:-5}
SECS=${BB_SECONDS:-6}
PORT=587
S=${LAB_SUFFIX}
NS_C=mxw-bb-c-$S
NS_A=mxw-bb-a-$S
NS_S=mxw-bb-s-$S
PIN=/sys/fs/bpf/mxw-bench-$S
RUN=/run/mxw-bb-$S
SOCK=$RUN/control.sock
TMP=
SRV_PID=
D_PID=

log() { printf '[bb %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
	local rc=$?
	trap - EXIT
	[[ -n $D_PID ]] && kill "$D_PID" 2>/dev/null && wait "$D_PID" 2>/dev/null
	[[ -n $SRV_PID ]] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	for ns in "$NS_C" "$NS_A" "$NS_S"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$PIN" "$RUN"
	if ((rc != 0)) && [[ -n $TMP && -s $TMP/mxwalld.log ]]; then
		tail -n 20 "$TMP/mxwalld.log" >&2
	fi
	[[ -n $TMP ]] && rm -rf "$TMP"
	exit "$rc"
}

lab_require_root
lab_require_tools iperf3 ethtool nsenter
lab_require_mxwalld
trap cleanup EXIT
trap 'exit 130' INT TERM

TMP=$(mktemp -d "/tmp/mxw-bb-$S.XXXXXX")
mkdir -p "$RUN" "$TMP/state"

ip netns add "$NS_C" && ip netns add "$NS_A" && ip netns add "$NS_S" || exit 1
for ns in "$NS_C" "$NS_A" "$NS_S"; do ip -n "$ns" link set lo up; done
ip link add c0 netns "$NS_C" type veth peer name out0 netns "$NS_A" &&
	ip link add s0 netns "$NS_S" type veth peer name in0 netns "$NS_A" || exit 1
ip -n "$NS_C" addr add 192.0.2.10/24 dev c0
ip -n "$NS_S" addr add 192.0.2.25/24 dev s0
# End hosts only, identical for both variants (ENVIRONMENT.md).
lab_veth_fixups "$NS_C" c0
lab_veth_fixups "$NS_S" s0
ip -n "$NS_C" link set c0 up
ip -n "$NS_S" link set s0 up
ip -n "$NS_A" link set out0 up
ip -n "$NS_A" link set in0 up

cat >"$TMP/mxwalld.json" <<-CFG
{
  "interfaces": {"outside": "out0", "inside": "in0", "xdp_mode": "native"},
  "bpf": {"pin_dir": "$PIN", "detach_on_exit": true},
  "control": {"socket": "$SOCK"},
  "state_dir": "$TMP/state",
  "fastpath": {
    "mail_ports": [25, 465, 587],
    "protected": [],
    "syn": {
      "per_source": {"rate": 20, "burst": 40},
      "per_prefix": {"rate": 200, "burst": 400, "ipv4_len": 24, "ipv6_len": 48},
      "global": {"rate": 0, "burst": 0}
    },
    "max_conns_per_source": 50,
    "fragments": "drop",
    "other_ethertypes": "drop"
  },
  "allow": [],
  "block": []
}
CFG
"$MXWALLD" --check-config "$TMP/mxwalld.json" >"$TMP/check.log" 2>&1 ||
	{ cat "$TMP/check.log" >&2; exit 1; }

ip netns exec "$NS_S" iperf3 -s -p "$PORT" >"$TMP/iperf3-s.log" 2>&1 &
SRV_PID=$!

# From the inside: the fast path passes what the protected side starts.
reach() { ip netns exec "$NS_S" ping -c1 -W1 192.0.2.10 >/dev/null 2>&1; }

up_xdp() {
	nsenter --net="/run/netns/$NS_A" "$MXWALLD" --config "$TMP/mxwalld.json" \
		>>"$TMP/mxwalld.log" 2>&1 </dev/null &
	D_PID=$!
	lab_wait_for 15 "$MXWALLCTL" -s "$SOCK" status || { log "mxwalld did not answer"; return 1; }
	ip -n "$NS_A" link show out0 | grep -q 'xdp' || { log "no XDP program on out0"; return 1; }
}
down_xdp() {
	kill "$D_PID" 2>/dev/null
	wait "$D_PID" 2>/dev/null
	D_PID=
	ip -n "$NS_A" link set out0 xdp off 2>/dev/null
	ip -n "$NS_A" link set in0 xdp off 2>/dev/null
	rm -rf "$PIN"
}
up_linux() {
	ip -n "$NS_A" link add br0 type bridge &&
		ip -n "$NS_A" link set out0 master br0 &&
		ip -n "$NS_A" link set in0 master br0 &&
		ip -n "$NS_A" link set br0 up
}
down_linux() { ip -n "$NS_A" link del br0; }

# measure VARIANT I: one iperf3 run; appends "gbps retrans" to $TMP/VARIANT.
measure() {
	local v=$1 i=$2 j out
	"up_$v" || return 1
	lab_wait_for 10 reach || { log "$v: server unreachable"; return 1; }
	lab_wait_for 10 ip netns exec "$NS_C" timeout 3 iperf3 -c 192.0.2.25 -p "$PORT" -t 1 >/dev/null ||
		{ log "$v: iperf3 warm-up failed"; return 1; }
	j=$TMP/$v-$i.json
	ip netns exec "$NS_C" timeout $((SECS + 20)) iperf3 -J -c 192.0.2.25 -p "$PORT" -t "$SECS" -O 1 >"$j" ||
		{ log "$v: iperf3 failed"; cat "$j" >&2; return 1; }
	out=$(/usr/bin/python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("%.3f %d" % (e["sum_received"]["bits_per_second"] / 1e9, e["sum_sent"].get("retransmits", 0)))' "$j") || return 1
	echo "$out" >>"$TMP/$v"
	log "run $i $v: $out (Gbit/s, retransmits)"
	"down_$v"
}

for ((i = 1; i <= RUNS; i++)); do
	measure xdp "$i" || exit 1
	measure linux "$i" || exit 1
done

/usr/bin/python3 - "$TMP/xdp" "$TMP/linux" "$SECS" <<'PY'
import statistics, sys
def load(p):
    return [tuple(float(x) for x in l.split()) for l in open(p)]
x, l = load(sys.argv[1]), load(sys.argv[2])
fmt = lambda r: " ".join("%.2f" % g for g, _ in r)
mx = statistics.median(g for g, _ in x)
ml = statistics.median(g for g, _ in l)
print("TCP, iperf3 -t %s to port 587, %d runs each, alternating" % (sys.argv[3], len(x)))
print("mxwall XDP bridge : runs %s Gbit/s  median %.2f  retransmits %s" % (fmt(x), mx, [int(r) for _, r in x]))
print("Linux bridge      : runs %s Gbit/s  median %.2f  retransmits %s" % (fmt(l), ml, [int(r) for _, r in l]))
print("ratio mxwall/linux-bridge (medians): %.2f  target >= 1.00: %s" % (mx / ml, "met" if mx >= ml else "MISSED"))
PY
