/*
 * state.c - load/save of the simulated eUICC's persistent state (layout in state.h).
 *
 * card.state is a small line-oriented text file so that a person can read what a card holds;
 * it is rewritten whole, atomically (buf_write_file_atomic: temp file, fsync, rename), after
 * every change, so a killed simulator never leaves a half-written card behind.
 */
#include "state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "base/log.h"

#define STATE_FILE     "card.state"
#define STATE_MAX_FILE (64u << 20)
#define STATE_MAGIC    "ifpp-euicc-state"
#define STATE_VERSION  1

card_state_t *card_state_new(void) {
    card_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ci = sk_X509_new_null();
    s->trust = cert_trust_new();
    if (!s->ci || !s->trust) {
        card_state_free(s);
        return NULL;
    }
    return s;
}

void card_state_free(card_state_t *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n_keys; i++)
        EVP_PKEY_free(s->keys[i].otsk);
    free(s->keys);
    free(s->profiles);
    for (size_t i = 0; i < s->n_notifs; i++)
        buf_free(&s->notifs[i].pir);
    free(s->notifs);
    EVP_PKEY_free(s->sk_euicc);
    X509_free(s->cert_euicc);
    X509_free(s->cert_eum);
    sk_X509_pop_free(s->ci, X509_free);
    cert_trust_free(s->trust);
    EVP_PKEY_free(s->dm_pub);
    X509_free(s->dm_cert);
    free(s->dir);
    free(s);
}

st_t card_state_add_ci(card_state_t *s, X509 *ci) {
    if (!X509_up_ref(ci))
        return st_from_openssl("X509_up_ref");
    if (!sk_X509_push(s->ci, ci)) {
        X509_free(ci);
        return ST_E_NOMEM;
    }
    return cert_trust_add(s->trust, ci);
}

st_t card_state_add_key(card_state_t *s, uint32_t index, EVP_PKEY *otsk) {
    card_otk_t *k;
    st_t st;

    if (s->n_keys >= CARD_MAX_KEYS)
        return ST_E_NOSPACE;
    if (card_state_find_key(s, index))
        return ST_E_EXISTS;
    k = realloc(s->keys, (s->n_keys + 1) * sizeof(*k));
    if (!k)
        return ST_E_NOMEM;
    s->keys = k;
    k = &s->keys[s->n_keys];
    memset(k, 0, sizeof(*k));
    k->index = index;
    k->state = OTK_UNUSED;
    if ((st = ec_pubkey_to_point(otsk, k->otpk)) != ST_OK)
        return st;
    k->otsk = otsk;
    s->n_keys++;
    return ST_OK;
}

card_otk_t *card_state_find_key(card_state_t *s, uint32_t index) {
    for (size_t i = 0; i < s->n_keys; i++)
        if (s->keys[i].index == index)
            return &s->keys[i];
    return NULL;
}

size_t card_state_count_keys(const card_state_t *s, otk_state_t state) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_keys; i++)
        n += s->keys[i].state == state;
    return n;
}

void card_state_erase_key(card_otk_t *k, otk_state_t new_state) {
    EVP_PKEY_free(k->otsk); /* OpenSSL cleanses the private scalar on free */
    k->otsk = NULL;
    k->state = new_state;
}

card_profile_t *card_state_find_iccid(card_state_t *s, const uint8_t iccid[CARD_ICCID_LEN]) {
    for (size_t i = 0; i < s->n_profiles; i++)
        if (!memcmp(s->profiles[i].iccid, iccid, CARD_ICCID_LEN))
            return &s->profiles[i];
    return NULL;
}

card_profile_t *card_state_find_aid(card_state_t *s, const uint8_t *aid, size_t len) {
    for (size_t i = 0; i < s->n_profiles; i++)
        if (s->profiles[i].aid_len == len && !memcmp(s->profiles[i].aid, aid, len))
            return &s->profiles[i];
    return NULL;
}

