#!/bin/sh
# Fault campaign (issue 8, DESIGN §8): random kill -9 points across import, load and export on the
# virtual line (8 readers: 4 vpcd entries x 2 slots), with card drops and other card faults, card
# power cuts and pcscd crashes; after every kill and after every round the invariants are checked.
#
# Setup: one test PKI (2 SM-DPfs); one station store for the whole campaign and one report
# directory that accumulates. Every round is a fresh tray of 8 eUICCs (3 one-time keys each)
# bound by smdpf1 (key 1) and smdpf2 in PPK mode (key 2): 16 BPPs, 2 profiles per card,
# delete_keys = after-load. A round:
#   import  the tray's .ifppe and both bundles (3 files, or the stick directory at once)
#   load    line up --readers 8 with the tray, `run` until every BPP is settled
#   export  `report export` into the report directory
# Each round has a primary fault (the 6 kinds in a seeded random order, every kind once per 6
# rounds) and secondary ones: an import kill and an export kill each with probability 1/2, a
# load fault with probability 1/3 when the primary one is not a load fault:
#   import-kill  kill -9 of `import` (a random one of the round's imports): 1 in 3 after a random
#                delay within its measured duration, 2 in 3 (strace) at a random one of its file
#                and database syscalls, from a calibration run on a copy of the state directory
#   run-kill     kill -9 of `run`: after a random delay within the load, or a random delay after
#                a BPP went to loading, or (strace) at a random fdatasync (a commit) of a thread
#   export-kill  kill -9 of `report export`: random delay or (strace) random syscall, as above
#   card-fault   1-3 cards restarted with `euicc serve --faults`: drop@N (mostly), corrupt@N,
#                6f00@N, stall@N:MS at a random APDU N of the card's session
#   card-reset   power cut of a card during the load: kill -9 of its `euicc serve`, restarted
#                0.5-1.2 s later (a warm reset cannot be injected: README.md)
#   pcscd-kill   SIGKILL of pcscd (by the pid `line up` recorded) during the load, restarted as
#                `line up` starts it
# For the last three and run-kill the cards answer 2-6 ms per APDU, so that a load lasts long
# enough for a random moment to find BPPs loading.
# Recovery after a fault: `run --until-idle` (up to 3 times, while BPPs of the tray are loading,
# pending or failed), the stick imported again (idempotent), `report export` again.
# Checks (check.py): after each kill the store-level invariants; after each round all of them:
# integrity_check, every BPP settled and consistent with the cards' card.state, no PIR lost,
# nothing installed twice, no result in two reports, every result exported exactly once; plus
# openssl + `report verify` on every new report file and `audit verify`.
#
# usage: campaign.sh TESTKIT STATION [--rounds N] [--seed N] [--keep-going] [--keep]
#   --rounds N    rounds (default 12: the CI form; the long form is --rounds 200)
#   --seed N      the seed (default: $IFPP_FAULT_SEED, else random; printed first). A seed makes
#                 the same choices in each round (kinds, cards, APDU numbers, syscall picks,
#                 delays); what a timed kill hits still varies by a few ms
#   --keep-going  count violations and go on (default: stop at the first violating round)
#   --keep        keep the work directory when a round fails (its path is printed)
# exit 0: no violation; 1: a violation or a broken run; 77: skipped (no root or tools)
# Every process started here is stopped by its pid (line down, our own background pids), in a
# trap on every exit path; the work directory is removed.
set -eu

TK=${1:-}
ST=${2:-}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
ROUNDS=12
SEED=""
KEEP_GOING=0
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --keep-going) KEEP_GOING=1; shift ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: campaign.sh TESTKIT STATION [--rounds N] [--seed N] [--keep-going] [--keep]" >&2
       exit 2 ;;
    esac
done
case "$ROUNDS" in '' | *[!0-9]*) echo "campaign: bad --rounds" >&2; exit 2 ;; esac
case "$SEED" in *[!0-9]*) echo "campaign: bad --seed" >&2; exit 2 ;; esac
[ -n "$SEED" ] || SEED=${IFPP_FAULT_SEED:-}
case "$SEED" in *[!0-9]*) echo "campaign: bad IFPP_FAULT_SEED" >&2; exit 2 ;; esac
[ -n "$SEED" ] || SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
SEED=$((SEED % 2147483648))

HERE=$(cd "$(dirname "$0")" && pwd)
CHECK=$HERE/check.py
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, mount --bind for the isolated pcscd)"
for tool in pcscd unshare sqlite3 python3 openssl setsid; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
[ -x "$TK" ] || { echo "FAIL: no ifpp-testkit at '$TK'"; exit 1; }
[ -x "$ST" ] || { echo "FAIL: no ifpp-station at '$ST'"; exit 1; }
HAVE_STRACE=0
command -v strace >/dev/null 2>&1 && HAVE_STRACE=1

