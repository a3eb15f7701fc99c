#!/bin/sh
# test_systemd_media.sh BUILDDIR TESTKIT STATION
# Batch mode packaging (issue 7): every installed unit passes `systemd-analyze verify` (with
# ExecStart pointed at the built binary), the exposure of each unit is reported and must stay
# <= 2.0, and the removable-media flow works: `ifpp-station media STICK` imports STICK/ifpp/in
# and writes new reports to STICK/ifpp/out; a stick whose ifpp/ is a symlink is refused and
# nothing is read through it.
set -eu
build=$1
tk=$2
st=$3
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: systemd-analyze not installed"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

for u in "$build"/systemd/*.service; do
    name=$(basename "$u")
    sed "s|/usr/local/bin/ifpp-station|$st|" "$u" >"$work/$name"
done
(cd "$work" && systemd-analyze verify ./*.service)
echo "ok: systemd-analyze verify: $(cd "$work" && ls ./*.service | xargs)"
for u in "$work"/*.service; do
    line=$(cd "$work" && systemd-analyze security --offline=true "./$(basename "$u")" 2>&1 | tail -n 1)
    echo "exposure: $line"
    score=$(echo "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
    [ -n "$score" ] || { echo "FAIL: no exposure score for $u"; exit 1; }
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "FAIL: exposure $score > 2.0"; exit 1; }
done

# the media flow, on a stick folder
"$tk" pki init "$work/pki" >/dev/null
conf=$work/pki/station.conf
"$tk" eum make "$work/eum" --count 2 --keys 1 --pki "$work/pki" >/dev/null
"$tk" smdpf bind "$work/eum/euicc-data.ifppe" --pki "$work/pki" --smdpf smdpf1 \
    -o "$work/b.ifppb" >/dev/null
mkdir -p "$work/stick/ifpp/in"
cp "$work/eum/euicc-data.ifppe" "$work/b.ifppb" "$work/b.ifppb.p7s" "$work/stick/ifpp/in/"
"$st" -c "$conf" media "$work/stick"
[ -d "$work/stick/ifpp/out" ] || { echo "FAIL: ifpp/out not created"; exit 1; }
n=$(sqlite3 "$work/pki/state/station.db" "SELECT count(*) FROM bpp WHERE state='pending'")
[ "$n" = 2 ] || { echo "FAIL: $n pending BPPs after media import, 2 expected"; exit 1; }
echo "ok: media import: 2 BPPs pending"
# a second insertion of the same stick changes nothing
"$st" -c "$conf" media "$work/stick" | grep -q unchanged || { echo "FAIL: re-import not idempotent"; exit 1; }
echo "ok: same stick again: unchanged"
# ifpp/ as a symlink to elsewhere: refused, nothing read
mkdir -p "$work/evil/elsewhere/in" "$work/stick2"
cp "$work/b.ifppb" "$work/b.ifppb.p7s" "$work/evil/elsewhere/in/"
ln -s "$work/evil/elsewhere" "$work/stick2/ifpp"
if "$st" -c "$conf" media "$work/stick2" 2>"$work/err"; then
    echo "FAIL: a symlinked ifpp/ was accepted"
    exit 1
fi
grep -q "symlink" "$work/err" || { cat "$work/err"; echo "FAIL: no reason given"; exit 1; }
echo "ok: symlinked ifpp/ refused: $(cat "$work/err")"
echo PASS
