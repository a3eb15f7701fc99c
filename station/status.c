/*
 * status.c - figures for `ifpp-station status` from the store (status.h), text and JSON.
 *
 * JSON shape (one object; ids and EIDs as strings; a yield is a fraction 0..1, or null when
 * nothing was installed or given up yet):
 *   {"bpps": {"total": N, "pending": N, "loading": N, "installed": N, "failed": N, "dead": N,
 *             "announced": N},
 *    "yield": Y,
 *    "euiccs": {"total": N, "with_bpp": N, "requested": N, "unrequested": N, "no_key": N},
 *    "keys": {"total": N, "unused": N, "requested": N, "bound": N, "consumed": N, "deleted": N},
 *    "bundles": [{"bundle_id": "hex", "smdpf": "2.999.10", "announced": N, "pending": N, ...,
 *                 "yield": Y}],
 *    "readers": [{"reader": "...", "attempts": N, "installed": N, "failed": N,
 *                 "interrupted": N, "yield": Y}],
 *    "last_errors": [{"bpp": ID, "state": "failed"|"dead", "eid": "89...", "bundle_id": "hex",
 *                     "seq": N, "smdpf": "...", "retries": N, "at": UNIX, "reader": "...",
 *                     "fpa_error_code": N|null, "error": "..."}],
 *    "loading": [{"bpp": ID, "eid": "89...", "bundle_id": "hex", "seq": N, "reader": "...",
 *                 "since": UNIX, "retries": N, "last_error": "..."}]}
 * A reader's yield counts its attempts: installed / (installed + failed); interrupted ones
 * (card pulled, station stopped) count for neither.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto/cert.h"
#include "plr_codes.h"
#include "status.h"

void status_free(status_t *st) {
    if (!st)
        return;
    store_stats_list_free(&st->bundles);
    store_loading_list_free(&st->loading);
    store_failure_list_free(&st->errors);
    store_reader_list_free(&st->readers);
    store_shift_list_free(&st->shifts);
    memset(st, 0, sizeof(*st));
}

st_t status_collect(store_t *s, status_t *out) {
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    if ((st = store_bundle_stats(s, &out->bundles)) != ST_OK
        || (st = store_bpp_loading(s, &out->loading)) != ST_OK
        || (st = store_inventory(s, &out->inventory)) != ST_OK
        || (st = store_bpp_failures(s, STATUS_LAST_ERRORS, &out->errors)) != ST_OK
        || (st = store_reader_stats(s, &out->readers)) != ST_OK) {
        status_free(out);
        return st;
    }
    for (size_t i = 0; i < out->bundles.n; i++) {
        const store_bundle_stats_t *b = &out->bundles.v[i];
        out->n_announced += b->entry_count;
        for (int k = 0; k < STORE_BPP__COUNT; k++) {
            out->total[k] += b->count[k];
            out->n_bpps += b->count[k];
        }
    }
    return ST_OK;
}

bool status_yield(uint64_t ok, uint64_t bad, double *yield) {
    if (ok + bad == 0) {
        *yield = 0;
        return false;
    }
    *yield = (double)ok / (double)(ok + bad);
    return true;
}

/* Key states in the order they are lived (unused -> requested -> bound -> consumed). */
static const store_otk_state_t key_order[] = {
    STORE_OTK_UNUSED, STORE_OTK_REQUESTED, STORE_OTK_BOUND, STORE_OTK_CONSUMED, STORE_OTK_DELETED};

static void utc(int64_t t, char *out, size_t len) {
    time_t tt = (time_t)t;
    struct tm tmv;
    if (t <= 0 || !gmtime_r(&tt, &tmv) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tmv) == 0)
        snprintf(out, len, "-");
}

