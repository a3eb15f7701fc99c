#!/bin/sh
# e2e: the simulated eUICC through the REAL PC/SC stack (isolated pcscd + vpcd driver), driven
# by pcsc-tools: `line up --readers 2`, `pcsc_scan -r` lists both readers, `scriptor` opens a
# logical channel, selects the ISD-R, sends ES10c GetEID as STORE DATA and fetches the answer
# with GET RESPONSE; each card must return its own EID. Then `line down`. Everything started
# here is stopped by pid (line down) on every exit path (trap). Also prints the per-APDU cost
# (`line bench`): informative only, timing is never asserted.
#
# usage: test_scriptor.sh [PATH/TO/ifpp-testkit]      exit 77 (skip) without root or tools
set -eu

TK=${1:-${IFPP_BUILD_DIR:-build}/tests/testkit/ifpp-testkit}
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, mount --bind for the isolated pcscd)"
for tool in pcscd pcsc_scan scriptor unshare; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
[ -x "$TK" ] || { echo "FAIL: no ifpp-testkit at $TK"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-scriptor.XXXXXX")
cleanup() {
    rc=$?
    if [ -f "$T/line/pids" ]; then
        "$TK" line down "$T/line" || true
    fi
    if [ "$rc" != 0 ] && [ -d "$T/line/logs" ]; then
        for f in "$T"/line/logs/*.log; do
            echo "---- $f"
            tail -n 20 "$f"
        done
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$TK" pki init "$T/pki" >/dev/null
"$TK" eum make "$T/eum" --count 2 --keys 2 --pki "$T/pki" >"$T/eids"
"$TK" line up "$T/line" --readers 2 --cards "$T/eum"
. "$T/line/env"
echo "PCSCLITE_CSOCK_NAME=$PCSCLITE_CSOCK_NAME"

timeout 20 pcsc_scan -r >"$T/scan"
cat "$T/scan"
grep -q "FPA-SIM 00 00" "$T/scan" || { echo "FAIL: reader FPA-SIM 00 00 not listed"; exit 1; }
grep -q "FPA-SIM 00 01" "$T/scan" || { echo "FAIL: reader FPA-SIM 00 01 not listed"; exit 1; }

cat >"$T/geteid.apdu" <<'EOF'
# TERMINAL CAPABILITY, MANAGE CHANNEL open, SELECT ISD-R on channel 1, GetEID, GET RESPONSE, close
80 AA 00 00 05 A9 03 83 01 07
00 70 00 00 01
01 A4 04 00 10 A0 00 00 05 59 10 10 FF FF FF FF 89 00 00 01 00
81 E2 91 00 06 BF 3E 03 5C 01 5A
81 C0 00 00 15
00 70 80 01 00
EOF

# DIR/readers: name TAB port TAB EID TAB state dir
tab=$(printf '\t')
n=0
while IFS="$tab" read -r reader port eid state; do
    timeout 30 scriptor -r "$reader" "$T/geteid.apdu" >"$T/out" 2>&1 || {
        cat "$T/out"
        echo "FAIL: scriptor on $reader"
        exit 1
    }
    flat=$(tr -d ' \n' <"$T/out")
    case "$flat" in
    *"<BF3E125A10${eid}9000:"*) echo "ok: $reader (port $port) answered GetEID with $eid" ;;
    *)
        cat "$T/out"
        echo "FAIL: $reader did not return EID $eid"
        exit 1
        ;;
    esac
    grep -q "$eid" "$T/eids" || { echo "FAIL: $eid is not one of the EUM's"; exit 1; }
    n=$((n + 1))
done <"$T/line/readers"
[ "$n" = 2 ] || { echo "FAIL: $n reader(s) in $T/line/readers"; exit 1; }

# per-APDU cost of the simulator through pcscd + vpcd (informative)
"$TK" line bench "$T/line" --count 1000 --size 255

pids=$(cat "$T/line/pids")
"$TK" line down "$T/line"
for p in $pids; do
    if [ -r "/proc/$p/stat" ] && ! grep -q ') Z' "/proc/$p/stat"; then
        echo "FAIL: pid $p still running after line down"
        exit 1
    fi
done
echo "PASS"
