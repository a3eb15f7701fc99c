/*
 * ui.h - the ncurses operator console (DESIGN §1, §3; issue 7): `ifpp-station ui`.
 *
 * The console reads engine SNAPSHOTS and sends engine COMMANDS; it never touches pcsc/ or
 * store/. Everything it needs from the station comes through ui_ops_t, which the station
 * (station/cli_ui.c) implements with the engine (engine.h) and thin station-level services
 * (import, report export, results, audit) that run off the UI thread. The UI thread never
 * waits on card I/O: engine threads do the work, the UI polls snapshots and a change fd.
 *
 * Operators and PINs live in the operators file named by [station] operator_pin_file: one
 * line per operator "ID ROLE pbkdf2-sha256$ITER$SALT$HASH" (hex salt and hash; PBKDF2-HMAC-
 * SHA256, per-operator salt and iteration count), written 0600 by `ifpp-station operator`.
 * Without such a file there is no log-in: the console runs as ENGINE_DEFAULT_OPERATOR with the
 * operator role (no supervisor functions).
 */
#ifndef IFPP_UI_H
#define IFPP_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "engine.h"

#define UI_OP_ID_MAX        32 /* operator id: 1..32 of [A-Za-z0-9._-] */
#define UI_PIN_MIN          4
#define UI_PIN_MAX          32
#define UI_PIN_SALT_LEN     16
#define UI_PIN_HASH_LEN     32 /* PBKDF2-HMAC-SHA256 output */
#define UI_PIN_DEFAULT_ITER 200000u
#define UI_PIN_MIN_ITER     1000u
#define UI_TEXT_MAX         256
#define UI_TASK_LINES       8

/* Roles (issue 7): what a logged-in person may do. Ordered: a supervisor may do what an
 * operator may. */
typedef enum {
    UI_ROLE_NONE = 0,       /* nobody logged in */
    UI_ROLE_OPERATOR = 1,   /* load, verify, reject */
    UI_ROLE_SUPERVISOR = 2, /* + delete one-time keys, import, export, settings */
} ui_role_t;

const char *ui_role_name(ui_role_t r); /* "operator", "supervisor", "-"; static */
bool ui_role_parse(const char *s, ui_role_t *out);

/* ---- operators file (PINs stored hashed) ---- */

typedef struct {
    char id[UI_OP_ID_MAX + 1];
    ui_role_t role;
    uint32_t iter;
    uint8_t salt[UI_PIN_SALT_LEN];
    uint8_t hash[UI_PIN_HASH_LEN];
} ui_operator_t;

typedef struct {
    ui_operator_t *v; /* owned; ui_operators_free */
    size_t n;
} ui_operators_t;

/* True for 1..UI_OP_ID_MAX characters of [A-Za-z0-9._-]. */
bool ui_operator_id_valid(const char *id);

/* PBKDF2-HMAC-SHA256(pin, salt, iter) -> out. ST_E_INVAL for iter < 1 or a NULL pin. */
st_t ui_pin_hash(const char *pin, const uint8_t *salt, size_t salt_len, uint32_t iter,
                 uint8_t out[UI_PIN_HASH_LEN]);

/*
 * Reads an operators file into *out (replaced; caller frees). ST_E_NOENT when it does not
 * exist, ST_E_PERM when group/world-writable, ST_E_CONFIG for a bad line (err, may be NULL,
 * gets "FILE:LINE: why").
 */
st_t ui_operators_load(const char *path, ui_operators_t *out, char *err, size_t err_len);

/* Writes the file atomically, mode 0600. */
st_t ui_operators_save(const char *path, const ui_operators_t *ops);

/* Adds or replaces operator `id` with a fresh random salt. ST_E_INVAL for a bad id, a PIN
 * outside UI_PIN_MIN..UI_PIN_MAX digits/characters or iter < UI_PIN_MIN_ITER. */
st_t ui_operators_set(ui_operators_t *ops, const char *id, ui_role_t role, const char *pin,
                      uint32_t iter);

/* ST_E_NOENT when `id` is not there. */
st_t ui_operators_remove(ui_operators_t *ops, const char *id);

