#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""
test_control.py - mxwalld and its control socket, end to end, on a veth
pair in a network namespace this test creates (mxw-ctl-<pid>) and always
deletes.  Needs root, ip, nsenter and bpftool; exits 77 (meson: skip) with
a message when one is missing.

Every case is one function in CASES, run in order against one daemon
(some cases restart it).  The fast path's maps are checked with bpftool
where a reply alone could lie (blocks really in the pinned map, survive a
restart, come back from the state file).

usage: test_control.py --mxwalld PATH --mxwallctl PATH [-k CASE]
"""
import argparse
import ctypes
import grp
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_H = os.path.join(HERE, "..", "..", "bpf", "mxwall_shared.h")
REASONS_H = os.path.join(HERE, "..", "..", "control", "engine",
                         "smtp_reasons.h")
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
BPF_FS_MAGIC = 0xCAFE4A11


def skip(msg):
    print("SKIP: " + msg, file=sys.stderr)
    sys.exit(SKIP)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def run(*cmd, ok=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if ok and r.returncode != 0:
        raise Fail("%s: rc %d: %s" % (" ".join(cmd), r.returncode,
                                      r.stderr.strip()))
    return r


def is_bpffs(path):
    class Statfs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 120)]
    libc = ctypes.CDLL(None, use_errno=True)
    st = Statfs()
    if libc.statfs(path.encode(), ctypes.byref(st)) != 0:
        return False
    return (st.f_type & 0xFFFFFFFF) == BPF_FS_MAGIC


def reason_names():
    """The stats names, from the X-macro in the shared header."""
    text = open(SHARED_H).read()
    return re.findall(r'X\(MXW_R_\w+,\s*"([a-z0-9_]+)"\)', text)


def check_names():
    """The engine's check names, from the X-macro in smtp_reasons.h."""
    text = open(REASONS_H).read()
    return re.findall(r'X\(SMTP_R_\w+,\s*"([a-z0-9_]+)"', text)


def parse_prometheus(text):
    """A strict reading of the text exposition format 0.0.4: returns
    {(name, labels-tuple): value}; raises Fail on any malformed line, a
    sample before its family's TYPE, a repeated TYPE or a family split."""
    name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
    sample_re = re.compile(r"^(%s)(\{(.*)\})? (\S+)$" % name_re)
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')
    typed, done, out = {}, set(), {}
    current = None
    check(text.endswith("\n"), "exposition ends with a newline")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            check(len(parts) == 4 and re.fullmatch(name_re, parts[2]) and
                  parts[3] in ("counter", "gauge", "histogram", "summary",
                               "untyped"), "TYPE line: " + line)
            check(parts[2] not in typed, "TYPE repeated: " + line)
            typed[parts[2]] = parts[3]
            continue
        check(not line.startswith("#"), "comment line: " + line)
        m = sample_re.match(line)
        check(m, "sample line: " + line)
        name = m.group(1)
        fam = name
        for suf in ("_bucket", "_sum", "_count"):
            if name.endswith(suf) and name[:-len(suf)] in typed:
                fam = name[:-len(suf)]
        check(fam in typed, "sample before its TYPE: " + line)
        if fam != current:
            check(fam not in done, "family split: " + line)
            if current:
                done.add(current)
            current = fam
        labels = ()
        if m.group(3):
            rest = m.group(3)
            pos = 0
            while pos < len(rest):
                lm = label_re.match(rest, pos)
                check(lm, "labels: " + line)
                labels += ((lm.group(1), lm.group(2)),)
                pos = lm.end()
        try:
            val = float(m.group(4))
        except ValueError:
            raise Fail("value: " + line)
        check((name, labels) not in out, "sample repeated: " + line)
        out[(name, labels)] = val
    return out


def mapped_key(addr):
    """Hex bytes of an mxw_addr (IPv4-mapped for IPv4)."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 4:
        ip = ipaddress.IPv6Address("::ffff:" + addr)
    return ["%02x" % b for b in ip.packed]


# bpf/mxw_table.h's hashing and bpf/mxwall_shared.h's layouts, for
# looking into the ARRAY-backed tables from bpftool.
M64 = (1 << 64) - 1
LIST_WAYS, LIST_SLOT = 8, 40            # mxw_list_bucket: tags, spill, pad,
LIST_SLOT0 = 4 * LIST_WAYS + 8          # then the slots
SET_WAYS = 4                            # mxw_src_set / mxw_flow_set
SRC_SLOT, FLOW_SLOT = 40, 56
CFG_SEED_OFF = 80                       # struct mxw_data (its cfg) offsets
CFG_MASK_OFF = {"mxw_allow_exact": 88, "mxw_block_exact": 92,
                "mxw_src_bucket": 96, "mxw_pfx_bucket": 100,
                "mxw_ct": 104, "mxw_conn": 108}


HASH_K = (0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9,
          0xd6e8feb86659fd93, 0xff51afd7ed558ccd)


def tbl_fin(h):
    h ^= h >> 32
    h = (h * 0xc4ceb9fe1a85ec53) & M64
    return h ^ (h >> 29)


def tbl_hash(seed, data):
    """mxw_hash_addr (16 bytes) or mxw_hash_flow (40 bytes): multilinear."""
    h = 0
    for n, i in enumerate(range(0, len(data), 8)):
        w = int.from_bytes(data[i:i + 8], "little")
        h = (h + (w ^ seed) * HASH_K[n]) & M64
    return tbl_fin(h)


def tbl_tag(h):
    return ((h >> 32) & 0xffffffff) | 2


def tbl_idx1(h, mask):
    return h & mask


def tbl_idx2(h, mask):
    return (((h * 0x2545f4914f6cdd1d) & M64) >> 40) & mask


def idx_key(i):
    return ["%02x" % b for b in i.to_bytes(4, "little")]


def hexlist(data):
    return ["%02x" % b for b in data]


def lpm_key(cidr):
    net = ipaddress.ip_network(cidr)
    plen = net.prefixlen
    addr = net.network_address
    if net.version == 4:
        plen += 96
        addr = ipaddress.IPv6Address("::ffff:" + str(addr))
    return ["%02x" % b for b in plen.to_bytes(4, "little")] + \
        ["%02x" % b for b in addr.packed]


class Conn:
    """One control connection with line-based I/O."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.next_id = 1

    def send_raw(self, data):
        self.s.sendall(data)

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise Fail("connection closed by the daemon")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, **args):
        req = {"id": self.next_id, "cmd": cmd}
        req.update(args)
        self.next_id += 1
        self.send_raw(json.dumps(req).encode() + b"\n")
        rep = self.read_line()
        check(rep.get("id") == req["id"], "reply id %r for request id %r"
              % (rep.get("id"), req["id"]))
        return rep

    def ok(self, cmd, **args):
        rep = self.call(cmd, **args)
        check(rep.get("ok") is True, "%s failed: %r" % (cmd, rep))
        return rep["result"]

    def err(self, cmd, code, **args):
        rep = self.call(cmd, **args)
        check(rep.get("ok") is False and rep["error"]["code"] == code,
              "%s: expected error %s, got %r" % (cmd, code, rep))
        return rep["error"]

    def close(self):
        self.s.close()


