/*
 * fuzz_card: the simulated eUICC (tests/testkit/euicc, card_process_apdu) on arbitrary
 * sequences of APDUs, resets and power cycles (input format in fuzz_common.h). A card must
 * never crash, whatever a terminal sends.
 *
 * Once per process: a deterministic PKI (fuzz_common.c) and one personalised card in a
 * private temp dir (tmpfs when available), loaded once with card_state_load. Per input: a fresh
 * state is assembled in memory from those parsed objects (reference-counted; parsing the PEM
 * files for every input would cost more than the input itself) and attached to the same dir,
 * so every input starts from the same fresh card with persistence enabled (state changes are
 * written as in production, and what the card wrote is loaded back with card_state_load). Helper
 * operations (ES10 command as a STORE DATA sequence, FF40 signed by the DM key, FF41 with a chosen
 * certificate) let the fuzzer reach the BSP unbinding code behind the authorisation; the seeds
 * (gen-fuzz-seeds) include a complete, valid BPP load.
 *
 * Checked after every APDU: card_process_apdu returns ST_OK and an R-APDU of 2..258 bytes
 * (short APDUs: at most 256 data bytes + SW). After every input: one-time keys add up, no
 * more profiles than consumed keys (GENS08: one key, one profile), and a state the card
 * wrote loads again (a card remembers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "card.h"
#include "crypto/cert.h"
#include "crypto/ec.h"
#include "fmt/es10f.h"
#include "fuzz_common.h"
#include "state.h"
#include "tlv/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DRAIN 300

static struct {
    bool ready;
    fz_pki_t pki;
    char *dir;
    char state_path[4096];
    buf_t pristine;
    card_state_t *proto; /* the personalised card as loaded from dir: the template */
    buf_t cert_der[4];   /* CERT.DPpb, CERT.EUM, CI, DM: the FF41 choices */
} g;

static void cleanup(void) {
    if (g.dir)
        fz_rmdir_flat(g.dir);
    free(g.dir);
    for (size_t i = 0; i < 4; i++)
        buf_free(&g.cert_der[i]);
    buf_free(&g.pristine);
    card_state_free(g.proto);
    fz_pki_free(&g.pki);
}

static void init(void) {
    X509 *certs[4];

    fz_log_init();
    if (fz_pki_init(&g.pki) != ST_OK || !(g.dir = fz_tmpdir("fuzz-card"))
        || fz_card_personalise(&g.pki, g.dir) != ST_OK)
        abort();
    snprintf(g.state_path, sizeof(g.state_path), "%s/card.state", g.dir);
    if (buf_read_file(&g.pristine, g.state_path, 1u << 20) != ST_OK
        || card_state_load(g.dir, &g.proto) != ST_OK)
        abort();
    certs[0] = g.pki.dppb;
    certs[1] = g.pki.eum;
    certs[2] = g.pki.ci;
    certs[3] = g.pki.dm;
    for (size_t i = 0; i < 4; i++)
        if (cert_to_der(certs[i], &g.cert_der[i]) != ST_OK)
            abort();
    atexit(cleanup);
    g.ready = true;
}

static void restore_state(void) {
    FILE *f = fopen(g.state_path, "we");
    if (!f || fwrite(g.pristine.data, 1, g.pristine.len, f) != g.pristine.len || fclose(f) != 0)
        abort();
}

/* A fresh copy of the template state (keys and certificates up-ref'd, not re-parsed). */
static card_state_t *fresh_state(void) {
    const card_state_t *t = g.proto;
    card_state_t *s = card_state_new();

    if (!s || !(s->dir = strdup(t->dir)))
        abort();
    memcpy(s->eid, t->eid, sizeof(s->eid));
    if (!EVP_PKEY_up_ref(t->sk_euicc) || !X509_up_ref(t->cert_euicc) || !X509_up_ref(t->cert_eum)
        || !EVP_PKEY_up_ref(t->dm_pub) || !X509_up_ref(t->dm_cert))
        abort();
    s->sk_euicc = t->sk_euicc;
    s->cert_euicc = t->cert_euicc;
    s->cert_eum = t->cert_eum;
    s->dm_pub = t->dm_pub;
    s->dm_cert = t->dm_cert;
    for (int i = 0; i < sk_X509_num(t->ci); i++)
        if (card_state_add_ci(s, sk_X509_value(t->ci, i)) != ST_OK)
            abort();
    for (size_t i = 0; i < t->n_keys; i++) {
        if (!EVP_PKEY_up_ref(t->keys[i].otsk)
            || card_state_add_key(s, t->keys[i].index, t->keys[i].otsk) != ST_OK)
            abort();
    }
    s->seq = t->seq;
    return s;
}

