/*
 * db.c - opening and closing the store: connection flags, pragmas, transactions, and the one
 * SQLite -> st_t mapping (style anchors §7 and items 20-23: pkg and fossil, minus their
 * globals and synchronous=NORMAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "store_internal.h"

/* 'IFPP' in PRAGMA application_id: a database of another application is refused. */
#define STORE_APPLICATION_ID 0x49465050

st_t st_from_sqlite(int rc, sqlite3 *db) {
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    st_log_level_t level = ST_LOG_WARN;
    st_t st;

    /* `rc` may be primary or extended (SQLITE_OPEN_EXRESCODE): prefer the extended one. */
    if ((rc & 0xff) == (ext & 0xff))
        rc = ext;
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return ST_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        st = ST_E_DB_BUSY;
        level = ST_LOG_DEBUG;
        break;
    case SQLITE_FULL:
        st = ST_E_NOSPACE;
        level = ST_LOG_ERR;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        st = ST_E_DB_CORRUPT;
        level = ST_LOG_ERR;
        break;
    case SQLITE_NOMEM:
        st = ST_E_NOMEM;
        break;
    case SQLITE_IOERR:
        st = ST_E_IO;
        level = ST_LOG_ERR;
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        st = ST_E_PERM;
        break;
    case SQLITE_TOOBIG:
        st = ST_E_TOO_LARGE;
        break;
    case SQLITE_CONSTRAINT:
        /* Expected in import paths (duplicates are answered by the caller): debug only. */
        level = ST_LOG_DEBUG;
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            st = ST_E_CONFLICT;
            break;
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
            st = ST_E_INVAL;
            break;
        case SQLITE_CONSTRAINT_TRIGGER: /* RAISE(ABORT) of the append-only audit triggers */
            st = ST_E_PERM;
            level = ST_LOG_WARN;
            break;
        default:
            st = ST_E_DB;
            level = ST_LOG_WARN;
            break;
        }
        break;
    default:
        st = ST_E_DB;
        break;
    }
    st_log(level, "sqlite: %s (extended code %d)", msg ? msg : "?", rc);
    return st;
}

sqlite3 *store_db(store_t *s) {
    return s ? s->db : NULL;
}

int64_t store_now(void) {
    return (int64_t)time(NULL);
}

st_t store_exec(store_t *s, const char *sql) {
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    sqlite3_free(err); /* errmsg of the handle carries the same text for the log */
    if (rc != SQLITE_OK)
        return st_from_sqlite(rc, s->db);
    return ST_OK;
}

/* Reads the single value of a pragma (or any one-row query) as text into out. */
static st_t query_text(store_t *s, const char *sql, char *out, size_t cap) {
    sqlite3_stmt *q = NULL;
    int rc;
    st_t st = ST_OK;

    out[0] = '\0';
    rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return st_from_sqlite(rc, s->db);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        snprintf(out, cap, "%s", t ? (const char *)t : "");
    } else if (rc != SQLITE_DONE) {
        st = st_from_sqlite(rc, s->db);
    }
    sqlite3_finalize(q);
    return st;
}

static st_t query_int(store_t *s, const char *sql, int *out) {
    char v[32];
    st_t st = query_text(s, sql, v, sizeof(v));
    if (st == ST_OK)
        *out = atoi(v);
    return st;
}

st_t store_user_version(store_t *s, int *version) {
    return query_int(s, "PRAGMA user_version", version);
}

/*
 * Per-connection settings. WAL lets readers run beside the writer; synchronous=FULL makes
 * every commit durable (a provisioning record must survive power loss); foreign_keys is off
 * by default in SQLite and silently ignored inside a transaction, so check it took.
 * temp_store=MEMORY keeps statement and savepoint journals off disk: with the default, a
 * bundle import (one savepoint per BPP) cost ~12 pwrite()s per BPP to temp files, and ran at
 * a third of the speed (tests/bench/store_bench). secure_delete stays off: the store holds no
 * secret (BPPs are encrypted for their one card, GENS09/10), and it would double the writes.
 */
