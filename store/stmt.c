/*
 * stmt.c - the statement cache inside the handle (fossil's db_static_prepare, pkg's
 * enum-indexed table without its file-scope static), typed binding, checked stepping and
 * column readers.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store_internal.h"

st_t stmt_get(store_t *s, stmt_id_t id, const char *sql, sqlite3_stmt **out) {
    int rc;

    *out = NULL;
    if ((unsigned)id >= STMT__COUNT || !sql)
        return ST_E_INTERNAL;
    if (s->stmt[id]) {
        if (s->stmt_sql[id] != sql) {
            st_log(ST_LOG_ERR, "store: statement slot %d used with two SQL texts", (int)id);
            return ST_E_INTERNAL;
        }
        if (sqlite3_stmt_busy(s->stmt[id])) {
            /* A callback re-entered the store while this statement is mid-iteration. */
            st_log(ST_LOG_ERR, "store: statement slot %d is in use", (int)id);
            return ST_E_INTERNAL;
        }
        *out = s->stmt[id];
        return ST_OK;
    }
    rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
    if (rc != SQLITE_OK) {
        st_log(ST_LOG_ERR, "store: cannot prepare statement %d", (int)id);
        return st_from_sqlite(rc, s->db);
    }
    s->stmt_sql[id] = sql;
    s->n_prepared++;
    *out = s->stmt[id];
    return ST_OK;
}

void stmt_put(sqlite3_stmt *q) {
    if (!q)
        return;
    /* reset returns the last step's error again; it was handled where it happened. */
    (void)sqlite3_reset(q);
    (void)sqlite3_clear_bindings(q);
}

st_t stmt_step(store_t *s, sqlite3_stmt *q, bool *row) {
    int rc = sqlite3_step(q);

    *row = false;
    if (rc == SQLITE_ROW) {
        *row = true;
        return ST_OK;
    }
    if (rc == SQLITE_DONE)
        return ST_OK;
    return st_from_sqlite(rc, s->db);
}

st_t stmt_exec(store_t *s, sqlite3_stmt *q) {
    bool row = false;
    st_t st = stmt_step(s, q, &row);
    if (st == ST_OK && row) {
        st_log(ST_LOG_ERR, "store: statement returned a row where none was expected");
        return ST_E_INTERNAL;
    }
    return st;
}

st_t stmt_collect(store_t *s, sqlite3_stmt *q, size_t size, stmt_row_fn fn, void *ud, void **v,
                  size_t *n) {
    char *arr = NULL;
    size_t len = 0, cap = 0;
    bool row = false;
    st_t st;

    *v = NULL;
    *n = 0;
    while ((st = stmt_step(s, q, &row)) == ST_OK && row) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            char *na = realloc(arr, ncap * size);
            if (!na) {
                st = ST_E_NOMEM;
                break;
            }
            arr = na;
            cap = ncap;
        }
        memset(arr + len * size, 0, size);
        if ((st = fn(q, arr + len * size, ud)) != ST_OK)
            break;
        len++;
    }
    if (st != ST_OK) {
        free(arr);
        return st;
    }
    *v = arr;
    *n = len;
    return ST_OK;
}

st_t stmt_bind(store_t *s, sqlite3_stmt *q, const sqlarg_t *args, size_t n) {
    int rc = SQLITE_OK;

    if ((int)n != sqlite3_bind_parameter_count(q)) {
        st_log(ST_LOG_ERR, "store: %zu arguments for %d parameters: %s", n,
               sqlite3_bind_parameter_count(q), sqlite3_sql(q));
        return ST_E_INTERNAL;
    }
    for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
        int idx = (int)i + 1;
        const sqlarg_t *a = &args[i];
        if (a->type == SA_NULL || (a->type != SA_INT && !a->p)) {
            rc = sqlite3_bind_null(q, idx);
        } else if (a->type == SA_INT) {
            rc = sqlite3_bind_int64(q, idx, a->i);
        } else if (a->type == SA_BLOB) {
            rc = sqlite3_bind_blob64(q, idx, a->p, (sqlite3_uint64)a->n, SQLITE_STATIC);
        } else {
            rc = sqlite3_bind_text(q, idx, a->p, -1, SQLITE_STATIC);
        }
    }
    if (rc != SQLITE_OK)
        return st_from_sqlite(rc, s->db);
    return ST_OK;
}

st_t stmt_run(store_t *s, stmt_id_t id, const char *sql, const sqlarg_t *args, size_t n) {
    sqlite3_stmt *q = NULL;
    st_t st = stmt_get(s, id, sql, &q);
    if (st == ST_OK)
        st = stmt_bind(s, q, args, n);
    if (st == ST_OK)
        st = stmt_exec(s, q);
    stmt_put(q);
    return st;
}

st_t col_blob_exact(sqlite3_stmt *q, int col, uint8_t *out, size_t n) {
    const void *p = sqlite3_column_blob(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);

    if (len != n || (n && !p)) {
        st_log(ST_LOG_ERR, "store: column %s holds %zu bytes, %zu expected",
               sqlite3_column_name(q, col), len, n);
        return ST_E_DB_CORRUPT;
    }
    if (n)
        memcpy(out, p, n);
    return ST_OK;
}

st_t col_blob_max(sqlite3_stmt *q, int col, uint8_t *out, size_t max, size_t *len) {
    const void *p = sqlite3_column_blob(q, col);
    size_t n = (size_t)sqlite3_column_bytes(q, col);

    *len = 0;
    if (n > max || (n && !p)) {
        st_log(ST_LOG_ERR, "store: column %s holds %zu bytes, at most %zu expected",
               sqlite3_column_name(q, col), n, max);
        return ST_E_DB_CORRUPT;
    }
    if (n)
        memcpy(out, p, n);
    *len = n;
    return ST_OK;
}

st_t col_blob_buf(sqlite3_stmt *q, int col, buf_t *out) {
    const void *p = sqlite3_column_blob(q, col);
    size_t n = (size_t)sqlite3_column_bytes(q, col);
    if (!p || n == 0)
        return ST_OK;
    return buf_append(out, p, n);
}

void col_text(sqlite3_stmt *q, int col, char *out, size_t cap) {
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(q, col) : 0;

    if (cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

st_t check_text(const char *what, const char *v, size_t max, bool required) {
    if (!v) {
        if (required)
            st_log(ST_LOG_DEBUG, "store: %s missing", what);
        return required ? ST_E_INVAL : ST_OK;
    }
    if ((required && !*v) || strlen(v) >= max) {
        st_log(ST_LOG_DEBUG, "store: %s empty or longer than %zu bytes", what, max - 1);
        return ST_E_INVAL;
    }
    return ST_OK;
}
