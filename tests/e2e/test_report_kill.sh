#!/bin/sh
# e2e (issue 6): kill -9 of `ifpp-station report export` at random points, ROUNDS times.
#
# A store with results of two SM-DPfs (report-fill: the store API, eUICC-signed PIRs, some
# dead BPPs); each round adds results, starts an export into OUT and kills it: even rounds with
# kill -9 after a random delay within the time that whole export takes (measured just before on
# a copy of the store and the export journal), odd rounds (when strace is installed) with a
# SIGKILL that strace delivers at a random one of the export's file and database writes (taken
# from the trace of that measured run), so short windows are hit as often as long ones.
# After every kill:
#   - every file under a final name (OUT/PLR_*.ifppl) is a complete report (openssl cms -verify);
#   - every report the store marks exported has its file in OUT;
#   - no result is in two reports.
# The state each kill left (claimed-not-exported reports, temp files, journal entries) is
# printed: the next round's export must recover it. At the end one export runs to completion:
# every result is in exactly one exported report, each file passes `report verify` (signature,
# store, every PIR), the journal is empty and no temp file is left.
#
# usage: test_report_kill.sh [ifpp-testkit] [ifpp-station] [report-fill] [ROUNDS]
set -eu
# LeakSanitizer cannot run under ptrace, and some rounds kill the export through strace: leaks
# are checked by every other test of the sanitizer build, not here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

