/*
 * plr_fixture.c - results in a store for report tests and the benchmark (plr_fixture.h).
 */
#include "plr_fixture.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "crypto/cert.h"
#include "crypto/certgen.h"
#include "crypto/ec.h"
#include "fmt/pir.h"
#include "tlv/tlv.h"

#define FX_EIN_PREFIX "89049032123"
#define FX_READER     "fixture"

static const uint8_t fx_bpp[] = {0xBF, 0x36, 0x04, 0xBF, 0x23, 0x01, 0x00};
static const uint8_t fx_aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00};

void plr_fixture_free(plr_fixture_t *fx) {
    if (!fx)
        return;
    for (size_t i = 0; fx->euicc && i < fx->n_euicc; i++) {
        EVP_PKEY_free(fx->euicc[i].key);
        X509_free(fx->euicc[i].cert);
    }
    free(fx->euicc);
    EVP_PKEY_free(fx->ci_key);
    EVP_PKEY_free(fx->eum_key);
    EVP_PKEY_free(fx->dm_ca_key);
    EVP_PKEY_free(fx->dm_key);
    X509_free(fx->ci);
    X509_free(fx->eum);
    X509_free(fx->dm_ca);
    X509_free(fx->dm);
    free(fx);
}

st_t plr_fixture_new(size_t n_euicc, plr_fixture_t **out) {
    plr_fixture_t *fx;
    uint64_t serial_base;
    st_t st;

    *out = NULL;
    if (n_euicc == 0 || !(fx = calloc(1, sizeof(*fx))))
        return ST_E_NOMEM;
    if (!(fx->euicc = calloc(n_euicc, sizeof(*fx->euicc)))) {
        free(fx);
        return ST_E_NOMEM;
    }
    fx->n_euicc = n_euicc;
    if (RAND_bytes(fx->tid_tag, sizeof(fx->tid_tag)) != 1
        || RAND_bytes((unsigned char *)&serial_base, sizeof(serial_base)) != 1) {
        st = ST_E_CRYPTO;
        goto out;
    }
    serial_base %= 1000000000ull;
    if ((st = ec_key_generate(EC_CURVE_P256, &fx->ci_key)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &fx->eum_key)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &fx->dm_ca_key)) != ST_OK
        || (st = ec_key_generate(EC_CURVE_P256, &fx->dm_key)) != ST_OK
        || (st = certgen_ci(fx->ci_key, "Fixture CI", "Fixture CI", &fx->ci)) != ST_OK
        || (st = certgen_eum(fx->ci, fx->ci_key, fx->eum_key, "Fixture EUM", FX_EIN_PREFIX,
                             &fx->eum))
               != ST_OK
        || (st = certgen_dm_ca(fx->dm_ca_key, "Fixture DM", "Fixture DM CA", &fx->dm_ca)) != ST_OK
        || (st = certgen_dm(fx->dm_ca, fx->dm_ca_key, fx->dm_key, "Fixture DM", "DM-FIXTURE",
                            &fx->dm))
               != ST_OK)
        goto out;
    for (size_t i = 0; i < n_euicc; i++) {
        plr_fx_euicc_t *e = &fx->euicc[i];
        if ((st = eid_compose(FX_EIN_PREFIX, serial_base + i, e->eid)) != ST_OK
            || (st = ec_key_generate(EC_CURVE_P256, &e->key)) != ST_OK
            || (st = certgen_euicc(fx->eum, fx->eum_key, e->key, e->eid, &e->cert)) != ST_OK)
            goto out;
    }
out:
    if (st != ST_OK) {
        plr_fixture_free(fx);
        return st;
    }
    *out = fx;
    return ST_OK;
}

st_t plr_fixture_put_euiccs(plr_fixture_t *fx, store_t *s) {
    buf_t ce = BUF_INIT, cm = BUF_INIT;
    st_t st = cert_to_der(fx->eum, &cm);

    for (size_t i = 0; st == ST_OK && i < fx->n_euicc; i++) {
        store_euicc_new_t e;
        buf_reset(&ce);
        if ((st = cert_to_der(fx->euicc[i].cert, &ce)) != ST_OK)
            break;
        memset(&e, 0, sizeof(e));
        memcpy(e.eid, fx->euicc[i].eid, STORE_EID_LEN);
        e.cert_euicc = ce.data;
        e.cert_euicc_len = ce.len;
        e.cert_eum = cm.data;
        e.cert_eum_len = cm.len;
        e.batch = "fixture";
        st = store_euicc_put(s, &e);
        if (st == ST_E_EXISTS)
            st = ST_OK;
    }
    buf_free(&ce);
    buf_free(&cm);
    return st;
}

