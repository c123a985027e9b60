#!/usr/bin/env bash
# bench_blocklat.sh - how fast an offence becomes a block (issue 4, point 3):
# from the offending packet's arrival to the block being in the fast path's
# map, measured by mxwalld itself (XDP arrival stamp -> map write done,
# latency_us of each "block" event, and stats' block_latency_us), plus the
# wall time from the client's write of the offending command to the event
# on the control socket, and proof that the next SYN is dropped in XDP.
# Baseline in the same run: fail2ban (Debian's, postfix jail, maxretry 1)
# on the server, reading Postfix's maillog, inspection off; its backend as
# installed ("auto": pyinotify) and "polling".
# Results and the command: docs/benchmarks.md, "Block latency".
#
# Every source offends once with ONE segment: a relay RCPT (relay_attempt,
# weight 10 = the lab's threshold 10) after greeting, EHLO and MAIL.  Each
# source has its own /24 (IPv4, 198.18.0.0/15, RFC 2544's benchmarking
# range) or /48 (IPv6, 2001:db8:1000::/36), so no per-prefix SYN bucket and
# no escalation couples the sources.  Real TCP clients (blat.py says why).
#
# Env: BL_RUNS (default 5), BL_SOURCES (per family and run, default 500,
#      at most 500), BL_SAMPLE (every Nth source probes the next SYN,
#      default 25), BL_F2B_SOURCES (per backend and run, default 10;
#      0 = no baseline), BL_RT (1: mxwalld runs SCHED_FIFO 10, a
#      diagnostic: how much of the tail is waiting for a core), MXW_BUILD_ROOT.
# Exit: 0 measured (the target is reported, not enforced), 1 error or a
#       block shown not effective, 77 skip.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../../integration/lab.sh"
# Namespaces of this benchmark: mxw-blat-{c,a,s}-<suffix>.
LAB_NS_CLI=mxw-blat-c-$LAB_SUFFIX
LAB_NS_APP=mxw-blat-a-$LAB_SUFFIX
LAB_NS_SRV=mxw-blat-s-$LAB_SUFFIX

RUNS=${BL_RUNS:-5}
NSRC=${BL_SOURCES:-500}
SAMPLE=${BL_SAMPLE:-25}
F2B_N=${BL_F2B_SOURCES:-10}
PROBE_PORT=61999
# Two SYNs per source (the session, the probe): far below the per-source
# bucket; every source is its own /24 or /48, so per-prefix buckets and
# escalation never see two sources.
export LAB_INSPECT=1

# bl_src4 I, bl_src6 I: source I (0-based) of the measured set.
bl_src4() { echo "198.$((18 + $1 / 256)).$(($1 % 256)).1"; }
bl_src6() { printf '2001:db8:%x::1\n' $((0x1000 + $1)); }
# bl_f2b_src I: fail2ban's sources, 198.19.254.0/24 onwards (never a
# measured source: those end at 198.19.243.1 for 500).
bl_f2b_src() { echo "198.19.$((254 + $1 / 250)).$((1 + $1 % 250))"; }

# Add the sources to the client's veth and route them on the server's.
bl_addrs() {
	local i n=$1 m=$2
	{
		for ((i = 0; i < n; i++)); do
			echo "addr add $(bl_src4 "$i")/32 dev c0"
			echo "addr add $(bl_src6 "$i")/128 dev c0 nodad"
		done
		for ((i = 0; i < m; i++)); do
			echo "addr add $(bl_f2b_src "$i")/32 dev c0"
		done
	} | ip -n "$LAB_NS_CLI" -b - || return 1
	ip -n "$LAB_NS_SRV" route add 198.18.0.0/15 dev s0 &&
		ip -n "$LAB_NS_SRV" -6 route add 2001:db8:1000::/36 dev s0
}

