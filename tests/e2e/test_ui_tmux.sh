#!/bin/sh
# e2e (issue 7): the operator console `ifpp-station ui` driven through tmux on the virtual line
# (real pcscd + vpcd + 4 simulated eUICCs), its screens checked as text (capture-pane).
#
# pki init; two operators (sup1 supervisor, op1 operator; PINs hashed in the operators file);
# eum make --count 4; smdpf bind; the .ifppe and the bundle go on a "stick" folder; line up
# --readers 4 (slowed cards, so a load is visible). In a 100x30 tmux pane:
#   log-in refused with a wrong PIN; op1 logs in, a supervisor function is refused, log out;
#   sup1 logs in; import from the stick (F9, progress, outcome); load all 4 cards (L): 4 PASS,
#   1 of 1 profiles each; verify all (V); delete the one-time keys of the lot (D, confirm y);
#   export the reports (e) and check them (report verify, smdpf verify-report); results,
#   bundles, event log, help screens; resize below 80x24 and back; quit (q) -> exit 0 with the
#   terminal restored. Then a second console is stopped by SIGTERM -> exit 0.
# The store is checked afterwards: every BPP installed, keys deleted, and the operator id on
# every attempt and on the audit rows of the console's actions.
# Every process started here is stopped on every exit path (trap): the console by its pid, the
# tmux server by its own socket (tmux -L), the line by `line down` (pids).
# IFPP_UI_CAPTURE_DIR=DIR keeps the captured screens (*.txt) there.
#
# usage: test_ui_tmux.sh [ifpp-testkit] [ifpp-station]     exit 77: skip (no root or tools)
set -eu

TK=${1:-${IFPP_BUILD_DIR:-build}/tests/testkit/ifpp-testkit}
ST=${2:-${IFPP_BUILD_DIR:-build}/station/ifpp-station}
VPCD=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

