/*
 * store.h - the station's SQLite store (DESIGN §8): SM-DPfs, bundles and their BPPs, eUICC data
 * and one-time keys, load attempts, results (PIRs), Profile Loading Reports, and the
 * append-only, hash-chained audit log.
 *
 * One database file: WAL, synchronous=FULL (a provisioning record must survive power loss),
 * foreign keys on, created 0600. The engine opens it read-write; status and report commands
 * running beside the engine open it with STORE_OPEN_READONLY. A store_t is one SQLite
 * connection: use it from one thread at a time (open one per worker thread; WAL lets them run
 * side by side, and store_bpp_transition() is a compare-and-set across connections).
 *
 * Every write is a BEGIN IMMEDIATE transaction. Single calls are atomic on their own;
 * store_tx_begin/commit/rollback group several into one (a bundle import is all-or-nothing).
 * Transactions nest: inner levels are savepoints.
 *
 * Conventions: times are Unix seconds (UTC); EIDs, bundle and report ids are raw bytes;
 * SM-DPf OIDs are dotted text ("2.999.10"); strings passed in are borrowed for the call and
 * copied; rows handed to callbacks are borrowed until the callback returns. A callback must
 * not use the same store handle (its statement is mid-iteration); returning anything but ST_OK
 * stops the iteration and that status is returned.
 */
#ifndef IFPP_STORE_H
#define IFPP_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

#define STORE_SCHEMA_VERSION 3 /* PRAGMA user_version written by this station */

#define STORE_EID_LEN   16  /* same as IFPP_EID_LEN */
#define STORE_ID_LEN    16  /* bundleId, reportId (IFPP_ID_LEN) */
#define STORE_ICCID_LEN 10  /* IFPP_ICCID_LEN */
#define STORE_OTPK_LEN  65  /* IFPP_OTPK_LEN */
#define STORE_SIG_LEN   64  /* IFPP_SIG_LEN */
#define STORE_TID_MAX   16  /* IFPP_MAX_TID_LEN */
#define STORE_HASH_LEN  32  /* SHA-256 */
#define STORE_OID_MAX   128 /* dotted OID text including the NUL */
#define STORE_NAME_MAX  128 /* reader, operator, actor, profile type, batch: incl. NUL */
#define STORE_TEXT_MAX  256 /* error texts, file names: incl. NUL */

#define STORE_DEFAULT_BUSY_TIMEOUT_MS 5000

typedef struct store store_t;

/* ---- open / close / transactions ---- */

enum {
    /* Read-only connection (status, report and audit commands beside a running engine).
     * Never migrates; refuses a database whose schema is not exactly STORE_SCHEMA_VERSION. */
    STORE_OPEN_READONLY = 1u << 0,
};

/*
 * Opens (read-write: creating it 0600 and migrating it to STORE_SCHEMA_VERSION) the store at
 * `path`. ST_E_DB_VERSION for a database written by a newer station, ST_E_DB_CORRUPT for a
 * file that is not an SQLite database, ST_E_DB for one that belongs to another application.
 * Caller owns *out (store_close).
 */
st_t store_open(const char *path, unsigned flags, store_t **out);

/* Finalizes every cached statement, checkpoints the WAL (TRUNCATE), closes. NULL-tolerant.
 * An open transaction is rolled back. */
void store_close(store_t *s);

/* How long a statement waits for another connection's lock before ST_E_DB_BUSY. */
st_t store_set_busy_timeout(store_t *s, int ms);

/*
 * Serialises the write transactions of several connections of one process (the engine's
 * workers, one connection each): `m` is held from the outermost BEGIN IMMEDIATE to its COMMIT
 * or ROLLBACK, so a sibling waits on the mutex and starts the moment the lock is free instead
 * of in SQLite's busy handler, which sleeps 1, 2, 5, 10 ... 100 ms between tries (a write lock
 * held for 1 ms could cost a waiting reader slot 25 ms, and the CPU of the retries). Other
 * processes still meet the busy timeout. NULL turns it off. Borrowed: `m` outlives the store.
 */
void store_set_write_mutex(store_t *s, pthread_mutex_t *m);

