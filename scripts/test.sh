#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine (as root):
#   1. installs the Debian packages (scripts/setup.sh)
#   2. checks formatting
#   3. release build + every test (CUnit unit tests, end-to-end tests on the virtual line)
#   4. ASan+UBSan build + the same tests
#   5. libFuzzer smoke run of every fuzz target (TLV reader 60 s, the others shorter)
# Exit 0 only if everything passed. FUZZ_SECONDS / FUZZ_TLV_SECONDS shorten or lengthen step 5.
set -eu
cd "$(dirname "$0")/.."
here=$(pwd)

./scripts/setup.sh

echo "== format"
./scripts/check-format.sh

echo "== release build and tests"
./scripts/build.sh build
meson test -C build --print-errorlogs --num-processes 2

echo "== sanitizer build (ASan+UBSan) and tests"
./scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2

echo "== fuzz smoke (libFuzzer, clang)"
CC=clang ./scripts/build.sh build-fuzz -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
./tests/fuzz/run.sh "$here/build-fuzz" "${FUZZ_TLV_SECONDS:-60}" "${FUZZ_SECONDS:-15}"

echo "== all tests passed"