class Lab:
    """Namespace, veths, bpffs, config, the daemon process."""

    def __init__(self, mxwalld, mxwallctl):
        self.mxwalld = mxwalld
        self.mxwallctl = mxwallctl
        self.suffix = "%d" % os.getpid()
        self.ns = "mxw-ctl-" + self.suffix
        self.tmp = tempfile.mkdtemp(prefix="mxw-ctl-")
        os.chmod(self.tmp, 0o755)   # so an unprivileged peer can reach it
        self.sock = os.path.join(self.tmp, "control.sock")
        self.state_dir = os.path.join(self.tmp, "state")
        self.cfg_path = os.path.join(self.tmp, "mxwall.json")
        self.log_path = os.path.join(self.tmp, "mxwalld.log")
        self.private_bpffs = None
        if is_bpffs("/sys/fs/bpf"):
            self.pin_dir = "/sys/fs/bpf/mxw-test-ctl-" + self.suffix
        else:
            # No host bpffs: a private instance, unmounted at the end.
            self.private_bpffs = os.path.join(self.tmp, "bpffs")
            os.mkdir(self.private_bpffs)
            run("mount", "-t", "bpf", "bpf", self.private_bpffs)
            self.pin_dir = os.path.join(self.private_bpffs, "pins")
        self.proc = None
        self.cfg = {
            "interfaces": {"outside": "xo", "inside": "xi"},
            "bpf": {"pin_dir": self.pin_dir},
            "control": {"socket": self.sock, "max_request_bytes": 4096,
                        "max_clients": 16, "stall_timeout": 2},
            "state_dir": self.state_dir,
            "log": {"level": "debug"},
            "fastpath": {"syn": {"per_source": {"rate": 20, "burst": 40}},
                         "conntrack": {"reconcile_interval": 1},
                         "table_sizes": {"block_prefix": 16}},
            "block": ["203.0.113.0/24"],
        }
        run("ip", "netns", "add", self.ns)
        for a, b in (("xo", "xop"), ("xi", "xip")):
            run("ip", "-n", self.ns, "link", "add", a, "type", "veth",
                "peer", "name", b)
            run("ip", "-n", self.ns, "link", "set", a, "up")
            run("ip", "-n", self.ns, "link", "set", b, "up")

    def write_cfg(self, cfg=None, text=None):
        with open(self.cfg_path + ".tmp", "w") as f:
            f.write(text if text is not None else json.dumps(cfg or self.cfg))
        os.rename(self.cfg_path + ".tmp", self.cfg_path)

    def start(self):
        self.write_cfg()
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + self.ns, self.mxwalld,
             "--config", self.cfg_path], stdout=log, stderr=log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("mxwalld exited with %d at start:\n%s"
                           % (self.proc.returncode, self.log_tail()))
            try:
                c = Conn(self.sock)
                c.ok("status")
                c.close()
                return
            except (OSError, Fail):
                time.sleep(0.1)
        raise Fail("mxwalld did not answer within 20 s")

    def stop(self, sig=signal.SIGTERM):
        if not self.proc:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def log_tail(self, n=30):
        try:
            return "".join(open(self.log_path).readlines()[-n:])
        except OSError:
            return ""

    def conn(self):
        return Conn(self.sock)

    def xdp_prog_id(self, dev):
        out = run("ip", "-n", self.ns, "-d", "-j", "link", "show", dev).stdout
        info = json.loads(out)[0]
        xdp = info.get("xdp")
        if not xdp:
            return None
        return xdp.get("prog", {}).get("id") or xdp.get("id")

    def xdp_prog_name(self, dev):
        """The name of the XDP program attached to dev, or None."""
        pid = self.xdp_prog_id(dev)
        if not pid:
            return None
        r = run("bpftool", "-j", "prog", "show", "id", str(pid), ok=False)
        try:
            return json.loads(r.stdout).get("name")
        except ValueError:
            return None

    def map_raw(self, name, key):
        """The value bytes at key (hex byte list), or None when absent."""
        r = run("bpftool", "-j", "map", "lookup", "pinned",
                os.path.join(self.pin_dir, name), "key", "hex", *key,
                ok=False)
        if r.returncode != 0:
            return None
        return bytes(int(b, 16) for b in json.loads(r.stdout)["value"])

    def map_update(self, name, key, value):
        run("bpftool", "map", "update", "pinned",
            os.path.join(self.pin_dir, name), "key", "hex", *key,
            "value", "hex", *value)

    def table_cfg(self):
        """(hash_seed, masks by map name) from the pinned mxw_data (the
        program's data section .data.mxw; its config comes first)."""
        v = self.map_raw("mxw_data", idx_key(0))
        seed = int.from_bytes(v[CFG_SEED_OFF:CFG_SEED_OFF + 8], "little")
        masks = {m: int.from_bytes(v[off:off + 4], "little")
                 for m, off in CFG_MASK_OFF.items()}
        return seed, masks

    def exact_entry(self, name, key):
        """An exact list's entry (mxw_list_entry bytes) for the address
        key, found as the fast path finds it (bpf/mxw_table.h)."""
        seed, masks = self.table_cfg()
        a = bytes(int(b, 16) for b in key)
        h = tbl_hash(seed, a)
        for i in (tbl_idx1(h, masks[name]), tbl_idx2(h, masks[name])):
            bk = self.map_raw(name, idx_key(i))
            for w in range(LIST_WAYS):
                tag = int.from_bytes(bk[4 * w:4 * w + 4], "little")
                off = LIST_SLOT0 + w * LIST_SLOT
                if tag == tbl_tag(h) and bk[off:off + 16] == a:
                    return bk[off + 16:off + LIST_SLOT]
        return None

    def map_has(self, name, key):
        return self.map_value(name, key) is not None

    def map_value(self, name, key):
        """The value bytes, or None when the key is absent; the exact lists
        are hash tables over arrays, looked up by their key."""
        if name in ("mxw_block_exact", "mxw_allow_exact"):
            return self.exact_entry(name, key)
        return self.map_raw(name, key)

    def ctl(self, *args):
        return run(self.mxwallctl, "-s", self.sock, *args, ok=False)

    def cleanup(self):
        try:
            if self.proc:
                self.proc.kill()
                self.proc.wait()
        finally:
            run("ip", "netns", "del", self.ns, ok=False)
            if self.private_bpffs:
                run("umount", self.private_bpffs, ok=False)
            else:
                shutil.rmtree(self.pin_dir, ignore_errors=True)
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---- cases -------------------------------------------------------------

def case_status(lab):
    c = lab.conn()
    st = c.ok("status")
    check(st["interfaces"]["outside"]["name"] == "xo", "outside name")
    check(st["interfaces"]["outside"]["ifindex"] > 0, "outside ifindex")
    check(st["interfaces"]["inside"]["ifindex"] > 0, "inside ifindex")
    check(st["interfaces"]["xdp_mode"] == "native", "xdp mode")
    check(st["entries"]["block_prefix"] == 1, "static block entry counted")
    check(lab.xdp_prog_id("xo") and lab.xdp_prog_id("xi"),
          "XDP attached on both ports")
    # Each port runs the program of its direction (docs/fastpath.md).
    check(lab.xdp_prog_name("xo") == "mxw_xdp_in" and
          lab.xdp_prog_name("xi") == "mxw_xdp_out",
          "per-port programs: %r, %r" % (lab.xdp_prog_name("xo"),
                                         lab.xdp_prog_name("xi")))
    check(oct(os.stat(lab.sock).st_mode & 0o777) == "0o660", "socket 0660")
    # Privileges dropped once set up: no CAP_SYS_ADMIN (21) left, effective
    # or in the bounding set; CAP_NET_ADMIN (12) kept for detach.
    caps = {}
    for line in open("/proc/%d/status" % st["pid"]):
        k, _, v = line.partition(":")
        if k in ("CapEff", "CapBnd", "NoNewPrivs"):
            caps[k] = int(v.strip(), 16) if k != "NoNewPrivs" else int(v)
    check(not caps["CapEff"] & (1 << 21) and not caps["CapBnd"] & (1 << 21),
          "CAP_SYS_ADMIN dropped: %r" % caps)
    check(caps["CapEff"] & (1 << 12), "CAP_NET_ADMIN kept")
    check(caps["NoNewPrivs"] == 1, "no_new_privs")
    c.close()


