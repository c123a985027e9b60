# lab.sh - the mxwall lab: sourceable bash library (do not execute).
#
#   outside ns mxw-cli-S            appliance ns mxw-app-S          server ns mxw-srv-S
#   c0: 192.0.2.10/24  (client)  -- out0      [mxwalld XDP  ] in0 -- s0: 192.0.2.25/24
#       198.51.100.7,8/24 (to be  |           [or Linux br0 ]        2001:db8:1::25/64
#           blocked in tests)     |                                  Postfix :25 (lab.test)
#       198.51.100.21-28/24       |                                    STARTTLS, :587 SASL
#           (rotating attacker)   |                                  socat :8080 (non-mail)
#       2001:db8:1::10/64         |
#       2001:db8:66::7/64, 2001:db8:66:N::7/64 (N=1..4, one /48)
#       192.0.2.53, 2001:db8:1::53: DNS responder, Postfix :25 (remote.test)
#
# The appliance has no address: frames are bridged between out0 and in0 by
# mxwalld's XDP program (devmap redirect), or by a plain Linux bridge for the
# baseline that proves the lab itself works and that the negative checks can
# fail.  The server reaches 198.51.100.0/24 and 2001:db8:66::/64 on-link, so
# every address stays inside the three namespaces.
#
# Every name carries a suffix unique to this run (namespaces mxw-<role>-S,
# pins /sys/fs/bpf/mxw-test-S, socket dir /run/mxw-S, temp dir); lab_down
# removes all of it and is installed as an EXIT trap by lab_up.
#
# Daemons that need the host bpffs (mxwalld) run under
# `nsenter --net=/run/netns/NS`: `ip netns exec` remounts /sys and would hide
# /sys/fs/bpf (ENVIRONMENT.md).  Everything else uses `ip netns exec`.

LAB_DIR_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_PY=/usr/bin/python3    # Debian's interpreter: it has scapy

: "${LAB_SUFFIX:=$$$RANDOM}"
LAB_SUFFIX=${LAB_SUFFIX:0:8}
LAB_NS_CLI=mxw-cli-$LAB_SUFFIX
LAB_NS_APP=mxw-app-$LAB_SUFFIX
LAB_NS_SRV=mxw-srv-$LAB_SUFFIX
LAB_PIN_DIR=/sys/fs/bpf/mxw-test-$LAB_SUFFIX
LAB_RUN_DIR=/run/mxw-$LAB_SUFFIX
LAB_SOCK=$LAB_RUN_DIR/control.sock
LAB_TMP=

# Addresses (documentation ranges only; RFC 5737, RFC 3849).
LAB_CLI4=192.0.2.10
LAB_BAD4=198.51.100.7
LAB_BAD4B=198.51.100.8
LAB_BAD4_NET=198.51.100.0/24
LAB_OUT4=192.0.2.53
LAB_SRV4=192.0.2.25
LAB_CLI6=2001:db8:1::10
LAB_BAD6=2001:db8:66::7
LAB_BAD6_NET=2001:db8:66::/64
LAB_BAD6_NET48=2001:db8:66::/48
# Rotating attackers: one IPv4 /24 and distinct IPv6 /64s of one /48, so
# that the policy's per-source blocks (/32, /64) and its escalation to the
# prefix (/24, /48) can both be seen.
LAB_ROT4=(198.51.100.21 198.51.100.22 198.51.100.23 198.51.100.24
	198.51.100.25 198.51.100.26 198.51.100.27 198.51.100.28)
LAB_ROT6=(2001:db8:66:1::7 2001:db8:66:2::7 2001:db8:66:3::7 2001:db8:66:4::7)
LAB_OUT6=2001:db8:1::53
LAB_SRV6=2001:db8:1::25
LAB_DOMAIN=lab.test
LAB_REMOTE_DOMAIN=remote.test
LAB_WEB_PORT=8080
# SASL test account on the server's submission port (587).
LAB_SASL_USER=alice@lab.test
LAB_SASL_PASS=lab-alice-secret
# A second smtpd that greets after one second (as postscreen's greet
# wait does), so that a client can really talk before the greeting: on
# port 25 Postfix greets within a millisecond, before any client's first
# write.  The fast path and the inspector treat it as a mail port.
LAB_SLOW_PORT=2525
# Postfix instances that get STARTTLS and SASL submission (lab_up: srv).
LAB_POSTFIX_SECURE=${LAB_POSTFIX_SECURE:-srv}

LAB_MODE=
LAB_PIDS=()
LAB_MXWALLD_PID=
LAB_DOWN_DONE=0

lab_log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
lab_fail() { lab_log "FAIL: $*"; return 1; }

# check WHAT CMD...: CMD must succeed; refute: it must fail.  A failure is
# logged and sets FAILED=1 (the case goes on, so one run shows every
# broken check).
check() {
	local what=$1
	shift
	if "$@"; then
		lab_log "ok: $what"
	else
		lab_fail "$what"
		FAILED=1
	fi
}
refute() {
	local what=$1
	shift
	if "$@"; then
		lab_fail "$what"
		FAILED=1
	else
		lab_log "ok: $what"
	fi
}

now() { date +%s.%N; }

# matches STRING REGEX: for check (a command, unlike [[ =~ ]]).
matches() { [[ $1 =~ $2 ]]; }

