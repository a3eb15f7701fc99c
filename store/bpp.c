/*
 * bpp.c - the BPP state machine (DESIGN §8) and the engine's BPP queries.
 *
 * Transition table (also in store.h); anything not marked is ST_E_STATE:
 *
 *   from \ to    pending  loading  installed  failed  dead
 *   pending         -        x         -         -      -
 *   loading         x        -         x         x      x
 *   installed       -        -         -         -      -     final
 *   failed          -        x         -         -      x
 *   dead            -        -         -         -      -     final
 *
 * loading -> pending is recovery's verdict "the card never got it"; failed -> loading is a
 * retry. Each transition is one BEGIN IMMEDIATE transaction whose UPDATE carries
 * "WHERE state = from": with several connections (one per worker) exactly one wins.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store_internal.h"

static const char *const bpp_state_names[STORE_BPP__COUNT] = {
    [STORE_BPP_PENDING] = "pending",     [STORE_BPP_LOADING] = "loading",
    [STORE_BPP_INSTALLED] = "installed", [STORE_BPP_FAILED] = "failed",
    [STORE_BPP_DEAD] = "dead",
};

static const bool bpp_legal[STORE_BPP__COUNT][STORE_BPP__COUNT] = {
    [STORE_BPP_PENDING] = {[STORE_BPP_LOADING] = true},
    [STORE_BPP_LOADING] = {[STORE_BPP_PENDING] = true,
                           [STORE_BPP_INSTALLED] = true,
                           [STORE_BPP_FAILED] = true,
                           [STORE_BPP_DEAD] = true},
    [STORE_BPP_FAILED] = {[STORE_BPP_LOADING] = true, [STORE_BPP_DEAD] = true},
};

static const char *const outcome_names[] = {
    [STORE_OUTCOME_INSTALLED] = "installed",
    [STORE_OUTCOME_FAILED] = "failed",
    [STORE_OUTCOME_INTERRUPTED] = "interrupted",
};

const char *store_bpp_state_name(store_bpp_state_t st) {
    if ((unsigned)st >= STORE_BPP__COUNT)
        return "?";
    return bpp_state_names[st];
}

bool store_bpp_transition_legal(store_bpp_state_t from, store_bpp_state_t to) {
    if ((unsigned)from >= STORE_BPP__COUNT || (unsigned)to >= STORE_BPP__COUNT)
        return false;
    return bpp_legal[from][to];
}

st_t bpp_state_parse(const char *name, store_bpp_state_t *out) {
    for (unsigned i = 0; name && i < STORE_BPP__COUNT; i++) {
        if (strcmp(name, bpp_state_names[i]) == 0) {
            *out = (store_bpp_state_t)i;
            return ST_OK;
        }
    }
    st_log(ST_LOG_ERR, "store: unknown BPP state '%s'", name ? name : "(null)");
    return ST_E_DB_CORRUPT;
}

/* ---- reading rows ---- */

/* Columns read by bpp_from_row, in this order; then the FROM clause. CROSS JOIN fixes the
 * join order (SQLite never reorders it): the bpp index drives, bundle and smdpf are primary
 * key lookups. Without it the planner may start from the small smdpf table. */
#define BPP_COLS                                                                                   \
    "b.id, b.bundle_id, bu.bundle_id, b.seq, s.oid, b.eid, b.key_index, b.tid, b.iccid, "          \
    "b.profile_type, b.bpp_len, b.state, b.retries, b.last_error, b.updated_at"
#define BPP_NCOLS 15
#define BPP_FROM                                                                                   \
    " FROM bpp b CROSS JOIN bundle bu ON bu.id = b.bundle_id "                                     \
    "CROSS JOIN smdpf s ON s.id = b.smdpf_id "

static st_t bpp_from_row(sqlite3_stmt *q, store_bpp_t *b) {
    st_t st;

    memset(b, 0, sizeof(*b));
    b->id = sqlite3_column_int64(q, 0);
    b->bundle_rowid = sqlite3_column_int64(q, 1);
    st = col_blob_exact(q, 2, b->bundle_id, STORE_ID_LEN);
    if (st != ST_OK)
        return st;
    b->seq = (uint32_t)sqlite3_column_int64(q, 3);
    col_text(q, 4, b->smdpf_oid, sizeof(b->smdpf_oid));
    st = col_blob_exact(q, 5, b->eid, STORE_EID_LEN);
    if (st != ST_OK)
        return st;
    b->key_index = (uint32_t)sqlite3_column_int64(q, 6);
    st = col_blob_max(q, 7, b->tid, STORE_TID_MAX, &b->tid_len);
    if (st == ST_OK)
        st = col_blob_exact(q, 8, b->iccid, STORE_ICCID_LEN);
    if (st != ST_OK)
        return st;
    col_text(q, 9, b->profile_type, sizeof(b->profile_type));
    b->bpp_len = (size_t)sqlite3_column_int64(q, 10);
    st = bpp_state_parse((const char *)sqlite3_column_text(q, 11), &b->state);
    if (st != ST_OK)
        return st;
    b->retries = (uint32_t)sqlite3_column_int64(q, 12);
    col_text(q, 13, b->last_error, sizeof(b->last_error));
    b->updated_at = sqlite3_column_int64(q, 14);
    return ST_OK;
}

