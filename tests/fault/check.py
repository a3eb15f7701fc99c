#!/usr/bin/env python3
"""check.py - the invariants of the fault campaign (tests/fault/campaign.sh; DESIGN section 8).

usage: check.py --db STATION.DB --batches DIR --out DIR --journal DIR --mode quick|full
                [--label TEXT] [--bundles N] [--batches-done N]

Reads the station's store (sqlite3) and every simulated card's own state (DIR/<n>/cards/<EID>/
card.state, the text format of tests/testkit/euicc/state.h) and checks:

  both modes (right after a kill -9, before any recovery, and after recovery)
    integrity     PRAGMA integrity_check = ok, PRAGMA foreign_key_check empty; the counts per
                  bundle and state (schema 3 triggers) equal a recount
    states        every BPP in pending|loading|installed|failed|dead; result kind agrees with the
                  BPP state (installed -> installed result with a verified PIR, dead -> failed
                  result, pending|failed -> no result)
    once-store    no BPP has two successful attempts, two results or two open attempts
    once-card     no ICCID twice on a card
    atomic        every bundle is complete (entry_count BPPs, each with its BF36) or absent; the
                  eUICC data of a batch is all there (its EIDs, K one-time keys each) or absent
    reports       no result in two reports; a report marked exported has its file in DIR
  full mode (after recovery: run --until-idle, re-import, re-export)
    settled       no BPP in loading, no open attempt
    card->store   no PIR lost: every profile on a card has an installed BPP (EID, ICCID) whose
                  result holds a verified BF37, byte-equal to the card's success notification
                  when the card still lists it; every one-time key the card consumed belongs to
                  an installed BPP
    store->card   every installed BPP is on its card exactly once, its key consumed on the card
                  and in the store
    exported      every result is in exactly one exported report; every PLR file in DIR is a
                  report the store marks exported; no temp file, no export journal entry
    imports       --bundles bundles, --batches-done batches of eUICC data

Prints one line "checks N violations V" (N = individual assertions evaluated) and each violation
on its own line "VIOLATION [label] what"; exit 0 when V = 0, 1 otherwise, 2 on a usage error.
"""
import argparse
import glob
import os
import sqlite3
import sys


class Checker:
    def __init__(self, label):
        self.label = label
        self.checks = 0
        self.violations = []

    def ok(self, cond, what):
        self.checks += 1
        if not cond:
            self.violations.append(what)
        return cond


# ---- card.state ----

def parse_card(path):
    card = {"eid": None, "profiles": [], "keys": {}, "notifs": {}}
    with open(path, encoding="ascii") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "eid":
                card["eid"] = w[1]
            elif w[0] == "key":
                card["keys"][int(w[1])] = w[2]
            elif w[0] == "profile":
                card["profiles"].append(w[1].upper())
            elif w[0] == "notif":
                card["notifs"][int(w[1])] = bytes.fromhex(w[2])
    return card


# ---- a minimal BER reader for BF37 ----

