/*
 * report.c - results not yet reported, and Profile Loading Reports (ESBPP03) with the
 * results they claimed. A result is claimed by exactly one report of its SM-DPf (the schema's
 * UNIQUE (smdpf_id, result_id) plus two composite keys); a report is re-exported from its
 * claimed results, and one that never reached the disk can be discarded to free them.
 */
#include <stdint.h>
#include <string.h>

#include "base/log.h"
#include "store_internal.h"

#define RES_COLS                                                                                   \
    "r.id, r.bpp_id, r.kind, bu.bundle_id, b.eid, b.tid, b.iccid, r.at, r.fpa_error_code, "        \
    "r.text, r.pir, r.verified"
#define RES_JOIN " CROSS JOIN bpp b ON b.id = r.bpp_id CROSS JOIN bundle bu ON bu.id = b.bundle_id "
#define NOT_REPORTED                                                                               \
    "NOT EXISTS (SELECT 1 FROM report_entry e WHERE e.smdpf_id = r.smdpf_id "                      \
    "AND e.result_id = r.id)"

static const char sql_results_unreported[] =
    "SELECT " RES_COLS " FROM smdpf s CROSS JOIN result r ON r.smdpf_id = s.id" RES_JOIN
    "WHERE s.oid = ?1 AND " NOT_REPORTED " ORDER BY r.id";
static const char sql_results_unreported_count[] =
    "SELECT count(*) FROM smdpf s CROSS JOIN result r ON r.smdpf_id = s.id "
    "WHERE s.oid = ?1 AND " NOT_REPORTED;
static const char sql_report_insert[] =
    "INSERT INTO report(report_id, smdpf_id, file_name, created_at) "
    "SELECT ?1, id, coalesce(?3, ''), ?4 FROM smdpf WHERE oid = ?2";
/* ?2..?3: the window of result times (the whole int64 range for store_report_create). */
static const char sql_report_claim[] =
    "INSERT INTO report_entry(report_id, result_id, smdpf_id) "
    "SELECT p.id, r.id, r.smdpf_id FROM report p CROSS JOIN result r ON r.smdpf_id = p.smdpf_id "
    "WHERE p.id = ?1 AND r.at BETWEEN ?2 AND ?3 AND " NOT_REPORTED;
#define REPORT_SELECT                                                                              \
    "SELECT p.id, p.report_id, s.oid, p.file_name, p.created_at, p.exported_at, "                  \
    "(SELECT count(*) FROM report_entry e WHERE e.report_id = p.id) "                              \
    "FROM report p JOIN smdpf s ON s.id = p.smdpf_id "
static const char sql_report_get[] = REPORT_SELECT "WHERE p.report_id = ?1";
static const char sql_report_get_rowid[] = REPORT_SELECT "WHERE p.id = ?1";
static const char sql_report_results[] =
    "SELECT " RES_COLS " FROM report_entry e CROSS JOIN result r "
    "ON r.id = e.result_id" RES_JOIN "WHERE e.report_id = ?1 ORDER BY r.id";
static const char sql_report_exported[] = "UPDATE report SET exported_at = ?2 WHERE id = ?1";
static const char sql_report_unclaim[] = "DELETE FROM report_entry WHERE report_id = ?1";
static const char sql_report_delete[] = "DELETE FROM report WHERE id = ?1 AND exported_at IS NULL";