static const char sql_bpp_get[] = "SELECT " BPP_COLS BPP_FROM "WHERE b.id = ?1";
static const char sql_bpp_blob[] = "SELECT bf36 FROM bpp_blob WHERE bpp_id = ?1";
static const char sql_bpp_pending[] =
    "SELECT " BPP_COLS BPP_FROM "WHERE b.eid = ?1 AND b.state = 'pending' "
    "AND s.allowed = 1 ORDER BY b.id";
static const char sql_bpp_pending_failed[] =
    "SELECT " BPP_COLS BPP_FROM "WHERE b.eid = ?1 AND b.state IN ('pending', 'failed') "
    "AND s.allowed = 1 ORDER BY b.id";
static const char sql_bpp_loading[] =
    "SELECT " BPP_COLS ", a.id, a.reader, a.started_at" BPP_FROM
    "LEFT JOIN attempt a ON a.bpp_id = b.id AND a.ended_at IS NULL "
    "WHERE b.state = 'loading' ORDER BY b.id";

st_t store_bpp_get(store_t *s, int64_t bpp_id, store_bpp_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    st = stmt_get(s, STMT_BPP_GET, sql_bpp_get, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(bpp_id));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK)
        st = bpp_from_row(q, out);
    stmt_put(q);
    return st;
}

st_t store_bpp_blob(store_t *s, int64_t bpp_id, buf_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    st = stmt_get(s, STMT_BPP_BLOB, sql_bpp_blob, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(bpp_id));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK)
        st = col_blob_buf(q, 0, out);
    stmt_put(q);
    return st;
}

void store_bpp_list_free(store_bpp_list_t *l) {
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static st_t row_bpp(sqlite3_stmt *q, void *elem, void *ud) {
    (void)ud;
    return bpp_from_row(q, elem);
}

st_t store_bpp_pending(store_t *s, const uint8_t eid[STORE_EID_LEN], bool with_failed,
                       store_bpp_list_t *out) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s || !eid || !out)
        return ST_E_INVAL;
    store_bpp_list_free(out);
    if (with_failed)
        st = stmt_get(s, STMT_BPP_PENDING_FAILED, sql_bpp_pending_failed, &q);
    else
        st = stmt_get(s, STMT_BPP_PENDING, sql_bpp_pending, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_B(eid, STORE_EID_LEN));
    if (st == ST_OK)
        st = stmt_collect(s, q, sizeof(*out->v), row_bpp, NULL, (void **)&out->v, &out->n);
    stmt_put(q);
    return st;
}

void store_loading_list_free(store_loading_list_t *l) {
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static st_t row_loading(sqlite3_stmt *q, void *elem, void *ud) {
    store_loading_t *e = elem;
    (void)ud;
    e->attempt_id = sqlite3_column_int64(q, BPP_NCOLS);
    col_text(q, BPP_NCOLS + 1, e->reader, sizeof(e->reader));
    e->started_at = sqlite3_column_int64(q, BPP_NCOLS + 2);
    return bpp_from_row(q, &e->bpp);
}

st_t store_bpp_loading(store_t *s, store_loading_list_t *out) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    store_loading_list_free(out);
    st = stmt_get(s, STMT_BPP_LOADING, sql_bpp_loading, &q);
    if (st == ST_OK)
        st = stmt_collect(s, q, sizeof(*out->v), row_loading, NULL, (void **)&out->v, &out->n);
    stmt_put(q);
    return st;
}

/* ---- transitions ---- */

static const char sql_bpp_cas[] =
    "UPDATE bpp SET state = ?3, updated_at = ?4, retries = retries + ?5, "
    "last_error = coalesce(?6, last_error) WHERE id = ?1 AND state = ?2";
