#!/bin/sh
# Install the Debian packages trainbox needs to build and test. Idempotent: does nothing when all
# are present. Uses sudo when not root. Node packages (azurite) are installed by the tests into
# tests/.cache on first use.
set -eu
PKGS="build-essential pkg-config libcurl4-openssl-dev libarchive-dev libcjson-dev libssl-dev zlib1g-dev
libexpat1-dev libjsmn-dev bats bats-assert bats-support bats-file jq zstd rclone faketime python3 curl
valgrind time libisal-dev libyaml-dev clang"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