# lab_main ARG: the main of the case scripts (e2e.sh, e2e_insp.sh), which
# define CASES and one function per case.  "list" prints the cases;
# otherwise ARG is run as one case: exit 0 pass, 1 fail, 77 skip.
lab_main() {
	local c=${1:-}
	if [[ $c == list ]]; then
		printf '%s\n' "${CASES[@]}"
		return 0
	fi
	if [[ -z $c || " ${CASES[*]} " != *" $c "* ]]; then
		echo "usage: $0 list | CASE  (cases: ${CASES[*]})" >&2
		return 2
	fi
	lab_require_root
	lab_require_tools ip nsenter ethtool tcpdump swaks socat nc postfix script \
		openssl saslpasswd2
	[[ -x $LAB_PY ]] && "$LAB_PY" -c 'import scapy' 2>/dev/null ||
		lab_skip "Debian python3-scapy missing ($LAB_PY)"
	FAILED=0
	"$c" || FAILED=1
	if ((FAILED)); then
		lab_log "CASE $c FAILED"
		return 1
	fi
	lab_log "CASE $c passed"
}

# Exit 77 (meson: skipped) with a loud reason.
lab_skip() {
	echo "=== SKIP: $* ===" >&2
	exit 77
}

lab_require_root() {
	[[ $(id -u) -eq 0 ]] || lab_skip "needs root (network namespaces, XDP)"
}

lab_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] ||
			lab_skip "tool '$t' not installed (tools/install-deps.sh)"
	done
}

lab_in() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
lab_cli() { lab_in "$LAB_NS_CLI" "$@"; }
lab_srv() { lab_in "$LAB_NS_SRV" "$@"; }
lab_app() { lab_in "$LAB_NS_APP" "$@"; }

# Run "$@" in the background inside namespace $1, output to log file $2;
# the pid is recorded for lab_down and left in LAB_LAST_PID.
lab_spawn() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" setsid "$@" >"$log" 2>&1 </dev/null &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
}

# Poll "$@" every 0.1 s until it succeeds or $1 seconds have passed (wall
# clock: a slow probe does not stretch the deadline).
lab_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ((SECONDS < deadline)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@" >/dev/null 2>&1
}

# ---------------------------------------------------------------- Postfix

# lab_postfix_start NS NAME MYHOSTNAME DOMAIN MAILBOX...
# A private Postfix instance: own config_directory, queue_directory and
# data_directory under $LAB_TMP/NAME, log in $LAB_TMP/NAME/maillog, virtual
# mailboxes (Maildirs: one file per message, no From_ quoting, so tests can
# compare bodies byte for byte) in $LAB_TMP/NAME/mail/<user>/.  Unknown
# recipients get 550 5.1.1 (smtpd_reject_unlisted_recipient, the default).
# No DNS lookups at all (the namespaces have no resolver): transports name
# their next hop.  Instances named in LAB_POSTFIX_SECURE also get STARTTLS
# and SASL submission (lab_postfix_secure).
lab_postfix_start() {
	local ns=$1 name=$2 host=$3 domain=$4
	shift 4
	local d=$LAB_TMP/$name u
	mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/mail"
	chown postfix "$d/data"
	chown nobody:nogroup "$d/mail"
	# No chroot anywhere: the instance's files live under $LAB_TMP, which
	# a chrooted smtpd could not see (SASL db, certificate).
	sed -E 's/^([^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+)y([[:space:]])/\1n\2/' \
		/etc/postfix/master.cf >"$d/etc/master.cf"
	cat >"$d/etc/main.cf" <<-EOF
	# mxwall lab instance '$name' in $ns (generated by lab.sh)
	compatibility_level = 3.6
	queue_directory = $d/spool
	data_directory = $d/data
	maillog_file = $d/maillog
	maillog_file_prefixes = $d
	myhostname = $host
	mydomain = $domain
	myorigin = \$mydomain
	mydestination = localhost
	inet_interfaces = all
	inet_protocols = all
	mynetworks = 127.0.0.0/8 [::1]/128
	smtpd_peername_lookup = no
	smtp_dns_support_level = disabled
	disable_dns_lookups = yes
	smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
	alias_maps =
	alias_database =
	virtual_mailbox_domains = $domain
	virtual_mailbox_base = $d/mail
	virtual_mailbox_maps = texthash:$d/etc/vmailbox
	virtual_uid_maps = static:65534
	virtual_gid_maps = static:65534
	transport_maps = texthash:$d/etc/transport
	default_transport = error:no outbound route in the lab
	relay_transport = error:no outbound route in the lab
	smtp_connect_timeout = 5s
	# Postfix's own error limits above the inspector's (error_limit 20 in
	# docs/engine.md), so that the tests see the inspector act, not
	# Postfix hanging up or sleeping a second per error.
	smtpd_soft_error_limit = 50
	smtpd_hard_error_limit = 60
	# The corpus sends a 5 MB message; leave room for base64 growth.
	message_size_limit = 30000000
	smtputf8_enable = yes
	EOF
	: >"$d/etc/vmailbox"
	for u in "$@"; do
		printf '%s@%s %s/\n' "$u" "$domain" "$u" >>"$d/etc/vmailbox"
	done
	: >"$d/etc/transport"
	if [[ " $LAB_POSTFIX_SECURE " == *" $name "* ]]; then
		lab_postfix_secure "$name" "$host" "$domain" || return 1
	fi
	# Postfix logs its start-up errors to syslog unless stderr is a tty.
	if ! lab_in "$ns" script -qec "postfix -c $d/etc start" /dev/null >"$d/start.log" 2>&1; then
		cat "$d/start.log" "$d/maillog" >&2 2>/dev/null
		lab_fail "postfix '$name' did not start"
		return 1
	fi
}

