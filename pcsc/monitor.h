/*
 * monitor.h - the reader monitor: one thread, one SCARDCONTEXT of its own, turning
 * SCardGetStatusChange over every reader plus "\\?PnP?\Notification" into edge events
 * (reader added, reader gone, card inserted, card removed). DESIGN §3, style-anchors 15-18.
 *
 * Each round lists the readers (at most MONITOR_MAX_READERS), waits with a finite timeout,
 * copies dwCurrentState = dwEventState and derives the events with the pure functions below
 * (unit-tested without PC/SC). Shutdown calls SCardCancel on the monitor's own context, as
 * pcsc-lite requires. Events reach the caller through a callback (run on the monitor thread)
 * or, without a callback, through a queue signalled on a pipe fd (one byte per event).
 *
 * Reader identity (monitor_reader_id): pcsc-lite names a reader
 *   "<driver name> [<USB interface>] (<serial>) DD SS"
 * where DD is the first free index among readers of the same name, so it depends on plug
 * order, and SS is the slot of a multi-slot reader, which is fixed by the hardware/driver.
 * The identity drops DD and keeps SS: "Gemalto PC Twin Reader (8F2E1A4B) 00 00" -> "Gemalto PC
 * Twin Reader (8F2E1A4B) 00"; vpcd's two slots "Virtual PCD 00 00" / "Virtual PCD 00 01" ->
 * "Virtual PCD 00" / "Virtual PCD 01". Names without the trailing " DD SS" (two upper-case
 * hex pairs) are their own identity. When two readers present at the same time would get the
 * same identity (identical readers without a serial), both keep their full name instead, with
 * a warning: their position on the line then depends on plug order. Give such readers
 * distinct friendly names (reader.conf FRIENDLYNAME, PCSCLITE_FILTER_EXTEND_READER_NAMES).
 */
#ifndef IFPP_MONITOR_H
#define IFPP_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* pcsc-lite 1.9.9 (Debian 12): PCSCLITE_MAX_READERS_CONTEXTS reader slots per pcscd. */
#define MONITOR_MAX_READERS 16
#define MONITOR_NAME_MAX    128 /* pcsc-lite MAX_READERNAME, NUL included */
#define MONITOR_PNP_NAME    "\\\\?PnP?\\Notification"

/* Reader state bits: the values of SCARD_STATE_* (checked at compile time in transport_pcsc.c).
 * The upper 16 bits carry pcsc-lite's per-reader insertion/removal counter. */
#define MONITOR_STATE_UNAWARE     0x0000u
#define MONITOR_STATE_IGNORE      0x0001u
#define MONITOR_STATE_CHANGED     0x0002u
#define MONITOR_STATE_UNKNOWN     0x0004u
#define MONITOR_STATE_UNAVAILABLE 0x0008u
#define MONITOR_STATE_EMPTY       0x0010u
#define MONITOR_STATE_PRESENT     0x0020u
#define MONITOR_STATE_EXCLUSIVE   0x0080u
#define MONITOR_STATE_INUSE       0x0100u
#define MONITOR_STATE_MUTE        0x0200u
#define MONITOR_STATE_COUNTER(s)  (((uint32_t)(s) >> 16) & 0xFFFFu)

typedef enum {
    MONITOR_EV_READER_ADDED = 1,
    MONITOR_EV_READER_GONE = 2,
    MONITOR_EV_CARD_INSERTED = 3, /* state may carry MONITOR_STATE_MUTE */
    MONITOR_EV_CARD_REMOVED = 4,
    MONITOR_EV_ERROR = 5, /* status: ST_E_NO_SERVICE, ST_E_READER_LIMIT, ... */
} monitor_event_kind_t;

typedef struct {
    monitor_event_kind_t kind;
    char reader[MONITOR_NAME_MAX]; /* PC/SC name, for transport_open() */
    char id[MONITOR_NAME_MAX];     /* stable identity (see above) */
    uint32_t state;                /* the reader's new state bits */
    st_t status;                   /* MONITOR_EV_ERROR only */
} monitor_event_t;

