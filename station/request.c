/*
 * request.c - ESBPP02 request export (request.h has the rule for eUICCs, keys and the ledger).
 *
 * Order, under the ledger's exclusive flock: read the ledger, choose the entries from the
 * store, encode and sign the request, append the chosen keys to the ledger and fsync it, write
 * the .ifppr atomically; if that write fails the ledger is cut back to its old size. So a key
 * that is in a written request is always in the ledger, and two requests never share a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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

typedef struct {
    uint8_t eid[STORE_EID_LEN];
    uint32_t key_index;
} lkey_t;

typedef struct {
    lkey_t *v;
    size_t n, cap;
} lset_t;

/* One chosen entry: the eUICC as the store has it and the key. */
typedef struct {
    store_euicc_t *eu; /* owned */
    const store_otk_t *key;
    uint32_t eum_index;
} chosen_t;

typedef struct {
    chosen_t *v;
    size_t n, cap;
    buf_t *eums; /* distinct EUM certificates (DER) */
    size_t n_eums;
} choice_t;

static int lkey_cmp(const void *a, const void *b) {
    const lkey_t *x = a, *y = b;
    int c = memcmp(x->eid, y->eid, STORE_EID_LEN);
    if (c)
        return c;
    return x->key_index < y->key_index ? -1 : x->key_index > y->key_index;
}

static int eid_cmp(const void *a, const void *b) {
    return memcmp(a, b, STORE_EID_LEN);
}

static st_t lset_add(lset_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t idx) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 256;
        lkey_t *nv = realloc(s->v, nc * sizeof(*nv));
        if (!nv)
            return ST_E_NOMEM;
        s->v = nv;
        s->cap = nc;
    }
    memcpy(s->v[s->n].eid, eid, STORE_EID_LEN);
    s->v[s->n].key_index = idx;
    s->n++;
    return ST_OK;
}

static bool lset_has(const lset_t *s, const uint8_t eid[STORE_EID_LEN], uint32_t idx) {
    lkey_t k;
    memcpy(k.eid, eid, STORE_EID_LEN);
    k.key_index = idx;
    return s->n && bsearch(&k, s->v, s->n, sizeof(k), lkey_cmp) != NULL;
}

/* Parses the ledger text; a malformed line is logged and skipped (never fatal). */
static st_t ledger_parse(const buf_t *text, lset_t *s) {
    size_t pos = 0, lineno = 0;
    st_t st = ST_OK;

    while (pos < text->len && st == ST_OK) {
        const char *line = (const char *)text->data + pos;
        const char *nl = memchr(line, '\n', text->len - pos);
        char buf[160], eid_s[40];
        unsigned long idx;
        uint8_t eid[STORE_EID_LEN];
        size_t n;

        lineno++;
        if (!nl) /* a torn last line (crash while appending): never a complete record */
            break;
        n = (size_t)(nl - line);
        pos += n + 1;
        if (n == 0 || line[0] == '#')
            continue;
        if (n >= sizeof(buf)
            || (memcpy(buf, line, n), buf[n] = '\0', sscanf(buf, "%39s %lu", eid_s, &idx) != 2)
            || eid_from_str(eid_s, eid) != ST_OK || idx > UINT32_MAX) {
            st_log(ST_LOG_WARN, "request: %s line %zu is malformed (ignored)", REQUEST_LEDGER_NAME,
                   lineno);
            continue;
        }
        st = lset_add(s, eid, (uint32_t)idx);
    }
    if (st == ST_OK && s->n > 1)
        qsort(s->v, s->n, sizeof(*s->v), lkey_cmp);
    return st;
}

static st_t read_all_fd(int fd, buf_t *out) {
    uint8_t chunk[65536];
    off_t off = 0;
    ssize_t n;
    st_t st;

    for (;;) {
        n = pread(fd, chunk, sizeof(chunk), off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return st_from_errno(errno);
        }
        if (n == 0)
            return ST_OK;
        if (out->len + (size_t)n > LEDGER_MAX)
            return ST_E_TOO_LARGE;
        if ((st = buf_append(out, chunk, (size_t)n)) != ST_OK)
            return st;
        off += n;
    }
}