T=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-fault.XXXXXX")
T=$(cd "$T" && pwd -P) # `line down` identifies its processes by the real path of DIR/logs
LINE=""
BG=""
MYPIDS=""
FAILED=0
cleanup() {
    rc=$?
    if [ -n "$BG" ]; then
        kill -9 "$BG" 2>/dev/null || true
        wait "$BG" 2>/dev/null || true
    fi
    if [ -n "$LINE" ] && [ -f "$LINE/pids" ]; then
        "$TK" line down "$LINE" >/dev/null 2>&1 || true
    fi
    if [ "$KEEP" = 1 ] && [ "$rc" != 0 ]; then
        echo "work directory kept: $T"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- randomness: a 31-bit LCG, reseeded per round from (seed, round) ----
RS=0
rnd() { # rnd N: R = uniform 0..N-1 (N <= 32768)
    RS=$(((RS * 1103515245 + 12345) % 2147483648))
    R=$(((RS / 65536) % $1))
}
reseed() { # reseed A B
    RS=$(((SEED * 7919 + $1 * 104729 + $2 * 15485863) % 2147483648))
    rnd 2
    rnd 2
}

now_ms() { date +%s%3N; }
# A sanitizer build's LeakSanitizer cannot run under ptrace (it fails the process at exit):
# commands traced by strace run without it; every other run keeps it.
NOLSAN() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$@"; }
msleep() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

P=$T/pki
CONF=$P/station.conf
STATE=$P/state
DB=$STATE/station.db
OUT=$T/out
BATCH=$T/batches
st() { "$ST" -c "$CONF" "$@"; }
q() { sqlite3 -cmd '.timeout 30000' "$DB" "$1"; }

# ---- counters ----
r=0
KILL_IMPORT_T=0 KILL_IMPORT_S=0 MISS_IMPORT=0
KILL_RUN_T=0 KILL_RUN_L=0 KILL_RUN_S=0 MISS_RUN=0
KILL_EXPORT_T=0 KILL_EXPORT_S=0 MISS_EXPORT=0
LINEUP_RETRIES=0 KILL_CARD=0 KILL_PCSCD=0 MIDLOAD_RUN=0 MIDLOAD_CARD=0 MIDLOAD_PCSCD=0
F_DROP=0 F_CORRUPT=0 F_6F00=0 F_STALL=0 FIRED=0
CHECKS=0 CHECKPOINTS=0 VIOLATIONS=0 LEFT_RETRYABLE=0 SETTLE_RUNS=0
REC_SUMMARY=""

# The logs worth reading when a round fails.
dump_logs() {
    for f in "$RD"/*.log "$RD"/line/logs/*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 25 lines)"
        tail -n 25 "$f"
    done
}

# An infrastructure failure (not an invariant): stop.
die() {
    echo "FAIL [seed $SEED round $r]: $*"
    dump_logs
    exit 1
}

violation() {
    VIOLATIONS=$((VIOLATIONS + 1))
    echo "VIOLATION [seed $SEED round $r ($KINDS)]: $*"
    FAILED=1
}

# After a violating step: stop unless --keep-going.
maybe_stop() {
    if [ "$FAILED" = 1 ] && [ "$KEEP_GOING" = 0 ]; then
        dump_logs
        echo "reproduce: $0 $TK $ST --seed $SEED --rounds $r"
        exit 1
    fi
}

# Report files under final names are complete (CMS signature by the DM); new ones in full mode
# also pass `report verify` (signature, store, every PIR).
check_files() { # check_files quick|full
    for f in "$OUT"/PLR_*.ifppl; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        grep -qxF "$name" "$T/verified" 2>/dev/null && continue
        CHECKS=$((CHECKS + 1))
        if ! openssl cms -verify -binary -inform DER -in "$f" -CAfile "$P/dm-ca.cert.pem" \
            -out /dev/null 2>/dev/null; then
            violation "partial or bad report file under a final name: $name"
            continue
        fi
        if [ "$1" = full ]; then
            CHECKS=$((CHECKS + 1))
            st report verify "$f" >"$RD/verify-report.log" 2>&1 \
                || { violation "report verify rejects $name: $(tail -n 3 "$RD/verify-report.log")"; continue; }
            echo "$name" >>"$T/verified"
        fi
    done
}

checkpoint() { # checkpoint quick|full LABEL
    CHECKPOINTS=$((CHECKPOINTS + 1))
    set -- "$1" "$2"
    extra=""
    [ "$1" = full ] && extra="--bundles $((2 * r)) --batches-done $r"
    # shellcheck disable=SC2086 # extra is two option pairs or nothing
    python3 "$CHECK" --db "$DB" --batches "$BATCH" --out "$OUT" --journal "$STATE" \
        --mode "$1" --keys 3 --label "round $r $2" $extra >"$RD/check.out" 2>&1 || true
    # shellcheck disable=SC2046 # two numbers, or nothing when check.py broke
    set -- "$1" "$2" $(sed -n 's/^checks \([0-9]*\) violations \([0-9]*\)$/\1 \2/p' "$RD/check.out")
    if [ $# -ne 4 ]; then
        cat "$RD/check.out"
        violation "check.py failed ($2)"
        return 0
    fi
    CHECKS=$((CHECKS + $3))
    if [ "$4" != 0 ]; then
        # --keep-going: a state left by an earlier violation is reported once, not every round
        sed -n 's/^VIOLATION \[[^]]*\] //p' "$RD/check.out" | sort -u >"$RD/viol.now"
        touch "$T/viol.seen"
        comm -23 "$RD/viol.now" "$T/viol.seen" >"$RD/viol.new"
        cat "$RD/viol.new" >>"$T/viol.seen"
        sort -u -o "$T/viol.seen" "$T/viol.seen"
        old=$(($(wc -l <"$RD/viol.now") - $(wc -l <"$RD/viol.new")))
        if [ -s "$RD/viol.new" ]; then
            sed "s/^/VIOLATION [round $r $2] /" "$RD/viol.new" | head -n 20
            violation "$(wc -l <"$RD/viol.new") invariant(s) violated at '$2'"
        fi
        [ "$old" = 0 ] || echo "  ($old violation(s) reported in an earlier round still stand)"
    fi
    check_files "$1"
    if [ "$1" = full ]; then
        CHECKS=$((CHECKS + 1))
        st audit verify >"$RD/audit.log" 2>&1 || violation "audit verify: $(cat "$RD/audit.log")"
    fi
}

# ---- kills ----

# The exit status of a process killed by SIGKILL, as the shell reports it.
KILLED=137

# kill_after MS LOG CMD...: runs CMD in the background, kill -9 after MS; KRC = its exit status.
kill_after() {
    ms=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    BG=$!
    msleep "$ms"
    kill -9 "$BG" 2>/dev/null || true
    KRC=0
    wait "$BG" 2>/dev/null || KRC=$?
    BG=""
}

SYSCALLS=openat,write,writev,pwrite64,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,ftruncate,flock,fcntl
# pick_syscall TRACE: "NAME ORDINAL INDEX TOTAL" of a random call of an strace -f trace: a run of
# the same call counts as one choice (so short steps are as likely as the database's page
# writes); ORDINAL counts that call in its own thread (strace counts injections per tracee).
pick_syscall() { # pick_syscall TRACE SEED
    awk -v s="$2" '
        { pid = $1; line = $0; sub(/^[0-9]+ +/, "", line) }
        line ~ /^[a-z_0-9]+\(/ { n++; nm = line; sub(/\(.*/, "", nm); name[n] = nm; tid[n] = pid
                                 if (nm != name[n - 1]) start[++m] = n }
        END { if (n == 0) { print "none 0 0 0"; exit }
              srand(s); a = start[int(rand() * m) + 1]; e = a
              while (e < n && name[e + 1] == name[a]) e++
              k = a + int(rand() * (e - a + 1))
              for (i = 1; i <= k; i++) if (name[i] == name[k] && tid[i] == tid[k]) o++
              printf "%s %d %d %d\n", name[k], o, k, n }' "$1"
}