# lab_postfix_secure NAME HOST DOMAIN: STARTTLS on 25 and 587 with a
# self-signed certificate made for this run ($LAB_TMP/NAME/etc/tls/cert.pem,
# the CA file clients verify against), and the submission service on 587
# with Cyrus SASL (sasldb, PLAIN and LOGIN) and the test account
# LAB_SASL_USER.  smtpd_tls_auth_only = no on purpose: the AUTH brute-force
# test needs AUTH in clear text, because AUTH inside TLS is opaque to any
# inline inspector (docs/lab.md).  Relaying: permit_sasl_authenticated,
# then reject_unauth_destination.
lab_postfix_secure() {
	local name=$1 host=$2 domain=$3 d=$LAB_TMP/$1
	mkdir -p "$d/etc/tls" "$d/etc/sasl"
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
		-keyout "$d/etc/tls/key.pem" -out "$d/etc/tls/cert.pem" \
		>"$d/openssl.log" 2>&1; then
		cat "$d/openssl.log" >&2
		lab_fail "openssl could not make the lab certificate"
		return 1
	fi
	chmod 600 "$d/etc/tls/key.pem"
	# sasldb: smtpd (user postfix, no chroot) reads it through smtpd.conf.
	# Outside etc/: postfix-script wants everything there owned by root.
	echo "$LAB_SASL_PASS" | saslpasswd2 -p -c -f "$d/sasldb2" \
		-u "${LAB_SASL_USER#*@}" "${LAB_SASL_USER%@*}" || {
		lab_fail "saslpasswd2 failed"
		return 1
	}
	chown postfix "$d/sasldb2"
	chmod 600 "$d/sasldb2"
	cat >"$d/etc/sasl/smtpd.conf" <<-EOF
	pwcheck_method: auxprop
	auxprop_plugin: sasldb
	sasldb_path: $d/sasldb2
	mech_list: PLAIN LOGIN
	EOF
	# Replaces lab_postfix_start's relay rule (no "overriding" warnings).
	sed -i '/^smtpd_relay_restrictions/d' "$d/etc/main.cf"
	cat >>"$d/etc/main.cf" <<-EOF
	smtpd_tls_cert_file = $d/etc/tls/cert.pem
	smtpd_tls_key_file = $d/etc/tls/key.pem
	smtpd_tls_security_level = may
	smtpd_tls_auth_only = no
	smtpd_tls_loglevel = 1
	smtpd_tls_received_header = yes
	smtpd_sasl_type = cyrus
	smtpd_sasl_path = smtpd
	cyrus_sasl_config_path = $d/etc/sasl
	smtpd_sasl_auth_enable = no
	smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
	EOF
	cat >>"$d/etc/master.cf" <<-EOF
	$LAB_SLOW_PORT      inet n       -       n       -       -       smtpd
	  -o syslog_name=postfix/slowgreet
	  -o smtpd_delay_reject=no
	  -o smtpd_client_restrictions=sleep,1
	submission inet n       -       n       -       -       smtpd
	  -o syslog_name=postfix/submission
	  -o smtpd_sasl_auth_enable=yes
	  -o smtpd_tls_security_level=may
	  -o smtpd_tls_auth_only=no
	EOF
}

# Route mail for DOMAIN from Postfix instance NAME to [ADDR]:25.
lab_postfix_route() {
	local name=$1 domain=$2 addr=$3 d=$LAB_TMP/$1
	printf '%s smtp:[%s]:25\n' "$domain" "$addr" >>"$d/etc/transport"
	postfix -c "$d/etc" reload >/dev/null 2>&1
}

lab_postfix_stop() {
	local d=$LAB_TMP/$1 pid
	[[ -f $d/etc/main.cf ]] || return 0
	postfix -c "$d/etc" stop >/dev/null 2>&1 || true
	pid=$(cat "$d/spool/pid/master.pid" 2>/dev/null | tr -d ' ') || true
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		sleep 0.5
		kill -9 "$pid" 2>/dev/null || true
	fi
}

# lab_mailbox_has NAME USER NEEDLE: a message in the Maildir holds NEEDLE
# (waits up to 10 s for the queue manager to deliver).
lab_mailbox_has() {
	local f=$LAB_TMP/$1/mail/$2 needle=$3
	lab_wait_for 10 grep -rqF -- "$needle" "$f"
}

