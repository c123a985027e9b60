#!/usr/bin/env bash
# e2e_insp.sh - end-to-end tests of the inspection path (issue 4, point 5):
# real clients (smtpc.py: corpus.py, attacks.py) -- appliance -- real
# Postfix with STARTTLS and SASL submission.
#
# Usage: e2e_insp.sh CASE    run one case in a fresh lab; exit 0 pass, 1 fail,
#                            77 skip (root, tools or mxwalld missing)
#        e2e_insp.sh list    print the cases
#
# Each attack is judged three ways: what the client saw (attacks.py's
# RESULT line), what reached the server's wire (tcpdump on s0, behind the
# appliance) or Postfix's log, and what mxwalld says (events, block list,
# fast-path counters).  The bridge cases run the same corpus and the same
# attacks through a plain Linux bridge: there every attack reaches Postfix
# and no source is ever refused, which shows that each probe below can
# fail.  Attacks that need no independence share one lab; the blocklist is
# cleared between them over the control socket (lab_block_clear).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

CASES=(
	corpus_bridge
	attacks_bridge
	corpus_mxwalld
	corpus_insp
	session_checks
	session_checks_v6
	relay_stopped
	auth_bruteforce
	manual_block_ends_sessions
	harvest
	escalation
	pop3_imap_cleartext
	kill9_failopen
	stalled_failopen
	overload
	failclosed
	shadow_mode
)

# Generous SYN buckets: the per-source token buckets must not be what
# refuses a source in these tests (they have their own cases in e2e.sh).
export LAB_SYN_RATE=500 LAB_SYN_BURST=1000

# insp_up: a lab with mxwalld inspecting (or skip while the daemon has no
# inspection path), events recorded from the start.
insp_up() {
	lab_require_inspection
	LAB_INSPECT=1
	lab_up mxwalld || return 1
	lab_insp_running || {
		lab_fail "mxwalld runs without its inspection path (status)"
		return 1
	}
	lab_events_start
}

# insp_stat NAME: a counter of the inspection worker (stats.inspection).
insp_stat() {
	lab_ctl -j stats | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("result", d)["inspection"][sys.argv[1]])' "$1"
}

# Events of kind "violation" so far (type "violation" also carries the
# engine's observation, evasion and info kinds: not the client's fault).
violations() { LAB_EVENTS_PRINT=1 lab_events_count kind=violation; }
# check_events NAME_REGEX: events whose check matches NAME_REGEX.
check_events() { lab_events_count "check~($1)"; }

A4=(--server "$LAB_SRV4")
A6=(--server "$LAB_SRV6")

# ------------------------------------------------------------------ baselines

corpus_bridge() {
	lab_up bridge || return 1
	check "legitimate corpus delivered byte-exact through a Linux bridge" lab_corpus
}

