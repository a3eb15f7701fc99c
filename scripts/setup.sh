#!/bin/sh
# Installs everything ifpp-station needs to build, test and run its demo on Debian 12.
# Idempotent; run as root (CI runs as root; a developer may run it through sudo).
set -eu

PACKAGES="
  build-essential meson ninja-build pkg-config git
  libssl-dev openssl libsqlite3-dev sqlite3 libpcsclite-dev pcscd pcsc-tools
  vsmartcard-vpcd libncurses-dev libinih-dev libcunit1-dev
  clang libclang-rt-14-dev clang-format valgrind tmux systemd util-linux procps
"

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E "$0" "$@"
    fi
    echo "setup.sh: run as root (apt-get needs it)" >&2
    exit 2
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
# pcscd is socket-activated on a full system; the tests run their own isolated pcscd in a
# private mount namespace bound onto /run/pcscd, which must exist as a mount point.
mkdir -p /run/pcscd
echo "setup.sh: dependencies present"