B=${IFPP_BUILD_DIR:-build}
TK=${1:-$B/tests/testkit/ifpp-testkit}
ST=${2:-$B/station/ifpp-station}
FILL=${3:-$B/tests/bench/report-fill}
ROUNDS=${4:-12}
for tool in sqlite3 openssl awk; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
done
for x in "$TK" "$ST" "$FILL"; do
    [ -x "$x" ] || { echo "FAIL: $x missing"; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-report-kill.XXXXXX")
BG=""
cleanup() {
    rc=$?
    if [ -n "$BG" ]; then
        kill -9 "$BG" 2>/dev/null || true
        wait "$BG" 2>/dev/null || true
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL [round ${r:-0}]: $*"
    exit 1
}

P=$T/pki
"$TK" pki init "$P" >/dev/null
mkdir -p "$P/state"
DB=$P/state/station.db
OUT=$T/out
mkdir "$OUT"
q() { sqlite3 "$DB" "$1"; }
fill() { "$FILL" "$DB" --count "$1" --smdpf 2.999.10 --smdpf 2.999.12 --dead-every 25 >/dev/null; }
now_ms() { date +%s%3N; }
count() { # count GLOB...: how many of the arguments exist
    n=0
    for x in "$@"; do [ -e "$x" ] && n=$((n + 1)); done
    echo "$n"
}

fill 2000
# How long the export this round will run takes, whole: measured on a copy of the state
# directory (store and export journal), so that the kill lands anywhere in it.
measure() {
    rm -rf "$T/cal" "$T/calout"
    mkdir -m 700 "$T/cal" "$T/calout"
    cp "$DB" "$T/cal/station.db"
    for j in "$P/state"/plr-*.pending; do
        [ -e "$j" ] && cp "$j" "$T/cal/"
    done
    cp -p "$OUT"/PLR_*.ifppl "$T/calout/" 2>/dev/null || true
    t0=$(now_ms)
    $1 "$ST" -c "$P/station.conf" --state-dir "$T/cal" report export "$T/calout" --quiet ||
        fail "calibration export failed"
    dur=$(($(now_ms) - t0))
}

# Odd rounds (with strace): SIGKILL delivered exactly at a random one of the export's
# file-system and database writes, taken from the calibration run's trace: a short window
# (rename, fsync of the directory, the commit that marks the export) is as likely as a long one.
SYSCALLS=openat,write,writev,pwrite64,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,ftruncate,flock
TRACE_CAL=""
if command -v strace >/dev/null 2>&1; then
    TRACE_CAL="strace -qq -o $T/cal.trace -e trace=$SYSCALLS"
fi
# Prints "NAME ORDINAL INDEX TOTAL" of a random call of the calibration trace: a run of the same
# call (the database's page writes) counts as one choice, so every step is as likely.
pick_syscall() {
    awk -v s="$$$r" '
        /^[a-z_0-9]+\(/ { n++; name[n] = $0; sub(/\(.*/, "", name[n])
                          if (name[n] != name[n - 1]) start[++m] = n }
        END { srand(s); a = start[int(rand() * m) + 1]; e = a
              while (e < n && name[e + 1] == name[a]) e++
              k = a + int(rand() * (e - a + 1))
              for (i = 1; i <= k; i++) if (name[i] == name[k]) o++
              printf "%s %d %d %d\n", name[k], o, k, n }' "$T/cal.trace"
}

# After a kill: what stands in OUT and what the store says agree.
check() {
    for f in "$OUT"/PLR_*.ifppl; do
        [ -e "$f" ] || continue
        openssl cms -verify -binary -inform DER -in "$f" -CAfile "$P/dm-ca.cert.pem" \
            -out /dev/null 2>/dev/null || fail "partial or bad file under a final name: $f"
    done
    q "SELECT file_name FROM report WHERE exported_at IS NOT NULL" >"$T/exported"
    while read -r name; do
        [ -f "$OUT/$name" ] || fail "report marked exported without its file: $name"
    done <"$T/exported"
    [ -z "$(q "SELECT 1 FROM report_entry GROUP BY smdpf_id, result_id HAVING count(*) > 1")" ] ||
        fail "a result is in two reports"
}

seen=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
    [ "$r" = 1 ] || fill 500
    if [ -n "$TRACE_CAL" ] && [ $((r % 2)) = 1 ]; then
        measure "$TRACE_CAL"
    else
        measure ""
    fi
    # the measured run warmed the caches: the real one is faster
    delay=$(awk -v s="$$$r" -v d="$dur" 'BEGIN { srand(s); printf "%d", rand() * d * 0.7 }')
    if [ -n "$TRACE_CAL" ] && [ $((r % 2)) = 1 ]; then
        # shellcheck disable=SC2046 # four words: name, ordinal, index, total
        set -- $(pick_syscall)
        strace -qq -o /dev/null -e trace="$1" -e inject="$1":signal=SIGKILL:when="$2" \
            "$ST" -c "$P/station.conf" report export "$OUT" --quiet >/dev/null 2>&1 &&
            killed="not killed (the trace differed)" || killed="SIGKILL at syscall $3 of $4 ($1 #$2)"
    else
        "$ST" -c "$P/station.conf" report export "$OUT" --quiet >/dev/null 2>&1 &
        BG=$!
        sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
        kill -9 "$BG" 2>/dev/null && killed="kill -9 after" || killed="finished before"
        wait "$BG" 2>/dev/null || true
        BG=""
        killed="$killed $delay ms of $dur ms"
    fi
    check
    pending=$(q "SELECT count(*) FROM report WHERE exported_at IS NULL")
    temps=$(count "$OUT"/.PLR_*)
    journal=$(count "$P/state"/plr-*.pending)
    unclaimed=$(q "SELECT count(*) FROM result r WHERE NOT EXISTS (SELECT 1 FROM report_entry e WHERE e.result_id = r.id)")
    unmarked=0 # complete files the store does not mark exported yet (killed after the rename)
    for f in "$OUT"/PLR_*.ifppl; do
        [ -e "$f" ] || continue
        grep -qxF "$(basename "$f")" "$T/exported" || unmarked=$((unmarked + 1))
    done
    state="files=$(count "$OUT"/*.ifppl) unmarked=$unmarked claimed-not-exported=$pending temp=$temps journal=$journal unclaimed=$unclaimed"
    echo "round $r: $killed: $state"
    [ "$pending" = 0 ] || seen="$seen claimed"
    [ "$temps" = 0 ] || seen="$seen temp"
    [ "$journal" = 0 ] || seen="$seen journal"
    [ "$unmarked" = 0 ] || seen="$seen file-not-marked"
    r=$((r + 1))
done

# The last export runs to completion and settles everything.
r=final
"$ST" -c "$P/station.conf" report export "$OUT" >"$T/final.log" 2>&1 || { cat "$T/final.log"; fail "final export failed"; }
check
[ "$(q "SELECT count(*) FROM report WHERE exported_at IS NULL")" = 0 ] || fail "unexported reports left"
total=$(q "SELECT count(*) FROM result")
[ "$(q "SELECT count(*) FROM report_entry")" = "$total" ] || fail "not every result is in a report"
[ "$(count "$OUT"/.PLR_*)" = 0 ] || fail "temp files left"
[ "$(count "$P/state"/plr-*.pending)" = 0 ] || fail "journal entries left"
n=0
for f in "$OUT"/PLR_*.ifppl; do
    "$ST" -c "$P/station.conf" report verify "$f" >"$T/v.log" 2>&1 || { cat "$T/v.log"; fail "report verify rejected $f"; }
    n=$((n + 1))
done
[ "$n" = "$(q "SELECT count(*) FROM report")" ] || fail "$n files for $(q "SELECT count(*) FROM report") reports"
echo "final: $(grep -c '^recovered' "$T/final.log" || true) recovered, $n files, $total results each in exactly one exported report"
echo "states left by the kills:$(echo "$seen" | tr ' ' '\n' | grep -v '^$' | sort | uniq -c |
    awk '{ printf " %s x%d", $2, $1 }')"
echo PASS