/* Starts a write transaction (BEGIN IMMEDIATE: takes the write lock now, so the transaction
 * cannot fail later with BUSY), or a savepoint when one is already open. ST_E_PERM read-only. */
st_t store_tx_begin(store_t *s);
/* Commits the innermost level. On failure the whole transaction is rolled back. */
st_t store_tx_commit(store_t *s);
/* Rolls back the innermost level. Safe after SQLite already rolled back on its own. */
void store_tx_rollback(store_t *s);

/* PRAGMA integrity_check, foreign_key_check and the counts per bundle against a recount: ST_OK
 * or ST_E_DB_CORRUPT (details logged). O(size of the store). */
st_t store_check(store_t *s);

/* ---- SM-DPfs ---- */

typedef struct {
    int64_t id;
    char oid[STORE_OID_MAX];
    char name[STORE_NAME_MAX];
    bool allowed; /* BPPs of a disallowed SM-DPf are kept but never offered to a card */
} store_smdpf_t;

/* Inserts or updates (name, allowed) the SM-DPf `oid`. `name` may be NULL (keeps/empty). */
st_t store_smdpf_put(store_t *s, const char *oid, const char *name, bool allowed);
/* ST_E_NOENT when unknown. */
st_t store_smdpf_get(store_t *s, const char *oid, store_smdpf_t *out);

/* ---- bundles (ESBPP01) and their BPPs ---- */

typedef struct {
    uint8_t bundle_id[STORE_ID_LEN];
    const char *smdpf_oid;  /* signer; the SM-DPf row is created (allowed) when absent */
    const char *smdpf_name; /* may be NULL */
    int64_t created_at;     /* from the bundle header */
    uint8_t file_sha256[STORE_HASH_LEN]; /* SHA-256 of the .ifppb file: the idempotency key */
    uint64_t entry_count;
    const uint8_t *smdpf_chain; /* DER certificates concatenated, CERT.DPpb first */
    size_t smdpf_chain_len;
    const char *file_name; /* as imported, for messages; may be NULL */
} store_bundle_new_t;

typedef struct {
    int64_t rowid;
    uint8_t bundle_id[STORE_ID_LEN];
    char smdpf_oid[STORE_OID_MAX];
    int64_t created_at;
    int64_t imported_at;
    uint8_t file_sha256[STORE_HASH_LEN];
    uint64_t entry_count;
    char file_name[STORE_TEXT_MAX];
} store_bundle_t;

/*
 * Records a bundle header; its BPPs follow with store_bpp_add(). Call it inside
 * store_tx_begin() so that the import is all-or-nothing. Idempotent import (DESIGN §8):
 * ST_E_EXISTS when the same bundle id is already there with the same file hash (nothing
 * changed; *rowid is the existing row), ST_E_CONFLICT when it is there with another hash.
 */
st_t store_bundle_insert(store_t *s, const store_bundle_new_t *b, int64_t *rowid);
/* Looks a bundle up by its id; ST_E_NOENT when unknown. */
st_t store_bundle_get(store_t *s, const uint8_t bundle_id[STORE_ID_LEN], store_bundle_t *out);
/* Appends the SM-DPf certificate chain stored with the bundle to `out`. */
st_t store_bundle_chain(store_t *s, int64_t bundle_rowid, buf_t *out);

/*
 * BPP state machine (DESIGN §8). One durable transaction per transition.
 *
 *   from \ to    pending  loading  installed  failed  dead
 *   pending         -        x         -         -      -
 *   loading         x        -         x         x      x     (->pending: recovery found that
 *   installed       -        -         -         -      -      nothing happened on the card)
 *   failed          -        x         -         -      x     (->loading: a retry)
 *   dead            -        -         -         -      -
 *
 * installed and dead are final. Values are stored as their names (TEXT, CHECKed).
 */
typedef enum {
    STORE_BPP_PENDING = 0,
    STORE_BPP_LOADING = 1,
    STORE_BPP_INSTALLED = 2,
    STORE_BPP_FAILED = 3,
    STORE_BPP_DEAD = 4,
} store_bpp_state_t;
#define STORE_BPP__COUNT 5

/* "pending", "loading"...; "?" for a value out of range. Static storage. */
const char *store_bpp_state_name(store_bpp_state_t st);
/* True when the table above allows from -> to. */
bool store_bpp_transition_legal(store_bpp_state_t from, store_bpp_state_t to);

