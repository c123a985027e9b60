#!/usr/bin/env bash
# demo.sh - mxwall in one command, on a fresh Debian 12 machine, as root:
#
#   ./tools/demo.sh
#
# Installs the dependencies, builds, brings up the lab of
# tests/integration/lab.sh (client namespace -- appliance running mxwalld --
# server namespace with a real Postfix), sends legitimate mail and a battery
# of L3/L4 and SMTP-level attacks, prints what was delivered, what was
# blocked and why, and how fast, and removes everything it created.
# mxwalld runs with its inspection path on: every SMTP segment is judged
# by the engine before it reaches Postfix.
#
# Exit status: 0 when every outcome was the expected one, 1 otherwise.
# MXW_SKIP_INSTALL=1 skips apt-get; MXW_BUILD_DIR picks the build directory
# (default build/, shared with tools/run-tests.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MXW_BUILD_DIR:-build}
cd "$ROOT"

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: must run as root (network namespaces, XDP, apt-get)" >&2
	exit 1
fi

echo "== installing dependencies"
./tools/install-deps.sh || exit 1
echo "== building $BUILD"
if [[ -f $BUILD/meson-private/coredata.dat ]]; then
	meson setup --reconfigure "$BUILD" -Dwerror=true >/dev/null || exit 1
else
	meson setup "$BUILD" -Dwerror=true >/dev/null || exit 1
fi
meson compile -C "$BUILD" >/dev/null || { meson compile -C "$BUILD"; exit 1; }

export MXW_BUILD_ROOT=$ROOT/$BUILD
source "$ROOT/tests/integration/lab.sh"
lab_require_mxwalld
LAB_INSPECT=1

REPORT=()
UNEXPECTED=0

# row WHAT RESULT EXPECTED: one report line; RESULT != EXPECTED is flagged.
row() {
	local what=$1 result=$2 expected=$3 flag=""
	if [[ $result != "$expected" ]]; then
		flag="   <-- UNEXPECTED (expected: $expected)"
		UNEXPECTED=1
	fi
	REPORT+=("$(printf '  %-58s %s%s' "$what" "$result" "$flag")")
	printf '  %-58s %s%s\n' "$what" "$result" "$flag"
}
outcome() { "$@" >/dev/null 2>&1 && echo "$OK_WORD" || echo "$NO_WORD"; }
delivered() { OK_WORD=delivered NO_WORD="NOT delivered" outcome "$@"; }
reached() { OK_WORD="reached the server" NO_WORD=blocked outcome "$@"; }

echo "== bringing up the lab (client -- mxwalld appliance, inspecting -- Postfix)"
lab_up mxwalld >/dev/null 2>"$ROOT/$BUILD/demo-lab.log" ||
	{ cat "$ROOT/$BUILD/demo-lab.log"; exit 1; }
lab_insp_running || { echo "demo: mxwalld's inspection path is not running" >&2; exit 1; }

echo
echo "Legitimate traffic"
row "mail $LAB_CLI4 -> mx.$LAB_DOMAIN (alice's mailbox)" \
	"$(delivered lab_deliver "$LAB_CLI4" "$LAB_SRV4" demo4)" delivered
row "mail $LAB_CLI6 -> mx.$LAB_DOMAIN" \
	"$(delivered lab_deliver "$LAB_CLI6" "$LAB_SRV6" demo6)" delivered
row "802.1Q-tagged SYNs to port 25 (inner packet is mail)" \
	"$(lab_tagged_syns dq25 25 100)/6 reached the server" "6/6 reached the server"
row "server's own DNS query to $LAB_OUT4 (return path)" \
	"$(OK_WORD=answered NO_WORD="NO answer" outcome lab_dns_query "$LAB_OUT4")" answered
row "server's own DNS query to $LAB_OUT6 (return path)" \
	"$(OK_WORD=answered NO_WORD="NO answer" outcome lab_dns_query "$LAB_OUT6")" answered
row "server's outbound SMTP to mx.$LAB_REMOTE_DOMAIN" \
	"$(delivered lab_outbound_smtp demo-out)" delivered

echo
echo "L3/L4 attacks"
row "TCP connect to non-mail port $LAB_WEB_PORT (IPv4)" \
	"$(reached lab_tcp_connects "$LAB_CLI4" "$LAB_SRV4" "$LAB_WEB_PORT")" blocked
row "TCP connect to non-mail port $LAB_WEB_PORT (IPv6)" \
	"$(reached lab_tcp_connects "$LAB_CLI6" "$LAB_SRV6" "$LAB_WEB_PORT")" blocked
row "TCP connect to ssh (22)" \
	"$(reached lab_tcp_connects "$LAB_CLI4" "$LAB_SRV4" 22)" blocked
row "VLAN bypass: 802.1Q-tagged SYNs to $LAB_WEB_PORT" \
	"$(lab_tagged_syns dq8080 "$LAB_WEB_PORT" 100)/6 reached the server" "0/6 reached the server"