static st_t write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return st_from_errno(errno);
        }
        b += w;
        n -= (size_t)w;
    }
    return ST_OK;
}

/* ---- range ---- */

static void eid_digits(const uint8_t eid[STORE_EID_LEN], char out[33]) {
    eid_to_str(eid, out);
}

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

/* Judges one candidate EID; adds it to the choice when it qualifies. */
static st_t consider(const request_opts_t *o, const request_filter_t *f, const lset_t *ledger,
                     const uint8_t eid[STORE_EID_LEN], choice_t *c, request_result_t *res) {
    store_euicc_t *eu = NULL;
    const store_otk_t *key = NULL, *requested = NULL;
    bool has_bpp = false;
    uint32_t ei;
    st_t st;

    res->n_candidates++;
    st = store_euicc_get(o->store, eid, &eu);
    if (st == ST_E_NOENT) {
        res->n_unknown++;
        return ST_OK;
    }
    if (st != ST_OK)
        return st;
    for (size_t k = 0; k < eu->n_keys; k++) {
        const store_otk_t *x = &eu->keys[k];
        if (x->state == STORE_OTK_BOUND || x->state == STORE_OTK_CONSUMED) {
            has_bpp = true;
        } else if (x->state == STORE_OTK_UNUSED) {
            if (lset_has(ledger, eid, x->key_index)) {
                if (!requested || x->key_index < requested->key_index)
                    requested = x;
            } else if (!key || x->key_index < key->key_index) {
                key = x;
            }
        }
    }
    /* an outstanding request: skipped, or asked again with the same key */
    if (requested)
        key = f->include_requested ? requested : NULL;
    if (has_bpp || !key) {
        if (has_bpp)
            res->n_has_bpp++;
        else if (requested)
            res->n_requested++;
        else
            res->n_no_key++;
        store_euicc_free(eu);
        return ST_OK;
    }
    if ((st = eum_index(c, &eu->cert_eum, &ei)) != ST_OK) {
        store_euicc_free(eu);
        return st;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 64;
        chosen_t *nv = realloc(c->v, nc * sizeof(*nv));
        if (!nv) {
            store_euicc_free(eu);
            return ST_E_NOMEM;
        }
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n].eu = eu;
    c->v[c->n].key = key;
    c->v[c->n].eum_index = ei;
    c->n++;
    return ST_OK;
}

static bool full(const request_filter_t *f, const choice_t *c) {
    return (f->count && c->n >= f->count) || c->n >= IFPP_MAX_EUICCS;
}

