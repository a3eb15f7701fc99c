#!/bin/sh
# test_bind_install.sh TESTKIT FPA_CLIENT
# Test kit end to end (issue 3): pki init, eum make, smdpf bind (from the .ifppe), line up with
# 2 readers, then on each card: install every BPP through the real pcscd + vpcd, verify each
# PIR with CERT.EUICC, replay refused (the one-time key is gone); the DM-signed report is
# accepted by `smdpf verify-report` and by stock `openssl cms -verify`, and a report with one
# byte changed is rejected. With ../shared present, the same with the SGP.26 PKI and a TS.48
# profile.
set -eu
tk=$1
client=$2
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (private mount namespace for pcscd)"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-bind.XXXXXX")
cleanup() {
    [ -f "$work/line/pids" ] && "$tk" line down "$work/line" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

run_line() { # run_line LABEL PKI_INIT_ARGS... -- BIND_ARGS...
    label=$1
    shift
    pki=$work/$label/pki
    mkdir -p "$work/$label"
    pki_args=""
    while [ "$1" != "--" ]; do pki_args="$pki_args $1"; shift; done
    shift
    # shellcheck disable=SC2086
    "$tk" pki init "$pki" $pki_args >/dev/null
    "$tk" eum make "$work/$label/eum" --count 2 --keys 2 --pki "$pki" >/dev/null
    "$tk" smdpf bind "$work/$label/eum/euicc-data.ifppe" --pki "$pki" --smdpf smdpf1 \
        -o "$work/$label/b.ifppb" "$@"
    "$tk" line up "$work/line" --readers 2 --cards "$work/$label/eum/cards" >/dev/null
    # shellcheck disable=SC1091
    . "$work/line/env"
    export PCSCLITE_CSOCK_NAME
    i=0
    for reader in "FPA-SIM 00 00" "FPA-SIM 00 01"; do
        "$client" --reader "$reader" --bundle "$work/$label/b.ifppb" \
            --edata "$work/$label/eum/euicc-data.ifppe" --pki "$pki" --resend \
            --report "$work/$label/r$i.ifppl"
        "$tk" smdpf verify-report "$work/$label/r$i.ifppl" --pki "$pki"
        openssl cms -verify -binary -inform DER -in "$work/$label/r$i.ifppl" \
            -CAfile "$pki/dm-ca.cert.pem" -out /dev/null 2>"$work/cms.log" ||
            { cat "$work/cms.log"; echo "FAIL: openssl cms -verify"; exit 1; }
        i=$((i + 1))
    done
    # one byte of the signed content changed (inside the PIR): rejected
    python3 - "$work/$label/r0.ifppl" "$work/$label/bad.ifppl" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find(b'\xbf\x37')
assert i > 0, "no BF37 in the report"
b[i + 12] ^= 0x01
open(sys.argv[2], 'wb').write(b)
PY
    if "$tk" smdpf verify-report "$work/$label/bad.ifppl" --pki "$pki" 2>"$work/bad.log"; then
        echo "FAIL: a tampered report was accepted"
        exit 1
    fi
    echo "ok: tampered report rejected: $(cat "$work/bad.log")"
    "$tk" line down "$work/line" >/dev/null
}

run_line own -- 
echo "PASS: own PKI"

shared=${IFPP_SHARED_DIR:-}
if [ -n "$shared" ] && [ -d "$shared/data/sgp26" ] && [ -d "$shared/data/upp" ]; then
    upp=$(ls "$shared"/data/upp/*.der | head -n 1)
    run_line sgp26 --from-sgp26 "$shared/data/sgp26" -- --profiles "$upp"
    echo "PASS: SGP.26 PKI with TS.48 profile $(basename "$upp")"
else
    echo "SKIPPED: SGP.26/TS.48 interop (../shared/data absent)"
fi
echo PASS