typedef struct {
    uint32_t seq; /* entry index in the bundle file (for messages) */
    uint8_t eid[STORE_EID_LEN];
    uint32_t key_index;
    uint8_t tid[STORE_TID_MAX];
    size_t tid_len; /* 1..STORE_TID_MAX */
    uint8_t iccid[STORE_ICCID_LEN];
    const char *profile_type; /* may be NULL */
    const uint8_t *bpp;       /* BF36 verbatim */
    size_t bpp_len;
} store_bpp_new_t;

/*
 * Adds one BPP (state pending) to a bundle recorded in this transaction. ST_E_CONFLICT when
 * the SM-DPf already has a BPP with this transactionId, or a live (not dead) BPP is already
 * bound to this one-time key. A known one-time key moves from unused or requested to bound.
 */
st_t store_bpp_add(store_t *s, int64_t bundle_rowid, const store_bpp_new_t *e, int64_t *bpp_id);

/* A BPP without its blob (listing stays cheap; the BF36 is fetched by store_bpp_blob). */
typedef struct {
    int64_t id;
    int64_t bundle_rowid;
    uint8_t bundle_id[STORE_ID_LEN];
    uint32_t seq;
    char smdpf_oid[STORE_OID_MAX];
    uint8_t eid[STORE_EID_LEN];
    uint32_t key_index;
    uint8_t tid[STORE_TID_MAX];
    size_t tid_len;
    uint8_t iccid[STORE_ICCID_LEN];
    char profile_type[STORE_NAME_MAX];
    size_t bpp_len;
    store_bpp_state_t state;
    uint32_t retries;                /* failed -> loading transitions so far */
    char last_error[STORE_TEXT_MAX]; /* "" when none */
    int64_t updated_at;
} store_bpp_t;

typedef struct {
    store_bpp_t *v; /* owned; store_bpp_list_free */
    size_t n;
} store_bpp_list_t;

void store_bpp_list_free(store_bpp_list_t *l); /* frees the contents; NULL-tolerant */

st_t store_bpp_get(store_t *s, int64_t bpp_id, store_bpp_t *out); /* ST_E_NOENT */
/* Appends the BF36 of a BPP to `out` (a copy the caller owns). */
st_t store_bpp_blob(store_t *s, int64_t bpp_id, buf_t *out);

/*
 * The BPPs to offer to the card `eid`: state pending (and failed too when `with_failed`), of
 * allowed SM-DPfs only, in import order (bundle by bundle, entry by entry), across every
 * SM-DPf. Sub-millisecond at 10^6 BPPs (index bpp_eid_state). *out is replaced.
 */
st_t store_bpp_pending(store_t *s, const uint8_t eid[STORE_EID_LEN], bool with_failed,
                       store_bpp_list_t *out);

/* A BPP left in loading (crash or pulled card) with its open attempt, for recovery. */
typedef struct {
    store_bpp_t bpp;
    int64_t attempt_id; /* 0 when no attempt is open (should not happen) */
    char reader[STORE_NAME_MAX];
    int64_t started_at;
} store_loading_t;

typedef struct {
    store_loading_t *v; /* owned; store_loading_list_free */
    size_t n;
} store_loading_list_t;

void store_loading_list_free(store_loading_list_t *l);
/* Every BPP in state loading, oldest first. *out is replaced. */
st_t store_bpp_loading(store_t *s, store_loading_list_t *out);

/* How an attempt ended (stored as text). AUTO derives it from the target state:
 * installed -> installed, pending -> interrupted, failed/dead -> failed. */
typedef enum {
    STORE_OUTCOME_AUTO = 0,
    STORE_OUTCOME_INSTALLED = 1,
    STORE_OUTCOME_FAILED = 2,
    STORE_OUTCOME_INTERRUPTED = 3, /* card pulled, reader lost, station crashed */
} store_outcome_t;

/*
 * What a transition records besides the state, all in the same transaction. Start from
 * STORE_CHANGE_INIT and set what applies; pointers are borrowed for the call.
 */