# Every attack of the battery against the bare server: it must reach
# Postfix and nothing may refuse the source, or the inspection cases below
# could pass without the inspector doing anything.
attacks_bridge() {
	lab_up bridge || return 1
	local r
	lab_capture_start wire "$LAB_NS_SRV" s0 "tcp port 25 or tcp port 587" || return 1
	r=$(lab_attack vrfy "${A4[@]}" --source "$LAB_CLI4")
	check "bridge: VRFY answered by Postfix ($r)" test "$(lab_result_field "$r" outcome)" = reply:252
	r=$(lab_attack longcmd "${A4[@]}" --source "$LAB_CLI4")
	check "bridge: a 700-octet command answered by Postfix ($r)" matches "$(lab_result_field "$r" outcome)" '^reply:'
	r=$(lab_attack relay "${A4[@]}" --source "$LAB_CLI4")
	check "bridge: relay attempt refused by Postfix itself ($r)" matches "$(lab_result_field "$r" outcome)" '^reply:[45]54$'
	r=$(lab_attack http "${A4[@]}" --source "$LAB_CLI4")
	check "bridge: HTTP on port 25 answered by Postfix ($r)" test "$(lab_result_field "$r" outcome)" != killed
	r=$(lab_attack authbrute "${A4[@]}" --port 587 --source "$LAB_BAD4" \
		--count $((LAB_AUTH_LIMIT + 2)) --per-session 2)
	check "bridge: $((LAB_AUTH_LIMIT + 2)) AUTH failures, source never refused ($r)" \
		test "$(lab_result_field "$r" refused_after)" = -1
	r=$(lab_attack harvest "${A4[@]}" --source "$LAB_BAD4B" \
		--count $((LAB_HARVEST_LIMIT + 2)) --per-session 3)
	check "bridge: harvest of $((LAB_HARVEST_LIMIT + 2)) names, source never refused ($r)" \
		test "$(lab_result_field "$r" refused_after)" = -1
	r=$(lab_attack unknown "${A4[@]}" --source "$LAB_CLI4" --count 25)
	check "bridge: 25 unknown commands all answered by Postfix ($r)" test "$(lab_result_field "$r" replies)" = 25
	r=$(lab_attack junk "${A4[@]}" --source "$LAB_CLI4" --count 150)
	check "bridge: 150 RSET/NOOP all answered by Postfix ($r)" test "$(lab_result_field "$r" replies)" = 150
	r=$(lab_attack smuggle "${A4[@]}" --source "$LAB_CLI4" --variant lf)
	check "bridge: the smuggling attack is real: Postfix delivers the forged message ($r)" \
		lab_mailbox_has srv alice "Return-Path: <ceo@lab.test>"
	r=$(lab_attack pregreet "${A4[@]}" --port "$LAB_SLOW_PORT" --source "$LAB_CLI4")
	check "bridge: the slow-greeting port lets a client talk first ($r)" \
		test "$(lab_maillog_count 'slowgreet/smtpd.*(improper command pipelining|pregreet)')" -ge 1
	r=$(lab_attack pop3 "${A4[@]}" --port 110 --source "$LAB_CLI4")
	check "bridge: POP3 clear-text login answered by the server ($r)" test "$(lab_result_field "$r" outcome)" = reply
	r=$(lab_attack imap "${A4[@]}" --port 143 --source "$LAB_CLI4")
	check "bridge: IMAP clear-text login answered by the server ($r)" test "$(lab_result_field "$r" outcome)" = reply
	lab_capture_stop wire
	check "bridge: VRFY seen on the server's wire" test "$(lab_capture_text wire 'VRFY alice')" -ge 1
	check "bridge: the long command seen on the server's wire" test "$(lab_capture_text wire 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')" -ge 1
	check "bridge: the relay RCPT seen on the server's wire" test "$(lab_capture_text wire 'victim@remote.test')" -ge 1
	check "bridge: Postfix logged the VRFY" test "$(lab_maillog_count 'vrfy=1')" -ge 1
	check "bridge: Postfix logged the relay attempt" test "$(lab_maillog_count 'Relay access denied')" -ge 1
}

corpus_mxwalld() {
	lab_require_mxwalld
	LAB_INSPECT=0
	lab_up mxwalld || return 1
	check "legitimate corpus delivered byte-exact through mxwalld (no inspection)" lab_corpus
}

# ------------------------------------------------------------------ inspection

corpus_insp() {
	insp_up || return 1
	check "legitimate corpus delivered byte-exact through the inspection path" lab_corpus
	check "the inspection path saw the corpus (to_inspection $(lab_stat to_inspection))" \
		test "$(lab_stat to_inspection)" -gt 0
	# The one mistyped recipient is a real 550 5.1.1: an observation
	# counted towards the harvest limit, not a violation.
	local nv
	check "the mistyped recipient's 550 5.1.1 observed" lab_events_wait 1 check=invalid_recipient
	sleep 0.5
	nv=$(violations)
	check "zero violations for the corpus ($nv)" test "$nv" -eq 0
	check "exactly one invalid_recipient event (the mistyped one)" \
		test "$(lab_events_count check=invalid_recipient)" -eq 1
	check "no session killed, no frame dropped by the inspector" \
		test "$(insp_stat killed)/$(insp_stat dropped)" = 0/0
	check "no source blocked by the corpus" test "$(lab_ctl -j block list | grep -c '"addr"')" -eq 0
	# The legitimate resemblances: one AUTH failure then success (clear
	# text, so the inspector sees both replies), a bounce is in the corpus.
	local r
	r=$(lab_attack authok "${A4[@]}" --port 587 --source "$LAB_CLI4" \
		--user "$LAB_SASL_USER" --password "$LAB_SASL_PASS")
	check "one AUTH failure then success: 535 then 235 ($r)" \
		test "$(lab_result_field "$r" first)/$(lab_result_field "$r" second)" = reply:535/reply:235
	check "the source is not blocked after one AUTH failure" test "$(lab_ctl -j block list | grep -c '"addr"')" -eq 0
	check "mail still delivered from the same source" lab_deliver "$LAB_CLI4" "$LAB_SRV4" after-authok
}

