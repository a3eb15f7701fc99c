/*
 * engine.h - the line engine (DESIGN §3, §6, §8): one worker thread per PC/SC reader, each
 * with its own transport (SCARDCONTEXT) and store connection, a monitor thread on
 * pcsc/monitor.h, and a job per inserted card that acts as the SGP.41 Factory Profile
 * Assistant: authorise FPA services with the DM key, settle BPPs left in `loading`, load every
 * pending BPP bound to the card, verify each PIR, verify the card, delete the one-time keys.
 *
 * The UI and `ifpp-station run` see the engine only through this header: commands in, and a
 * SNAPSHOT out (a copy taken under the engine's mutex), plus a change notification (callback
 * or pipe fd). Nothing here prints; everything is logged through base/log.h.
 *
 * Per-reader state machine (engine_slot_next() implements this table; engine_policy.c):
 *
 *   state                   event                           next
 *   EMPTY, GONE*            card inserted                   PRESENT  (*GONE: reader back)
 *   any                     reader gone                     GONE
 *   PRESENT,PASS,FAIL,ATT.  job starts (auto or command)    AUTHORISING
 *   AUTHORISING             authorised, BPPs left loading   RECOVERING
 *   AUTHORISING,RECOVERING  pending BPPs                    LOADING
 *   AUTHORISING,RECOVERING  nothing (more) to load          VERIFYING
 *   LOADING                 all BPPs of the card done       VERIFYING
 *   AUTHORISING             delete-keys command             DELETING
 *   VERIFYING               ok, delete_keys = after-load    DELETING
 *   VERIFYING, DELETING     ok                              PASS
 *   any job state           card/station fault, mismatch    FAIL
 *   any job state           needs a person (see recovery)   ATTENTION
 *   any job state           card removed / pcscd gone       EMPTY (job interrupted: the BPP
 *                                                           stays loading, settled by recovery
 *                                                           at the next insertion)
 *   PRESENT..ATTENTION      card removed                    EMPTY
 * Job states are AUTHORISING..DELETING; PASS, FAIL and ATTENTION are verdicts that stay until
 * the card is removed or another job starts.
 */
#ifndef IFPP_ENGINE_H
#define IFPP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "config.h"
#include "store.h"

#define ENGINE_MAX_READERS      16 /* pcsc-lite 1.9.9: reader slots per pcscd */
#define ENGINE_NAME_MAX         128
#define ENGINE_TEXT_MAX         256
#define ENGINE_SNAP_BUNDLES     64 /* bundle rows copied into a snapshot (oldest first) */
#define ENGINE_DEFAULT_OPERATOR "station"

// clang-format off
/* X-macro: state, name, operator text. */
#define ENGINE_SLOT_STATES(X)                                                                  \
    X(ENGINE_SLOT_EMPTY, "empty", "no card")                                                   \
    X(ENGINE_SLOT_PRESENT, "present", "card inserted")                                         \
    X(ENGINE_SLOT_AUTHORISING, "authorising", "authorising")                                   \
    X(ENGINE_SLOT_RECOVERING, "recovering", "checking an interrupted load")                    \
    X(ENGINE_SLOT_LOADING, "loading", "loading")                                               \
    X(ENGINE_SLOT_VERIFYING, "verifying", "verifying")                                         \
    X(ENGINE_SLOT_DELETING, "deleting-keys", "deleting one-time keys")                         \
    X(ENGINE_SLOT_PASS, "pass", "PASS")                                                        \
    X(ENGINE_SLOT_FAIL, "fail", "FAIL")                                                        \
    X(ENGINE_SLOT_ATTENTION, "attention", "ATTENTION")                                         \
    X(ENGINE_SLOT_GONE, "gone", "reader disconnected")
// clang-format on

typedef enum {
#define ENGINE_X_ENUM(st, name, text) st,
    ENGINE_SLOT_STATES(ENGINE_X_ENUM)
#undef ENGINE_X_ENUM
        ENGINE_SLOT__COUNT
} engine_slot_state_t;

/* "loading"...; "?" out of range. Static storage. */
const char *engine_slot_state_name(engine_slot_state_t s);
/* "PASS", "no card"...; for the operator. Static storage. */
const char *engine_slot_state_text(engine_slot_state_t s);
/* True for AUTHORISING..DELETING. */
bool engine_slot_busy(engine_slot_state_t s);

