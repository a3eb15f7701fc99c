/*
 * request.c - ESBPP02 request export (request.h has the rule for eUICCs and keys).
 *
 * Order: choose the entries from the store (store_euicc_each, no lock held), encode and sign
 * the request, then in one store transaction move the chosen keys to requested (each a
 * compare-and-set against the state they were chosen in) with the audit row, then write the
 * .ifppr atomically; if that write fails the keys are moved back. So a key that is in a
 * written request is always requested in the store, and two requests never share a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/cms.h"
#include "fmt/ifpp.h"
#include "request.h"

#define RANGE_PREFIX_DIGITS 14 /* eid_compose: prefix, then a 16-digit serial (uint64) */
#define LEDGER_MAX          (256u << 20)
#define DEFAULT_ACTOR       "request"
/* store_euicc_each callbacks return it to stop early; never leaves this file */
#define STOP                ST_E_CANCELLED

/* One chosen entry: the eUICC as the store has it and the key. */
typedef struct {
    store_euicc_t *eu; /* owned */
    const store_otk_t *key;
    uint32_t eum_index;
    bool resend;                   /* the key is requested already (include_requested) */
    uint8_t old_rid[STORE_ID_LEN]; /* resend: the request that named it before */
} chosen_t;

typedef struct {
    chosen_t *v;
    size_t n, cap;
    buf_t *eums; /* distinct EUM certificates (DER) */
    size_t n_eums;
} choice_t;

/* A pick while listing (the store handle is busy: eUICC data is fetched afterwards). */
typedef struct {
    uint8_t eid[STORE_EID_LEN];
    uint32_t key_index;
    bool resend;
} pick_t;

typedef struct {
    const request_filter_t *f;
    request_result_t *res;
    pick_t *v;
    size_t n, cap;
    const uint8_t (*skip)[STORE_EID_LEN]; /* sorted, deduplicated: already considered */
    size_t n_skip;
    uint64_t seen; /* eUICCs handed over by the current listing */
} picks_t;

static int eid_cmp(const void *a, const void *b) {
    return memcmp(a, b, STORE_EID_LEN);
}

static const char *actor(const request_opts_t *o) {
    return o->actor && *o->actor ? o->actor : DEFAULT_ACTOR;
}

/* ---- the ledger of older stations, taken into the store once ---- */

/*
 * Marks the keys of the ledger text ("EID keyIndex requestId createdAt" per line) requested,
 * inside the caller's transaction; *n counts them. A malformed or torn line is skipped, as is
 * a key that is not unused any more or whose eUICC has another key requested (the ledger may
 * name a key twice: a re-sent request).
 */
static st_t ledger_apply(store_t *s, const buf_t *text, uint64_t *n) {
    size_t pos = 0, lineno = 0;
    st_t st = ST_OK;

    while (pos < text->len) {
        const char *line = (const char *)text->data + pos;
        const char *nl = memchr(line, '\n', text->len - pos);
        char buf[160], eid_s[40], rid_s[40];
        unsigned long idx;
        uint8_t eid[STORE_EID_LEN], rid[STORE_ID_LEN];
        size_t len;

        lineno++;
        if (!nl) /* a torn last line (crash while appending): never a complete record */
            break;
        len = (size_t)(nl - line);
        pos += len + 1;
        if (len == 0 || line[0] == '#')
            continue;
        memset(rid, 0, sizeof(rid));
        if (len >= sizeof(buf)
            || (memcpy(buf, line, len), buf[len] = '\0',
                sscanf(buf, "%39s %lu %39s", eid_s, &idx, rid_s) != 3)
            || eid_from_str(eid_s, eid) != ST_OK || idx > UINT32_MAX
            || hex_decode_exact(rid_s, rid, sizeof(rid)) != ST_OK) {
            st_log(ST_LOG_WARN, "request: %s line %zu is malformed (ignored)", REQUEST_LEDGER_NAME,
                   lineno);
            continue;
        }
        st = store_otk_request(s, eid, (uint32_t)idx, rid, false);
        if (st == ST_OK)
            (*n)++;
        else if (st == ST_E_STATE || st == ST_E_NOENT || st == ST_E_CONFLICT)
            st = ST_OK; /* bound meanwhile, unknown, or a second line of an eUICC */
        else
            break;
    }
    return st;
}