static uint8_t cla_of(unsigned ch, bool proprietary) {
    uint8_t cla = (uint8_t)(ch < 4 ? ch : 0x40 | (ch - 4));
    return proprietary ? (uint8_t)(cla | 0x80) : cla;
}

/* One APDU with the card's invariants checked; returns the SW, data (no SW) into out. */
static uint16_t tx(card_t *c, const uint8_t *apdu, size_t n, buf_t *out) {
    buf_t r = BUF_INIT;
    uint16_t sw;

    if (card_process_apdu(c, apdu, n, &r) != ST_OK || r.len < 2 || r.len > 258)
        abort();
    sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
    if (out && buf_append(out, r.data, r.len - 2) != ST_OK)
        abort();
    buf_free(&r);
    return sw;
}

/* One ES10 DER command as a STORE DATA sequence; the response (61xx drained) into out. */
static uint16_t es10(card_t *c, unsigned ch, size_t bs, const uint8_t *cmd, size_t n, buf_t *out) {
    uint8_t a[5 + 255];
    uint16_t sw = 0x6F00;
    size_t off = 0, rounds = 0;
    unsigned blk = 0;

    buf_reset(out);
    if (n == 0 || (n + bs - 1) / bs > 256)
        return sw;
    while (off < n) {
        size_t k = n - off < bs ? n - off : bs;
        bool last = off + k == n;
        a[0] = cla_of(ch, true);
        a[1] = 0xE2;
        a[2] = last ? 0x91 : 0x11;
        a[3] = (uint8_t)blk++;
        a[4] = (uint8_t)k;
        memcpy(a + 5, cmd + off, k);
        sw = tx(c, a, 5 + k, NULL);
        off += k;
        if (!last && sw != 0x9000)
            return sw;
    }
    while ((sw >> 8) == 0x61 && rounds++ < MAX_DRAIN) {
        uint8_t gr[5] = {cla_of(ch, false), 0xC0, 0x00, 0x00, (uint8_t)sw};
        sw = tx(c, gr, sizeof(gr), out);
    }
    return sw;
}

static void op_authorise(card_t *c, unsigned ch, size_t bs) {
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    buf_t resp = BUF_INIT, tbs = BUF_INIT, req = BUF_INIT;
    uint8_t sig[EC_SIG_RAW_LEN];
    tlv_t t, chal;

    if (es10(c, ch, bs, get_challenge, sizeof(get_challenge), &resp) != 0x9000
        || tlv_parse_exact(resp.data, resp.len, &t) != ST_OK || t.tag != 0xBF2E
        || tlv_find_child(&t, 0x80, &chal) != ST_OK || chal.len != ES10F_CHALLENGE_LEN)
        goto out;
    if (es10f_auth_tbs(g.pki.eid, chal.value, &tbs) != ST_OK
        || ec_sign_raw(g.pki.dm_key, tbs.data, tbs.len, sig) != ST_OK)
        abort();
    if (tlv_buf_header(&req, ES10F_TAG_AUTHORISE, 3 + 3 + EC_SIG_RAW_LEN) != ST_OK
        || tlv_buf_put(&req, 0x80, "\x01", 1) != ST_OK
        || tlv_buf_put(&req, 0x5F37, sig, sizeof(sig)) != ST_OK)
        abort();
    (void)es10(c, ch, bs, req.data, req.len, &resp);
out:
    buf_free(&resp);
    buf_free(&tbs);
    buf_free(&req);
}

static void op_prepare(card_t *c, unsigned ch, size_t bs, uint8_t key, uint8_t which) {
    const buf_t *cert = &g.cert_der[which % 4];
    buf_t req = BUF_INIT, resp = BUF_INIT;

    if (tlv_buf_header(&req, ES10F_TAG_PREPARE_LOAD,
                       3 + 3 + tlv_header_len(0xA0, cert->len) + cert->len)
            != ST_OK
        || tlv_buf_put(&req, 0x80, "\x01", 1) != ST_OK || tlv_buf_put(&req, 0x81, &key, 1) != ST_OK
        || tlv_buf_put(&req, 0xA0, cert->data, cert->len) != ST_OK)
        abort();
    (void)es10(c, ch, bs, req.data, req.len, &resp);
    buf_free(&req);
    buf_free(&resp);
}

