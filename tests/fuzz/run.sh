#!/bin/sh
# run.sh BUILDDIR TLV_SECONDS OTHER_SECONDS: runs every fuzz target of BUILDDIR/tests/fuzz
# with its seed corpus (tests/fuzz/corpus/<target>, copied to a temp dir so seeds stay clean).
# Prints executions per target; exits non-zero on the first finding.
set -eu
build=$1
tlv_s=$2
other_s=$3
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
total=0
for exe in "$build"/tests/fuzz/fuzz-*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=$(basename "$exe")
    secs=$other_s
    [ "$name" = "fuzz-tlv" ] && secs=$tlv_s
    mkdir -p "$work/$name"
    if [ -d "$src/corpus/$name" ]; then
        cp -r "$src/corpus/$name/." "$work/$name/"
    fi
    log="$work/$name.log"
    if ! "$exe" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$name-" "$work/$name" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $name FOUND A PROBLEM (artifact in $work, log above)" >&2
        trap - EXIT
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz: $name ok: ${execs:-?} executions in ${secs}s"
    total=$((total + ${execs:-0}))
done
echo "fuzz: total $total executions, no findings"
