#!/bin/sh
# demo-line.sh BUILDDIR [--ui]: the demo line on the virtual line (README's first command).
# Mints a test PKI, makes 4 eUICCs with their EUM-signed data, the station imports them and
# exports a DM-signed BPP request, two test SM-DPfs bind bundles for it (real SGP.22 binding,
# one in PPK mode: 2 profiles per card), the station imports the bundles from a "stick", a
# virtual line comes up (4 readers, a simulated eUICC in each, isolated pcscd), the station
# runs in batch mode until every card is provisioned and its one-time keys deleted, exports
# one signed Profile Loading Report per SM-DPf, each SM-DPf verifies its report, and a short
# summary with timings is printed. It cleans up after itself.
# With --ui (after BUILDDIR) the same line is opened in the operator console (`ifpp-station ui`)
# instead: a demo supervisor logs in, imports the demo "stick", loads, verifies, deletes keys
# and exports the reports by hand; the reports written are verified on the SM-DPf side after.
set -eu
build=${1:?usage: demo-line.sh BUILDDIR [--ui]}
ui=0
[ "${2:-}" = "--ui" ] && ui=1
tk=$build/tests/testkit/ifpp-testkit
station=$build/station/ifpp-station
readers=${DEMO_READERS:-4}
if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (the virtual line needs a private mount namespace for pcscd)" >&2
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-demo.XXXXXX")
cleanup() {
    [ -f "$work/line/pids" ] && "$tk" line down "$work/line" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
now() { date +%s.%N; }
step() { printf '\n== %s\n' "$*"; }
t0=$(now)

step "test PKI (CI, EUM, 2 SM-DPfs, DM) and the station's configuration"
"$tk" pki init "$work/pki" >/dev/null
conf=$work/pki/station.conf
printf '\n[policy]\ndelete_keys = after-load\n' >>"$conf"
st() { "$station" -c "$conf" "$@"; }
echo "PKI and station.conf in $work/pki"
step "EUM: $readers eUICCs with 2 one-time keys each, EUM-signed eUICC data (.ifppe)"
"$tk" eum make "$work/eum" --count "$readers" --keys 2 --pki "$work/pki"
mkdir -p "$work/stick/in" "$work/stick/out"
cp "$work/eum/euicc-data.ifppe" "$work/stick/in/"
step "station: import the eUICC data, export a DM-signed BPP request (ESBPP02)"
st import "$work/stick/in"
first=$(ls "$work/eum/cards" | sort | head -n 1)
last=$(ls "$work/eum/cards" | sort | tail -n 1)
st request export "$work/stick/out/request.ifppr" --eid-range "$first-$last"
step "SM-DPfs: bind the request (smdpf1) and the cards' second keys (smdpf2, PPK mode)"
"$tk" smdpf bind "$work/stick/out/request.ifppr" --pki "$work/pki" --smdpf smdpf1 \
    -o "$work/stick/in/smdpf1.ifppb"
cp "$work/pki/smdpf1/bound.txt" "$work/pki/smdpf2/bound.txt" # smdpf2 takes the other keys
"$tk" smdpf bind "$work/eum/euicc-data.ifppe" --pki "$work/pki" --smdpf smdpf2 --ppk \
    -o "$work/stick/in/smdpf2.ifppb"
step "station: import the bundles from the stick (signature, chain, pre-flight of every BPP)"
st import "$work/stick/in"
st status
step "virtual line: isolated pcscd with $readers vpcd readers, a simulated eUICC in each"
"$tk" line up "$work/line" --readers "$readers" --cards "$work/eum/cards" | tee "$work/readers.txt"
# shellcheck disable=SC1091
. "$work/line/env"
export PCSCLITE_CSOCK_NAME
t1=$(now)
if [ "$ui" = 1 ]; then
    step "operator console on the same line"
    sed -i 's/^\[station\]$/[station]\noperator_pin_file = operators/' "$conf"
    printf '%s\n' "${DEMO_PIN:-1234}" |
        "$station" -c "$conf" operator add demo --role supervisor >/dev/null
    mkdir -p "$work/out"
    echo "log in as 'demo', PIN ${DEMO_PIN:-1234} (supervisor). Then: F9 Enter imports the demo"
    echo "stick, L loads every card, V verifies, D then y deletes the one-time keys, e Enter"
    echo "exports the reports, F1 shows every key, q quits."
    if [ -t 0 ]; then
        printf 'press Enter to open the console '
        read -r _
    fi
    "$station" -c "$conf" ui --import-dir "$work/stick/in" --export-dir "$work/out" || fail=1
    step "SM-DPf side: verify the reports exported from the console"
    n=0
    for f in "$work"/out/*.ifppl; do
        [ -f "$f" ] || continue
        "$tk" smdpf verify-report "$f" --pki "$work/pki" | sed -n '1p;3,$p'
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || echo "(no report was exported)"
    "$tk" line down "$work/line" >/dev/null
    [ "${fail:-0}" -eq 0 ] && echo "demo: console closed" || { echo "demo: FAILED"; exit 1; }
    exit 0
fi
step "batch mode: ifpp-station run --until-idle (authorise, load, verify PIRs, delete keys)"
st run --until-idle --quiet || fail=1
t2=$(now)
st status
step "station: export one signed Profile Loading Report per SM-DPf (ESBPP03)"
st report export "$work/stick/out"
step "SM-DPf side: verify every report (signature, every PIR, bindings) and the MSP summary"
for f in "$work"/stick/out/*.ifppl; do
    "$tk" smdpf verify-report "$f" --pki "$work/pki" | sed -n '1p;3,$p' || fail=1
done
st audit verify
"$tk" line down "$work/line" >/dev/null
t3=$(now)
step "summary"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$readers" 'BEGIN {
    printf "setup (PKI, eUICCs, import, request, binding, line up): %.2f s\n", b - a;
    printf "provisioning %d cards (2 profiles each):  %.2f s\n", n, c - b;
    printf "report export and verification, line down: %.2f s\n", d - c;
}'
[ "${fail:-0}" -eq 0 ] && echo "demo: all $readers cards provisioned and verified, reports accepted" || { echo "demo: FAILED"; exit 1; }
