#!/usr/bin/env bash
# scripts/tools.sh - install Tide's pinned developer tools (buf, the Go
# protobuf/gRPC code generators, staticcheck, and for the deploy manifests
# kustomize and helm) with `go install`. buf comes as bufbuild's own release
# binary from npm when npm is on PATH (checked against the pinned sha512
# below; building it from source took ~3 CPU-minutes of a cold `make test`),
# and is built with `go install` otherwise.
#
# Each tool goes into its own versioned directory OUTSIDE the work tree:
#
#     ${TIDE_TOOLS_DIR:-$HOME/.cache/tide/tools}/<name>-<version>/<name>
#
# A tool whose versioned binary already exists is skipped, so a repeated run on
# the same machine does no work (a few milliseconds). Bumping a pin below
# installs the new version next to the old one; delete the directory to reclaim
# space.
#
# Usage:
#   scripts/tools.sh [install] [NAME...]
#       Install the default tools (or only NAME...), then print the PATH
#       fragment (colon-separated bin dirs of ALL tools) on stdout. Progress
#       goes to stderr, so the output can be captured:
#           export PATH="$(scripts/tools.sh):$PATH"
#       On-demand tools (kustomize, helm: only scripts/render-manifests.sh
#       needs them, and helm takes minutes to build) are installed only when
#       named, here or with --bin; `scripts/tools.sh install all` installs
#       every tool.
#   scripts/tools.sh --bin-path
#       Print that PATH fragment without installing anything.
#   scripts/tools.sh --bin NAME
#       Install NAME if needed and print the absolute path of its binary:
#           "$(scripts/tools.sh --bin staticcheck)" ./...
#   scripts/tools.sh --version NAME
#       Print the pinned version of NAME.
#   scripts/tools.sh --list
#       Print "name version package" for every pinned tool.
#
# From a Makefile (note the doubled $$ inside recipes):
#   tools:
#   	scripts/tools.sh >/dev/null
#   lint:
#   	"$$(scripts/tools.sh --bin staticcheck)" ./...
#   proto:                           # proto.sh calls tools.sh itself
#   	scripts/proto.sh gen
#
# Environment:
#   TIDE_TOOLS_DIR  cache root (default: $HOME/.cache/tide/tools)
#   GO              go command to use (default: go)

set -euo pipefail

# name | package | version
# protoc-gen-go MUST match google.golang.org/protobuf in go.mod (the generated
# code is checked in; scripts/proto.sh check enforces the match).
TOOL_PINS=(
	"buf|github.com/bufbuild/buf/cmd/buf|v1.75.0"
	"protoc-gen-go|google.golang.org/protobuf/cmd/protoc-gen-go|v1.36.12"
	"protoc-gen-go-grpc|google.golang.org/grpc/cmd/protoc-gen-go-grpc|v1.6.2"
	"staticcheck|honnef.co/go/tools/cmd/staticcheck|v0.8.2" # staticcheck 2026.2.2, built for go 1.26
	# On demand (see ON_DEMAND): scripts/render-manifests.sh.
	"kustomize|sigs.k8s.io/kustomize/kustomize/v5|v5.8.2" # v5.8.3 needs go 1.27
	"helm|helm.sh/helm/v3/cmd/helm|v3.22.0"
)

# buf's release binaries on npm (@bufbuild/buf-<platform>, the packages behind
# `npm install @bufbuild/buf`): the integrity npm reports for the pinned
# version (`npm view @bufbuild/buf-linux-x64@VERSION dist.integrity`).
BUF_NPM_INTEGRITY=(
	"linux-x64|sha512-YGGJAx0lpMCE7aMWjNOJcfoEaG/e+iYHnTC4SZ0P5eS4IffMryA9Z4/bb1m1wNXAEJ8ATFMEZOAk/5x9VE47ig=="
	"linux-aarch64|sha512-eX+XyokzJDqsNIFo8b1O3DBvbnksOozPJX4QVsNn61JqSUtWspyTNeYqwg8lRDancML+bDqZEDFPABjAsVCQGQ=="
)

# Tools `install` without names skips; they are built when named.
ON_DEMAND=(kustomize helm)

GO="${GO:-go}"
TOOLS_DIR="${TIDE_TOOLS_DIR:-${HOME:?HOME or TIDE_TOOLS_DIR must be set}/.cache/tide/tools}"