# A copy of the state directory (and, for exports, of the report directory) to calibrate on.
calib_copy() {
    rm -rf "$T/cal" "$T/calout"
    cp -a "$STATE" "$T/cal"
    mkdir -m 700 "$T/calout"
    cp -p "$OUT"/PLR_*.ifppl "$T/calout/" 2>/dev/null || true
}

# kill_step WHAT LOG ARGS...: `ifpp-station ARGS` killed at a random point (time or syscall),
# calibrated on a copy. ARGS are run as given and, for calibration, with --state-dir $T/cal
# (and the report directory replaced by $T/calout). Sets HOW and KRC.
kill_step() {
    what=$1 log=$2
    shift 2
    calib_copy
    rnd 3
    if [ "$HAVE_STRACE" = 1 ] && [ "$R" != 0 ]; then
        # shellcheck disable=SC2046 # the arguments with the report directory swapped
        NOLSAN strace -qq -f -o "$T/cal.trace" -e trace=$SYSCALLS \
            "$ST" -c "$CONF" --state-dir "$T/cal" $(echo "$@" | sed "s#$OUT#$T/calout#") \
            >/dev/null 2>&1 || die "$what: calibration run failed"
        rnd 30000
        pick=$(pick_syscall "$T/cal.trace" "$R")
        read -r ks_name ks_ord ks_idx ks_tot <<EOF
$pick
EOF
        KRC=0
        NOLSAN strace -qq -f -o /dev/null -e trace="$ks_name" -e inject="$ks_name":signal=SIGKILL:when="$ks_ord" \
            "$ST" -c "$CONF" "$@" >"$log" 2>&1 || KRC=$?
        HOW="SIGKILL at syscall $ks_idx of $ks_tot ($ks_name #$ks_ord)"
        KIND=s
    else
        ks_t0=$(now_ms)
        # shellcheck disable=SC2046
        "$ST" -c "$CONF" --state-dir "$T/cal" $(echo "$@" | sed "s#$OUT#$T/calout#") \
            >/dev/null 2>&1 || die "$what: calibration run failed"
        ks_dur=$(($(now_ms) - ks_t0))
        rnd $((ks_dur + 1))
        kill_after "$R" "$log" "$ST" -c "$CONF" "$@"
        HOW="kill -9 after $R ms (a run takes ~$ks_dur ms)"
        KIND=t
    fi
    rm -rf "$T/cal" "$T/calout" "$T/cal.trace"
}

