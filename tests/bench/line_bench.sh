#!/bin/sh
# line_bench.sh - the issue 5 benchmark on the virtual line (real pcscd + vpcd + simulated
# eUICCs); not a test: it prints numbers and a pass/fail per goal, and asserts only that the
# work was done (every BPP installed, the replay got the same answers).
#
#   line_bench.sh [--quick] [--rows FILE] [--keep] [BUILDDIR]     (root; BUILDDIR: ./build)
#
# (1) Station overhead. Fixture: 4 cards x K BPPs (K = 4, --quick 2), half of them from smdpf2
#     in PPK mode (with A2). A recording run (`euicc serve --bench-record`, zero latency) keeps
#     every card's exchanges. Then, R times each (R = 3) and alternating, on a line whose cards
#     model a real card (5 ms per APDU, 250 kbit/s), both from the same restored state (card
#     state dirs and station store copied before the first run):
#       station  `ifpp-station -v run --until-idle`: wall time from the spawn to the engine's
#                last card verdict (its 1.5 s idle wait before exiting is not work), and the
#                child's user+sys CPU (wait4 rusage);
#       baseline `line-replay replay`: a bare SCardTransmit loop, one thread per reader, same
#                connect/disconnect as the station, sending the recorded C-APDUs and checking
#                every answer's length and SW against the record (the cards run with
#                --bench-fixed-challenge so that the recorded AuthoriseFpaServices verifies).
#     Medians. The same pair once more on the bare line (no card model: the transport floor)
#     shows the absolute overhead (information).
# (2) APDUs and bytes per BPP: the LoadBoundProfilePackage exchanges in the card records
#     (first BF36 block to the GET RESPONSE of the BF37; bytes = C-APDU + R-APDU) with the
#     station at block_size 120 and 255, against the minimum computed from each stored BPP
#     (line-replay minimum: §2.5.5 segments, ceil(len / block) STORE DATA each, 5-byte headers,
#     2-byte SWs, the GET RESPONSE of the BF37), and the 255 client against the 120 one.
# (3) Throughput: 16 cards x B BPPs (B = 2, --quick 1); for 1, 2, 4, 8, 16 readers (cards
#     modelling a real card as above), the station's profiles per minute (BPPs installed / time
#     to the last verdict) and the speed-up against 1 reader.
# Station timing: the end is the engine's info line "load PASS (" of the last card, read from
# the pipe by `line-replay time` (the engine logs it the moment the verdict is reached; `run`'s
# stdout lines follow through its event pipe, one wake-up later).
# Host CPU: the station process's user+sys per profile, and the fixed part of it: one more
# `run --until-idle` on the same line once everything is installed (process start, the DM key,
# the store, a session per card that finds nothing to load, the 1.5 s idle wait); the marginal
# CPU per profile is (run - fixed) / N.
# Every process is started through `ifpp-testkit line up` (pcscd in a private mount namespace,
# the cards) and stopped by pid with `line down`, also on every exit path (trap). The rows also
# go to FILE (tab-separated: section, metric, value, baseline, ratio, goal, verdict; notes as
# "note TAB text") for tests/bench/run.
set -eu

QUICK=0 ROWS="" KEEP=0 BUILD=build
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --rows) ROWS=$2; shift ;;
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "line_bench: unknown option $1" >&2; exit 2 ;;
    *) BUILD=$1 ;;
    esac
    shift
done
TK=$BUILD/tests/testkit/ifpp-testkit
ST=$BUILD/station/ifpp-station
LR=$BUILD/tests/bench/line-replay
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
CARD_MODEL="--latency-ms 5 --bps 250000"
CARD_MODEL_TEXT="5 ms/APDU, 250 kbit/s"
if [ "$QUICK" = 1 ]; then K=2 R=3 B=1; else K=4 R=3 B=2; fi
READERS_LIST="1 2 4 8 16"