static st_t apply_pragmas(store_t *s) {
    char v[32];
    int n = 0;
    st_t st;

    if (!s->readonly) {
        st = query_text(s, "PRAGMA journal_mode=WAL", v, sizeof(v));
        if (st != ST_OK)
            return st;
        if (strcmp(v, "wal") != 0) {
            st_log(ST_LOG_ERR, "store: journal_mode is '%s', WAL required", v);
            return ST_E_DB;
        }
    }
    st = store_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY");
    if (st == ST_OK)
        st = query_int(s, "PRAGMA foreign_keys", &n);
    if (st != ST_OK)
        return st;
    if (n != 1) {
        st_log(ST_LOG_ERR, "store: foreign keys cannot be enabled (SQLite built without them?)");
        return ST_E_DB;
    }
    return ST_OK;
}

/*
 * A database is ours when it carries our application_id, or is brand new (no schema at all).
 * Anything else (another program's SQLite file) is refused before a migration touches it.
 */
static st_t check_ownership(store_t *s) {
    int app = 0, objects = 0;
    st_t st = query_int(s, "PRAGMA application_id", &app);
    if (st == ST_OK)
        st = query_int(s, "SELECT count(*) FROM sqlite_schema", &objects);
    if (st != ST_OK)
        return st;
    if (app == STORE_APPLICATION_ID || (app == 0 && objects == 0))
        return ST_OK;
    st_log(ST_LOG_ERR, "store: not an ifpp-station database (application_id %#x)", (unsigned)app);
    return ST_E_DB;
}

/*
 * SQLite creates database files 0644 & ~umask; this one holds eUICC data and reports, so it
 * is created 0600 here first (O_EXCL: an existing file is left alone). The -wal and -shm
 * files inherit the database file's mode.
 */
static st_t precreate(const char *path) {
    struct stat sb;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return ST_OK;
    }
    if (errno != EEXIST) {
        int e = errno;
        st_log(ST_LOG_ERR, "store: cannot create %s: %s", path, strerror(e));
        return st_from_errno(e);
    }
    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
        st_log(ST_LOG_WARN, "store: %s is accessible by group/others (mode %03o)", path,
               (unsigned)(sb.st_mode & 0777));
    return ST_OK;
}

/* store_open, migrating a read-write handle to schema `target`. */
static st_t open_at(const char *path, unsigned flags, int target, store_t **out) {
    store_t *s = NULL;
    int oflags, rc, version = 0;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    if (!path || !*path)
        return ST_E_INVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ST_E_NOMEM;
    s->readonly = (flags & STORE_OPEN_READONLY) != 0;

    if (s->readonly) {
        struct stat sb;
        if (stat(path, &sb) != 0) {
            st = st_from_errno(errno);
            goto out;
        }
        oflags = SQLITE_OPEN_READONLY;
    } else {
        st = precreate(path);
        if (st != ST_OK)
            goto out;
        oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    }
    oflags |= SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
    rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        st = st_from_sqlite(rc, s->db);
        goto out;
    }
    sqlite3_busy_timeout(s->db, STORE_DEFAULT_BUSY_TIMEOUT_MS);
    /* Defensive: no writable_schema tricks, no shadow-table writes through this handle;
     * untrusted schema: functions in views/triggers must be innocuous. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

    st = check_ownership(s);
    if (st == ST_OK)
        st = apply_pragmas(s);
    if (st != ST_OK)
        goto out;
    if (s->readonly) {
        st = store_user_version(s, &version);
        if (st != ST_OK)
            goto out;
        if (version != STORE_SCHEMA_VERSION) {
            st_log(ST_LOG_ERR, "store: %s has schema version %d, this station reads %d%s", path,
                   version, STORE_SCHEMA_VERSION,
                   version < STORE_SCHEMA_VERSION ? " (open it read-write once to migrate)" : "");
            st = ST_E_DB_VERSION;
            goto out;
        }
    } else {
        st = store_migrate_to(s, target);
        if (st != ST_OK)
            goto out;
    }
    *out = s;
    s = NULL;
out:
    if (st != ST_OK)
        st_log(ST_LOG_DEBUG, "store: open %s: %s", path, st_str(st));
    store_close(s);
    return st;
}

st_t store_open(const char *path, unsigned flags, store_t **out) {
    return open_at(path, flags, STORE_SCHEMA_VERSION, out);
}

st_t store_open_version(const char *path, int version, store_t **out) {
    if (version < 1 || version > STORE_SCHEMA_VERSION) {
        if (out)
            *out = NULL;
        return ST_E_INVAL;
    }
    return open_at(path, 0, version, out);
}

/* The outermost transaction ended (committed, rolled back, or rolled back by SQLite). */
static void tx_outer_done(store_t *s) {
    s->tx_depth = 0;
    if (s->write_mutex)
        pthread_mutex_unlock(s->write_mutex);
}

