#!/usr/bin/env bash
# demo.sh - mxwall in one command, on a fresh Debian 12 machine, as root:
#
#   ./tools/demo.sh
#
# Installs the dependencies, builds, brings up the lab of
# tests/integration/lab.sh (client namespace -- appliance running mxwalld --
# server namespace with a real Postfix), sends legitimate mail and a battery
# of L3/L4 attacks, prints what was delivered and what was blocked with the
# fast path's counters, and removes everything it created.
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

echo "== bringing up the lab (client -- mxwalld appliance -- Postfix)"
lab_up mxwalld >/dev/null 2>"$ROOT/$BUILD/demo-lab.log" ||
	{ cat "$ROOT/$BUILD/demo-lab.log"; exit 1; }

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