# session_attack NAME EXPECT_REGEX CHECK_REGEX SRC SERVER...: one attack,
# its outcome must match EXPECT_REGEX ('^killed$' for kill actions, '.'
# for checks that only score), and an event whose check matches
# CHECK_REGEX must appear; blocks are cleared afterwards.
session_attack() {
	local name=$1 want=$2 ev=$3 src=$4 r o n0
	shift 4
	n0=$(check_events "$ev")
	r=$(lab_attack "$name" "$@" --source "$src")
	o=$(lab_result_field "$r" outcome)
	check "$name from $src: outcome as the action says ($o ~ $want)" matches "$o" "$want"
	check "$name: event $ev reported" lab_events_wait $((n0 + 1)) "check~($ev)"
	lab_block_clear
}

# session_battery SERVER SRC: the per-session checks from one source.
session_battery() {
	local srv=$1 src=$2
	# deny: the packet and every later one of the session are dropped, no
	# RST (docs/engine.md): the client sees silence, not a reset.
	session_attack vrfy '^(killed|timeout)$' vrfy "$src" --server "$srv"
	session_attack expn '^(killed|timeout)$' expn "$src" --server "$srv"
	session_attack longcmd '^killed$' command_too_long "$src" --server "$srv"
	session_attack unknown '^killed$' error_limit "$src" --server "$srv" --count 40
	check "the error limit ($LAB_ERROR_LIMIT) ended the unknown-command session" \
		test "$(lab_result_field "$(tail -n 1 "$LAB_TMP/attacks.log")" replies)" -eq $((LAB_ERROR_LIMIT - 1))
	session_attack junk '^killed$' junk_limit "$src" --server "$srv" --count 150
	session_attack http '^killed$' non_smtp_http "$src" --server "$srv"
	session_attack connect '^killed$' non_smtp_http "$src" --server "$srv"
	session_attack pregreet '.' pregreet "$src" --server "$srv" --port "$LAB_SLOW_PORT"
	session_attack starttls_inject '^killed$' starttls_injection "$src" --server "$srv"
	session_attack helo_pipelining '.' unadvertised_pipelining "$src" --server "$srv"
	local v
	for v in lf lfcrlf crlflf cr; do
		session_attack smuggle '.' 'smuggling_(lf|cr)|bare_(lf|cr)' "$src" --server "$srv" --variant "$v"
	done
}

# session_asserts: what Postfix and its wire must not have seen.
session_asserts() {
	check "no VRFY on the server's wire" test "$(lab_capture_text wire 'VRFY alice')" -eq 0
	check "no EXPN on the server's wire" test "$(lab_capture_text wire 'EXPN postmaster')" -eq 0
	check "no over-long command on the server's wire" test "$(lab_capture_text wire 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')" -eq 0
	check "no HTTP request on the server's wire" test "$(lab_capture_text wire 'GET / HTTP|CONNECT 192')" -eq 0
	check "Postfix never answered VRFY/EXPN (no vrfy=/expn= in its log)" \
		test "$(lab_maillog_count 'vrfy=|expn=')" -eq 0
	check "Postfix logged no over-long line" test "$(lab_maillog_count 'line too long|Command line too long')" -eq 0
	# A smuggled transaction would be a message of its own with the forged
	# envelope sender; its text inside the carrier's body is harmless.
	check "no smuggled message in alice's mailbox" refute_grep "$LAB_TMP/srv/mail/alice" 'Return-Path: <ceo@lab.test>'
	check "mail still delivered after the battery" lab_deliver "$LAB_CLI4" "$LAB_SRV4" after-battery
}

