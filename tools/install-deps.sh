#!/usr/bin/env bash
# install-deps.sh - install everything mxwall needs on Debian 12 (bookworm).
#
# Idempotent and non-interactive: safe to run on every test or demo run.
# Postfix's debconf questions are preseeded ("Local only") before the package
# is installed so no prompt appears, and the host's own Postfix instance is
# stopped and disabled afterwards: the lab runs private Postfix instances
# inside network namespaces and must not find port 25 taken on the host.
#
# Usage: tools/install-deps.sh          (as root)
#        MXW_SKIP_INSTALL=1 ...         skip entirely (already provisioned)
set -euo pipefail

if [[ "${MXW_SKIP_INSTALL:-0}" == 1 ]]; then
	echo "install-deps: MXW_SKIP_INSTALL=1, skipping"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi

# One line per package, with the reason it is here.
PACKAGES=(
	# build
	gcc libc6-dev                   # userspace C
	meson ninja-build pkg-config    # build system
	clang llvm                      # libFuzzer and sanitizer builds (clang 14)
	clang-19                        # BPF objects (clang -target bpf, meson.build)
	libclang-rt-14-dev              # libFuzzer / sanitizer runtimes for clang 14
	libbpf-dev bpftool              # skeletons, loader, vmlinux.h from BTF
	libxdp-dev                      # AF_XDP sockets (xsk API)
	libelf-dev zlib1g-dev           # libbpf's own link dependencies
	libjansson-dev                  # config and control socket JSON
	libndpi-dev                     # flow classification in mxwalld
	libdpdk-dev dpdk-dev            # DPDK dataplane (headers, pkg-config)
	libpcap-dev                     # pcap tooling for DPDK net_pcap / benches
	# benchmarks' baselines
	xdp-tools                       # xdp-filter baseline
	dpdk                            # dpdk-testpmd baseline
	libndpi-bin                     # ndpiReader baseline
	iperf3                          # throughput through the bridge
	# lab: namespaces, traffic, mail
	iproute2 util-linux             # ip netns, nsenter
	ethtool                         # veth offload fixes in the lab
	iputils-ping netcat-openbsd     # reachability probes
	tcpdump                         # wire evidence in integration tests
	hping3                          # SYN floods from spoofed sources
	python3 python3-scapy           # crafted frames (802.1Q, IPv6)
	socat                           # non-mail and outside services
	swaks                           # SMTP client
	openssl                         # STARTTLS certificates for the lab
	postfix                         # the real mail server behind the appliance
	libsasl2-modules sasl2-bin      # SASL AUTH on 587 in the lab
	procps psmisc                   # pgrep/pkill by pid file, fuser
)

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
	echo "install-deps: installing: ${missing[*]}"
	# Preseed before postfix is unpacked: "Local only" keeps it from ever
	# relaying anything (default_transport=error) and asks nothing.
	debconf-set-selections <<-'EOF'
	postfix postfix/main_mailer_type select Local only
	postfix postfix/mailname string mxwall-lab.test
	postfix postfix/destinations string mxwall-lab.test, localhost.localdomain, localhost
	EOF
	apt-get update -q
	apt-get install "${APT_OPTS[@]}" --no-install-recommends "${missing[@]}"
fi

# The host's Postfix must not run: the lab starts its own instances inside
# namespaces.  Without systemd as PID 1 (containers) only `postfix stop` works.
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
	systemctl disable --now postfix.service >/dev/null 2>&1 || true
fi
if postfix status >/dev/null 2>&1; then
	echo "install-deps: stopping the host's Postfix instance"
	postfix stop >/dev/null 2>&1 || true
fi

# Check that the tools the build and tests call are really there.
for tool in meson ninja clang clang-19 bpftool swaks hping3 tcpdump ethtool socat \
	nsenter postfix /usr/bin/python3; do
	command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || {
		echo "install-deps: $tool missing after installation" >&2
		exit 1
	}
done
/usr/bin/python3 -c 'import scapy.all' 2>/dev/null || {
	echo "install-deps: python3-scapy not importable by /usr/bin/python3" >&2
	exit 1
}
echo "install-deps: done"