/* Takes STATE_DIR/requested-keys of an older station into the store, then renames it. */
static st_t ledger_import(const request_opts_t *o) {
    char *path = NULL, *done = NULL, value[64];
    buf_t text = BUF_INIT;
    uint64_t n = 0;
    int fd = -1, dfd = -1;
    st_t st = ST_OK;

    if (!o->state_dir)
        return ST_OK;
    if (asprintf(&path, "%s/%s", o->state_dir, REQUEST_LEDGER_NAME) < 0
        || asprintf(&done, "%s.imported", path) < 0) {
        st = ST_E_NOMEM;
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT) {
            st = st_from_errno(errno);
            st_log(ST_LOG_ERR, "request: ledger %s: %s", path, strerror(errno));
        }
        goto out;
    }
    if ((st = buf_read_fd(&text, fd, LEDGER_MAX)) != ST_OK)
        goto out;
    if ((st = store_tx_begin(o->store)) != ST_OK)
        goto out;
    st = ledger_apply(o->store, &text, &n);
    snprintf(value, sizeof(value), "%" PRIu64 " keys requested", n);
    if (st == ST_OK)
        st = store_audit_append(o->store, actor(o), "request.ledger", "file:" REQUEST_LEDGER_NAME,
                                NULL, value, "ledger of an older station taken into the store");
    if (st != ST_OK) {
        store_tx_rollback(o->store);
        goto out;
    }
    if ((st = store_tx_commit(o->store)) != ST_OK)
        goto out;
    st_log(ST_LOG_INFO, "request: %s taken into the store (%" PRIu64 " keys requested)", path, n);
    /* Renamed only once the store has it; if this fails the next export applies it again,
     * which changes nothing (the keys are requested already). */
    if (rename(path, done) != 0) {
        st_log(ST_LOG_WARN, "request: cannot rename %s: %s", path, strerror(errno));
        goto out;
    }
    dfd = open(o->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    buf_free(&text);
    free(path);
    free(done);
    return st;
}

/* ---- range ---- */

static uint64_t serial_of(const char digits[33]) {
    uint64_t v = 0;
    for (size_t i = RANGE_PREFIX_DIGITS; i < 30; i++)
        v = v * 10 + (uint64_t)(digits[i] - '0');
    return v;
}

st_t request_parse_range(const char *s, request_filter_t *f) {
    char a[33], b[33];
    const char *dash;
    uint64_t lo, hi;

    if (!s || !f || !(dash = strchr(s, '-')) || (size_t)(dash - s) != 32 || strlen(dash + 1) != 32)
        return ST_E_PARSE;
    memcpy(a, s, 32);
    a[32] = '\0';
    memcpy(b, dash + 1, 33);
    if (eid_from_str(a, f->from) != ST_OK || eid_from_str(b, f->to) != ST_OK)
        return ST_E_PARSE;
    if (memcmp(a, b, RANGE_PREFIX_DIGITS) != 0)
        return ST_E_INVAL;
    lo = serial_of(a);
    hi = serial_of(b);
    if (lo > hi || hi - lo >= REQUEST_MAX_RANGE)
        return ST_E_INVAL;
    f->has_range = true;
    return ST_OK;
}

/* ---- choosing ---- */

static void choice_free(choice_t *c) {
    for (size_t i = 0; i < c->n; i++)
        store_euicc_free(c->v[i].eu);
    free(c->v);
    for (size_t i = 0; i < c->n_eums; i++)
        buf_free(&c->eums[i]);
    free(c->eums);
    memset(c, 0, sizeof(*c));
}

static st_t eum_index(choice_t *c, const buf_t *der, uint32_t *idx) {
    buf_t *nv;
    for (size_t i = 0; i < c->n_eums; i++) {
        if (c->eums[i].len == der->len && memcmp(c->eums[i].data, der->data, der->len) == 0) {
            *idx = (uint32_t)i;
            return ST_OK;
        }
    }
    if (c->n_eums >= IFPP_MAX_EUM_CERTS)
        return ST_E_TOO_LARGE;
    nv = realloc(c->eums, (c->n_eums + 1) * sizeof(*nv));
    if (!nv)
        return ST_E_NOMEM;
    c->eums = nv;
    c->eums[c->n_eums] = (buf_t)BUF_INIT;
    if (buf_append(&c->eums[c->n_eums], der->data, der->len) != ST_OK)
        return ST_E_NOMEM;
    *idx = (uint32_t)c->n_eums++;
    return ST_OK;
}

