#!/usr/bin/env bash
# scripts/bench-ab.sh - compare the Go benchmarks of two revisions in one run.
#
#   scripts/bench-ab.sh BASE [HEAD] [-- go test benchmark flags]
#
# Builds the benchmarks/ test binary at BASE and at HEAD (default: the work
# tree) from clean git worktrees, runs them alternately ROUNDS times (default
# 6) so that both see the same machine, and prints benchstat's comparison:
# HEAD as a ratio against BASE. Default flags: -test.bench 'GetMetrics$'
# -test.benchmem. Example:
#   scripts/bench-ab.sh afde382 HEAD -- -test.bench 'GetMetrics$/triggers=1000' -test.benchtime 20000x
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/bench-ab.sh BASE [HEAD] [-- flags]}
shift
head=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then head=$1; shift; fi
[ "${1:-}" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(-test.bench 'GetMetrics$' -test.benchmem)
rounds=${ROUNDS:-6}

work=$(mktemp -d "${TMPDIR:-/tmp}/tide-bench-ab.XXXXXX")
cleanup() {
	for w in "$work"/src-*; do [ -d "$w" ] && git worktree remove --force "$w" >/dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT

build() { # name rev ("" = work tree)
	local name=$1 rev=$2 src=$PWD
	if [ -n "$rev" ]; then
		src="$work/src-$name"
		git worktree add --detach "$src" "$rev" >/dev/null 2>&1
	fi
	(cd "$src/benchmarks" && go test -c -o "$work/$name.test" .) >&2
	echo "bench-ab: built $name from ${rev:-the work tree}" >&2
}
build base "$base"
build head "$head"

benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ]; then
	GOBIN="$work/bin" go install golang.org/x/perf/cmd/benchstat@latest >&2
	benchstat="$work/bin/benchstat"
fi
for i in $(seq "$rounds"); do
	echo "bench-ab: round $i of $rounds" >&2
	(cd benchmarks && "$work/base.test" -test.run '^$' "${flags[@]}" >>"$work/base.txt")
	(cd benchmarks && "$work/head.test" -test.run '^$' "${flags[@]}" >>"$work/head.txt")
done
"$benchstat" base="$work/base.txt" head="$work/head.txt"
