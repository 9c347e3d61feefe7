#!/usr/bin/env bash
# scripts/proto.sh - generate and check Tide's protobuf Go code with buf.
#
# Usage:
#   scripts/proto.sh gen     regenerate proto/**/*.pb.go from proto/**/*.proto
#   scripts/proto.sh fmt     rewrite proto/**/*.proto in buf's canonical format
#   scripts/proto.sh check   buf lint + buf format check + verify that the
#                            *.pb.go files in the work tree are exactly what
#                            `gen` would produce (fails if stale, missing or
#                            extra). Does not modify the work tree.
#
# Both modes first run scripts/tools.sh, which installs the pinned buf,
# protoc-gen-go and protoc-gen-go-grpc (instant when already cached) and put
# them first on PATH, so buf.gen.yaml's local plugins resolve to the pinned
# versions and the output (including the "// versions:" header, whose protoc
# line reads "(unknown)" under buf) is deterministic.
#
# `check` compares the work tree with a fresh generation in a temporary
# directory, so it needs no git state: it passes in a fresh clone where the
# generated files are committed, and it catches uncommitted/untracked
# generated files the same way.
#
# From a Makefile:
#   proto:
#   	scripts/proto.sh gen
#   proto-check:
#   	scripts/proto.sh check

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'proto.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

setup_tools() {
	local bin_path
	bin_path="$(scripts/tools.sh install buf protoc-gen-go protoc-gen-go-grpc)"
	export PATH="$bin_path:$PATH"
	# buf keeps a cache under $XDG_CACHE_HOME or $HOME/.cache; nothing here
	# needs the network (no deps in buf.yaml, local plugins only).
}

# The generated code must be produced by the same protoc-gen-go version as the
# google.golang.org/protobuf runtime the module builds against.
check_protobuf_pin() {
	local pinned mod
	pinned="$(scripts/tools.sh --version protoc-gen-go)"
	mod="$(awk '$1 == "google.golang.org/protobuf" { print $2; exit } $2 == "google.golang.org/protobuf" { print $3; exit }' go.mod)"
	if [[ -z "$mod" ]]; then
		die "google.golang.org/protobuf not found in go.mod"
	fi
	if [[ "$pinned" != "$mod" ]]; then
		die "protoc-gen-go is pinned to $pinned in scripts/tools.sh but go.mod requires google.golang.org/protobuf $mod; make them equal and run scripts/proto.sh gen"
	fi
}

# list_generated DIR: generated Go files under DIR/proto, relative to DIR, sorted.
list_generated() {
	(cd "$1" && find proto -type f -name '*.pb.go' | LC_ALL=C sort)
}

gen() {
	setup_tools
	check_protobuf_pin
	# Remove old outputs first so a renamed/deleted .proto leaves no stale
	# *.pb.go behind (buf.gen.yaml cannot use `clean: true`: the output dir is
	# also the source dir).
	find proto -type f -name '*.pb.go' -delete
	buf generate
	log "generated:"
	list_generated . | sed 's/^/  /' >&2
}

check() {
	setup_tools
	check_protobuf_pin

	log "buf lint"
	buf lint

	log "buf format"
	if ! buf format --diff --exit-code; then
		die ".proto files are not buf-formatted (diff above); run 'scripts/proto.sh fmt'"
	fi

	log "generated code"
	local tmp
	tmp="$(mktemp -d "${TMPDIR:-/tmp}/tide-proto-check.XXXXXX")"
	# shellcheck disable=SC2064 # expand $tmp now
	trap "rm -rf '$tmp'" EXIT
	buf generate --output "$tmp"

	local want have status=0 f
	want="$(list_generated "$tmp")"
	have="$(list_generated .)"
	if [[ "$want" != "$have" ]]; then
		log "the set of generated files differs (- expected, + in work tree):"
		diff -u <(printf '%s\n' "$want") <(printf '%s\n' "$have") | tail -n +3 >&2 || true
		status=1
	fi
	while IFS= read -r f; do
		[[ -n "$f" && -f "$f" ]] || continue
		if ! cmp -s "$tmp/$f" "$f"; then
			log "$f is out of date (- fresh, + work tree):"
			diff -u "$tmp/$f" "$f" | head -n 60 >&2 || true
			status=1
		fi
	done <<<"$want"
	if [[ $status -ne 0 ]]; then
		die "generated protobuf code is out of date with proto/**/*.proto; run 'scripts/proto.sh gen' and commit the result"
	fi
	log "ok: lint, format and generated code are up to date"
}

fmt() {
	setup_tools
	buf format -w
}

case "${1:-}" in
gen) gen ;;
fmt) fmt ;;
check) check ;;
-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" ;;
*)
	sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
	;;
esac
