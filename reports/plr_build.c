/*
 * plr_build.c - the DM signer, the error code table, and building one signed Profile Loading
 * Report (ESBPP03) from the results a store report claimed (plr.h).
 *
 * Authenticated: the DER of IfppLoadingReport, exactly as ifpp_report_encode() produced it, in
 * the CMS SignedData. Unauthenticated: the file name and what is printed or logged about it.
 * Every signature is checked once more before the bytes leave this module (self-check).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "base/log.h"
#include "crypto/cms.h"
#include "crypto/ec.h"
#include "fmt/ifpp.h"
#include "fmt/pir.h"
#include "plr_internal.h"
#include "tlv/tlv.h"

/* ---- error codes ---- */

const char *plr_fpa_name(unsigned code) {
    switch (code) {
#define X_NAME(name, value, ident, text)                                                           \
    case value:                                                                                    \
        return ident;
        PLR_FPA_ERRORS(X_NAME)
#undef X_NAME
    }
    return "unknown";
}

const char *plr_fpa_text(unsigned code) {
    switch (code) {
#define X_TEXT(name, value, ident, text)                                                           \
    case value:                                                                                    \
        return text;
        PLR_FPA_ERRORS(X_TEXT)
#undef X_TEXT
    }
    return "FPA error (code not in this station's table)";
}

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at p (max n bytes), 0 when invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n) {
    size_t k;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0) {
        k = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        k = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        k = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (k > n)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF
        || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

void plr_text_copy(char *out, size_t len, const char *s) {
    const uint8_t *p = (const uint8_t *)(s ? s : "");
    size_t n = strlen((const char *)p), o = 0;

    if (len == 0)
        return;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7F))) {
            if (o + 1 >= len)
                break;
            out[o++] = '?';
            i += k ? k : 1;
            continue;
        }
        if (o + k >= len)
            break;
        memcpy(out + o, p + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
}

/* ---- signer ---- */

static bool id_ok(const char *id) {
    size_t n = id ? strlen(id) : 0;
    return n >= 1 && n < PLR_ID_MAX;
}

void plr_signer_free(plr_signer_t *sg) {
    if (!sg)
        return;
    EVP_PKEY_free(sg->key);
    X509_free(sg->cert);
    sk_X509_pop_free(sg->chain, X509_free);
    cert_trust_free(sg->trust);
    free(sg);
}

/*
 * The chain as configured: its certificates are the anchors of the self-check (as they are for
 * `report verify`); the SignedData carries only those that are not self-signed. A root in
 * the SignedData would be an unused copy (verifiers take their own), one whose bytes could be
 * changed without any verifier noticing: every byte of a report must count.
 */
static st_t signer_chain(plr_signer_t *sg, STACK_OF(X509) * chain) {
    st_t st = ST_OK;

    if (!(sg->trust = cert_trust_new()) || !(sg->chain = sk_X509_new_null()))
        return ST_E_NOMEM;
    for (int i = 0; chain && i < sk_X509_num(chain) && st == ST_OK; i++) {
        X509 *c = sk_X509_value(chain, i);
        st = cert_trust_add(sg->trust, c);
        if (st == ST_OK && X509_self_signed(c, 0) != 1) {
            if (X509_up_ref(c) != 1 || !sk_X509_push(sg->chain, c)) {
                X509_free(c);
                st = st_from_openssl("sk_X509_push");
            }
        }
    }
    if (st == ST_OK && (!chain || sk_X509_num(chain) == 0))
        st = cert_trust_add(sg->trust, sg->cert);
    return st;
}