# lab_swaks NS FROM_ADDR SERVER RCPT TAG [extra swaks args]: one message whose
# subject carries TAG; returns swaks' exit code.  Output in $LAB_TMP/swaks-TAG.
lab_swaks() {
	local ns=$1 from=$2 server=$3 rcpt=$4 tag=$5
	shift 5
	lab_in "$ns" timeout 30 swaks --server "$server" --port 25 \
		--local-interface "$from" --timeout "${LAB_SWAKS_TIMEOUT:-8}" --helo client.example.org \
		--from "sender@example.org" --to "$rcpt" \
		--header "Subject: mxwall lab $tag" --body "lab message $tag" \
		"$@" >"$LAB_TMP/swaks-$tag" 2>&1
}

# A message from the client side, delivered into alice's mailbox.
lab_deliver() {
	local from=$1 server=$2 tag=$3
	if ! lab_swaks "$LAB_NS_CLI" "$from" "$server" "alice@$LAB_DOMAIN" "$tag"; then
		sed 's/^/    swaks: /' "$LAB_TMP/swaks-$tag" >&2
		lab_fail "swaks from $from to $server ($tag) failed"
		return 1
	fi
	lab_mailbox_has srv alice "mxwall lab $tag" ||
		lab_fail "message $tag accepted but not in alice's mailbox"
}

# lab_refused FROM SERVER TAG: 0 if a delivery attempt from FROM fails
# (short timeout: the expected outcome is a connect that never completes).
lab_refused() {
	! LAB_SWAKS_TIMEOUT=3 lab_swaks "$LAB_NS_CLI" "$1" "$2" "alice@$LAB_DOMAIN" "$3"
}

# TCP connect probe from the client: 0 if a connection was established.
lab_tcp_connects() {
	local from=$1 addr=$2 port=$3
	lab_cli timeout 5 nc -z -w 2 -s "$from" "$addr" "$port" >/dev/null 2>&1
}

# The server's certificate (the CA file TLS clients verify against).
lab_cafile() { echo "$LAB_TMP/srv/etc/tls/cert.pem"; }

# lab_corpus [corpus.py args]: the legitimate corpus from the client
# namespace, checked byte for byte in the Maildirs; output in
# $LAB_TMP/corpus.log (one line per item).
lab_corpus() {
	lab_cli timeout 240 "$LAB_PY" "$LAB_DIR_SRC/corpus.py" --tmp "$LAB_TMP" \
		--cafile "$(lab_cafile)" --server4 "$LAB_SRV4" --server6 "$LAB_SRV6" \
		--source4 "$LAB_CLI4" --source6 "$LAB_CLI6" \
		--sasl-user "$LAB_SASL_USER" --sasl-pass "$LAB_SASL_PASS" "$@" \
		>"$LAB_TMP/corpus.log" 2>&1
	local rc=$?
	sed 's/^/    corpus: /' "$LAB_TMP/corpus.log" >&2
	return $rc
}

# lab_smtpc SCRIPT ARGS: run an smtpc.py-based script (attacks.py) in the
# client namespace.
lab_smtpc() {
	local script=$1
	shift
	lab_cli timeout 120 "$LAB_PY" "$LAB_DIR_SRC/$script" "$@"
}

# ---------------------------------------------------------------- tcpdump

# lab_capture_start NAME NS IFACE FILTER: capture into $LAB_TMP/NAME.pcap.
lab_capture_start() {
	local name=$1 ns=$2 ifc=$3 filter=${4:-}
	lab_spawn "$ns" "$LAB_TMP/$name.tcpdump.log" \
		tcpdump -i "$ifc" -n -U --immediate-mode -w "$LAB_TMP/$name.pcap" -- $filter
	eval "LAB_CAP_PID_$name=$LAB_LAST_PID"
	lab_wait_for 5 grep -q 'listening on' "$LAB_TMP/$name.tcpdump.log" ||
		lab_fail "tcpdump $name did not start"
}

lab_capture_stop() {
	local name=$1 var=LAB_CAP_PID_$1
	sleep 0.3
	kill -INT "${!var}" 2>/dev/null || true
	wait "${!var}" 2>/dev/null || true
}

# Number of packets in capture NAME matching FILTER (all if none given).
lab_capture_count() {
	local name=$1 filter=${2:-}
	tcpdump -n -r "$LAB_TMP/$name.pcap" -- $filter 2>/dev/null | wc -l
}

# Number of packets in capture NAME whose `tcpdump -e` line matches the
# extended regex RE (for VLAN stacks, where capture filters are unreliable).
lab_capture_grep() {
	local name=$1 re=$2
	tcpdump -e -n -r "$LAB_TMP/$name.pcap" 2>/dev/null | grep -cE -- "$re"
}

# ---------------------------------------------------------------- probes


lab_srv_mac() { ip -n "$LAB_NS_SRV" -br link show s0 | awk '{print $3}'; }

# lab_tagged_syns NAME DPORT TAGS: send 3 SYNs (v4) + 3 (v6) to DPORT inside
# the VLAN stack TAGS (e.g. 100 or 100,200); print how many reached the
# server's wire (capture NAME).
lab_tagged_syns() {
	local name=$1 port=$2 tags=$3 mac
	mac=$(lab_srv_mac)
	lab_capture_start "$name" "$LAB_NS_SRV" s0 || return 1
	lab_cli "$LAB_PY" "$LAB_DIR_SRC/frames.py" syn c0 "$mac" "$LAB_CLI4" "$LAB_SRV4" "$port" --tags "$tags" >/dev/null
	lab_cli "$LAB_PY" "$LAB_DIR_SRC/frames.py" syn c0 "$mac" "$LAB_CLI6" "$LAB_SRV6" "$port" --tags "$tags" >/dev/null
	lab_capture_stop "$name"
	lab_capture_grep "$name" "\.$port: Flags \[S\]"
}

