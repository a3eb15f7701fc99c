/*
 * schema.c - the schema and its migrations (pkg's pkgdb_upgrade shape).
 *
 * PRAGMA user_version is the schema version. Each step of `migrations` runs in its own
 * BEGIN IMMEDIATE ... COMMIT together with its user_version bump, so a crash leaves the
 * database at a step boundary, and two stations opening one file cannot both apply a step
 * (the version is re-read under the write lock). A database newer than this code is refused.
 * Never edit a released step: append a new one.
 *
 * Conventions of the schema: times are Unix seconds; states are TEXT with a CHECK (readable in
 * the sqlite3 shell, enforced by the engine); blobs of fixed size carry a length CHECK.
 */
#include <stdio.h>

#include "base/log.h"
#include "store_internal.h"

typedef struct {
    int version;
    const char *const *sql; /* statements, NULL-terminated (one string each: C99 limits) */
} migration_t;

static const char *const schema_v1[] = {
    "PRAGMA application_id = 0x49465050",
    /* SM-DPfs known to the station (signers of imported bundles, and the configured list). */
    "CREATE TABLE smdpf (\n"
    "  id       INTEGER PRIMARY KEY,\n"
    "  oid      TEXT NOT NULL UNIQUE CHECK (length(oid) BETWEEN 3 AND 127),\n"
    "  name     TEXT NOT NULL DEFAULT '',\n"
    "  allowed  INTEGER NOT NULL DEFAULT 1 CHECK (allowed IN (0, 1)),\n"
    "  added_at INTEGER NOT NULL\n"
    ")",
    /* EUM certificates, once per distinct certificate. */
    "CREATE TABLE eum_cert (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  sha256      BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),\n"
    "  cert        BLOB NOT NULL,\n"
    "  imported_at INTEGER NOT NULL\n"
    ")",
    /* eUICC data (Esed2). */
    "CREATE TABLE euicc (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  eid         BLOB NOT NULL UNIQUE CHECK (length(eid) = 16),\n"
    "  cert_euicc  BLOB NOT NULL,\n"
    "  eum_cert_id INTEGER NOT NULL REFERENCES eum_cert(id),\n"
    "  euicc_info2 BLOB NOT NULL DEFAULT x'',\n"
    "  batch       TEXT NOT NULL DEFAULT '',\n"
    "  imported_at INTEGER NOT NULL\n"
    ")",
    "CREATE INDEX euicc_eum ON euicc(eum_cert_id)",
    "CREATE TABLE one_time_key (\n"
    "  eid        BLOB NOT NULL REFERENCES euicc(eid),\n"
    "  key_index  INTEGER NOT NULL CHECK (key_index BETWEEN 0 AND 4294967295),\n"
    "  otpk       BLOB NOT NULL CHECK (length(otpk) = 65),\n"
    "  signature  BLOB NOT NULL CHECK (length(signature) = 64),\n"
    "  state      TEXT NOT NULL DEFAULT 'unused'\n"
    "             CHECK (state IN ('unused', 'bound', 'consumed', 'deleted')),\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (eid, key_index)\n"
    ") WITHOUT ROWID",
    /* Bundles (ESBPP01). UNIQUE (id, smdpf_id) is the target of bpp's composite key, which
     * makes "a BPP belongs to its bundle's SM-DPf" structural. */
    "CREATE TABLE bundle (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  bundle_id   BLOB NOT NULL UNIQUE CHECK (length(bundle_id) = 16),\n"
    "  smdpf_id    INTEGER NOT NULL REFERENCES smdpf(id),\n"
    "  created_at  INTEGER NOT NULL,\n"
    "  imported_at INTEGER NOT NULL,\n"
    "  file_sha256 BLOB NOT NULL CHECK (length(file_sha256) = 32),\n"
    "  entry_count INTEGER NOT NULL CHECK (entry_count >= 0),\n"
    "  smdpf_chain BLOB NOT NULL,\n"
    "  file_name   TEXT NOT NULL DEFAULT '',\n"
    "  UNIQUE (id, smdpf_id)\n"
    ")",
    "CREATE INDEX bundle_smdpf ON bundle(smdpf_id)",
    /* BPPs: metadata here, the BF36 in bpp_blob so that scans and listings stay small.
     * smdpf_id is denormalised (tid uniqueness, reports) and kept honest by the composite
     * foreign key. */
    "CREATE TABLE bpp (\n"
    "  id           INTEGER PRIMARY KEY,\n"
    "  bundle_id    INTEGER NOT NULL,\n"
    "  seq          INTEGER NOT NULL CHECK (seq >= 0),\n"
    "  smdpf_id     INTEGER NOT NULL,\n"
    "  eid          BLOB NOT NULL CHECK (length(eid) = 16),\n"
    "  key_index    INTEGER NOT NULL CHECK (key_index BETWEEN 0 AND 4294967295),\n"
    "  tid          BLOB NOT NULL CHECK (length(tid) BETWEEN 1 AND 16),\n"
    "  iccid        BLOB NOT NULL CHECK (length(iccid) = 10),\n"
    "  profile_type TEXT NOT NULL DEFAULT '',\n"
    "  bpp_len      INTEGER NOT NULL CHECK (bpp_len > 0),\n"
    "  state        TEXT NOT NULL DEFAULT 'pending'\n"
    "               CHECK (state IN ('pending', 'loading', 'installed', 'failed', 'dead')),\n"
    "  retries      INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0),\n"
    "  last_error   TEXT,\n"
    "  updated_at   INTEGER NOT NULL,\n"
    "  FOREIGN KEY (bundle_id, smdpf_id) REFERENCES bundle(id, smdpf_id),\n"
    "  FOREIGN KEY (smdpf_id) REFERENCES smdpf(id),\n"
    "  UNIQUE (smdpf_id, tid)\n"
    ")",
    /* The engine's hot query: the pending BPPs of one EID (seek on (eid, 'pending'), rows in
     * id order within the key, so no sort). Also serves "every BPP of this EID". */
    "CREATE INDEX bpp_eid_state ON bpp(eid, state)",
    /* Counts per bundle and state, covering; also the child index of the bundle key. */
    "CREATE INDEX bpp_bundle_state ON bpp(bundle_id, state)",
    /* A one-time key serves one load: at most one BPP that is not dead per key. */
    "CREATE UNIQUE INDEX bpp_key_live ON bpp(eid, key_index) WHERE state <> 'dead'",
    /* Recovery: the few BPPs left in loading, without touching the million others. */
    "CREATE INDEX bpp_loading ON bpp(state) WHERE state = 'loading'",
    "CREATE TABLE bpp_blob (\n"
    "  bpp_id INTEGER PRIMARY KEY REFERENCES bpp(id),\n"
    "  bf36   BLOB NOT NULL\n"
    ")",
    /* One row per load attempt (an open attempt has ended_at NULL; at most one per BPP). */
    "CREATE TABLE attempt (\n"
    "  id             INTEGER PRIMARY KEY,\n"
    "  bpp_id         INTEGER NOT NULL REFERENCES bpp(id),\n"
    "  reader         TEXT NOT NULL,\n"
    "  operator       TEXT NOT NULL DEFAULT '',\n"
    "  started_at     INTEGER NOT NULL,\n"
    "  ended_at       INTEGER,\n"
    "  apdus          INTEGER NOT NULL DEFAULT 0,\n"
    "  bytes          INTEGER NOT NULL DEFAULT 0,\n"
    "  duration_ms    INTEGER,\n"
    "  outcome        TEXT CHECK (outcome IN ('installed', 'failed', 'interrupted')),\n"
    "  bpp_command_id INTEGER,\n" /* SGP.22 BppCommandId of a failure */
    "  error_reason   INTEGER,\n" /* SGP.22 ErrorReason */
    "  fpa_error_code INTEGER,\n"
    "  text           TEXT,\n"
    "  pir            BLOB,\n" /* the BF37 as the card returned it, failures included */
    "  CHECK ((ended_at IS NULL) = (outcome IS NULL))\n"
    ")",
    "CREATE INDEX attempt_bpp ON attempt(bpp_id)",
    "CREATE UNIQUE INDEX attempt_open ON attempt(bpp_id) WHERE ended_at IS NULL",
    /* The final result of a BPP, what reports carry: installed (PIR) or failed (dead). */
    "CREATE TABLE result (\n"
    "  id             INTEGER PRIMARY KEY,\n"
    "  bpp_id         INTEGER NOT NULL UNIQUE REFERENCES bpp(id),\n"
    "  smdpf_id       INTEGER NOT NULL REFERENCES smdpf(id),\n"
    "  kind           TEXT NOT NULL CHECK (kind IN ('installed', 'failed')),\n"
    "  pir            BLOB,\n"
    "  verified       INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),\n"
    "  fpa_error_code INTEGER,\n"
    "  text           TEXT,\n"
    "  at             INTEGER NOT NULL,\n"
    "  UNIQUE (id, smdpf_id),\n"
    "  CHECK (kind = 'failed' OR pir IS NOT NULL)\n"
    ")",
    "CREATE INDEX result_smdpf ON result(smdpf_id)",
    /* Profile Loading Reports (ESBPP03). exported_at stays NULL until the file is durable. */
    "CREATE TABLE report (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  report_id   BLOB NOT NULL UNIQUE CHECK (length(report_id) = 16),\n"
    "  smdpf_id    INTEGER NOT NULL REFERENCES smdpf(id),\n"
    "  file_name   TEXT NOT NULL DEFAULT '',\n"
    "  created_at  INTEGER NOT NULL,\n"
    "  exported_at INTEGER,\n"
    "  UNIQUE (id, smdpf_id)\n"
    ")",
    /* A result is in exactly one report of its own SM-DPf: UNIQUE (smdpf_id, result_id), and
     * both composite keys force report.smdpf_id = result.smdpf_id. */
    "CREATE TABLE report_entry (\n"
    "  report_id INTEGER NOT NULL,\n"
    "  result_id INTEGER NOT NULL,\n"
    "  smdpf_id  INTEGER NOT NULL,\n"
    "  PRIMARY KEY (report_id, result_id),\n"
    "  UNIQUE (smdpf_id, result_id),\n"
    "  FOREIGN KEY (report_id, smdpf_id) REFERENCES report(id, smdpf_id),\n"
    "  FOREIGN KEY (result_id, smdpf_id) REFERENCES result(id, smdpf_id)\n"
    ") WITHOUT ROWID",
    /* Audit log: append-only (triggers) and hash-chained (audit.c). AUTOINCREMENT keeps
     * sqlite_sequence at the highest seq ever used, so cutting rows off the end shows. */
    "CREATE TABLE audit (\n"
    "  seq       INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  ts        INTEGER NOT NULL,\n"
    "  actor     TEXT NOT NULL,\n"
    "  action    TEXT NOT NULL,\n"
    "  object    TEXT,\n"
    "  old_value TEXT,\n"
    "  new_value TEXT,\n"
    "  reason    TEXT,\n"
    "  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),\n"
    "  hash      BLOB NOT NULL CHECK (length(hash) = 32)\n"
    ")",
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit\n"
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit\n"
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    NULL,
};