st_t plr_signer_new(EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain, const char *dm_id,
                    const char *station_id, plr_signer_t **out) {
    plr_signer_t *sg = NULL;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    if (!key || !cert || !id_ok(dm_id) || !id_ok(station_id)) {
        st_log(ST_LOG_ERR, "report: DM key, certificate, DM id and station id are required");
        return ST_E_INVAL;
    }
    if (X509_check_private_key(cert, key) != 1) {
        st_from_openssl("X509_check_private_key");
        st_log(ST_LOG_ERR, "report: the DM key does not match the DM certificate");
        return ST_E_CONFIG;
    }
    if (!cert_has_policy(cert, CERT_POLICY_IFPP_DM)) {
        st_log(ST_LOG_ERR, "report: the DM certificate lacks the DM role policy %s",
               CERT_POLICY_IFPP_DM);
        return ST_E_CONFIG;
    }
    if (!(sg = calloc(1, sizeof(*sg))))
        return ST_E_NOMEM;
    if (EVP_PKEY_up_ref(key) != 1 || X509_up_ref(cert) != 1) {
        free(sg);
        return st_from_openssl("up_ref");
    }
    sg->key = key;
    sg->cert = cert;
    snprintf(sg->dm_id, sizeof(sg->dm_id), "%s", dm_id);
    snprintf(sg->station_id, sizeof(sg->station_id), "%s", station_id);
    st = signer_chain(sg, chain);

    if (st != ST_OK) {
        plr_signer_free(sg);
        return st;
    }
    *out = sg;
    return ST_OK;
}

st_t plr_signer_load(const char *key_path, const char *cert_path, const char *chain_path,
                     const char *dm_id, const char *station_id, plr_signer_t **out) {
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *chain = NULL;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    if (!key_path || !cert_path) {
        st_log(ST_LOG_ERR, "report: no DM key/certificate configured ([dm] key, cert)");
        return ST_E_CONFIG;
    }
    if ((st = ec_key_load_pem(key_path, &key)) != ST_OK) {
        st_log(ST_LOG_ERR, "report: DM key %s: %s", key_path, st_str(st));
        goto out;
    }
    if ((st = cert_load(cert_path, &cert)) != ST_OK) {
        st_log(ST_LOG_ERR, "report: DM certificate %s: %s", cert_path, st_str(st));
        goto out;
    }
    if (chain_path && (st = cert_load_all(chain_path, &chain)) != ST_OK) {
        st_log(ST_LOG_ERR, "report: DM chain %s: %s", chain_path, st_str(st));
        goto out;
    }
    st = plr_signer_new(key, cert, chain, dm_id, station_id, out);
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    return st;
}

st_t plr_trust_load(const char *cert_path, const char *chain_path, cert_trust_t **out) {
    cert_trust_t *t = NULL;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    if (!chain_path && !cert_path) {
        st_log(ST_LOG_ERR, "report: no DM chain or certificate configured to verify against");
        return ST_E_CONFIG;
    }
    if (!(t = cert_trust_new()))
        return ST_E_NOMEM;
    st = cert_trust_add_file(t, chain_path ? chain_path : cert_path);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "report: trust anchors %s: %s", chain_path ? chain_path : cert_path,
               st_str(st));
        cert_trust_free(t);
        return st;
    }
    *out = t;
    return ST_OK;
}

/* ---- file name ---- */

st_t plr_file_name(const char *smdpf_oid, const char *station_id, int64_t when,
                   const uint8_t report_id[STORE_ID_LEN], char *out, size_t len) {
    char ts[32], hex[2 * STORE_ID_LEN + 1];
    time_t t = (time_t)when;
    struct tm tmv;
    int n;

    if (!smdpf_oid || !station_id || !report_id || !out || len == 0)
        return ST_E_INVAL;
    /* Both are restricted to file-name-safe characters elsewhere ([station] id: A-Za-z0-9._-;
     * OIDs: digits and dots); check again since the name goes into a path. */
    for (const char *p = smdpf_oid; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return ST_E_INVAL;
    for (const char *p = station_id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || *p == '.' || *p == '_' || *p == '-'))
            return ST_E_INVAL;
    if (!*smdpf_oid || !*station_id || station_id[0] == '.' || !gmtime_r(&t, &tmv)
        || strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tmv) == 0)
        return ST_E_INVAL;
    hex_encode(report_id, STORE_ID_LEN, hex);
    hex[8] = '\0';
    n = snprintf(out, len, "PLR_%s_%s_%s_%s" PLR_EXT, smdpf_oid, station_id, ts, hex);
    return (n < 0 || (size_t)n >= len) ? ST_E_TOO_LARGE : ST_OK;
}