static bool picks_full(const picks_t *p) {
    return (p->f->count && p->n >= p->f->count) || p->n >= IFPP_MAX_EUICCS;
}

/* Judges one listed eUICC (the rule in request.h); records a pick when it qualifies. */
static st_t judge(void *ud, const store_euicc_info_t *e) {
    picks_t *p = ud;
    pick_t *k;
    int64_t key = -1;
    bool resend = false;

    p->seen++;
    if (p->n_skip && bsearch(e->eid, p->skip, p->n_skip, STORE_EID_LEN, eid_cmp))
        return ST_OK; /* an explicit EID inside the range: judged already */
    p->res->n_candidates++;
    if (e->has_bpp) {
        p->res->n_has_bpp++;
    } else if (e->first_requested >= 0) {
        if (p->f->include_requested) {
            key = e->first_requested;
            resend = true;
        } else {
            p->res->n_requested++;
        }
    } else if (e->first_unused >= 0) {
        key = e->first_unused;
    } else {
        p->res->n_no_key++;
    }
    if (key < 0)
        return ST_OK;
    if (p->n == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 64;
        pick_t *nv = realloc(p->v, nc * sizeof(*nv));
        if (!nv)
            return ST_E_NOMEM;
        p->v = nv;
        p->cap = nc;
    }
    k = &p->v[p->n++];
    memcpy(k->eid, e->eid, STORE_EID_LEN);
    k->key_index = (uint32_t)key;
    k->resend = resend;
    return picks_full(p) ? STOP : ST_OK;
}

/* One listing with `lf`, judged; a STOP from judge ends it without error. */
static st_t list_judge(store_t *s, const store_euicc_filter_t *lf, picks_t *p) {
    st_t st;

    p->seen = 0;
    if (picks_full(p))
        return ST_OK;
    st = store_euicc_each(s, lf, judge, p);
    return st == STOP ? ST_OK : st;
}

/* The candidates in request.h's order: explicit EIDs, then the range, or every eUICC. */
static st_t pick(const request_opts_t *o, const request_filter_t *f, picks_t *p) {
    uint8_t(*list)[STORE_EID_LEN] = NULL;
    store_euicc_filter_t lf;
    size_t n = 0;
    st_t st = ST_OK;

    memset(&lf, 0, sizeof(lf));
    if (f->n_eids) {
        list = malloc(f->n_eids * sizeof(*list));
        if (!list)
            return ST_E_NOMEM;
        memcpy(list, f->eids, f->n_eids * sizeof(*list));
        qsort(list, f->n_eids, sizeof(*list), eid_cmp);
        for (size_t i = 0; i < f->n_eids; i++) /* deduplicate */
            if (n == 0 || memcmp(list[n - 1], list[i], STORE_EID_LEN) != 0)
                memmove(list[n++], list[i], STORE_EID_LEN);
        lf.eids = (const uint8_t(*)[STORE_EID_LEN])list;
        lf.n_eids = n;
        st = list_judge(o->store, &lf, p);
        /* what the listing did not hand over has no data (unless it stopped early) */
        if (st == ST_OK && !picks_full(p)) {
            p->res->n_unknown += n - p->seen;
            p->res->n_candidates += n - p->seen;
        }
        p->skip = (const uint8_t(*)[STORE_EID_LEN])list;
        p->n_skip = n;
    }
    if (st == ST_OK && f->has_range) {
        memset(&lf, 0, sizeof(lf));
        lf.has_range = true;
        memcpy(lf.from, f->from, STORE_EID_LEN);
        memcpy(lf.to, f->to, STORE_EID_LEN);
        st = list_judge(o->store, &lf, p);
    }
    if (st == ST_OK && !f->n_eids && !f->has_range) {
        memset(&lf, 0, sizeof(lf));
        st = list_judge(o->store, &lf, p);
    }
    p->skip = NULL;
    p->n_skip = 0;
    free(list);
    return st;
}