void store_close(store_t *s) {
    int rc;

    if (!s)
        return;
    if (s->db && s->tx_depth > 0) {
        st_log(ST_LOG_WARN, "store: closing with an open transaction: rolled back");
        if (!sqlite3_get_autocommit(s->db))
            (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        tx_outer_done(s);
    }
    for (int i = 0; i < STMT__COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db && !s->readonly) {
        /* TRUNCATE waits for readers through the busy handler: do not hang a shutdown on a
         * status command that is reading; the last connection to close checkpoints anyway. */
        sqlite3_busy_timeout(s->db, 200);
        rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc != SQLITE_OK)
            st_log(ST_LOG_DEBUG, "store: checkpoint at close: %s", sqlite3_errmsg(s->db));
    }
    if (s->db) {
        rc = sqlite3_close(s->db);
        if (rc != SQLITE_OK)
            st_log(ST_LOG_ERR, "store: close: %s", sqlite3_errstr(rc));
    }
    free(s);
}

st_t store_set_busy_timeout(store_t *s, int ms) {
    int rc;
    if (!s || ms < 0)
        return ST_E_INVAL;
    rc = sqlite3_busy_timeout(s->db, ms);
    return rc == SQLITE_OK ? ST_OK : st_from_sqlite(rc, s->db);
}

void store_set_write_mutex(store_t *s, pthread_mutex_t *m) {
    if (s && s->tx_depth == 0)
        s->write_mutex = m;
}

/* Steps one cached transaction-control statement. */
static st_t tx_stmt(store_t *s, stmt_id_t id, const char *sql) {
    sqlite3_stmt *q = NULL;
    st_t st = stmt_get(s, id, sql, &q);
    if (st == ST_OK)
        st = stmt_exec(s, q);
    stmt_put(q);
    return st;
}

/*
 * Transactions nest: the outermost level is BEGIN IMMEDIATE (the write lock is taken up front,
 * so nothing fails later with BUSY halfway through), inner levels are savepoints that all
 * carry the name "sp" (RELEASE/ROLLBACK TO act on the innermost one of that name), which keeps
 * the control statements cacheable: a bundle import runs one savepoint per BPP.
 */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_sp_begin[] = "SAVEPOINT sp";
static const char sql_sp_release[] = "RELEASE sp";
static const char sql_sp_rollback[] = "ROLLBACK TO sp";

st_t store_tx_begin(store_t *s) {
    st_t st;

    if (!s)
        return ST_E_INVAL;
    if (s->readonly)
        return ST_E_PERM;
    if (s->tx_depth > 0 && sqlite3_get_autocommit(s->db)) {
        st_log(ST_LOG_WARN, "store: the enclosing transaction was rolled back by SQLite");
        return ST_E_DB;
    }
    if (s->tx_depth == 0) {
        if (s->write_mutex)
            pthread_mutex_lock(s->write_mutex);
        st = tx_stmt(s, STMT_TX_BEGIN, sql_begin);
        if (st != ST_OK && s->write_mutex)
            pthread_mutex_unlock(s->write_mutex);
    } else {
        st = tx_stmt(s, STMT_SP_BEGIN, sql_sp_begin);
    }
    if (st == ST_OK)
        s->tx_depth++;
    return st;
}

