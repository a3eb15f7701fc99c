/*
 * status.c - figures for `ifpp-station status` from the store (status.h), text and JSON.
 *
 * JSON shape (one object; ids and EIDs as strings):
 *   {"bpps": {"total": N, "pending": N, "loading": N, "installed": N, "failed": N, "dead": N},
 *    "bundles": [{"bundle_id": "hex", "smdpf": "2.999.10", "announced": N, "pending": N, ...}],
 *    "loading": [{"bpp": ID, "eid": "89...", "bundle_id": "hex", "seq": N, "reader": "...",
 *                 "since": UNIX, "retries": N, "last_error": "..."}]}
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/cert.h"
#include "status.h"

void status_free(status_t *st) {
    if (!st)
        return;
    store_stats_list_free(&st->bundles);
    store_loading_list_free(&st->loading);
    memset(st, 0, sizeof(*st));
}

st_t status_collect(store_t *s, status_t *out) {
    st_t st;

    if (!s || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    if ((st = store_bundle_stats(s, &out->bundles)) != ST_OK
        || (st = store_bpp_loading(s, &out->loading)) != ST_OK) {
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

static st_t render_json(const status_t *s, buf_t *out) {
    char hex[2 * STORE_ID_LEN + 1], eid[33];
    st_t st;

    st = app(out, "{\"bpps\":{\"total\":%" PRIu64, s->n_bpps);
    for (int k = 0; st == ST_OK && k < STORE_BPP__COUNT; k++)
        st = app(out, ",\"%s\":%" PRIu64, store_bpp_state_name((store_bpp_state_t)k), s->total[k]);
    if (st == ST_OK)
        st = app(out, ",\"announced\":%" PRIu64 "},\"bundles\":[", s->n_announced);
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
            st = buf_append_byte(out, '}');
    }
    if (st == ST_OK)
        st = app(out, "],\"loading\":[");
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
