/*
 * status.h - what `ifpp-station status` shows (DESIGN §4): BPP counts per bundle and per state
 * (pending / loading / installed / failed / dead) with totals, the yield (installed /
 * (installed + dead), overall and per bundle), eUICC and one-time key counts, the yield of
 * each reader from its load attempts, the last failed/dead BPPs with their reason, and the
 * BPPs left in loading (the crash/pulled-card cases recovery will settle, with reader and last
 * error). Read-only: works on a STORE_OPEN_READONLY handle beside a running engine. Rendering
 * goes to a buffer (text or JSON); nothing is printed here.
 */
#ifndef IFPP_STATION_STATUS_H
#define IFPP_STATION_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"
#include "store.h"

typedef struct {
    store_stats_list_t bundles; /* per bundle, import order */
    uint64_t total[STORE_BPP__COUNT];
    uint64_t n_bpps;
    uint64_t n_announced;         /* entries announced by the bundle headers */
    store_loading_list_t loading; /* BPPs in loading, oldest first */
    store_inventory_t inventory;  /* eUICCs and one-time keys */
    store_failure_list_t errors;  /* failed/dead BPPs, newest first, <= STATUS_LAST_ERRORS */
    store_reader_list_t readers;  /* load attempts per reader */
    store_shift_list_t shifts;    /* load attempts per shift, newest first (when collected) */
    int shift_hours;              /* length of those shifts */
} status_t;

#define STATUS_SHIFTS 6 /* shifts shown */

#define STATUS_LAST_ERRORS 10

/* ok / (ok + bad) into *yield; false (no figure) when both are 0. */
bool status_yield(uint64_t ok, uint64_t bad, double *yield);

/* Collects the figures. Caller frees with status_free. */
st_t status_collect(store_t *s, status_t *out);
void status_free(status_t *st); /* NULL-tolerant; leaves it zeroed */

/* Adds the yield per production shift (shifts of `hours` starting daily at `start_hour` UTC,
 * the most recent STATUS_SHIFTS that had attempts) to a collected status. */
st_t status_collect_shifts(store_t *s, int start_hour, int hours, status_t *out);

/* Appends the human-readable table (json=false) or one JSON object (json=true) to out. */
st_t status_render(const status_t *st, bool json, buf_t *out);

#endif