/* ---- build ---- */

/* Milliseconds since *t, and *t reset to now (debug timing of the steps). */
static double lap_ms(struct timespec *t) {
    struct timespec n;
    double ms;
    clock_gettime(CLOCK_MONOTONIC, &n);
    ms = (double)(n.tv_sec - t->tv_sec) * 1e3 + (double)(n.tv_nsec - t->tv_nsec) / 1e6;
    *t = n;
    return ms;
}

/* A BF37 as the simulated and real cards return it is ~160-200 bytes: the arena's first guess. */
#define PIR_TYPICAL_LEN 200

/* Per-entry facts the DER does not carry. */
typedef struct {
    size_t pir_off; /* into the arena; the entries' pir.p are set after collection */
    size_t pir_len;
    bool verified;
} aux_t;

typedef struct {
    ifpp_report_entry_t *entries;
    aux_t *aux;
    size_t n, cap;
    buf_t arena; /* every BF37, back to back */
    uint8_t (*bundles)[IFPP_ID_LEN];
    size_t n_bundles, cap_bundles;
    int64_t first, last;
} collect_t;

static st_t add_bundle(collect_t *c, const uint8_t id[STORE_ID_LEN]) {
    /* Results come bundle by bundle in practice: look at the last one first. */
    for (size_t i = c->n_bundles; i-- > 0;)
        if (memcmp(c->bundles[i], id, IFPP_ID_LEN) == 0)
            return ST_OK;
    if (c->n_bundles == IFPP_MAX_BUNDLE_IDS)
        return ST_E_TOO_LARGE;
    if (c->n_bundles == c->cap_bundles) {
        size_t ncap = c->cap_bundles ? 2 * c->cap_bundles : 8;
        void *nv = realloc(c->bundles, ncap * sizeof(*c->bundles));
        if (!nv)
            return ST_E_NOMEM;
        c->bundles = nv;
        c->cap_bundles = ncap;
    }
    memcpy(c->bundles[c->n_bundles++], id, IFPP_ID_LEN);
    return ST_OK;
}

static st_t collect_cb(void *ud, const store_result_t *r) {
    collect_t *c = ud;
    ifpp_report_entry_t *e;
    aux_t *a;
    st_t st;

    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 256;
        ifpp_report_entry_t *ne;
        aux_t *na;
        if (ncap > IFPP_MAX_REPORT_ENTRIES)
            return ST_E_TOO_LARGE;
        if (!(ne = realloc(c->entries, ncap * sizeof(*ne))))
            return ST_E_NOMEM;
        c->entries = ne;
        if (!(na = realloc(c->aux, ncap * sizeof(*na))))
            return ST_E_NOMEM;
        c->aux = na;
        c->cap = ncap;
    }
    if (r->tid_len < 1 || r->tid_len > IFPP_MAX_TID_LEN || r->pir_len > IFPP_MAX_PIR_LEN)
        return ST_E_DB_CORRUPT;
    if ((st = add_bundle(c, r->bundle_id)) != ST_OK)
        return st;
    e = &c->entries[c->n];
    a = &c->aux[c->n];
    memset(e, 0, sizeof(*e));
    e->kind = r->kind == STORE_RESULT_INSTALLED ? IFPP_RESULT_INSTALLED : IFPP_RESULT_FAILED;
    memcpy(e->eid, r->eid, IFPP_EID_LEN);
    memcpy(e->tid, r->tid, r->tid_len);
    e->tid_len = r->tid_len;
    memcpy(e->iccid, r->iccid, IFPP_ICCID_LEN);
    e->has_iccid = true;
    e->at = (time_t)r->at;
    a->pir_off = c->arena.len;
    a->pir_len = r->pir ? r->pir_len : 0;
    a->verified = r->verified;
    if (a->pir_len && (st = buf_append(&c->arena, r->pir, a->pir_len)) != ST_OK)
        return st;
    if (e->kind == IFPP_RESULT_FAILED) {
        unsigned code = r->fpa_error_code < 0 ? PLR_FPA_UNSPECIFIED : (unsigned)r->fpa_error_code;
        e->fpa_error_code = code;
        plr_text_copy(e->text, sizeof(e->text), r->text[0] ? r->text : plr_fpa_text(code));
    }
    if (c->n == 0 || r->at < c->first)
        c->first = r->at;
    if (c->n == 0 || r->at > c->last)
        c->last = r->at;
    c->n++;
    return ST_OK;
}