static const char sql_bpp_state[] = "SELECT state FROM bpp WHERE id = ?1";
static const char sql_attempt_open[] = "INSERT INTO attempt(bpp_id, reader, operator, started_at) "
                                       "VALUES (?1, ?2, coalesce(?3, ''), ?4)";
static const char sql_attempt_close[] =
    "UPDATE attempt SET ended_at = ?2, outcome = ?3, apdus = ?4, bytes = ?5, "
    "duration_ms = ?6, bpp_command_id = ?7, error_reason = ?8, fpa_error_code = ?9, "
    "text = ?10, pir = ?11 WHERE bpp_id = ?1 AND ended_at IS NULL";
static const char sql_result_installed[] =
    "INSERT INTO result(bpp_id, smdpf_id, kind, pir, verified, at) "
    "SELECT id, smdpf_id, 'installed', ?2, ?3, ?4 FROM bpp WHERE id = ?1";
/* A dead BPP's result carries the last BF37 and FPA error code the card gave, unless the
 * caller brings them. */
static const char sql_result_dead[] =
    "INSERT INTO result(bpp_id, smdpf_id, kind, pir, verified, fpa_error_code, text, at) "
    "SELECT b.id, b.smdpf_id, 'failed', "
    "coalesce(?2, (SELECT a.pir FROM attempt a WHERE a.bpp_id = b.id AND a.pir IS NOT NULL "
    "ORDER BY a.id DESC LIMIT 1)), 0, "
    "coalesce(?3, (SELECT a.fpa_error_code FROM attempt a WHERE a.bpp_id = b.id "
    "AND a.fpa_error_code IS NOT NULL ORDER BY a.id DESC LIMIT 1)), "
    "b.last_error, ?4 FROM bpp b WHERE b.id = ?1";
static const char sql_otk_consume[] =
    "UPDATE one_time_key SET state = 'consumed', updated_at = ?2 "
    "WHERE (eid, key_index) = (SELECT eid, key_index FROM bpp WHERE id = ?1)";

/* Why a CAS matched no row: the BPP is unknown, or it is not in `from` any more. */
static st_t cas_miss(store_t *s, int64_t bpp_id, store_bpp_state_t from) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    char now[16] = "";
    st_t st = stmt_get(s, STMT_BPP_STATE, sql_bpp_state, &q);

    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(bpp_id));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && row)
        col_text(q, 0, now, sizeof(now));
    stmt_put(q);
    if (st != ST_OK)
        return st;
    if (!row)
        return ST_E_NOENT;
    st_log(ST_LOG_DEBUG, "store: BPP %" PRId64 " is %s, not %s", bpp_id, now,
           store_bpp_state_name(from));
    return ST_E_STATE;
}

static st_t check_change(store_bpp_state_t to, const store_change_t *ch) {
    st_t st = ST_OK;

    if (to == STORE_BPP_LOADING && (!ch || !ch->reader || !*ch->reader)) {
        st_log(ST_LOG_DEBUG, "store: -> loading needs the reader");
        return ST_E_INVAL;
    }
    if (to == STORE_BPP_INSTALLED && (!ch || !ch->pir || ch->pir_len == 0)) {
        st_log(ST_LOG_DEBUG, "store: -> installed needs the PIR");
        return ST_E_INVAL;
    }
    if (!ch)
        return ST_OK;
    if ((unsigned)ch->outcome > STORE_OUTCOME_INTERRUPTED || (ch->pir_len && !ch->pir)
        || ch->duration_ms < 0 || ch->bytes > INT64_MAX)
        return ST_E_INVAL;
    st = check_text("actor", ch->actor, STORE_NAME_MAX, false);
    if (st == ST_OK)
        st = check_text("error text", ch->error, STORE_TEXT_MAX, false);
    if (st == ST_OK)
        st = check_text("reader", ch->reader, STORE_NAME_MAX, false);
    if (st == ST_OK)
        st = check_text("operator", ch->op, STORE_NAME_MAX, false);
    return st;
}

static store_outcome_t derive_outcome(store_bpp_state_t to, const store_change_t *ch) {
    if (ch && ch->outcome != STORE_OUTCOME_AUTO)
        return ch->outcome;
    if (to == STORE_BPP_INSTALLED)
        return STORE_OUTCOME_INSTALLED;
    if (to == STORE_BPP_PENDING)
        return STORE_OUTCOME_INTERRUPTED;
    return STORE_OUTCOME_FAILED;
}

/* An int field where -1 means "none": SQL NULL. */
static sqlarg_t opt_int(int v) {
    return v < 0 ? SA_N : SA_I(v);
}