void ui_operators_free(ui_operators_t *ops); /* NULL-tolerant; leaves it zeroed */

/*
 * Checks a log-in. ST_OK and *role when `id` exists and `pin` matches (constant-time compare);
 * ST_E_PERM otherwise. An unknown id costs the same PBKDF2 work as a known one.
 */
st_t ui_operators_check(const ui_operators_t *ops, const char *id, const char *pin,
                        ui_role_t *role);

/* ---- what the station provides ---- */

/* A background task (import from a stick, report export) as the console shows it. */
typedef struct {
    bool active; /* running */
    bool done;   /* finished (stays until the next task starts); lines hold the outcome */
    bool failed; /* finished with a refusal or error */
    char title[UI_TEXT_MAX];
    char item[UI_TEXT_MAX];               /* the file in progress */
    uint64_t bytes_done, bytes_total;     /* of the file in progress */
    uint64_t entries_done, entries_total; /* BPPs / eUICCs / results */
    char lines[UI_TASK_LINES][UI_TEXT_MAX];
    size_t n_lines;
} ui_task_t;

typedef enum {
    UI_VERDICT_PASS = 0,
    UI_VERDICT_FAIL = 1,
    UI_VERDICT_ATTENTION = 2,
} ui_verdict_t;

typedef enum {
    UI_RES_CARD = 0,    /* a card's verdict on the line, seen by this console */
    UI_RES_PROFILE = 1, /* a profile result in the store, not yet in a report */
} ui_result_kind_t;

typedef struct {
    ui_result_kind_t kind;
    int64_t at; /* Unix seconds */
    ui_verdict_t verdict;
    char eid[33];
    char iccid[21];              /* "" for card rows */
    char where[ENGINE_NAME_MAX]; /* slot, or SM-DPf OID for profile rows */
    char text[UI_TEXT_MAX];
} ui_result_t;

/*
 * The station side. Every call returns quickly: card I/O happens in engine threads, imports and
 * exports in a station worker thread. Functions a station lacks may be NULL (the console then
 * says the function is not available). Called from the UI thread only.
 */
typedef struct {
    void *ud;
    void (*snapshot)(void *ud, engine_snapshot_t *out);
    int (*event_fd)(void *ud);   /* readable when the snapshot changed; -1: none */
    void (*event_ack)(void *ud); /* after event_fd was readable */
    st_t (*command)(void *ud, const char *reader, engine_cmd_t cmd, const char *op);
    st_t (*import_start)(void *ud, const char *path, const char *op);
    st_t (*export_start)(void *ud, const char *dir, const char *op);
    void (*task)(void *ud, ui_task_t *out); /* state of the last import/export */
    /* Up to `max` profile results awaiting a report, newest first; *n set. */
    st_t (*results)(void *ud, ui_result_t *v, size_t max, size_t *n);
    /* An audit row (queued; written off the UI thread). */
    void (*audit)(void *ud, const char *op, const char *action, const char *object,
                  const char *value);
} ui_ops_t;

typedef struct {
    const ui_ops_t *ops;         /* required, borrowed */
    const char *station_id;      /* header; may be NULL */
    const char *operators_path;  /* NULL: no log-in (see above) */
    const char *import_dir;      /* default of the import prompt; may be NULL */
    const char *export_dir;      /* default of the export prompt; may be NULL */
    const char *const *settings; /* "key = value" lines for the settings screen */
    size_t n_settings;
    int log_fd; /* engine log lines are appended here too; -1: none */
} ui_opts_t;

/* True when stdin and stdout are terminals (the console refuses to start otherwise). */
bool ui_have_tty(void);

/*
 * Runs the console until the operator quits or SIGTERM/SIGINT arrives. Takes over the log sink
 * (engine log lines go to the event log, and to log_fd) and restores stderr on return.
 * ST_E_UNSUPPORTED without a terminal, ST_E_CONFIG for a bad operators file; ST_OK on a normal
 * exit. endwin() runs on every exit path.
 */
st_t ui_run(const ui_opts_t *o);

#endif
