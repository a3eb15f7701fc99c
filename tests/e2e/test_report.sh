#!/bin/sh
# e2e (issue 6): Profile Loading Reports after a virtual-line run with injected failures.
#
# Test kit: pki init, eum make (4 cards, 2 keys), smdpf bind for smdpf1 and smdpf2, import;
# [policy] max_retries = 0. Run 1 (2 readers, every card answers 6F00 to its first PrepareLoad):
# the first BPP of cards 0 and 1 dies without a BF37, with the code of its cause (5,
# cardRefused; never 8) and "retries exhausted after 1 attempt" in its text. A pending BPP of
# smdpf2 gets a broken segment MAC in the store: in run 2 (4 readers, no faults) its card
# refuses it with an eUICC-signed error BF37 (code 1). Then:
#   - `report export` writes one file per SM-DPf; `openssl cms -verify` accepts both;
#     `ifpp-testkit smdpf verify-report` verifies every PIR and prints the MSP summary;
#     `ifpp-station report verify` agrees; failed entries carry the codes the store recorded,
#     the BF37 where the card gave one;
#   - a second export writes nothing new; `--again` writes the same content in a new file;
#   - one byte changed, a PIR swapped between two entries (re-signed by the DM) and a wrong
#     signer are rejected by both verifiers (openssl rejects all but the DM-signed swap, whose
#     signature is genuine: the content is what is wrong);
#   - `audit verify` passes, then fails naming the row after an audit row is edited;
#   - on a copy of the store: run 1's results moved two days back, `report export --since`
#     (ISO-8601, an hour ago) takes only run 2's, a later export without --since the rest;
#     every result is in exactly one report, every file verifies; bad --since is exit 2.
# Every process started here is stopped by pid (`line down`) on every exit path.
#
# usage: test_report.sh [ifpp-testkit] [ifpp-station]   exit 77: skip (no root or tools)
set -eu