row "VLAN bypass: QinQ-tagged SYNs to $LAB_WEB_PORT" \
	"$(lab_tagged_syns dqq8080 "$LAB_WEB_PORT" 100,200)/6 reached the server" "0/6 reached the server"

# SYN flood from random spoofed sources, a delivery in the middle of it.
lab_cli timeout 8 hping3 --flood --rand-source -q -S -p 25 "$LAB_SRV4" >"$LAB_TMP/flood.log" 2>&1 &
fpid=$!
sleep 2
t0=$(date +%s.%N)
r=$(delivered lab_deliver "$LAB_CLI4" "$LAB_SRV4" demo-flood)
t1=$(date +%s.%N)
wait "$fpid" 2>/dev/null
sent=$(grep -ho '^[0-9]* packets transmitted' "$LAB_TMP/flood.log" | cut -d' ' -f1)
row "SYN flood, random spoofed sources (${sent:-?} SYNs in 8 s):" "" ""
row "  legitimate mail during the flood" \
	"$r in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s" \
	"delivered in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"

# SYN flood from one source: its token bucket holds it.
before=$(lab_stat drop_syn_source_rate)
lab_capture_start dsyn "$LAB_NS_SRV" s0 "src host $LAB_BAD4 and tcp[tcpflags] & tcp-syn != 0" >/dev/null 2>&1
lab_cli timeout 5 hping3 --flood -q -S -p 25 -a "$LAB_BAD4" "$LAB_SRV4" >"$LAB_TMP/flood1.log" 2>&1
lab_capture_stop dsyn
sent=$(grep -ho '^[0-9]* packets transmitted' "$LAB_TMP/flood1.log" | cut -d' ' -f1)
after=$(lab_stat drop_syn_source_rate)
n=$(lab_capture_count dsyn)
row "SYN flood from $LAB_BAD4 alone (${sent:-?} SYNs in 5 s):" "" ""
row "  SYNs that reached the server (bucket 20/s, burst 40)" "$n" "$n"
row "  SYNs dropped in XDP (drop_syn_source_rate)" "$((after - before))" "$((after - before))"
((n <= 40 + 20 * 5 * 12 / 10 + 5)) || row "  flood held to the bucket" "no" "yes"

# Manual block of a /24: the next packet from it is dropped.
row "mail from $LAB_BAD4 before the block" \
	"$(delivered lab_deliver "$LAB_BAD4" "$LAB_SRV4" demo-preblock)" delivered
lab_ctl_q block add "$LAB_BAD4_NET" --ttl 600 --reason manual
row "mxwallctl block add $LAB_BAD4_NET; mail from $LAB_BAD4" \
	"$(OK_WORD=refused NO_WORD="NOT refused" outcome lab_refused "$LAB_BAD4" "$LAB_SRV4" demo-blocked)" refused
row "  mail from $LAB_BAD4B (same /24)" \
	"$(OK_WORD=refused NO_WORD="NOT refused" outcome lab_refused "$LAB_BAD4B" "$LAB_SRV4" demo-blocked2)" refused
row "  mail from $LAB_CLI4 meanwhile" \
	"$(delivered lab_deliver "$LAB_CLI4" "$LAB_SRV4" demo-post)" delivered

lab_ctl_q block del "$LAB_BAD4_NET"
# The event stream (events.subscribe) from here on: the floods above
# starve a reader on two cores.
lab_events_start

# ------------------------------------------------------------------ SMTP
echo
echo "Legitimate mail through the inspection path"
lab_corpus >/dev/null 2>&1
while read -r word item _; do
	case $word in
	ok) row "  $item" delivered delivered ;;
	FAIL) row "  $item" "NOT delivered" delivered ;;
	esac
done < <(sed -n 's/^\(ok\|FAIL\) \([a-z0-9]*\).*/\1 \2/p' "$LAB_TMP/corpus.log")
row "  violations raised by the legitimate corpus" \
	"$(lab_events_count type=violation kind=violation)" 0