typedef enum {
    ENGINE_EV_INSERTED = 1,   /* card inserted (or reader back with a card) */
    ENGINE_EV_REMOVED = 2,    /* card removed, or the job lost it */
    ENGINE_EV_GONE = 3,       /* reader gone */
    ENGINE_EV_JOB = 4,        /* a job starts */
    ENGINE_EV_RECOVER = 5,    /* BPPs of the card are left in loading */
    ENGINE_EV_LOAD = 6,       /* pending BPPs to load */
    ENGINE_EV_VERIFY = 7,     /* nothing (more) to load */
    ENGINE_EV_DELETE = 8,     /* delete the one-time keys */
    ENGINE_EV_PASS = 9,       /* the step succeeded and the job is over */
    ENGINE_EV_FAIL = 10,      /* a fault or a mismatch */
    ENGINE_EV_ATTENTION = 11, /* a person must look */
} engine_event_t;

/* The transition table above; returns `s` unchanged for an event that does not apply. */
engine_slot_state_t engine_slot_next(engine_slot_state_t s, engine_event_t ev);

/* The commands of DESIGN §4 (load|verify|delete-keys). LOAD is also the automatic job. */
typedef enum {
    ENGINE_CMD_LOAD = 1,        /* recover, load everything pending, verify, [delete keys] */
    ENGINE_CMD_VERIFY = 2,      /* recover, verify only (no new load) */
    ENGINE_CMD_DELETE_KEYS = 3, /* recover, DeleteOneTimeKeys (FF42) when nothing is left */
} engine_cmd_t;

const char *engine_cmd_name(engine_cmd_t c); /* "load", "verify", "delete-keys" */

// clang-format off
/*
 * Project FPA error codes (fpaErrorCode of failed report entries, docs/ifpp-files.asn), with
 * the operator text. X-macro: name, value, text. Values are stable: append only.
 * ENGINE_FPA_RETRIES (8) is no longer recorded: a BPP whose retries ran out keeps the code of
 * its cause and its text says "retries exhausted after N attempts" (engine_settle_text); the
 * value stays reserved for stores and reports written before.
 */
#define ENGINE_FPA_ERRORS(X)                                                                   \
    X(ENGINE_FPA_NONE, 0, "no error")                                                          \
    X(ENGINE_FPA_PIR_ERROR, 1, "the card refused the profile (see the SGP.22 code)")           \
    X(ENGINE_FPA_PIR_SIGNATURE, 2, "the card's installation result is not signed by this card")\
    X(ENGINE_FPA_PREPARE_REFUSED, 3, "the card refused to prepare the load")                   \
    X(ENGINE_FPA_KEY_CONSUMED, 4, "the card's one-time key for this profile is already used")  \
    X(ENGINE_FPA_CARD_SW, 5, "the card refused a command (status word)")                       \
    X(ENGINE_FPA_PROTOCOL, 6, "the card answered something unexpected")                        \
    X(ENGINE_FPA_INTERRUPTED, 7, "the load was interrupted")                                   \
    X(ENGINE_FPA_RETRIES, 8, "too many failed attempts (no longer recorded)")                  \
    X(ENGINE_FPA_BPP_INVALID, 9, "the stored profile package is damaged")                      \
    X(ENGINE_FPA_KEYS_DELETED, 10, "the card's one-time keys were deleted")                    \
    X(ENGINE_FPA_UNKNOWN_KEY, 11, "the card does not know the one-time key of this profile")
// clang-format on

typedef enum {
#define ENGINE_X_FPA(name, value, text) name = value,
    ENGINE_FPA_ERRORS(ENGINE_X_FPA)
#undef ENGINE_X_FPA
} engine_fpa_error_t;

/* Operator text of an FPA error code; never NULL. */
const char *engine_fpa_error_text(int code);

/* One reader as the UI shows it. */
typedef struct {
    char name[ENGINE_NAME_MAX];  /* PC/SC name */
    char id[ENGINE_NAME_MAX];    /* identity without the plug-order index (monitor.h) */
    char label[ENGINE_NAME_MAX]; /* [readers] slot label, "" when not configured */
    engine_slot_state_t state;
    bool card_present;
    bool has_eid;
    char eid[33];         /* decimal digits, "" when unknown */
    uint32_t loaded, due; /* profiles of this card: installed / installed + still to load */
    uint32_t bpp_index;   /* the BPP being loaded, 1-based; 0 when none */
    uint32_t bpp_count;   /* BPPs to load in this job */
    uint64_t bytes_done, bytes_total; /* of the BPP being loaded */
    char error[ENGINE_TEXT_MAX];      /* last error for the operator; "" when none */
    char detail[ENGINE_TEXT_MAX];     /* for the engineer: SGP.22 bppCommandId/errorReason, SW,
                                         status name; "" when none */
    int bpp_command_id;               /* SGP.22 of the last failure, -1 none */
    int error_reason;                 /* SGP.22 of the last failure, -1 none */
    int fpa_error;                    /* engine_fpa_error_t, -1 none */
    bool interrupted;                 /* the last job lost its card mid-way */
    uint32_t jobs;                    /* jobs run on this reader */
    int64_t changed_ms;               /* CLOCK_MONOTONIC ms of the last change */
} engine_reader_snap_t;