st_t card_state_add_profile(card_state_t *s, const card_profile_t *p) {
    card_profile_t *n;
    if (s->n_profiles >= CARD_MAX_PROFILES)
        return ST_E_NOSPACE;
    n = realloc(s->profiles, (s->n_profiles + 1) * sizeof(*n));
    if (!n)
        return ST_E_NOMEM;
    s->profiles = n;
    s->profiles[s->n_profiles++] = *p;
    return ST_OK;
}

void card_state_remove_profile(card_state_t *s, card_profile_t *p) {
    size_t i = (size_t)(p - s->profiles);
    if (i >= s->n_profiles)
        return;
    memmove(&s->profiles[i], &s->profiles[i + 1], (s->n_profiles - i - 1) * sizeof(*p));
    s->n_profiles--;
}

st_t card_state_add_notif(card_state_t *s, uint64_t seq, const uint8_t *pir, size_t len) {
    card_notif_t *n;
    st_t st;
    if (s->n_notifs >= CARD_MAX_NOTIFS)
        return ST_E_NOSPACE;
    n = realloc(s->notifs, (s->n_notifs + 1) * sizeof(*n));
    if (!n)
        return ST_E_NOMEM;
    s->notifs = n;
    n = &s->notifs[s->n_notifs];
    memset(n, 0, sizeof(*n));
    n->seq = seq;
    if ((st = buf_append(&n->pir, pir, len)) != ST_OK) {
        buf_free(&n->pir);
        return st;
    }
    s->n_notifs++;
    return ST_OK;
}

bool card_state_remove_notif(card_state_t *s, uint64_t seq) {
    for (size_t i = 0; i < s->n_notifs; i++) {
        if (s->notifs[i].seq != seq)
            continue;
        buf_free(&s->notifs[i].pir);
        memmove(&s->notifs[i], &s->notifs[i + 1], (s->n_notifs - i - 1) * sizeof(s->notifs[0]));
        s->n_notifs--;
        return true;
    }
    return false;
}

/* ---- serialisation ---- */

static st_t put_hex(buf_t *b, const uint8_t *p, size_t n) {
    uint8_t *out;
    static const char digits[] = "0123456789ABCDEF";
    if (n == 0)
        return buf_append_byte(b, '-');
    out = buf_extend(b, 2 * n);
    if (!out)
        return ST_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (uint8_t)digits[p[i] >> 4];
        out[2 * i + 1] = (uint8_t)digits[p[i] & 15];
    }
    return ST_OK;
}

static st_t put_str(buf_t *b, const char *s) {
    return buf_append(b, s, strlen(s));
}