typedef struct {
    const char *actor; /* non-NULL: an audit row "bpp.state" (bpp:<id>, from -> to, error) */
    const char *error; /* -> failed/dead: becomes last_error (and the result text for dead) */
    /* -> loading: the attempt that is opened (reader required). */
    const char *reader;
    const char *op;      /* operator name; may be NULL */
    int64_t *attempt_id; /* out; may be NULL */
    /* loading -> anything: the open attempt is closed with these figures. */
    store_outcome_t outcome;
    uint32_t apdus;
    uint64_t bytes;
    int64_t duration_ms;
    int bpp_command_id; /* SGP.22 BppCommandId of a failure; -1 none */
    int error_reason;   /* SGP.22 ErrorReason; -1 none */
    int fpa_error_code; /* project FPA error code (reports/); -1 none */
    /* The BF37 the card returned (required -> installed; optional otherwise). For -> dead
     * without one, the last attempt's BF37 and FPA error code are carried into the result. */
    const uint8_t *pir;
    size_t pir_len;
    bool pir_verified; /* -> installed: the eUICC signature was checked (DESIGN §8) */
} store_change_t;

#define STORE_CHANGE_INIT                                                                          \
    { NULL, NULL, NULL, NULL, NULL, STORE_OUTCOME_AUTO, 0, 0, 0, -1, -1, -1, NULL, 0, false }

/*
 * Moves BPP `bpp_id` from `from` to `to` (compare-and-set: UPDATE ... WHERE state = from, in
 * its own BEGIN IMMEDIATE transaction, so two workers can never both load one BPP).
 * ST_E_STATE when the table above forbids it or the row is no longer in `from`; ST_E_NOENT
 * for an unknown BPP; ST_E_INVAL when `ch` lacks what the target needs. Side effects:
 * -> loading opens an attempt (failed -> loading counts a retry); leaving loading closes it;
 * -> installed records the result (PIR) and marks the one-time key consumed; -> dead records
 * a failed result. `ch` may be NULL where nothing is required.
 */
st_t store_bpp_transition(store_t *s, int64_t bpp_id, store_bpp_state_t from, store_bpp_state_t to,
                          const store_change_t *ch);

/*
 * The most recent BPPs in state failed or dead (status: "last errors"), newest first (by the
 * time of their last transition), at most `max`; with the reader and FPA error code of their
 * last attempt. Cheap at 10^6 BPPs (partial index bpp_failures). *out is replaced.
 */
typedef struct {
    store_bpp_t bpp;             /* state failed or dead; bpp.last_error is the reason */
    char reader[STORE_NAME_MAX]; /* of the last attempt; "" when none */
    int fpa_error_code;          /* of the last attempt; -1 none */
} store_failure_t;

typedef struct {
    store_failure_t *v; /* owned; store_failure_list_free */
    size_t n;
} store_failure_list_t;

void store_failure_list_free(store_failure_list_t *l); /* NULL-tolerant */
st_t store_bpp_failures(store_t *s, size_t max, store_failure_list_t *out);

/* Load attempts per reader (status: per-reader yield). An attempt is open while its BPP is in
 * loading; yield = installed / (installed + failed); interrupted attempts (pulled card,
 * crash) do not count against a reader. */
typedef struct {
    char reader[STORE_NAME_MAX];
    uint64_t attempts; /* every attempt, open ones included */
    uint64_t installed;
    uint64_t failed;
    uint64_t interrupted;
} store_reader_stats_t;

typedef struct {
    store_reader_stats_t *v; /* owned; store_reader_list_free */
    size_t n;
} store_reader_list_t;

void store_reader_list_free(store_reader_list_t *l); /* NULL-tolerant */
/* One entry per reader name that ever had an attempt, by name. *out is replaced. */
st_t store_reader_stats(store_t *s, store_reader_list_t *out);

/* Load attempts per production shift (status: yield per shift). Shifts are windows of
 * `len` seconds starting at `origin` + k*len (UTC seconds); an attempt counts in the shift in
 * which it started. */
typedef struct {
    int64_t start; /* UTC seconds */
    uint64_t attempts, installed, failed, interrupted;
} store_shift_stats_t;

typedef struct {
    store_shift_stats_t *v; /* owned, newest first; store_shift_list_free */
    size_t n;
} store_shift_list_t;

