/* fuzz_common.c - input formats, deterministic PKI and card helpers of the fuzz targets. */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "card.h"
#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/ec.h"
#include "base/log.h"
#include "state.h"
#include "tlv/tlv.h"

void fz_log_init(void) {
    st_log_level_t l = ST_LOG_ERR;
    const char *e = getenv("IFPP_FUZZ_LOG");

    if (e && !st_log_level_parse(e, &l))
        l = ST_LOG_ERR;
    st_log_set_level(l);
}

/* ---- input reader ---- */

bool fz_u8(fz_in_t *in, uint8_t *v) {
    if (in->n == 0)
        return false;
    *v = in->p[0];
    in->p++;
    in->n--;
    return true;
}

bool fz_chunk(fz_in_t *in, size_t max, const uint8_t **p, size_t *n) {
    size_t len;

    if (in->n < 2)
        return false;
    len = (size_t)in->p[0] << 8 | in->p[1];
    in->p += 2;
    in->n -= 2;
    if (len > max)
        len = max;
    if (len > in->n)
        len = in->n;
    *p = in->p;
    *n = len;
    in->p += len;
    in->n -= len;
    return true;
}

st_t fz_put_chunk(buf_t *b, const uint8_t *p, size_t n) {
    uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    st_t st;

    if (n > 0xFFFF)
        return ST_E_TOO_LARGE;
    if ((st = buf_append(b, hdr, 2)) != ST_OK)
        return st;
    return buf_append(b, p, n);
}

/* ---- the fixed BPP of fuzz-es10 ---- */

st_t fz_dummy_bpp(size_t n86, buf_t *out) {
    uint8_t tid[16], host[9] = "FUZZ-HOST", otpk[65], sig[64], seg[48];
    tlv_writer_t *w = tlv_writer_new();
    st_t st;

    if (!w)
        return ST_E_NOMEM;
    for (size_t i = 0; i < sizeof(tid); i++)
        tid[i] = (uint8_t)(0xA0 + i);
    memset(otpk, 0x11, sizeof(otpk));
    otpk[0] = 0x04;
    memset(sig, 0x22, sizeof(sig));
    memset(seg, 0x33, sizeof(seg));
    tlv_w_begin(w, 0xBF36);
    tlv_w_begin(w, 0xBF23);
    tlv_w_uint(w, 0x82, 1);
    tlv_w_put(w, 0x80, tid, sizeof(tid));
    tlv_w_begin(w, 0xA6);
    tlv_w_put(w, 0x80, "\x88", 1);
    tlv_w_put(w, 0x81, "\x10", 1);
    tlv_w_put(w, 0x84, host, sizeof(host));
    tlv_w_end(w);
    tlv_w_put(w, 0x5F49, otpk, sizeof(otpk));
    tlv_w_put(w, 0x5F37, sig, sizeof(sig));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA0);
    tlv_w_put(w, 0x87, seg, sizeof(seg));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA1);
    tlv_w_put(w, 0x88, seg, sizeof(seg));
    tlv_w_end(w);
    tlv_w_begin(w, 0xA3);
    for (size_t i = 0; i < n86; i++)
        tlv_w_put(w, 0x86, seg, sizeof(seg));
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* ---- deterministic PKI ---- */

st_t fz_det_key(const char *label, EVP_PKEY **out) {
    uint8_t d[EC_SCALAR_LEN];
    char msg[128];
    unsigned int dlen = 0;
    int n = snprintf(msg, sizeof(msg), "ifpp-fuzz:%s", label);
    st_t st;

    if (n < 0 || (size_t)n >= sizeof(msg))
        return ST_E_INVAL;
    if (!EVP_Digest(msg, (size_t)n, d, &dlen, EVP_sha256(), NULL) || dlen != sizeof(d))
        return st_from_openssl("EVP_Digest");
    st = ec_privkey_from_scalar(EC_CURVE_P256, d, out);
    mem_wipe(d, sizeof(d));
    return st;
}

st_t fz_otk_key(uint32_t index, EVP_PKEY **out) {
    char label[32];
    snprintf(label, sizeof(label), "otk-%u", index);
    return fz_det_key(label, out);
}

void fz_pki_free(fz_pki_t *p) {
    EVP_PKEY_free(p->ci_key);
    EVP_PKEY_free(p->eum_key);
    EVP_PKEY_free(p->euicc_key);
    EVP_PKEY_free(p->dppb_key);
    EVP_PKEY_free(p->dmca_key);
    EVP_PKEY_free(p->dm_key);
    X509_free(p->ci);
    X509_free(p->eum);
    X509_free(p->euicc);
    X509_free(p->dppb);
    X509_free(p->dmca);
    X509_free(p->dm);
    memset(p, 0, sizeof(*p));
}