st_t store_bpp_transition(store_t *s, int64_t bpp_id, store_bpp_state_t from, store_bpp_state_t to,
                          const store_change_t *ch) {
    static const store_change_t none = STORE_CHANGE_INIT;
    int64_t now = store_now();
    st_t st;

    if (!s)
        return ST_E_INVAL;
    if (!store_bpp_transition_legal(from, to)) {
        st_log(ST_LOG_DEBUG, "store: BPP %" PRId64 ": %s -> %s is not a transition", bpp_id,
               store_bpp_state_name(from), store_bpp_state_name(to));
        return ST_E_STATE;
    }
    st = check_change(to, ch);
    if (st != ST_OK)
        return st;
    if (!ch)
        ch = &none;
    if (ch->attempt_id)
        *ch->attempt_id = 0;

    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;

    /* Compare-and-set: the UPDATE matches only while the row is still in `from`. */
    st = STMT_RUN(s, STMT_BPP_CAS, sql_bpp_cas, SA_I(bpp_id), SA_T(bpp_state_names[from]),
                  SA_T(bpp_state_names[to]), SA_I(now),
                  SA_I(from == STORE_BPP_FAILED && to == STORE_BPP_LOADING), SA_T(ch->error));
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = cas_miss(s, bpp_id, from);
    if (st != ST_OK)
        goto out;

    if (from == STORE_BPP_LOADING) {
        st = STMT_RUN(s, STMT_ATTEMPT_CLOSE, sql_attempt_close, SA_I(bpp_id), SA_I(now),
                      SA_T(outcome_names[derive_outcome(to, ch)]), SA_I(ch->apdus), SA_I(ch->bytes),
                      SA_I(ch->duration_ms), opt_int(ch->bpp_command_id), opt_int(ch->error_reason),
                      opt_int(ch->fpa_error_code), SA_T(ch->error), SA_B(ch->pir, ch->pir_len));
        if (st == ST_OK && sqlite3_changes(s->db) != 1)
            st_log(ST_LOG_WARN, "store: BPP %" PRId64 " left loading without an open attempt",
                   bpp_id);
    }
    if (st == ST_OK && to == STORE_BPP_LOADING) {
        st = STMT_RUN(s, STMT_ATTEMPT_OPEN, sql_attempt_open, SA_I(bpp_id), SA_T(ch->reader),
                      SA_T(ch->op), SA_I(now));
        if (st == ST_OK && ch->attempt_id)
            *ch->attempt_id = sqlite3_last_insert_rowid(s->db);
    }
    if (st == ST_OK && to == STORE_BPP_INSTALLED) {
        st = STMT_RUN(s, STMT_RESULT_INSTALLED, sql_result_installed, SA_I(bpp_id),
                      SA_B(ch->pir, ch->pir_len), SA_I(ch->pir_verified), SA_I(now));
        if (st == ST_OK) /* the card erased the one-time private key (GENS08) */
            st = STMT_RUN(s, STMT_OTK_CONSUME, sql_otk_consume, SA_I(bpp_id), SA_I(now));
    }
    if (st == ST_OK && to == STORE_BPP_DEAD)
        st = STMT_RUN(s, STMT_RESULT_DEAD, sql_result_dead, SA_I(bpp_id),
                      SA_B(ch->pir, ch->pir_len), opt_int(ch->fpa_error_code), SA_I(now));
    if (st == ST_OK && ch->actor) {
        char object[32];
        snprintf(object, sizeof(object), "bpp:%" PRId64, bpp_id);
        st = audit_append_locked(s, ch->actor, "bpp.state", object, bpp_state_names[from],
                                 bpp_state_names[to], ch->error);
    }
out:
    if (st != ST_OK) {
        store_tx_rollback(s);
        if (ch->attempt_id)
            *ch->attempt_id = 0;
        return st;
    }
    st = store_tx_commit(s);
    if (st != ST_OK && ch->attempt_id)
        *ch->attempt_id = 0;
    return st;
}

/* ---- status: last failures, attempts per reader ---- */

/* bpp_failures (partial index on updated_at) drives; bpp.id breaks ties of one second. */
static const char sql_bpp_failures[] =
    "SELECT " BPP_COLS ", (SELECT a.reader FROM attempt a WHERE a.bpp_id = b.id "
    "ORDER BY a.id DESC LIMIT 1), (SELECT a.fpa_error_code FROM attempt a "
    "WHERE a.bpp_id = b.id ORDER BY a.id DESC LIMIT 1)" BPP_FROM
    "WHERE b.state IN ('failed', 'dead') ORDER BY b.updated_at DESC, b.id DESC LIMIT ?1";
