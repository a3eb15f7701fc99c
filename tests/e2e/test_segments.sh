#!/bin/sh
# e2e (issue 5): the BF36 segments the station sends match SGP.22 §2.5.5, for BPPs with and
# without A2, as the simulated eUICCs received them.
#
# Per pass (block sizes 120, 64 and 255, each on a fresh PKI and fresh cards): pki init; eum make
# --count 2 --keys 2; smdpf1 binds one BPP per card without A2, smdpf2 the other key of each card
# in PPK mode (with A2); import both; `line up --readers 2 --trace-apdus DIR/{EID}.trace` (every
# C-APDU a card receives and the SW it answered); `ifpp-station run --until-idle` with
# [card] block_size = N. Then, from each card's trace:
#   - every STORE DATA (CLA 80|ch / C0|ch-4, INS E2) sequence is rebuilt: P2 from 00 and +1 per
#     block, P1 11 on every block but the last and 91 on the last, Lc = data length, full
#     blocks of exactly N bytes and a last one of 1..N, one CLA (a logical channel, not the
#     basic one) per sequence, 9000 to every block but the last, no other APDU in between;
#   - a BPP load is the sequence whose data starts with BF36 and the sequences after it up to
#     the first one answered with data (61xx: the BF37, fetched by GET RESPONSE C0);
#   - each load, with the card's EID (from the trace's name), must equal byte for byte one line
#     of `segref` (tests/e2e/segref.c: the §2.5.5 cut of the bundle's BF36 written from the
#     spec text with the TLV reader, independent of fmt/bpp.c): same segments, same number of
#     APDUs; every BPP of the bundles loaded exactly once; both shapes seen.
# Every process started here is stopped by pid (`line down`) on every exit path.
#
# usage: test_segments.sh [ifpp-testkit] [ifpp-station] [segref] [BLOCK...]
#        exit 77: skip (no root or tools)
set -eu

