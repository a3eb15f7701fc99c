/*
 * es10.c - ES10 functions of the simulated eUICC: one reassembled STORE DATA sequence is one
 * DER command (research §6.1), answered with one DER response. Also the project-local ES10f
 * FPA services FF40-FF43 (station/core/fmt/es10f.h, implemented here card-side exactly as that
 * header documents) and the SGP.41 gating:
 *
 *   function                       while one-time keys remain     after DeleteOneTimeKeys
 *   FF40 FF41 FF42, BF36 (FPA)     allowed                        SW 6985 (for good)
 *   BF31 BF32 BF33 BF21 ... (LPA)  SW 6985 (EUICCF04)             allowed
 *   BF3E BF22 BF20 BF2E BF2D       allowed                        allowed
 *   BF2B BF30 FF43                 allowed                        allowed
 *
 * "Keys remain" means unused one-time keys exist (consumed keys are already erased).
 * FF41/FF42 without a successful FF40 since the last reset answer notAuthorised; BF36 without
 * it (or without an armed FF41) answers SW 6985.
 */
#include "card_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "crypto/cert.h"
#include "crypto/ec.h"
#include "fmt/es10f.h"
#include "tlv/tlv.h"

void card_es10_reset(card_t *c) {
    mem_wipe(c->challenge, sizeof(c->challenge));
    c->has_challenge = false;
    c->authorised = false;
    EVP_PKEY_free(c->prep.dppb_pub);
    memset(&c->prep, 0, sizeof(c->prep));
}

static bool keys_remain(const card_t *c) {
    return card_state_count_keys(c->st, OTK_UNUSED) > 0;
}

/* ---- EUICCInfo1/2 ---- */

/* SEQUENCE OF SubjectKeyIdentifier: one 04 per trusted CI. */
static void put_ski_list(tlv_writer_t *w, const card_state_t *s, uint32_t tag) {
    tlv_w_begin(w, tag);
    for (int i = 0; i < sk_X509_num(s->ci); i++) {
        buf_t ski = BUF_INIT;
        if (cert_get_ski(sk_X509_value(s->ci, i), &ski) == ST_OK)
            tlv_w_put_copy(w, 0x04, ski.data, ski.len);
        buf_free(&ski);
    }
    tlv_w_end(w);
}