/*
 * v2: one-time keys get the state 'requested' (named in an exported ESBPP02 request, no BPP
 * for it yet), with the request that named it last and when it was first requested; it
 * replaces the request ledger file STATE_DIR/requested-keys (station/request.c imports that
 * file once). A CHECK cannot be altered in SQLite, so the table is rebuilt (nothing references
 * it: dropping it checks no foreign key). At most one requested key per eUICC is structural
 * (a partial UNIQUE index), so no request ever offers a second key of one eUICC. And a partial
 * index for status's "last failed/dead BPPs", which stays small however many BPPs succeed.
 */
static const char *const schema_v2[] = {
    "CREATE TABLE one_time_key_v2 (\n"
    "  eid          BLOB NOT NULL REFERENCES euicc(eid),\n"
    "  key_index    INTEGER NOT NULL CHECK (key_index BETWEEN 0 AND 4294967295),\n"
    "  otpk         BLOB NOT NULL CHECK (length(otpk) = 65),\n"
    "  signature    BLOB NOT NULL CHECK (length(signature) = 64),\n"
    "  state        TEXT NOT NULL DEFAULT 'unused'\n"
    "               CHECK (state IN ('unused', 'requested', 'bound', 'consumed', 'deleted')),\n"
    "  request_id   BLOB CHECK (request_id IS NULL OR length(request_id) = 16),\n"
    "  requested_at INTEGER,\n"
    "  updated_at   INTEGER NOT NULL,\n"
    "  PRIMARY KEY (eid, key_index),\n"
    "  CHECK (state <> 'requested' OR (request_id IS NOT NULL AND requested_at IS NOT NULL))\n"
    ") WITHOUT ROWID",
    "INSERT INTO one_time_key_v2(eid, key_index, otpk, signature, state, updated_at) "
    "SELECT eid, key_index, otpk, signature, state, updated_at FROM one_time_key",
    "DROP TABLE one_time_key",
    "ALTER TABLE one_time_key_v2 RENAME TO one_time_key",
    "CREATE UNIQUE INDEX otk_one_requested ON one_time_key(eid) WHERE state = 'requested'",
    "CREATE INDEX bpp_failures ON bpp(updated_at) WHERE state IN ('failed', 'dead')",
    NULL,
};