# ---- the tray of cards and its bundles ----
make_batch() {
    B=$BATCH/$r
    "$TK" eum make "$B" --count 8 --keys 3 --pki "$P" >"$RD/eum.log" 2>&1 || die "eum make"
    mkdir "$B/stick"
    cp "$B/euicc-data.ifppe" "$B/stick/"
    "$TK" smdpf bind "$B/euicc-data.ifppe" --pki "$P" --smdpf smdpf1 -o "$B/stick/b1.ifppb" \
        >"$RD/bind.log" 2>&1 || die "smdpf1 bind"
    # smdpf2 binds each card's second key: its binding record learns the keys smdpf1 took
    ls "$B/cards" >"$B/eids"
    grep -F -f "$B/eids" "$P/smdpf1/bound.txt" >>"$P/smdpf2/bound.txt"
    "$TK" smdpf bind "$B/euicc-data.ifppe" --pki "$P" --smdpf smdpf2 --ppk \
        -o "$B/stick/b2.ifppb" >>"$RD/bind.log" 2>&1 || die "smdpf2 bind"
    EIDS_SQL=$(sed "s/.*/'&'/" "$B/eids" | paste -sd, -)
}

# BPPs of this tray in the given states (SQL list).
tray_count() { q "SELECT count(*) FROM bpp WHERE hex(eid) IN ($EIDS_SQL) AND state IN ($1)"; }

# ---- import ----
import_phase() { # import_phase kill|-
    rnd 2
    if [ "$R" = 0 ]; then
        set -- "$1" "$B/stick/euicc-data.ifppe" "$B/stick/b1.ifppb" "$B/stick/b2.ifppb"
    else
        set -- "$1" "$B/stick"
    fi
    target=-1
    if [ "$1" = kill ]; then
        rnd $(($# - 1))
        target=$R
    fi
    shift
    i=0
    for f in "$@"; do
        if [ "$i" = "$target" ]; then
            kill_step "import" "$RD/import-kill.log" import --quiet "$f"
            if [ "$KRC" = "$KILLED" ]; then
                if [ "$KIND" = s ]; then KILL_IMPORT_S=$((KILL_IMPORT_S + 1)); else KILL_IMPORT_T=$((KILL_IMPORT_T + 1)); fi
                echo "  import $(basename "$f"): $HOW"
                checkpoint quick "after kill -9 of import $(basename "$f")"
            else
                MISS_IMPORT=$((MISS_IMPORT + 1))
                echo "  import $(basename "$f"): not killed ($HOW; exit $KRC)"
                [ "$KRC" = 0 ] || violation "import of $f exited $KRC: $(tail -n 3 "$RD/import-kill.log")"
            fi
            break
        fi
        st import --quiet "$f" >"$RD/import.log" 2>&1 \
            || violation "import of $f failed: $(tail -n 3 "$RD/import.log")"
        i=$((i + 1))
    done
    # recovery, and idempotence: the whole stick again
    st import "$B/stick" >"$RD/reimport.log" 2>&1 \
        || violation "re-import of the stick failed: $(tail -n 3 "$RD/reimport.log")"
    [ "$(tray_count "'pending'")" = 16 ] || violation "16 pending BPPs expected after the import"
}

# ---- load ----
# The line's vpcd ports lie in the kernel's ephemeral range (32768-60999): a card that connected
# while nobody listened on its port could be given that very port as its local one and connect to
# itself (TCP simultaneous open); pcscd then could not bind the port ("FPA-SIM<n> init failed").
# The test kit now refuses such a connection (README.md); `line up` is still retried on another
# directory (other ports) should a reader not come up, and the retries are counted.
line_up() { # line_up [card serve options]
    lu_n=1
    while :; do
        LINE=$RD/line
        [ "$lu_n" = 1 ] || LINE=$RD/line.$lu_n
        if "$TK" line up "$LINE" --readers 8 --cards "$B" --pki "$P" "$@" >/dev/null \
            2>"$RD/lineup.log"; then
            break
        fi
        [ "$lu_n" -lt 3 ] || die "line up: $(cat "$RD/lineup.log")"
        echo "  line up failed (test kit: $(grep -h 'init failed\|did not' "$RD/lineup.log" "$LINE/logs/pcscd.log" 2>/dev/null | head -n 2 | tr '\n' ' ')): again on other ports"
        LINEUP_RETRIES=$((LINEUP_RETRIES + 1))
        lu_n=$((lu_n + 1))
    done
    # shellcheck disable=SC1091
    . "$LINE/env"
    export PCSCLITE_CSOCK_NAME
}

line_down() {
    "$TK" line down "$LINE" >/dev/null 2>&1 || true
    LINE=""
    # reap the cards and pcscd we restarted (our children; `line down` stopped them)
    for p in $MYPIDS; do
        if ! [ -e "/proc/$p" ] || grep -q '^[0-9]* ([^)]*) [ZX]' "/proc/$p/stat" 2>/dev/null; then
            wait "$p" 2>/dev/null || true
        fi
    done
    MYPIDS=""
    for f in "$RD"/line/logs/card-*.log; do
        n=$(grep -c 'euicc .*: fault ' "$f" || true)
        FIRED=$((FIRED + n))
    done
}

# Waits until pid is gone (not necessarily our child: `line up` detached it).
wait_gone() {
    wg_i=0
    while [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) [ZX]' "/proc/$1/stat" 2>/dev/null; do
        wg_i=$((wg_i + 1))
        [ $wg_i -lt 500 ] || die "pid $1 does not go away"
        sleep 0.02
    done
}

# restart_card I SIGNAL GAP_MS [serve options]: stops card I (reader order) by its pid, waits GAP
# (so that pcscd sees it removed), starts it again on its port and state, records the new pid
# in the line's pid file (`line down` stops it).
restart_card() {
    rc_i=$1 rc_sig=$2 rc_gap=$3
    shift 3
    rc_pid=$(sed -n "$((rc_i + 2))p" "$LINE/pids")
    rc_tab=$(printf '\t')
    rc_port=$(sed -n "$((rc_i + 1))p" "$LINE/readers" | cut -d"$rc_tab" -f2)
    rc_dir=$(sed -n "$((rc_i + 1))p" "$LINE/readers" | cut -d"$rc_tab" -f4)
    grep -q euicc "/proc/$rc_pid/cmdline" 2>/dev/null || die "pid $rc_pid is not card $rc_i"
    kill "-$rc_sig" "$rc_pid"
    wait_gone "$rc_pid"
    msleep "$rc_gap"
    setsid "$TK" -v euicc serve --state "$rc_dir" --vpcd-port "$rc_port" "$@" \
        >>"$LINE/logs/card-$rc_i.log" 2>&1 </dev/null &
    rc_new=$!
    MYPIDS="$MYPIDS $rc_new"
    sed -i "$((rc_i + 2))s/.*/$rc_new/" "$LINE/pids"
}

# True when all 8 vpcd ports of the line are listening (/proc/net/tcp, state 0A).
ports_listening() {
    # shellcheck disable=SC2013 # one port a line
    for p in $(cut -f2 "$LINE/readers"); do
        hp=$(printf '%04X' "$p")
        grep -q "^ *[0-9]*: [0-9A-F]*:$hp [0-9A-F]*:0000 0A " /proc/net/tcp || return 1
    done
    return 0
}

# pcscd crashes and is started again. While it is down the cards are stopped (SIGSTOP by pid):
# reconnecting to an unbound port they could connect to themselves (see line_up) and keep the
# new pcscd from binding it; they continue (SIGCONT) once every vpcd port listens again.
restart_pcscd() {
    old=$(head -n 1 "$LINE/pids")
    grep -q pcscd "/proc/$old/cmdline" 2>/dev/null || die "first pid of $LINE/pids is not pcscd"
    cards=$(sed 1d "$LINE/pids")
    # shellcheck disable=SC2086 # a list of pids
    kill -STOP $cards
    kill -9 "$old"
    wait_gone "$old"
    sleep 1
    # what a crashed pcscd leaves behind (its socket and pid file) would stop a new one
    rm -f "$LINE/run/pcscd.comm" "$LINE/run/pcscd.pid"
    # shellcheck disable=SC2016 # expanded by the inner sh
    setsid unshare -m sh -c 'mount --bind "$1" /run/pcscd && exec pcscd -f -c "$2"' sh \
        "$LINE/run" "$LINE/reader.conf.d" >>"$LINE/logs/pcscd2.log" 2>&1 </dev/null &
    new=$!
    MYPIDS="$MYPIDS $new"
    sed -i "1s/.*/$new/" "$LINE/pids"
    i=0
    until ports_listening; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        [ $i -lt 200 ] || { kill -CONT $cards; die "pcscd restarted, its vpcd ports do not listen"; }
        sleep 0.05
    done
    # shellcheck disable=SC2086
    kill -CONT $cards
    ! grep -q 'init failed' "$LINE/logs/pcscd2.log" || die "restarted pcscd: $(grep -h 'init failed' "$LINE/logs/pcscd2.log")"
}

run_ok() { # run_ok RC WHAT: 0 every card passed, 1 some did not (faults): both fine
    case "$1" in
    0 | 1) ;;
    124) violation "$2: run --until-idle did not finish in 300 s" ;;
    *) violation "$2: run exited $1 (crash?)" ;;
    esac
}

