#!/usr/bin/env bash
# Installs the Debian packages the tests use (kcat: an independent Kafka
# client, librdkafka; prometheus: the server the inference source queries).
# Needs root on a fresh machine; does nothing when every package is already
# installed.
set -euo pipefail

packages=(kcat redis-server redis-tools prometheus)
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
