#!/bin/sh
# e2e (issue 5): the station's engine on the virtual line (real pcscd + vpcd + simulated eUICCs).
#
# Scenario "clean": pki init; eum make --count 4 --keys 2; bind one bundle from smdpf1 and one
# from smdpf2 in PPK mode (2 profiles per card, one BPP without and one with A2: smdpf2 binds
# the second key of each card); `line up --readers 4`; `ifpp-station import`;
# `ifpp-station run --until-idle` with [policy] delete_keys = after-load. Then: all 8 BPPs
# installed, every PIR verified, one result and one successful attempt per BPP, every one-time
# key consumed or deleted, `verify --reader` PASS on each card, and each card (scriptor)
# lists exactly 2 profiles, allows an LPA function (PrepareDownload answers, no 6985) and
# refuses an FPA one (DeleteOneTimeKeys: 6985). Then `run` under a NOTIFY_SOCKET: READY=1,
# STATUS=, the readers locked against a second process, SIGTERM -> exit 0 with STOPPING=1.
# "t0-b64": T=0-only cards, 64-byte STORE DATA blocks; "b255": 255-byte blocks.
# Fault scenarios (same checks; nothing installed twice, no PIR lost):
#   "drop-*"  the cards drop the connection at APDU n (`euicc serve --faults drop@n`, through
#             `line up`): 15 points spread over the session and both loads (APDUs 4..257),
#             among them the GET RESPONSE carrying a PIR (the card installed, the station never
#             saw the result: it must come back from the card's notification list);
#   "kill9"   the station is killed -9 while a BPP is loading (slowed cards), then restarted.
# Every process started here is stopped by pid (line down, kill of our own background pid) on
# every exit path (trap).
#
# usage: test_line_run.sh [ifpp-testkit] [ifpp-station] [SCENARIO...]   exit 77: skip (no root
#        or tools)
set -eu