/*
 * Schema 3: counts per bundle and state kept by triggers. The engine refreshes the bundle
 * tiles after every job and status/UI read them on every poll; counting through the
 * bpp_bundle_state index costs O(BPPs in the store), ~21 ms at 2*10^5 and ~100 ms at 10^6 BPPs,
 * which with 16 workers refreshing would take a core. The triggers make it O(bundles), at the
 * price of one more small row written per transition (usually on a page already dirty).
 * store_check() compares the counts with a recount.
 */
static const char *const schema_v3[] = {
    "CREATE TABLE bundle_count (\n"
    "  bundle_id INTEGER NOT NULL REFERENCES bundle(id),\n"
    "  state     TEXT NOT NULL\n"
    "            CHECK (state IN ('pending', 'loading', 'installed', 'failed', 'dead')),\n"
    "  n         INTEGER NOT NULL CHECK (n >= 0),\n"
    "  PRIMARY KEY (bundle_id, state)\n"
    ") WITHOUT ROWID",
    "INSERT INTO bundle_count(bundle_id, state, n) "
    "SELECT bundle_id, state, count(*) FROM bpp GROUP BY bundle_id, state",
    "CREATE TRIGGER bpp_count_insert AFTER INSERT ON bpp BEGIN\n"
    "  INSERT INTO bundle_count(bundle_id, state, n) VALUES (NEW.bundle_id, NEW.state, 1)\n"
    "    ON CONFLICT(bundle_id, state) DO UPDATE SET n = n + 1;\n"
    "END",
    "CREATE TRIGGER bpp_count_update AFTER UPDATE OF state, bundle_id ON bpp\n"
    "WHEN OLD.state IS NOT NEW.state OR OLD.bundle_id IS NOT NEW.bundle_id BEGIN\n"
    "  UPDATE bundle_count SET n = n - 1 WHERE bundle_id = OLD.bundle_id AND state = OLD.state;\n"
    "  INSERT INTO bundle_count(bundle_id, state, n) VALUES (NEW.bundle_id, NEW.state, 1)\n"
    "    ON CONFLICT(bundle_id, state) DO UPDATE SET n = n + 1;\n"
    "END",
    "CREATE TRIGGER bpp_count_delete AFTER DELETE ON bpp BEGIN\n"
    "  UPDATE bundle_count SET n = n - 1 WHERE bundle_id = OLD.bundle_id AND state = OLD.state;\n"
    "END",
    NULL,
};