TK=${1:-${IFPP_BUILD_DIR:-build}/tests/testkit/ifpp-testkit}
ST=${2:-${IFPP_BUILD_DIR:-build}/station/ifpp-station}
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, mount --bind for the isolated pcscd)"
for tool in pcscd unshare sqlite3 openssl python3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
[ -x "$TK" ] || { echo "FAIL: no ifpp-testkit at $TK"; exit 1; }
[ -x "$ST" ] || { echo "FAIL: no ifpp-station at $ST"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-report.XXXXXX")
LINE=""
cleanup() {
    rc=$?
    if [ -n "$LINE" ] && [ -f "$LINE/pids" ]; then
        "$TK" line down "$LINE" >/dev/null || true
    fi
    if [ "$rc" != 0 ]; then
        for f in "$T"/*.log; do
            [ -f "$f" ] || continue
            echo "---- $f"
            tail -n 20 "$f"
        done
    fi
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*"
    exit 1
}
ok() { echo "ok: $*"; }
count() { # count GLOB...: how many of the arguments exist
    n=0
    for x in "$@"; do [ -e "$x" ] && n=$((n + 1)); done
    echo "$n"
}

P=$T/pki
st() { "$ST" -c "$P/station.conf" "$@"; }
DB=$P/state/station.db
q() { sqlite3 "$DB" "$1"; }

# ---- line: successes and injected failures ----
"$TK" pki init "$P" >/dev/null
printf '\n[policy]\nmax_retries = 0\n' >>"$P/station.conf"
OID1=$(cat "$P/smdpf1/oid.txt")
OID2=$(cat "$P/smdpf2/oid.txt")
"$TK" eum make "$T/eum" --count 4 --keys 2 --pki "$P" >/dev/null
st import "$T/eum/euicc-data.ifppe" >/dev/null
"$TK" smdpf bind "$T/eum/euicc-data.ifppe" --pki "$P" --smdpf smdpf1 -o "$T/b1.ifppb" >/dev/null
st import "$T/b1.ifppb" >/dev/null
cp "$P/smdpf1/bound.txt" "$P/smdpf2/bound.txt" # smdpf2 takes the keys smdpf1 left
"$TK" smdpf bind "$T/eum/euicc-data.ifppe" --pki "$P" --smdpf smdpf2 -o "$T/b2.ifppb" >/dev/null
st import "$T/b2.ifppb" >/dev/null
[ "$(q "SELECT count(*) FROM bpp WHERE state = 'pending'")" = 8 ] || fail "8 pending BPPs expected"

line_run() { # line_run LOG READERS [line up options]
    log=$1 readers=$2
    shift 2
    LINE=$T/line
    "$TK" line up "$LINE" --readers "$readers" --cards "$T/eum" --pki "$P" "$@" >/dev/null
    # shellcheck disable=SC1091
    . "$LINE/env"
    export PCSCLITE_CSOCK_NAME
    timeout 300 "$ST" -c "$P/station.conf" run --until-idle >"$T/$log.log" 2>&1 || true # FAIL verdicts exit 1
    "$TK" line down "$LINE" >/dev/null
    LINE=""
}
line_run run1 2 --faults 6f00@12
[ "$(q "SELECT count(*) FROM bpp WHERE state = 'dead'")" = 2 ] || fail "run 1: 2 dead BPPs expected"
victim=$(q "SELECT b.id FROM bpp b JOIN smdpf s ON s.id = b.smdpf_id
            WHERE b.state = 'pending' AND s.oid = '$OID2' ORDER BY b.id LIMIT 1")
q "UPDATE bpp_blob SET bf36 = substr(bf36, 1, length(bf36) - 1) ||
     CASE WHEN substr(bf36, -1) = x'00' THEN x'01' ELSE x'00' END WHERE bpp_id = $victim"
line_run run2 4
[ "$(q "SELECT count(*) FROM bpp WHERE state = 'installed'")" = 5 ] || fail "5 installed expected"
[ "$(q "SELECT count(*) FROM result WHERE kind = 'failed'")" = 3 ] || fail "3 failed results expected"
[ "$(q "SELECT count(*) FROM result WHERE kind = 'failed' AND pir IS NOT NULL")" = 1 ] ||
    fail "the broken BPP's error BF37 should be recorded"
# max_retries = 0: every failure is the last one, and the dead BPP keeps the code of its cause
# (cardRefused for the 6F00, euiccError for the BF37), never retriesExhausted (8); the text says
# the retries ran out
[ "$(q "SELECT count(*) FROM result WHERE fpa_error_code = 8")" = 0 ] ||
    fail "code 8 recorded: a dead BPP must keep the code of its cause"
[ "$(q "SELECT count(*) FROM result WHERE kind = 'failed' AND pir IS NULL AND fpa_error_code = 5
        AND text LIKE '%(retries exhausted after 1 attempt)'")" = 2 ] ||
    fail "run 1: 2 dead BPPs with code 5 and 'retries exhausted after 1 attempt' expected: $(q "SELECT fpa_error_code, text FROM result WHERE kind = 'failed'")"
[ "$(q "SELECT count(*) FROM result WHERE kind = 'failed' AND pir IS NOT NULL AND fpa_error_code = 1")" = 1 ] ||
    fail "run 2: the broken BPP should be dead with code 1 (euiccError)"
ok "line: 5 installed, 3 dead (1 with the card's error BF37); codes 5, 5, 1: $(q "SELECT text FROM result WHERE fpa_error_code = 5 LIMIT 1")"

# ---- --since, on a copy of the store (the checks below use the original) ----
S2=$T/state2
mkdir "$S2" "$T/since1" "$T/since2"
sqlite3 "$DB" ".backup '$S2/station.db'"
st2() { "$ST" -c "$P/station.conf" --state-dir "$S2" "$@"; }
q2() { sqlite3 "$S2/station.db" "$1"; }
q2 "UPDATE result SET at = at - 172800 WHERE kind = 'failed' AND pir IS NULL" # run 1's
since=$(date -u -d "@$(($(date +%s) - 3600))" +%Y-%m-%dT%H:%M:%SZ)
for bad in yesterday 2024-02-30 "2024-05-01T08:00+02:00" 2999-01-01; do
    if st2 report export "$T/since1" --since "$bad" >/dev/null 2>"$T/since.err"; then
        fail "--since $bad accepted"
    else
        [ $? = 2 ] || fail "--since $bad: exit 2 expected"
    fi
done
st2 report export "$T/since1" --since "$since" >"$T/since1.log"
[ "$(count "$T/since1"/*.ifppl)" = 2 ] || fail "--since: 2 files expected: $(cat "$T/since1.log")"
[ "$(q2 "SELECT count(*) FROM report_entry")" = 6 ] || fail "--since: run 2's 6 results expected"
st2 report export "$T/since1" --since "$since" >"$T/since1b.log"
grep -q "nothing new to report since" "$T/since1b.log" || fail "--since again: $(cat "$T/since1b.log")"
st2 report export "$T/since2" >"$T/since2.log"
[ "$(count "$T/since2"/*.ifppl)" = 1 ] || fail "without --since: 1 file expected"
grep -q "2 entries, 0 installed, 2 failed" "$T/since2.log" || fail "rest: $(cat "$T/since2.log")"
[ "$(q2 "SELECT count(*) || ' ' || count(DISTINCT result_id) FROM report_entry")" = "8 8" ] ||
    fail "each result in exactly one report"
for f in "$T/since1"/*.ifppl "$T/since2"/*.ifppl; do
    st2 report verify "$f" >/dev/null 2>"$T/since.sv" || fail "report verify $f: $(cat "$T/since.sv")"
done
ok "--since $since: run 2's 6 results, then the 2 older ones; each once, all verify"

# ---- export ----
mkdir "$T/out" "$T/out2"
st report export "$T/out" >"$T/export.log"
[ "$(count "$T/out"/*)" = 2 ] || fail "2 report files expected: $(echo "$T/out"/*)"
F1=$(echo "$T/out/PLR_${OID1}_"*.ifppl)
F2=$(echo "$T/out/PLR_${OID2}_"*.ifppl)
case $(basename "$F1") in
"PLR_${OID1}_STATION-01_"????????T??????Z_????????.ifppl) ;;
*) fail "unexpected report file name $(basename "$F1")" ;;
esac
[ "$(stat -c %a "$F1")" = 600 ] || fail "report file mode $(stat -c %a "$F1")"
ok "one file per SM-DPf: $(basename "$F1") $(basename "$F2")"

for f in "$F1" "$F2"; do
    openssl cms -verify -binary -inform DER -in "$f" -CAfile "$P/dm-ca.cert.pem" \
        -out "$f.der" 2>"$T/cms.log" || fail "openssl cms -verify rejected $f"
    "$TK" smdpf verify-report "$f" --pki "$P" >"$f.msp" 2>"$T/vr.log" ||
        fail "smdpf verify-report rejected $f: $(cat "$T/vr.log")"
    st report verify "$f" >"$f.sum" 2>"$T/sv.log" ||
        fail "report verify rejected $f: $(cat "$T/sv.log")"
done
grep -q "summary: 2 installed, 2 failed, 0 deleted" "$F1.msp" || fail "smdpf1 summary: $(tail -1 "$F1.msp")"
grep -q "summary: 3 installed, 1 failed, 0 deleted" "$F2.msp" || fail "smdpf2 summary: $(tail -1 "$F2.msp")"
grep -q "1 failed (1 with the card's BF37)" "$F2.sum" || fail "smdpf2: the BF37 should be in the report"
grep -q "every PIR signature valid" "$F2.msp" || fail "verify-report did not check the PIRs"
# the codes of the failed entries are those the store recorded, in result order
for oid in "$OID1" "$OID2"; do
    f=$(echo "$T/out/PLR_${oid}_"*.ifppl)
    want=$(q "SELECT group_concat(c, ' ') FROM (SELECT coalesce(r.fpa_error_code, 0) AS c
              FROM result r JOIN smdpf s ON s.id = r.smdpf_id
              WHERE s.oid = '$oid' AND r.kind = 'failed' ORDER BY r.id)")
    got=$(awk '$3 == "failed" { for (i = 1; i <= NF; i++) if ($i == "code") print $(i + 1) }' \
        "$f.msp" | tr -d : | sort -n | tr '\n' ' ' | sed 's/ $//')
    want_sorted=$(echo "$want" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want_sorted" ] || fail "SM-DPf $oid: failed codes '$got', store '$want'"
done
[ "$(grep -c "failed .* code 5: the card refused the load (retries exhausted after 1 attempt)" "$F1.msp")" = 2 ] ||
    fail "smdpf1's report should give both dead BPPs their cause (code 5) and the attempts"
ok "openssl, smdpf verify-report and report verify accept both; codes as recorded ($(awk '$3 == "failed"' "$F1.msp" | head -1 | sed 's/  */ /g'))"

# ---- second export: nothing new; --again: same content, new file ----
st report export "$T/out" >"$T/export2.log"
grep -q "nothing new to report" "$T/export2.log" || fail "second export: $(cat "$T/export2.log")"
[ "$(count "$T/out"/*.ifppl)" = 2 ] || fail "second export wrote a file"
rid=$(q "SELECT lower(hex(p.report_id)) FROM report p JOIN smdpf s ON s.id = p.smdpf_id WHERE s.oid = '$OID1'")
st report export "$T/out2" --again "$rid" >"$T/again.log"
A=$(echo "$T/out2/PLR_${OID1}_"*.ifppl)
openssl cms -verify -binary -inform DER -in "$A" -CAfile "$P/dm-ca.cert.pem" -out "$A.der" 2>/dev/null ||
    fail "re-exported report rejected by openssl"
cmp -s "$A.der" "$F1.der" || fail "--again: the content differs from the first export"
"$TK" smdpf verify-report "$A" --pki "$P" >/dev/null || fail "re-exported report rejected"
ok "second export wrote nothing; --again $rid: same content in $(basename "$A")"

# ---- tampering ----
python3 - "$F1" "$T/byte.ifppl" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find(b'\xbf\x37')
assert i > 0, "no BF37 in the report"
b[i + 30] ^= 0x01
open(sys.argv[2], 'wb').write(b)
PY
# A PIR swapped between two installed entries: decode, swap, re-encode (DER), for re-signing.
python3 - "$F1.der" "$T/swap.der" <<'PY'
import sys

def parse(b, i, end):
    out = []
    while i < end:
        t0 = i
        i += 1
        if b[t0] & 0x1F == 0x1F:
            while b[i] & 0x80:
                i += 1
            i += 1
        tag = bytes(b[t0:i])
        n = b[i]; i += 1
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[i:i + k], 'big'); i += k
        val = b[i:i + n]
        kids = parse(b, i, i + n) if tag[0] & 0x20 and tag != b'\xbf\x37' else None
        out.append([tag, val, kids])
        i += n
    return out

def enc(node):
    tag, val, kids = node
    v = b''.join(enc(k) for k in kids) if kids is not None else bytes(val)
    n = len(v)
    if n < 0x80:
        ln = bytes([n])
    else:
        nb = (n.bit_length() + 7) // 8
        ln = bytes([0x80 | nb]) + n.to_bytes(nb, 'big')
    return tag + ln + v

b = open(sys.argv[1], 'rb').read()
top = parse(b, 0, len(b))
entries = top[0][2][-1][2]
inst = [e for e in entries if e[0] == b'\xa0']
assert len(inst) >= 2, "two installed entries needed"
p0 = [k for k in inst[0][2] if k[0] == b'\xbf\x37'][0]
p1 = [k for k in inst[1][2] if k[0] == b'\xbf\x37'][0]
p0[1], p1[1] = p1[1], p0[1]
open(sys.argv[2], 'wb').write(enc(top[0]))
PY
openssl cms -sign -binary -nodetach -outform DER -md sha256 -in "$T/swap.der" \
    -signer "$P/dm.cert.pem" -inkey "$P/dm.key.pem" -out "$T/swap.ifppl"
"$TK" pki init "$T/pki2" >/dev/null
openssl cms -sign -binary -nodetach -outform DER -md sha256 -in "$F1.der" \
    -signer "$T/pki2/dm.cert.pem" -inkey "$T/pki2/dm.key.pem" -out "$T/signer.ifppl"
for bad in byte swap signer; do
    f=$T/$bad.ifppl
    if st report verify "$f" >/dev/null 2>"$T/$bad.sv"; then
        fail "report verify accepted the $bad report"
    fi
    if "$TK" smdpf verify-report "$f" --pki "$P" >/dev/null 2>"$T/$bad.vr"; then
        fail "smdpf verify-report accepted the $bad report"
    fi
    if openssl cms -verify -binary -inform DER -in "$f" -CAfile "$P/dm-ca.cert.pem" \
        -out /dev/null 2>/dev/null; then
        [ "$bad" = swap ] || fail "openssl accepted the $bad report"
    fi
    ok "$bad: station: $(sed 's/.*: //' "$T/$bad.sv" | head -1) | SM-DPf: $(sed 's/.*: //' "$T/$bad.vr" | head -1)"
done
grep -q "another transaction" "$T/swap.sv" || fail "swap: unexpected reason $(cat "$T/swap.sv")"

# ---- audit ----
st audit verify >"$T/audit.log" || fail "audit verify: $(cat "$T/audit.log")"
[ "$(q "SELECT count(*) FROM audit WHERE action IN ('report.create', 'report.export', 'report.reexport', 'report.verify')")" -ge 8 ] ||
    fail "export/verify audit rows missing"
seq=$(q "SELECT min(seq) FROM audit WHERE action = 'report.export'")
q "DROP TRIGGER audit_no_update; UPDATE audit SET new_value = 'nothing' WHERE seq = $seq"
if st audit verify >"$T/audit2.log" 2>&1; then
    fail "audit verify accepted an edited row"
fi
grep -q "row $seq " "$T/audit2.log" || fail "audit verify does not name row $seq: $(cat "$T/audit2.log")"
ok "audit verify: $(cat "$T/audit.log"); after an edit: $(grep -o "row $seq [^;]*" "$T/audit2.log")"
echo PASS
