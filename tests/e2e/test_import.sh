#!/bin/sh
# test_import.sh TESTKIT STATION
# Issue 4 end to end through the CLI: eUICC data and bundles from the test kit (pki init, eum
# make, smdpf bind); a stick directory imported (exit 0, status counts); re-import unchanged;
# refusals with exit 1 and "import: FILE: entry N (EID ...): reason" (unknown EID, a byte
# flipped, a symlink on the stick); usage/config errors exit 2; request export -> test SM-DPf
# bind -> import, with the store's 'requested' key state keeping keys from being requested
# twice; request export of every eUICC (no --eid); status counts; audit rows.
set -eu
tk=$1
st=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-import.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fail() { echo "FAIL: $*"; exit 1; }
# expect RC CMD...: runs CMD, output to $work/out and $work/err, checks the exit code
expect() {
    want=$1
    shift
    set +e
    "$@" >"$work/out" 2>"$work/err"
    got=$?
    set -e
    if [ "$got" -ne "$want" ]; then
        cat "$work/out" "$work/err"
        fail "exit $got (want $want): $*"
    fi
}
grep_err() { grep -q -- "$1" "$work/err" || { cat "$work/err"; fail "stderr lacks '$1'"; }; }
grep_out() { grep -q -- "$1" "$work/out" || { cat "$work/out"; fail "stdout lacks '$1'"; }; }

pki=$work/pki
"$tk" pki init "$pki" >/dev/null
"$tk" eum make "$work/eum" --count 4 --keys 2 --pki "$pki" >/dev/null 2>&1
"$tk" smdpf bind "$work/eum/euicc-data.ifppe" --pki "$pki" -o "$work/b1.ifppb" >/dev/null
S="$st -c $pki/station.conf"
db=$pki/state/station.db

# usage and configuration errors: exit 2
expect 2 $S import
expect 2 "$st" -c "$work/none.conf" import "$work/b1.ifppb"
printf '[trust]\nci = %s/ci.cert.pem\n[nosuch]\nx = 1\n' "$pki" >"$work/bad.conf"
expect 2 "$st" -c "$work/bad.conf" import "$work/b1.ifppb"

# a bundle before its eUICC data: refused, named entry and EID
expect 1 $S import "$work/b1.ifppb"
grep_err "import: $work/b1.ifppb: entry 0 (EID 8904903"
grep_err "no eUICC data for this EID"
[ "$(sqlite3 "$db" 'select count(*) from bpp')" = 0 ] || fail "BPPs after a refusal"

# a stick: data + bundle + signature + a stray file
mkdir "$work/stick"
cp "$work/eum/euicc-data.ifppe" "$work/b1.ifppb" "$work/b1.ifppb.p7s" "$work/stick/"
echo hello >"$work/stick/README"
expect 0 $S import "$work/stick"
grep_out "euicc-data.ifppe: imported 4 eUICCs (4 new), 8 one-time keys (8 new)"
grep_out "b1.ifppb: imported 4 BPPs"
grep_out "README: skipped"
expect 0 $S status --json
grep_out '"pending":4'
expect 0 $S status
grep_out "^total"
expect 0 $S import "$work/stick"
grep_out "b1.ifppb: unchanged"

# a flipped byte in the last BPP: the signature refuses it, nothing changes
cp "$work/b1.ifppb" "$work/f.ifppb"
cp "$work/b1.ifppb.p7s" "$work/f.ifppb.p7s"
size=$(stat -c %s "$work/f.ifppb")
printf '\001' | dd of="$work/f.ifppb" bs=1 seek=$((size - 30)) conv=notrunc 2>/dev/null
expect 1 $S import "$work/f.ifppb"
grep_err "f.ifppb: .*does not verify"
[ "$(sqlite3 "$db" 'select count(*) from bpp')" = 4 ] || fail "BPP count changed"