static st_t put_fmt(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static st_t put_fmt(buf_t *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return ST_E_INTERNAL;
    return buf_append(b, tmp, (size_t)n);
}

static const char *key_state_name(otk_state_t s) {
    switch (s) {
    case OTK_UNUSED:
        return "unused";
    case OTK_CONSUMED:
        return "consumed";
    default:
        return "deleted";
    }
}

static st_t serialise(const card_state_t *s, buf_t *b) {
    char eid[33];
    uint8_t d[EC_SCALAR_LEN];
    ec_curve_t curve = EC_CURVE_NONE;
    st_t st = ST_OK;

    eid_to_str(s->eid, eid);
    if (s->sk_euicc && (st = ec_key_curve(s->sk_euicc, &curve)) != ST_OK)
        return st;
    st = put_fmt(b, "%s %d\neid %s\ncurve %s\nseq %llu\nfpa_locked %d\n", STATE_MAGIC,
                 STATE_VERSION, eid, curve ? ec_curve_name(curve) : "-", (unsigned long long)s->seq,
                 s->fpa_locked ? 1 : 0);
    for (size_t i = 0; st == ST_OK && i < s->n_keys; i++) {
        const card_otk_t *k = &s->keys[i];
        st = put_fmt(b, "key %u %s ", (unsigned)k->index, key_state_name(k->state));
        if (st == ST_OK)
            st = put_hex(b, k->otpk, sizeof(k->otpk));
        if (st == ST_OK)
            st = buf_append_byte(b, ' ');
        if (st == ST_OK && k->state == OTK_UNUSED && k->otsk) {
            st = ec_privkey_to_scalar(k->otsk, d);
            if (st == ST_OK)
                st = put_hex(b, d, sizeof(d));
            mem_wipe(d, sizeof(d));
        } else if (st == ST_OK) {
            st = buf_append_byte(b, '-');
        }
        if (st == ST_OK)
            st = buf_append_byte(b, '\n');
    }
    for (size_t i = 0; st == ST_OK && i < s->n_profiles; i++) {
        const card_profile_t *p = &s->profiles[i];
        st = put_str(b, "profile ");
        if (st == ST_OK)
            st = put_hex(b, p->iccid, sizeof(p->iccid));
        if (st == ST_OK)
            st = buf_append_byte(b, ' ');
        if (st == ST_OK)
            st = put_hex(b, p->aid, p->aid_len);
        if (st == ST_OK)
            st = put_fmt(b, " %d %u ", p->enabled ? 1 : 0, (unsigned)p->pclass);
        if (st == ST_OK)
            st = put_hex(b, p->smdp_oid, p->smdp_oid_len);
        if (st == ST_OK)
            st = buf_append_byte(b, ' ');
        if (st == ST_OK)
            st = put_hex(b, (const uint8_t *)p->spn, strlen(p->spn));
        if (st == ST_OK)
            st = buf_append_byte(b, ' ');
        if (st == ST_OK)
            st = put_hex(b, (const uint8_t *)p->name, strlen(p->name));
        if (st == ST_OK)
            st = buf_append_byte(b, '\n');
    }
    for (size_t i = 0; st == ST_OK && i < s->n_notifs; i++) {
        st = put_fmt(b, "notif %llu ", (unsigned long long)s->notifs[i].seq);
        if (st == ST_OK)
            st = put_hex(b, s->notifs[i].pir.data, s->notifs[i].pir.len);
        if (st == ST_OK)
            st = buf_append_byte(b, '\n');
    }
    return st;
}

st_t card_state_save(card_state_t *s) {
    char path[4096];
    buf_t b = BUF_INIT;
    st_t st;

    if (!s->dir)
        return ST_OK;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, STATE_FILE) >= sizeof(path))
        return ST_E_INVAL;
    st = serialise(s, &b);
    if (st == ST_OK)
        st = buf_write_file_atomic(path, b.data, b.len, 0600);
    if (st != ST_OK)
        st_log(ST_LOG_ERR, "euicc: cannot save %s: %s", path, st_str(st));
    buf_wipe_free(&b); /* held one-time private keys */
    return st;
}

static st_t join(char *out, size_t outlen, const char *dir, const char *name) {
    if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen)
        return ST_E_INVAL;
    return ST_OK;
}

static st_t save_certs_pem(const char *path, STACK_OF(X509) * certs) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *p;
    long n;
    st_t st = ST_OK;
    if (!bio)
        return ST_E_NOMEM;
    for (int i = 0; i < sk_X509_num(certs); i++) {
        if (!PEM_write_bio_X509(bio, sk_X509_value(certs, i))) {
            st = st_from_openssl("PEM_write_bio_X509");
            goto out;
        }
    }
    n = BIO_get_mem_data(bio, &p);
    st = buf_write_file_atomic(path, p, (size_t)n, 0644);
out:
    BIO_free(bio);
    return st;
}