# bl_unblock_all: delete every blocklist entry over one control connection
# (the pins outlive a restart; the next run starts from an empty list).
bl_unblock_all() {
	"$LAB_PY" - "$LAB_SOCK" <<-'PY'
	import json, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.connect(sys.argv[1])
	f = s.makefile("rb")
	def call(**req):
	    s.sendall(json.dumps(req).encode() + b"\n")
	    return json.loads(f.readline(1 << 24))
	ents = call(id=0, cmd="block.list", limit=100000)["result"]["entries"]
	for i, e in enumerate(ents):
	    r = call(id=i + 1, cmd="block.del", addr=e["addr"])
	    if not r.get("ok"):
	        sys.exit("block.del %s: %r" % (e["addr"], r))
	PY
}

# bl_restart ON: mxwalld afresh (stats and policy memory start empty) with
# inspection on (1) or off (0), and an empty blocklist.
bl_restart() {
	lab_mxwalld_stop TERM
	LAB_INSPECT=$1
	lab_write_config >/dev/null
	lab_mxwalld_start >/dev/null 2>&1 || return 1
	bl_unblock_all || return 1
	if [[ $1 == 1 ]] && ! lab_wait_for 10 lab_insp_running; then
		lab_fail "inspection did not start"
		return 1
	fi
}

# bl_mxwall_run FAMILY R: restart, N sources of FAMILY offend; per-source
# JSON lines in $LAB_TMP/mx-FAMILY-R.json; checks the sampled probes against
# captures on both end hosts' veths.
bl_mxwall_run() {
	local fam=$1 r=$2 srv i srcs=() out=$LAB_TMP/mx-$1-$2.json
	bl_restart 1 || return 1
	if [[ $fam == 4 ]]; then
		srv=$LAB_SRV4
		for ((i = 0; i < NSRC; i++)); do srcs+=("$(bl_src4 "$i")"); done
	else
		srv=$LAB_SRV6
		for ((i = 0; i < NSRC; i++)); do srcs+=("$(bl_src6 "$i")"); done
	fi
	lab_capture_start "pc$fam$r" "$LAB_NS_CLI" c0 "tcp and src port $PROBE_PORT" || return 1
	lab_capture_start "ps$fam$r" "$LAB_NS_SRV" s0 "tcp and src port $PROBE_PORT" || return 1
	lab_cli "$LAB_PY" "$HERE/blat.py" mxwall --server "$srv" --sock "$LAB_SOCK" \
		--sample "$SAMPLE" --probe-port "$PROBE_PORT" "${srcs[@]}" \
		>"$out" 2>"$LAB_TMP/mx-$fam-$r.err" || {
		cat "$LAB_TMP/mx-$fam-$r.err" >&2
		lab_fail "blat.py mxwall failed"
		return 1
	}
	lab_capture_stop "pc$fam$r"
	lab_capture_stop "ps$fam$r"
	echo "$(lab_capture_count "pc$fam$r") $(lab_capture_count "ps$fam$r")" \
		>"$LAB_TMP/mx-$fam-$r.cap"
}