typedef struct {
    char name[MONITOR_NAME_MAX];
    char id[MONITOR_NAME_MAX];
    uint32_t state;
} monitor_reader_t;

/* "readerAdded", "cardInserted", ...; never NULL. */
const char *monitor_event_name(monitor_event_kind_t kind);

/* ---- pure functions (no PC/SC, no allocation) ---- */

/* Edge bits returned by monitor_edges, emitted in this order when several are set. */
#define MONITOR_EDGE_ADDED    0x1u
#define MONITOR_EDGE_REMOVED  0x2u
#define MONITOR_EDGE_INSERTED 0x4u
#define MONITOR_EDGE_GONE     0x8u

/*
 * Edges between two successive event states of one reader (OpenSC pcsc_wait_for_event).
 * A reader is alive unless UNKNOWN or IGNORE is set; present when alive and PRESENT is set.
 *
 *   prev               now                     edges
 *   alive, empty       alive, present          INSERTED
 *   alive, present     alive, empty            REMOVED
 *   alive, present     alive, present, counter REMOVED|INSERTED (card swapped between rounds)
 *                      (upper 16 bits) differs
 *   alive, present     not alive               REMOVED|GONE
 *   alive, empty       not alive               GONE
 *   not alive          alive                   ADDED (|INSERTED if present)
 *   anything else                              none
 */
unsigned monitor_edges(uint32_t prev, uint32_t now);

/*
 * Events between two reader lists (matched by name). A reader only in `now` is ADDED (then
 * INSERTED if present); one only in `prev` is REMOVED (if present) then GONE, unless prev
 * already showed it not alive (its GONE was reported then); a reader in both gets
 * monitor_edges(). Readers missing from `now` come first, then `now` in order. Each event
 * copies name, id and state from the reader. Writes at most `cap` events; returns how many
 * there were (so a return > cap means truncation). 2 * (np + nn) is always enough.
 */
size_t monitor_diff(const monitor_reader_t *prev, size_t np, const monitor_reader_t *now, size_t nn,
                    monitor_event_t *out, size_t cap);

/* Identity of one reader name, see the rule at the top; out gets at most outlen-1 chars. */
void monitor_reader_id(const char *name, char *out, size_t outlen);

/* Sets list[i].id for every reader, falling back to the full name on collisions. Returns
 * the number of readers that collided (0 in a well-configured line). */
size_t monitor_assign_ids(monitor_reader_t *list, size_t n);

/* Start-up check of a configured fixture size: ST_E_READER_LIMIT above 16. */
st_t monitor_check_fixture_size(size_t n_readers);

/* ---- the monitor thread ---- */

/* Called on the monitor thread; `ev` is valid during the call only. Must not block long. */
typedef void (*monitor_cb_t)(const monitor_event_t *ev, void *ud);

typedef struct {
    monitor_cb_t cb;     /* NULL: queue + monitor_fd()/monitor_next() */
    void *ud;            /* borrowed, passed to cb */
    unsigned timeout_ms; /* per SCardGetStatusChange round; 0 means 1000 */
} monitor_opts_t;

typedef struct monitor monitor_t;

/*
 * Establishes the monitor's context and starts its thread. The first round reports every
 * reader already there as ADDED (and INSERTED). If pcscd is not running the monitor retries
 * every round and reports MONITOR_EV_ERROR/ST_E_NO_SERVICE once. Caller owns *out
 * (monitor_stop). `opts` is copied; NULL means defaults.
 */
st_t monitor_start(const monitor_opts_t *opts, monitor_t **out);

/* Read end of the event pipe (non-blocking), -1 when a callback was given. Borrowed. */
int monitor_fd(const monitor_t *m);

/* Pops the oldest queued event: ST_OK, or ST_E_NOENT when the queue is empty. Thread-safe. */
st_t monitor_next(monitor_t *m, monitor_event_t *ev);

/* Copies the readers as of the last round (at most cap) and sets *n. Thread-safe. */
st_t monitor_snapshot(monitor_t *m, monitor_reader_t *out, size_t cap, size_t *n);

/* SCardCancel on the monitor's context, joins the thread, frees. NULL-tolerant. */
void monitor_stop(monitor_t *m);

#endif