TK=${1:-${IFPP_BUILD_DIR:-build}/tests/testkit/ifpp-testkit}
ST=${2:-${IFPP_BUILD_DIR:-build}/station/ifpp-station}
[ $# -ge 2 ] && shift 2 || shift $#
SCENARIOS=${*:-"clean t0-b64 b255 drop-a drop-b drop-c drop-d drop-e drop-f drop-g pcscd-kill kill9"}
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, mount --bind for the isolated pcscd)"
for tool in pcscd scriptor unshare sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
[ -x "$TK" ] || { echo "FAIL: no ifpp-testkit at $TK"; exit 1; }
[ -x "$ST" ] || { echo "FAIL: no ifpp-station at $ST"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-line.XXXXXX")
LINE=""
BG=""
PCSCD2=""
cleanup() {
    rc=$?
    if [ -n "$BG" ]; then
        kill -9 "$BG" 2>/dev/null || true
        wait "$BG" 2>/dev/null || true
    fi
    if [ -n "$PCSCD2" ]; then
        kill "$PCSCD2" 2>/dev/null || true
        wait "$PCSCD2" 2>/dev/null || true
    fi
    if [ -n "$LINE" ] && [ -f "$LINE/pids" ]; then
        "$TK" line down "$LINE" || true
    fi
    if [ "$rc" != 0 ]; then
        for f in "$T"/*/run*.log "$T"/*/line/logs/*.log; do
            [ -f "$f" ] || continue
            echo "---- $f"
            tail -n 30 "$f"
        done
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL [$SC]: $*"
    exit 1
}

q() { sqlite3 "$D/pki/state/station.db" "$1"; }

# Spaced hex for scriptor.
sp() { echo "$1" | sed 's/ //g; s/../& /g'; }

# Fresh PKI, cards and bundles for one scenario in $D.
prepare() {
    mkdir -p "$D"
    "$TK" pki init "$D/pki" >/dev/null
    printf '\n[policy]\ndelete_keys = after-load\nmax_retries = 5\n' >>"$D/pki/station.conf"
    sed -i "s/^block_size=.*/block_size=${BLOCK:-120}/" "$D/pki/station.conf"
    C="-c $D/pki/station.conf"
    "$TK" eum make "$D/eum" --count 4 --keys 2 --pki "$D/pki" >"$D/eids"
    "$ST" $C import "$D/eum/euicc-data.ifppe" >/dev/null
    "$TK" smdpf bind "$D/eum/euicc-data.ifppe" --pki "$D/pki" --smdpf smdpf1 -o "$D/b1.ifppb" \
        >/dev/null
    "$ST" $C import "$D/b1.ifppb" >/dev/null
    # smdpf2 binds each card's other key (its binding record starts with the keys smdpf1
    # took) in PPK mode: every card gets one BPP without A2 and one with A2
    cp "$D/pki/smdpf1/bound.txt" "$D/pki/smdpf2/bound.txt"
    "$TK" smdpf bind "$D/eum/euicc-data.ifppe" --pki "$D/pki" --smdpf smdpf2 --ppk \
        -o "$D/b2.ifppb" >/dev/null
    "$ST" $C import "$D/b2.ifppb" >/dev/null
    [ "$(q "SELECT count(*) FROM bpp WHERE state='pending'")" = 8 ] || fail "8 pending BPPs expected"
    [ "$(q "SELECT count(DISTINCT eid) FROM bpp")" = 4 ] || fail "BPPs for 4 cards expected"
}

line_up() {
    LINE="$D/line"
    "$TK" line up "$LINE" --readers 4 --cards "$D/eum" --pki "$D/pki" "$@" >/dev/null
    . "$LINE/env"
    export PCSCLITE_CSOCK_NAME
}

line_down() {
    "$TK" line down "$LINE" >/dev/null
    LINE=""
}

# run --until-idle; $1: log name
run_idle() {
    timeout 300 "$ST" $C -v run --until-idle >"$D/$1.log" 2>&1 || {
        rc=$?
        cat "$D/$1.log"
        fail "run --until-idle exited $rc"
    }
}

# Card-side checks through scriptor on the basic channel: 2 profiles listed, LPA allowed, FPA
# refused.
check_card() {
    reader=$1
    {
        sp "00A4040010A0000005591010FFFFFFFF890000010000"
        sp "80E2910003BF2D00"
        sp "00C0000000"
        sp "80E2910003BF2100"
        sp "80E2910006FF4203800101"
    } >"$D/probe.apdu"
    timeout 30 scriptor -r "$reader" "$D/probe.apdu" >"$D/probe.out" 2>&1 \
        || { cat "$D/probe.out"; fail "scriptor on $reader"; }
    # responses only, one hex stream per command
    resp=$(awk '{ if ($0 ~ /^< /) { sub(/^< /, ""); r = $0; inr = 1 } else if (inr) r = r " " $0
                  if (inr && r ~ / : /) { sub(/ : .*/, "", r); print r; inr = 0 } }' \
        "$D/probe.out" | tr -d ' ')
    list=$(echo "$resp" | sed -n 3p)
    lpa=$(echo "$resp" | sed -n 4p)
    fpa=$(echo "$resp" | sed -n 5p)
    n=$(echo "$list" | grep -o 'E3[0-9A-F][0-9A-F]5A0A' | wc -l)
    [ "$n" = 2 ] || { cat "$D/probe.out"; fail "$reader lists $n profiles, 2 expected"; }
    case "$lpa" in
    6985*) cat "$D/probe.out"; fail "$reader refuses an LPA function after key deletion" ;;
    61* | 9000* | BF21*) ;;
    *) cat "$D/probe.out"; fail "$reader: PrepareDownload answered '$lpa'" ;;
    esac
    case "$fpa" in
    6985*) ;;
    *) cat "$D/probe.out"; fail "$reader allows an FPA function after key deletion: '$fpa'" ;;
    esac
}

# "N decision" counts of the recovery lines of a run log.
recoveries() {
    grep -o "recovery of BPP .* -> [a-z]*" "$1" | sed 's/.* -> //' | sort | uniq -c \
        | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2} END {if (NR == 0) printf "none"}'
}

# The end state every scenario must reach.
check_all() {
    [ "$(q "SELECT count(*) FROM bpp WHERE state='installed'")" = 8 ] \
        || { q "SELECT id, state, retries, last_error FROM bpp"; fail "not all 8 BPPs installed"; }
    [ "$(q "SELECT count(*) FROM result WHERE kind='installed' AND verified=1")" = 8 ] \
        || fail "8 verified installed results expected"
    [ "$(q "SELECT count(*) FROM result")" = 8 ] || fail "one result per BPP expected"
    [ "$(q "SELECT count(*) FROM attempt WHERE outcome='installed'")" = 8 ] \
        || fail "exactly one successful attempt per BPP expected"
    [ "$(q "SELECT count(*) FROM attempt WHERE ended_at IS NULL")" = 0 ] \
        || fail "an attempt is still open"
    [ "$(q "SELECT count(*) FROM one_time_key WHERE state IN ('unused','bound')")" = 0 ] \
        || fail "one-time keys left in the store"
    [ "$(q "SELECT count(*) FROM one_time_key WHERE state='consumed'")" = 8 ] \
        || fail "8 consumed one-time keys expected"
    tab=$(printf '\t')
    while IFS="$tab" read -r reader port eid state; do
        out=$("$ST" $C verify --reader "$reader" 2>&1) || { echo "$out"; fail "verify $reader"; }
        case "$out" in *PASS*"EID $eid"*"2/2 profiles"*) ;; *) fail "verify $reader: $out" ;; esac
        check_card "$reader"
    done <"$LINE/readers"
    echo "ok [$SC]: 8/8 installed, PIRs verified, keys deleted, LPA allowed, FPA refused"
}