static st_t result_from_row(sqlite3_stmt *q, store_result_t *r) {
    const char *kind = (const char *)sqlite3_column_text(q, 2);
    st_t st;

    memset(r, 0, sizeof(*r));
    r->result_id = sqlite3_column_int64(q, 0);
    r->bpp_id = sqlite3_column_int64(q, 1);
    if (kind && strcmp(kind, "installed") == 0) {
        r->kind = STORE_RESULT_INSTALLED;
    } else if (kind && strcmp(kind, "failed") == 0) {
        r->kind = STORE_RESULT_FAILED;
    } else {
        st_log(ST_LOG_ERR, "store: unknown result kind '%s'", kind ? kind : "(null)");
        return ST_E_DB_CORRUPT;
    }
    st = col_blob_exact(q, 3, r->bundle_id, STORE_ID_LEN);
    if (st == ST_OK)
        st = col_blob_exact(q, 4, r->eid, STORE_EID_LEN);
    if (st == ST_OK)
        st = col_blob_max(q, 5, r->tid, STORE_TID_MAX, &r->tid_len);
    if (st == ST_OK)
        st = col_blob_exact(q, 6, r->iccid, STORE_ICCID_LEN);
    if (st != ST_OK)
        return st;
    r->at = sqlite3_column_int64(q, 7);
    r->fpa_error_code = sqlite3_column_type(q, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 8);
    col_text(q, 9, r->text, sizeof(r->text));
    r->pir = sqlite3_column_blob(q, 10);
    r->pir_len = (size_t)sqlite3_column_bytes(q, 10);
    if (!r->pir)
        r->pir_len = 0;
    r->verified = sqlite3_column_int(q, 11) != 0;
    return ST_OK;
}

/* Steps q to the end, handing each result to cb. */
static st_t for_each_result(store_t *s, sqlite3_stmt *q, store_result_cb cb, void *ud) {
    store_result_t r;
    bool row = false;
    st_t st;

    while ((st = stmt_step(s, q, &row)) == ST_OK && row) {
        st = result_from_row(q, &r);
        if (st == ST_OK)
            st = cb(ud, &r);
        if (st != ST_OK)
            break;
    }
    return st;
}

st_t store_results_unreported(store_t *s, const char *oid, store_result_cb cb, void *ud) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s || !cb)
        return ST_E_INVAL;
    st = check_oid(oid);
    if (st == ST_OK)
        st = stmt_get(s, STMT_RESULTS_UNREPORTED, sql_results_unreported, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_T(oid));
    if (st == ST_OK)
        st = for_each_result(s, q, cb, ud);
    stmt_put(q);
    return st;
}

st_t store_results_unreported_count(store_t *s, const char *oid, uint64_t *n) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (!s || !n)
        return ST_E_INVAL;
    *n = 0;
    st = check_oid(oid);
    if (st == ST_OK)
        st = stmt_get(s, STMT_RESULTS_UNREPORTED_COUNT, sql_results_unreported_count, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_T(oid));
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && row)
        *n = (uint64_t)sqlite3_column_int64(q, 0);
    stmt_put(q);
    return st;
}

static st_t report_from_row(sqlite3_stmt *q, store_report_t *r) {
    st_t st;
    memset(r, 0, sizeof(*r));
    r->rowid = sqlite3_column_int64(q, 0);
    st = col_blob_exact(q, 1, r->report_id, STORE_ID_LEN);
    if (st != ST_OK)
        return st;
    col_text(q, 2, r->smdpf_oid, sizeof(r->smdpf_oid));
    col_text(q, 3, r->file_name, sizeof(r->file_name));
    r->created_at = sqlite3_column_int64(q, 4);
    r->exported_at = sqlite3_column_int64(q, 5); /* NULL reads as 0 */
    r->n_entries = (uint64_t)sqlite3_column_int64(q, 6);
    return ST_OK;
}

/* By report id (id != NULL) or by row id. */
static st_t report_get(store_t *s, const uint8_t *id, int64_t rowid, store_report_t *out) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    st_t st;

    if (id) {
        st = stmt_get(s, STMT_REPORT_GET, sql_report_get, &q);
        if (st == ST_OK)
            st = STMT_BIND(s, q, SA_B(id, STORE_ID_LEN));
    } else {
        st = stmt_get(s, STMT_REPORT_GET_ROWID, sql_report_get_rowid, &q);
        if (st == ST_OK)
            st = STMT_BIND(s, q, SA_I(rowid));
    }
    if (st == ST_OK)
        st = stmt_step(s, q, &row);
    if (st == ST_OK && !row)
        st = ST_E_NOENT;
    if (st == ST_OK)
        st = report_from_row(q, out);
    stmt_put(q);
    return st;
}

