#!/usr/bin/env bash
# scripts/fuzz.sh - bounded fuzzing of Tide's fuzz targets, one instrumented
# test binary per package.
#
# Usage: scripts/fuzz.sh FUZZTIME FUZZMINIMIZETIME PKG:FuzzName...
#
# `go test -fuzz` links a fresh instrumented test binary for every target;
# this builds it once per package (`go test -c -fuzz`) and runs each of the
# package's targets from it, from the package directory (so a crasher lands in
# its testdata/fuzz/FuzzName, as with `go test -fuzz`) and with the same
# generated corpus cache go test uses ($GOCACHE/fuzz/IMPORTPATH).
set -euo pipefail
GO="${GO:-go}"
[[ $# -ge 3 ]] || { sed -n '4p' "$0" >&2; exit 2; }
fuzztime="$1" minimize="$2"
shift 2
cache="$("$GO" env GOCACHE)/fuzz"
bindir="$(mktemp -d "${TMPDIR:-/tmp}/tide-fuzz.XXXXXX")"
trap 'rm -rf "$bindir"' EXIT
declare -A built
for t in "$@"; do
	pkg="${t%%:*}" name="${t##*:}"
	bin="$bindir/$(tr '/.' '__' <<<"$pkg").test"
	if [[ -z "${built[$pkg]:-}" ]]; then
		"$GO" test -c -fuzz "^$name\$" -o "$bin" "$pkg"
		built[$pkg]=1
	fi
	importpath="$("$GO" list "$pkg")"
	echo "fuzz $name in $pkg for $fuzztime"
	(cd "$pkg" && "$bin" -test.run '^$' -test.fuzz "^$name\$" -test.fuzztime "$fuzztime" \
		-test.fuzzminimizetime "$minimize" -test.fuzzcachedir "$cache/$importpath" \
		-test.paniconexit0 -test.timeout 10m) || { echo "fuzz $name in $pkg: FAIL" >&2; exit 1; }
done
