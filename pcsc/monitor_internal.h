/*
 * monitor_internal.h - the monitor's PC/SC backend seam, for transport_pcsc.c (which provides
 * the real one, keeping <PCSC/winscard.h> in a single file) and for tests (a fake backend
 * drives monitor_round() without pcscd). Not a public interface.
 */
#ifndef IFPP_MONITOR_INTERNAL_H
#define IFPP_MONITOR_INTERNAL_H

#include "monitor.h"

typedef struct {
    const char *name; /* borrowed; a reader name or MONITOR_PNP_NAME */
    uint32_t current; /* in: what the caller last saw (dwCurrentState) */
    uint32_t event;   /* out: dwEventState */
} monitor_wait_entry_t;

typedef struct {
    /* New context (SCardEstablishContext); *ctx owned until release. */
    st_t (*establish)(void **ctx);
    void (*release)(void *ctx);
    /* Reader names into names[0..cap); *total = how many pcscd has (may exceed cap). */
    st_t (*list)(void *ctx, char (*names)[MONITOR_NAME_MAX], size_t cap, size_t *total);
    /* SCardGetStatusChange: ST_OK, ST_E_TIMEOUT, ST_E_CANCELLED, ST_E_NO_SERVICE, ... */
    st_t (*wait)(void *ctx, monitor_wait_entry_t *e, size_t n, unsigned timeout_ms);
    /* SCardCancel; called from another thread while wait() may be blocked. */
    st_t (*cancel)(void *ctx);
} monitor_backend_t;

/* The PC/SC backend (transport_pcsc.c). */
const monitor_backend_t *monitor_pcsc_backend(void);

/* A monitor without a thread: the caller runs the rounds. `be` is borrowed (static). */
st_t monitor_create(const monitor_backend_t *be, const monitor_opts_t *opts, monitor_t **out);

/*
 * One round: (re)establish the context if needed, list, wait, diff, deliver. ST_OK after a
 * change or a timeout; ST_E_CANCELLED after monitor_stop's cancel; ST_E_NO_SERVICE when pcscd
 * is unreachable (the caller sleeps a round before the next one).
 */
st_t monitor_round(monitor_t *m);

/* Frees a monitor made by monitor_create (no thread involved). NULL-tolerant. */
void monitor_destroy(monitor_t *m);

#endif
