/*
 * engine_internal.h - what the engine's files share (engine.c, engine_policy.c, job*.c,
 * recovery.c) and what the unit tests reach: the pure decision functions and the job context.
 * Not a public header: the UI and the CLI use engine.h only.
 */
#ifndef IFPP_ENGINE_INTERNAL_H
#define IFPP_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <openssl/evp.h>

#include "engine.h"
#include "es10.h"
#include "fmt/pir.h"
#include "store.h"
#include "transport.h"

/* ---- verdicts per device (engine_units.c) ---- */

typedef struct {
    char eid[33]; /* "" = free */
    engine_slot_state_t verdict;
} engine_units_slot_t;

/* passed + failed + attention = units (distinct EIDs, by their latest verdict) plus the
 * verdicts of cards that gave no EID. Zero-initialise; engine_units_free. */
typedef struct {
    uint64_t passed, failed, attention;
    uint64_t verdicts; /* every PASS/FAIL/ATTENTION counted, jobs of the same card included */
    engine_units_slot_t *v;
    size_t cap, used;
} engine_units_t;

/* Records a job's verdict for the card `eid` (decimal digits; NULL or "" when unknown): a new
 * unit is counted, a known one moves to the counter of its new verdict. Other states are
 * ignored. Returns true for a new unit (or a verdict without an EID), false otherwise. */
bool engine_units_add(engine_units_t *t, const char *eid, engine_slot_state_t v);

/* NULL-tolerant; leaves *t zeroed. */
void engine_units_free(engine_units_t *t);

/* ---- pure decisions (engine_policy.c) ---- */

typedef enum {
    ENGINE_PIR_NONE = 0,    /* no BF37 for this BPP */
    ENGINE_PIR_SUCCESS = 1, /* BF37 with successResult */
    ENGINE_PIR_ERROR = 2,   /* BF37 with errorResult */
} engine_pir_kind_t;

typedef enum {
    ENGINE_KEY_UNKNOWN = 0,     /* could not be asked */
    ENGINE_KEY_UNUSED = 1,      /* the card still holds the one-time private key */
    ENGINE_KEY_CONSUMED = 2,    /* used (erased after an installation) */
    ENGINE_KEY_DELETED = 3,     /* DeleteOneTimeKeys ran: FPA services are locked */
    ENGINE_KEY_NOT_ON_CARD = 4, /* the card never had this key index */
} engine_key_state_t;

/* What the station knows about one BPP after a load attempt or at recovery. */
typedef struct {
    engine_pir_kind_t pir;
    bool pir_verified;  /* euiccSignPIR verifies with PK.EUICC and tid/ICCID match the BPP */
    bool iccid_on_card; /* ListProfileInfo lists the BPP's ICCID (recovery) */
    bool refused;       /* the card refused before answering a BF37 (FF41 result, SW, garbage) */
    int refused_fpa;    /* engine_fpa_error_t of that refusal */
    engine_key_state_t key;
    uint32_t retries; /* failed -> loading transitions so far, the one that opened this attempt
                         included (store_bpp_t.retries once the BPP is loading) */
    uint32_t max_retries;
} engine_settle_facts_t;

typedef enum {
    ENGINE_SETTLE_INSTALLED = 0, /* loading -> installed (PIR recorded, verified) */
    ENGINE_SETTLE_FAILED = 1,    /* loading -> failed: retried later */
    ENGINE_SETTLE_DEAD = 2,      /* loading -> dead: never again */
    ENGINE_SETTLE_PENDING = 3,   /* loading -> pending: nothing happened on the card */
    ENGINE_SETTLE_ATTENTION = 4, /* stays loading: a person must look (never install twice) */
} engine_settle_t;

typedef struct {
    engine_settle_t to;
    int fpa_error;     /* engine_fpa_error_t for FAILED/DEAD/ATTENTION, ENGINE_FPA_NONE otherwise:
                          always the cause, also when the retries ran out */
    const char *why;   /* operator text of the cause (static) */
    uint32_t attempts; /* DEAD because the retries ran out: the failed attempts made (the text
                          says so, engine_settle_text); 0 otherwise */
} engine_settle_decision_t;