/* The picks with their eUICC data (certificates, the key itself) and the distinct EUM certs. */
static st_t choose(const request_opts_t *o, const picks_t *p, choice_t *c, request_result_t *res) {
    st_t st = ST_OK;

    c->v = calloc(p->n ? p->n : 1, sizeof(*c->v));
    if (!c->v)
        return ST_E_NOMEM;
    c->cap = p->n;
    for (size_t i = 0; i < p->n && st == ST_OK; i++) {
        chosen_t *ch = &c->v[c->n];
        store_euicc_t *eu = NULL;

        st = store_euicc_get(o->store, p->v[i].eid, &eu);
        if (st != ST_OK)
            break;
        ch->eu = eu;
        c->n++;
        for (size_t k = 0; k < eu->n_keys && !ch->key; k++)
            if (eu->keys[k].key_index == p->v[i].key_index)
                ch->key = &eu->keys[k];
        if (!ch->key) { /* listed a moment ago: the key cannot have vanished */
            st = ST_E_INTERNAL;
            break;
        }
        ch->resend = p->v[i].resend;
        memcpy(ch->old_rid, ch->key->request_id, STORE_ID_LEN);
        res->n_resent += ch->resend;
        st = eum_index(c, &eu->cert_eum, &ch->eum_index);
    }
    return st;
}

/* ---- marking the keys ---- */

/* The chosen keys -> requested by `rid`, and the audit row, in one transaction. */
static st_t mark(const request_opts_t *o, const choice_t *c, const uint8_t rid[STORE_ID_LEN],
                 const char *out_path) {
    char object[48], hex[2 * STORE_ID_LEN + 1], value[STORE_TEXT_MAX];
    st_t st;

    hex_encode(rid, STORE_ID_LEN, hex);
    snprintf(object, sizeof(object), "request:%s", hex);
    snprintf(value, sizeof(value), "%zu eUICCs -> %s", c->n, out_path);
    if ((st = store_tx_begin(o->store)) != ST_OK)
        return st;
    for (size_t i = 0; i < c->n && st == ST_OK; i++) {
        st = store_otk_request(o->store, c->v[i].eu->eid, c->v[i].key->key_index, rid,
                               c->v[i].resend);
        if (st != ST_OK) {
            char eid[33];
            eid_to_str(c->v[i].eu->eid, eid);
            st_log(ST_LOG_ERR,
                   "request: one-time key %" PRIu32 " of eUICC %s changed meanwhile (another "
                   "request or an import): nothing written, run it again",
                   c->v[i].key->key_index, eid);
        }
    }
    if (st == ST_OK)
        st = store_audit_append(o->store, actor(o), "request.export", object, NULL, value, NULL);
    if (st != ST_OK) {
        store_tx_rollback(o->store);
        return st;
    }
    return store_tx_commit(o->store);
}

/* The request file could not be written: the keys go back to what they were. */
static void unmark(const request_opts_t *o, const choice_t *c, const uint8_t rid[STORE_ID_LEN],
                   st_t why) {
    char object[48], hex[2 * STORE_ID_LEN + 1];
    st_t st;

    hex_encode(rid, STORE_ID_LEN, hex);
    snprintf(object, sizeof(object), "request:%s", hex);
    if ((st = store_tx_begin(o->store)) != ST_OK)
        goto out;
    for (size_t i = 0; i < c->n && st == ST_OK; i++) {
        const chosen_t *ch = &c->v[i];
        if (ch->resend) /* still requested, by the request that named it before */
            st = store_otk_request(o->store, ch->eu->eid, ch->key->key_index, ch->old_rid, true);
        else
            st = store_otk_release(o->store, ch->eu->eid, ch->key->key_index, rid);
    }
    if (st == ST_OK)
        st = store_audit_append(o->store, actor(o), "request.discard", object, "requested", NULL,
                                st_str(why));
    if (st == ST_OK) {
        st = store_tx_commit(o->store);
    } else {
        store_tx_rollback(o->store);
    }
out:
    if (st != ST_OK) /* safe: the keys stay requested, --include-requested re-sends them */
        st_log(ST_LOG_WARN, "request %s was not written but its keys stay requested: %s", hex,
               st_str(st));
}

