#!/usr/bin/env bash
# Installs the Debian packages the tests use (kcat: an independent Kafka
# client, librdkafka; prometheus: the server the inference source queries,
# and promtool, which checks deploy/observability; chromium: the headless
# browser of the status page's test, with npm to install axe-core from
# cmd/scaler/testdata/axe/package-lock.json; openssl: scripts/tools.sh checks
# the sha512 of the buf release it fetches from npm).
# Needs root on a fresh machine; installs nothing when every package is
# already there. Then checks what the tests need of them (redis-server >= 7,
# every binary runs) and fails naming what it found otherwise.
#   scripts/deps.sh       what `make test` needs
#   scripts/deps.sh e2e   that plus the e2e node's: CNI plugins, iproute2,
#                         and libseccomp-dev/pkg-config to build runc
#   scripts/deps.sh image that plus qemu-user-static, to run the image's
#                         arm64 binary (build/image: TestImage)
set -euo pipefail

packages=(kcat redis-server redis-tools prometheus chromium openssl)
# npm may come with a nodejs that is not Debian's: install Debian's only
# when there is none.
command -v npm >/dev/null || packages+=(npm)
if [[ "${1:-}" == e2e ]]; then
	packages+=(containernetworking-plugins iproute2 libseccomp-dev pkg-config util-linux)
fi
if [[ "${1:-}" == image ]]; then
	packages+=(qemu-user-static)
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

# What the tests need of what is installed: fail loudly, naming what was
# found, rather than let a test skip or fail obscurely later.
fail() { echo "deps: $*" >&2; exit 1; }
for bin in redis-server redis-cli kcat prometheus promtool; do
	command -v "$bin" >/dev/null || fail "$bin is not on PATH after installing ${packages[*]}"
done
# Streams' entries-added/entries-read and ACL subcommand rules are Redis 7's.
version=$(redis-server --version) || fail "redis-server --version failed: $version"
major=$(sed -n 's/.* v=\([0-9][0-9]*\)\..*/\1/p' <<<"$version")
[[ -n "$major" ]] || fail "cannot read the version in \"$version\" ($(command -v redis-server))"
((major >= 7)) || fail "$(command -v redis-server) is \"$version\": the tests need Redis >= 7 (Debian 12's redis-server is 7.0)"
kcat -V >/dev/null 2>&1 || fail "kcat -V failed ($(command -v kcat))"
prometheus --version >/dev/null 2>&1 || fail "prometheus --version failed ($(command -v prometheus))"
promtool --version >/dev/null 2>&1 || fail "promtool --version failed ($(command -v promtool))"
chromium --version >/dev/null 2>&1 || fail "chromium --version failed ($(command -v chromium))"
command -v npm >/dev/null || fail "npm is not on PATH after installing ${packages[*]}"
# axe-core for TestStatusPageInBrowser, exactly as the lock file pins it.
axe="$(cd "$(dirname "$0")/.." && pwd)/cmd/scaler/testdata/axe"
if [[ ! -f "$axe/node_modules/axe-core/axe.min.js" || "$axe/package-lock.json" -nt "$axe/node_modules/.package-lock.json" ]]; then
	(cd "$axe" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in $axe failed"
fi