st_t fz_pki_init(fz_pki_t *p) {
    st_t st;

    memset(p, 0, sizeof(*p));
    if ((st = fz_det_key("ci", &p->ci_key)) != ST_OK
        || (st = fz_det_key("eum", &p->eum_key)) != ST_OK
        || (st = fz_det_key("euicc", &p->euicc_key)) != ST_OK
        || (st = fz_det_key("dppb", &p->dppb_key)) != ST_OK
        || (st = fz_det_key("dmca", &p->dmca_key)) != ST_OK
        || (st = fz_det_key("dm", &p->dm_key)) != ST_OK)
        goto out;
    if ((st = eid_compose("89049032", 4242, p->eid)) != ST_OK
        || (st = certgen_ci(p->ci_key, "RSP Test", "Fuzz CI", &p->ci)) != ST_OK
        || (st = certgen_eum(p->ci, p->ci_key, p->eum_key, "RSP Test EUM", "89049032", &p->eum))
               != ST_OK
        || (st = certgen_euicc(p->eum, p->eum_key, p->euicc_key, p->eid, &p->euicc)) != ST_OK
        || (st = certgen_smdpf(p->ci, p->ci_key, p->dppb_key, CERTGEN_DP_PB, "2.999.10", "ACME",
                               "FUZZ SM-DPf", &p->dppb))
               != ST_OK
        || (st = certgen_dm_ca(p->dmca_key, "Fuzz DM", "Fuzz DM CA", &p->dmca)) != ST_OK
        || (st = certgen_dm(p->dmca, p->dmca_key, p->dm_key, "Fuzz DM", "DM-FUZZ", &p->dm))
               != ST_OK)
        goto out;
out:
    if (st != ST_OK)
        fz_pki_free(p);
    return st;
}

st_t fz_card_personalise(const fz_pki_t *p, const char *dir) {
    card_state_t *s = card_state_new();
    st_t st = ST_OK;

    if (!s)
        return ST_E_NOMEM;
    memcpy(s->eid, p->eid, sizeof(s->eid));
    if (!EVP_PKEY_up_ref(p->euicc_key) || !X509_up_ref(p->euicc) || !X509_up_ref(p->eum)
        || !X509_up_ref(p->dm)) {
        card_state_free(s);
        return ST_E_INTERNAL;
    }
    s->sk_euicc = p->euicc_key;
    s->cert_euicc = p->euicc;
    s->cert_eum = p->eum;
    s->dm_cert = p->dm;
    if (!(s->dm_pub = X509_get_pubkey(p->dm))) {
        st = st_from_openssl("X509_get_pubkey");
        goto out;
    }
    if ((st = card_state_add_ci(s, p->ci)) != ST_OK)
        goto out;
    for (uint32_t i = 1; i <= FZ_CARD_KEYS; i++) {
        EVP_PKEY *k = NULL;
        if ((st = fz_otk_key(i, &k)) != ST_OK || (st = card_state_add_key(s, i, k)) != ST_OK)
            goto out;
    }
    st = card_state_save_all(s, dir);
out:
    card_state_free(s);
    return st;
}

char *fz_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char path[4096];

    if (access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    if (!base || !*base)
        base = "/tmp";
    if ((size_t)snprintf(path, sizeof(path), "%s/ifpp-%s-XXXXXX", base, tag) >= sizeof(path))
        return NULL;
    if (!mkdtemp(path))
        return NULL;
    return strdup(path);
}

void fz_rmdir_flat(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < sizeof(path))
            (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

/* ---- transport over a simulated card ---- */

typedef struct {
    card_t *card; /* borrowed */
    buf_t *record;
    bool open;
} fz_ct_t;

static st_t ct_open(void *priv, const char *reader) {
    fz_ct_t *ct = priv;
    (void)reader;
    if (!ct->open)
        card_power_on(ct->card);
    ct->open = true;
    return ST_OK;
}

static void ct_close(void *priv) {
    ((fz_ct_t *)priv)->open = false;
}

static st_t ct_transmit(void *priv, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                        size_t *rlen) {
    fz_ct_t *ct = priv;
    buf_t resp = BUF_INIT;
    st_t st;

    if (!ct->open)
        return ST_E_NO_CARD;
    st = card_process_apdu(ct->card, c, clen, &resp);
    if (st == ST_OK && resp.len > rcap)
        st = ST_E_PROTO;
    if (st == ST_OK) {
        memcpy(r, resp.data, resp.len);
        *rlen = resp.len;
        if (ct->record)
            st = fz_put_chunk(ct->record, resp.data, resp.len);
    }
    buf_free(&resp);
    return st;
}

static st_t ct_reset(void *priv) {
    card_reset(((fz_ct_t *)priv)->card);
    return ST_OK;
}

static st_t ct_wait(void *priv, const char *reader, transport_wait_t what, unsigned timeout_ms) {
    (void)priv;
    (void)reader;
    (void)what;
    (void)timeout_ms;
    return ST_OK;
}

static st_t ct_info(void *priv, transport_info_t *out) {
    fz_ct_t *ct = priv;
    memset(out, 0, sizeof(*out));
    out->proto = ct->open ? TRANSPORT_PROTO_T1 : TRANSPORT_PROTO_NONE;
    out->atr_len = card_atr(ct->card, out->atr);
    return ST_OK;
}

static void ct_destroy(void *priv) {
    free(priv);
}

static const transport_ops_t ct_ops = {
    .name = "fuzz-card",
    .open = ct_open,
    .close = ct_close,
    .transmit = ct_transmit,
    .reset = ct_reset,
    .wait_event = ct_wait,
    .cancel = NULL,
    .info = ct_info,
    .destroy = ct_destroy,
};

st_t fz_card_transport_new(struct card *c, buf_t *record, transport_t **out) {
    fz_ct_t *ct = calloc(1, sizeof(*ct));
    st_t st;

    *out = NULL;
    if (!ct)
        return ST_E_NOMEM;
    ct->card = c;
    ct->record = record;
    if ((st = transport_new(&ct_ops, ct, out)) != ST_OK)
        return st;
    if ((st = transport_open(*out, "fuzz card 00 00")) != ST_OK) {
        transport_free(*out);
        *out = NULL;
    }
    return st;
}