/* ---- the request ---- */

static st_t encode_sign(const request_opts_t *o, const request_filter_t *f, const choice_t *c,
                        const request_result_t *res, buf_t *out) {
    ifpp_request_t r;
    ifpp_blob_t *eums = NULL;
    ifpp_req_entry_t *ents = NULL;
    buf_t der = BUF_INIT;
    st_t st = ST_E_NOMEM;

    memset(&r, 0, sizeof(r));
    eums = calloc(c->n_eums, sizeof(*eums));
    ents = calloc(c->n, sizeof(*ents));
    if (!eums || !ents)
        goto out;
    r.version = IFPP_FORMAT_VERSION;
    memcpy(r.request_id, res->request_id, sizeof(r.request_id));
    snprintf(r.dm_id, sizeof(r.dm_id), "%s", o->dm_id);
    r.created_at = time(NULL);
    for (size_t i = 0; i < c->n_eums; i++) {
        eums[i].p = c->eums[i].data;
        eums[i].len = c->eums[i].len;
    }
    r.certs_eum = eums;
    r.n_certs_eum = c->n_eums;
    for (size_t i = 0; i < c->n; i++) {
        const store_euicc_t *eu = c->v[i].eu;
        ifpp_req_entry_t *e = &ents[i];
        memcpy(e->eid, eu->eid, IFPP_EID_LEN);
        e->euicc_info2.p = eu->euicc_info2.data;
        e->euicc_info2.len = eu->euicc_info2.len;
        e->cert_euicc.p = eu->cert_euicc.data;
        e->cert_euicc.len = eu->cert_euicc.len;
        e->eum_index = c->v[i].eum_index;
        e->key.key_index = c->v[i].key->key_index;
        memcpy(e->key.otpk, c->v[i].key->otpk, IFPP_OTPK_LEN);
        memcpy(e->key.sig, c->v[i].key->sig, IFPP_SIG_LEN);
        if (f->profile_type)
            snprintf(e->profile_type, sizeof(e->profile_type), "%s", f->profile_type);
    }
    r.entries = ents;
    r.n_entries = c->n;
    if ((st = ifpp_request_encode(&r, &der)) != ST_OK)
        goto out;
    st = cms_sign(o->dm_key, o->dm_cert, o->chain, der.data, der.len, false, out);
out:
    free(eums);
    free(ents);
    buf_free(&der);
    return st;
}

st_t request_export(const request_opts_t *o, const request_filter_t *f, const char *out_path,
                    request_result_t *res) {
    buf_t sig = BUF_INIT;
    picks_t p;
    choice_t c;
    st_t st;

    memset(&c, 0, sizeof(c));
    memset(&p, 0, sizeof(p));
    if (!o || !f || !out_path || !res || !o->store || !o->dm_key || !o->dm_cert || !o->dm_id
        || !*o->dm_id || (f->n_eids && !f->eids))
        return ST_E_INVAL;
    memset(res, 0, sizeof(*res));
    p.f = f;
    p.res = res;
    if ((st = ledger_import(o)) != ST_OK)
        goto out;
    if ((st = pick(o, f, &p)) != ST_OK)
        goto out;
    if (p.n == 0) {
        st = ST_E_NOENT;
        goto out;
    }
    if ((st = choose(o, &p, &c, res)) != ST_OK)
        goto out;
    if (RAND_bytes(res->request_id, sizeof(res->request_id)) != 1) {
        st = st_from_openssl("RAND_bytes");
        goto out;
    }
    res->n_entries = c.n;
    if ((st = encode_sign(o, f, &c, res, &sig)) != ST_OK)
        goto out;
    /* the store first (durable), then the file */
    if ((st = mark(o, &c, res->request_id, out_path)) != ST_OK)
        goto out;
    st = buf_write_file_atomic(out_path, sig.data, sig.len, 0644);
    if (st != ST_OK) /* nothing was sent: release the keys */
        unmark(o, &c, res->request_id, st);
out:
    if (st != ST_OK)
        res->n_entries = 0;
    choice_free(&c);
    free(p.v);
    buf_free(&sig);
    return st;
}