st_t store_tx_commit(store_t *s) {
    st_t st;

    if (!s || s->tx_depth == 0)
        return ST_E_INTERNAL;
    if (sqlite3_get_autocommit(s->db)) {
        /* SQLite rolled the whole transaction back on its own (FULL, IOERR, NOMEM...). */
        st_log(ST_LOG_WARN, "store: commit of a transaction SQLite already rolled back");
        if (--s->tx_depth == 0)
            tx_outer_done(s);
        return ST_E_DB;
    }
    if (s->tx_depth > 1) {
        st = tx_stmt(s, STMT_SP_RELEASE, sql_sp_release);
        s->tx_depth--;
        return st;
    }
    st = tx_stmt(s, STMT_TX_COMMIT, sql_commit);
    if (st != ST_OK && !sqlite3_get_autocommit(s->db))
        (void)tx_stmt(s, STMT_TX_ROLLBACK, sql_rollback);
    tx_outer_done(s);
    return st;
}

void store_tx_rollback(store_t *s) {
    if (!s || s->tx_depth == 0)
        return;
    if (sqlite3_get_autocommit(s->db)) {
        /* already rolled back by SQLite */
        if (--s->tx_depth == 0)
            tx_outer_done(s);
        return;
    }
    if (s->tx_depth == 1) {
        (void)tx_stmt(s, STMT_TX_ROLLBACK, sql_rollback);
        tx_outer_done(s);
        return;
    }
    (void)tx_stmt(s, STMT_SP_ROLLBACK, sql_sp_rollback);
    (void)tx_stmt(s, STMT_SP_RELEASE, sql_sp_release);
    s->tx_depth--;
}

/* Logs each row of a check pragma; *bad counts them. */
static st_t run_check(store_t *s, const char *sql, bool ok_row_expected, int *bad) {
    sqlite3_stmt *q = NULL;
    int rc;
    st_t st = ST_OK;

    rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return st_from_sqlite(rc, s->db);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        const char *r = ok_row_expected ? NULL : (const char *)sqlite3_column_text(q, 1);
        if (ok_row_expected && t && strcmp(t, "ok") == 0)
            continue;
        (*bad)++;
        st_log(ST_LOG_ERR, "store: %s: %s%s%s", sql, t ? t : "?", r ? " row " : "", r ? r : "");
    }
    if (rc != SQLITE_DONE)
        st = st_from_sqlite(rc, s->db);
    sqlite3_finalize(q);
    return st;
}

/* The trigger-kept counts per bundle and state (schema 3) against a recount: one row each
 * mismatch. */
static const char sql_count_check[] =
    "WITH r AS (SELECT bundle_id, state, count(*) AS n FROM bpp GROUP BY bundle_id, state) "
    "SELECT 'bundle_count', printf('bundle %d %s: kept %d, counted %d', k.bundle_id, k.state, "
    "k.n, coalesce(r.n, 0)) FROM bundle_count k LEFT JOIN r USING (bundle_id, state) "
    "WHERE k.n <> coalesce(r.n, 0) "
    "UNION ALL "
    "SELECT 'bundle_count', printf('bundle %d %s: not kept, counted %d', r.bundle_id, r.state, "
    "r.n) "
    "FROM r WHERE NOT EXISTS (SELECT 1 FROM bundle_count k "
    "WHERE k.bundle_id = r.bundle_id AND k.state = r.state)";

st_t store_check(store_t *s) {
    int bad = 0;
    st_t st;

    if (!s)
        return ST_E_INVAL;
    st = run_check(s, "PRAGMA integrity_check", true, &bad);
    if (st == ST_OK)
        st = run_check(s, "PRAGMA foreign_key_check", false, &bad);
    if (st == ST_OK)
        st = run_check(s, sql_count_check, false, &bad);
    if (st != ST_OK)
        return st;
    return bad ? ST_E_DB_CORRUPT : ST_OK;
}