st_t plr_fixture_bundle(plr_fixture_t *fx, store_t *s, const char *oid, size_t n, uint32_t key_base,
                        int64_t *ids) {
    store_bundle_new_t b;
    int64_t rowid = 0;
    st_t st;

    memset(&b, 0, sizeof(b));
    if (RAND_bytes(b.bundle_id, sizeof(b.bundle_id)) != 1
        || RAND_bytes(b.file_sha256, sizeof(b.file_sha256)) != 1)
        return ST_E_CRYPTO;
    b.smdpf_oid = oid;
    b.smdpf_name = "fixture SM-DPf";
    b.created_at = 1700000000;
    b.entry_count = n;
    b.smdpf_chain = (const uint8_t *)"\x30\x03\x02\x01\x01";
    b.smdpf_chain_len = 5;
    b.file_name = "fixture.ifppb";
    if ((st = store_tx_begin(s)) != ST_OK)
        return st;
    st = store_bundle_insert(s, &b, &rowid);
    for (size_t i = 0; st == ST_OK && i < n; i++) {
        store_bpp_new_t e;
        uint64_t t = ++fx->tid_counter;
        memset(&e, 0, sizeof(e));
        e.seq = (uint32_t)i;
        memcpy(e.eid, fx->euicc[i % fx->n_euicc].eid, STORE_EID_LEN);
        e.key_index = key_base + (uint32_t)(i / fx->n_euicc);
        e.tid_len = 16;
        memcpy(e.tid, fx->tid_tag, 8);
        for (int k = 0; k < 8; k++)
            e.tid[8 + k] = (uint8_t)(t >> (56 - 8 * k));
        e.iccid[0] = 0x98;
        for (int k = 1; k < STORE_ICCID_LEN; k++)
            e.iccid[k] = (uint8_t)((t >> (4 * k)) & 0x99); /* BCD-looking digits */
        e.profile_type = "fixture";
        e.bpp = fx_bpp;
        e.bpp_len = sizeof(fx_bpp);
        st = store_bpp_add(s, rowid, &e, &ids[i]);
    }
    if (st != ST_OK) {
        store_tx_rollback(s);
        return st;
    }
    return store_tx_commit(s);
}

static const plr_fx_euicc_t *euicc_of(const plr_fixture_t *fx, const uint8_t eid[STORE_EID_LEN]) {
    for (size_t i = 0; i < fx->n_euicc; i++)
        if (memcmp(fx->euicc[i].eid, eid, STORE_EID_LEN) == 0)
            return &fx->euicc[i];
    return NULL;
}

st_t plr_fixture_pir(plr_fixture_t *fx, store_t *s, int64_t bpp_id, bool success, buf_t *out) {
    store_bpp_t b;
    const plr_fx_euicc_t *e;
    buf_t oid = BUF_INIT;
    pir_fields_t f;
    st_t st;

    if ((st = store_bpp_get(s, bpp_id, &b)) != ST_OK)
        return st;
    if (!(e = euicc_of(fx, b.eid)))
        return ST_E_NOENT;
    if ((st = der_oid_from_str(b.smdpf_oid, &oid)) != ST_OK)
        return st;
    memset(&f, 0, sizeof(f));
    f.tid = b.tid;
    f.tid_len = b.tid_len;
    f.seq_number = (uint64_t)bpp_id;
    f.notif_address = "smdpf.example.com";
    f.smdp_oid = oid.data;
    f.smdp_oid_len = oid.len;
    f.success = success;
    if (success) {
        f.iccid = b.iccid;
        f.aid = fx_aid;
        f.aid_len = sizeof(fx_aid);
    } else {
        f.error_cmd = PIR_CMD_LOAD_PROFILE_ELEMENTS;
        f.error_reason = PIR_ERR_SCP03T_SECURITY_ERROR;
    }
    st = pir_build(&f, e->key, out);
    buf_free(&oid);
    return st;
}

static st_t to_loading(store_t *s, int64_t bpp_id) {
    store_change_t ch = STORE_CHANGE_INIT;
    ch.reader = FX_READER; /* no actor: no audit rows (a benchmark fills 10^5 BPPs) */
    return store_bpp_transition(s, bpp_id, STORE_BPP_PENDING, STORE_BPP_LOADING, &ch);
}

st_t plr_fixture_install(plr_fixture_t *fx, store_t *s, int64_t bpp_id) {
    store_change_t ch = STORE_CHANGE_INIT;
    buf_t pir = BUF_INIT;
    st_t st;

    if ((st = plr_fixture_pir(fx, s, bpp_id, true, &pir)) == ST_OK
        && (st = to_loading(s, bpp_id)) == ST_OK) {
        ch.pir = pir.data;
        ch.pir_len = pir.len;
        ch.pir_verified = true;
        ch.apdus = 120;
        ch.bytes = 13000;
        st = store_bpp_transition(s, bpp_id, STORE_BPP_LOADING, STORE_BPP_INSTALLED, &ch);
    }
    buf_free(&pir);
    return st;
}

st_t plr_fixture_dead(plr_fixture_t *fx, store_t *s, int64_t bpp_id, int fpa, const char *text,
                      bool with_bf37) {
    store_change_t ch = STORE_CHANGE_INIT;
    buf_t pir = BUF_INIT;
    st_t st = ST_OK;

    if (with_bf37)
        st = plr_fixture_pir(fx, s, bpp_id, false, &pir);
    if (st == ST_OK)
        st = to_loading(s, bpp_id);
    if (st == ST_OK) {
        ch.error = text;
        ch.fpa_error_code = fpa;
        if (with_bf37) {
            ch.pir = pir.data;
            ch.pir_len = pir.len;
            ch.bpp_command_id = PIR_CMD_LOAD_PROFILE_ELEMENTS;
            ch.error_reason = PIR_ERR_SCP03T_SECURITY_ERROR;
        }
        st = store_bpp_transition(s, bpp_id, STORE_BPP_LOADING, STORE_BPP_DEAD, &ch);
    }
    buf_free(&pir);
    return st;
}