static void collect_free(collect_t *c) {
    free(c->entries);
    free(c->aux);
    free(c->bundles);
    buf_free(&c->arena);
}

/* CERT.EUICC by EID, direct-mapped on the EID's last bytes (a line interleaves its cards). */
#define EUICC_CACHE_SLOTS 256
typedef struct {
    uint8_t eid[STORE_EID_LEN];
    X509 *cert; /* owned; NULL: empty slot */
} euicc_slot_t;
typedef struct {
    euicc_slot_t slot[EUICC_CACHE_SLOTS];
} euicc_cache_t;

static void euicc_cache_free(euicc_cache_t *k) {
    for (size_t i = 0; i < EUICC_CACHE_SLOTS; i++)
        X509_free(k->slot[i].cert);
}

/* PK.EUICC of `eid` from the store (borrowed from the cache). */
static st_t euicc_pub(store_t *s, euicc_cache_t *k, const uint8_t eid[STORE_EID_LEN],
                      EVP_PKEY **pub) {
    euicc_slot_t *e =
        &k->slot[(eid[STORE_EID_LEN - 2] * 31u + eid[STORE_EID_LEN - 1]) % EUICC_CACHE_SLOTS];
    store_euicc_t *se = NULL;
    st_t st;

    *pub = NULL;
    if (!e->cert || memcmp(e->eid, eid, STORE_EID_LEN) != 0) {
        X509_free(e->cert);
        e->cert = NULL;
        if ((st = store_euicc_get(s, eid, &se)) != ST_OK)
            return st;
        st = cert_from_der(se->cert_euicc.data, se->cert_euicc.len, &e->cert);
        store_euicc_free(se);
        if (st != ST_OK)
            return st;
        memcpy(e->eid, eid, STORE_EID_LEN);
    }
    *pub = X509_get0_pubkey(e->cert);
    return *pub ? ST_OK : st_from_openssl("X509_get0_pubkey");
}

/*
 * Why a BF37 cannot stand in the entry e as the card's signed result (NULL: it can). Checks
 * what the SM-DPf checks (DPFF06): it parses, names e's transaction and the SM-DPf, agrees
 * with e's kind, and - unless the engine already verified it - is signed by the eUICC.
 */
static const char *pir_problem(store_t *s, euicc_cache_t *k, const ifpp_report_entry_t *e,
                               const uint8_t *pir, size_t len, bool verified, const buf_t *oid) {
    pir_view_t pv;
    EVP_PKEY *pub = NULL;

    if (pir_parse(pir, len, &pv) != ST_OK)
        return "malformed BF37";
    if (pv.tid_len != e->tid_len || memcmp(pv.tid, e->tid, e->tid_len) != 0)
        return "BF37 names another transaction";
    if (pv.smdp_oid_len != oid->len || memcmp(pv.smdp_oid, oid->data, oid->len) != 0)
        return "BF37 names another SM-DPf";
    if (e->kind == IFPP_RESULT_INSTALLED && !pv.success)
        return "BF37 reports an error";
    if (e->kind == IFPP_RESULT_FAILED && pv.success)
        return "BF37 reports success";
    if (verified)
        return NULL;
    if (euicc_pub(s, k, e->eid, &pub) != ST_OK)
        return "eUICC certificate not in the store";
    if (pir_verify(&pv, pub) != ST_OK)
        return "euiccSignPIR does not verify with CERT.EUICC";
    return NULL;
}