refute_grep() { ! grep -rqF -- "$2" "$1" 2>/dev/null; }

session_checks() {
	insp_up || return 1
	lab_capture_start wire "$LAB_NS_SRV" s0 "tcp port 25" || return 1
	session_battery "$LAB_SRV4" "$LAB_BAD4"
	lab_capture_stop wire
	session_asserts
}

session_checks_v6() {
	insp_up || return 1
	lab_capture_start wire "$LAB_NS_SRV" s0 "tcp port 25" || return 1
	session_battery "$LAB_SRV6" "$LAB_BAD6"
	lab_capture_stop wire
	session_asserts
}

relay_stopped() {
	insp_up || return 1
	local r
	lab_capture_start wire "$LAB_NS_SRV" s0 "tcp port 25" || return 1
	r=$(lab_attack relay "${A4[@]}" --source "$LAB_BAD4")
	check "relay attempt (IPv4) killed before a reply ($r)" test "$(lab_result_field "$r" outcome)" = killed
	lab_block_clear
	r=$(lab_attack relay "${A6[@]}" --source "$LAB_BAD6")
	check "relay attempt (IPv6) killed before a reply ($r)" test "$(lab_result_field "$r" outcome)" = killed
	lab_capture_stop wire
	check "the relay RCPT never reached the server's wire" test "$(lab_capture_text wire 'victim@remote.test')" -eq 0
	check "Postfix never saw the RCPT (no 'Relay access denied', no rcpt= count)" \
		test "$(lab_maillog_count 'Relay access denied|rcpt=0/1')" -eq 0
	check "relay_attempt events reported" lab_events_wait 2 check=relay_attempt
	# Authenticated relay still works (inside TLS: opaque, bypassed).
	local b0
	b0=$(lab_stat pass_bypass)
	check "authenticated submission still relays" lab_corpus --only auth587
	# After STARTTLS the worker puts the flow on mxw_bypass and the fast
	# path bridges the rest of the session itself.
	check "the STARTTLS session was put on the bypass ($(insp_stat bypass_added) flows)" \
		test "$(insp_stat bypass_added)" -gt 0
	check "and bridged by the fast path's bypass (pass_bypass $b0 -> $(lab_stat pass_bypass))" \
		test "$(lab_stat pass_bypass)" -gt "$b0"
}

# maillog_at_least REGEX N: the server's log has N or more lines matching REGEX.
maillog_at_least() { test "$(lab_maillog_count "$1")" -ge "$2"; }