# lab_dns_query RESOLVER: the server's own DNS query to the outside resolver.
lab_dns_query() {
	lab_srv "$LAB_PY" "$LAB_DIR_SRC/dnsmini.py" query "$1" "mx.example.test" 3 >/dev/null
}

# lab_outbound_smtp TAG: the server relays a message to the outside MX.
lab_outbound_smtp() {
	local tag=$1
	lab_srv timeout 20 swaks --server 127.0.0.1 --from "alice@$LAB_DOMAIN" \
		--to "carol@$LAB_REMOTE_DOMAIN" --header "Subject: mxwall lab $tag" \
		>"$LAB_TMP/swaks-$tag" 2>&1 && lab_mailbox_has out carol "mxwall lab $tag"
}

# ---------------------------------------------------------------- mxwalld

lab_find_bins() {
	local root=${MXW_BUILD_ROOT:-$LAB_DIR_SRC/../../build}
	: "${MXWALLD:=$root/control/mxwalld}"
	: "${MXWALLCTL:=$root/control/mxwallctl}"
}

lab_have_mxwalld() {
	lab_find_bins
	[[ -x $MXWALLD && -x $MXWALLCTL ]]
}

lab_require_mxwalld() {
	lab_have_mxwalld ||
		lab_skip "mxwalld/mxwallctl not built ($MXWALLD, $MXWALLCTL)"
}

# The inspection and policy sections (LAB_INSPECT=1): local domain lab.test,
# VRFY/EXPN denied, error limit LAB_ERROR_LIMIT, the policy's cross-session
# counters at the values the attack cases count against (LAB_AUTH_LIMIT 535
# replies, LAB_HARVEST_LIMIT 550 5.1.1 replies), escalation after
# LAB_ESCALATE_COUNT blocked addresses of one /24 or /48.
# LAB_INSP_ACTIONS adds "check": "action" pairs.
LAB_AUTH_LIMIT=${LAB_AUTH_LIMIT:-5}
LAB_HARVEST_LIMIT=${LAB_HARVEST_LIMIT:-10}
LAB_ESCALATE_COUNT=${LAB_ESCALATE_COUNT:-3}
# Per-session error limit below the policy threshold (10, unknown_command
# weighs 1: docs/policy.md), so that the session is killed by the error
# limit before the source's score blocks it; the engine's default is 20.
LAB_ERROR_LIMIT=${LAB_ERROR_LIMIT:-8}
# Rings of 256 (the default is 2048): the overload case fills one with a
# few hundred SYN-ACKs.
lab_insp_sections() {
	[[ ${LAB_INSPECT:-0} == 1 ]] || return 0
	cat <<-EOF
	  "inspection": {
	    "enabled": true,
	    "ring_size": ${LAB_INSP_RING:-256},
	    "busy_poll_us": ${LAB_INSP_BUSY_US:-200},
	    "smtp_ports": [25, 587, $LAB_SLOW_PORT],
	    "limits": {"errors": $LAB_ERROR_LIMIT},
	    "local_domains": ["$LAB_DOMAIN"],
	    "actions": {"vrfy": "deny", "expn": "deny"${LAB_INSP_ACTIONS:+, $LAB_INSP_ACTIONS}}
	  },
	  "policy": {
	    "shadow": ${LAB_POLICY_SHADOW:-false},
	    "threshold": 10,
	    "counters": {
	      "auth_failed": {"limit": $LAB_AUTH_LIMIT, "window": 600},
	      "invalid_recipient": {"limit": $LAB_HARVEST_LIMIT, "window": 600},
	      "killed_sessions": {"limit": 3, "window": 600}
	    },
	    "block": {"ttl": 600},
	    "escalation": {"count": $LAB_ESCALATE_COUNT, "window": 600, "ttl": 3600,
	                   "ipv4_len": 24, "ipv6_len": 48}
	  },
	EOF
}

# Skip (77) while the tree has no inspection worker (control/ctl_insp.c):
# the config sections landed before it, and a daemon without the worker
# accepts "enabled": true but never inspects.  Once the worker exists, a
# daemon that does not run it is a failure (lab_insp_running), not a skip.
lab_require_inspection() {
	lab_require_mxwalld
	[[ -f $LAB_DIR_SRC/../../control/ctl_insp.c ]] ||
		lab_skip "no inspection worker in this tree (control/ctl_insp.c)"
}

