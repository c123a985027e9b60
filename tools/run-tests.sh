#!/usr/bin/env bash
# run-tests.sh - THE test command: set up a fresh Debian 12 machine and run
# every test suite.  Run as root from anywhere in the tree:
#
#   ./tools/run-tests.sh
#
# 1. tools/install-deps.sh (skipped when not root or MXW_SKIP_INSTALL=1);
# 2. build/      -Dwerror=true                      -> all suites
#    build-asan/ -Dwerror=true + ASan/UBSan          -> unit, fuzz, control
#    (benchmarks are meson benchmark()s and never run here);
# 3. reads both meson-logs/testlog.json, prints the logs of failing tests and,
#    as the LAST line, "N passed, N failed" (", N skipped" when tests exited
#    77).  Exit status non-zero on any failure or when no test passed.
#
# Counting: OK and EXPECTEDFAIL are passed; FAIL, TIMEOUT, ERROR and
# UNEXPECTEDPASS are failed (an expected failure that starts passing must be
# looked at); SKIP is skipped.  A build that fails counts as one failure.
#
# Environment: MXW_SKIP_INSTALL=1 (no apt-get), MXW_SUITES="unit bpf" (only
# these suites in build/), MXW_NO_ASAN=1 (skip build-asan), MXW_JOBS=N,
# MXW_BUILD_DIR / MXW_ASAN_DIR (other build directory names).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${MXW_JOBS:-$(nproc)}
ASAN_SUITES=(unit fuzz control)
BUILD=${MXW_BUILD_DIR:-build}
ASAN=${MXW_ASAN_DIR:-build-asan}
STARTED=$(date +%s)

say() { printf '\n=== %s [%ss] ===\n' "$*" "$(($(date +%s) - STARTED))"; }

# ------------------------------------------------------------ dependencies
if [[ $(id -u) -eq 0 ]]; then
	say "installing dependencies"
	"$ROOT/tools/install-deps.sh"
else
	echo "run-tests: not root: dependencies not installed, root-only suites will be skipped" >&2
fi

# ------------------------------------------------------------ build
build_failed=()

# configure DIR OPTIONS...: fresh setup, or reconfigure an existing tree.
configure() {
	local dir=$1
	shift
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$dir" "$@"
	else
		rm -rf "$dir"
		meson setup "$dir" "$@"
	fi
}

build() {
	local dir=$1
	shift
	say "configuring and building $dir ($*)"
	if ! configure "$dir" "$@" || ! meson compile -C "$dir" -j "$JOBS"; then
		echo "run-tests: BUILD FAILED in $dir" >&2
		build_failed+=("$dir")
		return 1
	fi
}

# Suites that have at least one test in build dir $1.
suites_in() {
	meson introspect --tests "$1" |
		/usr/bin/python3 -c 'import json,sys
s = set()
for t in json.load(sys.stdin):
    s.update(x.split(":")[-1] for x in t["suite"])
print(" ".join(sorted(s)))'
}

# run_suites DIR SUITE...: meson test over the given suites (all if none).
run_suites() {
	local dir=$1
	shift
	local args=() have s
	have=" $(suites_in "$dir") "
	for s in "$@"; do
		if [[ $have == *" $s "* ]]; then
			args+=(--suite "$s")
		else
			echo "run-tests: $dir: suite '$s' has no tests yet"
		fi
	done
	if (($# > 0 && ${#args[@]} == 0)); then
		return 0
	fi
	rm -f "$dir/meson-logs/testlog.json"
	say "meson test in $dir (${*:-all suites})"
	meson test -C "$dir" --no-rebuild --num-processes "$JOBS" "${args[@]}" || true
}

logs=()
if build "$BUILD" -Dwerror=true; then
	read -r -a suites <<<"${MXW_SUITES:-}"
	run_suites "$BUILD" "${suites[@]}"
	logs+=("$BUILD/meson-logs/testlog.json")
fi
if [[ ${MXW_NO_ASAN:-0} != 1 ]]; then
	if build "$ASAN" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
			run_suites "$ASAN" "${ASAN_SUITES[@]}"
		logs+=("$ASAN/meson-logs/testlog.json")
	fi
fi

leftover=$(ip netns list 2>/dev/null | grep -c '^mxw-' || true)
if ((leftover > 0)); then
	echo "run-tests: WARNING: $leftover mxw-* network namespaces left behind:" >&2
	ip netns list | grep '^mxw-' >&2
fi

# ------------------------------------------------------------ summary
say "summary"
/usr/bin/python3 - "${#build_failed[@]}" "${build_failed[@]}" -- "${logs[@]}" <<'EOF'
import json, os, sys

args = sys.argv[1:]
nbuild = int(args[0])
failed_builds = args[1:1 + nbuild]
logs = args[args.index("--") + 1:]

PASS = {"OK", "EXPECTEDFAIL"}
FAIL = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"}
passed, failed, skipped = [], [], []
LOG_TAIL = 120

for path in logs:
    tree = path.split("/")[0]
    if not os.path.exists(path):
        continue
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                t = json.loads(line)
            except ValueError:
                continue
            name = "%s: %s" % (tree, t.get("name", "?"))
            res = t.get("result", "?")
            if res in PASS:
                passed.append(name)
            elif res == "SKIP":
                skipped.append(name)
            else:
                failed.append((name, res, t.get("stdout") or "", t.get("stderr") or ""))

for name, res, out, err in failed:
    print("\n----- FAILED %s (%s): last %d lines of output -----" % (name, res, LOG_TAIL))
    text = (out + ("\n" + err if err else "")).rstrip("\n").split("\n")
    print("\n".join(text[-LOG_TAIL:]))
if skipped:
    print("\nskipped (exit 77: environment missing, see their logs):")
    for name in skipped:
        print("  " + name)
if failed:
    print("\nfailed:")
    for name, res, _, _ in failed:
        print("  %s (%s)" % (name, res))
for b in failed_builds:
    print("build failed: %s (see the compiler output above)" % b)

nfail = len(failed) + len(failed_builds)
summary = "%d passed, %d failed" % (len(passed), nfail)
if skipped:
    summary += ", %d skipped" % len(skipped)
print(summary)
sys.exit(1 if nfail or not passed else 0)
EOF