static st_t choose(const request_opts_t *o, const request_filter_t *f, const lset_t *ledger,
                   choice_t *c, request_result_t *res) {
    uint8_t(*list)[STORE_EID_LEN] = NULL;
    size_t n = 0;
    st_t st = ST_OK;

    /* explicit EIDs, ascending, each once */
    if (f->n_eids) {
        list = malloc(f->n_eids * sizeof(*list));
        if (!list)
            return ST_E_NOMEM;
        memcpy(list, f->eids, f->n_eids * sizeof(*list));
        n = f->n_eids;
        qsort(list, n, sizeof(*list), eid_cmp);
    }
    for (size_t i = 0; i < n && st == ST_OK && !full(f, c); i++)
        if (i == 0 || memcmp(list[i - 1], list[i], STORE_EID_LEN) != 0)
            st = consider(o, f, ledger, list[i], c, res);
    if (st == ST_OK && f->has_range) {
        char a[33], b[33], prefix[RANGE_PREFIX_DIGITS + 1];
        uint64_t lo, hi;
        eid_digits(f->from, a);
        eid_digits(f->to, b);
        memcpy(prefix, a, RANGE_PREFIX_DIGITS);
        prefix[RANGE_PREFIX_DIGITS] = '\0';
        lo = serial_of(a);
        hi = serial_of(b);
        for (uint64_t s = lo; s <= hi && st == ST_OK && !full(f, c); s++) {
            uint8_t eid[STORE_EID_LEN];
            if ((st = eid_compose(prefix, s, eid)) != ST_OK)
                break;
            if (n && bsearch(eid, list, n, sizeof(*list), eid_cmp))
                continue; /* already taken from the explicit list */
            st = consider(o, f, ledger, eid, c, res);
        }
    }
    free(list);
    return st;
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
    char *lpath = NULL, line[128], eid_s[33], rid[33];
    buf_t text = BUF_INIT, sig = BUF_INIT, add = BUF_INIT;
    lset_t ledger = {NULL, 0, 0};
    choice_t c;
    struct stat sb;
    off_t old_size;
    int fd = -1;
    st_t st;

    memset(&c, 0, sizeof(c));
    if (!o || !f || !out_path || !res || !o->store || !o->state_dir || !o->dm_key || !o->dm_cert
        || !o->dm_id || !*o->dm_id)
        return ST_E_INVAL;
    memset(res, 0, sizeof(*res));
    if (!f->n_eids && !f->has_range)
        return ST_E_INVAL;
    if (asprintf(&lpath, "%s/%s", o->state_dir, REQUEST_LEDGER_NAME) < 0)
        return ST_E_NOMEM;
    fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0) {
        st = st_from_errno(errno);
        st_log(ST_LOG_ERR, "request: ledger %s: %s", lpath, strerror(errno));
        goto out;
    }
    old_size = sb.st_size;
    if ((st = read_all_fd(fd, &text)) != ST_OK || (st = ledger_parse(&text, &ledger)) != ST_OK)
        goto out;
    if ((st = choose(o, f, &ledger, &c, res)) != ST_OK)
        goto out;
    if (c.n == 0) {
        st = ST_E_NOENT;
        goto out;
    }
    if (RAND_bytes(res->request_id, sizeof(res->request_id)) != 1) {
        st = st_from_openssl("RAND_bytes");
        goto out;
    }
    res->n_entries = c.n;
    if ((st = encode_sign(o, f, &c, res, &sig)) != ST_OK)
        goto out;

    /* the ledger first (durable), then the file */
    hex_encode(res->request_id, sizeof(res->request_id), rid);
    if (text.len && text.data[text.len - 1] != '\n')
        st = buf_append_byte(&add, '\n'); /* after a torn line */
    for (size_t i = 0; i < c.n && st == ST_OK; i++) {
        int n;
        eid_to_str(c.v[i].eu->eid, eid_s);
        n = snprintf(line, sizeof(line), "%s %" PRIu32 " %s %lld\n", eid_s, c.v[i].key->key_index,
                     rid, (long long)time(NULL));
        st = buf_append(&add, line, (size_t)n);
    }
    if (st != ST_OK)
        goto out;
    if (lseek(fd, 0, SEEK_END) < 0 || (st = write_all(fd, add.data, add.len)) != ST_OK
        || fsync(fd) != 0) {
        st = st != ST_OK ? st : st_from_errno(errno);
        if (ftruncate(fd, old_size) == 0)
            (void)fsync(fd);
        goto out;
    }
    st = buf_write_file_atomic(out_path, sig.data, sig.len, 0644);
    if (st != ST_OK) { /* nothing was sent: release the keys */
        if (ftruncate(fd, old_size) == 0)
            (void)fsync(fd);
        goto out;
    }
out:
    if (fd >= 0)
        close(fd); /* releases the flock */
    choice_free(&c);
    free(ledger.v);
    free(lpath);
    buf_free(&text);
    buf_free(&sig);
    buf_free(&add);
    return st;
}