# Background `run --until-idle -v` (no timeout wrapper: $BG is the station itself).
bg_run() {
    "$ST" -c "$CONF" -v run --until-idle >"$RD/$1.log" 2>&1 &
    BG=$!
}

wait_bg() { # wait_bg WHAT: waits for $BG (at most 300 s), checks its exit status
    wb_i=0
    while kill -0 "$BG" 2>/dev/null && [ $wb_i -lt 3000 ]; do
        # a zombie answers kill -0: stop polling once it has exited
        grep -q '^[0-9]* ([^)]*) Z' "/proc/$BG/stat" 2>/dev/null && break
        sleep 0.1
        wb_i=$((wb_i + 1))
    done
    if [ $wb_i -ge 3000 ]; then
        kill -9 "$BG" 2>/dev/null || true
    fi
    wb_rc=0
    wait "$BG" 2>/dev/null || wb_rc=$?
    BG=""
    [ $wb_i -lt 3000 ] || wb_rc=124
    run_ok "$wb_rc" "$1"
}

# Waits (up to 10 s) for a BPP of the tray in loading; prints its EID ("" if none came).
wait_loading() {
    i=0
    while [ $i -lt 200 ]; do
        e=$(q "SELECT hex(eid) FROM bpp WHERE state = 'loading' AND hex(eid) IN ($EIDS_SQL) ORDER BY random() LIMIT 1")
        [ -n "$e" ] && { echo "$e"; return 0; }
        kill -0 "$BG" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    echo ""
}