log() { printf 'tools.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# pin NAME -> sets PIN_NAME PIN_PKG PIN_VERSION, or fails for an unknown tool.
pin() {
	local entry
	for entry in "${TOOL_PINS[@]}"; do
		IFS='|' read -r PIN_NAME PIN_PKG PIN_VERSION <<<"$entry"
		if [[ "$PIN_NAME" == "$1" ]]; then
			return 0
		fi
	done
	die "unknown tool '$1' (known: $(all_names | tr '\n' ' '))"
}

all_names() {
	local entry
	for entry in "${TOOL_PINS[@]}"; do
		printf '%s\n' "${entry%%|*}"
	done
}

tool_dir() { # NAME
	pin "$1"
	printf '%s/%s-%s\n' "$TOOLS_DIR" "$PIN_NAME" "$PIN_VERSION"
}

bin_path() {
	local name out=""
	local -a names
	mapfile -t names < <(all_names)
	for name in "${names[@]}"; do
		out="${out:+$out:}$(tool_dir "$name")"
	done
	printf '%s\n' "$out"
}

install_one() { # NAME
	pin "$1"
	local dir="$TOOLS_DIR/$PIN_NAME-$PIN_VERSION"
	if [[ -x "$dir/$PIN_NAME" ]]; then
		return 0
	fi
	mkdir -p "$TOOLS_DIR"
	# Build into a scratch dir and rename into place, so an interrupted or
	# concurrent run never leaves a half-written binary at the final path.
	local tmp
	tmp="$(mktemp -d "$TOOLS_DIR/.install-$PIN_NAME.XXXXXX")"
	if [[ "$PIN_NAME" == buf ]] && buf_from_npm "$tmp"; then
		mkdir -p "$dir"
		mv -f "$tmp/bin/buf" "$dir/buf"
		rm -rf "$tmp"
		return 0
	fi
	command -v "$GO" >/dev/null 2>&1 || die "'$GO' not found on PATH"
	log "installing $PIN_PKG@$PIN_VERSION -> $dir"
	# `go install pkg@version` ignores the current module, but run it from the
	# scratch dir with GOWORK=off and a clean GOFLAGS so nothing from the
	# caller's tree (go.work, -mod=vendor, ...) can leak into the build.
	if ! (cd "$tmp" && GOBIN="$tmp/bin" GOWORK=off GOFLAGS=-trimpath CGO_ENABLED=0 \
		"$GO" install "$PIN_PKG@$PIN_VERSION"); then
		rm -rf "$tmp"
		die "go install $PIN_PKG@$PIN_VERSION failed"
	fi
	mkdir -p "$dir"
	mv -f "$tmp/bin/$PIN_NAME" "$dir/$PIN_NAME"
	rm -rf "$tmp"
}

# buf_from_npm TMP: put bufbuild's release binary for this platform in
# TMP/bin/buf, or return 1 (no npm, no pinned integrity for the platform, a
# failed download) so the caller builds it instead. A download whose sha512
# differs from the pin is an error, not a fallback.
buf_from_npm() {
	local tmp="$1" platform want entry tgz have
	command -v npm >/dev/null 2>&1 || return 1
	case "$(uname -s)-$(uname -m)" in
	Linux-x86_64) platform=linux-x64 ;;
	Linux-aarch64) platform=linux-aarch64 ;;
	*) return 1 ;;
	esac
	for entry in "${BUF_NPM_INTEGRITY[@]}"; do
		[[ "${entry%%|*}" == "$platform" ]] && want="${entry#*|}"
	done
	[[ -n "${want:-}" ]] || return 1
	log "installing buf $PIN_VERSION from npm (@bufbuild/buf-$platform) -> $TOOLS_DIR/buf-$PIN_VERSION"
	if ! tgz="$(cd "$tmp" && npm pack --silent "@bufbuild/buf-$platform@${PIN_VERSION#v}" 2>/dev/null)" || [[ ! -f "$tmp/$tgz" ]]; then
		log "npm pack @bufbuild/buf-$platform failed; building buf from source"
		return 1
	fi
	have="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
	[[ "$have" == "$want" ]] || die "@bufbuild/buf-$platform@${PIN_VERSION#v}: integrity $have, pinned $want"
	mkdir -p "$tmp/bin"
	tar -xzf "$tmp/$tgz" -C "$tmp" package/bin/buf
	mv "$tmp/package/bin/buf" "$tmp/bin/buf"
	"$tmp/bin/buf" --version >/dev/null || die "the buf binary from npm does not run"
}

default_names() {
	local name
	while read -r name; do
		[[ " ${ON_DEMAND[*]} " == *" $name "* ]] || printf '%s\n' "$name"
	done < <(all_names)
}

install_tools() { # [NAME...] ("all": every tool)
	local name names=("$@")
	if [[ ${#names[@]} -eq 0 ]]; then
		mapfile -t names < <(default_names)
	elif [[ ${#names[@]} -eq 1 && ${names[0]} == all ]]; then
		mapfile -t names < <(all_names)
	fi
	for name in "${names[@]}"; do
		install_one "$name"
	done
}

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

main() {
	case "${1:-install}" in
	install)
		[[ $# -gt 0 ]] && shift
		install_tools "$@"
		bin_path
		;;
	--bin-path)
		bin_path
		;;
	--bin)
		[[ $# -eq 2 ]] || die "usage: $0 --bin NAME"
		install_one "$2"
		printf '%s/%s\n' "$(tool_dir "$2")" "$2"
		;;
	--version)
		[[ $# -eq 2 ]] || die "usage: $0 --version NAME"
		pin "$2"
		printf '%s\n' "$PIN_VERSION"
		;;
	--list)
		local entry
		for entry in "${TOOL_PINS[@]}"; do
			IFS='|' read -r PIN_NAME PIN_PKG PIN_VERSION <<<"$entry"
			printf '%s %s %s\n' "$PIN_NAME" "$PIN_VERSION" "$PIN_PKG"
		done
		;;
	-h | --help)
		usage
		;;
	-*)
		usage >&2
		die "unknown option '$1'"
		;;
	*)
		install_tools "$@"
		bin_path
		;;
	esac
}

main "$@"