static const migration_t migrations[] = {
    {1, schema_v1},
    {2, schema_v2},
    {3, schema_v3},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* Applies one step unless another connection did it first. */
static st_t apply_step(store_t *s, const migration_t *m) {
    char bump[48];
    int version = 0;
    st_t st;

    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = store_user_version(s, &version);
    if (st != ST_OK || version >= m->version)
        goto out;
    st_log(ST_LOG_INFO, "store: migrating schema %d -> %d", version, m->version);
    for (const char *const *sql = m->sql; *sql && st == ST_OK; sql++)
        st = store_exec(s, *sql);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "store: migration to schema %d failed", m->version);
        goto out;
    }
    snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", m->version);
    st = store_exec(s, bump);
out:
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

st_t store_migrate(store_t *s) {
    return store_migrate_to(s, STORE_SCHEMA_VERSION);
}

st_t store_migrate_to(store_t *s, int target) {
    int version = 0;
    st_t st = store_user_version(s, &version);

    if (st != ST_OK)
        return st;
    if (version > STORE_SCHEMA_VERSION) {
        st_log(ST_LOG_ERR, "store: database schema %d is newer than this station's (%d)", version,
               STORE_SCHEMA_VERSION);
        return ST_E_DB_VERSION;
    }
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version <= version)
            continue;
        if (migrations[i].version > target)
            break;
        st = apply_step(s, &migrations[i]);
        if (st != ST_OK)
            return st;
    }
    return ST_OK;
}