st_t card_build_euicc_info2(const card_state_t *s, buf_t *out) {
    /* values of a typical SGP.22 v2.2 consumer eUICC (research §6.1 field list) */
    static const uint8_t profile_version[] = {0x02, 0x03, 0x00};
    static const uint8_t svn[] = {0x02, 0x02, 0x02};
    static const uint8_t fw[] = {0x01, 0x00, 0x00};
    static const uint8_t uicc_cap[] = {0x07, 0x6B, 0x02, 0x80}; /* usim isim milenage tuak jc */
    static const uint8_t ts102241[] = {0x09, 0x02, 0x00};
    static const uint8_t gp[] = {0x02, 0x03, 0x00};
    static const uint8_t rsp_cap[] = {0x04, 0x90}; /* additionalProfile, testProfileSupport */
    static const uint8_t category[] = {0x02};      /* mediumEuicc */
    static const uint8_t pp_version[] = {0x02, 0x03, 0x01};
    static const char sas[] = "IFPP-TESTKIT-SIM";
    uint8_t ext[16];
    size_t n_ext = 0;
    tlv_writer_t *w = tlv_writer_new();
    uint32_t free_nvm = 0x00040000u - 0x3000u * (uint32_t)s->n_profiles;
    st_t st;

    if (!w)
        return ST_E_NOMEM;
    /* extCardResource: 81 installed applications, 82 free NVM, 83 free RAM */
    ext[n_ext++] = 0x81;
    ext[n_ext++] = 0x01;
    ext[n_ext++] = (uint8_t)s->n_profiles;
    ext[n_ext++] = 0x82;
    ext[n_ext++] = 0x04;
    ext[n_ext++] = (uint8_t)(free_nvm >> 24);
    ext[n_ext++] = (uint8_t)(free_nvm >> 16);
    ext[n_ext++] = (uint8_t)(free_nvm >> 8);
    ext[n_ext++] = (uint8_t)free_nvm;
    ext[n_ext++] = 0x83;
    ext[n_ext++] = 0x02;
    ext[n_ext++] = 0x10;
    ext[n_ext++] = 0x00;

    tlv_w_begin(w, 0xBF22);
    tlv_w_put(w, 0x81, profile_version, sizeof(profile_version));
    tlv_w_put(w, 0x82, svn, sizeof(svn));
    tlv_w_put(w, 0x83, fw, sizeof(fw));
    tlv_w_put_copy(w, 0x84, ext, n_ext);
    tlv_w_put(w, 0x85, uicc_cap, sizeof(uicc_cap));
    tlv_w_put(w, 0x86, ts102241, sizeof(ts102241));
    tlv_w_put(w, 0x87, gp, sizeof(gp));
    tlv_w_put(w, 0x88, rsp_cap, sizeof(rsp_cap));
    put_ski_list(w, s, 0xA9);
    put_ski_list(w, s, 0xAA);
    tlv_w_put(w, 0x8B, category, sizeof(category));
    tlv_w_put(w, 0x04, pp_version, sizeof(pp_version));
    tlv_w_put(w, 0x0C, sas, strlen(sas));
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

static st_t es10b_get_euicc_info1(const card_state_t *s, buf_t *out) {
    static const uint8_t svn[] = {0x02, 0x02, 0x02};
    tlv_writer_t *w = tlv_writer_new();
    st_t st;
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, 0xBF20);
    tlv_w_put(w, 0x82, svn, sizeof(svn));
    put_ski_list(w, s, 0xA9);
    put_ski_list(w, s, 0xAA);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* ---- small helpers ---- */

/* TAG { 80 01 result [, extra] } */
static st_t result_only(uint32_t tag, unsigned result, buf_t *out) {
    tlv_writer_t *w = tlv_writer_new();
    st_t st;
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, tag);
    tlv_w_uint(w, 0x80, result);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* Reads the version element (80 01 v) of an ES10f request. */
static bool es10f_version_ok(const tlv_t *req, bool *present) {
    tlv_t t;
    uint64_t v;
    *present = tlv_find_child(req, 0x80, &t) == ST_OK && tlv_get_uint(&t, &v) == ST_OK;
    return *present && v == ES10F_VERSION;
}

/* ---- ES10c / ES10b (SGP.22) ---- */

/* ES10c.GetEID (GetEuiccDataRequest BF3E { 5C 01 5A }) -> BF3E { 5A 10 EID } */
static st_t es10c_get_eid(card_t *c, const tlv_t *req, buf_t *out, uint16_t *sw) {
    tlv_t t;
    if (tlv_find_child(req, 0x5C, &t) == ST_OK && memchr(t.value, 0x5A, t.len) == NULL) {
        *sw = SW_WRONG_DATA; /* only the EID can be asked for */
        return ST_OK;
    }
    {
        st_t st = tlv_buf_header(out, 0xBF3E, 18);
        if (st == ST_OK)
            st = tlv_buf_put(out, 0x5A, c->st->eid, 16);
        return st;
    }
}

static st_t es10b_get_euicc_challenge(card_t *c, buf_t *out) {
    st_t st;
    if (c->opts.bench_fixed_challenge) /* test-only replay knob (card.h) */
        memset(c->challenge, 0xB5, sizeof(c->challenge));
    else if (RAND_bytes(c->challenge, sizeof(c->challenge)) != 1)
        return st_from_openssl("RAND_bytes");
    c->has_challenge = true;
    st = tlv_buf_header(out, 0xBF2E, 18);
    if (st == ST_OK)
        st = tlv_buf_put(out, 0x80, c->challenge, sizeof(c->challenge));
    return st;
}

static bool profile_matches(const card_profile_t *p, const tlv_t *crit) {
    if (!crit)
        return true;
    switch (crit->tag) {
    case 0x4F:
        return crit->len == p->aid_len && !memcmp(crit->value, p->aid, p->aid_len);
    case 0x5A:
        return crit->len == CARD_ICCID_LEN && !memcmp(crit->value, p->iccid, CARD_ICCID_LEN);
    case 0x95:
        return crit->len == 1 && crit->value[0] == p->pclass;
    default:
        return false;
    }
}

/* ES10c.GetProfilesInfo (BF2D) with optional searchCriteria A0 { 4F | 5A | 95 }. */
static st_t es10c_get_profiles_info(card_t *c, const tlv_t *req, buf_t *out) {
    tlv_t a0, crit;
    const tlv_t *critp = NULL;
    tlv_writer_t *w;
    st_t st;

    if (tlv_find_child(req, 0xA0, &a0) == ST_OK) {
        tlv_iter_t it;
        tlv_iter_children(&it, &a0);
        if (tlv_iter_next(&it, &crit) != ST_OK
            || (crit.tag != 0x4F && crit.tag != 0x5A && crit.tag != 0x95))
            return result_only(0xBF2D, 1, out) == ST_OK ? ST_OK : ST_E_NOMEM;
        critp = &crit;
    }
    if (!(w = tlv_writer_new()))
        return ST_E_NOMEM;
    tlv_w_begin(w, 0xBF2D);
    tlv_w_begin(w, 0xA0);
    for (size_t i = 0; i < c->st->n_profiles; i++) {
        const card_profile_t *p = &c->st->profiles[i];
        uint8_t state = p->enabled ? 1 : 0;
        if (!profile_matches(p, critp))
            continue;
        tlv_w_begin(w, 0xE3);
        tlv_w_put(w, 0x5A, p->iccid, CARD_ICCID_LEN);
        tlv_w_put(w, 0x4F, p->aid, p->aid_len);
        tlv_w_put_copy(w, 0x9F70, &state, 1);
        tlv_w_put(w, 0x91, p->spn, strlen(p->spn));
        tlv_w_put(w, 0x92, p->name, strlen(p->name));
        tlv_w_put(w, 0x95, &p->pclass, 1);
        tlv_w_end(w);
    }
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* ES10b.RetrieveNotificationsList (BF2B { [A0 { 80 seq | 81 events }] })
 * -> BF2B { A0 { BF37... } } */
static st_t es10b_retrieve_notifications_list(card_t *c, const tlv_t *req, buf_t *out) {
    tlv_t a0, crit;
    bool by_seq = false, install_only = false, none = false;
    uint64_t seq = 0;
    tlv_writer_t *w;
    st_t st;

    if (tlv_find_child(req, 0xA0, &a0) == ST_OK) {
        tlv_iter_t it;
        tlv_iter_children(&it, &a0);
        if (tlv_iter_next(&it, &crit) != ST_OK)
            return result_only(0xBF2B, 127, out);
        if (crit.tag == 0x80) {
            if (tlv_get_uint(&crit, &seq) != ST_OK)
                return result_only(0xBF2B, 127, out);
            by_seq = true;
        } else if (crit.tag == 0x81) {
            /* NotificationEvent BIT STRING: only install (bit 0) notifications exist here */
            install_only = true;
            none = crit.len < 2 || !(crit.value[1] & 0x80);
        } else {
            return result_only(0xBF2B, 127, out);
        }
    }
    (void)install_only;
    if (!(w = tlv_writer_new()))
        return ST_E_NOMEM;
    tlv_w_begin(w, 0xBF2B);
    tlv_w_begin(w, 0xA0);
    for (size_t i = 0; !none && i < c->st->n_notifs; i++) {
        const card_notif_t *n = &c->st->notifs[i];
        if (by_seq && n->seq != seq)
            continue;
        tlv_w_raw(w, n->pir.data, n->pir.len);
    }
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* ES10b.RemoveNotificationFromList (NotificationSentRequest BF30 { 80 seq })
 * -> BF30 { 80 01 ok(0) | nothingToDelete(1) } */
static st_t es10b_remove_notification_from_list(card_t *c, const tlv_t *req, buf_t *out,
                                                uint16_t *sw) {
    tlv_t t;
    uint64_t seq;
    st_t st;
    if (tlv_find_child(req, 0x80, &t) != ST_OK || tlv_get_uint(&t, &seq) != ST_OK) {
        *sw = SW_WRONG_DATA;
        return ST_OK;
    }
    if (!card_state_remove_notif(c->st, seq))
        return result_only(0xBF30, 1, out);
    if ((st = card_save(c)) != ST_OK)
        return st;
    return result_only(0xBF30, 0, out);
}

/* The profile named by 4F / 5A inside `parent` (for Enable/Disable: inside A0). */
static card_profile_t *find_profile(card_t *c, const tlv_t *parent) {
    tlv_t t;
    if (tlv_find_child(parent, 0x4F, &t) == ST_OK)
        return card_state_find_aid(c->st, t.value, t.len);
    if (tlv_find_child(parent, 0x5A, &t) == ST_OK && t.len == CARD_ICCID_LEN)
        return card_state_find_iccid(c->st, t.value);
    return NULL;
}

/*
 * EnableProfile BF31 / DisableProfile BF32 { A0 { 4F | 5A }, 81 refresh } and
 * DeleteProfile BF33 { 4F | 5A }: results ok(0), iccidOrAidNotFound(1),
 * profileNotIn{Disabled,Enabled}State(2), undefinedError(127). Minimal but real on the store.
 */
static st_t es10c_profile_operation(card_t *c, uint32_t tag, const tlv_t *req, buf_t *out) {
    card_profile_t *p;
    tlv_t a0;
    unsigned result = 0;
    st_t st;

    if (tag == 0xBF33) {
        p = find_profile(c, req);
    } else {
        if (tlv_find_child(req, 0xA0, &a0) != ST_OK)
            return result_only(tag, 127, out);
        p = find_profile(c, &a0);
    }
    if (!p) {
        result = 1;
    } else if (tag == 0xBF31) {
        if (p->enabled) {
            result = 2;
        } else {
            for (size_t i = 0; i < c->st->n_profiles; i++)
                c->st->profiles[i].enabled = false;
            p->enabled = true;
        }
    } else if (tag == 0xBF32) {
        if (!p->enabled)
            result = 2;
        else
            p->enabled = false;
    } else {
        if (p->enabled)
            result = 2;
        else
            card_state_remove_profile(c->st, p);
    }
    if (result == 0 && (st = card_save(c)) != ST_OK)
        return st;
    return result_only(tag, result, out);
}

/* ES10b.PrepareDownload (BF21): no SM-DP+ session exists on a factory card: noSessionContext. */
static st_t es10b_prepare_download(const tlv_t *req, buf_t *out) {
    static const uint8_t zero_tid[] = {0x00};
    tlv_t signed2, tid;
    const uint8_t *tp = zero_tid;
    size_t tl = sizeof(zero_tid);
    tlv_writer_t *w = tlv_writer_new();
    st_t st;
    if (!w)
        return ST_E_NOMEM;
    if (tlv_find_child(req, 0x30, &signed2) == ST_OK
        && tlv_find_child(&signed2, 0x80, &tid) == ST_OK && tid.len >= 1 && tid.len <= 16) {
        tp = tid.value;
        tl = tid.len;
    }
    tlv_w_begin(w, 0xBF21);
    tlv_w_begin(w, 0xA1);
    tlv_w_put(w, 0x80, tp, tl);
    tlv_w_uint(w, 0x81, 4); /* noSessionContext */
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* ---- ES10f (es10f.h) ---- */

/* AuthoriseFpaServices FF40 { 80 01 version, 5F37 40 sig over 5A 10 EID || 80 10 challenge } */
static st_t es10f_authorise_fpa_services(card_t *c, const tlv_t *req, buf_t *out) {
    tlv_t sig;
    buf_t tbs = BUF_INIT;
    bool present;
    unsigned result;
    st_t st;

    if (!es10f_version_ok(req, &present)) {
        result = present ? ES10F_UNSUPPORTED_VERSION : ES10F_UNDEFINED_ERROR;
        goto answer;
    }
    if (!c->has_challenge) {
        result = ES10F_NO_CHALLENGE;
        goto answer;
    }
    if (tlv_find_child(req, 0x5F37, &sig) != ST_OK) {
        result = ES10F_UNDEFINED_ERROR;
        goto burn;
    }
    if ((st = es10f_auth_tbs(c->st->eid, c->challenge, &tbs)) != ST_OK) {
        buf_free(&tbs);
        return st;
    }
    result = ec_verify_raw(c->st->dm_pub, tbs.data, tbs.len, sig.value, sig.len) == ST_OK
                 ? ES10F_OK
                 : ES10F_INVALID_SIGNATURE;
    buf_free(&tbs);
burn:
    /* the challenge is single use, whatever the outcome */
    mem_wipe(c->challenge, sizeof(c->challenge));
    c->has_challenge = false;
answer:
    if (result == ES10F_OK)
        c->authorised = true;
    st_log(ST_LOG_INFO, "euicc: AuthoriseFpaServices: %s", es10f_result_name(result));
    return result_only(ES10F_TAG_AUTHORISE, result, out);
}

/* PrepareLoad FF41 { 80 01 version, 81 keyIndex, A0 { CERT.DPpb }, [A1 { certs }] } */
static st_t es10f_prepare_load(card_t *c, const tlv_t *req, buf_t *out) {
    tlv_t t, a0, a1, cert_tlv;
    uint64_t idx;
    bool present;
    unsigned result = ES10F_OK;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    buf_t oid = BUF_INIT;
    card_otk_t *k;
    st_t st = ST_OK;

    /* a new PrepareLoad replaces whatever was armed */
    EVP_PKEY_free(c->prep.dppb_pub);
    memset(&c->prep, 0, sizeof(c->prep));

    if (!c->authorised) {
        result = ES10F_NOT_AUTHORISED;
        goto answer;
    }
    if (!es10f_version_ok(req, &present)) {
        result = present ? ES10F_UNSUPPORTED_VERSION : ES10F_UNDEFINED_ERROR;
        goto answer;
    }
    if (tlv_find_child(req, 0x81, &t) != ST_OK || tlv_get_uint(&t, &idx) != ST_OK
        || tlv_find_child(req, 0xA0, &a0) != ST_OK
        || tlv_parse_exact(a0.value, a0.len, &cert_tlv) != ST_OK) {
        result = ES10F_UNDEFINED_ERROR;
        goto answer;
    }
    if (cert_from_der(cert_tlv.raw, cert_tlv.raw_len, &leaf) != ST_OK) {
        result = ES10F_INVALID_CERTIFICATE;
        goto answer;
    }
    if (tlv_find_child(req, 0xA1, &a1) == ST_OK) {
        tlv_iter_t it;
        tlv_t ct;
        if (!(chain = sk_X509_new_null())) {
            st = ST_E_NOMEM;
            goto out;
        }
        tlv_iter_children(&it, &a1);
        while (tlv_iter_next(&it, &ct) == ST_OK) {
            X509 *x = NULL;
            if (cert_from_der(ct.raw, ct.raw_len, &x) != ST_OK) {
                result = ES10F_INVALID_CERTIFICATE;
                goto answer;
            }
            if (!sk_X509_push(chain, x)) {
                X509_free(x);
                st = ST_E_NOMEM;
                goto out;
            }
        }
    }
    if (cert_verify_chain(c->st->trust, leaf, chain, CERT_POLICY_DP_PB) != ST_OK
        || cert_get_rid(leaf, c->prep.oid_text, sizeof(c->prep.oid_text), &oid) != ST_OK
        || oid.len == 0 || oid.len > sizeof(c->prep.oid)) {
        result = ES10F_INVALID_CERTIFICATE;
        goto answer;
    }
    if (idx > UINT32_MAX || !(k = card_state_find_key(c->st, (uint32_t)idx))) {
        result = ES10F_UNKNOWN_KEY;
        goto answer;
    }
    if (k->state != OTK_UNUSED || !k->otsk) {
        result = ES10F_KEY_CONSUMED;
        goto answer;
    }
    if (!(c->prep.dppb_pub = X509_get_pubkey(leaf))) {
        st = st_from_openssl("X509_get_pubkey");
        goto out;
    }
    memcpy(c->prep.oid, oid.data, oid.len);
    c->prep.oid_len = oid.len;
    c->prep.key_index = (uint32_t)idx;
    c->prep.armed = true;
answer:
    st_log(ST_LOG_INFO, "euicc: PrepareLoad: %s", es10f_result_name(result));
    if (!c->prep.armed)
        memset(&c->prep, 0, sizeof(c->prep));
    st = result_only(ES10F_TAG_PREPARE_LOAD, result, out);
out:
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    buf_free(&oid);
    return st;
}

/* DeleteOneTimeKeys FF42 { 80 01 version } -> FF42 { 80 01 result, 81 keysDeleted } */
static st_t es10f_delete_one_time_keys(card_t *c, const tlv_t *req, buf_t *out) {
    bool present;
    unsigned result = ES10F_OK;
    size_t deleted = 0;
    tlv_writer_t *w;
    st_t st;

    if (!c->authorised) {
        result = ES10F_NOT_AUTHORISED;
    } else if (!es10f_version_ok(req, &present)) {
        result = present ? ES10F_UNSUPPORTED_VERSION : ES10F_UNDEFINED_ERROR;
    } else {
        for (size_t i = 0; i < c->st->n_keys; i++) {
            if (c->st->keys[i].state != OTK_UNUSED)
                continue;
            card_state_erase_key(&c->st->keys[i], OTK_DELETED);
            deleted++;
        }
        /* end of production: FPA services are locked for good, even with nothing to delete */
        c->st->fpa_locked = true;
        c->authorised = false;
        EVP_PKEY_free(c->prep.dppb_pub);
        memset(&c->prep, 0, sizeof(c->prep));
        if ((st = card_save(c)) != ST_OK)
            return st;
        if (deleted == 0)
            result = ES10F_NOTHING_TO_DELETE;
    }
    st_log(ST_LOG_INFO, "euicc: DeleteOneTimeKeys: %s (%zu deleted)", es10f_result_name(result),
           deleted);
    if (!(w = tlv_writer_new()))
        return ST_E_NOMEM;
    tlv_w_begin(w, ES10F_TAG_DELETE_KEYS);
    tlv_w_uint(w, 0x80, result);
    tlv_w_uint(w, 0x81, deleted);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* GetOneTimeKeyStatus FF43 -> FF43 { 80 result, 81 total, 82 unused, 83 consumed, 84 locked } */
static st_t es10f_get_one_time_key_status(card_t *c, const tlv_t *req, buf_t *out) {
    bool present;
    tlv_writer_t *w;
    st_t st;
    unsigned result = ES10F_OK;

    if (!es10f_version_ok(req, &present))
        result = present ? ES10F_UNSUPPORTED_VERSION : ES10F_UNDEFINED_ERROR;
    if (!(w = tlv_writer_new()))
        return ST_E_NOMEM;
    tlv_w_begin(w, ES10F_TAG_KEY_STATUS);
    tlv_w_uint(w, 0x80, result);
    if (result == ES10F_OK) {
        tlv_w_uint(w, 0x81, c->st->n_keys);
        tlv_w_uint(w, 0x82, card_state_count_keys(c->st, OTK_UNUSED));
        tlv_w_uint(w, 0x83, card_state_count_keys(c->st, OTK_CONSUMED));
        tlv_w_uint(w, 0x84, c->st->fpa_locked ? 1 : 0);
    }
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* ---- dispatch ---- */

static bool is_lpa_only(uint32_t tag) {
    switch (tag) {
    case 0xBF21: /* PrepareDownload */
    case 0xBF29: /* SetNickname */
    case 0xBF31: /* EnableProfile */
    case 0xBF32: /* DisableProfile */
    case 0xBF33: /* DeleteProfile */
    case 0xBF34: /* EuiccMemoryReset */
    case 0xBF38: /* AuthenticateServer */
    case 0xBF3F: /* SetDefaultDpAddress */
    case 0xBF41: /* CancelSession */
        return true;
    default:
        return false;
    }
}

static bool is_segment_tag(uint32_t tag) {
    return tag == 0xA0 || tag == 0xA1 || tag == 0xA2 || tag == 0xA3 || tag == 0x86 || tag == 0x87
           || tag == 0x88;
}

st_t card_es10_process(card_t *c, const uint8_t *cmd, size_t len, buf_t *resp, uint16_t *sw) {
    uint32_t tag;
    size_t vlen, hlen;
    tlv_t req;

    *sw = SW_OK;
    if (tlv_parse_header(cmd, len, &tag, &vlen, &hlen) != ST_OK) {
        *sw = SW_WRONG_DATA;
        return ST_OK;
    }
    if (card_bpp_is_segment(c, tag))
        return card_es10b_load_bound_profile_package(c, cmd, len, resp, sw);
    if (is_segment_tag(tag)) {
        *sw = SW_CONDITIONS; /* a BPP segment with no LoadBoundProfilePackage in progress */
        return ST_OK;
    }
    if (tlv_parse_exact(cmd, len, &req) != ST_OK) {
        *sw = SW_WRONG_DATA;
        return ST_OK;
    }
    if (is_lpa_only(tag) && keys_remain(c)) {
        st_log(ST_LOG_INFO, "euicc: %X refused: one-time keys remain (EUICCF04)", (unsigned)tag);
        *sw = SW_CONDITIONS;
        return ST_OK;
    }
    if ((tag == ES10F_TAG_AUTHORISE || tag == ES10F_TAG_PREPARE_LOAD
         || tag == ES10F_TAG_DELETE_KEYS)
        && c->st->fpa_locked) {
        *sw = SW_CONDITIONS;
        return ST_OK;
    }
    switch (tag) {
    case 0xBF3E:
        return es10c_get_eid(c, &req, resp, sw);
    case 0xBF20:
        return es10b_get_euicc_info1(c->st, resp);
    case 0xBF22:
        return card_build_euicc_info2(c->st, resp);
    case 0xBF2E:
        return es10b_get_euicc_challenge(c, resp);
    case 0xBF2D:
        return es10c_get_profiles_info(c, &req, resp);
    case 0xBF2B:
        return es10b_retrieve_notifications_list(c, &req, resp);
    case 0xBF30:
        return es10b_remove_notification_from_list(c, &req, resp, sw);
    case 0xBF31:
    case 0xBF32:
    case 0xBF33:
        return es10c_profile_operation(c, tag, &req, resp);
    case 0xBF21:
        return es10b_prepare_download(&req, resp);
    case ES10F_TAG_AUTHORISE:
        return es10f_authorise_fpa_services(c, &req, resp);
    case ES10F_TAG_PREPARE_LOAD:
        return es10f_prepare_load(c, &req, resp);
    case ES10F_TAG_DELETE_KEYS:
        return es10f_delete_one_time_keys(c, &req, resp);
    case ES10F_TAG_KEY_STATUS:
        return es10f_get_one_time_key_status(c, &req, resp);
    default:
        st_log(ST_LOG_INFO, "euicc: unsupported ES10 function %X", (unsigned)tag);
        *sw = SW_WRONG_DATA;
        return ST_OK;
    }
}
