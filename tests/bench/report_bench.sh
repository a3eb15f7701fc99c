#!/bin/sh
# report_bench.sh - times `ifpp-station report export` (issue 6 benchmark; not a test).
#
#   report_bench.sh TESTKIT STATION REPORT_FILL [-n RESULTS] [-r RUNS] [-d DIR] [-k]
#
# 1. A test PKI (`ifpp-testkit pki init`: the station configuration with the DM key), and a
#    store with RESULTS results (default 100 000) of one SM-DPf made by report-fill through the
#    store API: eUICC-signed PIRs, 1 % dead BPPs (half of them with the card's error BF37).
# 2. The station exports them as an operator would (a separate `ifpp-station report export`
#    process: claim in one transaction, build, DM CMS signature, self-check, atomic write with
#    fsync, mark exported, audit): wall time.
# 3. Baseline in the same run, on the same store: `sqlite3` selecting the same blobs (EID,
#    transactionId, ICCID, time, code, text, PIR of every result) plus `openssl cms -sign`
#    (attached, SHA-256, DM key) of a file of the report's size. Ratio = export / baseline.
# Each timed step runs RUNS times (default 3) on a fresh copy of the filled store; the median
# is shown. Work files go to a fresh directory under DIR ($TMPDIR or /var/tmp), removed unless
# -k. Every process is a child of this script; nothing runs in the background.
set -eu

[ $# -ge 3 ] || { echo "usage: $0 TESTKIT STATION REPORT_FILL [-n N] [-r RUNS] [-d DIR] [-k]" >&2; exit 2; }
TK=$1 ST=$2 FILL=$3
shift 3
N=100000 RUNS=3 BASE=${TMPDIR:-/var/tmp} KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -d) BASE=$2; shift 2 ;;
    -k) KEEP=1; shift ;;
    *) echo "report_bench: unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in sqlite3 openssl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "report_bench: $tool not installed" >&2; exit 2; }
done

W=$(mktemp -d "$BASE/ifpp-report-bench.XXXXXX")
cleanup() {
    if [ "$KEEP" = 1 ]; then
        echo "work files kept in $W"
    else
        rm -rf "$W"
    fi
}
trap cleanup EXIT

now() { date +%s.%N; }
dt() { echo "$1 $2" | awk '{ printf "%.3f", $2 - $1 }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

"$TK" pki init "$W/pki" >/dev/null
C="$W/pki/station.conf"
DB=$W/pki/state/station.db
mkdir -p "$W/pki/state"
chmod 700 "$W/pki/state"
t0=$(now)
"$FILL" "$DB" --count "$N" --smdpf 2.999.10 --dead-every 100 >"$W/fill.log"
fill_s=$(dt "$t0" "$(now)")
cp "$DB" "$W/snap.db" # report-fill closed the store: the WAL is checkpointed into the file

exp_all="" sql_all="" cms_all="" size=0
r=1
while [ "$r" -le "$RUNS" ]; do
    rm -rf "$W/out" "$DB-wal" "$DB-shm" "$W/pki/state"/plr-*
    cp "$W/snap.db" "$DB"
    mkdir "$W/out"
    sync
    t0=$(now)
    "$ST" -c "$C" report export "$W/out" --quiet
    exp_all="$exp_all $(dt "$t0" "$(now)")"
    f=$(ls "$W/out"/PLR_*.ifppl)
    size=$(stat -c %s "$f")

    t0=$(now)
    sqlite3 "$DB" "SELECT b.eid, b.tid, b.iccid, r.at, r.fpa_error_code, r.text, r.pir
                   FROM result r JOIN bpp b ON b.id = r.bpp_id ORDER BY r.id" >"$W/blobs"
    sql_all="$sql_all $(dt "$t0" "$(now)")"
    head -c "$size" /dev/urandom >"$W/content"
    sync
    t0=$(now)
    openssl cms -sign -binary -nodetach -outform DER -md sha256 -in "$W/content" \
        -signer "$W/pki/dm.cert.pem" -inkey "$W/pki/dm.key.pem" -out "$W/base.p7"
    cms_all="$cms_all $(dt "$t0" "$(now)")"
    r=$((r + 1))
done

# the exported report is sound (not timed against anything: shown for information)
t0=$(now)
"$ST" -c "$C" report verify "$f" >"$W/verify.log"
ver_s=$(dt "$t0" "$(now)")
entries=$(awk '/entries/ { print $2 }' "$W/verify.log" | tr -d :)

exp_s=$(echo "$exp_all" | median)
sql_s=$(echo "$sql_all" | median)
cms_s=$(echo "$cms_all" | median)
base_s=$(echo "$sql_s $cms_s" | awk '{ printf "%.3f", $1 + $2 }')
ratio=$(echo "$exp_s $base_s" | awk '{ printf "%.2f", $1 / $2 }')
verdict=$(echo "$ratio" | awk '{ print ($1 <= 1.5) ? "met" : "NOT met" }')

echo "report export benchmark: $N results of one SM-DPf ($entries entries verified), report $(echo "$size" | awk '{ printf "%.1f MB", $1 / 1e6 }'), median of $RUNS runs"
echo "(store filled through the store API in $fill_s s, not timed)"
printf '%-52s %10s\n' "step" "time (s)"
printf '%-52s %10s\n' "ifpp-station report export" "$exp_s"
printf '%-52s %10s\n' "baseline: sqlite3 SELECT of the same blobs" "$sql_s"
printf '%-52s %10s\n' "baseline: openssl cms -sign of a file of that size" "$cms_s"
printf '%-52s %10s\n' "baseline total" "$base_s"
printf '%-52s %10s   goal <= 1.5: %s\n' "ratio export / baseline" "$ratio" "$verdict"
printf '%-52s %10s\n' "(for information) ifpp-station report verify" "$ver_s"
echo "runs: export [$exp_all ] sqlite3 [$sql_all ] cms [$cms_all ]"