typedef struct {
    uint64_t seq; /* bumps on every change */
    bool running;
    bool service_down; /* pcscd unavailable */
    engine_reader_snap_t readers[ENGINE_MAX_READERS];
    size_t n_readers;
    uint64_t passed, failed, attention; /* units (cards, by EID) since start, by their latest
                                           verdict: a re-seated card that passes after a fail
                                           is one passed unit (engine_units.c) */
    uint64_t verdicts;                  /* every verdict, repeats of one card included */
    uint64_t installed;                 /* BPPs installed since start */
    double units_per_hour;              /* new units over the last hour (extrapolated) */
    store_bundle_stats_t bundles[ENGINE_SNAP_BUNDLES]; /* per bundle and BPP state */
    size_t n_bundles;
    uint64_t pending; /* pending + failed (retryable) BPPs, all bundles */
} engine_snapshot_t;

typedef void (*engine_change_cb)(void *ud);

typedef struct {
    const config_t *cfg;        /* borrowed; must outlive the engine */
    const char *store_path;     /* copied */
    const char *lock_path;      /* copied; NULL: no lock (tests). Held from create to free */
    const char *op;             /* operator of the automatic jobs; NULL: ENGINE_DEFAULT_OPERATOR */
    bool auto_load;             /* run a LOAD job on every card insertion (run/ui) */
    engine_change_cb on_change; /* may be NULL; called from engine threads, must not block */
    void *ud;
} engine_opts_t;

typedef struct engine engine_t;

/*
 * Creates an engine: takes the lock (ST_E_LOCKED when another process holds it), loads the
 * DM key of the configuration ([dm] key; ST_E_CONFIG when missing), opens the store once to
 * check it. Starts no thread. `opts` is copied. Caller owns *out (engine_free).
 */
st_t engine_create(const engine_opts_t *opts, engine_t **out);

/* Starts the monitor thread; workers start as readers appear. ST_E_STATE if started. */
st_t engine_start(engine_t *e);

/*
 * Stops: no new job; a job in progress finishes the BPP it is loading (abandon = false) or
 * stops at the next APDU sequence (abandon = true, the BPP stays loading for recovery) and
 * settles the store; then joins every thread. Idempotent.
 */
void engine_stop(engine_t *e, bool abandon);

/* Async-signal-safe (one atomic store): a job in progress stops at its next APDU sequence
 * instead of finishing its BPP. For a second SIGTERM while engine_stop() waits. */
void engine_abandon(engine_t *e);

/* Stops if needed, releases the lock, frees. NULL-tolerant. */
void engine_free(engine_t *e);

/*
 * Queues a command on one reader (PC/SC name, identity, slot label or "(serial)") or on every
 * reader with a card (reader NULL). `op` is the operator id recorded with every attempt and
 * audit row (copied; NULL: the default). ST_E_NO_READER for an unknown reader, ST_E_STATE
 * when the reader has a command queued already.
 */
st_t engine_command(engine_t *e, const char *reader, engine_cmd_t cmd, const char *op);

/* Copies the current state (under the engine's mutex). */
void engine_snapshot(engine_t *e, engine_snapshot_t *out);

/*
 * Read end of a non-blocking pipe that becomes readable when the snapshot changed (coalesced:
 * one byte at a time). Call engine_event_ack() after reading. Borrowed.
 */
int engine_event_fd(const engine_t *e);
void engine_event_ack(engine_t *e);

/*
 * True when the engine has nothing left to do without a new card: every reader seen at start
 * is known, no job runs or is queued, no card left mid-load in the last `settle_ms`, and
 * nothing changed for `quiet_ms`. For `run --until-idle` and tests.
 */
bool engine_idle(engine_t *e, unsigned quiet_ms, unsigned settle_ms);

/*
 * One-shot: runs one job on `reader` in the calling thread (the engine must not be started),
 * for `ifpp-station load|verify|delete-keys --reader`. *out (may be NULL) gets the reader's
 * final state. ST_OK when the job ran to a verdict (PASS, FAIL or ATTENTION: see out->state);
 * ST_E_NO_READER / ST_E_NO_CARD / ST_E_SHARING / ST_E_CARD_REMOVED... when it could not.
 */
st_t engine_run_once(engine_t *e, const char *reader, engine_cmd_t cmd, const char *op,
                     engine_reader_snap_t *out);

#endif