static void op_open_isdr(card_t *c) {
    static const uint8_t open[] = {0x00, 0x70, 0x00, 0x00, 0x01};
    uint8_t sel[6 + 16] = {0, 0xA4, 0x04, 0x00, 0x10};
    buf_t d = BUF_INIT;

    if (tx(c, open, sizeof(open), &d) == 0x9000 && d.len == 1 && d.data[0] < CARD_MAX_CHANNELS) {
        sel[0] = cla_of(d.data[0], false);
        memcpy(sel + 5, CARD_DEFAULT_ISDR_AID, 16);
        sel[21] = 0x00;
        buf_reset(&d);
        (void)tx(c, sel, sizeof(sel), &d);
    }
    buf_free(&d);
}

static void check_state(const card_state_t *s) {
    size_t unused = card_state_count_keys(s, OTK_UNUSED);
    size_t consumed = card_state_count_keys(s, OTK_CONSUMED);
    size_t deleted = card_state_count_keys(s, OTK_DELETED);

    if (unused + consumed + deleted != FZ_CARD_KEYS || s->n_keys != FZ_CARD_KEYS)
        abort();
    if (s->n_profiles > consumed) /* GENS08: a profile needs a one-time key of its own */
        abort();
    for (size_t i = 0; i < s->n_keys; i++)
        if ((s->keys[i].state == OTK_UNUSED) != (s->keys[i].otsk != NULL))
            abort(); /* a used or deleted key keeps no private part */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in_t in = {data, size};
    card_state_t *s = NULL;
    card_opts_t o;
    card_t *c = NULL;
    buf_t scratch = BUF_INIT, now = BUF_INIT;
    uint8_t flags = 0, max_block = 0, op, a0, a1, a2;
    const uint8_t *p;
    size_t n;

    if (!g.ready)
        init();
    (void)fz_u8(&in, &flags);
    (void)fz_u8(&in, &max_block);
    restore_state();
    s = fresh_state();
    card_opts_default(&o);
    o.t0_only = (flags & FZ_CARD_T0_ONLY) != 0;
    o.max_block = max_block ? max_block : 255;
    if (card_new(s, &o, &c) != ST_OK)
        abort();
    card_power_on(c);
    while (fz_u8(&in, &op)) {
        switch (op % FZ_CARD_OP_COUNT) {
        case FZ_CARD_APDU:
            if (!fz_chunk(&in, 300, &p, &n))
                goto done;
            buf_reset(&scratch);
            (void)tx(c, p, n, &scratch);
            break;
        case FZ_CARD_ES10:
            if (!fz_u8(&in, &a0) || !fz_u8(&in, &a1) || !fz_chunk(&in, 65536, &p, &n))
                goto done;
            (void)es10(c, a0 % CARD_MAX_CHANNELS, a1 ? a1 : 120, p, n, &scratch);
            break;
        case FZ_CARD_RESET:
            card_reset(c);
            break;
        case FZ_CARD_POWER_CYCLE:
            card_power_off(c);
            card_power_on(c);
            break;
        case FZ_CARD_AUTHORISE:
            if (!fz_u8(&in, &a0))
                goto done;
            op_authorise(c, a0 % CARD_MAX_CHANNELS, o.max_block < 120 ? o.max_block : 120);
            break;
        case FZ_CARD_PREPARE:
            if (!fz_u8(&in, &a0) || !fz_u8(&in, &a1) || !fz_u8(&in, &a2))
                goto done;
            op_prepare(c, a0 % CARD_MAX_CHANNELS, o.max_block, a1, a2);
            break;
        case FZ_CARD_OPEN_ISDR:
            op_open_isdr(c);
            break;
        default:
            break;
        }
        check_state(card_get_state(c));
    }
done:
    check_state(card_get_state(c));
    card_free(c);
    /* What the card wrote must load again. */
    if (buf_read_file(&now, g.state_path, 1u << 20) != ST_OK)
        abort();
    if (now.len != g.pristine.len || memcmp(now.data, g.pristine.data, now.len) != 0) {
        if (card_state_load(g.dir, &s) != ST_OK)
            abort();
        check_state(s);
        card_state_free(s);
    }
    buf_free(&now);
    buf_free(&scratch);
    return 0;
}