reader_of() { # reader index (0-based) of an EID on the line
    awk -F '\t' -v e="$1" '$3 == e { print NR - 1; exit }' "$LINE/readers"
}

# When to strike during a background run: after a random delay within a load, or a random
# short delay after some BPP went to loading. Sets TARGET_EID (or "").
strike_delay() {
    rnd 2
    if [ "$R" = 0 ]; then
        rnd "$TLOAD"
        msleep "$R"
        WHEN="after $R ms"
        TARGET_EID=$(q "SELECT hex(eid) FROM bpp WHERE state = 'loading' AND hex(eid) IN ($EIDS_SQL) ORDER BY random() LIMIT 1")
        STRIKE=t
    else
        TARGET_EID=$(wait_loading)
        rnd 400
        msleep "$R"
        WHEN="${R} ms after a BPP went to loading"
        STRIKE=l
    fi
}

fault_spec() { # one card's --faults: 1 or 2 faults at random APDUs of its session
    spec=""
    rnd 3
    nf=$((R / 2 + 1))
    while [ "$nf" -gt 0 ]; do
        rnd 280
        n=$((R + 1))
        rnd 10
        case "$R" in
        [0-5]) item="drop@$n"; F_DROP=$((F_DROP + 1)) ;;
        [6-7]) item="corrupt@$n"; F_CORRUPT=$((F_CORRUPT + 1)) ;;
        8) item="6f00@$n"; F_6F00=$((F_6F00 + 1)) ;;
        *) rnd 2000; item="stall@$n:$((R + 200))"; F_STALL=$((F_STALL + 1)) ;;
        esac
        spec="${spec:+$spec,}$item"
        nf=$((nf - 1))
    done
}

load_phase() { # load_phase none|run-kill|card-fault|card-reset|pcscd-kill
    # A BPP loads in ~0.1 s on the bare simulator: for the faults that strike at a moment of a
    # running load, the cards answer with 2-6 ms per APDU (~130 APDUs a BPP), so that a random
    # moment of the load (TLOAD ms: authorisation, 2 BPPs, verification, key deletion) often
    # finds BPPs loading.
    case "$1" in
    run-kill | card-reset | pcscd-kill)
        rnd 5
        lat=$((R + 2))
        TLOAD=$((300 + 300 * lat))
        line_up --latency-ms "$lat"
        echo "  line: 8 cards with $lat ms per APDU"
        ;;
    *) line_up ;;
    esac
    recover=0
    case "$1" in
    none)
        rc=0
        timeout 300 "$ST" -c "$CONF" -v run --until-idle >"$RD/run.log" 2>&1 || rc=$?
        run_ok "$rc" "run"
        ;;
    run-kill)
        rnd 3
        if [ "$R" = 2 ] && [ "$HAVE_STRACE" = 1 ]; then
            rnd 10
            k=$((R + 1))
            rc=0
            NOLSAN timeout 300 strace -qq -f -o /dev/null -e trace=fdatasync \
                -e inject=fdatasync:signal=SIGKILL:when=$k \
                "$ST" -c "$CONF" -v run --until-idle >"$RD/run-killed.log" 2>&1 || rc=$?
            if [ "$rc" = "$KILLED" ]; then
                KILL_RUN_S=$((KILL_RUN_S + 1))
                n=$(tray_count "'loading'")
                [ "$n" = 0 ] || MIDLOAD_RUN=$((MIDLOAD_RUN + 1))
                echo "  run: SIGKILL at fdatasync #$k of a thread ($n loading, $(tray_count "'installed'") installed)"
            else
                MISS_RUN=$((MISS_RUN + 1))
                echo "  run: not killed (fdatasync #$k never reached; exit $rc)"
                run_ok "$rc" "run under strace"
            fi
        else
            "$ST" -c "$CONF" -v run >"$RD/run-killed.log" 2>&1 &
            BG=$!
            strike_delay
            kill -9 "$BG" 2>/dev/null || true
            rc=0
            wait "$BG" 2>/dev/null || rc=$?
            BG=""
            if [ "$rc" = "$KILLED" ]; then
                if [ "$STRIKE" = t ]; then KILL_RUN_T=$((KILL_RUN_T + 1)); else KILL_RUN_L=$((KILL_RUN_L + 1)); fi
                n=$(tray_count "'loading'")
                [ "$n" = 0 ] || MIDLOAD_RUN=$((MIDLOAD_RUN + 1))
                echo "  run: kill -9 $WHEN ($n loading, $(tray_count "'installed'") installed)"
            else
                MISS_RUN=$((MISS_RUN + 1))
                violation "run (continuous) ended by itself with $rc: $(tail -n 3 "$RD/run-killed.log")"
            fi
        fi
        [ "$rc" = "$KILLED" ] && checkpoint quick "after kill -9 of run"
        recover=1
        ;;
    card-fault)
        rnd 3
        nc=$((R + 1))
        picked=" "
        while [ "$nc" -gt 0 ]; do
            rnd 8
            case "$picked" in *" $R "*) continue ;; esac
            idx=$R
            picked="$picked$idx "
            fault_spec
            # out for 0.6 s: pcscd (presence poll 400 ms) must see the card go
            restart_card "$idx" TERM 600 --faults "$spec"
            echo "  card $idx: --faults $spec"
            nc=$((nc - 1))
        done
        sleep 1 # the restarted cards are seen by pcscd (presence poll: 400 ms)
        rc=0
        timeout 300 "$ST" -c "$CONF" -v run --until-idle >"$RD/run.log" 2>&1 || rc=$?
        run_ok "$rc" "run with card faults"
        ;;
    card-reset)
        bg_run run
        strike_delay
        rnd 8 # drawn either way: the round's later draws do not depend on timing
        idx=$R
        [ -z "$TARGET_EID" ] || idx=$(reader_of "$TARGET_EID")
        n=$(tray_count "'loading'")
        [ "$n" = 0 ] || MIDLOAD_CARD=$((MIDLOAD_CARD + 1))
        rnd 700
        restart_card "$idx" KILL $((R + 500))
        KILL_CARD=$((KILL_CARD + 1))
        echo "  card $idx: power cut (kill -9) $WHEN ($n loading${TARGET_EID:+, EID $TARGET_EID among them}), back after $((R + 500)) ms"
        wait_bg "run during a card power cut"
        ;;
    pcscd-kill)
        bg_run run
        strike_delay
        n=$(tray_count "'loading'")
        [ "$n" = 0 ] || MIDLOAD_PCSCD=$((MIDLOAD_PCSCD + 1))
        restart_pcscd
        KILL_PCSCD=$((KILL_PCSCD + 1))
        echo "  pcscd: SIGKILL $WHEN ($n loading), restarted"
        wait_bg "run during a pcscd crash"
        ;;
    esac
    # recovery: run again while BPPs of the tray are loading, pending or failed
    tries=0
    while [ $tries -lt 3 ]; do
        if [ "$recover" = 0 ] && [ "$(tray_count "'loading','pending','failed'")" = 0 ]; then
            break
        fi
        recover=0
        rc=0
        timeout 300 "$ST" -c "$CONF" -v run --until-idle >"$RD/settle-$tries.log" 2>&1 || rc=$?
        run_ok "$rc" "recovery run"
        SETTLE_RUNS=$((SETTLE_RUNS + 1))
        tries=$((tries + 1))
    done
    left=$(tray_count "'pending','failed'")
    LEFT_RETRYABLE=$((LEFT_RETRYABLE + left))
    [ "$left" = 0 ] || echo "  note: $left BPP(s) of the tray still pending/failed after $tries recovery run(s)"
    REC_SUMMARY="$REC_SUMMARY $(cat "$RD"/run*.log "$RD"/settle-*.log 2>/dev/null |
        grep -o 'recovery of BPP .* -> [a-z]*' | sed 's/.* -> //' | tr '\n' ' ')"
    line_down
}