TK=${1:-${IFPP_BUILD_DIR:-build}/tests/testkit/ifpp-testkit}
ST=${2:-${IFPP_BUILD_DIR:-build}/station/ifpp-station}
SEGREF=${3:-${IFPP_BUILD_DIR:-build}/tests/e2e/segref}
if [ $# -ge 3 ]; then shift 3; else shift $#; fi
BLOCKS=${*:-"120 64 255"}
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, mount --bind for the isolated pcscd)"
for tool in pcscd unshare sqlite3 awk sort; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
for x in "$TK" "$ST" "$SEGREF"; do
    [ -x "$x" ] || { echo "FAIL: no executable at $x"; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-seg.XXXXXX")
LINE=""
B=""
cleanup() {
    rc=$?
    if [ -n "$LINE" ] && [ -f "$LINE/pids" ]; then
        "$TK" line down "$LINE" >/dev/null || true
    fi
    if [ "$rc" != 0 ]; then
        for f in "$T"/*/run.log "$T"/*/line/logs/*.log "$T"/*/check.err; do
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
    echo "FAIL [block $B]: $*"
    exit 1
}
st() { "$ST" -c "$P/station.conf" "$@"; }

# Rebuilds the STORE DATA sequences of one trace (file name: <EID>.trace) and prints one line
# per BPP load: "<EID> <a2|no-a2> <segments> <APDUs> <segment hex>...". Protocol errors go to
# stderr and make it exit 1.
loads() {
    awk -v block="$1" '
    function bad(msg) {
        printf "%s:%d: %s (%s)\n", FILENAME, FNR, msg, substr($0, 1, 40) > "/dev/stderr"
        err = 1
    }
    function hexbyte(h, i) { return index("0123456789ABCDEF", substr(h, i, 1)) * 16 \
                                    + index("0123456789ABCDEF", substr(h, i + 1, 1)) - 17 }
    function end_load() {
        if (nseg) {
            line = eid " " (a2 ? "a2" : "no-a2") " " nseg " " napdu
            for (k = 1; k <= nseg; k++) line = line " " seg[k]
            print line
        }
        inload = 0; nseg = 0; napdu = 0; a2 = 0
    }
    FNR == 1 {
        if (inseq) bad("STORE DATA sequence left open at the end of the previous trace")
        if (inload) bad("BPP load left open at the end of the previous trace")
        eid = FILENAME; sub(/.*\//, "", eid); sub(/\.trace$/, "", eid)
        inseq = 0; inload = 0; nseg = 0; napdu = 0; a2 = 0; want_gr = 0
    }
    /^#/ {
        if (inseq || inload) bad("power event inside a STORE DATA sequence or a BPP load")
        next
    }
    {
        apdu = toupper($1); sw = toupper($2)
        if (NF != 2 || length(apdu) < 8 || length(apdu) % 2) { bad("malformed trace line"); next }
        cla = substr(apdu, 1, 2); ins = substr(apdu, 3, 2)
        p1 = substr(apdu, 5, 2); p2 = hexbyte(apdu, 7)
        if (ins == "C0") { # GET RESPONSE: only after an answer with data
            if (inseq) bad("GET RESPONSE inside a STORE DATA sequence")
            if (want_gr) { gr++; want_gr = (sw ~ /^61/) }
            next
        }
        want_gr = 0
        if (ins != "E2") {
            if (inseq) bad("INS " ins " inside a STORE DATA sequence")
            if (inload) bad("INS " ins " inside a BPP load")
            next
        }
        c = hexbyte(apdu, 1)
        if (!((c >= 128 && c <= 131) || (c >= 192 && c <= 207))) bad("STORE DATA CLA " cla)
        if (c == 128) bad("STORE DATA on the basic channel")
        lc = hexbyte(apdu, 9)
        n = (length(apdu) - 10) / 2
        if (n != lc && !(n == lc + 1 && substr(apdu, length(apdu) - 1) == "00"))
            bad("Lc " lc " but " n " bytes follow the header")
        if (lc < 1 || lc > block) bad("block of " lc " bytes, block size " block)
        data = substr(apdu, 11, 2 * lc)
        if (!inseq) {
            if (p2 != 0) bad("sequence starts with P2 " p2)
            inseq = 1; seqcla = cla; next_p2 = 0; sdata = ""; nblk = 0; prevlc = block
        }
        if (cla != seqcla) bad("CLA " cla " inside a sequence on " seqcla)
        if (p2 != next_p2) bad("P2 " p2 ", " next_p2 " expected")
        if (prevlc != block) bad("a block of " prevlc " bytes was not the last")
        next_p2++; nblk++; prevlc = lc
        sdata = sdata data
        if (p1 == "11") {
            if (sw != "9000") bad("SW " sw " to an intermediate block")
            next
        }
        if (p1 != "91") { bad("P1 " p1); next }
        inseq = 0
        if (substr(sdata, 1, 4) == "BF36") {
            if (inload) bad("a new BF36 inside a BPP load")
            end_load(); inload = 1
        }
        if (inload) {
            seg[++nseg] = sdata; napdu += nblk
            if (nseg > 1 && substr(sdata, 1, 2) == "A2") a2 = 1
            if (sw != "9000") { # the first non-empty answer ends the load: the BF37
                if (sw !~ /^61/) bad("BPP segment answered " sw)
                end_load()
            }
        }
        if (sw ~ /^61/) want_gr = 1
        nseq++
    }
    END {
        if (inseq) bad("STORE DATA sequence left open at the end")
        if (inload) bad("BPP load without a final answer at the end")
        printf "%d STORE DATA sequences, %d GET RESPONSE\n", nseq, gr > "/dev/stderr"
        exit err
    }' "$2"/*.trace
}

# Compares the loads (file $1) with segref's reference (file $2); prints a summary line.
compare() {
    awk '
    NR == FNR { ref[$1 " " $5] = $0; refn++; next }
    {
        key = $1 " " $5
        if (!(key in ref)) {
            printf "load on %s: first segment matches no reference BPP of that EID\n", $1
            bad = 1; next
        }
        if (seen[key]++) { printf "BPP of %s loaded twice\n", $1; bad = 1; next }
        split(ref[key], r, " ")
        if ($2 != r[2]) { printf "%s: shape %s, reference %s\n", $1, $2, r[2]; bad = 1 }
        if ($3 != r[3]) { printf "%s: %s segments, reference %s\n", $1, $3, r[3]; bad = 1 }
        if ($4 != r[4]) { printf "%s: %s APDUs, reference %s\n", $1, $4, r[4]; bad = 1 }
        for (i = 5; i <= NF && i <= 4 + r[3]; i++)
            if ($i != r[i]) {
                for (o = 1; substr($i, o, 2) == substr(r[i], o, 2); o += 2)
                    ;
                printf "%s (%s): segment %d differs from byte %d on: %d bytes sent, %d in " \
                       "the reference; sent ...%s..., reference ...%s...\n", $1, $2, i - 4,
                       (o - 1) / 2, length($i) / 2, length(r[i]) / 2, substr($i, o, 16),
                       substr(r[i], o, 16)
                bad = 1
            }
        shape[$2]++; segs[$2] += $3; apdus[$2] += $4
    }
    END {
        for (k in ref) if (!(k in seen)) { split(k, e, " "); printf "BPP of %s never loaded\n", e[1]; bad = 1 }
        if (!shape["a2"] || !shape["no-a2"]) { print "both BPP shapes must be seen"; bad = 1 }
        if (bad) exit 1
        printf "%d BPPs match the reference (no-a2: %d BPPs, %d sequences, %d APDUs; " \
               "a2: %d BPPs, %d sequences, %d APDUs)\n", refn, shape["no-a2"], segs["no-a2"],
               apdus["no-a2"], shape["a2"], segs["a2"], apdus["a2"]
    }' "$2" "$1"
}

for B in $BLOCKS; do
    D=$T/b$B
    P=$D/pki
    mkdir -p "$D/trace"
    "$TK" pki init "$P" >/dev/null
    grep -q '^block_size=' "$P/station.conf" || fail "station.conf has no block_size line"
    sed -i "s/^block_size=.*/block_size=$B/" "$P/station.conf"
    "$TK" eum make "$D/eum" --count 2 --keys 2 --pki "$P" >/dev/null 2>"$D/eum.log"
    st import "$D/eum/euicc-data.ifppe" >/dev/null
    "$TK" smdpf bind "$D/eum/euicc-data.ifppe" --pki "$P" --smdpf smdpf1 -o "$D/b1.ifppb" >/dev/null
    st import "$D/b1.ifppb" >/dev/null
    # smdpf2 binds each card's other key (its record starts with the keys smdpf1 took), PPK mode
    cp "$P/smdpf1/bound.txt" "$P/smdpf2/bound.txt"
    "$TK" smdpf bind "$D/eum/euicc-data.ifppe" --pki "$P" --smdpf smdpf2 --ppk \
        -o "$D/b2.ifppb" >/dev/null
    st import "$D/b2.ifppb" >/dev/null
    [ "$(sqlite3 "$P/state/station.db" "SELECT count(*) FROM bpp WHERE state='pending'")" = 4 ] \
        || fail "4 pending BPPs expected"

    LINE=$D/line
    "$TK" line up "$LINE" --readers 2 --cards "$D/eum" --pki "$P" \
        --trace-apdus "$D/trace/{EID}.trace" >/dev/null 2>"$D/line-up.log"
    # shellcheck disable=SC1091
    . "$LINE/env"
    export PCSCLITE_CSOCK_NAME
    timeout 240 "$ST" -c "$P/station.conf" run --until-idle >"$D/run.log" 2>&1 || fail "run --until-idle exited $?"
    "$TK" line down "$LINE" >/dev/null 2>&1
    LINE=""
    [ "$(sqlite3 "$P/state/station.db" "SELECT count(*) FROM bpp WHERE state='installed'")" = 4 ] \
        || fail "4 installed BPPs expected"
    [ "$(find "$D/trace" -name '*.trace' | wc -l)" = 2 ] || fail "one trace per card expected"

    "$SEGREF" --block "$B" "$D/b1.ifppb" "$D/b2.ifppb" >"$D/ref" || fail "segref"
    loads "$B" "$D/trace" >"$D/loads" 2>"$D/check.err" || fail "trace: $(head -5 "$D/check.err")"
    sum=$(compare "$D/loads" "$D/ref") || fail "$sum"
    echo "ok [block $B]: $sum; $(tail -1 "$D/check.err")"
done
echo PASS