def case_second_instance(lab):
    prog = lab.xdp_prog_id("xo")
    r = subprocess.run(
        ["nsenter", "--net=/run/netns/" + lab.ns, lab.mxwalld, "--config",
         lab.cfg_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, timeout=20)
    check(r.returncode == 4, "second instance refused (rc %d)" % r.returncode)
    check("another mxwalld" in r.stderr, "says why: " + r.stderr.strip())
    check(lab.xdp_prog_id("xo") == prog, "running program untouched")
    c = lab.conn()
    c.ok("status")
    c.close()


def case_stats(lab):
    c = lab.conn()
    st = c.ok("stats")
    names = reason_names()
    check(len(names) >= 20, "X-macro parsed")
    check(list(st["reasons"].keys()) == names,
          "stats carry every reason of MXW_REASONS, in order")
    for n in names:
        check(set(st["reasons"][n]) == {"packets", "bytes"}, n)
    checks = check_names()
    check(len(checks) >= 40, "check X-macro parsed")
    check(list(st["checks"].keys()) == checks,
          "stats carry every engine check, in order")
    check(all(v == 0 for v in st["checks"].values()),
          "checks all 0 with inspection disabled")
    ins = st["inspection"]
    check(ins["state"] == "disabled" and ins["frames"] == 0 and
          ins["block_latency_us"]["p99"] is None, "inspection: %r" % ins)
    check(set(st["events"]["published"]) == {
        "violation", "audit", "block", "unblock", "lost", "reload"},
        "event counters per type")
    c.close()


def case_metrics(lab):
    c = lab.conn()
    text = c.ok("metrics")
    check(isinstance(text, str), "metrics is a string")
    check("# TYPE mxwall_packets_total counter" in text, "TYPE line")
    for n in reason_names():
        check(re.search(r'^mxwall_packets_total\{reason="%s"\} \d+$' % n,
                        text, re.M), "metric for " + n)
    check(re.search(r'^mxwall_list_entries\{list="block",kind="prefix"\} 1$',
                    text, re.M), "list gauge")
    samples = parse_prometheus(text)
    for n in check_names():
        check(samples.get(("mxwall_check_total", (("check", n),))) == 0,
              "mxwall_check_total for " + n)
    check(samples.get(("mxwall_inspection_running", ())) == 0,
          "inspection not running")
    check(("mxwall_block_latency_microseconds", (("quantile", "0.99"),))
          in samples, "block latency p99")
    for t in ("violation", "audit", "block", "unblock", "lost", "reload"):
        check(("mxwall_events_total", (("type", t),)) in samples,
              "events counter for " + t)
    c.close()


def case_mxwallctl(lab):
    r = lab.ctl("status")
    check(r.returncode == 0 and "outside xo" in r.stdout, "status text")
    r = lab.ctl("stats")
    check(r.returncode == 0 and "drop_blocklist" in r.stdout, "stats text")
    check("inspection disabled: 0 frames" in r.stdout and
          "no engine check fired" in r.stdout, "stats inspection text")
    r = lab.ctl("status")
    check("inspection disabled, " in r.stdout, "status inspection text")
    r = lab.ctl("metrics")
    check(r.returncode == 0 and
          "# TYPE mxwall_packets_total counter" in r.stdout, "metrics text")
    r = lab.ctl("-j", "stats")
    check(r.returncode == 0 and json.loads(r.stdout)["ok"], "-j is JSON")
    r = lab.ctl("block", "frobnicate")
    check(r.returncode == 2, "usage error exit 2")
    r = lab.ctl("block", "add", "192.0.2.1", "--ttl", "-5")
    check(r.returncode == 2, "bad --ttl exit 2")
    r = run(lab.mxwallctl, "-s", os.path.join(lab.tmp, "nothing.sock"),
            "status", ok=False)
    check(r.returncode == 3 and "is mxwalld running" in r.stderr,
          "no daemon exit 3")
    env = dict(os.environ, MXWALL_SOCKET=lab.sock)
    r = subprocess.run([lab.mxwallctl, "status"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, "$MXWALL_SOCKET")


def case_block_add_list_del(lab):
    c = lab.conn()
    r = c.ok("block.add", addr="198.51.100.0/24", ttl=3600, reason="manual")
    check(r["addr"] == "198.51.100.0/24" and r["created"] is True, "add")
    check(3590 <= r["ttl"] <= 3600, "ttl echoed")
    check(r["expires"] >= time.time() + 3590, "wall-clock expiry")
    r = c.ok("block.add", addr="2001:db8::1", reason="policy")
    check(r["ttl"] == 0 and r["expires"] == 0, "permanent")
    r = c.ok("block.add", addr="192.0.2.77")
    check(r["reason"] == "manual", "default reason")
    # Re-adding updates instead of duplicating.
    r = c.ok("block.add", addr="192.0.2.77", ttl=60)
    check(r["created"] is False and r["ttl"] > 0, "update")
    check(lab.map_has("mxw_block_exact", mapped_key("2001:db8::1")),
          "IPv6 host in mxw_block_exact")
    check(lab.map_has("mxw_block_exact", mapped_key("192.0.2.77")),
          "IPv4 host stored mapped in mxw_block_exact")
    check(lab.map_has("mxw_block_lpm", lpm_key("198.51.100.0/24")),
          "prefix in mxw_block_lpm")
    lst = c.ok("block.list")
    addrs = {e["addr"]: e for e in lst["entries"]}
    for a in ("198.51.100.0/24", "2001:db8::1", "192.0.2.77",
              "203.0.113.0/24"):
        check(a in addrs, "listed: " + a)
    check(addrs["203.0.113.0/24"]["reason"] == "config", "static entry")
    check(addrs["2001:db8::1"]["reason"] == "policy", "reason kept")
    check(lst["total"] == 4 and lst["more"] is False, "total")
    # Paging.
    p1 = c.ok("block.list", limit=3)
    p2 = c.ok("block.list", offset=3, limit=3)
    check(len(p1["entries"]) == 3 and p1["more"] is True, "page 1")
    check(len(p2["entries"]) == 1 and p2["more"] is False, "page 2")
    check({e["addr"] for e in p1["entries"] + p2["entries"]} == set(addrs),
          "pages cover the list")
    # Errors.
    c.err("block.add", "invalid_argument", addr="198.51.100.7/24")
    c.err("block.add", "invalid_argument", addr="300.1.1.1")
    c.err("block.add", "invalid_argument", addr="192.0.2.1", ttl=-5)
    c.err("block.add", "invalid_argument", addr="192.0.2.1", reason="config")
    c.err("block.del", "not_found", addr="192.0.2.200")
    c.err("block.del", "not_found", addr="198.51.0.0/16")
    # Delete.
    c.ok("block.del", addr="192.0.2.77")
    c.ok("block.del", addr="2001:db8::1")
    check(not lab.map_has("mxw_block_exact", mapped_key("192.0.2.77")),
          "deleted from the map")
    check(c.ok("status")["entries"]["block_exact"] == 0, "count after del")
    # mxwallctl, human and JSON output.
    r = lab.ctl("block", "add", "192.0.2.88", "--ttl", "120", "--reason",
                "manual")
    check(r.returncode == 0 and "192.0.2.88" in r.stdout, "mxwallctl add")
    r = lab.ctl("block", "list")
    check(r.returncode == 0 and "192.0.2.88" in r.stdout and
          "198.51.100.0/24" in r.stdout, "mxwallctl list")
    r = lab.ctl("-j", "block", "del", "192.0.2.88")
    check(r.returncode == 0 and json.loads(r.stdout)["ok"] is True,
          "mxwallctl -j del")
    r = lab.ctl("block", "del", "192.0.2.88")
    check(r.returncode == 1 and "not_found" in r.stderr,
          "mxwallctl error exit")
    c.close()


def case_shadow(lab):
    c = lab.conn()
    r = c.ok("block.add", addr="192.0.2.66", shadow=True)
    check(r["shadow"] is True, "shadow echoed")
    v = lab.map_value("mxw_block_exact", mapped_key("192.0.2.66"))
    check(v is not None and int.from_bytes(v[20:24], "little") & 1,
          "MXW_LF_SHADOW set in the map value")
    lst = {e["addr"]: e for e in c.ok("block.list")["entries"]}
    check(lst["192.0.2.66"]["shadow"] is True, "listed as shadow")
    c.ok("block.del", addr="192.0.2.66")
    r = lab.ctl("block", "add", "192.0.2.67", "--shadow", "--ttl", "60")
    check(r.returncode == 0, "mxwallctl --shadow: " + r.stderr)
    v = lab.map_value("mxw_block_exact", mapped_key("192.0.2.67"))
    check(v is not None and int.from_bytes(v[20:24], "little") & 1 and
          int.from_bytes(v[0:8], "little") > 0, "shadow with TTL")
    r = lab.ctl("block", "list")
    check("(shadow)" in r.stdout, "shown as shadow")
    c.ok("block.del", addr="192.0.2.67")
    c.close()


def case_table_full(lab):
    # block_prefix is sized 16 in this lab: the 17th prefix is refused with
    # table_full and the daemon carries on.
    c = lab.conn()
    used = c.ok("status")["entries"]["block_prefix"]
    added = []
    for i in range(16 - used):
        a = "10.200.%d.0/24" % i
        c.ok("block.add", addr=a)
        added.append(a)
    e = c.err("block.add", "table_full", addr="10.201.0.0/24")
    check("block" in e["message"], "message: %r" % e)
    # Updating an existing entry still works when full.
    c.ok("block.add", addr=added[0], ttl=60)
    for a in added:
        c.ok("block.del", addr=a)
    c.ok("block.add", addr="10.201.0.0/24")
    c.ok("block.del", addr="10.201.0.0/24")
    check(c.ok("status")["entries"]["block_prefix"] == used, "count back")
    c.close()


def case_allow(lab):
    c = lab.conn()
    c.ok("allow.add", addr="192.0.2.25")
    c.ok("allow.add", addr="2001:db8:25::/48", ttl=600)
    check(lab.map_has("mxw_allow_exact", mapped_key("192.0.2.25")),
          "allow in mxw_allow_exact")
    check(lab.map_has("mxw_allow_lpm", lpm_key("2001:db8:25::/48")),
          "allow prefix in mxw_allow_lpm")
    addrs = [e["addr"] for e in c.ok("allow.list")["entries"]]
    check(sorted(addrs) == ["192.0.2.25", "2001:db8:25::/48"], "allow list")
    c.ok("allow.del", addr="2001:db8:25::/48")
    c.err("allow.del", "not_found", addr="2001:db8:25::/48")
    addrs = [e["addr"] for e in c.ok("allow.list")["entries"]]
    check(addrs == ["192.0.2.25"], "allow del")
    r = lab.ctl("allow", "list")
    check(r.returncode == 0 and "192.0.2.25" in r.stdout, "mxwallctl allow")
    c.close()


def case_ttl_expiry(lab):
    c = lab.conn()
    c.ok("block.add", addr="192.0.2.99", ttl=1)
    check(lab.map_has("mxw_block_exact", mapped_key("192.0.2.99")), "added")
    time.sleep(1.2)
    addrs = [e["addr"] for e in c.ok("block.list")["entries"]]
    check("192.0.2.99" not in addrs, "expired entry not listed")
    # The daemon sweeps when the entry is due: gone from the map at once.
    deadline = time.time() + 1.5
    while time.time() < deadline and \
            lab.map_has("mxw_block_exact", mapped_key("192.0.2.99")):
        time.sleep(0.5)
    check(not lab.map_has("mxw_block_exact", mapped_key("192.0.2.99")),
          "swept from the map")
    c.close()


def flow_key(client, server, sport, dport):
    """Bytes of an mxw_flow_key (src = client for inbound flows)."""
    return bytes.fromhex("".join(
        mapped_key(client) + mapped_key(server) +
        ["%02x" % b for b in sport.to_bytes(2, "big")] +
        ["%02x" % b for b in dport.to_bytes(2, "big")] +
        ["06", "00", "00", "00"]))


def set_put(lab, name, key, slot_size, slot_bytes):
    """Write a slot for key into its set of an ARRAY-backed cache
    (mxw_conn, mxw_src_bucket) where the fast path looks: the first free
    way, tag last (one map update of the whole set)."""
    seed, masks = lab.table_cfg()
    h = tbl_hash(seed, key)
    i = tbl_idx1(h, masks[name])
    v = bytearray(lab.map_raw(name, idx_key(i)))
    for w in range(SET_WAYS):
        if int.from_bytes(v[4 * w:4 * w + 4], "little") <= 1:
            off = 4 * SET_WAYS + w * slot_size
            v[off:off + slot_size] = slot_bytes
            v[4 * w:4 * w + 4] = tbl_tag(h).to_bytes(4, "little")
            lab.map_update(name, idx_key(i), hexlist(v))
            return
    raise Fail("%s: set %d full" % (name, i))


def set_get(lab, name, key, slot_size):
    """The slot bytes of key in its set, or None."""
    seed, masks = lab.table_cfg()
    h = tbl_hash(seed, key)
    v = lab.map_raw(name, idx_key(tbl_idx1(h, masks[name])))
    klen = len(key)
    koff = 16 if name == "mxw_conn" else 8      # key within the slot
    for w in range(SET_WAYS):
        off = 4 * SET_WAYS + w * slot_size
        if int.from_bytes(v[4 * w:4 * w + 4], "little") == tbl_tag(h) and \
                v[off + koff:off + koff + klen] == key:
            return v[off:off + slot_size]
    return None


def put_flow(lab, key, expires_ns, flags):
    set_put(lab, "mxw_conn", key, FLOW_SLOT,
            flags.to_bytes(4, "little") + bytes(4) +
            expires_ns.to_bytes(8, "little") + key)


def put_src(lab, addr, conns):
    key = bytes.fromhex("".join(mapped_key(addr)))
    set_put(lab, "mxw_src_bucket", key, SRC_SLOT,
            conns.to_bytes(4, "little") + bytes(4) + key + bytes(16))


def src_conns(lab, addr):
    s = set_get(lab, "mxw_src_bucket",
                bytes.fromhex("".join(mapped_key(addr))), SRC_SLOT)
    return None if s is None else int.from_bytes(s[0:4], "little")


def case_conn_reconcile(lab):
    # A flow that ended without a FIN the box saw (expired), still holding
    # one of its source's 3 counted slots (2 more leaked by eviction), and
    # a live flow of another source whose count is right.  The counts live
    # in the sources' mxw_src_bucket slots.
    stale = flow_key("192.0.2.200", "192.0.2.25", 40000, 25)
    live = flow_key("192.0.2.201", "192.0.2.25", 40001, 25)
    mono = time.monotonic_ns()      # CLOCK_MONOTONIC, as bpf_ktime_get_ns
    put_flow(lab, stale, mono - 5 * 10**9, 1)
    put_flow(lab, live, mono + 3600 * 10**9, 1)
    put_src(lab, "192.0.2.200", 3)
    put_src(lab, "192.0.2.201", 1)
    c = lab.conn()
    deadline = time.time() + 8
    while time.time() < deadline and src_conns(lab, "192.0.2.200") != 0:
        time.sleep(0.3)
    check(src_conns(lab, "192.0.2.200") == 0, "leaked count repaired to 0")
    check(set_get(lab, "mxw_conn", stale, FLOW_SLOT) is None,
          "expired flow removed")
    check(set_get(lab, "mxw_conn", live, FLOW_SLOT) is not None,
          "live flow kept")
    check(src_conns(lab, "192.0.2.201") == 1, "correct count untouched")
    st = c.ok("status")["conn_reconcile"]
    check(st["counts_fixed"] >= 1 and st["flows_expired"] >= 1,
          "counted: %r" % st)
    check("CONNCOUNT FIXED for [192.0.2.200]" in lab.log_tail(200),
          "logged")
    c.close()


def case_config_get(lab):
    c = lab.conn()
    r = c.ok("config.get")
    check(r["path"] == lab.cfg_path, "path")
    cfg = r["config"]
    check(cfg["state_dir"] == lab.state_dir, "state_dir")
    check(cfg["control"]["max_request_bytes"] == 4096, "explicit value")
    check(cfg["fastpath"]["mail_ports"] == [25, 465, 587, 110, 995, 143, 993],
          "default value")
    check(cfg["block"] == ["203.0.113.0/24"], "static list")
    r = lab.ctl("config", "get")
    check(r.returncode == 0 and '"mail_ports"' in r.stdout, "mxwallctl")
    c.close()


def case_malformed_unknown(lab):
    c = lab.conn()
    c.send_raw(b'{"id": 7, "cmd": "status"\n')
    rep = c.read_line()
    check(rep["ok"] is False and rep["error"]["code"] == "parse_error",
          "parse_error")
    c.send_raw(b'\x00\xff\xfe garbage\n')
    check(c.read_line()["error"]["code"] == "parse_error", "binary garbage")
    c.send_raw(b'[1, 2, 3]\n')
    check(c.read_line()["error"]["code"] == "invalid_request", "not object")
    rep = c.call("shutdown")
    check(rep["ok"] is False and rep["error"]["code"] == "unknown_command",
          "unknown command")
    c.err("status", "invalid_argument", verbose=True)
    # CRLF framing and blank lines are accepted.
    c.send_raw(b'\r\n\n{"id": "crlf", "cmd": "status"}\r\n')
    rep = c.read_line()
    check(rep["id"] == "crlf" and rep["ok"] is True, "CRLF")
    # The same connection keeps working.
    c.ok("status")
    r = lab.ctl("raw", '{"cmd": "nope"}')
    check(r.returncode == 1 and "unknown_command" in r.stderr, "ctl raw")
    c.close()


def case_oversized(lab):
    c = lab.conn()
    big = b'{"id": 1, "cmd": "status", "pad": "' + b"x" * 6000 + b'"}\n'
    c.send_raw(big)
    rep = c.read_line()
    check(rep["ok"] is False and rep["error"]["code"] == "too_large",
          "too_large: %r" % rep)
    # Exactly at the limit is accepted by the framing (then rejected by
    # the parser for the unknown argument, which proves it was parsed).
    head = b'{"id": 2, "cmd": "status", "pad": "'
    line = head + b"y" * (4096 - len(head) - 2) + b'"}'
    check(len(line) == 4096, "limit-sized line")
    c.send_raw(line + b"\n")
    rep = c.read_line()
    check(rep["id"] == 2 and rep["error"]["code"] == "invalid_argument",
          "a 4096-byte line is parsed: %r" % rep)
    # Several megabytes without a newline, then a good request.
    for _ in range(8):
        c.send_raw(b"z" * (512 * 1024))
    c.send_raw(b'\n{"id": 3, "cmd": "status"}\n')
    rep = c.read_line()
    check(rep["error"]["code"] == "too_large", "one error for the flood")
    rep = c.read_line()
    check(rep["id"] == 3 and rep["ok"] is True, "usable after overflow")
    c.close()


def case_many_clients(lab):
    errors = []

    def worker(n):
        try:
            c = lab.conn()
            for i in range(40):
                a = "10.%d.%d.1" % (n, i)
                r = c.ok("block.add", addr=a, ttl=300)
                if r["addr"] != a:
                    errors.append("client %d: addr %s" % (n, r["addr"]))
                c.ok("block.del", addr=a)
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("client %d: %s" % (n, e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not errors, "; ".join(errors[:5]))
    c = lab.conn()
    check(c.ok("status")["entries"]["block_exact"] == 0,
          "all concurrent adds deleted")
    c.close()


def case_pipelined(lab):
    # Many requests written back to back (replies far above the daemon's
    # 256 KiB output mark) while the replies are read: every reply comes,
    # once, in order.
    c = lab.conn()
    c.s.settimeout(20)
    n = 3000
    reqs = b"".join(b'{"id": %d, "cmd": "metrics"}\n' % i
                    for i in range(1, n + 1))
    t = threading.Thread(target=c.send_raw, args=(reqs,))
    t.start()
    for i in range(1, n + 1):
        rep = c.read_line()
        check(rep["id"] == i and rep["ok"] is True,
              "reply %d in order: %r" % (i, rep.get("id")))
    t.join(10)
    c.ok("status")
    c.close()


def case_stuck_clients(lab):
    # A client that sends half a request and waits.
    half = lab.conn()
    half.send_raw(b'{"id": 1, "cmd": "sta')
    # A client that floods requests and never reads its replies.
    flood = lab.conn()
    flood.s.setblocking(False)
    req = b'{"cmd": "metrics"}\n' * 200
    sent = 0
    t_end = time.time() + 2
    while time.time() < t_end and sent < 40 * len(req):
        try:
            sent += flood.s.send(req)
        except BlockingIOError:
            break
    # Others are served promptly meanwhile.
    c = lab.conn()
    t0 = time.time()
    for _ in range(20):
        c.ok("status")
    dt = time.time() - t0
    check(dt < 2.0, "20 requests took %.2f s next to stuck clients" % dt)
    # After stall_timeout (2 s) both stuck clients are disconnected.
    deadline = time.time() + 8
    clients = None
    while time.time() < deadline:
        clients = c.ok("status")["control"]["clients"]
        if clients == 1:
            break
        time.sleep(0.5)
    check(clients == 1, "stalled clients disconnected (clients=%r)" % clients)
    half.s.settimeout(2)
    check(half.s.recv(100) == b"", "half-request client closed")
    half.close()
    flood.close()
    c.close()


def case_max_clients(lab):
    # Wait until earlier connections are gone, so the count is exact.
    c0 = lab.conn()
    deadline = time.time() + 5
    while time.time() < deadline and \
            c0.ok("status")["control"]["clients"] != 1:
        time.sleep(0.1)
    conns = [c0] + [lab.conn() for _ in range(15)]
    for k in conns:
        k.ok("status")
    extra = lab.conn()
    rep = extra.read_line()
    check(rep["ok"] is False and rep["error"]["code"] == "busy", "busy")
    extra.close()
    for k in conns:
        k.close()
    time.sleep(0.3)
    c = lab.conn()
    c.ok("status")
    c.close()


def _peer_status(sock, uid, gid, groups):
    """status over the socket from a child running as uid/gid with these
    supplementary groups: ("ok", reply), ("refused", reply) or
    ("denied", errno) when the file mode stops the connect."""
    r = subprocess.run(
        [sys.executable, "-c",
         "import os,socket,json,sys\n"
         "os.setgroups(%r); os.setgid(%d); os.setuid(%d)\n"
         "s=socket.socket(socket.AF_UNIX)\n"
         "try:\n"
         "    s.connect(%r)\n"
         "except PermissionError as e:\n"
         "    print(json.dumps({'denied': e.errno})); sys.exit(0)\n"
         "s.settimeout(0.5)\n"
         "try:\n"
         "    first = s.recv(4096)\n"   # a refusal comes unasked
         "except socket.timeout:\n"
         "    first = b''\n"
         "s.settimeout(5)\n"
         "if not first:\n"
         "    s.sendall(b'{\"id\": 1, \"cmd\": \"status\"}\\n')\n"
         "    first = s.makefile('rb').readline()\n"
         "print(first.decode().splitlines()[0])\n" % (groups, gid, uid, sock)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
    check(r.returncode == 0, "peer child ran: " + r.stderr)
    rep = json.loads(r.stdout.strip().splitlines()[0])
    if "denied" in rep:
        return "denied", rep["denied"]
    return ("ok" if rep.get("ok") else "refused"), rep


def case_peer_credentials(lab):
    # Widen the file mode by hand so only SO_PEERCRED stands between an
    # unprivileged peer and the daemon.
    os.chmod(lab.sock, 0o666)
    try:
        got = _peer_status(lab.sock, 65534, 65534, [])
    finally:
        os.chmod(lab.sock, 0o660)
    check(got[0] == "refused" and
          got[1]["error"]["code"] == "permission_denied", "peer refused")


def case_group_member(lab):
    """A non-root member of control.group may use the socket, as its
    primary group or as a supplementary one (getgrouplist); a non-member
    may not.  A throwaway group and user are created and always removed."""
    if not shutil.which("groupadd") or not shutil.which("useradd"):
        print("SKIP case_group_member: groupadd/useradd not installed "
              "(Debian's passwd package)", file=sys.stderr)
        return
    group, user = "mxwt-g%s" % lab.suffix[:8], "mxwt-u%s" % lab.suffix[:8]
    gid = None
    c = lab.conn()
    try:
        run("groupadd", group)
        run("useradd", "-M", "-N", "-g", "nogroup", "-G", group,
            "-s", "/usr/sbin/nologin", user)
        gid = grp.getgrnam(group).gr_gid
        pw = pwd.getpwnam(user)
        nogroup = grp.getgrnam("nogroup").gr_gid
        cfg = json.loads(json.dumps(lab.cfg))
        cfg["control"]["group"] = group
        lab.write_cfg(cfg)
        c.ok("config.reload")
        st = os.stat(lab.sock)
        check(st.st_gid == gid and (st.st_mode & 0o777) == 0o660,
              "socket root:%s 0660 after the reload (gid %d mode %o)"
              % (group, st.st_gid, st.st_mode & 0o777))
        got = _peer_status(lab.sock, pw.pw_uid, nogroup, [gid])
        check(got[0] == "ok", "supplementary member served: %r" % (got,))
        got = _peer_status(lab.sock, 65534, gid, [])
        check(got[0] == "ok", "primary-group member served: %r" % (got,))
        got = _peer_status(lab.sock, 65534, nogroup, [])
        check(got[0] == "denied", "non-member stopped by the mode: %r" % (got,))
        # With the mode widened, SO_PEERCRED alone must tell them apart.
        os.chmod(lab.sock, 0o666)
        try:
            got = _peer_status(lab.sock, 65534, nogroup, [])
            check(got[0] == "refused" and
                  got[1]["error"]["code"] == "permission_denied",
                  "non-member refused by the credential check: %r" % (got,))
            got = _peer_status(lab.sock, pw.pw_uid, nogroup, [gid])
            check(got[0] == "ok", "member still served: %r" % (got,))
        finally:
            os.chmod(lab.sock, 0o660)
    finally:
        lab.write_cfg()
        c.ok("config.reload")
        c.close()
        subprocess.run(["userdel", user], stderr=subprocess.DEVNULL)
        subprocess.run(["groupdel", group], stderr=subprocess.DEVNULL)
    check(os.stat(lab.sock).st_gid != gid, "socket back to the default group")


def case_sighup(lab):
    c = lab.conn()
    gen0 = c.ok("status")["generation"]
    # Good file.
    cfg = json.loads(json.dumps(lab.cfg))
    cfg["fastpath"]["syn"]["per_source"] = {"rate": 7, "burst": 9}
    cfg["block"] = ["203.0.113.0/24", "198.18.0.0/15"]
    lab.write_cfg(cfg)
    lab.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and c.ok("status")["generation"] == gen0:
        time.sleep(0.1)
    st = c.ok("status")
    check(st["generation"] == gen0 + 1, "generation bumped")
    got = c.ok("config.get")["config"]
    check(got["fastpath"]["syn"]["per_source"] == {"rate": 7, "burst": 9},
          "new value running")
    check(lab.map_has("mxw_block_lpm", lpm_key("198.18.0.0/15")),
          "new static block in the map")
    # Bad file: rejected, running config stays.
    failed0 = st["reloads"]["failed"]
    lab.write_cfg(text='{"interfaces": {"outside": "xo", "inside": "xi"}, '
                  '"fastpath": {"syn": {"per_source": {"rate": -1}}}}')
    lab.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and \
            c.ok("status")["reloads"]["failed"] == failed0:
        time.sleep(0.1)
    st = c.ok("status")
    check(st["reloads"]["failed"] == failed0 + 1, "bad reload counted")
    check("fastpath.syn.per_source.rate" in st["reloads"]["last_error"],
          "error names the key")
    check(st["generation"] == gen0 + 1, "generation unchanged")
    got = c.ok("config.get")["config"]
    check(got["fastpath"]["syn"]["per_source"]["rate"] == 7, "config kept")
    # config.reload over the socket: bad file, restart-only key, good.
    e = c.err("config.reload", "config_error")
    check("fastpath.syn.per_source.rate" in e["message"], "socket reload")
    cfg2 = json.loads(json.dumps(cfg))
    cfg2["interfaces"]["inside"] = "xip"
    lab.write_cfg(cfg2)
    e = c.err("config.reload", "config_error")
    check(e["message"].startswith("interfaces.inside"), "restart key")
    lab.write_cfg(cfg={**lab.cfg})      # back to the original
    r = c.ok("config.reload")
    check(r["generation"] == gen0 + 2, "socket reload applies")
    check(not lab.map_has("mxw_block_lpm", lpm_key("198.18.0.0/15")),
          "static entry dropped from the file is removed")
    check(lab.map_has("mxw_block_lpm", lpm_key("203.0.113.0/24")),
          "static entry kept")
    r = lab.ctl("config", "reload")
    check(r.returncode == 0 and "reloaded" in r.stdout, "mxwallctl reload")
    c.close()


def case_restart_reuses_pins(lab):
    c = lab.conn()
    c.ok("block.add", addr="198.51.100.0/24", ttl=3600)
    c.ok("block.add", addr="2001:db8:dead::5")
    c.close()
    prog0 = lab.xdp_prog_id("xo")
    prog0_in = lab.xdp_prog_id("xi")
    check(lab.stop() == 0, "clean exit")
    # Default: the filter stays attached while the daemon is down.
    check(lab.xdp_prog_id("xo") == prog0 and lab.xdp_prog_id("xi") == prog0_in,
          "still attached while down")
    check(lab.map_has("mxw_block_lpm", lpm_key("198.51.100.0/24")),
          "block in the pinned map while down")
    lab.start()
    prog1 = lab.xdp_prog_id("xo")
    check(prog1 and prog1 != prog0, "program replaced (%r -> %r)"
          % (prog0, prog1))
    prog1_in = lab.xdp_prog_id("xi")
    check(prog1_in and prog1_in not in (prog0, prog0_in, prog1),
          "the inside port runs the new instance's own program (%r -> %r)"
          % (prog0_in, prog1_in))
    c = lab.conn()
    st = c.ok("status")
    check(st["bpf"]["pins_reused"] is True, "pins reused")
    lst = {e["addr"]: e for e in c.ok("block.list")["entries"]}
    check("198.51.100.0/24" in lst and "2001:db8:dead::5" in lst,
          "blocks survive the restart")
    check(0 < lst["198.51.100.0/24"]["ttl"] <= 3600, "TTL kept")
    check("replaced atomically" in lab.log_tail(), "REPLACE path logged")
    c.close()


def case_restore_from_state(lab):
    check(lab.stop() == 0, "clean exit")
    state = json.load(open(os.path.join(lab.state_dir, "lists.json")))
    saved = {e["addr"] for e in state["entries"]}
    check("198.51.100.0/24" in saved and "2001:db8:dead::5" in saved,
          "state file holds the blocks")
    check("203.0.113.0/24" not in saved, "static entries are not state")
    # As after a reboot: the pins are gone.
    shutil.rmtree(lab.pin_dir)
    lab.start()
    c = lab.conn()
    st = c.ok("status")
    check(st["bpf"]["pins_reused"] is False, "fresh maps")
    lst = {e["addr"]: e for e in c.ok("block.list")["entries"]}
    check("198.51.100.0/24" in lst and "2001:db8:dead::5" in lst,
          "blocks restored from the state file")
    check(lst["198.51.100.0/24"]["reason"] == "manual", "reason restored")
    check(3000 < lst["198.51.100.0/24"]["ttl"] <= 3600, "TTL restored")
    check(lst["2001:db8:dead::5"]["ttl"] == 0, "permanent stays permanent")
    check(lab.map_has("mxw_block_lpm", lpm_key("198.51.100.0/24")),
          "restored into the map")
    check("192.0.2.25" in [e["addr"] for e in c.ok("allow.list")["entries"]],
          "allowlist restored")
    c.close()


def case_state_survives_kill9(lab):
    # The state file is written in the background while running, so a
    # daemon killed without warning loses at most the last second.
    c = lab.conn()
    c.ok("block.add", addr="192.0.2.144", ttl=7200)
    c.close()
    path = os.path.join(lab.state_dir, "lists.json")
    deadline = time.time() + 5
    found = False
    while time.time() < deadline and not found:
        try:
            found = "192.0.2.144" in open(path).read()
        except OSError:
            pass
        time.sleep(0.2)
    check(found, "state file has the new block while running")
    c = lab.conn()
    st = c.ok("status")["state"]
    check(st["written"] > 0 and st["last_error"] is None, "status.state")
    c.close()
    lab.stop(signal.SIGKILL)
    shutil.rmtree(lab.pin_dir)
    lab.start()
    c = lab.conn()
    addrs = [e["addr"] for e in c.ok("block.list")["entries"]]
    check("192.0.2.144" in addrs, "restored after kill -9 and lost pins")
    c.close()


def mxwalld_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def case_kill9_during_state_write(lab):
    # A daemon killed while its background writer runs: the writer must
    # die with it (it holds the state directory's lock and the one
    # temporary file), the next start must not be refused, and the file
    # on disk is the last complete write.
    n = 300000
    check(lab.stop() == 0, "clean exit")
    path = os.path.join(lab.state_dir, "lists.json")
    now = int(time.time())
    entries = [{"list": "block", "addr": "10.%d.%d.%d" % (i >> 16,
                (i >> 8) & 255, i & 255), "expires": 0, "created": now,
                "reason": "manual", "flags": 0} for i in range(n)]
    with open(path, "w") as f:
        json.dump({"version": 1, "written": now, "entries": entries}, f)
    shutil.rmtree(lab.pin_dir)
    lab.start()
    c = lab.conn()
    check(c.ok("status")["entries"]["block_exact"] == n, "state restored")
    c.close()
    child = None
    for attempt in range(5):
        c = lab.conn()
        c.ok("block.add", addr="192.0.2.%d" % (150 + attempt))
        c.close()
        deadline = time.time() + 3
        while time.time() < deadline and not child:
            kids = mxwalld_children(lab.proc.pid)
            child = kids[0] if kids else None
            if not child:
                time.sleep(0.001)
        if child:
            break
    check(child is not None, "a background state write was caught")
    lab.stop(signal.SIGKILL)
    # A write of this size takes several hundred ms; the writer must be
    # gone well before it could have finished on its own.
    deadline = time.time() + 0.1
    while time.time() < deadline and pid_alive(child):
        time.sleep(0.01)
    check(not pid_alive(child), "the writer died with its parent")
    t0 = time.time()
    lab.start()
    check(time.time() - t0 < 15, "restart not held up by the old writer")
    state = json.load(open(path))
    check(len(state["entries"]) >= n, "state file is a complete write")
    c = lab.conn()
    check(c.ok("status")["entries"]["block_exact"] >= n,
          "restored after kill -9 during a write")
    c.close()
    # Leave the lists as the next cases expect them.
    check(lab.stop() == 0, "clean exit")
    with open(path, "w") as f:
        json.dump({"version": 1, "written": now, "entries": []}, f)
    shutil.rmtree(lab.pin_dir)
    lab.start()


def case_corrupt_state(lab):
    check(lab.stop() == 0, "clean exit")
    path = os.path.join(lab.state_dir, "lists.json")
    with open(path, "w") as f:
        f.write('{"version": 1, "entries": [{"list": "block"')
    shutil.rmtree(lab.pin_dir)
    lab.start()
    c = lab.conn()
    check(c.ok("status")["entries"]["block_exact"] == 0, "empty lists")
    c.close()
    bad = [n for n in os.listdir(lab.state_dir) if ".bad-" in n]
    check(len(bad) == 1, "corrupt file kept aside")


def case_detach_on_exit(lab):
    lab.cfg["bpf"]["detach_on_exit"] = True
    lab.write_cfg()
    c = lab.conn()
    c.ok("config.reload")
    c.close()
    check(lab.stop() == 0, "clean exit")
    check(lab.xdp_prog_id("xo") is None and lab.xdp_prog_id("xi") is None,
          "detached on exit")


def case_check_config(lab):
    r = run(lab.mxwalld, "--check-config", lab.cfg_path, ok=False)
    check(r.returncode == 0, "valid config accepted")
    bad = os.path.join(lab.tmp, "bad.json")
    with open(bad, "w") as f:
        f.write('{"interfaces": {"outside": "a", "inside": "b"}, '
                '"fastpath": {"syn": {"per_source": {"rate": 1.5}}}}')
    r = run(lab.mxwalld, "--check-config", bad, ok=False)
    check(r.returncode == 1, "invalid config rejected")
    check("fastpath.syn.per_source.rate: must be an integer 0..10000000"
          in r.stderr, "message names the key: " + r.stderr)


def read_event(conn, want_type=None, timeout=5.0):
    """Next line that is an event (has "type"), optionally of one type;
    replies interleaved on the connection are skipped."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        conn.s.settimeout(max(0.05, deadline - time.time()))
        try:
            ev = conn.read_line()
        except socket.timeout:
            break
        if "type" not in ev:
            continue
        check(RFC3339_MS.match(ev.get("time", "")), "time: %r" % ev)
        if want_type is None or ev["type"] == want_type:
            return ev
    raise Fail("no %s event within %.1f s" % (want_type or "", timeout))


def no_event(conn, wait=0.5):
    conn.s.settimeout(wait)
    try:
        line = conn.read_line()
    except socket.timeout:
        return
    raise Fail("unexpected line %r" % line)


def case_events_block_unblock(lab):
    sub = lab.conn()
    r = sub.ok("events.subscribe")
    check(r["types"] == ["violation", "audit", "block", "unblock", "lost",
                         "reload"], "all types by default: %r" % r)
    check(r["subscribers"] == 1, "one subscriber")
    c = lab.conn()
    check(c.ok("status")["control"]["subscribers"] == 1, "status counts it")
    c.ok("block.add", addr="192.0.2.60", ttl=1, reason="policy")
    ev = read_event(sub)
    check(ev["type"] == "block" and ev["addr"] == "192.0.2.60" and
          ev["ttl"] == 1 and ev["reason"] == "policy" and
          ev["source"] == "manual" and ev["list"] == "block" and
          ev["shadow"] is False and "latency_us" not in ev,
          "block event: %r" % ev)
    c.ok("block.add", addr="198.51.100.0/24", shadow=True)
    c.ok("block.del", addr="198.51.100.0/24")
    ev = read_event(sub)
    check(ev["type"] == "block" and ev["addr"] == "198.51.100.0/24" and
          ev["ttl"] == 0 and ev["shadow"] is True, "prefix block %r" % ev)
    ev = read_event(sub)
    check(ev["type"] == "unblock" and ev["addr"] == "198.51.100.0/24" and
          ev["source"] == "manual" and ev["shadow"] is True,
          "manual unblock %r" % ev)
    # a failed del publishes nothing
    c.err("block.del", "not_found", addr="198.51.100.0/24")
    c.ok("allow.add", addr="192.0.2.61")
    ev = read_event(sub)
    check(ev["type"] == "block" and ev["list"] == "allow" and
          ev["addr"] == "192.0.2.61", "allow.add event %r" % ev)
    c.ok("allow.del", addr="192.0.2.61")
    ev = read_event(sub)
    check(ev["type"] == "unblock" and ev["list"] == "allow",
          "allow.del event %r" % ev)
    # the TTL sweep: unblock with source expiry, within ~1 s of the TTL
    ev = read_event(sub, "unblock", timeout=4)
    check(ev["addr"] == "192.0.2.60" and ev["source"] == "expiry" and
          ev["reason"] == "policy", "expiry unblock %r" % ev)
    # a subscriber may still send requests on the same connection
    check(sub.ok("status")["pid"] > 0, "request on a subscribed connection")
    c.ok("config.reload")
    ev = read_event(sub, "reload")
    check(ev["ok"] is True and ev["generation"] > 0 and
          ev["error"] is None, "reload event %r" % ev)
    st = c.ok("stats")["events"]
    check(st["published"]["block"] >= 3 and st["published"]["unblock"] >= 3
          and st["published"]["reload"] >= 1 and st["subscribers"] == 1,
          "event counters %r" % st)
    sub.close()
    time.sleep(0.2)
    check(c.ok("status")["control"]["subscribers"] == 0,
          "unsubscribed by closing")
    c.close()


def case_events_filter(lab):
    c = lab.conn()
    for bad in ([], ["nope"], "block", ["block", "block"], [1]):
        c.err("events.subscribe", "invalid_argument", types=bad)
    c.err("events.subscribe", "invalid_argument", limit=3)
    only = lab.conn()
    r = only.ok("events.subscribe", types=["unblock"])
    check(r["types"] == ["unblock"], "filter echoed: %r" % r)
    both = lab.conn()
    check(both.ok("events.subscribe")["subscribers"] == 2, "two subscribers")
    c.ok("block.add", addr="192.0.2.62")
    c.ok("block.del", addr="192.0.2.62")
    ev = read_event(only)
    check(ev["type"] == "unblock" and ev["addr"] == "192.0.2.62",
          "filtered subscriber gets only unblock: %r" % ev)
    no_event(only)
    check(read_event(both)["type"] == "block", "second subscriber: block")
    check(read_event(both)["type"] == "unblock", "second subscriber: unblock")
    # re-subscribing changes the filter, not the count
    r = only.ok("events.subscribe", types=["block", "reload"])
    check(r["subscribers"] == 2 and r["types"] == ["block", "reload"],
          "re-subscribe: %r" % r)
    c.ok("block.add", addr="192.0.2.63")
    c.ok("block.del", addr="192.0.2.63")
    check(read_event(only)["type"] == "block", "new filter applies")
    no_event(only)
    only.close()
    both.close()
    c.close()


def case_events_slow_subscriber(lab):
    slow = lab.conn()
    slow.ok("events.subscribe", types=["block", "unblock"])
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c = lab.conn()
    other = lab.conn()
    # ~4000 events of ~200 bytes: more than the 256 KiB the daemon keeps
    # for a subscriber plus what the socket holds.
    n, batch = 2000, 100
    t0 = time.time()
    worst = 0.0
    for b in range(0, n, batch):
        reqs = b""
        for i in range(b, b + batch):
            a = "2001:db8:5::%x" % i
            reqs += json.dumps({"id": i, "cmd": "block.add", "addr": a,
                                "reason": "manual"}).encode() + b"\n"
            reqs += json.dumps({"id": i, "cmd": "block.del",
                                "addr": a}).encode() + b"\n"
        c.send_raw(reqs)
        for _ in range(2 * batch):
            rep = c.read_line()
            check(rep.get("ok") is True, "flood request: %r" % rep)
        t1 = time.time()
        other.ok("status")
        worst = max(worst, time.time() - t1)
    flood_s = time.time() - t0
    check(worst < 0.5, "other client served within %.2f s" % worst)
    check(flood_s < 1.8, "flood took %.2f s (stall_timeout is 2 s)"
          % flood_s)
    st = other.ok("stats")["events"]
    check(st["dropped"] > 0, "events dropped for the slow subscriber: %r"
          % st)
    # the slow subscriber drains: events, then one "lost" with the count
    got, lost = 0, None
    deadline = time.time() + 10
    while lost is None and time.time() < deadline:
        ev = read_event(slow)
        if ev["type"] == "lost":
            lost = ev
        else:
            got += 1
    check(lost is not None, "lost event after %d events" % got)
    check(got > 1000, "events up to the bound delivered (%d)" % got)
    check(lost["count"] + got == 2 * n and lost["count"] == st["dropped"],
          "lost count %d + delivered %d == %d published (dropped %d)"
          % (lost["count"], got, 2 * n, st["dropped"]))
    # and it receives again
    c.ok("block.add", addr="192.0.2.64")
    ev = read_event(slow)
    check(ev["type"] == "block" and ev["addr"] == "192.0.2.64",
          "events flow again after lost: %r" % ev)
    c.ok("block.del", addr="192.0.2.64")
    check(other.ok("status")["control"]["subscribers"] == 1, "still there")
    slow.close()
    other.close()
    c.close()


def case_events_subscriber_limit(lab):
    """32 subscribers at most; the 33rd gets busy and its connection stays
    usable.  max_clients is raised by a reload for this and restored."""
    c = lab.conn()
    cfg = json.loads(json.dumps(lab.cfg))
    cfg["control"]["max_clients"] = 40
    lab.write_cfg(cfg)
    c.ok("config.reload")
    subs = []
    try:
        for i in range(32):
            k = lab.conn()
            check(k.ok("events.subscribe", types=["reload"])["subscribers"]
                  == i + 1, "subscriber %d" % (i + 1))
            subs.append(k)
        extra = lab.conn()
        e = extra.err("events.subscribe", "busy")
        check("subscribers" in e["message"], "says why: %r" % e)
        check(extra.ok("status")["control"]["subscribers"] == 32,
              "busy connection still usable")
        extra.close()
        subs.pop().close()
        k = lab.conn()
        deadline = time.time() + 3
        while time.time() < deadline and \
                k.ok("status")["control"]["subscribers"] != 31:
            time.sleep(0.05)
        check(k.ok("events.subscribe", types=["reload"])["subscribers"] == 32,
              "slot freed by closing")
        subs.append(k)
        # every subscriber gets the reload event that restores the config
        lab.write_cfg()
        c.ok("config.reload")
        for k in subs:
            ev = read_event(k, "reload")
            check(ev["ok"] is True, "reload event %r" % ev)
    finally:
        for k in subs:
            k.close()
        lab.write_cfg()
        c.ok("config.reload")
    c.close()


def case_events_config_reload(lab):
    sub = lab.conn()
    sub.ok("events.subscribe", types=["block", "unblock", "reload"])
    c = lab.conn()
    cfg = json.loads(json.dumps(lab.cfg))
    cfg["block"] = cfg["block"] + ["198.18.0.0/15"]
    cfg["allow"] = ["192.0.2.200"]
    lab.write_cfg(cfg)
    c.ok("config.reload")
    got = {}
    for _ in range(3):
        ev = read_event(sub)
        got[(ev["type"], ev.get("addr"))] = ev
    b = got.get(("block", "198.18.0.0/15"))
    check(b and b["source"] == "config" and b["reason"] == "config" and
          b["list"] == "block" and b["ttl"] == 0, "static block: %r" % got)
    a = got.get(("block", "192.0.2.200"))
    check(a and a["list"] == "allow" and a["source"] == "config",
          "static allow: %r" % got)
    check(got.get(("reload", None), {}).get("ok") is True, "reload event")
    check(("block", "203.0.113.0/24") not in got, "unchanged entry silent")
    lab.write_cfg()
    c.ok("config.reload")
    got = {}
    for _ in range(3):
        ev = read_event(sub)
        got[(ev["type"], ev.get("addr"))] = ev
    check(got.get(("unblock", "198.18.0.0/15"), {}).get("source") ==
          "config", "static entry dropped: %r" % got)
    check(got.get(("unblock", "192.0.2.200"), {}).get("list") == "allow",
          "static allow dropped: %r" % got)
    lab.write_cfg(text="{")
    c.err("config.reload", "config_error")
    ev = read_event(sub, "reload")
    check(ev["ok"] is False and ev["error"], "rejected reload: %r" % ev)
    no_event(sub, 0.3)
    lab.write_cfg()
    sub.close()
    c.close()


SEND_FRAMES = r"""
import sys, time
from scapy.all import Ether, IP, TCP, Raw, sendp
# argv: client port, then "C:text" / "S:text" lines in conversation order
cport = int(sys.argv[1])
c = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
    IP(src="203.0.113.77", dst="192.0.2.25")
s = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") / \
    IP(src="192.0.2.25", dst="203.0.113.77")
cseq, sseq = 1000, 5000
frames = [("xop", c / TCP(sport=cport, dport=25, flags="S", seq=cseq)),
          ("xip", s / TCP(sport=25, dport=cport, flags="SA", seq=sseq,
                          ack=cseq + 1))]
cseq, sseq = cseq + 1, sseq + 1
for arg in sys.argv[2:]:
    data = arg[2:].encode() + b"\r\n"
    if arg[0] == "C":
        frames.append(("xop", c / TCP(sport=cport, dport=25, flags="PA",
                                      seq=cseq, ack=sseq) / Raw(data)))
        cseq += len(data)
    else:
        frames.append(("xip", s / TCP(sport=25, dport=cport, flags="PA",
                                      seq=sseq, ack=cseq) / Raw(data)))
        sseq += len(data)
for iface, f in frames:
    sendp(f, iface=iface, verbose=False)
    time.sleep(0.05)
"""


def case_inspection_sessions_events(lab):
    """With inspection on, a scripted SMTP exchange (scapy frames on both
    ports): the VRFY as a violation event, the banner's version as an
    audit finding, the session in sessions.list, the checks in stats, and
    the policy block it earns with its latency (event, stats, metrics)."""
    if not os.path.exists("/usr/bin/python3") or run(
            "/usr/bin/python3", "-c", "import scapy", ok=False).returncode:
        print("# skipped: needs scapy for /usr/bin/python3")
        return
    saved = json.loads(json.dumps(lab.cfg))
    # small rings: the UMEM counts against RLIMIT_MEMLOCK (8 MiB here)
    lab.cfg["inspection"] = {"enabled": True, "ndpi": False,
                             "heartbeat_ms": 250, "ring_size": 256,
                             "queues": 1}
    # one VRFY reaches the threshold: a policy block with its latency
    lab.cfg["policy"] = {"weights": {"vrfy": 10}, "threshold": 10}
    # the client is 203.0.113.77: keep it out of the static blocklist
    lab.cfg["block"] = []
    lab.stop()
    try:
        lab.start()
        c = lab.conn()
        st = c.ok("status")
        check(st["inspection"] == "running", "inspection running: %r"
              % st["inspection"])
        sub = lab.conn()
        sub.ok("events.subscribe", types=["violation", "block"])
        run("nsenter", "--net=/run/netns/" + lab.ns, "/usr/bin/python3",
            "-c", SEND_FRAMES, "40025",
            "S:220 mx.example.org ESMTP Postfix 3.7.11",
            "C:EHLO c.example", "S:250 mx.example.org", "C:VRFY root")
        ev = read_event(sub, "violation")
        check(ev["client"] == "203.0.113.77" and ev["client_port"] == 40025
              and ev["server"] == "192.0.2.25" and ev["server_port"] == 25
              and ev["check"] == "vrfy" and ev["command"] == "VRFY" and
              ev["arg"] == "root" and ev["action"] == "score" and
              ev["dir"] == "client" and ev["proto"] == "smtp" and
              ev["counters"]["commands"] == 2 and ev["session"] > 0,
              "violation event: %r" % ev)
        # the banner's version is an audit finding about the server
        deadline = time.time() + 3
        findings = []
        while time.time() < deadline and not findings:
            findings = c.ok("audit")["findings"]
            time.sleep(0.1)
        check(len(findings) == 1 and findings[0]["server"] == "192.0.2.25"
              and findings[0]["check"] == "audit_banner_version" and
              findings[0]["count"] == 1 and
              "Postfix 3.7.11" in findings[0]["example"],
              "audit finding: %r" % findings)
        ev = read_event(sub, "block")
        check(ev["addr"] == "203.0.113.77" and ev["source"] == "policy" and
              ev["reason"] == "policy" and ev["list"] == "block" and
              ev["ttl"] > 0 and ev["shadow"] is False and
              isinstance(ev.get("latency_us"), int) and
              0 <= ev["latency_us"] < 10000000, "policy block event: %r" % ev)
        lat = c.ok("stats")["inspection"]["block_latency_us"]
        check(lat["count"] == 1 and lat["p50"] is not None and
              lat["p99"] >= lat["p50"] and lat["max"] <= lat["p99"] and
              lat["last"] <= lat["p50"] <= 2 * lat["last"] + 0.001,
              "block latency in stats: %r" % lat)
        prom = parse_prometheus(c.ok("metrics"))
        check(prom[("mxwall_block_latency_measured_total", ())] == 1 and
              prom[("mxwall_block_latency_microseconds",
                    (("quantile", "0.99"),))] == lat["p99"],
              "block latency in metrics")
        ses = c.ok("sessions.list")
        check(ses["inspection"] == "running" and ses["count"] >= 1,
              "a session listed: %r" % ses)
        s0 = [x for x in ses["sessions"] if x["client_port"] == 40025]
        check(s0 and s0[0]["client"] == "203.0.113.77" and
              s0[0]["commands"] >= 2 and s0[0]["proto"] == "smtp" and
              RFC3339_MS.match(s0[0]["started"]), "session fields: %r"
              % ses)
        stats = c.ok("stats")
        check(stats["checks"]["vrfy"] >= 1 and
              stats["inspection"]["state"] == "running" and
              stats["inspection"]["frames"] >= 3, "stats: %r"
              % stats["inspection"])
        r = lab.ctl("sessions")
        check("[203.0.113.77]:40025" in r.stdout,
              "mxwallctl sessions: " + r.stdout)
        r = lab.ctl("audit")
        check("audit_banner_version" in r.stdout, "mxwallctl audit: " +
              r.stdout)
        sub.close()
        c.close()
    finally:
        # the policy block outlives the daemon (pinned maps): later
        # cases count the blocklist
        try:
            k = lab.conn()
            k.call("block.del", addr="203.0.113.77")
            k.close()
        except (OSError, Fail):
            pass
        lab.cfg = saved
        lab.stop()


def case_sessions_audit_disabled(lab):
    c = lab.conn()
    r = c.ok("sessions.list")
    check(r["inspection"] == "disabled" and r["sessions"] == [] and
          r["limit"] == 1000, "sessions.list disabled: %r" % r)
    check(c.ok("sessions.list", limit=100000)["limit"] == 100000, "max")
    for bad in (0, 100001, "5", -1):
        c.err("sessions.list", "invalid_argument", limit=bad)
    c.err("sessions.list", "invalid_argument", offset=1)
    a = c.ok("audit")
    check(a == {"findings": [], "overflow": 0}, "audit empty: %r" % a)
    c.err("audit", "invalid_argument", limit=1)
    check(c.ok("status")["inspection"] == "disabled", "status inspection")
    r = lab.ctl("sessions")
    check(r.returncode == 0 and "inspection is disabled" in r.stdout and
          "(0 sessions)" in r.stdout, "mxwallctl sessions: " + r.stdout)
    r = lab.ctl("audit")
    check(r.returncode == 0 and "(0 findings)" in r.stdout,
          "mxwallctl audit: " + r.stdout)
    r = lab.ctl("sessions", "--limit", "x")
    check(r.returncode == 2, "bad --limit is a usage error")
    c.close()


def wait_subscribers(c, n):
    deadline = time.time() + 5
    while time.time() < deadline:
        if c.ok("status")["control"]["subscribers"] == n:
            return
        time.sleep(0.05)
    raise Fail("subscribers never reached %d" % n)


def read_proc_line(proc, timeout=5.0):
    """One stdout line of a child, or Fail after timeout."""
    out = []

    def rd():
        out.append(proc.stdout.readline())
    t = threading.Thread(target=rd, daemon=True)
    t.start()
    t.join(timeout)
    if not out or not out[0]:
        raise Fail("no line from %s within %.1f s" % (proc.args, timeout))
    return out[0]


def case_mxwallctl_events(lab):
    c = lab.conn()
    human = subprocess.Popen([lab.mxwallctl, "-s", lab.sock, "events",
                              "--types", "block,unblock"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    raw = subprocess.Popen([lab.mxwallctl, "-s", lab.sock, "-j", "events"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        wait_subscribers(c, 2)
        rep = json.loads(read_proc_line(raw))
        check(rep["ok"] is True and "types" in rep["result"],
              "-j prints the reply first: %r" % rep)
        c.ok("block.add", addr="192.0.2.65", ttl=60)
        line = read_proc_line(human)
        check(re.match(r"^\S+Z block .*addr=192\.0\.2\.65 .*ttl=60 ",
                       line) and "source=manual" in line,
              "human event line: %r" % line)
        ev = json.loads(read_proc_line(raw))
        check(ev["type"] == "block" and ev["addr"] == "192.0.2.65",
              "raw event line: %r" % ev)
        c.ok("block.del", addr="192.0.2.65")
        check(" unblock " in read_proc_line(human), "unblock line")
    finally:
        for p in (human, raw):
            p.send_signal(signal.SIGINT)
            p.wait(timeout=5)
    wait_subscribers(c, 0)
    r = lab.ctl("events", "--types", "block,nope")
    check(r.returncode == 1 and "invalid_argument" in r.stderr,
          "bad type: rc %d %s" % (r.returncode, r.stderr))
    r = lab.ctl("events", "--types", "")
    check(r.returncode == 2, "empty --types is a usage error")
    c.close()


CASES = [
    case_check_config,
    case_status,
    case_second_instance,
    case_stats,
    case_metrics,
    case_mxwallctl,
    case_block_add_list_del,
    case_shadow,
    case_table_full,
    case_allow,
    case_ttl_expiry,
    case_events_block_unblock,
    case_events_filter,
    case_events_slow_subscriber,
    case_events_subscriber_limit,
    case_events_config_reload,
    case_sessions_audit_disabled,
    case_mxwallctl_events,
    case_inspection_sessions_events,
    case_conn_reconcile,
    case_config_get,
    case_malformed_unknown,
    case_oversized,
    case_many_clients,
    case_pipelined,
    case_stuck_clients,
    case_max_clients,
    case_peer_credentials,
    case_group_member,
    case_sighup,
    case_restart_reuses_pins,
    case_restore_from_state,
    case_state_survives_kill9,
    case_kill9_during_state_write,
    case_corrupt_state,
    case_detach_on_exit,
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxwalld", required=True)
    ap.add_argument("--mxwallctl", required=True)
    ap.add_argument("-k", help="run only cases whose name contains this")
    args = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root (network namespaces, XDP, bpffs)")
    for tool in ("ip", "nsenter", "bpftool", "mount"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            skip("needs %s" % tool)
    os.environ["PATH"] += ":/usr/sbin:/sbin"
    lab = Lab(os.path.abspath(args.mxwalld), os.path.abspath(args.mxwallctl))
    failed = 0
    try:
        lab.start()
        for case in CASES:
            if args.k and args.k not in case.__name__:
                continue
            if lab.proc is None and case is not case_check_config:
                lab.start()
            t0 = time.time()
            try:
                case(lab)
                print("ok   %-28s %.2fs" % (case.__name__, time.time() - t0))
            except Exception as e:  # noqa: BLE001 - every failure reported
                failed += 1
                print("FAIL %-28s %s" % (case.__name__, e))
                traceback.print_exc()
                print(lab.log_tail(), file=sys.stderr)
    finally:
        lab.cleanup()
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
