/*
 * store_internal.h - what the store's .c files (and its unit test) share: the handle layout,
 * the statement cache, binding helpers and the one SQLite error mapping. Not for other
 * modules: they see store.h only.
 */
#ifndef IFPP_STORE_INTERNAL_H
#define IFPP_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

/* Cached statements, one slot each. Every slot is used with exactly one SQL text. */
typedef enum {
    STMT_TX_BEGIN,
    STMT_TX_COMMIT,
    STMT_TX_ROLLBACK,
    STMT_SP_BEGIN,
    STMT_SP_RELEASE,
    STMT_SP_ROLLBACK,
    STMT_SMDPF_PUT,
    STMT_SMDPF_GET,
    STMT_SMDPF_ENSURE,
    STMT_BUNDLE_GET,
    STMT_BUNDLE_INSERT,
    STMT_BUNDLE_CHAIN,
    STMT_BUNDLE_STATS,
    STMT_BPP_INSERT,
    STMT_BPP_BLOB_INSERT,
    STMT_BPP_BIND_KEY,
    STMT_BPP_GET,
    STMT_BPP_BLOB,
    STMT_BPP_PENDING,
    STMT_BPP_PENDING_FAILED,
    STMT_BPP_LOADING,
    STMT_BPP_CAS,
    STMT_BPP_STATE,
    STMT_ATTEMPT_OPEN,
    STMT_ATTEMPT_CLOSE,
    STMT_RESULT_INSTALLED,
    STMT_RESULT_DEAD,
    STMT_OTK_CONSUME,
    STMT_EUM_PUT,
    STMT_EUM_ID,
    STMT_EUICC_FIND,
    STMT_EUICC_INSERT,
    STMT_EUICC_GET,
    STMT_OTK_FIND,
    STMT_OTK_INSERT,
    STMT_OTK_GET,
    STMT_OTK_LIST,
    STMT_OTK_SET,
    STMT_OTK_DELETE_ALL,
    STMT_OTK_REQUEST,
    STMT_OTK_RESEND,
    STMT_OTK_RELEASE,
    STMT_OTK_EXISTS,
    STMT_EUICC_EACH,
    STMT_INVENTORY_EUICCS,
    STMT_INVENTORY_KEYS,
    STMT_BPP_FAILURES,
    STMT_READER_STATS,
    STMT_SHIFT_STATS,
    STMT_RESULTS_UNREPORTED,
    STMT_RESULTS_UNREPORTED_COUNT,
    STMT_REPORT_INSERT,
    STMT_REPORT_CLAIM,
    STMT_REPORT_GET,
    STMT_REPORT_GET_ROWID,
    STMT_REPORT_RESULTS,
    STMT_REPORT_EXPORTED,
    STMT_REPORT_UNCLAIM,
    STMT_REPORT_DELETE,
    STMT_AUDIT_LAST,
    STMT_AUDIT_INSERT,
    STMT_AUDIT_ALL,
    STMT_AUDIT_SEQUENCE,
    STMT__COUNT
} stmt_id_t;

struct store {
    sqlite3 *db;
    bool readonly;
    int tx_depth; /* 0: autocommit; 1: BEGIN IMMEDIATE; >1: nested savepoints named "sp" */
    sqlite3_stmt *stmt[STMT__COUNT];
    const char *stmt_sql[STMT__COUNT]; /* the SQL each slot was prepared from */
    unsigned n_prepared;               /* statements prepared so far (tests: cache reuse) */
    pthread_mutex_t *write_mutex; /* held while tx_depth > 0 (store_set_write_mutex), or NULL */
};

/*
 * The one mapping of SQLite result codes (DESIGN/HACKING): logs sqlite3_extended_errcode and
 * sqlite3_errmsg of `db` (may be NULL) and returns BUSY/LOCKED -> ST_E_DB_BUSY, FULL ->
 * ST_E_NOSPACE, CORRUPT/NOTADB -> ST_E_DB_CORRUPT, a UNIQUE/PRIMARY KEY constraint ->
 * ST_E_CONFLICT, CHECK/NOT NULL -> ST_E_INVAL, an append-only trigger or READONLY -> ST_E_PERM,
 * NOMEM -> ST_E_NOMEM, IOERR -> ST_E_IO, everything else -> ST_E_DB.
 */
st_t st_from_sqlite(int rc, sqlite3 *db);

/* The connection (tests: pragmas, raw tampering through a second connection). */
sqlite3 *store_db(store_t *s);

/* Unix seconds now. */
int64_t store_now(void);

/* Runs SQL without results (BEGIN, PRAGMA writes, schema steps). */
st_t store_exec(store_t *s, const char *sql);

/* Runs the schema migrations (schema.c); called by store_open on a read-write handle.
 * ST_E_DB_VERSION when the database is newer than STORE_SCHEMA_VERSION. */
st_t store_migrate(store_t *s);
/* The same, stopping at schema `target` (<= STORE_SCHEMA_VERSION). */
st_t store_migrate_to(store_t *s, int target);

