#!/bin/sh
# The demo line, from a fresh Debian 12 machine (as root): installs, builds, mints a test PKI,
# makes eUICC data, binds a bundle with the test SM-DPf, brings up a virtual line of simulated
# eUICCs behind an isolated pcscd, runs the station on it, and cleans up after itself.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh build
exec ./tests/e2e/demo-line.sh "$(pwd)/build" "$@"