/*
 * How a BPP in `loading` is settled (the same rule after a live load and at recovery).
 * DEAD (retries) keeps the fpa_error of its cause (PIR_ERROR, refused_fpa): a report names what
 * went wrong, its text adds "retries exhausted after N attempts" (N = retries + 1).
 *
 *   PIR      verified  ICCID on card  key            refused  ->
 *   success  yes       -              -              -        INSTALLED
 *   success  no        -              -              -        ATTENTION (PIR_SIGNATURE)
 *   error    -         -              consumed       -        DEAD (PIR_ERROR)
 *   error    -         -              deleted        -        DEAD (KEYS_DELETED)
 *   error    -         -              not on card    -        DEAD (UNKNOWN_KEY)
 *   error    -         -              unused/unknown -        FAILED (PIR_ERROR); once retries
 *                                                             >= max_retries DEAD (PIR_ERROR,
 *                                                             retries exhausted)
 *   none     -         yes            -              -        ATTENTION (installed, no PIR)
 *   none     -         no             consumed       -        DEAD (KEY_CONSUMED)
 *   none     -         no             deleted        -        DEAD (KEYS_DELETED)
 *   none     -         no             not on card    -        DEAD (UNKNOWN_KEY)
 *   none     -         no             unused/unknown yes      FAILED (refused_fpa) / DEAD
 *                                                             (refused_fpa, retries exhausted)
 *   none     -         no             unused         no       PENDING (nothing happened)
 *   none     -         no             unknown        no       ATTENTION (cannot tell)
 */
engine_settle_decision_t engine_settle_decide(const engine_settle_facts_t *f);

/* The text recorded for a decision (store last_error, result text, operator error): d->why,
 * plus " (retries exhausted after N attempt(s))" when d->attempts. Truncated to n. */
void engine_settle_text(const engine_settle_decision_t *d, char *out, size_t n);

const char *engine_settle_name(engine_settle_t s);

/* A job's tally, for the verdict. */
typedef struct {
    engine_cmd_t cmd;
    uint32_t installed, failed, dead, attention; /* BPPs settled in this job (recovery too) */
    uint32_t remaining;                          /* live BPPs of the card left after the job */
    bool fault;                                  /* a step failed (its reason is already set) */
    bool unknown_card;                           /* no eUICC data for this EID */
} engine_tally_t;

/* PASS, FAIL or ATTENTION (see engine_policy.c for the order of the rules). */
engine_slot_state_t engine_verdict(const engine_tally_t *t);

/* Units per hour from verdict times (ms, any order; CLOCK_MONOTONIC) within the last hour
 * before now_ms; extrapolated over max(uptime, 60 s) while the engine runs less than an
 * hour. */
double engine_units_per_hour(const int64_t *times, size_t n, int64_t now_ms, int64_t started_ms);

/* CLOCK_MONOTONIC in ms. */
int64_t engine_now_ms(void);

/* ---- the job (job.c, job_load.c, job_verify.c, recovery.c) ---- */

#define JOB_MAX_INSTALLED 64 /* ICCIDs remembered for the verify step */
#define JOB_MAX_RESETS    3  /* card resets survived in one job */
#define JOB_DB_BUSY_TRIES 12 /* busy timeouts waited out: marking loading, settling */

typedef struct job_ctx {
    /* inputs, borrowed for the job */
    const config_t *cfg;
    store_t *store;
    EVP_PKEY *dm_key;
    transport_t *t; /* open on `reader` */
    const char *reader;
    const char *op;
    engine_cmd_t cmd;
    atomic_bool *stop;    /* finish the BPP in progress, then stop (may be NULL) */
    atomic_bool *abandon; /* stop at the next APDU sequence (may be NULL) */
    /* reporting: *snap is guarded by *lock; changed(ud) after each update */
    pthread_mutex_t *lock;
    engine_reader_snap_t *snap;
    void (*changed)(void *ud, bool store_changed);
    void *ud;

    /* job state */
    es10_t *s;
    uint8_t eid[16];
    char eid_str[33];
    EVP_PKEY *euicc_pub;      /* from the stored CERT.EUICC */
    es10f_key_status_t keys0; /* at the start of the job */
    bool locked;              /* FPA services locked (keys deleted) */
    bool authorised;
    unsigned resets;
    engine_tally_t tally;
    uint32_t consumed_in_job; /* keys consumed by the card in this job (installed or dead) */
    int64_t inflight;         /* BPP whose load this job started and did not settle (a reset
                                 hands it to recovery within the same job), 0 none */
    uint8_t installed_iccids[JOB_MAX_INSTALLED][10];
    size_t n_installed_iccids;
    uint64_t apdus0; /* transport APDU counter at the start of the job */
} job_ctx_t;