st_t card_state_save_all(card_state_t *s, const char *dir) {
    char path[4096];
    st_t st;

    if (!s->sk_euicc || !s->cert_euicc || !s->cert_eum || !s->dm_cert || sk_X509_num(s->ci) < 1)
        return ST_E_INVAL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return st_from_errno(errno);
    if ((st = join(path, sizeof(path), dir, "euicc.key.pem")) != ST_OK
        || (st = ec_key_save_pem(path, s->sk_euicc, 0600)) != ST_OK)
        return st;
    if ((st = join(path, sizeof(path), dir, "euicc.cert.pem")) != ST_OK
        || (st = cert_save_pem(path, s->cert_euicc)) != ST_OK)
        return st;
    if ((st = join(path, sizeof(path), dir, "eum.cert.pem")) != ST_OK
        || (st = cert_save_pem(path, s->cert_eum)) != ST_OK)
        return st;
    if ((st = join(path, sizeof(path), dir, "dm.cert.pem")) != ST_OK
        || (st = cert_save_pem(path, s->dm_cert)) != ST_OK)
        return st;
    if ((st = join(path, sizeof(path), dir, "ci.cert.pem")) != ST_OK
        || (st = save_certs_pem(path, s->ci)) != ST_OK)
        return st;
    free(s->dir);
    s->dir = strdup(dir);
    if (!s->dir)
        return ST_E_NOMEM;
    return card_state_save(s);
}

/* ---- parsing ---- */

/* Hex token into out (exactly n bytes, or 0..max bytes when n == 0 with *got set). */
static st_t tok_hex(const char *tok, uint8_t *out, size_t max, size_t *got) {
    buf_t b = BUF_INIT;
    st_t st;
    if (!tok)
        return ST_E_PARSE;
    if (!strcmp(tok, "-")) {
        *got = 0;
        return ST_OK;
    }
    st = hex_decode(tok, &b);
    if (st == ST_OK && b.len > max)
        st = ST_E_PARSE;
    if (st == ST_OK) {
        memcpy(out, b.data, b.len);
        *got = b.len;
    }
    buf_wipe_free(&b);
    return st;
}

static st_t tok_u64(const char *tok, uint64_t *v) {
    char *end;
    if (!tok || !*tok)
        return ST_E_PARSE;
    errno = 0;
    *v = strtoull(tok, &end, 10);
    if (errno || *end)
        return ST_E_PARSE;
    return ST_OK;
}

static st_t parse_key(card_state_t *s, ec_curve_t curve, char **save) {
    const char *t_idx = strtok_r(NULL, " ", save), *t_state = strtok_r(NULL, " ", save);
    const char *t_pk = strtok_r(NULL, " ", save), *t_sk = strtok_r(NULL, " ", save);
    uint8_t d[EC_SCALAR_LEN];
    uint64_t idx;
    size_t got;
    card_otk_t *k;
    EVP_PKEY *sk = NULL;
    st_t st;

    if ((st = tok_u64(t_idx, &idx)) != ST_OK || idx > UINT32_MAX || !t_state)
        return ST_E_PARSE;
    if (!strcmp(t_state, "unused")) {
        if ((st = tok_hex(t_sk, d, sizeof(d), &got)) != ST_OK || got != sizeof(d))
            return ST_E_PARSE;
        st = ec_privkey_from_scalar(curve, d, &sk);
        mem_wipe(d, sizeof(d));
        if (st != ST_OK)
            return st;
        if ((st = card_state_add_key(s, (uint32_t)idx, sk)) != ST_OK) {
            EVP_PKEY_free(sk);
            return st;
        }
        k = card_state_find_key(s, (uint32_t)idx);
        uint8_t pk[EC_POINT_LEN];
        if (tok_hex(t_pk, pk, sizeof(pk), &got) != ST_OK || got != sizeof(pk)
            || memcmp(pk, k->otpk, sizeof(pk)))
            return ST_E_PARSE; /* otPK does not match otSK */
        return ST_OK;
    }
    if (strcmp(t_state, "consumed") && strcmp(t_state, "deleted"))
        return ST_E_PARSE;
    if (s->n_keys >= CARD_MAX_KEYS || card_state_find_key(s, (uint32_t)idx))
        return ST_E_PARSE;
    k = realloc(s->keys, (s->n_keys + 1) * sizeof(*k));
    if (!k)
        return ST_E_NOMEM;
    s->keys = k;
    k = &s->keys[s->n_keys];
    memset(k, 0, sizeof(*k));
    k->index = (uint32_t)idx;
    k->state = !strcmp(t_state, "consumed") ? OTK_CONSUMED : OTK_DELETED;
    if (tok_hex(t_pk, k->otpk, sizeof(k->otpk), &got) != ST_OK || got != sizeof(k->otpk))
        return ST_E_PARSE;
    s->n_keys++;
    return ST_OK;
}