st_t store_report_get(store_t *s, const uint8_t report_id[STORE_ID_LEN], store_report_t *out) {
    if (!s || !report_id || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    return report_get(s, report_id, 0, out);
}

/* Creates the report and claims the unreported results of `oid` with from <= at <= to. */
static st_t report_create(store_t *s, const uint8_t report_id[STORE_ID_LEN], const char *oid,
                          const char *file_name, int64_t from, int64_t to, store_report_t *out) {
    int64_t rowid = 0;
    st_t st;

    if (!s || !report_id)
        return ST_E_INVAL;
    if (out)
        memset(out, 0, sizeof(*out));
    st = check_oid(oid);
    if (st == ST_OK)
        st = check_text("report file name", file_name, STORE_TEXT_MAX, false);
    if (st != ST_OK)
        return st;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = STMT_RUN(s, STMT_REPORT_INSERT, sql_report_insert, SA_B(report_id, STORE_ID_LEN),
                  SA_T(oid), SA_T(file_name), SA_I(store_now()));
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = ST_E_NOENT; /* unknown SM-DPf */
    if (st != ST_OK)
        goto out;
    rowid = sqlite3_last_insert_rowid(s->db);
    st = STMT_RUN(s, STMT_REPORT_CLAIM, sql_report_claim, SA_I(rowid), SA_I(from), SA_I(to));
    if (st == ST_OK && sqlite3_changes(s->db) == 0)
        st = ST_E_NOENT; /* nothing to report: leave no empty report behind */
    if (st == ST_OK && out)
        st = report_get(s, NULL, rowid, out);
out:
    if (st != ST_OK) {
        store_tx_rollback(s);
        if (out)
            memset(out, 0, sizeof(*out));
        return st;
    }
    return store_tx_commit(s);
}

st_t store_report_create(store_t *s, const uint8_t report_id[STORE_ID_LEN], const char *oid,
                         const char *file_name, store_report_t *out) {
    return report_create(s, report_id, oid, file_name, INT64_MIN, INT64_MAX, out);
}

st_t store_report_create_since(store_t *s, const uint8_t report_id[STORE_ID_LEN], const char *oid,
                               const char *file_name, int64_t since, store_report_t *out) {
    /* "now" is read before the claim: a result the engine records in this very second but
     * after the claim would not be in it anyway (the claim is one transaction). */
    return report_create(s, report_id, oid, file_name, since, store_now(), out);
}

st_t store_report_results(store_t *s, int64_t report_rowid, store_result_cb cb, void *ud) {
    sqlite3_stmt *q = NULL;
    st_t st;

    if (!s || !cb)
        return ST_E_INVAL;
    st = stmt_get(s, STMT_REPORT_RESULTS, sql_report_results, &q);
    if (st == ST_OK)
        st = STMT_BIND(s, q, SA_I(report_rowid));
    if (st == ST_OK)
        st = for_each_result(s, q, cb, ud);
    stmt_put(q);
    return st;
}

st_t store_report_mark_exported(store_t *s, int64_t report_rowid) {
    st_t st;

    if (!s)
        return ST_E_INVAL;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = STMT_RUN(s, STMT_REPORT_EXPORTED, sql_report_exported, SA_I(report_rowid),
                  SA_I(store_now()));
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = ST_E_NOENT;
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}

st_t store_report_discard(store_t *s, int64_t report_rowid) {
    store_report_t r;
    st_t st;

    if (!s)
        return ST_E_INVAL;
    st = store_tx_begin(s);
    if (st != ST_OK)
        return st;
    st = report_get(s, NULL, report_rowid, &r);
    if (st == ST_OK && r.exported_at != 0)
        st = ST_E_STATE; /* the SM-DPf may have it: its results stay claimed */
    if (st == ST_OK)
        st = STMT_RUN(s, STMT_REPORT_UNCLAIM, sql_report_unclaim, SA_I(report_rowid));
    if (st == ST_OK)
        st = STMT_RUN(s, STMT_REPORT_DELETE, sql_report_delete, SA_I(report_rowid));
    if (st == ST_OK && sqlite3_changes(s->db) != 1)
        st = ST_E_INTERNAL;
    if (st == ST_OK)
        return store_tx_commit(s);
    store_tx_rollback(s);
    return st;
}