/*
 * Tests only: store_open (read-write) that migrates no further than schema `version`, so a
 * test can fill a database through the code path of an older schema and then check the
 * upgrade. Only the functions whose SQL that schema has may be used on such a handle.
 */
st_t store_open_version(const char *path, int version, store_t **out);
/* Reads PRAGMA user_version. */
st_t store_user_version(store_t *s, int *version);

/*
 * Statement cache: returns the statement of slot `id`, prepared on first use from `sql`
 * (SQLITE_PREPARE_PERSISTENT) and kept until store_close. `sql` must be the same static
 * string on every call for a slot (checked). The statement is borrowed: give it back with
 * stmt_put() on every path.
 */
st_t stmt_get(store_t *s, stmt_id_t id, const char *sql, sqlite3_stmt **out);
/* sqlite3_reset + sqlite3_clear_bindings; NULL-tolerant. */
void stmt_put(sqlite3_stmt *q);

/* Steps once: ST_OK with *row = true (SQLITE_ROW) or false (SQLITE_DONE), else mapped. */
st_t stmt_step(store_t *s, sqlite3_stmt *q, bool *row);
/* Steps a statement that returns no rows (SQLITE_DONE expected). */
st_t stmt_exec(store_t *s, sqlite3_stmt *q);

/* Fills one list element (zeroed) from the current row of q; `ud` is the caller's context. */
typedef st_t (*stmt_row_fn)(sqlite3_stmt *q, void *elem, void *ud);

/*
 * The list queries' loop: steps q (already bound) to its end, appending one `size`-byte element
 * per row through fn. On ST_OK *v (caller frees) and *n hold the rows; on failure nothing is
 * kept (*v NULL, *n 0). The caller still owns q (stmt_put).
 */
st_t stmt_collect(store_t *s, sqlite3_stmt *q, size_t size, stmt_row_fn fn, void *ud, void **v,
                  size_t *n);

/* Typed positional arguments (pkg's sql_arg_t): STMT_BIND(s, q, SA_I(x), SA_B(p, n), ...)
 * binds ?1, ?2... in order and checks the count against the statement. */
typedef enum { SA_NULL, SA_INT, SA_BLOB, SA_TEXT } sqlarg_type_t;
typedef struct {
    sqlarg_type_t type;
    int64_t i;
    const void *p; /* blob or text; NULL binds SQL NULL. Borrowed until stmt_put(). */
    size_t n;      /* blob length */
} sqlarg_t;

#define SA_I(x)        ((sqlarg_t){SA_INT, (int64_t)(x), NULL, 0})
#define SA_B(ptr, len) ((sqlarg_t){SA_BLOB, 0, (ptr), (len)})
#define SA_T(str)      ((sqlarg_t){SA_TEXT, 0, (str), 0})
#define SA_N           ((sqlarg_t){SA_NULL, 0, NULL, 0})

st_t stmt_bind(store_t *s, sqlite3_stmt *q, const sqlarg_t *args, size_t n);
#define STMT_BIND(s, q, ...)                                                                       \
    stmt_bind((s), (q), (const sqlarg_t[]){__VA_ARGS__},                                           \
              sizeof((const sqlarg_t[]){__VA_ARGS__}) / sizeof(sqlarg_t))

/* Gets, binds, executes (no rows expected) and puts back a cached statement. */
st_t stmt_run(store_t *s, stmt_id_t id, const char *sql, const sqlarg_t *args, size_t n);
#define STMT_RUN(s, id, sql, ...)                                                                  \
    stmt_run((s), (id), (sql), (const sqlarg_t[]){__VA_ARGS__},                                    \
             sizeof((const sqlarg_t[]){__VA_ARGS__}) / sizeof(sqlarg_t))

/* Column readers. A stored value of the wrong shape is ST_E_DB_CORRUPT (logged). */
st_t col_blob_exact(sqlite3_stmt *q, int col, uint8_t *out, size_t n);
st_t col_blob_max(sqlite3_stmt *q, int col, uint8_t *out, size_t max, size_t *len);
st_t col_blob_buf(sqlite3_stmt *q, int col, buf_t *out);        /* appends; NULL appends nothing */
void col_text(sqlite3_stmt *q, int col, char *out, size_t cap); /* NULL -> "", truncates */

/* String argument checks shared by the writers: NULL allowed unless `required`. */
st_t check_text(const char *what, const char *v, size_t max, bool required);

/* Checks a dotted OID text (digits and single dots, no leading/trailing dot). */
st_t check_oid(const char *oid);

/* Name <-> enum maps of the TEXT state columns. */
st_t bpp_state_parse(const char *name, store_bpp_state_t *out);
st_t otk_state_parse(const char *name, store_otk_state_t *out);

/* Audit append inside the caller's transaction (used by store_bpp_transition too). */
st_t audit_append_locked(store_t *s, const char *actor, const char *action, const char *object,
                         const char *old_value, const char *new_value, const char *reason);

#endif