skip() {
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, mount --bind for the isolated pcscd)"
for tool in tmux pcscd unshare sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
[ -e "$VPCD" ] || skip "vsmartcard vpcd driver not installed ($VPCD)"
[ -x "$TK" ] || { echo "FAIL: no ifpp-testkit at $TK"; exit 1; }
[ -x "$ST" ] || { echo "FAIL: no ifpp-station at $ST"; exit 1; }
case $ST in /*) ;; *) ST=$(pwd)/$ST ;; esac

W=$(mktemp -d "${TMPDIR:-/tmp}/ifpp-e2e-ui.XXXXXX")
SOCK="ifpp-ui-e2e-$$"
LINE=""
TMUX_UP=""
cleanup() {
    rc=$?
    if [ -n "$TMUX_UP" ]; then
        pid=$(ui_pid)
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
        tmux -L "$SOCK" kill-server 2>/dev/null || true
    fi
    if [ -n "$LINE" ] && [ -f "$LINE/pids" ]; then
        "$TK" line down "$LINE" >/dev/null 2>&1 || true
    fi
    if [ "$rc" != 0 ]; then
        [ -f "$W/pki/state/console.log" ] && { echo "---- console.log"; tail -n 30 "$W/pki/state/console.log"; }
    fi
    rm -rf "$W"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*"
    [ -f "$W/screen.txt" ] && { echo "---- screen"; cat "$W/screen.txt"; }
    exit 1
}

C="-c $W/pki/station.conf"
q() { sqlite3 "$W/pki/state/station.db" "$1"; }

# ---- tmux helpers ----
tm() { tmux -L "$SOCK" "$@"; }
cap() { tm capture-pane -p -t ui >"$W/screen.txt" 2>/dev/null || true; }
keys() { tm send-keys -t ui "$@"; }
# wait_for PATTERN [SECONDS]: polls the screen until the (grep -E) pattern shows
wait_for() {
    n=$(( ${2:-30} * 5 ))
    while [ "$n" -gt 0 ]; do
        cap
        grep -Eq -- "$1" "$W/screen.txt" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    fail "timed out waiting for /$1/"
}
# count PATTERN: matches on the screen (tiles sit side by side: not lines)
count() { grep -Eo -- "$1" "$W/screen.txt" | wc -l; }
save() {
    cp "$W/screen.txt" "$W/cap-$1.txt"
    if [ -n "${IFPP_UI_CAPTURE_DIR:-}" ]; then
        mkdir -p "$IFPP_UI_CAPTURE_DIR"
        cp "$W/screen.txt" "$IFPP_UI_CAPTURE_DIR/$1.txt"
    fi
}
# the console process: the child of the pane's shell (by parent pid, never by name)
ui_pid() {
    pp=$(tm display -p -t ui '#{pane_pid}' 2>/dev/null) || return 0
    [ -n "$pp" ] && ps -o pid= --ppid "$pp" 2>/dev/null | awk 'NR == 1 { print $1 }'
}
start_ui() {
    # the shell stays after the console exits, so its last lines can be read
    printf 'set -g status off\nset -g history-limit 100\n' >"$W/tmux.conf"
    tm -f "$W/tmux.conf" new-session -d -s ui -x 100 -y 30 \
        "env LANG=C.UTF-8 PCSCLITE_CSOCK_NAME=$PCSCLITE_CSOCK_NAME sh -c '\"$ST\" $C ui --import-dir \"$W/stick\" --export-dir \"$W/out\"; echo EXIT=\$?; exec sleep 600'"
    TMUX_UP=1
}
login() { # login ID PIN
    keys Escape
    sleep 0.1
    keys "$1" Tab "$2" Enter
}

# ---- the line ----
"$TK" pki init "$W/pki" >/dev/null
sed -i 's/^\[station\]$/[station]\noperator_pin_file = operators/' "$W/pki/station.conf"
grep -q '^operator_pin_file' "$W/pki/station.conf" || fail "no [station] section in station.conf"
printf '1234\n' | "$ST" $C operator add sup1 --role supervisor --iterations 2000 >/dev/null
printf '5678\n' | "$ST" $C operator add op1 --role operator --iterations 2000 >/dev/null
[ "$("$ST" $C operator list | wc -l)" = 2 ] || fail "operator list"
[ "$(stat -c %a "$W/pki/operators")" = 600 ] || fail "operators file not 0600"
grep -q '1234\|5678' "$W/pki/operators" && fail "a PIN in clear in the operators file"
"$TK" eum make "$W/eum" --count 4 --keys 2 --pki "$W/pki" >/dev/null
mkdir -p "$W/stick" "$W/out"
"$TK" smdpf bind "$W/eum/euicc-data.ifppe" --pki "$W/pki" --smdpf smdpf1 \
    -o "$W/stick/bundle.ifppb" >/dev/null
cp "$W/eum/euicc-data.ifppe" "$W/stick/"
LINE="$W/line"
# slowed cards (per-APDU latency): the load is visible on the tiles
"$TK" line up "$LINE" --readers 4 --cards "$W/eum" --pki "$W/pki" --latency-ms 15 >/dev/null
. "$LINE/env"
export PCSCLITE_CSOCK_NAME

# ---- the console ----
start_ui
wait_for "Operator log-in"
save login

# a wrong PIN is refused
login op1 0000
wait_for "Wrong operator id or PIN"
# an operator may load but not delete keys
login op1 5678
wait_for "op1 \(operator\)"
[ "$(count 'FPA-SIM')" -ge 4 ] || fail "4 reader tiles expected"
keys D
wait_for "needs a supervisor log-in"
cap
grep -q "F8Keys\|F9Import" "$W/screen.txt" && fail "supervisor keys on an operator's bar"
keys o
wait_for "Operator log-in"

login sup1 1234
wait_for "sup1 \(supervisor\)"
wait_for "F8Keys"
wait_for "Stock: no bundle imported"
save dashboard-empty

# import from the stick: eUICC data first, then the bundle
keys F9
wait_for "Import from a stick"
grep -q "$W/stick" "$W/screen.txt" || fail "the import prompt does not offer --import-dir"
keys Enter
wait_for "Finished" 60
grep -q "refused" "$W/screen.txt" && ! grep -q "0 refused" "$W/screen.txt" && fail "import refused"
grep -q "imported 4 BPPs" "$W/screen.txt" || fail "bundle not imported"
grep -q "2 imported, 0 unchanged, 0 refused" "$W/screen.txt" || fail "import totals"
save import
keys Enter
wait_for "BPPs left 4"

# load every card; a screen with a progress bar is kept when one is caught (not asserted:
# timing belongs in tests/bench)
keys L
n=100
while [ "$n" -gt 0 ]; do
    cap
    if grep -q 'profile 1/1 \[#' "$W/screen.txt"; then
        save loading
        break
    fi
    grep -q "passed 4 " "$W/screen.txt" && break
    sleep 0.1
    n=$((n - 1))
done
wait_for "passed 4 " 120
[ "$(count ' PASS ')" = 4 ] || fail "4 PASS tiles expected"
[ "$(count 'profiles 1 of 1 loaded')" = 4 ] || fail "1 of 1 profiles on each of the 4 tiles"
grep -q "BPPs left 0" "$W/screen.txt" || fail "stock not used up"
save dashboard-pass
[ "$(q "SELECT count(*) FROM bpp WHERE state='installed'")" = 4 ] || fail "4 BPPs installed"

# verify every card
keys V
wait_for "jobs 8" 60
grep -q "passed 4 " "$W/screen.txt" || fail "a verified card is the same unit: passed 4"


# delete the one-time keys of the lot: asks first
keys D
wait_for "Delete one-time keys: whole lot"
grep -q "all 4 cards" "$W/screen.txt" || fail "confirmation does not name 4 cards"
save confirm-delete
keys n
wait_for "cancelled"
[ "$(q "SELECT count(*) FROM audit WHERE action='euicc.delete_keys'")" = 0 ] || fail "deleted without a yes"
keys D
wait_for "Delete one-time keys: whole lot"
keys y
wait_for "jobs 12" 60
grep -q "passed 4 " "$W/screen.txt" || fail "passed counts cards, not jobs"
n=0
while [ "$(q "SELECT count(*) FROM audit WHERE action='euicc.delete_keys' AND actor='sup1'")" != 4 ]; do
    n=$((n + 1))
    [ "$n" -lt 100 ] || fail "4 euicc.delete_keys audit rows by sup1 expected"
    sleep 0.2
done

# export the reports to the stick's folder
keys e
wait_for "Export loading reports"
keys Enter
wait_for "report\(s\) written|nothing new|Finished with problems" 60
grep -q "1 report(s) written, 4 entries" "$W/screen.txt" || fail "report export"
save export
keys Enter
set -- "$W"/out/*.ifppl
[ -f "$1" ] || fail "no .ifppl in the export folder"
"$ST" $C report verify "$1" >/dev/null || fail "report verify"
"$TK" smdpf verify-report "$1" --pki "$W/pki" >/dev/null || fail "smdpf verify-report"

# screens: results (filter), bundles, event log, help
keys F4
wait_for "verd EID"
[ "$(count '^.{9} PASS .* card in ')" -ge 4 ] || fail "card results expected"
save results
keys p p
wait_for "verdict FAIL"
grep -q "Nothing matches" "$W/screen.txt" || fail "FAIL filter should match nothing"
keys x
keys F3
wait_for "Bundles and stock"
grep -Eq "^ [0-9a-f]{16} +2\.999\.10 +4 +0 +0 +4 +0 +0 +0" "$W/screen.txt" || fail "bundle row"
keys F5
wait_for "Event log"
grep -q "sup1: delete-keys on every card" "$W/screen.txt" || fail "event log: delete-keys"
save log
keys F1
wait_for "what it does"
grep -q "supervisor  delete the one-time keys" "$W/screen.txt" || fail "help"
keys F2

# too small, then back
tm resize-window -t ui -x 70 -y 20
wait_for "Terminal too small"
save too-small
# the smallest supported size: every tile and both key bars still there
tm resize-window -t ui -x 80 -y 24
wait_for "F10Quit"
wait_for "passed 4 "
[ "$(count '┌─ (> )?FPA-SIM')" = 4 ] || fail "4 tiles at 80x24"
grep -q "^ l load  L load all" "$W/screen.txt" || fail "letter bar at 80x24"
save dashboard-80x24
tm resize-window -t ui -x 100 -y 30
wait_for "F11Export F10Quit"

# quit: exit 0, terminal restored
keys q
wait_for "EXIT=" 60
grep -q "EXIT=0" "$W/screen.txt" || fail "the console did not exit 0"
grep -q "ui: 4 pass, 0 fail" "$W/screen.txt" || fail "summary after the console"
save quit

# the store: the operator id on every attempt and on the console's audit rows
[ "$(q "SELECT count(*) FROM attempt WHERE operator != 'sup1'")" = 0 ] || fail "attempts without sup1"
for a in console.login console.login_failed console.logout console.delete_keys_lot report.export; do
    [ "$(q "SELECT count(*) FROM audit WHERE action='$a'")" -ge 1 ] || fail "no audit row $a"
done
[ "$(q "SELECT actor FROM audit WHERE action='console.delete_keys_lot'")" = sup1 ] || fail "lot deletion not by sup1"
"$ST" $C audit verify >/dev/null || fail "audit chain"

# a second console, stopped by SIGTERM (by its pid); a server of its own (a new server on a
# socket just killed may race the old one's exit)
tm kill-server
SOCK="$SOCK-2"
start_ui
wait_for "Operator log-in"
pid=$(ui_pid)
[ -n "$pid" ] || fail "no console pid"
kill -TERM "$pid"
wait_for "EXIT=" 60
grep -q "EXIT=0" "$W/screen.txt" || fail "SIGTERM: exit status"
tm kill-server
TMUX_UP=""

echo "PASS: console on the virtual line: log-in and roles, import, load 4, verify, delete keys (confirmed), export, screens, resize, quit, SIGTERM"