# Fault injection needs a simulated card that pcscd sees come back after a drop: the card must
# stay out longer than pcscd's presence poll (400 ms), or pcscd never notices the removal and,
# once the station's reset of the dead card failed, keeps the slot empty for good. Probed
# once; without it the drop scenarios are skipped loudly (IFPP_E2E_STRICT=1: they fail).
drop_ok() {
    D="$T/drop-probe"
    mkdir -p "$D"
    "$TK" pki init "$D/pki" >/dev/null
    "$TK" eum make "$D/eum" --count 1 --keys 1 --pki "$D/pki" >/dev/null
    LINE="$D/line"
    "$TK" line up "$LINE" --readers 1 --cards "$D/eum" --pki "$D/pki" --faults drop@1 >/dev/null
    (
        . "$LINE/env"
        export PCSCLITE_CSOCK_NAME
        "$ST" -c "$D/pki/station.conf" readers >/dev/null 2>&1 || true
        i=0
        while [ $i -lt 30 ]; do
            "$ST" -c "$D/pki/station.conf" readers 2>/dev/null | grep -q ' card ' && exit 0
            sleep 0.2
            i=$((i + 1))
        done
        exit 1
    )
    rc=$?
    line_down
    D="$T/$SC"
    return $rc
}
DROPS=unknown

for SC in $SCENARIOS; do
    case "$SC" in
    drop-*)
        if [ "$DROPS" = unknown ]; then
            if drop_ok; then DROPS=yes; else DROPS=no; fi
        fi
        if [ "$DROPS" = no ]; then
            echo "SKIP [$SC]: the simulated card does not come back after a drop (testkit euicc" \
                "serve re-inserts faster than pcscd polls): fault scenario not run"
            [ "${IFPP_E2E_STRICT:-0}" = 1 ] && fail "drop scenarios cannot run"
            continue
        fi
        ;;
    esac
    D="$T/$SC"
    case "$SC" in
    clean)
        prepare
        line_up
        "$ST" $C readers >"$D/readers.out"
        [ "$(grep -c ' card ' "$D/readers.out")" = 4 ] || { cat "$D/readers.out"; fail "readers"; }
        run_idle run
        grep -q "run: 4 pass, 0 fail, 0 attention; 8 BPPs installed" "$D/run.log" \
            || { cat "$D/run.log"; fail "run summary"; }
        check_all
        # `run` as systemd starts it: READY=1 and STATUS= on $NOTIFY_SOCKET, the readers are
        # locked for a second station process, SIGTERM ends it with exit 0 (STOPPING=1)
        NOTIFY_SOCKET="$D/notify.sock" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w") as f:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write(m + "\n"); f.flush()
        if m.startswith("STOPPING"):
            break