def tlv_read(buf, pos):
    """(tag, value_start, value_end) of the TLV at pos."""
    b = buf[pos]
    tag = b
    pos += 1
    if b & 0x1F == 0x1F:
        while True:
            b = buf[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
    n = buf[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("TLV overruns")
    return tag, pos, pos + n


def tlv_children(buf, start, end):
    out = {}
    pos = start
    while pos < end:
        tag, vs, ve = tlv_read(buf, pos)
        out.setdefault(tag, (vs, ve))
        pos = ve
    return out


def pir_facts(bf37):
    """(iccid hex or None, success bool) of a BF37 ProfileInstallationResult."""
    tag, vs, ve = tlv_read(bf37, 0)
    if tag != 0xBF37:
        raise ValueError("not BF37")
    top = tlv_children(bf37, vs, ve)
    d = top[0xBF27]
    data = tlv_children(bf37, d[0], d[1])
    iccid = None
    if 0xBF2F in data:
        meta = tlv_children(bf37, *data[0xBF2F])
        if 0x5A in meta:
            iccid = bf37[meta[0x5A][0]:meta[0x5A][1]].hex().upper()
    fr = tlv_children(bf37, *data[0xA2])
    return iccid, 0xA0 in fr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--journal", required=True)
    ap.add_argument("--mode", choices=("quick", "full"), required=True)
    ap.add_argument("--label", default="")
    ap.add_argument("--bundles", type=int)
    ap.add_argument("--batches-done", type=int)
    ap.add_argument("--keys", type=int, default=0)
    a = ap.parse_args()
    c = Checker(a.label)
    full = a.mode == "full"

    # Read-only: the checker must not create or change what it checks.
    if not os.path.exists(a.db):
        c.ok(not full, f"no store at {a.db}")
        report(c)
    db = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True, timeout=30)
    q = lambda sql, *p: db.execute(sql, p).fetchall()
    if q("PRAGMA user_version")[0][0] == 0:
        # a kill before the first migration committed: an empty database is all there may be
        tables = q("SELECT name FROM sqlite_master")
        c.ok(not full and not tables, f"store without its schema: {tables[:5]}")
        c.ok(q("PRAGMA integrity_check") == [("ok",)], "integrity_check of the empty store")
        report(c)

    # integrity
    ic = q("PRAGMA integrity_check")
    if not c.ok(ic == [("ok",)], f"integrity_check: {ic[:5]}"):
        report(c)
    fk = q("PRAGMA foreign_key_check")
    c.ok(not fk, f"foreign_key_check: {fk[:5]}")
    # schema 3: the counts per bundle and state kept by triggers equal a recount
    if q("PRAGMA user_version")[0][0] >= 3:
        kept = {(b, st): n for (b, st, n) in q("SELECT bundle_id, state, n FROM bundle_count")
                if n}
        real = {(b, st): n for (b, st, n) in
                q("SELECT bundle_id, state, count(*) FROM bpp GROUP BY bundle_id, state")}
        c.ok(kept == real, f"bundle_count differs from a recount: kept {sorted(kept.items())[:4]}, "
                           f"counted {sorted(real.items())[:4]}")

    # states and results
    bpps = {}
    for (bid, eid, key, iccid, state, bundle) in q(
            "SELECT id, hex(eid), key_index, hex(iccid), state, bundle_id FROM bpp"):
        bpps[bid] = dict(eid=eid, key=key, iccid=iccid, state=state, bundle=bundle)
    results = {}
    for (rid, bid, kind, pir, verified) in q(
            "SELECT id, bpp_id, kind, pir, verified FROM result"):
        c.ok(bid not in results, f"BPP {bid}: two results")
        results[bid] = dict(id=rid, kind=kind, pir=pir, verified=verified)
    inst_attempts = dict(q("SELECT bpp_id, count(*) FROM attempt WHERE outcome = 'installed' "
                           "GROUP BY bpp_id"))
    open_attempts = dict(q("SELECT bpp_id, count(*) FROM attempt WHERE ended_at IS NULL "
                           "GROUP BY bpp_id"))
    store_keys = {(e, k): s for (e, k, s) in q(
        "SELECT hex(eid), key_index, state FROM one_time_key")}
    for bid, b in bpps.items():
        st = b["state"]
        r = results.get(bid)
        c.ok(st in ("pending", "loading", "installed", "failed", "dead"),
             f"BPP {bid}: state {st}")
        c.ok(inst_attempts.get(bid, 0) <= 1,
             f"BPP {bid}: {inst_attempts.get(bid)} successful attempts (installed twice)")
        c.ok(open_attempts.get(bid, 0) <= 1, f"BPP {bid}: {open_attempts.get(bid)} open attempts")
        if st == "installed":
            c.ok(r is not None and r["kind"] == "installed" and r["pir"] is not None
                 and r["verified"] == 1,
                 f"BPP {bid} installed without a verified installed result: {r and r['kind']}")
            c.ok(inst_attempts.get(bid, 0) == 1,
                 f"BPP {bid} installed with {inst_attempts.get(bid, 0)} successful attempts")
            c.ok(store_keys.get((b["eid"], b["key"])) == "consumed",
                 f"BPP {bid} installed, store key {b['eid']}/{b['key']} is "
                 f"{store_keys.get((b['eid'], b['key']))}")
        elif st == "dead":
            c.ok(r is not None and r["kind"] == "failed", f"BPP {bid} dead without a failed result")
        else:
            c.ok(r is None, f"BPP {bid} {st} but has a {r and r['kind']} result")
            c.ok(inst_attempts.get(bid, 0) == 0, f"BPP {bid} {st} with a successful attempt")
        if full:
            c.ok(st != "loading", f"BPP {bid} ({b['eid']} ICCID {b['iccid']}) left loading "
                 "after recovery")
            c.ok(open_attempts.get(bid, 0) == 0, f"BPP {bid}: attempt left open after recovery")

    # atomic imports
    for (bund, bid_hex, n, nb, nblob) in q(
            "SELECT b.id, hex(b.bundle_id), b.entry_count, "
            "(SELECT count(*) FROM bpp p WHERE p.bundle_id = b.id), "
            "(SELECT count(*) FROM bpp p JOIN bpp_blob x ON x.bpp_id = p.id "
            " WHERE p.bundle_id = b.id) FROM bundle b"):
        c.ok(nb == n and nblob == n, f"bundle {bid_hex}: {nb} BPPs, {nblob} blobs of {n} (half a "
             "bundle)")
    c.ok(q("SELECT count(*) FROM bpp WHERE bundle_id NOT IN (SELECT id FROM bundle)")[0][0] == 0,
         "BPPs without their bundle")
    if full and a.bundles is not None:
        nb = q("SELECT count(*) FROM bundle")[0][0]
        c.ok(nb == a.bundles, f"{nb} bundles in the store, {a.bundles} imported")
    euiccs = {e for (e,) in q("SELECT hex(eid) FROM euicc")}
    nkeys = dict(q("SELECT hex(eid), count(*) FROM one_time_key GROUP BY eid"))

    # cards
    cards = {}
    batches = sorted(glob.glob(os.path.join(a.batches, "*", "cards")))
    for bdir in batches:
        eids = []
        for path in sorted(glob.glob(os.path.join(bdir, "*", "card.state"))):
            card = parse_card(path)
            cards[card["eid"]] = card
            eids.append(card["eid"])
        have = [e for e in eids if e in euiccs]
        c.ok(len(have) in (0, len(eids)),
             f"{bdir}: {len(have)} of {len(eids)} eUICCs imported (half an .ifppe)")
        if a.keys:
            for e in have:
                c.ok(nkeys.get(e, 0) == a.keys, f"EID {e}: {nkeys.get(e, 0)} one-time keys in "
                     f"the store, {a.keys} expected")
        if full:
            c.ok(len(have) == len(eids), f"{bdir}: eUICC data not imported after recovery")
    if full and a.batches_done is not None:
        c.ok(len(batches) >= a.batches_done, f"{len(batches)} batches, {a.batches_done} expected")

    by_card = {}
    for bid, b in bpps.items():
        by_card.setdefault((b["eid"], b["iccid"]), []).append(bid)
    installed_keys = {(b["eid"], b["key"]) for b in bpps.values() if b["state"] == "installed"}
    for eid, card in cards.items():
        profiles = card["profiles"]
        for iccid in set(profiles):
            c.ok(profiles.count(iccid) == 1, f"card {eid}: ICCID {iccid} installed "
                 f"{profiles.count(iccid)} times")
        if not full:
            continue
        success = {}
        for seq, bf37 in card["notifs"].items():
            try:
                iccid, ok = pir_facts(bf37)
            except (ValueError, KeyError, IndexError) as e:
                c.ok(False, f"card {eid}: notification {seq} unreadable: {e}")
                continue
            if ok and iccid:
                c.ok(iccid not in success, f"card {eid}: two success PIRs for ICCID {iccid}")
                success[iccid] = bf37
        for iccid in profiles:
            ids = by_card.get((eid, iccid), [])
            inst = [i for i in ids if bpps[i]["state"] == "installed"]
            c.ok(len(inst) == 1, f"card {eid} has ICCID {iccid}; store: "
                 f"{[(i, bpps[i]['state']) for i in ids] or 'no BPP'} (PIR lost or installed twice)")
            if len(inst) == 1:
                r = results.get(inst[0])
                if iccid in success and r and r["pir"] is not None:
                    c.ok(bytes(r["pir"]) == success[iccid],
                         f"card {eid} ICCID {iccid}: the store's PIR (BPP {inst[0]}) differs "
                         "from the card's notification")
        for idx, kst in card["keys"].items():
            if kst == "consumed":
                c.ok((eid, idx) in installed_keys, f"card {eid}: one-time key {idx} consumed, "
                     f"no installed BPP with it (store: "
                     f"{[(i, b['state']) for i, b in bpps.items() if b['eid'] == eid and b['key'] == idx]})")
    if full:
        for bid, b in bpps.items():
            if b["state"] != "installed":
                continue
            card = cards.get(b["eid"])
            if not c.ok(card is not None, f"BPP {bid} installed on EID {b['eid']}, no such card"):
                continue
            n = card["profiles"].count(b["iccid"])
            c.ok(n == 1, f"BPP {bid} installed, its ICCID {b['iccid']} is {n} times on card "
                 f"{b['eid']}")
            c.ok(card["keys"].get(b["key"]) == "consumed",
                 f"BPP {bid} installed, card {b['eid']} key {b['key']} is "
                 f"{card['keys'].get(b['key'])}")

    # reports
    dup = q("SELECT result_id, count(*) FROM report_entry GROUP BY result_id HAVING count(*) > 1")
    c.ok(not dup, f"results in two reports: {dup[:5]}")
    exported = q("SELECT file_name FROM report WHERE exported_at IS NOT NULL")
    for (name,) in exported:
        c.ok(os.path.isfile(os.path.join(a.out, name)), f"report {name} marked exported, no file")
    if full:
        files = {f for f in os.listdir(a.out) if f.startswith("PLR_") and f.endswith(".ifppl")}
        names = {n for (n,) in exported}
        c.ok(files == names, f"files without an exported report: {sorted(files - names)[:3]}")
        left = q("SELECT count(*) FROM report WHERE exported_at IS NULL")[0][0]
        c.ok(left == 0, f"{left} reports claimed but not exported after the re-export")
        unrep = q("SELECT count(*) FROM result r WHERE NOT EXISTS "
                  "(SELECT 1 FROM report_entry e WHERE e.result_id = r.id)")[0][0]
        c.ok(unrep == 0, f"{unrep} results in no report after the re-export")
        temps = [f for f in os.listdir(a.out) if f.startswith(".PLR_")]
        c.ok(not temps, f"temp files left: {temps[:3]}")
        jn = glob.glob(os.path.join(a.journal, "plr-*.pending"))
        c.ok(not jn, f"export journal entries left: {jn[:3]}")
    report(c)


def report(c):
    print(f"checks {c.checks} violations {len(c.violations)}")
    for v in c.violations:
        print(f"VIOLATION [{c.label}] {v}")
    sys.exit(1 if c.violations else 0)


if __name__ == "__main__":
    main()