/* Attaches the BF37s; installed ones must be right, failed ones are attached when right. */
static st_t attach_pirs(store_t *s, const store_report_t *rep, collect_t *c, const buf_t *oid,
                        plr_counts_t *counts) {
    euicc_cache_t *k = calloc(1, sizeof(*k));
    char tid_hex[2 * IFPP_MAX_TID_LEN + 1], note[256];
    st_t st = ST_OK;

    if (!k)
        return ST_E_NOMEM;
    for (size_t i = 0; i < c->n; i++) {
        ifpp_report_entry_t *e = &c->entries[i];
        const aux_t *a = &c->aux[i];
        const uint8_t *pir = c->arena.data + a->pir_off;
        const char *why = NULL;

        counts->entries++;
        if (e->kind == IFPP_RESULT_INSTALLED)
            counts->installed++;
        else
            counts->failed++;
        if (a->pir_len == 0)
            continue;
        why = pir_problem(s, k, e, pir, a->pir_len, e->kind == IFPP_RESULT_INSTALLED && a->verified,
                          oid);
        if (!why) {
            e->pir.p = (uint8_t *)pir; /* borrowed from the arena; never freed through e */
            e->pir.len = a->pir_len;
            if (e->kind == IFPP_RESULT_FAILED)
                counts->failed_with_pir++;
            continue;
        }
        hex_encode(e->tid, e->tid_len, tid_hex);
        if (e->kind == IFPP_RESULT_INSTALLED) {
            /* The store says installed only after the PIR verified (DESIGN §8): this is a
             * damaged store, and a report with it would be rejected by the SM-DPf. */
            st_log(ST_LOG_ERR, "report %s: installed result of transaction %s: %s", rep->smdpf_oid,
                   tid_hex, why);
            st = ST_E_BAD_SIGNATURE;
            break;
        }
        /* A failed entry carries no BF37 that the SM-DPf could not check; the store keeps it. */
        st_log(ST_LOG_INFO, "report %s: transaction %s: BF37 withheld (%s)", rep->smdpf_oid,
               tid_hex, why);
        snprintf(note, sizeof(note), "%s (BF37 withheld: %s)", e->text, why);
        plr_text_copy(e->text, sizeof(e->text), note);
    }
    euicc_cache_free(k);
    free(k);
    return st;
}