' "$D/notify.sock" "$D/notify.log" &
        NPID=$!
        i=0
        until [ -S "$D/notify.sock" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "notify listener"; sleep 0.05; done
        NOTIFY_SOCKET="$D/notify.sock" "$ST" $C run --quiet >"$D/run-term.log" 2>&1 &
        BG=$!
        i=0
        until grep -q '^READY=1' "$D/notify.log" 2>/dev/null; do
            i=$((i + 1)); [ $i -lt 200 ] || fail "no READY=1 from run"; sleep 0.05
        done
        if "$ST" $C load --reader "FPA-SIM 00" >"$D/locked.out" 2>&1; then
            fail "a second station process got the readers"
        fi
        grep -q "another station process" "$D/locked.out" || { cat "$D/locked.out"; fail "lock message"; }
        kill -TERM "$BG"
        rc=0
        wait "$BG" || rc=$?
        BG=""
        [ "$rc" = 0 ] || { cat "$D/run-term.log"; fail "run exited $rc on SIGTERM"; }
        wait "$NPID" || true
        grep -q '^STATUS=4 readers, 4 cards' "$D/notify.log" || { cat "$D/notify.log"; fail "STATUS"; }
        grep -q '^STOPPING=1' "$D/notify.log" || { cat "$D/notify.log"; fail "STOPPING"; }
        echo "ok [$SC]: run: READY/STATUS/STOPPING on NOTIFY_SOCKET, readers locked, SIGTERM -> 0"
        line_down
        ;;
    t0-b64 | b255)
        # T=0-only cards (case 4 through 61xx GET RESPONSE) with 64-byte STORE DATA blocks;
        # 255-byte blocks
        if [ "$SC" = t0-b64 ]; then BLOCK=64; else BLOCK=255; fi
        prepare
        BLOCK=120
        if [ "$SC" = t0-b64 ]; then line_up --t0-only --max-block 64; else line_up; fi
        run_idle run
        check_all
        line_down
        ;;
    drop-*)
        # APDU numbers per card process: ~5 to open and authorise, then ~125 per BPP
        case "$SC" in
        drop-a) spec="drop@4,drop@40,drop@140" ;;
        drop-b) spec="drop@9,drop@70,drop@200" ;;
        drop-c) spec="drop@12,drop@100,drop@250" ;;
        drop-d) spec="drop@20,drop@128,drop@160" ;;
        # (block size 120, generated ~12 KB profiles, the second one in PPK mode) APDU 133 is the
        # last STORE DATA of the first BPP, 134 the GET RESPONSE carrying its PIR, 258 the GET
        # RESPONSE carrying the PIR of the second BPP
        drop-e) spec="drop@134" ;;
        drop-f) spec="drop@133" ;;
        drop-g) spec="drop@258" ;;
        esac
        prepare
        line_up --faults "$spec"
        run_idle run
        # a drop after the last APDU of a card's session does not fire: no assertion on count
        drops=$(grep -c "^ifpp.*lost during the job" "$D/run.log" || true)
        echo "info [$SC]: $spec: $drops interrupted job(s); recovery: $(recoveries "$D/run.log")"
        case "$SC" in
        drop-e | drop-g)
            # the card installed, the PIR was lost on the way: recovered from the card's
            # notification list, verified, recorded once
            grep -q "recovery of BPP .*PIR success.* -> installed" "$D/run.log" \
                || fail "the PIR lost in transit was not recovered from the card"
            ;;
        esac
        check_all
        line_down
        ;;
    pcscd-kill)
        # pcscd dies (SIGKILL) while BPPs are loading and is started again the way `line up`
        # starts it; the station re-establishes its contexts and settles everything
        prepare
        line_up --latency-ms 4
        timeout 300 "$ST" $C -v run --until-idle >"$D/run.log" 2>&1 &
        BG=$!
        i=0
        until [ "$(q "SELECT count(*) FROM bpp WHERE state='loading'")" -gt 0 ]; do
            i=$((i + 1))
            [ $i -lt 400 ] || fail "no BPP reached loading"
            sleep 0.05
        done
        old=$(head -n 1 "$LINE/pids")
        grep -q pcscd "/proc/$old/cmdline" || fail "first pid of $LINE/pids is not pcscd"
        kill -9 "$old"
        sleep 1
        # what a crashed pcscd leaves behind (its socket and pid file) would stop a new one
        rm -f "$LINE/run/pcscd.comm" "$LINE/run/pcscd.pid"
        setsid unshare -m sh -c 'mount --bind "$1" /run/pcscd && exec pcscd -f -c "$2"' sh \
            "$LINE/run" "$LINE/reader.conf.d" >>"$LINE/logs/pcscd2.log" 2>&1 </dev/null &
        PCSCD2=$!
        rc=0
        wait "$BG" || rc=$?
        BG=""
        [ "$rc" = 0 ] || { cat "$D/run.log"; fail "run --until-idle exited $rc"; }
        grep -q "PC/SC service not available" "$D/run.log" || fail "the station did not see pcscd go"
        echo "info [$SC]: recovery: $(recoveries "$D/run.log")"
        check_all
        kill "$PCSCD2" 2>/dev/null || true
        wait "$PCSCD2" 2>/dev/null || true
        PCSCD2=""
        line_down
        ;;
    kill9)
        prepare
        line_up --latency-ms 4
        "$ST" $C -v run >"$D/run1.log" 2>&1 &
        BG=$!
        i=0
        until [ "$(q "SELECT count(*) FROM bpp WHERE state='loading'")" -gt 0 ]; do
            i=$((i + 1))
            [ $i -lt 400 ] || fail "no BPP reached loading"
            sleep 0.05
        done
        sleep 0.2
        kill -9 "$BG"
        wait "$BG" 2>/dev/null || true
        BG=""
        left=$(q "SELECT count(*) FROM bpp WHERE state='loading'")
        done1=$(q "SELECT count(*) FROM bpp WHERE state='installed'")
        echo "info [$SC]: killed with $left BPP(s) loading, $done1 installed"
        [ "$left" -gt 0 ] || fail "the kill did not catch a BPP loading"
        run_idle run2
        grep -q "recovery of BPP" "$D/run2.log" || { cat "$D/run2.log"; fail "no recovery ran"; }
        echo "info [$SC]: recovery: $(recoveries "$D/run2.log")"
        check_all
        line_down
        ;;
    *) fail "unknown scenario" ;;
    esac
done
echo "PASS"