static st_t parse_profile(card_state_t *s, char **save) {
    card_profile_t p;
    const char *t[7];
    uint64_t en, cls;
    size_t got;
    memset(&p, 0, sizeof(p));
    for (int i = 0; i < 7; i++)
        t[i] = strtok_r(NULL, " ", save);
    if (tok_hex(t[0], p.iccid, sizeof(p.iccid), &got) != ST_OK || got != sizeof(p.iccid))
        return ST_E_PARSE;
    if (tok_hex(t[1], p.aid, sizeof(p.aid), &p.aid_len) != ST_OK || p.aid_len < 5)
        return ST_E_PARSE;
    if (tok_u64(t[2], &en) != ST_OK || en > 1 || tok_u64(t[3], &cls) != ST_OK || cls > 2)
        return ST_E_PARSE;
    p.enabled = en == 1;
    p.pclass = (uint8_t)cls;
    if (tok_hex(t[4], p.smdp_oid, sizeof(p.smdp_oid), &p.smdp_oid_len) != ST_OK)
        return ST_E_PARSE;
    if (tok_hex(t[5], (uint8_t *)p.spn, sizeof(p.spn) - 1, &got) != ST_OK)
        return ST_E_PARSE;
    p.spn[got] = 0;
    if (tok_hex(t[6], (uint8_t *)p.name, sizeof(p.name) - 1, &got) != ST_OK)
        return ST_E_PARSE;
    p.name[got] = 0;
    return card_state_add_profile(s, &p);
}

static st_t parse_notif(card_state_t *s, char **save) {
    const char *t_seq = strtok_r(NULL, " ", save), *t_pir = strtok_r(NULL, " ", save);
    uint64_t seq;
    buf_t b = BUF_INIT;
    st_t st;
    if (tok_u64(t_seq, &seq) != ST_OK || !t_pir)
        return ST_E_PARSE;
    if ((st = hex_decode(t_pir, &b)) == ST_OK)
        st = card_state_add_notif(s, seq, b.data, b.len);
    buf_free(&b);
    return st;
}

static st_t parse_state_file(card_state_t *s, char *text) {
    char *line_save = NULL, *save = NULL;
    ec_curve_t curve = EC_CURVE_NONE;
    unsigned lineno = 0;
    bool magic = false;
    st_t st = ST_OK;

    if (s->sk_euicc && (st = ec_key_curve(s->sk_euicc, &curve)) != ST_OK)
        return st;
    for (char *line = strtok_r(text, "\n", &line_save); line;
         line = strtok_r(NULL, "\n", &line_save)) {
        const char *kw, *arg;
        uint64_t v;
        lineno++;
        if (line[0] == '#' || line[0] == 0)
            continue;
        kw = strtok_r(line, " ", &save);
        if (!kw)
            continue;
        if (!magic) {
            arg = strtok_r(NULL, " ", &save);
            if (strcmp(kw, STATE_MAGIC) || tok_u64(arg, &v) != ST_OK || v != STATE_VERSION) {
                st = ST_E_VERSION;
                break;
            }
            magic = true;
            continue;
        }
        if (!strcmp(kw, "eid")) {
            st = eid_from_str(strtok_r(NULL, " ", &save), s->eid);
        } else if (!strcmp(kw, "curve")) {
            ec_curve_t c;
            arg = strtok_r(NULL, " ", &save);
            if (arg && strcmp(arg, "-")) {
                st = ec_curve_parse(arg, &c);
                if (st == ST_OK && curve != EC_CURVE_NONE && c != curve)
                    st = ST_E_PARSE;
                curve = c;
            }
        } else if (!strcmp(kw, "seq")) {
            st = tok_u64(strtok_r(NULL, " ", &save), &s->seq);
        } else if (!strcmp(kw, "fpa_locked")) {
            st = tok_u64(strtok_r(NULL, " ", &save), &v);
            s->fpa_locked = v != 0;
        } else if (!strcmp(kw, "key")) {
            st = parse_key(s, curve, &save);
        } else if (!strcmp(kw, "profile")) {
            st = parse_profile(s, &save);
        } else if (!strcmp(kw, "notif")) {
            st = parse_notif(s, &save);
        } else {
            st = ST_E_PARSE;
        }
        if (st != ST_OK)
            break;
    }
    if (st == ST_OK && !magic)
        st = ST_E_PARSE;
    if (st != ST_OK)
        st_log(ST_LOG_ERR, "euicc: card.state line %u: %s", lineno, st_str(st));
    return st;
}