# a symlink on a stick is not followed
mkdir "$work/stick2"
ln -s "$work/b1.ifppb" "$work/stick2/b1.ifppb"
cp "$work/b1.ifppb.p7s" "$work/stick2/"
expect 1 $S import "$work/stick2"
grep_err "stick2/b1.ifppb: symbolic link (not followed)"

# request export -> bind -> import; keys are not requested twice
"$tk" eum make "$work/eum2" --count 3 --keys 2 --pki "$pki" >/dev/null 2>&1
expect 0 $S import "$work/eum2/euicc-data.ifppe"
first=$(ls "$work/eum2/cards" | sort | head -1)
last=$(ls "$work/eum2/cards" | sort | tail -1)
all_eids=""
for e in $(ls "$work/eum/cards"); do all_eids="$all_eids --eid $e"; done
# shellcheck disable=SC2086
expect 1 $S request export "$work/none.ifppr" $all_eids
grep_err "no eUICC qualifies"
expect 0 $S request export "$work/r1.ifppr" --eid-range "$first-$last" --count 2 \
    --profile-type "Test"
grep_out "r1.ifppr: 2 eUICCs"
openssl cms -verify -binary -inform DER -in "$work/r1.ifppr" -CAfile "$pki/dm-ca.cert.pem" \
    -purpose any -out /dev/null 2>/dev/null || fail "openssl cms -verify of the request"
expect 0 $S request export "$work/r2.ifppr" --eid-range "$first-$last"
grep_out "r2.ifppr: 1 eUICC "
grep_out "2 already requested"
expect 1 $S request export "$work/r3.ifppr" --eid-range "$first-$last"
[ ! -e "$work/r3.ifppr" ] || fail "a request with no entry was written"
requested() { sqlite3 "$db" "select count(*) from one_time_key where state = 'requested'"; }
[ "$(requested)" = 3 ] || fail "requested keys: $(requested)"
[ ! -e "$pki/state/requested-keys" ] || fail "a ledger file was written"
"$tk" smdpf bind "$work/r1.ifppr" --pki "$pki" -o "$work/b2.ifppb" >/dev/null
expect 0 $S import "$work/b2.ifppb"
grep_out "b2.ifppb: imported 2 BPPs"
[ "$(requested)" = 1 ] || fail "requested keys after the import: $(requested)"
# re-sending a lost request asks for the same keys again
expect 0 $S request export "$work/r2b.ifppr" --eid-range "$first-$last" --include-requested
grep_out "r2b.ifppr: 1 eUICC .*asked for again with the same key"

# no --eid/--eid-range: every eUICC that qualifies, --count limits
"$tk" eum make "$work/eum3" --count 2 --keys 2 --pki "$pki" >/dev/null 2>&1
expect 0 $S import "$work/eum3/euicc-data.ifppe"
expect 0 $S request export "$work/a1.ifppr" --count 1
grep_out "a1.ifppr: 1 eUICC "
expect 0 $S request export "$work/a2.ifppr"
grep_out "a2.ifppr: 1 eUICC "
grep_out "2 already requested"
expect 1 $S request export "$work/a3.ifppr"
grep_err "no eUICC qualifies"
[ "$(requested)" = 3 ] || fail "requested keys: $(requested)"
n=$(sqlite3 "$db" "select count(*) from (select eid from one_time_key where state = 'requested'
    group by eid having count(*) > 1)")
[ "$n" = 0 ] || fail "an eUICC with two requested keys"
expect 0 $S status --json
grep_out '"euiccs":{"total":9,"with_bpp":6,"requested":3,"unrequested":0,"no_key":0}'
grep_out '"keys":{"total":18,"unused":9,"requested":3,"bound":6,'
grep_out '"yield":null'
expect 0 $S status
grep_out "^eUICCs: 9 (6 with a BPP, 3 requested"

# audit: one row per import attempt, chain intact
n=$(sqlite3 "$db" "select count(*) from audit where action like 'import.%'")
[ "$n" -ge 8 ] || fail "audit rows: $n"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
echo "PASS: import e2e"
