#!/bin/sh
# test_import_kill.sh TESTKIT STATION [ROUNDS]
# Crash safety of a bundle import (issue 4): `ifpp-station import` of a 600-BPP bundle is
# killed with SIGKILL at spread-out random points of its run, ROUNDS times (default 12), each
# time on a copy of the same store (eUICC data imported). After each kill: PRAGMA
# integrity_check is ok, the bundle is either absent (no bundle row, no BPP, no import audit
# row) or complete (1 bundle, 600 BPPs, 1 audit row), and a re-import completes (exit 0, 600
# BPPs). Only the import process this script started is killed, by its pid.
set -eu
tk=$1
st=$2
rounds=${3:-12}
n_bpps=600
work=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-kill.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*"; exit 1; }
now_ms() { date +%s%3N; }
rand16() { od -An -N2 -tu2 /dev/urandom | tr -d ' '; }

pki=$work/pki
"$tk" pki init "$pki" >/dev/null
"$tk" eum make "$work/eum" --count $n_bpps --keys 1 --pki "$pki" >/dev/null 2>&1
"$tk" smdpf bind "$work/eum/euicc-data.ifppe" --pki "$pki" -o "$work/big.ifppb" >/dev/null
S="$st -c $pki/station.conf --state-dir $work/state"
db=$work/state/station.db

# the starting point of every round: eUICC data imported, store closed cleanly
$S import --quiet "$work/eum/euicc-data.ifppe"
cp -a "$work/state" "$work/state.base"

# how long one import takes here
t0=$(now_ms)
$S import --quiet "$work/big.ifppb"
t1=$(now_ms)
dur=$((t1 - t0))
[ "$dur" -gt 0 ] || dur=1
echo "one import of $n_bpps BPPs ($(stat -c %s "$work/big.ifppb") bytes): ${dur} ms"

absent=0
complete=0
i=0
while [ $i -lt "$rounds" ]; do
    rm -rf "$work/state"
    cp -a "$work/state.base" "$work/state"
    # kill points spread over 0..120% of the run: round i aims at slice i, jittered
    slice=$((dur * 12 / 10 / rounds))
    [ "$slice" -gt 0 ] || slice=1
    delay=$((i * slice + $(rand16) % slice))
    $S import --quiet "$work/big.ifppb" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""

    ic=$(sqlite3 "$db" 'PRAGMA integrity_check')
    [ "$ic" = ok ] || fail "round $i (kill at ${delay} ms): integrity_check: $ic"
    nb=$(sqlite3 "$db" 'select count(*) from bundle')
    np=$(sqlite3 "$db" 'select count(*) from bpp')
    nblob=$(sqlite3 "$db" 'select count(*) from bpp_blob')
    na=$(sqlite3 "$db" "select count(*) from audit where action = 'import.bundle'")
    if [ "$nb" = 0 ] && [ "$np" = 0 ] && [ "$nblob" = 0 ] && [ "$na" = 0 ]; then
        absent=$((absent + 1))
        state=absent
    elif [ "$nb" = 1 ] && [ "$np" = $n_bpps ] && [ "$nblob" = $n_bpps ] && [ "$na" = 1 ]; then
        complete=$((complete + 1))
        state=complete
    else
        fail "round $i (kill at ${delay} ms): half a bundle: $nb bundles, $np BPPs, $nblob blobs, $na audit rows"
    fi
    # a re-import completes
    $S import --quiet "$work/big.ifppb" || fail "round $i: re-import failed"
    np=$(sqlite3 "$db" 'select count(*) from bpp')
    [ "$np" = $n_bpps ] || fail "round $i: $np BPPs after the re-import"
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "round $i: integrity after re-import"
    echo "round $i: killed at ${delay} ms: bundle $state; re-import ok"
    i=$((i + 1))
done
[ "$absent" -gt 0 ] || echo "note: no kill landed before the commit"
echo "PASS: $rounds kills ($absent before the commit, $complete after); store sound each time"