skip() {
    echo "line_bench: SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace for the isolated pcscd)"
for tool in pcscd unshare sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
for b in "$TK" "$ST" "$LR"; do
    [ -x "$b" ] || skip "$b not built (ninja -C $BUILD)"
done
TK=$(realpath "$TK") ST=$(realpath "$ST") LR=$(realpath "$LR")

W=$(mktemp -d "${TMPDIR:-/var/tmp}/ifpp-line-bench.XXXXXX")
LINE=""
cleanup() {
    rc=$?
    if [ -n "$LINE" ] && [ -f "$LINE/pids" ]; then
        "$TK" line down "$LINE" 2>/dev/null || true
    fi
    if [ "$rc" != 0 ] || [ "$KEEP" = 1 ]; then
        echo "line_bench: work files kept in $W" >&2
    else
        rm -rf "$W"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "line_bench: FAIL: $*" >&2
    exit 1
}
log() { echo "line_bench: $*" >&2; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# row SECTION METRIC VALUE BASELINE RATIO GOAL VERDICT (into rows.1, rows.2, rows.3 by the
# section's number: printed in that order whatever order they are measured in)
row() {
    n=$(echo "$1" | sed 's/^(\([0-9]\)).*/\1/')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$W/rows.$n"
}
# verdict X OP Y -> pass|FAIL
verdict() { awk -v x="$1" -v y="$3" -v op="$2" 'BEGIN {
    ok = (op == "<=") ? x <= y : (op == ">=") ? x >= y : (op == "==") ? x == y : 0
    print ok ? "pass" : "FAIL" }'; }

# ---- fixtures ----

# fixture DIR CARDS BPPS_PER_CARD: test PKI, CARDS eUICCs, BPPS binds alternating smdpf1 and
# smdpf2 --ppk (each bind takes every card's next unused key), everything imported; snapshots
# of the cards and of the station state for the restores.
fixture() {
    d=$1
    mkdir -p "$d"
    "$TK" pki init "$d/pki" >/dev/null
    printf '\n[policy]\ndelete_keys = after-load\nmax_retries = 5\n' >>"$d/pki/station.conf"
    "$TK" eum make "$d/eum" --count "$2" --keys "$3" --pki "$d/pki" >/dev/null 2>&1
    "$ST" -c "$d/pki/station.conf" import --quiet "$d/eum/euicc-data.ifppe" >/dev/null
    i=1
    while [ "$i" -le "$3" ]; do
        if [ $((i % 2)) = 1 ]; then s=smdpf1 o=smdpf2 ppk=""; else s=smdpf2 o=smdpf1 ppk=--ppk; fi
        "$TK" smdpf bind "$d/eum/euicc-data.ifppe" --pki "$d/pki" --smdpf $s $ppk \
            -o "$d/b$i.ifppb" >/dev/null 2>&1
        cp "$d/pki/$s/bound.txt" "$d/pki/$o/bound.txt"
        "$ST" -c "$d/pki/station.conf" import --quiet "$d/b$i.ifppb" >/dev/null
        i=$((i + 1))
    done
    n=$(sqlite3 "$d/pki/state/station.db" "SELECT count(*) FROM bpp WHERE state='pending'")
    [ "$n" = $(($2 * $3)) ] || die "fixture $d: $n pending BPPs, $(($2 * $3)) expected"
    cp -a "$d/eum/cards" "$d/cards.snap"
    cp -a "$d/pki/state" "$d/state.snap"
}

restore() {
    rm -rf "$1/eum/cards" "$1/pki/state"
    cp -a "$1/cards.snap" "$1/eum/cards"
    cp -a "$1/state.snap" "$1/pki/state"
}

set_block() { sed -i "s/^block_size=.*/block_size=$2/" "$1/pki/station.conf"; }

# up DIR READERS [serve options]
up() {
    d=$1 n=$2
    shift 2
    LINE="$d/line"
    "$TK" line up "$LINE" --readers "$n" --cards "${CARDS:-$d/eum}" --pki "$d/pki" "$@" \
        >/dev/null 2>&1 \
        || { cat "$LINE/logs/"*.log >&2 2>/dev/null; die "line up $d ($n readers)"; }
    PCSCLITE_CSOCK_NAME="$LINE/run/pcscd.comm"
    export PCSCLITE_CSOCK_NAME
}

down() {
    "$TK" line down "$LINE" >/dev/null 2>&1
    LINE=""
}

# try_station DIR READERS LOGNAME TIMEOUT: one timed `run --until-idle`; sets T_DONE, T_CPU,
# T_OUT; status 1 when it did not end with READERS verdicts PASS within TIMEOUT seconds
try_station() {
    T_OUT=$("$LR" time --expect "$2" --timeout "$4" --log "$1/$3.log" -- "$ST" \
        -c "$1/pki/station.conf" -v run --until-idle)
    T_DONE=$(field done_s "$T_OUT")
    T_CPU=$(calc "%.6f" "$(field user_s "$T_OUT") + $(field sys_s "$T_OUT")")
    # startup: from the spawn to the engine's first reader (info line, timed by line-replay)
    T_START=$(sed -n 's/^\[ *\([0-9.]*\)\] .*engine: reader .*/\1/p' "$1/$3.log" | head -n 1)
    [ "$(field rc "$T_OUT")" = 0 ] && [ "$(field pass "$T_OUT")" = "$2" ]
}

# station DIR READERS LOGNAME: the same, failing the bench
station() {
    try_station "$1" "$2" "$3" 300 || { tail -n 30 "$1/$3.log" >&2; die "station run ($3): $T_OUT"; }
}

# replay DIR RECDIR LOGNAME: the bare loop over the line's readers; sets T_DONE, T_CPU
replay() {
    out=$("$LR" time --log "$1/$3.log" -- "$LR" replay "$LINE/readers" "$2")
    [ "$(field rc "$out")" = 0 ] || { cat "$1/$3.log" >&2; die "replay ($3): $out"; }
    grep -q ' 0 length/SW mismatches' "$1/$3.log" || { cat "$1/$3.log" >&2; die "replay $3"; }
    T_DONE=$(field done_s "$out")
    T_CPU=$(calc "%.6f" "$(field user_s "$out") + $(field sys_s "$out")")
}

installed() { sqlite3 "$1/pki/state/station.db" "SELECT count(*) FROM bpp WHERE state='installed'"; }

# record DIR BLOCK: a recording run with block_size BLOCK into DIR/recBLOCK
record() {
    restore "$1"
    set_block "$1" "$2"
    mkdir -p "$1/rec$2"
    up "$1" 4 --bench-fixed-challenge --bench-record "$1/rec$2"
    station "$1" 4 "record$2"
    down
    [ "$(installed "$1")" = $((4 * K)) ] || die "recording run ($2): not every BPP installed"
    set_block "$1" 120
}

T0=$(date +%s)
NOTES=""
N=$((4 * K))
F=$W/f1
log "fixture: 4 cards x $K BPPs ..."
fixture "$F" 4 "$K"

# ---- (2) APDUs and bytes per BPP (recording runs) ----
log "(2) recording runs at block sizes 120 and 255 ..."
record "$F" 120
record "$F" 255
sqlite3 "$F/state.snap/station.db" "SELECT id FROM bpp ORDER BY id" >"$F/ids"
while read -r id; do
    sqlite3 "$F/state.snap/station.db" "SELECT hex(bf36) FROM bpp_blob WHERE bpp_id=$id" \
        >"$F/bpp$id.hex"
done <"$F/ids"
for blk in 120 255; do
    for f in "$F/rec$blk"/*.rec; do "$LR" lbpp "$f"; done >"$F/lbpp$blk"
    n=$(grep -c '^lbpp' "$F/lbpp$blk")
    [ "$n" = "$N" ] || die "block $blk: $n LoadBoundProfilePackage exchanges in the records, $N expected"
    awk '/^lbpp/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
         /^session/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); t[kv[1]] += kv[2] } }
         END { printf "%d %d %d %d %d %d\n", s["apdus"], s["cbytes"] + s["rbytes"], s["bf37"],
               s["getresp"], t["apdus"], t["cbytes"] + t["rbytes"] }' "$F/lbpp$blk" >"$F/sum$blk"
    read -r m_apdus m_bytes m_bf37 m_gr s_apdus s_bytes <"$F/sum$blk"
    bf37=$((m_bf37 / N))
    while read -r id; do "$LR" minimum "$F/bpp$id.hex" "$blk" "$bf37"; done <"$F/ids" \
        | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
               END { printf "%d %d\n", s["apdus"], s["cbytes"] + s["rbytes"] }' >"$F/min$blk"
    read -r x_apdus x_bytes <"$F/min$blk"
    eval "A$blk=$(calc %.1f "$m_apdus / $N") BY$blk=$(calc %.0f "$m_bytes / $N")"
    eval "MA$blk=$(calc %.1f "$x_apdus / $N") MB$blk=$(calc %.0f "$x_bytes / $N")"
    eval "SA$blk=$(calc %.1f "$s_apdus / $N") SB$blk=$(calc %.0f "$s_bytes / $N")"
    eval "GR$blk=$(calc %.2f "$m_gr / $N")"
done
bpp_kb=$(sqlite3 "$F/state.snap/station.db" "SELECT avg(bpp_len) / 1000.0 FROM bpp")
for blk in 255 120; do
    eval "a=\$A$blk ma=\$MA$blk by=\$BY$blk mb=\$MB$blk gr=\$GR$blk"
    r=$(calc %.3f "$a / $ma")
    row "(2) APDU efficiency" "APDUs per BPP, block $blk (incl. $gr GET RESPONSE)" "$a" "$ma" "$r" \
        "ratio <= 1.00 (minimum)" "$(verdict "$r" "<=" 1.0005)"
    r=$(calc %.3f "$by / $mb")
    row "(2) APDU efficiency" "bytes per BPP (C+R), block $blk" "$by" "$mb" "$r" \
        "ratio <= 1.00 (minimum)" "$(verdict "$r" "<=" 1.0005)"
done
row "(2) APDU efficiency" "APDUs per BPP: 255-byte vs 120-byte client" "$A255" "$A120" \
    "$(calc %.3f "$A255 / $A120")" "info" "-"
row "(2) APDU efficiency" "bytes per BPP: 255-byte vs 120-byte client" "$BY255" "$BY120" \
    "$(calc %.3f "$BY255 / $BY120")" "info" "-"
row "(2) APDU efficiency" "whole card session per BPP, block 120: APDUs" "$SA120" "-" "-" \
    "info" "-"
row "(2) APDU efficiency" "whole card session per BPP, block 255: APDUs" "$SA255" "-" "-" \
    "info" "-"

# ---- (1) station overhead ----
# timed NAME MODEL...: R alternating station / replay runs on a line with the serve options
timed() {
    name=$1
    shift
    st_all="" rp_all="" stc_all="" rpc_all="" sts_all=""
    i=1
    while [ "$i" -le "$R" ]; do
        restore "$F"
        up "$F" 4 --bench-fixed-challenge "$@"
        station "$F" 4 "st-$name-$i"
        if [ "$i" = 1 ]; then
            # the fixed part: the same line again, nothing left to load
            T_OUT=$("$LR" time --timeout 60 --log "$F/fixed-$name.log" -- "$ST" \
                -c "$F/pki/station.conf" -v run --until-idle)
            FIXED_CPU=$(calc "%.6f" "$(field user_s "$T_OUT") + $(field sys_s "$T_OUT")")
        fi
        down
        [ "$(installed "$F")" = "$N" ] || die "station run $name $i: not every BPP installed"
        st_all="$st_all $T_DONE" stc_all="$stc_all $T_CPU" sts_all="$sts_all ${T_START:-0}"
        restore "$F"
        up "$F" 4 --bench-fixed-challenge "$@"
        replay "$F" "$F/rec120" "rp-$name-$i"
        down
        rp_all="$rp_all $T_DONE" rpc_all="$rpc_all $T_CPU"
        i=$((i + 1))
    done
    ST_MED=$(echo "$st_all" | median) RP_MED=$(echo "$rp_all" | median)
    STC_MED=$(echo "$stc_all" | median) RPC_MED=$(echo "$rpc_all" | median)
    STS_MED=$(echo "$sts_all" | median)
    log "  $name: station [$st_all ] replay [$rp_all ] cpu station [$stc_all ] replay [$rpc_all ]"
}
log "(1) station vs replay, $R runs each, cards modelling a real card ($CARD_MODEL_TEXT) ..."
timed card $CARD_MODEL
r=$(calc %.3f "$ST_MED / $RP_MED")
row "(1) station overhead" "load $N BPPs on 4 readers, $CARD_MODEL_TEXT: wall s" "$ST_MED" \
    "$RP_MED" "$r" "ratio <= 1.05" "$(verdict "$r" "<=" 1.05)"
cpu=$(calc %.2f "$STC_MED * 1000 / $N")
row "(1) station overhead" "host CPU per profile, station process: ms" "$cpu" \
    "$(calc %.2f "$RPC_MED * 1000 / $N")" "$(calc %.2f "$STC_MED / $RPC_MED")" "value <= 2 ms" \
    "$(verdict "$cpu" "<=" 2)"
row "(1) station overhead" "  fixed part of a run (start, per-card sessions, idle wait): ms" \
    "$(calc %.1f "$FIXED_CPU * 1000")" "-" "-" "info" "-"
row "(1) station overhead" "  marginal host CPU per profile ((run - fixed) / $N): ms" \
    "$(calc %.2f "($STC_MED - $FIXED_CPU) * 1000 / $N")" "-" "-" "info" "-"
row "(1) station overhead" "host CPU per profile beyond the bare loop's: ms" \
    "$(calc %.2f "($STC_MED - $RPC_MED) * 1000 / $N")" "-" "-" "info" "-"
row "(1) station overhead" "wall station - replay, whole run: ms" \
    "$(calc %.1f "($ST_MED - $RP_MED) * 1000")" "-" "-" "info" "-"
row "(1) station overhead" "  of which startup (spawn to first reader seen): ms" \
    "$(calc %.1f "$STS_MED * 1000")" "-" "-" "info" "-"
log "(1) station vs replay, $R runs each, bare line (no card model: the transport floor) ..."
timed floor
r=$(calc %.3f "$ST_MED / $RP_MED")
row "(1) station overhead" "same on the bare line (transport floor): wall s" "$ST_MED" "$RP_MED" \
    "$r" "info" "-"
row "(1) station overhead" "bare line: wall station - replay, whole run: ms" \
    "$(calc %.1f "($ST_MED - $RP_MED) * 1000")" "-" "-" "info" "-"
row "(1) station overhead" "  of which startup (spawn to first reader seen): ms" \
    "$(calc %.1f "$STS_MED * 1000")" "-" "-" "info" "-"
row "(1) station overhead" "bare line: host CPU per profile, station process: ms" \
    "$(calc %.2f "$STC_MED * 1000 / $N")" "$(calc %.2f "$RPC_MED * 1000 / $N")" \
    "$(calc %.2f "$STC_MED / $RPC_MED")" "info" "-"
restore "$F"
up "$F" 1
"$TK" line bench "$LINE" --count 2000 --size 120 >"$F/floor.out" 2>&1 || die "line bench"
down
row "(1) station overhead" "bare line: 125-byte STORE DATA round trip (testkit line bench): us" \
    "$(sed -n 's/^store-data:.*: \([0-9.]*\) us\/APDU$/\1/p' "$F/floor.out")" "-" "-" "info" "-"

# ---- (3) throughput ----
F3=$W/f3
log "(3) fixture: 16 cards x $B BPPs ..."
fixture "$F3" 16 "$B"
for k in $READERS_LIST; do
    log "(3) $k reader(s), $CARD_MODEL_TEXT ..."
    restore "$F3"
    up "$F3" "$k" $CARD_MODEL
    if try_station "$F3" "$k" "tp-$k" $((30 + 10 * B)) && [ "$(installed "$F3")" = $((k * B)) ]; then
        eval "PPM$k=$(calc %.1f "$k * $B * 60 / $T_DONE")"
    else
        # no verdict: the station did not load this line (see tp-$k.log); a row that fails
        eval "PPM$k=none"
        log "  $k readers: the station did not finish: $T_OUT; $(installed "$F3") BPPs installed"
        grep -m 3 -E 'err|warn' "$F3/tp-$k.log" | sed 's/^/line_bench:     /' >&2 || true
        NOTES="$NOTES
note: $k readers: the station did not finish in $((30 + 10 * B)) s ($(installed "$F3")/$((k * B)) BPPs installed); log: $(grep -m 1 -E 'err|warn' "$F3/tp-$k.log" || echo none)"
    fi
    down
done
for k in $READERS_LIST; do
    eval "ppm=\$PPM$k"
    if [ "$ppm" = none ] || [ "$PPM1" = none ]; then
        row "(3) reader scaling" "profiles/min, $k reader(s), $CARD_MODEL_TEXT" "none" "$PPM1" "-" \
            "station finished" "FAIL"
        continue
    fi
    s=$(calc %.2f "$ppm / $PPM1")
    case $k in
    1) goal="baseline" v="-" ;;
    8) goal="ratio >= 7" v=$(verdict "$s" ">=" 7) ;;
    16) goal="ratio >= 13" v=$(verdict "$s" ">=" 13) ;;
    *) goal="info (ideal $k)" v="-" ;;
    esac
    row "(3) reader scaling" "profiles/min, $k reader(s), $CARD_MODEL_TEXT" "$ppm" "$PPM1" "$s" \
        "$goal" "$v"
done

# The line's own capacity (is the rig able to run 16 readers in parallel?): the bare replay
# of all 16 cards' sessions on 16 readers against 1 reader. The records come from two
# 8-reader station runs (the first 8 cards, then the last 8 through a directory of links).
log "(3) line capacity: recording 16 cards' sessions (2 x 8 readers), bare replay on 1 and 16 ..."
restore "$F3"
mkdir -p "$F3/rec" "$F3/half2"
for c in $(ls "$F3/eum/cards" | sort | tail -n 8); do ln -sfn "$F3/eum/cards/$c" "$F3/half2/$c"; done
for half in "" "$F3/half2"; do
    CARDS=$half
    up "$F3" 8 --bench-fixed-challenge --bench-record "$F3/rec"
    CARDS=""
    station "$F3" 8 "rec16$(basename "${half:-first}")"
    down
done
[ "$(installed "$F3")" = $((16 * B)) ] || die "line capacity: recording runs did not install all"
for k in 1 16; do
    restore "$F3"
    up "$F3" "$k" --bench-fixed-challenge $CARD_MODEL
    replay "$F3" "$F3/rec" "cap-$k"
    down
    eval "CAP$k=$(calc %.1f "$k * $B * 60 / $T_DONE")"
done
row "(3) reader scaling" "line capacity: bare replay, 16 readers vs 1: profiles/min" "$CAP16" "$CAP1" \
    "$(calc %.2f "$CAP16 / $CAP1")" "info (the rig's limit)" "-"

el=$(($(date +%s) - T0))
echo "line bench: ifpp-station on the virtual line (pcscd + vpcd + simulated eUICCs, ${bpp_kb} KB BPPs); $el s"
echo "(1) $N BPPs on 4 readers, median of $R runs; baseline = bare SCardTransmit replay of the recorded APDUs"
echo "(2) baseline = minimum for the block size; (3) baseline = 1 reader, 16 cards x $B BPPs"
awk -F'\t' 'BEGIN { printf "%-62s %10s %10s %8s  %-24s %s\n", "metric", "value", "baseline", "ratio", "goal", "" }
    { printf "%-62s %10s %10s %8s  %-24s %s\n", $2, $3, $4, $5, $6, $7 }' "$W"/rows.*
[ -n "$NOTES" ] && echo "$NOTES" | sed '/^$/d'
if [ -n "$ROWS" ]; then
    cat "$W"/rows.* >>"$ROWS"
    echo "$NOTES" | sed '/^$/d; s/^note: /note\t/' >>"$ROWS"
fi
exit 0