void store_shift_list_free(store_shift_list_t *l); /* NULL-tolerant */
/* The `max` most recent shifts that had attempts. *out is replaced. */
st_t store_shift_stats(store_t *s, int64_t origin, int64_t len, size_t max,
                       store_shift_list_t *out);

/* BPP counts per bundle and state (status). */
typedef struct {
    int64_t bundle_rowid;
    uint8_t bundle_id[STORE_ID_LEN];
    char smdpf_oid[STORE_OID_MAX];
    uint64_t entry_count; /* announced by the header */
    uint64_t count[STORE_BPP__COUNT];
} store_bundle_stats_t;

typedef struct {
    store_bundle_stats_t *v; /* owned; store_stats_list_free */
    size_t n;
} store_stats_list_t;

void store_stats_list_free(store_stats_list_t *l);
/* One entry per bundle, in import order. *out is replaced. */
st_t store_bundle_stats(store_t *s, store_stats_list_t *out);

/* ---- eUICC data (Esed2) and one-time keys ---- */

/*
 * One-time key states (values are stored as their names):
 *
 *   from \ to    unused  requested  bound  consumed  deleted
 *   unused          -         x        x       -         x
 *   requested       x         x        x       -         x
 *   bound           -         -        -       x         x
 *   consumed        -         -        -       -         -      final
 *   deleted         -         -        -       -         -      final
 *
 * unused -> requested: named in an exported BPP request (ESBPP02, store_otk_request);
 * requested -> requested: the request re-sent; requested -> unused: its file could not be
 * written (store_otk_release); unused/requested -> bound: a BPP for it imported (from unused:
 * Path A, or a request made elsewhere); bound -> consumed: that BPP installed; -> deleted:
 * DeleteOneTimeKeys. At most one key of an eUICC is requested (schema: a UNIQUE partial
 * index), so a request never offers a second key of an eUICC.
 */
typedef enum {
    STORE_OTK_UNUSED = 0,
    STORE_OTK_BOUND = 1,     /* a live BPP is bound to it */
    STORE_OTK_CONSUMED = 2,  /* a BPP bound to it was installed (the card erased it) */
    STORE_OTK_DELETED = 3,   /* removed by DeleteOneTimeKeys (FF42) */
    STORE_OTK_REQUESTED = 4, /* in an exported BPP request, no BPP yet (schema v2) */
} store_otk_state_t;
#define STORE_OTK__COUNT 5

const char *store_otk_state_name(store_otk_state_t st);

typedef struct {
    uint8_t eid[STORE_EID_LEN];
    const uint8_t *cert_euicc; /* DER */
    size_t cert_euicc_len;
    const uint8_t *cert_eum; /* DER; stored once per distinct certificate (by SHA-256) */
    size_t cert_eum_len;
    const uint8_t *euicc_info2; /* BF22 as the card returns it; may be NULL/empty */
    size_t euicc_info2_len;
    const char *batch; /* EUM batch id; may be NULL */
} store_euicc_new_t;

/* Records an eUICC. ST_E_EXISTS when it is there with the same certificates (nothing
 * changed), ST_E_CONFLICT when it is there with other ones. */
st_t store_euicc_put(store_t *s, const store_euicc_new_t *e);

typedef struct {
    uint32_t key_index;
    uint8_t otpk[STORE_OTPK_LEN];
    uint8_t sig[STORE_SIG_LEN]; /* by SK.EUICC over ifpp_otk_tbs() */
    store_otk_state_t state;    /* ignored by store_otk_put, as are the two below */
    /* The request that named the key last, and when it was first requested; zeros when it
     * never was (kept, as history, once the key is bound). */
    uint8_t request_id[STORE_ID_LEN];
    int64_t requested_at;
} store_otk_t;

/*
 * Records a one-time key of a known eUICC (ST_E_NOENT otherwise). Its state is derived from
 * the BPPs already imported (bound/consumed/unused). ST_E_EXISTS when identical,
 * ST_E_CONFLICT when the index is there with another key.
 */
st_t store_otk_put(store_t *s, const uint8_t eid[STORE_EID_LEN], const store_otk_t *k);
st_t store_otk_get(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                   store_otk_t *out);
/* Sets the state unconditionally (engine, recovery). Not to requested: ST_E_INVAL
 * (store_otk_request). */