# bl_f2b_start BACKEND: fail2ban-server in the server namespace, its own
# config directory (Debian's files, our jail), log in $LAB_TMP/f2b-BACKEND.log.
bl_f2b_start() {
	local d=$LAB_TMP/f2b-$1
	rm -rf "$d"
	cp -a /etc/fail2ban "$d" && rm -f "$d"/jail.d/* || return 1
	cat >"$d/fail2ban.local" <<-EOF
	[DEFAULT]
	loglevel = INFO
	logtarget = $LAB_TMP/f2b-$1.log
	socket = $LAB_TMP/f2b.sock
	pidfile = $LAB_TMP/f2b.pid
	dbfile = :memory:
	EOF
	# The postfix jail as shipped (filter mode "more"), one failure is
	# enough (the same bar as mxwall's one relay attempt), nftables
	# (Debian 12 has no iptables installed here).
	cat >"$d/jail.local" <<-EOF
	[DEFAULT]
	banaction = nftables-multiport
	banaction_allports = nftables-allports
	[postfix]
	enabled = true
	logpath = $LAB_TMP/srv/maillog
	backend = $1
	maxretry = 1
	findtime = 600
	bantime = 600
	EOF
	lab_spawn "$LAB_NS_SRV" "$LAB_TMP/f2b-$1.out" fail2ban-server -f -x -c "$d"
	LAB_F2B_PID=$LAB_LAST_PID
	lab_wait_for 15 grep -q "Jail 'postfix' started" "$LAB_TMP/f2b-$1.log" ||
		lab_fail "fail2ban ($1) did not start" || return 1
	# The backend it really uses ("auto" is pyinotify when Debian's
	# python3-pyinotify, a Recommends, is installed).
	lab_log "fail2ban: $(grep -o "Jail 'postfix' uses [a-z]*" "$LAB_TMP/f2b-$1.log")"
}

bl_f2b_stop() {
	[[ -n ${LAB_F2B_PID:-} ]] || return 0
	lab_srv fail2ban-client -s "$LAB_TMP/f2b.sock" stop >/dev/null 2>&1 ||
		kill "$LAB_F2B_PID" 2>/dev/null
	wait "$LAB_F2B_PID" 2>/dev/null
	LAB_F2B_PID=
	# Flush its nftables table so the next backend starts unbanned.
	lab_srv nft delete table inet f2b-table 2>/dev/null || true
}

# bl_f2b_run BACKEND R: F2B_N fresh sources offend, one after another.
bl_f2b_run() {
	local b=$1 r=$2 i base srcs=()
	base=$(( ($([[ $b == auto ]] && echo 0 || echo 1) * RUNS + r - 1) * F2B_N ))
	for ((i = 0; i < F2B_N; i++)); do srcs+=("$(bl_f2b_src $((base + i)))"); done
	lab_cli "$LAB_PY" "$HERE/blat.py" f2b --server "$LAB_SRV4" --f2blog "$LAB_TMP/f2b-$b.log" \
		--maillog "$LAB_TMP/srv/maillog" "${srcs[@]}" >"$LAB_TMP/f2b-$b-$r.json" 2>"$LAB_TMP/f2b-$b-$r.err" || {
		cat "$LAB_TMP/f2b-$b-$r.err" >&2
		lab_fail "blat.py f2b failed"
		return 1
	}
}

main() {
	lab_require_root
	lab_require_tools ip nsenter ethtool tcpdump postfix script openssl saslpasswd2
	lab_require_inspection
	((NSRC >= 1 && NSRC <= 500 && RUNS >= 1 && RUNS <= 20 && F2B_N >= 0 &&
		F2B_N * RUNS <= 250 && SAMPLE >= 1)) ||
		lab_fail "BL_SOURCES 1..500, BL_RUNS 1..20, BL_F2B_SOURCES * BL_RUNS <= 250, BL_SAMPLE >= 1" ||
		return 1
	if ((F2B_N > 0)); then
		lab_require_tools fail2ban-server fail2ban-client nft
	fi
	trap 'bl_f2b_stop; lab_down' EXIT
	lab_up mxwalld >/dev/null || return 1
	trap 'bl_f2b_stop; lab_down' EXIT
	bl_addrs "$NSRC" $((2 * RUNS * F2B_N)) || return 1
	if [[ ${BL_RT:-0} == 1 ]]; then
		# From the next (re)start on, through a wrapper that execs, so
		# the pid the lab signals stays the daemon's.
		printf '#!/bin/sh\nexec chrt -f 10 %q "$@"\n' "$MXWALLD" >"$LAB_TMP/mxwalld-rt"
		chmod 755 "$LAB_TMP/mxwalld-rt"
		MXWALLD=$LAB_TMP/mxwalld-rt
		lab_log "mxwalld under SCHED_FIFO 10 (BL_RT=1)"
	fi
	local r fam b
	for ((r = 1; r <= RUNS; r++)); do
		for fam in 4 6; do
			bl_mxwall_run "$fam" "$r" || return 1
			lab_log "mxwall IPv$fam run $r done"
		done
	done
	if ((F2B_N > 0)); then
		bl_restart 0 || return 1
		for b in auto polling; do
			bl_f2b_start "$b" || return 1
			for ((r = 1; r <= RUNS; r++)); do
				bl_f2b_run "$b" "$r" || return 1
				lab_log "fail2ban $b run $r done"
			done
			bl_f2b_stop
		done
	fi
	"$LAB_PY" "$HERE/report.py" "$LAB_TMP" "$RUNS" "$NSRC" "$F2B_N"
}

main "$@"