static st_t app(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static st_t app(buf_t *b, const char *fmt, ...) {
    va_list ap;
    char tmp[1024];
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return ST_E_INVAL;
    return buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A JSON string literal of s (quotes, backslash and control characters escaped). */
static st_t app_json_str(buf_t *b, const char *s) {
    st_t st = buf_append_byte(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; st == ST_OK && *p; p++) {
        if (*p == '"' || *p == '\\')
            st = app(b, "\\%c", *p);
        else if (*p < 0x20)
            st = app(b, "\\u%04x", *p);
        else
            st = buf_append_byte(b, *p);
    }
    return st == ST_OK ? buf_append_byte(b, '"') : st;
}

/* ,"yield":Y or null */
static st_t app_json_yield(buf_t *b, uint64_t ok, uint64_t bad) {
    double y;
    if (!status_yield(ok, bad, &y))
        return app(b, ",\"yield\":null");
    return app(b, ",\"yield\":%.4f", y);
}

static st_t render_json_inventory(const status_t *s, buf_t *out) {
    const store_inventory_t *v = &s->inventory;
    st_t st;

    st = app(out,
             ",\"euiccs\":{\"total\":%" PRIu64 ",\"with_bpp\":%" PRIu64 ",\"requested\":%" PRIu64
             ",\"unrequested\":%" PRIu64 ",\"no_key\":%" PRIu64 "},\"keys\":{\"total\":%" PRIu64,
             v->euiccs, v->euiccs_with_bpp, v->euiccs_requested, v->euiccs_unrequested,
             v->euiccs_no_key, v->keys);
    for (size_t k = 0; st == ST_OK && k < sizeof(key_order) / sizeof(key_order[0]); k++)
        st = app(out, ",\"%s\":%" PRIu64, store_otk_state_name(key_order[k]),
                 v->keys_by_state[key_order[k]]);
    if (st == ST_OK)
        st = buf_append_byte(out, '}');
    return st;
}

st_t status_collect_shifts(store_t *s, int start_hour, int hours, status_t *out) {
    if (!s || !out || hours < 1 || hours > 24 || start_hour < 0 || start_hour > 23)
        return ST_E_INVAL;
    out->shift_hours = hours;
    /* shifts tile the time line from start_hour UTC on 1970-01-01, so with a divisor of 24
     * hours they start at the same hours every day */
    return store_shift_stats(s, (int64_t)start_hour * 3600, (int64_t)hours * 3600, STATUS_SHIFTS,
                             &out->shifts);
}

static st_t render_json_shifts(const status_t *s, buf_t *out) {
    st_t st = app(out, ",\"shifts\":[");

    for (size_t i = 0; st == ST_OK && i < s->shifts.n; i++) {
        const store_shift_stats_t *r = &s->shifts.v[i];
        st = app(out,
                 "%s{\"start\":%" PRId64 ",\"hours\":%d,\"attempts\":%" PRIu64
                 ",\"installed\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"interrupted\":%" PRIu64,
                 i ? "," : "", r->start, s->shift_hours, r->attempts, r->installed, r->failed,
                 r->interrupted);
        if (st == ST_OK)
            st = app_json_yield(out, r->installed, r->failed);
        if (st == ST_OK)
            st = buf_append_byte(out, '}');
    }
    return st == ST_OK ? buf_append_byte(out, ']') : st;
}

static st_t render_json_readers(const status_t *s, buf_t *out) {
    st_t st = app(out, ",\"readers\":[");

    for (size_t i = 0; st == ST_OK && i < s->readers.n; i++) {
        const store_reader_stats_t *r = &s->readers.v[i];
        st = app(out, "%s{\"reader\":", i ? "," : "");
        if (st == ST_OK)
            st = app_json_str(out, r->reader);
        if (st == ST_OK)
            st = app(out,
                     ",\"attempts\":%" PRIu64 ",\"installed\":%" PRIu64 ",\"failed\":%" PRIu64
                     ",\"interrupted\":%" PRIu64,
                     r->attempts, r->installed, r->failed, r->interrupted);
        if (st == ST_OK)
            st = app_json_yield(out, r->installed, r->failed);
        if (st == ST_OK)
            st = buf_append_byte(out, '}');
    }
    return st == ST_OK ? buf_append_byte(out, ']') : st;
}

static st_t render_json_errors(const status_t *s, buf_t *out) {
    char hex[2 * STORE_ID_LEN + 1], eid[33];
    st_t st = app(out, ",\"last_errors\":[");

    for (size_t i = 0; st == ST_OK && i < s->errors.n; i++) {
        const store_failure_t *f = &s->errors.v[i];
        hex_encode(f->bpp.bundle_id, STORE_ID_LEN, hex);
        eid_to_str(f->bpp.eid, eid);
        st = app(out,
                 "%s{\"bpp\":%" PRId64 ",\"state\":\"%s\",\"eid\":\"%s\",\"bundle_id\":\"%s\","
                 "\"seq\":%" PRIu32 ",\"smdpf\":",
                 i ? "," : "", f->bpp.id, store_bpp_state_name(f->bpp.state), eid, hex, f->bpp.seq);
        if (st == ST_OK)
            st = app_json_str(out, f->bpp.smdpf_oid);
        if (st == ST_OK)
            st = app(out, ",\"retries\":%" PRIu32 ",\"at\":%" PRId64 ",\"reader\":", f->bpp.retries,
                     f->bpp.updated_at);
        if (st == ST_OK)
            st = app_json_str(out, f->reader);
        if (st == ST_OK)
            st = f->fpa_error_code < 0 ? app(out, ",\"fpa_error_code\":null")
                                       : app(out, ",\"fpa_error_code\":%d", f->fpa_error_code);
        if (st == ST_OK)
            st = app(out, ",\"error\":");
        if (st == ST_OK)
            st = app_json_str(out, f->bpp.last_error);
        if (st == ST_OK)
            st = buf_append_byte(out, '}');
    }
    return st == ST_OK ? buf_append_byte(out, ']') : st;
}

static st_t render_json(const status_t *s, buf_t *out) {
    char hex[2 * STORE_ID_LEN + 1], eid[33];
    st_t st;

    st = app(out, "{\"bpps\":{\"total\":%" PRIu64, s->n_bpps);
    for (int k = 0; st == ST_OK && k < STORE_BPP__COUNT; k++)
        st = app(out, ",\"%s\":%" PRIu64, store_bpp_state_name((store_bpp_state_t)k), s->total[k]);
    if (st == ST_OK)
        st = app(out, ",\"announced\":%" PRIu64 "}", s->n_announced);
    if (st == ST_OK)
        st = app_json_yield(out, s->total[STORE_BPP_INSTALLED], s->total[STORE_BPP_DEAD]);
    if (st == ST_OK)
        st = render_json_inventory(s, out);
    if (st == ST_OK)
        st = app(out, ",\"bundles\":[");
    for (size_t i = 0; st == ST_OK && i < s->bundles.n; i++) {
        const store_bundle_stats_t *b = &s->bundles.v[i];
        hex_encode(b->bundle_id, STORE_ID_LEN, hex);
        st = app(out, "%s{\"bundle_id\":\"%s\",\"smdpf\":", i ? "," : "", hex);
        if (st == ST_OK)
            st = app_json_str(out, b->smdpf_oid);
        if (st == ST_OK)
            st = app(out, ",\"announced\":%" PRIu64, b->entry_count);
        for (int k = 0; st == ST_OK && k < STORE_BPP__COUNT; k++)
            st = app(out, ",\"%s\":%" PRIu64, store_bpp_state_name((store_bpp_state_t)k),
                     b->count[k]);
        if (st == ST_OK)
            st = app_json_yield(out, b->count[STORE_BPP_INSTALLED], b->count[STORE_BPP_DEAD]);
        if (st == ST_OK)
            st = buf_append_byte(out, '}');
    }
    if (st == ST_OK)
        st = buf_append_byte(out, ']');
    if (st == ST_OK)
        st = render_json_readers(s, out);
    if (st == ST_OK)
        st = render_json_shifts(s, out);
    if (st == ST_OK)
        st = render_json_errors(s, out);
    if (st == ST_OK)
        st = app(out, ",\"loading\":[");
    for (size_t i = 0; st == ST_OK && i < s->loading.n; i++) {
        const store_loading_t *l = &s->loading.v[i];
        hex_encode(l->bpp.bundle_id, STORE_ID_LEN, hex);
        eid_to_str(l->bpp.eid, eid);
        st = app(out,
                 "%s{\"bpp\":%" PRId64 ",\"eid\":\"%s\",\"bundle_id\":\"%s\",\"seq\":%" PRIu32
                 ",\"since\":%" PRId64 ",\"retries\":%" PRIu32 ",\"reader\":",
                 i ? "," : "", l->bpp.id, eid, hex, l->bpp.seq, l->started_at, l->bpp.retries);
        if (st == ST_OK)
            st = app_json_str(out, l->reader);
        if (st == ST_OK)
            st = app(out, ",\"last_error\":");
        if (st == ST_OK)
            st = app_json_str(out, l->bpp.last_error);
        if (st == ST_OK)
            st = buf_append_byte(out, '}');
    }
    if (st == ST_OK)
        st = app(out, "]}\n");
    return st;
}

/* "97.5%" or "-" */
static void pct(uint64_t ok, uint64_t bad, char *out, size_t len) {
    double y;
    if (status_yield(ok, bad, &y))
        snprintf(out, len, "%.1f%%", 100.0 * y);
    else
        snprintf(out, len, "-");
}

/* Yield, inventory, readers and the last errors, below the bundle table. */
static st_t render_text_more(const status_t *s, buf_t *out) {
    const store_inventory_t *v = &s->inventory;
    char y[16], eid[33], at[32], code[64];
    st_t st;

    pct(s->total[STORE_BPP_INSTALLED], s->total[STORE_BPP_DEAD], y, sizeof(y));
    st = app(out, "\nyield: %s (%" PRIu64 " installed, %" PRIu64 " dead)\n", y,
             s->total[STORE_BPP_INSTALLED], s->total[STORE_BPP_DEAD]);
    if (st == ST_OK)
        st = app(out,
                 "eUICCs: %" PRIu64 " (%" PRIu64 " with a BPP, %" PRIu64 " requested, %" PRIu64
                 " to request, %" PRIu64 " without a usable key)\n",
                 v->euiccs, v->euiccs_with_bpp, v->euiccs_requested, v->euiccs_unrequested,
                 v->euiccs_no_key);
    if (st == ST_OK)
        st = app(out, "one-time keys: %" PRIu64 " (", v->keys);
    for (size_t k = 0; st == ST_OK && k < sizeof(key_order) / sizeof(key_order[0]); k++)
        st = app(out, "%s%" PRIu64 " %s", k ? ", " : "", v->keys_by_state[key_order[k]],
                 store_otk_state_name(key_order[k]));
    if (st == ST_OK)
        st = app(out, ")\n");
    if (st == ST_OK && s->readers.n)
        st = app(out, "\n%-24s %9s %9s %9s %11s %7s\n", "reader", "attempts", "installed", "failed",
                 "interrupted", "yield");
    for (size_t i = 0; st == ST_OK && i < s->readers.n; i++) {
        const store_reader_stats_t *r = &s->readers.v[i];
        pct(r->installed, r->failed, y, sizeof(y));
        st = app(out, "%-24s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %11" PRIu64 " %7s\n", r->reader,
                 r->attempts, r->installed, r->failed, r->interrupted, y);
    }
    if (st == ST_OK && s->shifts.n)
        st = app(out, "\n%-24s %9s %9s %9s %11s %7s\n", "shift (UTC)", "attempts", "installed",
                 "failed", "interrupted", "yield");
    for (size_t i = 0; st == ST_OK && i < s->shifts.n; i++) {
        const store_shift_stats_t *r = &s->shifts.v[i];
        char from[32];
        utc(r->start, from, sizeof(from));
        pct(r->installed, r->failed, y, sizeof(y));
        st = app(out, "%-17.16s +%-5dh %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %11" PRIu64 " %7s\n",
                 from, s->shift_hours, r->attempts, r->installed, r->failed, r->interrupted, y);
    }
    if (st == ST_OK && s->errors.n)
        st = app(out, "\nlast errors (newest first):\n");
    for (size_t i = 0; st == ST_OK && i < s->errors.n; i++) {
        const store_failure_t *f = &s->errors.v[i];
        eid_to_str(f->bpp.eid, eid);
        utc(f->bpp.updated_at, at, sizeof(at));
        if (f->fpa_error_code >= 0)
            snprintf(code, sizeof(code), "  %s", plr_fpa_name((unsigned)f->fpa_error_code));
        else
            code[0] = '\0';
        st = app(out, "  %s  bpp %" PRId64 " %-6s EID %s  reader %s%s  %s\n", at, f->bpp.id,
                 store_bpp_state_name(f->bpp.state), eid, f->reader[0] ? f->reader : "-", code,
                 f->bpp.last_error[0] ? f->bpp.last_error : "(no reason recorded)");
    }
    return st;
}

static st_t render_text(const status_t *s, buf_t *out) {
    char hex[2 * STORE_ID_LEN + 1], eid[33];
    st_t st;

    st = app(out, "%-32s  %-12s %9s %9s %9s %9s %9s %9s\n", "bundle", "SM-DPf", "entries",
             "pending", "loading", "installed", "failed", "dead");
    for (size_t i = 0; st == ST_OK && i < s->bundles.n; i++) {
        const store_bundle_stats_t *b = &s->bundles.v[i];
        hex_encode(b->bundle_id, STORE_ID_LEN, hex);
        st = app(out,
                 "%-32s  %-12s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
                 " %9" PRIu64 "\n",
                 hex, b->smdpf_oid, b->entry_count, b->count[STORE_BPP_PENDING],
                 b->count[STORE_BPP_LOADING], b->count[STORE_BPP_INSTALLED],
                 b->count[STORE_BPP_FAILED], b->count[STORE_BPP_DEAD]);
    }
    if (st == ST_OK)
        st = app(out,
                 "%-32s  %-12s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
                 " %9" PRIu64 "\n",
                 "total", "", s->n_announced, s->total[STORE_BPP_PENDING],
                 s->total[STORE_BPP_LOADING], s->total[STORE_BPP_INSTALLED],
                 s->total[STORE_BPP_FAILED], s->total[STORE_BPP_DEAD]);
    if (st == ST_OK)
        st = render_text_more(s, out);
    if (st == ST_OK && s->loading.n)
        st = app(out, "\nBPPs left in loading (settled by recovery at the next insertion):\n");
    for (size_t i = 0; st == ST_OK && i < s->loading.n; i++) {
        const store_loading_t *l = &s->loading.v[i];
        eid_to_str(l->bpp.eid, eid);
        st = app(out, "  bpp %" PRId64 "  EID %s  reader %s  since %" PRId64 "%s%s\n", l->bpp.id,
                 eid, l->reader[0] ? l->reader : "?", l->started_at,
                 l->bpp.last_error[0] ? "  last error: " : "", l->bpp.last_error);
    }
    return st;
}

st_t status_render(const status_t *st, bool json, buf_t *out) {
    if (!st || !out)
        return ST_E_INVAL;
    return json ? render_json(st, out) : render_text(st, out);
}
