#!/bin/sh
# demo-line.sh BUILDDIR: the demo line on the virtual line (README's first command).
# Mints a test PKI, makes 4 eUICCs with their EUM-signed data, binds a bundle with the test
# SM-DPf (real SGP.22 binding), brings up 4 readers with a simulated eUICC in each behind an
# isolated pcscd, provisions every card through PC/SC, has the SM-DPf side verify the signed
# report, prints a summary with timings, and cleans up after itself.
# (Until the station's engine lands, the FPA here is the pcsc/ layer's test client.)
# With --ui (after BUILDDIR) the same line is opened in the operator console (`ifpp-station ui`)
# instead: a demo supervisor logs in, imports the demo "stick", loads, verifies, deletes keys
# and exports the reports by hand; the reports written are verified on the SM-DPf side after.
set -eu
build=${1:?usage: demo-line.sh BUILDDIR [--ui]}
ui=0
[ "${2:-}" = "--ui" ] && ui=1
tk=$build/tests/testkit/ifpp-testkit
station=$build/station/ifpp-station
client=$build/tests/e2e/fpa-client
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

step "test PKI (CI, EUM, 2 SM-DPfs, DM)"
"$tk" pki init "$work/pki" >/dev/null
echo "PKI in $work/pki"
step "EUM: $readers eUICCs with 2 one-time keys each, EUM-signed eUICC data"
"$tk" eum make "$work/eum" --count "$readers" --keys 2 --pki "$work/pki"
step "SM-DPf: bind one profile per eUICC (fresh key per BPP, smdpSign, BSP)"
"$tk" smdpf bind "$work/eum/euicc-data.ifppe" --pki "$work/pki" --smdpf smdpf1 -o "$work/bundle.ifppb"
step "virtual line: isolated pcscd with $readers vpcd readers, a simulated eUICC in each"
"$tk" line up "$work/line" --readers "$readers" --cards "$work/eum/cards" | tee "$work/readers.txt"
# shellcheck disable=SC1091
. "$work/line/env"
export PCSCLITE_CSOCK_NAME
t1=$(now)
if [ "$ui" = 1 ]; then
    step "operator console on the same line"
    conf=$work/pki/station.conf
    sed -i 's/^\[station\]$/[station]\noperator_pin_file = operators/' "$conf"
    printf '%s\n' "${DEMO_PIN:-1234}" |
        "$station" -c "$conf" operator add demo --role supervisor >/dev/null
    mkdir -p "$work/stick" "$work/out"
    cp "$work/eum/euicc-data.ifppe" "$work/bundle.ifppb" "$work/bundle.ifppb.p7s" "$work/stick/"
    echo "log in as 'demo', PIN ${DEMO_PIN:-1234} (supervisor). Then: F9 Enter imports the demo"
    echo "stick, L loads every card, V verifies, D then y deletes the one-time keys, e Enter"
    echo "exports the reports, F1 shows every key, q quits."
    if [ -t 0 ]; then
        printf 'press Enter to open the console '
        read -r _
    fi
    "$station" -c "$conf" ui --import-dir "$work/stick" --export-dir "$work/out" || fail=1
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
step "provisioning: authorise FPA services, PrepareLoad, LoadBoundProfilePackage, verify PIR"
i=0
pids=""
# line up prints "READER<TAB>EID" per reader
while IFS="$(printf '\t')" read -r r _eid; do
    "$client" --reader "$r" --bundle "$work/bundle.ifppb" --edata "$work/eum/euicc-data.ifppe" \
        --pki "$work/pki" --report "$work/report-$i.ifppl" >"$work/slot-$i.log" 2>&1 &
    pids="$pids $!"
    i=$((i + 1))
done <"$work/readers.txt"
fail=0
for p in $pids; do wait "$p" || fail=1; done
cat "$work"/slot-*.log
t2=$(now)
step "SM-DPf side: verify every report (signature, PIR signatures, bindings) and MSP summary"
for f in "$work"/report-*.ifppl; do
    "$tk" smdpf verify-report "$f" --pki "$work/pki" | sed -n '1p;3,$p'
done
"$tk" line down "$work/line" >/dev/null
t3=$(now)
step "summary"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$readers" 'BEGIN {
    printf "setup (PKI, eUICCs, binding, line up): %.2f s\n", b - a;
    printf "provisioning %d cards in parallel:     %.2f s\n", n, c - b;
    printf "report verification, line down:        %.2f s\n", d - c;
}'
[ $fail -eq 0 ] && echo "demo: all $readers cards provisioned and verified" || { echo "demo: FAILED"; exit 1; }