st_t card_state_load(const char *dir, card_state_t **out) {
    char path[4096];
    card_state_t *s = card_state_new();
    STACK_OF(X509) *cis = NULL;
    buf_t text = BUF_INIT;
    st_t st;

    *out = NULL;
    if (!s)
        return ST_E_NOMEM;
    if (!(s->dir = strdup(dir))) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = join(path, sizeof(path), dir, "euicc.key.pem")) != ST_OK
        || (st = ec_key_load_pem(path, &s->sk_euicc)) != ST_OK)
        goto out;
    if ((st = join(path, sizeof(path), dir, "euicc.cert.pem")) != ST_OK
        || (st = cert_load(path, &s->cert_euicc)) != ST_OK)
        goto out;
    if ((st = join(path, sizeof(path), dir, "eum.cert.pem")) != ST_OK
        || (st = cert_load(path, &s->cert_eum)) != ST_OK)
        goto out;
    if ((st = join(path, sizeof(path), dir, "dm.cert.pem")) != ST_OK
        || (st = cert_load(path, &s->dm_cert)) != ST_OK)
        goto out;
    if (!(s->dm_pub = X509_get_pubkey(s->dm_cert))) {
        st = st_from_openssl("DM public key");
        goto out;
    }
    if ((st = join(path, sizeof(path), dir, "ci.cert.pem")) != ST_OK
        || (st = cert_load_all(path, &cis)) != ST_OK)
        goto out;
    for (int i = 0; st == ST_OK && i < sk_X509_num(cis); i++)
        st = card_state_add_ci(s, sk_X509_value(cis, i));
    if (st != ST_OK)
        goto out;
    if ((st = join(path, sizeof(path), dir, STATE_FILE)) != ST_OK
        || (st = buf_read_file(&text, path, STATE_MAX_FILE)) != ST_OK
        || (st = buf_append_byte(&text, 0)) != ST_OK)
        goto out;
    if ((st = parse_state_file(s, (char *)text.data)) != ST_OK)
        goto out;
    {
        uint8_t cert_eid[16];
        if ((st = cert_get_eid(s->cert_euicc, cert_eid)) != ST_OK)
            goto out;
        if (memcmp(cert_eid, s->eid, 16)) {
            st_log(ST_LOG_ERR, "euicc: %s: EID differs from CERT.EUICC", dir);
            st = ST_E_CONFLICT;
            goto out;
        }
    }
    *out = s;
    s = NULL;
out:
    if (st != ST_OK)
        st_log(ST_LOG_ERR, "euicc: cannot load card state %s: %s", dir, st_str(st));
    sk_X509_pop_free(cis, X509_free);
    buf_wipe_free(&text);
    card_state_free(s);
    return st;
}