# attack ROW NAME EXPECTED ARGS...: one attack from attacks.py; the row
# shows how the session ended and which check fired.
attack() {
	local what=$1 name=$2 want=$3 r o n0 checks
	shift 3
	n0=$(wc -l <"$LAB_TMP/events.log")
	r=$(lab_attack "$name" "$@" 2>/dev/null)
	o=$(lab_result_field "$r" outcome)
	sleep 0.3
	checks=$(tail -n +"$((n0 + 1))" "$LAB_TMP/events.log" | "$LAB_PY" -c '
import json, sys
seen = []
for l in sys.stdin:
    try:
        e = json.loads(l)
    except ValueError:
        continue
    if e.get("type") == "violation" and e.get("check") not in seen:
        seen.append(e["check"])
print(",".join(seen) or "-")')
	row "$what" "$o ($checks)" "$want ($checks)"
	lab_block_clear
}

echo
echo "SMTP attacks from $LAB_BAD6, judged inline (deny: the session stalls; kill: RST both ways)"
S6=(--server "$LAB_SRV6" --source "$LAB_BAD6" --timeout 2)
attack "  VRFY alice (policy: deny)" vrfy timeout "${S6[@]}"
attack "  EXPN postmaster (policy: deny)" expn timeout "${S6[@]}"
attack "  702-octet command line (RFC 5321 limit 512)" longcmd killed "${S6[@]}"
attack "  40 unknown commands" unknown killed "${S6[@]}" --count 40
attack "  HTTP GET / on port 25" http killed "${S6[@]}"
attack "  CONNECT (open proxy probe) on port 25" connect killed "${S6[@]}"
attack "  SMTP smuggling with <LF>.<LF>" smuggle killed "${S6[@]}" --variant lf
attack "  relay: RCPT TO:<victim@remote.test> without AUTH" relay killed "${S6[@]}"
row "  Postfix never saw VRFY/EXPN (its log)" \
	"$(lab_maillog_count 'vrfy=|expn=') lines" "0 lines"
row "  no smuggled message in alice's mailbox" \
	"$(grep -rlF 'Return-Path: <ceo@lab.test>' "$LAB_TMP/srv/mail/alice" 2>/dev/null | wc -l)" 0

# block_row WHAT ENTRY: the block event for ENTRY and its reaction time.
block_row() {
	local what=$1 entry=$2 lat
	lat=$("$LAB_PY" - "$LAB_TMP/events.log" "$entry" <<-'PY'
	import json, sys
	lat = None
	for l in open(sys.argv[1], errors="replace"):
	    try:
	        e = json.loads(l)
	    except ValueError:
	        continue
	    if e.get("type") == "block" and e.get("addr") == sys.argv[2]:
	        lat = e.get("latency_us")
	print("-" if lat is None else lat)
	PY
	)
	if lab_blocked "$entry"; then
		row "$what" "blocked, ${lat} us after the offending packet" \
			"blocked, ${lat} us after the offending packet"
	else
		row "$what" "not blocked" blocked
	fi
}

echo
echo "Abuse across sessions: the policy blocks the source in the XDP fast path"
d0=$(lab_stat drop_blocklist)
r=$(lab_attack authbrute --server "$LAB_SRV4" --port 587 --source "$LAB_BAD4" \
	--count $((LAB_AUTH_LIMIT + 3)) --per-session 2 --idle 2 2>/dev/null)
# The reply that completes the offence is killed with its session, so the
# client sees one 535 less than the limit.
row "  AUTH brute force on 587 from $LAB_BAD4: 535 replies seen" \
	"$(lab_result_field "$r" refused_after), then refused" "$((LAB_AUTH_LIMIT - 1)), then refused"
block_row "  $LAB_BAD4" "$LAB_BAD4"
row "  its two idle sessions, held meanwhile" \
	"$(lab_result_field "$r" idle) (RST both ways at the block)" "reset,reset (RST both ways at the block)"
row "  its next SYNs dropped in XDP (drop_blocklist)" \
	"$(($(lab_stat drop_blocklist) - d0)) dropped" "$(($(lab_stat drop_blocklist) - d0)) dropped"
r=$(lab_attack harvest --server "$LAB_SRV6" --source "$LAB_BAD6" \
	--count $((LAB_HARVEST_LIMIT + 3)) --per-session 3 2>/dev/null)
row "  directory harvest from $LAB_BAD6: 550 5.1.1 replies seen" \
	"$(lab_result_field "$r" refused_after), then refused" "$((LAB_HARVEST_LIMIT - 1)), then refused"
block_row "  $LAB_BAD6_NET (IPv6 sources are /64s)" "$LAB_BAD6_NET"
for a in "${LAB_ROT4[@]:0:$LAB_ESCALATE_COUNT}"; do
	lab_attack kills --server "$LAB_SRV4" --source "$a" --count 3 >/dev/null 2>&1
done
sleep 0.5
block_row "  rotating sources in $LAB_BAD4_NET: escalated to" "$LAB_BAD4_NET"
r=$(lab_attack probe --server "$LAB_SRV4" --source "${LAB_ROT4[$LAB_ESCALATE_COUNT]}" 2>/dev/null)
row "  ${LAB_ROT4[$LAB_ESCALATE_COUNT]} (same /24, never offended)" \
	"$(lab_result_field "$r" outcome)" refused
row "  mail from $LAB_CLI4 meanwhile" \
	"$(delivered lab_deliver "$LAB_CLI4" "$LAB_SRV4" demo-after-abuse)" delivered

echo
echo "Reaction time: offending packet's arrival in XDP -> block entry in the map"
lab_ctl -j stats | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
b = d.get("result", d)["inspection"]["block_latency_us"]
print("  %d blocks: p50 %s us, p99 %s us, max %s us" % (b["count"], b["p50"], b["p99"], b["max"]))
print("  (log-polling tools react in seconds: docs/benchmarks.md, Block latency)")'

echo
echo "Fast path counters (mxwallctl stats, non-zero rows)"
lab_ctl stats | awk 'NR == 1 || $2 != 0' | sed 's/^/  /'

echo
if ((UNEXPECTED)); then
	echo "demo: some outcomes were NOT as expected (marked above)"
	exit 1
fi
echo "demo: every outcome as expected; cleaning up"
exit 0