st_t store_otk_set_state(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                         store_otk_state_t to);

/*
 * The key is named in request `request_id` (ESBPP02 export). resend = false: unused ->
 * requested (requested_at = now); ST_E_CONFLICT when another key of the eUICC is requested
 * already. resend = true: requested -> requested, the key's request_id becomes `request_id`
 * (requested_at is kept). ST_E_STATE when the key is not in the expected state (a
 * compare-and-set: a concurrent request or import got it first), ST_E_NOENT when unknown.
 */
st_t store_otk_request(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                       const uint8_t request_id[STORE_ID_LEN], bool resend);
/* Undoes store_otk_request(resend = false) of a request that was never written: requested by
 * `request_id` -> unused. ST_E_STATE when the key is not requested by that request. */
st_t store_otk_release(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t key_index,
                       const uint8_t request_id[STORE_ID_LEN]);

/* After DeleteOneTimeKeys: every unused, requested or bound key of `eid` becomes deleted; *n
 * counts them (may be NULL). */
st_t store_otk_delete_all(store_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t *n);

typedef struct {
    uint8_t eid[STORE_EID_LEN];
    buf_t cert_euicc;
    buf_t cert_eum;
    buf_t euicc_info2;
    char batch[STORE_NAME_MAX];
    int64_t imported_at;
    store_otk_t *keys; /* by key index */
    size_t n_keys;
} store_euicc_t;

/* The eUICC `eid` with its keys; ST_E_NOENT when unknown. Caller owns *out. */
st_t store_euicc_get(store_t *s, const uint8_t eid[STORE_EID_LEN], store_euicc_t **out);
void store_euicc_free(store_euicc_t *e);

/*
 * Listing eUICCs. "Has a BPP" below means: a key of it is bound or consumed, or a BPP that is
 * not dead names its EID (one held before its eUICC data came, too).
 */
typedef enum {
    STORE_EUICC_ANY = 0,
    /* no BPP yet, no key requested, an unused key: can be asked for in a new request */
    STORE_EUICC_UNREQUESTED = 1,
    /* no BPP yet and an unused or a requested key (the above plus outstanding requests) */
    STORE_EUICC_REQUESTABLE = 2,
} store_euicc_want_t;

/* Every condition given must hold (start from all zeros: every eUICC). */
typedef struct {
    const uint8_t (*eids)[STORE_EID_LEN]; /* only these (any order, duplicates once); NULL: any */
    size_t n_eids;
    bool has_range; /* only FROM <= EID <= TO (bytewise = digit order of the EID) */
    uint8_t from[STORE_EID_LEN], to[STORE_EID_LEN];
    store_euicc_want_t want;
    const char *profile_type; /* only eUICCs with a BPP of this profileType; NULL: any */
    uint64_t limit;           /* at most this many; 0: no limit */
} store_euicc_filter_t;

/* An eUICC as listed: its data without the certificates, and its keys counted by state. */
typedef struct {
    uint8_t eid[STORE_EID_LEN];
    char batch[STORE_NAME_MAX];
    int64_t imported_at;
    uint32_t n_keys;
    uint32_t keys[STORE_OTK__COUNT]; /* per store_otk_state_t */
    int64_t first_unused;            /* lowest unused key index; -1 when none */
    int64_t first_requested;         /* the requested key's index; -1 when none */
    uint64_t n_bpps;                 /* BPPs naming this EID that are not dead */
    bool has_bpp;                    /* see above */
} store_euicc_info_t;

typedef st_t (*store_euicc_cb)(void *ud, const store_euicc_info_t *e);

/* Hands every eUICC that passes `f` (NULL: all) to cb, in ascending EID order. */
st_t store_euicc_each(store_t *s, const store_euicc_filter_t *f, store_euicc_cb cb, void *ud);

/* Inventory counts (status). Every eUICC is in exactly one of the four groups. */
typedef struct {
    uint64_t euiccs;
    uint64_t euiccs_with_bpp;    /* has a BPP (see above) */
    uint64_t euiccs_requested;   /* no BPP yet, a request outstanding */
    uint64_t euiccs_unrequested; /* no BPP yet, no request, an unused key */
    uint64_t euiccs_no_key;      /* no BPP yet and no unused or requested key */
    uint64_t keys;
    uint64_t keys_by_state[STORE_OTK__COUNT]; /* per store_otk_state_t */
} store_inventory_t;