static const char sql_reader_stats[] =
    "SELECT reader, count(*), coalesce(sum(outcome = 'installed'), 0), "
    "coalesce(sum(outcome = 'failed'), 0), coalesce(sum(outcome = 'interrupted'), 0) "
    "FROM attempt GROUP BY reader ORDER BY reader";

/* ?1 origin, ?2 shift length, ?3 how many: floor division that also holds before the origin */
static const char sql_shift_stats[] =
    "SELECT ((started_at - ?1) - (((started_at - ?1) % ?2) + ?2) % ?2) / ?2 AS k, count(*), "
    "coalesce(sum(outcome = 'installed'), 0), coalesce(sum(outcome = 'failed'), 0), "
    "coalesce(sum(outcome = 'interrupted'), 0) "
    "FROM attempt GROUP BY k ORDER BY k DESC LIMIT ?3";

void store_failure_list_free(store_failure_list_t *l) {
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static st_t row_failure(sqlite3_stmt *q, void *elem, void *ud) {
    store_failure_t *f = elem;
    (void)ud;
    col_text(q, BPP_NCOLS, f->reader, sizeof(f->reader));
    f->fpa_error_code = sqlite3_column_type(q, BPP_NCOLS + 1) == SQLITE_NULL
                            ? -1
                            : sqlite3_column_int(q, BPP_NCOLS + 1);
    return bpp_from_row(q, &f->bpp);
}

st_t store_bpp_failures(store_t *s, size_t max, store_failure_list_t *out) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s || !out || max > INT64_MAX)
        return ST_E_INVAL;
    store_failure_list_free(out);
    st = stmt_get(s, STMT_BPP_FAILURES, sql_bpp_failures, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(max));
    if (st == ST_OK)
        st = stmt_collect(s, q, sizeof(*out->v), row_failure, NULL, (void **)&out->v, &out->n);
    stmt_put(q);
    return st;
}

void store_reader_list_free(store_reader_list_t *l) {
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void store_shift_list_free(store_shift_list_t *l) {
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

typedef struct {
    int64_t origin, len;
} shift_window_t;

static st_t row_shift(sqlite3_stmt *q, void *elem, void *ud) {
    store_shift_stats_t *r = elem;
    const shift_window_t *w = ud;
    r->start = w->origin + sqlite3_column_int64(q, 0) * w->len;
    r->attempts = (uint64_t)sqlite3_column_int64(q, 1);
    r->installed = (uint64_t)sqlite3_column_int64(q, 2);
    r->failed = (uint64_t)sqlite3_column_int64(q, 3);
    r->interrupted = (uint64_t)sqlite3_column_int64(q, 4);
    return ST_OK;
}

st_t store_shift_stats(store_t *s, int64_t origin, int64_t len, size_t max,
                       store_shift_list_t *out) {
    sqlite3_stmt *q = NULL;
    shift_window_t w = {origin, len};
    st_t st;

    if (!s || !out || len <= 0 || max == 0 || max > INT32_MAX)
        return ST_E_INVAL;
    store_shift_list_free(out);
    st = stmt_get(s, STMT_SHIFT_STATS, sql_shift_stats, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(origin), SA_I(len), SA_I(max));
    if (st == ST_OK)
        st = stmt_collect(s, q, sizeof(*out->v), row_shift, &w, (void **)&out->v, &out->n);
    stmt_put(q);
    return st;
}

static st_t row_reader(sqlite3_stmt *q, void *elem, void *ud) {
    store_reader_stats_t *r = elem;
    (void)ud;
    col_text(q, 0, r->reader, sizeof(r->reader));
    r->attempts = (uint64_t)sqlite3_column_int64(q, 1);
    r->installed = (uint64_t)sqlite3_column_int64(q, 2);
    r->failed = (uint64_t)sqlite3_column_int64(q, 3);
    r->interrupted = (uint64_t)sqlite3_column_int64(q, 4);
    return ST_OK;
}

st_t store_reader_stats(store_t *s, store_reader_list_t *out) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    store_reader_list_free(out);
    st = stmt_get(s, STMT_READER_STATS, sql_reader_stats, &q);
    if (st == ST_OK)
        st = stmt_collect(s, q, sizeof(*out->v), row_reader, NULL, (void **)&out->v, &out->n);
    stmt_put(q);
    return st;
}