# auth_brute SERVER SRC ENTRY: AUTH guesses on 587 in clear text.  After
# LAB_AUTH_LIMIT 535 replies the source's next SYN must be dropped in XDP
# and ENTRY (the source: an IPv4 address, an IPv6 /64) be in the blocklist.
auth_brute() {
	local srv=$1 src=$2 entry=$3 r d0 d1 n lost e0 e1
	local syn=syn${src//[.:]/}
	d0=$(lab_stat drop_blocklist)
	n=$(lab_maillog_count "authentication failed")
	lost=$(lab_maillog_count "lost connection after EHLO")
	e0=$(insp_stat sessions_ended)
	lab_capture_start "$syn" "$LAB_NS_SRV" s0 "src host $src and tcp dst port 587" || return 1
	# Two more sessions of the attacker sit idle after EHLO meanwhile:
	# when the source is blocked they are reset both ways, so they do not
	# hold smtpd processes until Postfix's timeout.
	r=$(lab_attack authbrute --server "$srv" --port 587 --source "$src" \
		--count $((LAB_AUTH_LIMIT + 5)) --per-session 2 --idle 2)
	lab_capture_stop "$syn"
	# One SYN on the server's wire per session the client had (the idle
	# ones too); the SYNs of the refused connection (and their
	# retransmissions) never got there.
	check "SYNs from $src on the server's wire = its sessions ($(lab_capture_grep "$syn" 'Flags \[S\],'))" \
		test "$(lab_capture_grep "$syn" 'Flags \[S\],')" -eq $(($(lab_result_field "$r" sessions) + 2))
	# The guess that earns the block is usually killed before its 535
	# reaches the client: count guesses sent, and Postfix's 535s below.
	check "AUTH brute force from $src refused after exactly $LAB_AUTH_LIMIT guesses ($r)" \
		test "$(lab_result_field "$r" guesses)" = "$LAB_AUTH_LIMIT" -a "$(lab_result_field "$r" refused_after)" != -1
	d1=$(lab_stat drop_blocklist)
	check "the next SYNs were dropped in XDP (drop_blocklist $d0 -> $d1)" test "$d1" -gt "$d0"
	check "$entry in block.list" lab_blocked "$entry"
	check "a block event for $entry" lab_events_wait 1 type=block "addr=$entry"
	check "Postfix logged exactly $LAB_AUTH_LIMIT new AUTH failures" \
		test $(($(lab_maillog_count "authentication failed") - n)) -eq "$LAB_AUTH_LIMIT"
	check "the attacker's idle sessions were reset at the block ($(lab_result_field "$r" idle))" \
		test "$(lab_result_field "$r" idle)" = "reset,reset"
	# At least those two: a guessing session the client was closing just
	# then (its FIN sent, the server's not yet) is still active and may be
	# ended with them.  Never more than that one besides.
	e1=$(insp_stat sessions_ended)
	check "the worker ended the two idle sessions (sessions_ended $e0 -> $e1)" \
		test $((e1 - e0)) -ge 2 -a $((e1 - e0)) -le 3
	check "Postfix saw both idle sessions go at once (lost connection after EHLO)" \
		lab_wait_for 5 maillog_at_least "lost connection after EHLO" $((lost + 2))
	refute "$src cannot reach port 25 either" lab_tcp_connects "$src" "$srv" 25
}

auth_bruteforce() {
	insp_up || return 1
	auth_brute "$LAB_SRV4" "$LAB_BAD4" "$LAB_BAD4"
	auth_brute "$LAB_SRV6" "$LAB_BAD6" "$LAB_BAD6_NET"
	check "auth_failed events reported" lab_events_wait $((2 * LAB_AUTH_LIMIT)) check=auth_failed
	check "another source still delivers" lab_deliver "$LAB_CLI4" "$LAB_SRV4" after-brute
}

# active_sessions_at_least N: the inspection path tracks N or more active
# sessions.
active_sessions_at_least() {
	lab_ctl -j sessions | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
s = d.get("result", d)["sessions"]
sys.exit(0 if sum(x["state"] == "active" for x in s) >= int(sys.argv[1]) else 1)' "$1"
}

# A block written by hand (block.add) ends the blocked prefix's open
# sessions as the policy's blocks do, but not those of an allowlisted
# client inside the prefix, which the fast path still lets through (the
# client is allowlisted once its session is tracked: an allowlisted
# client's new sessions are never inspected at all).
manual_block_ends_sessions() {
	insp_up || return 1
	local out=$LAB_TMP/idle-blocked.out out2=$LAB_TMP/idle-allowed.out
	local lost e0 p1 p2 r r2
	lost=$(lab_maillog_count "lost connection after EHLO")
	e0=$(insp_stat sessions_ended)
	lab_attack idle --server "$LAB_SRV4" --source "$LAB_BAD4" --count 2 --interval 5 >"$out" &
	p1=$!
	lab_attack idle --server "$LAB_SRV4" --source "$LAB_BAD4B" --count 1 --interval 5 >"$out2" &
	p2=$!
	check "three idle sessions tracked" lab_wait_for 4 active_sessions_at_least 3
	check "allow add $LAB_BAD4B" lab_ctl_q allow add "$LAB_BAD4B" --reason manual
	check "block add $LAB_BAD4_NET" lab_ctl_q block add "$LAB_BAD4_NET" --ttl 600 --reason manual
	wait "$p1" "$p2"
	r=$(cat "$out")
	r2=$(cat "$out2")
	check "the blocked prefix's idle sessions were reset ($r)" \
		test "$(lab_result_field "$r" idle)" = "reset,reset"
	check "the allowlisted client's session inside the prefix stays open ($r2)" \
		test "$(lab_result_field "$r2" idle)" = "open"
	check "sessions_ended counts the two" test $(($(insp_stat sessions_ended) - e0)) -eq 2
	check "Postfix saw both go at once (lost connection after EHLO)" \
		lab_wait_for 5 maillog_at_least "lost connection after EHLO" $((lost + 2))
}

harvest() {
	insp_up || return 1
	local r n
	n=$(lab_maillog_count 'User unknown')
	r=$(lab_attack harvest "${A4[@]}" --source "$LAB_BAD4B" \
		--count $((LAB_HARVEST_LIMIT + 5)) --per-session 3)
	check "harvest refused after $LAB_HARVEST_LIMIT unknown recipients ($r)" \
		test "$(lab_result_field "$r" guesses)" = "$LAB_HARVEST_LIMIT" -a "$(lab_result_field "$r" refused_after)" != -1
	check "$LAB_BAD4B in block.list" lab_blocked "$LAB_BAD4B"
	check "Postfix rejected exactly $LAB_HARVEST_LIMIT recipients" \
		test $(($(lab_maillog_count 'User unknown') - n)) -eq "$LAB_HARVEST_LIMIT"
	r=$(lab_attack harvest "${A6[@]}" --source "$LAB_BAD6" \
		--count $((LAB_HARVEST_LIMIT + 5)) --per-session 3)
	check "IPv6 harvest refused after $LAB_HARVEST_LIMIT ($r)" \
		test "$(lab_result_field "$r" guesses)" = "$LAB_HARVEST_LIMIT" -a "$(lab_result_field "$r" refused_after)" != -1
	check "invalid_recipient events reported" lab_events_wait $((2 * LAB_HARVEST_LIMIT)) check=invalid_recipient
	check "a mistyped recipient from another source is not punished" lab_corpus --only mistyped
}

# Clear-text POP3 USER/PASS and IMAP LOGIN (v4 and v6) are reported.
pop3_imap_cleartext() {
	insp_up || return 1
	local srv src r
	for srv in "$LAB_SRV4" "$LAB_SRV6"; do
		src=$LAB_CLI4
		[[ $srv == *:* ]] && src=$LAB_CLI6
		r=$(lab_attack pop3 --server "$srv" --port 110 --source "$src")
		check "POP3 clear-text login to $srv performed ($r)" matches "$(lab_result_field "$r" outcome)" '^(reply|killed)$'
		r=$(lab_attack imap --server "$srv" --port 143 --source "$src")
		check "IMAP clear-text login to $srv performed ($r)" matches "$(lab_result_field "$r" outcome)" '^(reply|killed)$'
	done
	check "pop3_cleartext_login reported for v4 and v6" lab_events_wait 2 check=pop3_cleartext_login
	check "imap_cleartext_login reported for v4 and v6" lab_events_wait 2 check=imap_cleartext_login
	check "the refused logins counted as login_failed" lab_events_wait 4 check=login_failed
}

# escalate SERVER PREFIX ADDR...: the addresses of one prefix each earn a
# block (sessions killed until refused); after LAB_ESCALATE_COUNT of them the
# whole PREFIX is blocked, and the next ADDR, which never offended, is
# refused too.
escalate() {
	local srv=$1 net=$2 i r
	shift 2
	local addrs=("$@")
	for ((i = 0; i < LAB_ESCALATE_COUNT; i++)); do
		r=$(lab_attack kills --server "$srv" --source "${addrs[i]}" --count 5)
		check "${addrs[i]}: sessions killed, then refused ($r)" \
			test "$(lab_result_field "$r" refused)" = 1 -a "$(lab_result_field "$r" killed)" -ge 1
	done
	check "an escalation block event for $net" lab_events_wait 1 type=block "addr=$net"
	check "escalated to $net" lab_blocked "$net"
	r=$(lab_attack probe --server "$srv" --source "${addrs[LAB_ESCALATE_COUNT]}")
	check "${addrs[LAB_ESCALATE_COUNT]} of $net never offended and is refused ($r)" \
		test "$(lab_result_field "$r" outcome)" = refused
}

escalation() {
	insp_up || return 1
	escalate "$LAB_SRV4" "$LAB_BAD4_NET" "${LAB_ROT4[@]}"
	escalate "$LAB_SRV6" "$LAB_BAD6_NET48" "${LAB_ROT6[@]}"
	check "mail from outside the prefixes still delivered (IPv4)" lab_deliver "$LAB_CLI4" "$LAB_SRV4" after-esc4
	check "mail from outside the prefixes still delivered (IPv6)" lab_deliver "$LAB_CLI6" "$LAB_SRV6" after-esc6
}

# kill -9 of mxwalld during traffic: mail keeps flowing (fail-open), a
# source blocked before the kill stays blocked (pinned maps), the restart
# picks the state up and inspection resumes.
kill9_failopen() {
	insp_up || return 1
	local r pid out
	r=$(lab_attack kills "${A4[@]}" --source "$LAB_BAD4" --count 5)
	check "policy blocks $LAB_BAD4 before the kill" lab_blocked "$LAB_BAD4"
	out=$LAB_TMP/continuous.log
	lab_cli timeout 60 "$LAB_PY" "$LAB_DIR_SRC/attacks.py" deliver "${A4[@]}" \
		--source "$LAB_CLI4" --count 40 --interval 0.2 --tag cont >"$out" 2>&1 &
	pid=$!
	sleep 1
	lab_log "kill -9 mxwalld (pid $LAB_MXWALLD_PID) during deliveries"
	lab_mxwalld_stop KILL
	sleep 2
	r=$(lab_attack probe "${A4[@]}" --source "$LAB_BAD4")
	check "blocked source still refused while mxwalld is dead ($r)" test "$(lab_result_field "$r" outcome)" = refused
	check "mail delivered while mxwalld is dead (fail-open)" lab_deliver "$LAB_CLI6" "$LAB_SRV6" while-dead
	check "mxwalld restarts" lab_mxwalld_start
	lab_events_start
	wait "$pid"
	r=$(grep '^RESULT' "$out")
	lab_log "continuous: $r"
	check "every continuous delivery succeeded across the kill ($r)" \
		test "$(lab_result_field "$r" delivered)" = 40
	check "block.list after restart still holds $LAB_BAD4" lab_blocked "$LAB_BAD4"
	check "status: inspection running after the restart" lab_insp_running
	r=$(lab_attack vrfy "${A4[@]}" --source "$LAB_CLI4")
	check "inspection resumed: VRFY stopped after the restart ($r)" \
		matches "$(lab_result_field "$r" outcome)" '^(killed|timeout)$'
	check "a vrfy event from the restarted daemon" lab_events_wait 1 check=vrfy
	check "no VRFY reached Postfix" test "$(lab_maillog_count 'vrfy=')" -eq 0
}

# A hung daemon (SIGSTOP: its sockets stay registered, nobody reads
# them): once the heartbeat is older than heartbeat_ms the fast path
# bridges mail itself; after SIGCONT inspection resumes.
stalled_failopen() {
	insp_up || return 1
	local r u0 u1
	u0=$(lab_stat pass_uninspected)
	kill -STOP "$LAB_MXWALLD_PID"
	sleep 1         # > heartbeat_ms (500)
	check "mail delivered while mxwalld is stopped (fail-open)" \
		lab_deliver "$LAB_CLI4" "$LAB_SRV4" while-stopped
	r=$(lab_attack vrfy "${A4[@]}" --source "$LAB_CLI4" --timeout 3)
	kill -CONT "$LAB_MXWALLD_PID"
	check "VRFY reached Postfix uninspected while stopped ($r)" \
		test "$(lab_result_field "$r" outcome)" = reply:252
	u1=$(lab_stat pass_uninspected)
	check "pass_uninspected counted the bridged segments ($u0 -> $u1)" test "$u1" -gt "$u0"
	sleep 0.5
	r=$(lab_attack vrfy "${A4[@]}" --source "$LAB_CLI4" --timeout 2)
	check "inspection resumed after SIGCONT: VRFY stopped ($r)" \
		test "$(lab_result_field "$r" outcome)" = timeout
	check "mail delivered after the resume" lab_deliver "$LAB_CLI4" "$LAB_SRV4" after-resume
}

# The worker falls behind: stopped for 70 ms or so (less than heartbeat_ms,
# so the fast path keeps handing it frames) while 420 SYNs make the server
# answer with SYN-ACKs, more than a ring holds.  On SIGCONT it finds
# its ring over 3/4 full (SYNs from six addresses: the fast path admits
# 50 concurrent connections per source), raises the overload flag (the fast path bridges
# by itself), drains, clears it and empties its flow table (sessions are
# picked up mid-stream).  Mail flows before, during and after.
overload() {
	insp_up || return 1
	local o0 o1 t0 t1
	o0=$(insp_stat overload_periods)
	t0=$(insp_stat table_resets)
	local a pids=()
	kill -STOP "$LAB_MXWALLD_PID"
	for a in "${LAB_ROT4[@]:0:6}"; do
		lab_cli timeout 5 hping3 -q -S -p 25 -a "$a" -i u1000 -c 70 \
			"$LAB_SRV4" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	kill -CONT "$LAB_MXWALLD_PID"
	sleep 1
	o1=$(insp_stat overload_periods)
	t1=$(insp_stat table_resets)
	check "overload detected ($o0 -> $o1 periods)" test "$o1" -gt "$o0"
	check "flow table emptied once caught up ($t0 -> $t1 resets)" test "$t1" -gt "$t0"
	check "mail delivered after the overload" lab_deliver "$LAB_CLI4" "$LAB_SRV4" after-overload
	local r
	r=$(lab_attack vrfy "${A4[@]}" --source "$LAB_CLI4" --timeout 2)
	check "inspection back: VRFY stopped ($r)" test "$(lab_result_field "$r" outcome)" = timeout
}

# fastpath.fail_mode closed: with mxwalld gone, mail segments are dropped
# in XDP (drop_fail_closed) instead of bridged; a restart brings mail back.
failclosed() {
	LAB_FAIL_MODE=closed
	insp_up || return 1
	local c0 c1
	check "mail delivered while inspecting" lab_deliver "$LAB_CLI4" "$LAB_SRV4" closed-before
	c0=$(lab_stat drop_fail_closed)
	lab_mxwalld_stop KILL
	sleep 1
	refute "no mail while mxwalld is dead (fail-closed)" \
		lab_deliver "$LAB_CLI4" "$LAB_SRV4" closed-dead
	check "mxwalld restarts" lab_mxwalld_start
	c1=$(lab_stat drop_fail_closed)
	check "drop_fail_closed counted the dropped segments ($c0 -> $c1)" test "$c1" -gt "$c0"
	check "mail delivered again after the restart" lab_deliver "$LAB_CLI4" "$LAB_SRV4" closed-after
}

# policy.shadow: the same AUTH brute force is decided and recorded (a
# shadow entry, a block event marked shadow, the fast path's
# shadow_blocklist counter) but nothing is enforced.
shadow_mode() {
	LAB_POLICY_SHADOW=true
	insp_up || return 1
	local r s0 s1
	s0=$(lab_stat shadow_blocklist)
	r=$(lab_attack authbrute --server "$LAB_SRV4" --port 587 --source "$LAB_BAD4" \
		--count $((LAB_AUTH_LIMIT + 3)) --per-session 2)
	check "shadow: the brute force is never refused ($r)" \
		test "$(lab_result_field "$r" refused_after)" = -1
	check "shadow: a block event for $LAB_BAD4 marked shadow" \
		test "$(lab_events_count type=block "addr=$LAB_BAD4" shadow=True)" -ge 1
	check "shadow: $LAB_BAD4 listed (as a shadow entry)" lab_blocked "$LAB_BAD4"
	check "shadow: $LAB_BAD4 still delivers" lab_deliver "$LAB_BAD4" "$LAB_SRV4" shadow-still
	s1=$(lab_stat shadow_blocklist)
	check "shadow_blocklist counted what would have been dropped ($s0 -> $s1)" test "$s1" -gt "$s0"
}

lab_main "$@"