/*
 * Runs one job (j->cmd) on the card in j->t: open the ES10 session, GetEID, key status,
 * authorise, recover, load, verify, delete keys; the verdict lands in j->snap. ST_OK when the
 * job reached a verdict; a transport status (ST_E_CARD_REMOVED, ST_E_NO_SERVICE...) when it
 * lost the card (state EMPTY, interrupted); ST_E_CANCELLED when stopped.
 */
st_t job_run(job_ctx_t *j);

/* Frees what job_run kept in j (session, keys). */
void job_cleanup(job_ctx_t *j);

/* ---- shared by the job files ---- */

/* Sets the slot state (engine_slot_next on `ev`) and signals the change. */
void job_event(job_ctx_t *j, engine_event_t ev);
/* Records the last error for the operator (fmt) and the engineer (codes; -1 none). */
void job_error(job_ctx_t *j, int fpa, int bpp_cmd, int reason, const char *detail, const char *fmt,
               ...) __attribute__((format(printf, 6, 7)));
/* Progress of the BPP being loaded. */
void job_progress(job_ctx_t *j, uint32_t index, uint32_t count, uint64_t done, uint64_t total);
/* Profiles loaded/due of the card, from the store. */
void job_refresh_counts(job_ctx_t *j);
/* True when a stop (abandon = false: between BPPs) was asked. */
bool job_stopping(const job_ctx_t *j, bool abandon_only);
/* A transport status that ends the session: card removed, reader/pcscd gone. */
bool job_transport_lost(st_t st);
/* ST_E_PROTO/ST_E_IO may hide a lost card: probes the reader and returns the transport status
 * (ST_E_CARD_REMOVED, ST_E_CARD_RESET...) when the card is gone, `st` otherwise. */
st_t job_classify(job_ctx_t *j, st_t st);

/*
 * Authorises FPA services (FF40 over a fresh GetEuiccChallenge). ST_OK when authorised;
 * ST_E_STATE when the card refused (reason set); transport statuses as they come.
 */
st_t job_authorise(job_ctx_t *j);
/* After ST_E_CARD_RESET: reopen the session and authorise again (bounded). */
st_t job_after_reset(job_ctx_t *j);

/* The SM-DPf chain of a bundle split into certificates (CERT.DPpb first), borrowed from buf. */
typedef struct {
    buf_t der;
    es10_blob_t certs[8];
    size_t n;
} job_chain_t;
st_t job_chain_load(job_ctx_t *j, int64_t bundle_rowid, job_chain_t *c);
void job_chain_free(job_chain_t *c);

/*
 * Parses a BF37 and checks it belongs to `b`: tid equal, ICCID equal when the PIR carries one,
 * euiccSignPIR by PK.EUICC. *kind and *verified are set even when the signature fails;
 * ST_E_PARSE for something that is not a BF37.
 */
st_t job_pir_check(job_ctx_t *j, const store_bpp_t *b, const uint8_t *pir, size_t len,
                   engine_pir_kind_t *kind, bool *verified, pir_view_t *view);

/*
 * Records the decision for a BPP in loading (one durable transition), updates the tally and,
 * for installed, remembers the ICCID. `ch` carries the attempt figures (may be NULL).
 */
st_t job_settle(job_ctx_t *j, const store_bpp_t *b, const engine_settle_decision_t *d,
                store_change_t *ch, const pir_view_t *pv);

/* Asks the card whether the one-time key of `b` is unused: PrepareLoad (FF41) with it
 * (needs authorisation; arms the card harmlessly). */
st_t job_probe_key(job_ctx_t *j, const store_bpp_t *b, engine_key_state_t *key);

/* Recovery: settles every BPP of this EID left in loading (recovery.c). */
st_t job_recover(job_ctx_t *j);
/* Loads every pending (and retryable failed) BPP of this EID (job_load.c). */
st_t job_load_all(job_ctx_t *j);
/* Verify step: ListProfileInfo and key status against the store and this job (job_verify.c). */
st_t job_verify(job_ctx_t *j);
/* DeleteOneTimeKeys when nothing is left to load (job_verify.c). */
st_t job_delete_keys(job_ctx_t *j);

#endif