st_t plr_build_signed(store_t *s, const plr_signer_t *sg, const store_report_t *rep, buf_t *der,
                      plr_signed_t *sig, plr_counts_t *counts) {
    collect_t c;
    ifpp_report_t r;
    plr_counts_t cnt;
    buf_t oid = BUF_INIT;
    struct timespec t;
    st_t st;

    memset(&c, 0, sizeof(c));
    memset(&cnt, 0, sizeof(cnt));
    memset(sig, 0, sizeof(*sig));
    if (counts)
        memset(counts, 0, sizeof(*counts));
    if ((st = der_oid_from_str(rep->smdpf_oid, &oid)) != ST_OK || oid.len > IFPP_MAX_OID_LEN) {
        st_log(ST_LOG_ERR, "report: bad SM-DPf OID '%s'", rep->smdpf_oid);
        st = ST_E_INVAL;
        goto out;
    }
    /* One allocation each, sized from the claim (a report may hold 10^5+ entries). */
    if (rep->n_entries > IFPP_MAX_REPORT_ENTRIES) {
        st = ST_E_TOO_LARGE;
        goto out;
    }
    if (rep->n_entries) {
        c.cap = (size_t)rep->n_entries;
        c.entries = malloc(c.cap * sizeof(*c.entries));
        c.aux = malloc(c.cap * sizeof(*c.aux));
        if (!c.entries || !c.aux || buf_reserve(&c.arena, c.cap * PIR_TYPICAL_LEN) != ST_OK) {
            st = ST_E_NOMEM;
            goto out;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((st = store_report_results(s, rep->rowid, collect_cb, &c)) != ST_OK)
        goto out;
    st_log(ST_LOG_DEBUG, "report %s: %zu results read in %.1f ms", rep->smdpf_oid, c.n, lap_ms(&t));
    if (c.n == 0) {
        st = ST_E_NOENT;
        goto out;
    }
    if ((st = attach_pirs(s, rep, &c, &oid, &cnt)) != ST_OK)
        goto out;
    st_log(ST_LOG_DEBUG, "report %s: PIRs checked in %.1f ms", rep->smdpf_oid, lap_ms(&t));

    memset(&r, 0, sizeof(r));
    r.version = IFPP_FORMAT_VERSION;
    memcpy(r.report_id, rep->report_id, IFPP_ID_LEN);
    snprintf(r.dm_id, sizeof(r.dm_id), "%s", sg->dm_id);
    snprintf(r.station_id, sizeof(r.station_id), "%s", sg->station_id);
    memcpy(r.smdpf_oid, oid.data, oid.len);
    r.smdpf_oid_len = oid.len;
    r.bundle_ids = c.bundles;
    r.n_bundle_ids = c.n_bundles;
    r.period_start = (time_t)c.first;
    r.period_end = (time_t)c.last;
    r.entries = c.entries;
    r.n_entries = c.n;
    if ((st = ifpp_report_encode(&r, der)) != ST_OK)
        goto out;
    st_log(ST_LOG_DEBUG, "report %s: %zu bytes of DER in %.1f ms", rep->smdpf_oid, der->len,
           lap_ms(&t));
    if ((st = plr_cms_sign(sg, der->data, der->len, sig)) != ST_OK)
        goto out;
    st_log(ST_LOG_DEBUG, "report %s: signed and checked in %.1f ms", rep->smdpf_oid, lap_ms(&t));
    if (counts)
        *counts = cnt;
out:
    collect_free(&c);
    buf_free(&oid);
    return st;
}

st_t plr_build(store_t *s, const plr_signer_t *sg, const store_report_t *rep, buf_t *out,
               plr_counts_t *counts) {
    buf_t der = BUF_INIT;
    plr_signed_t sig;
    size_t start;
    st_t st;

    if (counts)
        memset(counts, 0, sizeof(*counts));
    if (!s || !sg || !rep || !out)
        return ST_E_INVAL;
    start = out->len;
    st = plr_build_signed(s, sg, rep, &der, &sig, counts);
    if (st == ST_OK && (st = buf_reserve(out, sig.head.len + der.len + sig.tail.len)) == ST_OK) {
        buf_append(out, sig.head.data, sig.head.len);
        buf_append(out, der.data, der.len);
        buf_append(out, sig.tail.data, sig.tail.len);
    }
    if (st != ST_OK) {
        out->len = start;
        if (counts)
            memset(counts, 0, sizeof(*counts));
    }
    plr_signed_free(&sig);
    buf_free(&der);
    return st;
}

st_t plr_signed_report_id(const plr_signer_t *sg, const uint8_t *der, size_t len,
                          uint8_t report_id[STORE_ID_LEN]) {
    buf_t content = BUF_INIT;
    ifpp_report_t *r = NULL;
    X509 *signer = NULL;
    st_t st;

    st = cms_verify_attached(sg->trust, der, len, &content, &signer);
    if (st == ST_OK)
        st = ifpp_report_decode(content.data, content.len, &r);
    if (st == ST_OK)
        memcpy(report_id, r->report_id, STORE_ID_LEN);
    ifpp_report_free(r);
    X509_free(signer);
    buf_free(&content);
    return st;
}