# ---- export ----
export_phase() { # export_phase kill|-
    if [ "$1" = kill ]; then
        kill_step "export" "$RD/export-kill.log" report export "$OUT" --quiet
        if [ "$KRC" = "$KILLED" ]; then
            if [ "$KIND" = s ]; then KILL_EXPORT_S=$((KILL_EXPORT_S + 1)); else KILL_EXPORT_T=$((KILL_EXPORT_T + 1)); fi
            echo "  export: $HOW"
            checkpoint quick "after kill -9 of report export"
        else
            MISS_EXPORT=$((MISS_EXPORT + 1))
            echo "  export: not killed ($HOW; exit $KRC)"
            [ "$KRC" = 0 ] || violation "report export exited $KRC: $(tail -n 3 "$RD/export-kill.log")"
        fi
    fi
    st report export "$OUT" >"$RD/export.log" 2>&1 \
        || violation "report export failed: $(tail -n 3 "$RD/export.log")"
}

# ---- the campaign ----
KINDS_ALL="import-kill run-kill export-kill card-fault card-reset pcscd-kill"
LOAD_KINDS="run-kill card-fault card-reset pcscd-kill"
nth() { # nth N WORDS...: the Nth word (0-based)
    shift $(($1 + 1))
    echo "$1"
}
# The primary kind of round r: a seeded shuffle of the 6 kinds per block of 6 rounds.
primary_kind() {
    reseed 0 $(((r - 1) / 6))
    # shellcheck disable=SC2086 # a word list
    set -- $KINDS_ALL
    order=""
    while [ $# -gt 0 ]; do
        rnd $#
        pick=$(nth "$R" "$@")
        order="$order $pick"
        rest=""
        for k in "$@"; do [ "$k" = "$pick" ] || rest="$rest $k"; done
        # shellcheck disable=SC2086
        set -- $rest
    done
    # shellcheck disable=SC2086
    nth $(((r - 1) % 6)) $order
}

echo "fault campaign: seed $SEED, $ROUNDS rounds, 8 readers (strace kills: $([ $HAVE_STRACE = 1 ] && echo yes || echo no))"
echo "reproduce with: $0 TESTKIT STATION --seed $SEED --rounds $ROUNDS"
START=$(now_ms)
mkdir -p "$BATCH" "$OUT" "$T/rounds"
chmod 700 "$OUT"
: >"$T/verified"
"$TK" pki init "$P" >/dev/null
printf '\n[policy]\ndelete_keys = after-load\nmax_retries = 5\n' >>"$CONF"
touch "$P/smdpf2/bound.txt"
mkdir -p "$STATE"

r=1
while [ "$r" -le "$ROUNDS" ]; do
    RD=$T/rounds/$r
    mkdir -p "$RD"
    FAILED=0
    KINDS=$(primary_kind)
    reseed 1 "$r"
    imp=- ld=none exp=-
    case "$KINDS" in
    import-kill) imp="kill" ;;
    export-kill) exp="kill" ;;
    *) ld=$KINDS ;;
    esac
    rnd 2
    [ "$R" = 0 ] && [ "$imp" = - ] && { imp="kill"; KINDS="$KINDS+import-kill"; }
    rnd 2
    [ "$R" = 0 ] && [ "$exp" = - ] && { exp="kill"; KINDS="$KINDS+export-kill"; }
    rnd 3
    if [ "$R" = 0 ] && [ "$ld" = none ]; then
        rnd 4
        # shellcheck disable=SC2086
        ld=$(nth "$R" $LOAD_KINDS)
        KINDS="$KINDS+$ld"
    fi
    ROUND_T0=$(now_ms)
    echo "round $r/$ROUNDS: $KINDS"
    make_batch
    import_phase "$imp"
    maybe_stop
    load_phase "$ld"
    maybe_stop
    export_phase "$exp"
    checkpoint full "end of round"
    maybe_stop
    [ "$FAILED" = 1 ] && res="FAILED" || res="ok"
    echo "  $res: $(tray_count "'installed'") installed, $(tray_count "'dead'") dead, $(tray_count "'pending','failed'") retryable; $CHECKS checks so far, $VIOLATIONS violation(s) [$(( ($(now_ms) - ROUND_T0) / 1000 )) s]"
    if [ "$FAILED" = 1 ]; then
        dump_logs # --keep-going: this round's logs are kept (and printed)
        touch "$RD/.failed"
    fi
    [ "$r" -gt 1 ] && [ ! -e "$T/rounds/$((r - 1))/.failed" ] && rm -rf "$T/rounds/$((r - 1))"
    r=$((r + 1))