st_t store_inventory(store_t *s, store_inventory_t *out);

/* ---- results and Profile Loading Reports (ESBPP03) ---- */

typedef enum {
    STORE_RESULT_INSTALLED = 0, /* same values as ifpp_result_kind_t */
    STORE_RESULT_FAILED = 1,
} store_result_kind_t;

typedef struct {
    int64_t result_id;
    int64_t bpp_id;
    store_result_kind_t kind;
    uint8_t bundle_id[STORE_ID_LEN];
    uint8_t eid[STORE_EID_LEN];
    uint8_t tid[STORE_TID_MAX];
    size_t tid_len;
    uint8_t iccid[STORE_ICCID_LEN];
    int64_t at;
    int fpa_error_code; /* -1 none */
    char text[STORE_TEXT_MAX];
    const uint8_t *pir; /* BF37 byte-exact, borrowed for the callback; NULL when none */
    size_t pir_len;
    bool verified;
} store_result_t;

typedef st_t (*store_result_cb)(void *ud, const store_result_t *r);

/* Results of SM-DPf `oid` that are in no report yet, oldest first. */
st_t store_results_unreported(store_t *s, const char *oid, store_result_cb cb, void *ud);
st_t store_results_unreported_count(store_t *s, const char *oid, uint64_t *n);

typedef struct {
    int64_t rowid;
    uint8_t report_id[STORE_ID_LEN];
    char smdpf_oid[STORE_OID_MAX];
    char file_name[STORE_TEXT_MAX];
    int64_t created_at;
    int64_t exported_at; /* 0 while the file is not written */
    uint64_t n_entries;
} store_report_t;

/*
 * Creates report `report_id` for SM-DPf `oid` and claims every unreported result of it, in
 * one transaction (a result goes into exactly one report per SM-DPf: UNIQUE in the schema).
 * ST_E_NOENT when there is nothing to report (nothing is written).
 */
st_t store_report_create(store_t *s, const uint8_t report_id[STORE_ID_LEN], const char *oid,
                         const char *file_name, store_report_t *out);
/*
 * store_report_create for a time window (report export --since): claims only the unreported
 * results of `oid` recorded at or after `since` and at or before now (result times, Unix
 * seconds). Earlier results stay unreported for a later report. ST_E_NOENT when none is in
 * the window (nothing written).
 */
st_t store_report_create_since(store_t *s, const uint8_t report_id[STORE_ID_LEN], const char *oid,
                               const char *file_name, int64_t since, store_report_t *out);
/* The results of a report, in result order (to build, or re-export, the file). */
st_t store_report_results(store_t *s, int64_t report_rowid, store_result_cb cb, void *ud);
/* The file is durably written: sets exported_at (again on a re-export). */
st_t store_report_mark_exported(store_t *s, int64_t report_rowid);
/* Drops a report that was never exported, releasing its results; ST_E_STATE if exported. */
st_t store_report_discard(store_t *s, int64_t report_rowid);
st_t store_report_get(store_t *s, const uint8_t report_id[STORE_ID_LEN], store_report_t *out);

/* ---- audit log (append-only, hash-chained) ---- */

/*
 * Appends one audit row. hash = SHA-256(prev_hash || canonical row bytes), prev_hash of the
 * first row = 32 zero bytes. actor and action are required; the others may be NULL.
 * Triggers make the table append-only (UPDATE/DELETE abort).
 */
st_t store_audit_append(store_t *s, const char *actor, const char *action, const char *object,
                        const char *old_value, const char *new_value, const char *reason);

/*
 * Walks the whole chain. ST_OK when intact; ST_E_DB_CORRUPT when a row was altered, removed,
 * inserted or reordered, with *first_bad_seq the first sequence number that does not fit
 * (last seq + 1 when rows were cut off the end). *n_rows (may be NULL) counts the rows read.
 */
st_t store_audit_verify(store_t *s, uint64_t *first_bad_seq, uint64_t *n_rows);

#endif