# status says the inspection path runs.
lab_insp_running() {
	[[ $(lab_ctl -j status | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d.get("result", d).get("inspection"))') == running ]]
}

lab_write_config() {
	local f=$LAB_TMP/mxwalld.json
	cat >"$f" <<-EOF
	{
	  "interfaces": {"outside": "out0", "inside": "in0", "xdp_mode": "native"},
	  "bpf": {"pin_dir": "$LAB_PIN_DIR", "detach_on_exit": false},
	  "control": {"socket": "$LAB_SOCK"},
	  "state_dir": "$LAB_TMP/state",
	  "fastpath": {
	    "mail_ports": [25, 465, 587, 110, 995, 143, 993, $LAB_SLOW_PORT],
	    "protected": [],
	    "syn": {
	      "per_source": {"rate": ${LAB_SYN_RATE:-20}, "burst": ${LAB_SYN_BURST:-40}},
	      "per_prefix": {"rate": 200, "burst": 400, "ipv4_len": 24, "ipv6_len": 48},
	      "global": {"rate": ${LAB_SYN_GLOBAL_RATE:-0}, "burst": ${LAB_SYN_GLOBAL_BURST:-0}}
	    },
	    "max_conns_per_source": 50,
	    "fail_mode": "${LAB_FAIL_MODE:-open}",
	    "fragments": "drop",
	    "other_ethertypes": "drop"
	  },
	$(lab_insp_sections)
	  "allow": [],
	  "block": []
	}
	EOF
	echo "$f"
}

lab_ctl() { "$MXWALLCTL" -s "$LAB_SOCK" "$@"; }

# lab_ctl_q ARGS: mxwallctl with its output kept in $LAB_TMP/ctl.log.
lab_ctl_q() {
	echo "\$ mxwallctl $*" >>"$LAB_TMP/ctl.log"
	lab_ctl "$@" >>"$LAB_TMP/ctl.log" 2>&1
}

# lab_stat REASON: packets counted by the fast path for REASON (stats JSON).
lab_stat() {
	lab_ctl -j stats | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("result", d)
print(d["reasons"][sys.argv[1]]["packets"])' "$1"
}

# lab_blocked ADDR[/LEN]: the blocklist holds exactly this entry.
lab_blocked() {
	lab_ctl -j block list --limit 100000 | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("result", d)
sys.exit(0 if any(e["addr"] == sys.argv[1] for e in d["entries"]) else 1)' "$1"
}

# lab_block_clear: delete every blocklist entry (between attacks that share
# one lab; the policy's memory of past offences stays, by design).
lab_block_clear() {
	local a
	for a in $(lab_ctl -j block list --limit 100000 | "$LAB_PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("result", d)
print("\n".join(e["addr"] for e in d["entries"]))'); do
		lab_ctl_q block del "$a"
	done
}

# lab_events_start: record mxwalld's event stream (events.subscribe, one
# JSON object per line) into $LAB_TMP/events.log until the lab goes down
# or the daemon dies (lab_events_start again after a restart).
lab_events_start() {
	"$LAB_PY" -u - "$LAB_SOCK" >>"$LAB_TMP/events.log" 2>>"$LAB_TMP/events.err" <<-'PY' &
	import json, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.connect(sys.argv[1])
	s.sendall(b'{"id": "lab", "cmd": "events.subscribe"}\n')
	f = s.makefile("rb")
	for line in f:
	    sys.stdout.write(line.decode("utf-8", "replace"))
	PY
	LAB_PIDS+=("$!")
	# Subscribed once the reply is in (one per start: count them).
	local n=${LAB_EVENTS_STARTS:-0}
	LAB_EVENTS_STARTS=$((n + 1))
	lab_wait_for 5 lab_events_subscribed || lab_fail "events.subscribe got no reply"
}
lab_events_subscribed() {
	(($(grep -c '"id": *"lab"' "$LAB_TMP/events.log") >= LAB_EVENTS_STARTS))
}

# lab_events_count COND...: events recorded so far that meet every COND,
# each KEY=VALUE (the field equals VALUE as text) or KEY~REGEX (the field
# matches the Python regex REGEX from its start), e.g. type=block
# addr=198.51.100.7, or check~'smuggling_(lf|cr)'.  LAB_EVENTS_PRINT=1 also
# prints the matching events to stderr.
lab_events_count() {
	"$LAB_PY" - "$LAB_TMP/events.log" "$@" <<-'PY'
	import json, os, re, sys
	conds = []
	print_them = os.environ.get("LAB_EVENTS_PRINT") == "1"
	for c in sys.argv[2:]:
	    m = re.match(r"([a-z_]+)([=~])(.*)$", c, re.S)
	    conds.append((m.group(1), m.group(2), m.group(3)))
	n = 0
	try:
	    lines = open(sys.argv[1], encoding="utf-8", errors="replace").readlines()
	except FileNotFoundError:
	    lines = []
	for line in lines:
	    try:
	        ev = json.loads(line)
	    except ValueError:
	        continue
	    if not isinstance(ev, dict) or "type" not in ev:
	        continue
	    ok = True
	    for k, op, v in conds:
	        f = ev.get(k)
	        f = "" if f is None else str(f)
	        if (op == "=" and f != v) or (op == "~" and not re.match(v + "$", f)):
	            ok = False
	            break
	    n += ok
	    if ok and print_them:
	        sys.stderr.write("    event: " + line)
	print(n)
	PY
}

# lab_events_wait MIN COND...: wait up to 5 s for at least MIN events that
# meet the COND (events reach subscribers asynchronously); 0 when they did.
lab_events_wait() {
	local min=$1 deadline=$((SECONDS + 5))
	shift
	while (($(lab_events_count "$@") < min)); do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

# lab_attack NAME ARGS: attacks.py from the client namespace; its RESULT line
# goes to stdout and to $LAB_TMP/attacks.log.
lab_attack() {
	local out
	out=$(lab_smtpc attacks.py "$@" 2>>"$LAB_TMP/attacks.err" | grep '^RESULT')
	echo "$out" >>"$LAB_TMP/attacks.log"
	lab_log "attack: $out"
	echo "$out"
}

# lab_result_field LINE KEY: the value of KEY= in an attacks.py RESULT line.
lab_result_field() {
	local w
	for w in $1; do
		[[ $w == "$2="* ]] && { echo "${w#*=}"; return 0; }
	done
	return 1
}

# lab_maillog_count REGEX: lines of the server Postfix's log matching REGEX.
lab_maillog_count() {
	grep -cE -- "$1" "$LAB_TMP/srv/maillog" 2>/dev/null || true
}

# lab_capture_text NAME REGEX: packets of capture NAME whose payload (as
# `tcpdump -A` prints it) matches REGEX: "did these bytes reach the wire".
lab_capture_text() {
	tcpdump -A -n -r "$LAB_TMP/$1.pcap" 2>/dev/null | grep -cE -- "$2" || true
}

# Start mxwalld in the appliance namespace (nsenter: keeps host bpffs).
lab_mxwalld_start() {
	local cfg=$LAB_TMP/mxwalld.json n=${LAB_MXWALLD_STARTS:-0}
	LAB_MXWALLD_STARTS=$((n + 1))
	"$MXWALLD" --check-config "$cfg" >"$LAB_TMP/check-config.log" 2>&1 || {
		cat "$LAB_TMP/check-config.log" >&2
		lab_fail "mxwalld --check-config rejected the lab config"
		return 1
	}
	nsenter --net="/run/netns/$LAB_NS_APP" "$MXWALLD" --config "$cfg" \
		>>"$LAB_TMP/mxwalld.log" 2>&1 </dev/null &
	LAB_MXWALLD_PID=$!
	LAB_PIDS+=("$LAB_MXWALLD_PID")
	if ! lab_wait_for 15 lab_ctl status; then
		tail -n 30 "$LAB_TMP/mxwalld.log" >&2
		lab_fail "mxwalld did not answer on $LAB_SOCK"
		return 1
	fi
	lab_log "mxwalld up (pid $LAB_MXWALLD_PID, start #$LAB_MXWALLD_STARTS)"
}

# Stop mxwalld with SIGTERM (SIGKILL after 10 s); the filter stays attached.
lab_mxwalld_stop() {
	local sig=${1:-TERM} i
	[[ -n $LAB_MXWALLD_PID ]] || return 0
	kill -"$sig" "$LAB_MXWALLD_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$LAB_MXWALLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$LAB_MXWALLD_PID" 2>/dev/null || true
	wait "$LAB_MXWALLD_PID" 2>/dev/null || true
	LAB_MXWALLD_PID=
}

# ---------------------------------------------------------------- up / down

lab_veth_fixups() {
	# End hosts only (ENVIRONMENT.md): partial checksums do not survive a
	# devmap redirect, and a veth receiving redirected frames needs GRO on.
	local ns=$1 ifc=$2
	lab_in "$ns" ethtool -K "$ifc" tx off >/dev/null 2>&1 || true
	lab_in "$ns" ethtool -K "$ifc" gro on >/dev/null 2>&1 || true
}

# lab_up MODE: MODE is "bridge" (Linux bridge in the appliance) or "mxwalld".
lab_up() {
	LAB_MODE=$1
	[[ $LAB_MODE == bridge || $LAB_MODE == mxwalld ]] || {
		lab_fail "lab_up: unknown mode '$LAB_MODE'"
		return 1
	}
	trap lab_down EXIT
	trap 'exit 130' INT TERM
	LAB_TMP=$(mktemp -d "/tmp/mxw-lab-$LAB_SUFFIX.XXXXXX")
	chmod 755 "$LAB_TMP"
	mkdir -p "$LAB_RUN_DIR" "$LAB_TMP/state"
	lab_log "lab $LAB_SUFFIX ($LAB_MODE), files in $LAB_TMP"

	ip netns add "$LAB_NS_CLI" && ip netns add "$LAB_NS_APP" &&
		ip netns add "$LAB_NS_SRV" || return 1
	local ns
	for ns in "$LAB_NS_CLI" "$LAB_NS_APP" "$LAB_NS_SRV"; do
		ip -n "$ns" link set lo up
		# No DAD delay: addresses are usable at once.
		lab_in "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done
	ip link add c0 netns "$LAB_NS_CLI" type veth peer name out0 netns "$LAB_NS_APP" &&
		ip link add s0 netns "$LAB_NS_SRV" type veth peer name in0 netns "$LAB_NS_APP" ||
		return 1

	ip -n "$LAB_NS_CLI" addr add "$LAB_CLI4/24" dev c0
	ip -n "$LAB_NS_CLI" addr add "$LAB_OUT4/24" dev c0
	ip -n "$LAB_NS_CLI" addr add "$LAB_BAD4/24" dev c0
	ip -n "$LAB_NS_CLI" addr add "$LAB_BAD4B/24" dev c0
	ip -n "$LAB_NS_CLI" addr add "$LAB_CLI6/64" dev c0 nodad
	ip -n "$LAB_NS_CLI" addr add "$LAB_OUT6/64" dev c0 nodad
	ip -n "$LAB_NS_CLI" addr add "$LAB_BAD6/64" dev c0 nodad
	local a
	for a in "${LAB_ROT4[@]}"; do
		ip -n "$LAB_NS_CLI" addr add "$a/24" dev c0
	done
	for a in "${LAB_ROT6[@]}"; do
		ip -n "$LAB_NS_CLI" addr add "$a/64" dev c0 nodad
	done
	ip -n "$LAB_NS_SRV" addr add "$LAB_SRV4/24" dev s0
	ip -n "$LAB_NS_SRV" addr add "$LAB_SRV6/64" dev s0 nodad
	lab_veth_fixups "$LAB_NS_CLI" c0
	lab_veth_fixups "$LAB_NS_SRV" s0
	ip -n "$LAB_NS_CLI" link set c0 up
	ip -n "$LAB_NS_SRV" link set s0 up
	ip -n "$LAB_NS_APP" link set out0 up
	ip -n "$LAB_NS_APP" link set in0 up
	ip -n "$LAB_NS_SRV" route add "$LAB_BAD4_NET" dev s0
	ip -n "$LAB_NS_SRV" -6 route add "$LAB_BAD6_NET" dev s0
	ip -n "$LAB_NS_SRV" -6 route add "$LAB_BAD6_NET48" dev s0

	# r01..r40: recipients of the corpus's many-recipient message;
	# "δοκιμή": an SMTPUTF8 (RFC 6531) mailbox.
	lab_postfix_start "$LAB_NS_SRV" srv "mx.$LAB_DOMAIN" "$LAB_DOMAIN" \
		alice bob postmaster $(seq -f 'r%02g' 1 40) δοκιμή || return 1
	lab_postfix_start "$LAB_NS_CLI" out "mx.$LAB_REMOTE_DOMAIN" \
		"$LAB_REMOTE_DOMAIN" carol || return 1
	lab_postfix_route srv "$LAB_REMOTE_DOMAIN" "$LAB_OUT4"

	lab_spawn "$LAB_NS_SRV" "$LAB_TMP/web.log" socat \
		"TCP6-LISTEN:$LAB_WEB_PORT,fork,reuseaddr,ipv6only=0" \
		SYSTEM:'echo mxw-non-mail-service'
	lab_spawn "$LAB_NS_SRV" "$LAB_TMP/mailsvc.log" "$LAB_PY" \
		"$LAB_DIR_SRC/mailsvc.py" "$LAB_SRV4" "$LAB_SRV6"
	lab_wait_for 5 grep -q serving "$LAB_TMP/mailsvc.log" ||
		lab_fail "POP3/IMAP listeners did not start" || return 1
	lab_spawn "$LAB_NS_CLI" "$LAB_TMP/dns.log" /usr/bin/python3 \
		"$LAB_DIR_SRC/dnsmini.py" serve "$LAB_OUT4" "$LAB_OUT6"
	lab_wait_for 5 grep -q serving "$LAB_TMP/dns.log" ||
		lab_fail "DNS responder did not start" || return 1

	if [[ $LAB_MODE == bridge ]]; then
		ip -n "$LAB_NS_APP" link add br0 type bridge
		ip -n "$LAB_NS_APP" link set out0 master br0
		ip -n "$LAB_NS_APP" link set in0 master br0
		ip -n "$LAB_NS_APP" link set br0 up
	else
		lab_find_bins
		lab_write_config >/dev/null
		lab_mxwalld_start || return 1
	fi
	lab_wait_for 10 lab_srv ping -c1 -W1 "$LAB_OUT4" ||
		lab_fail "server cannot reach the outside by ping" || return 1
	lab_wait_for 10 lab_srv ping -c1 -W1 "$LAB_OUT6" ||
		lab_fail "server cannot reach the outside by ping (IPv6)" || return 1
	lab_log "lab up"
}

lab_down() {
	local rc=$? pid ns f
	((LAB_DOWN_DONE)) && return "$rc"
	LAB_DOWN_DONE=1
	trap - EXIT
	if ((rc != 0 && rc != 77)) && [[ -n $LAB_TMP && -d $LAB_TMP ]]; then
		lab_log "failure (rc $rc): logs follow"
		for f in "$LAB_TMP"/mxwalld.log "$LAB_TMP"/srv/maillog "$LAB_TMP"/out/maillog; do
			[[ -s $f ]] || continue
			echo "----- $f (last 40 lines)" >&2
			tail -n 40 "$f" >&2
		done
	fi
	lab_mxwalld_stop TERM
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	[[ -n $LAB_TMP ]] && lab_postfix_stop srv
	[[ -n $LAB_TMP ]] && lab_postfix_stop out
	for pid in "${LAB_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "$LAB_NS_CLI" "$LAB_NS_APP" "$LAB_NS_SRV"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$LAB_PIN_DIR" "$LAB_RUN_DIR"
	if [[ -n $LAB_TMP && ${LAB_KEEP:-0} != 1 ]]; then
		rm -rf "$LAB_TMP"
	elif [[ -n $LAB_TMP ]]; then
		lab_log "LAB_KEEP=1: files kept in $LAB_TMP"
	fi
	return "$rc"
}