done
r=$((r - 1))

WALL=$((($(now_ms) - START) / 1000))
KP_IMPORT=$((KILL_IMPORT_T + KILL_IMPORT_S))
KP_RUN=$((KILL_RUN_T + KILL_RUN_L + KILL_RUN_S))
KP_EXPORT=$((KILL_EXPORT_T + KILL_EXPORT_S))
KP=$((KP_IMPORT + KP_RUN + KP_EXPORT + KILL_CARD + KILL_PCSCD))
echo
echo "== fault campaign: seed $SEED"
echo "rounds:            $r in ${WALL} s"
echo "kill points:       $KP"
echo "  import kill -9:  $KP_IMPORT ($KILL_IMPORT_T timed, $KILL_IMPORT_S at a syscall; $MISS_IMPORT finished first)"
echo "  run kill -9:     $KP_RUN ($KILL_RUN_T timed, $KILL_RUN_L after loading began, $KILL_RUN_S at an fdatasync; $MIDLOAD_RUN with BPPs loading; $MISS_RUN missed)"
echo "  export kill -9:  $KP_EXPORT ($KILL_EXPORT_T timed, $KILL_EXPORT_S at a syscall; $MISS_EXPORT finished first)"
echo "  card power cuts: $KILL_CARD (kill -9 of the simulated card, restarted; $MIDLOAD_CARD with BPPs loading)"
echo "  pcscd SIGKILL:   $KILL_PCSCD (restarted; $MIDLOAD_PCSCD with BPPs loading)"
echo "card faults:       $((F_DROP + F_CORRUPT + F_6F00 + F_STALL)) injected (drop $F_DROP, corrupt $F_CORRUPT, 6f00 $F_6F00, stall $F_STALL), $FIRED fired"
echo "recovery:          $(echo "$REC_SUMMARY" | tr ' ' '\n' | grep -v '^$' | sort | uniq -c |
    awk '{ printf "%s%d BPPs -> %s", (NR > 1 ? ", " : ""), $1, $2 } END { if (NR == 0) printf "none" }') (settle runs: $SETTLE_RUNS)"
echo "BPPs:              $(q "SELECT count(*) FROM bpp") total: $(q "SELECT count(*) FROM bpp WHERE state='installed'") installed, $(q "SELECT count(*) FROM bpp WHERE state='failed'") failed, $(q "SELECT count(*) FROM bpp WHERE state='dead'") dead, $(q "SELECT count(*) FROM bpp WHERE state='pending'") pending, $(q "SELECT count(*) FROM bpp WHERE state='loading'") loading"
echo "reports:           $(q "SELECT count(*) FROM report WHERE exported_at IS NOT NULL") exported, $(q "SELECT count(*) FROM report_entry") entries for $(q "SELECT count(*) FROM result") results"
echo "line up retries:   $LINEUP_RETRIES (test kit: vpcd port taken by a self-connected card)"
echo "invariants:        $CHECKS checks at $CHECKPOINTS checkpoints, $VIOLATIONS violation(s)"
if [ "$VIOLATIONS" != 0 ]; then
    echo "FAIL: $VIOLATIONS violation(s) (seed $SEED)"
    exit 1
fi
echo PASS
