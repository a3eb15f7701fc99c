/*
 * bpp_load.c - ES10b.LoadBoundProfilePackage on the card side (SGP.22 §5.7.x / §2.5.5,
 * research 8.4): the BSP unbinding state machine of the simulated eUICC.
 *
 * Every segment is one STORE DATA sequence; the stages and their transitions are listed in
 * card_int.h (bpp_stage_t). Checks and the SGP.22 (bppCommandId, errorReason) each failure
 * yields:
 *
 *   segment        check                                            failure
 *   BF36+BF23      remoteOpId == installBoundProfilePackage(1)      (0,5)
 *                  CRT keyType 88 / keyLen 10                       (0,4)
 *                  smdpSign by PK.DPpb (from the FF41 CERT.DPpb)
 *                   over BF23-before-5F37 || 5F49 otPK(armed key)   (0,2)
 *                  smdpOtpk a point on the curve                    (0,1)
 *   A0+87          TLV <= 1020, fits A0 / BF36                      (1,7)
 *                  MAC (session keys)                               (1,8)
 *                  plaintext is ConfigureISDP (BF24)                (1,1)
 *   A1, 88...      structure as above                               (2|3,7)
 *                  MAC                                              (2|3,8)
 *                  StoreMetadata (BF25) well formed                 (2,1)
 *                  profileClass test/provisioning/operational       (2,6)
 *                  ICCID not installed yet                          (2,9)
 *   A2+87          MAC (session keys)                               (4,8)
 *                  plaintext ReplaceSessionKeys (BF26) -> PPK ctx   (4,1)
 *   A3, 86...      TLV <= 1020 (scp03tStructureError), fits A3      (5,7)
 *                  MAC (PPK keys if A2 came, else session keys)     (5,8)
 *   end of A3      UPP: ProfileHeader A0 first ... PE-End AA last   (5,12)
 *                  ProfileHeader ICCID (83, plain BCD) == metadata  (5,13)
 *                   ICCID (5A, nibble-swapped)
 *
 * Success: the profile is installed (disabled), the one-time private key is erased and the key
 * marked consumed (GENS08: the same BPP can never be installed again), BF27 is signed with
 * SK.EUICC (pir_build) and the BF37 is returned after the last '86' and kept as a notification.
 * Failure: BF37 with errorResult and the failing bppCommandId, kept as a notification too; the
 * partial ISD-P is discarded and the armed PrepareLoad is spent.
 *
 * Choice on failures: the one-time key is consumed only by a successful installation. A
 * failed attempt (bad MAC, ICCID already present, interruption...) leaves it unused, so the
 * station may retry the same BPP after a new FF40/FF41 (replay protection is unaffected:
 * nothing was installed with it). There is no retry limit.
 *
 * Interruption: a reset/power loss, or a new BF36, while a BPP is in progress after its BF23
 * verified queues an installFailedDueToInterruption(11) PIR with the bppCommandId of the part
 * that was expected next (research 8.4 item 8, a proposal there).
 */
#include "card_int.h"

#include <string.h>

#include "base/log.h"
#include "crypto/ec.h"
#include "fmt/bpp.h"
#include "fmt/pir.h"
#include "tlv/tlv.h"

#define BPP_MAX_UPP  (4u << 20)
#define BPP_MAX_META 4096

bool card_bpp_is_segment(const card_t *c, uint32_t tag) {
    if (tag == 0xBF36)
        return true;
    if (c->bpp.stage == BPP_IDLE)
        return false;
    return tag == 0xA0 || tag == 0xA1 || tag == 0xA2 || tag == 0xA3 || tag == 0x86 || tag == 0x87
           || tag == 0x88;
}

void card_bpp_session_clear(bpp_session_t *b) {
    bsp_free(b->session);
    bsp_free(b->ppk);
    buf_wipe_free(&b->meta);
    buf_wipe_free(&b->upp);
    memset(b, 0, sizeof(*b));
}

/* The armed PrepareLoad is spent by the BPP that used it (success or failure). */
static void disarm(card_t *c) {
    EVP_PKEY_free(c->prep.dppb_pub);
    memset(&c->prep, 0, sizeof(c->prep));
}

static void plain_hook(card_t *c, unsigned cmd, const uint8_t *p, size_t n) {
    if (c->plain_hook)
        c->plain_hook(c->plain_ud, cmd, p, n);
}

/* Signs a PIR (success, or errorResult (cmd, reason)), keeps it as a notification, persists. */
static st_t emit_pir(card_t *c, bool success, unsigned cmd, unsigned reason, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    pir_fields_t f;
    size_t start = out->len;
    st_t st;

    memset(&f, 0, sizeof(f));
    f.tid = b->tid;
    f.tid_len = b->tid_len;
    f.seq_number = c->st->seq + 1;
    /* SGP.22: the install address from the metadata, else the SM-DP's; IFPP has no SM-DPf
     * address on the card, so the smdpOid's text stands in for it */
    f.notif_address = b->notif_address[0] ? b->notif_address : c->prep.oid_text;
    f.iccid = b->iccid_known ? b->prof.iccid : NULL;
    f.smdp_oid = c->prep.oid;
    f.smdp_oid_len = c->prep.oid_len;
    f.success = success;
    f.aid = b->prof.aid;
    f.aid_len = b->prof.aid_len;
    f.error_cmd = cmd;
    f.error_reason = reason;
    if ((st = pir_build(&f, c->st->sk_euicc, out)) != ST_OK)
        return st;
    c->st->seq++;
    if (card_state_add_notif(c->st, c->st->seq, out->data + start, out->len - start) != ST_OK)
        st_log(ST_LOG_WARN, "euicc: notification list full, PIR %llu not kept",
               (unsigned long long)c->st->seq);
    return card_save(c);
}

/* Ends the session with an error PIR. */
static st_t fail(card_t *c, unsigned cmd, unsigned reason, buf_t *out) {
    st_t st;
    st_log(ST_LOG_INFO, "euicc: LoadBoundProfilePackage failed: %s / %s", pir_cmd_name(cmd),
           pir_reason_name(reason));
    st = emit_pir(c, false, cmd, reason, out);
    card_bpp_session_clear(&c->bpp);
    disarm(c);
    return st;
}

void card_bpp_interrupt(card_t *c) {
    bpp_session_t *b = &c->bpp;
    buf_t pir = BUF_INIT;
    unsigned cmd;

    if (b->stage == BPP_IDLE)
        return;
    if (b->isc_verified) {
        switch (b->stage) {
        case BPP_A0:
            cmd = PIR_CMD_CONFIGURE_ISDP;
            break;
        case BPP_A1:
        case BPP_IN_A1:
            cmd = b->n88 ? PIR_CMD_STORE_METADATA2 : PIR_CMD_STORE_METADATA;
            break;
        default:
            cmd = PIR_CMD_LOAD_PROFILE_ELEMENTS;
            break;
        }
        st_log(ST_LOG_INFO, "euicc: BPP interrupted (%s expected next)", pir_cmd_name(cmd));
        if (emit_pir(c, false, cmd, PIR_ERR_INTERRUPTION, &pir) != ST_OK)
            st_log(ST_LOG_ERR, "euicc: cannot record the interruption PIR");
    }
    buf_free(&pir);
    card_bpp_session_clear(b);
    disarm(c);
}

/* ---- BF23 ---- */

typedef struct {
    uint64_t remote_op;
    const uint8_t *tid;
    size_t tid_len;
    uint8_t key_type, key_len;
    const uint8_t *host_id;
    size_t host_id_len;
    bpp_view_t view; /* isc, smdp_otpk, smdp_sign: what bpp_smdp_sign_tbs reads */
} isc_t;

static st_t isc_child(tlv_iter_t *it, uint32_t tag, tlv_t *t) {
    st_t st = tlv_iter_next(it, t);
    if (st != ST_OK || t->tag != tag)
        return ST_E_PARSE;
    return ST_OK;
}

/* InitialiseSecureChannelRequest (SGP.22 §5.5.1): 82, 80, A6 {80 81 84}, 5F49, 5F37. */
static st_t isc_parse(const tlv_t *bf23, isc_t *o) {
    tlv_iter_t it, cit;
    tlv_t t, crt;

    memset(o, 0, sizeof(*o));
    o->view.isc = *bf23;
    tlv_iter_children(&it, bf23);
    if (isc_child(&it, 0x82, &t) != ST_OK || tlv_get_uint(&t, &o->remote_op) != ST_OK)
        return ST_E_PARSE;
    if (isc_child(&it, 0x80, &t) != ST_OK || t.len < 1 || t.len > 16)
        return ST_E_PARSE;
    o->tid = t.value;
    o->tid_len = t.len;
    if (isc_child(&it, 0xA6, &crt) != ST_OK)
        return ST_E_PARSE;
    tlv_iter_children(&cit, &crt);
    if (isc_child(&cit, 0x80, &t) != ST_OK || t.len != 1)
        return ST_E_PARSE;
    o->key_type = t.value[0];
    if (isc_child(&cit, 0x81, &t) != ST_OK || t.len != 1)
        return ST_E_PARSE;
    o->key_len = t.value[0];
    if (isc_child(&cit, 0x84, &t) != ST_OK || t.len < 1 || t.len > BSP_MAX_HOSTID_LEN)
        return ST_E_PARSE;
    o->host_id = t.value;
    o->host_id_len = t.len;
    if (tlv_iter_next(&cit, &t) != ST_E_NOENT)
        return ST_E_PARSE;
    if (isc_child(&it, 0x5F49, &o->view.smdp_otpk) != ST_OK)
        return ST_E_PARSE;
    if (isc_child(&it, 0x5F37, &o->view.smdp_sign) != ST_OK)
        return ST_E_PARSE;
    if (tlv_iter_next(&it, &t) != ST_E_NOENT)
        return ST_E_PARSE;
    return ST_OK;
}

/* Segment 1: BF36 header + BF23 (SGP.22 §2.5.5 first bullet). */
static st_t seg_isc(card_t *c, const uint8_t *seg, size_t len, buf_t *out, uint16_t *sw) {
    bpp_session_t *b = &c->bpp;
    uint32_t tag;
    size_t vlen, hlen;
    tlv_t bf23;
    isc_t isc;
    card_otk_t *k;
    EVP_PKEY *peer = NULL;
    ec_curve_t curve;
    uint8_t z[EC_SHARED_LEN];
    bsp_keys_t keys;
    buf_t tbs = BUF_INIT;
    st_t st = ST_OK;

    if (tlv_parse_header(seg, len, &tag, &vlen, &hlen) != ST_OK
        || tlv_parse_exact(seg + hlen, len - hlen, &bf23) != ST_OK || bf23.tag != 0xBF23
        || bf23.raw_len > vlen || isc_parse(&bf23, &isc) != ST_OK) {
        *sw = SW_WRONG_DATA; /* not even a readable BF23: no transactionId to report */
        return ST_OK;
    }
    card_bpp_session_clear(b);
    b->stage = BPP_A0;
    b->bf36_left = vlen - bf23.raw_len;
    memcpy(b->tid, isc.tid, isc.tid_len);
    b->tid_len = isc.tid_len;

    if (isc.remote_op != 1)
        return fail(c, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_UNSUPPORTED_REMOTE_OPERATION_TYPE,
                    out);
    if (isc.key_type != 0x88 || isc.key_len != 0x10)
        return fail(c, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_UNSUPPORTED_CRT_VALUES, out);
    k = card_state_find_key(c->st, c->prep.key_index);
    if (!k || k->state != OTK_UNUSED || !k->otsk)
        return fail(c, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_INCORRECT_INPUT_VALUES, out);
    if ((st = bpp_smdp_sign_tbs(&isc.view, k->otpk, sizeof(k->otpk), &tbs)) != ST_OK)
        goto out;
    if (ec_verify_raw(c->prep.dppb_pub, tbs.data, tbs.len, isc.view.smdp_sign.value,
                      isc.view.smdp_sign.len)
        != ST_OK) {
        st = fail(c, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_INVALID_SIGNATURE, out);
        goto out;
    }
    if ((st = ec_key_curve(k->otsk, &curve)) != ST_OK)
        goto out;
    if (ec_pubkey_from_point(curve, isc.view.smdp_otpk.value, isc.view.smdp_otpk.len, &peer)
        != ST_OK) {
        st = fail(c, PIR_CMD_INITIALISE_SECURE_CHANNEL, PIR_ERR_INCORRECT_INPUT_VALUES, out);
        goto out;
    }
    /* ECKA with the prepared one-time key, X9.63 KDF with our EID (SGP.22 §2.6.4.2) */
    if ((st = ec_ecdh(k->otsk, peer, z)) != ST_OK)
        goto out;
    st = bsp_kdf(z, sizeof(z), isc.key_type, isc.key_len, isc.host_id, isc.host_id_len, c->st->eid,
                 &keys);
    mem_wipe(z, sizeof(z));
    if (st != ST_OK)
        goto out;
    b->session = bsp_new(&keys);
    mem_wipe(&keys, sizeof(keys));
    if (!b->session) {
        st = ST_E_NOMEM;
        goto out;
    }
    b->isc_verified = true;
    st_log(ST_LOG_INFO, "euicc: BPP secure channel up with one-time key %u",
           (unsigned)c->prep.key_index);
out:
    EVP_PKEY_free(peer);
    buf_free(&tbs);
    if (st != ST_OK && b->stage != BPP_IDLE) {
        card_bpp_session_clear(b);
        disarm(c);
    }
    return st;
}

/*
 * Takes a part header (A0..A3) from the front of seg: returns its header length, sets
 * part_left. false when the segment does not start with `tag` or the part overruns BF36.
 */
static bool take_part_header(bpp_session_t *b, const uint8_t *seg, size_t len, uint32_t want,
                             size_t *hlen_out) {
    uint32_t tag;
    size_t vlen, hlen;
    if (tlv_parse_header(seg, len, &tag, &vlen, &hlen) != ST_OK || tag != want)
        return false;
    if (hlen + vlen > b->bf36_left || vlen == 0)
        return false;
    b->bf36_left -= hlen;
    b->part_left = vlen;
    *hlen_out = hlen;
    return true;
}

/*
 * Verifies and decrypts one 86/87/88 TLV that must span p[0..n) exactly and fit in the
 * current part. Returns 0 on success or the errorReason (7 structure, 8 security).
 */
static unsigned unwrap_one(card_t *c, bsp_t *ctx, uint32_t want, const uint8_t *p, size_t n,
                           buf_t *plain) {
    bpp_session_t *b = &c->bpp;
    uint32_t tag;
    size_t vlen, hlen;
    st_t st;

    if (tlv_parse_header(p, n, &tag, &vlen, &hlen) != ST_OK || tag != want)
        return PIR_ERR_SCP03T_STRUCTURE_ERROR;
    if (hlen + vlen > BSP_MAX_TLV) /* SGP.22 §2.5.3: at most 1020 bytes per segment */
        return PIR_ERR_SCP03T_STRUCTURE_ERROR;
    if (hlen + vlen != n || n > b->part_left)
        return PIR_ERR_SCP03T_STRUCTURE_ERROR;
    st = bsp_unwrap(ctx, p, n, plain);
    if (st == ST_E_BAD_MAC)
        return PIR_ERR_SCP03T_SECURITY_ERROR;
    if (st == ST_E_TOO_LARGE || st == ST_E_TRUNCATED || st == ST_E_TRAILING)
        return PIR_ERR_SCP03T_STRUCTURE_ERROR;
    if (st != ST_OK)
        return PIR_ERR_SCP03T_SECURITY_ERROR; /* bad padding after a good MAC, broken chain */
    b->part_left -= n;
    b->bf36_left -= n;
    return 0;
}

/* Segment: A0 header + the ConfigureISDP '87' (exactly one in A0). */
static st_t seg_configure(card_t *c, const uint8_t *seg, size_t len, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    buf_t plain = BUF_INIT;
    tlv_t t;
    size_t hlen;
    unsigned reason;
    st_t st = ST_OK;

    if (!take_part_header(b, seg, len, 0xA0, &hlen))
        return fail(c, PIR_CMD_CONFIGURE_ISDP, PIR_ERR_SCP03T_STRUCTURE_ERROR, out);
    reason = unwrap_one(c, b->session, 0x87, seg + hlen, len - hlen, &plain);
    if (reason == 0 && b->part_left != 0)
        reason = PIR_ERR_SCP03T_STRUCTURE_ERROR; /* one ConfigureISDP per BPP */
    if (reason == 0) {
        plain_hook(c, PIR_CMD_CONFIGURE_ISDP, plain.data, plain.len);
        if (tlv_parse_exact(plain.data, plain.len, &t) != ST_OK || t.tag != 0xBF24)
            reason = PIR_ERR_INCORRECT_INPUT_VALUES;
    }
    if (reason)
        st = fail(c, PIR_CMD_CONFIGURE_ISDP, reason, out);
    else
        b->stage = BPP_A1;
    buf_wipe_free(&plain);
    return st;
}

/* Lowest free ISD-P AID A0000005591010FFFFFFFF89 0000 1n 00 (research §4.1). */
static void allocate_aid(card_t *c, card_profile_t *p) {
    static const uint8_t base[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00};
    memcpy(p->aid, base, sizeof(base));
    p->aid_len = sizeof(base);
    for (unsigned n = 0; n < 0xF0; n++) {
        p->aid[14] = (uint8_t)(0x10 + n);
        if (!card_state_find_aid(c->st, p->aid, p->aid_len))
            return;
    }
}

/* StoreMetadataRequest BF25 (SGP.22 §5.5.3) -> session profile; 0 or an errorReason. */
static unsigned parse_metadata(card_t *c) {
    bpp_session_t *b = &c->bpp;
    tlv_t md, t;
    tlv_iter_t it;

    if (tlv_parse_exact(b->meta.data, b->meta.len, &md) != ST_OK || md.tag != 0xBF25)
        return PIR_ERR_INCORRECT_INPUT_VALUES;
    if (tlv_find_child(&md, 0x5A, &t) != ST_OK || t.len != CARD_ICCID_LEN)
        return PIR_ERR_INCORRECT_INPUT_VALUES;
    memcpy(b->prof.iccid, t.value, CARD_ICCID_LEN);
    b->iccid_known = true; /* reported in the PIR's notificationMetadata from now on */
    if (tlv_find_child(&md, 0x91, &t) != ST_OK || t.len >= sizeof(b->prof.spn))
        return PIR_ERR_INCORRECT_INPUT_VALUES;
    memcpy(b->prof.spn, t.value, t.len);
    if (tlv_find_child(&md, 0x92, &t) != ST_OK || t.len >= sizeof(b->prof.name))
        return PIR_ERR_INCORRECT_INPUT_VALUES;
    memcpy(b->prof.name, t.value, t.len);
    b->prof.pclass = 2; /* DEFAULT operational */
    if (tlv_find_child(&md, 0x95, &t) == ST_OK) {
        uint64_t v;
        if (tlv_get_uint(&t, &v) != ST_OK || v > 2)
            return PIR_ERR_UNSUPPORTED_PROFILE_CLASS;
        b->prof.pclass = (uint8_t)v;
    }
    /* notificationConfigurationInfo B6 { 30 { 03 events, 0C address } }: the install one */
    if (tlv_find_child(&md, 0xB6, &t) == ST_OK) {
        tlv_t e, ev, addr;
        tlv_iter_children(&it, &t);
        while (tlv_iter_next(&it, &e) == ST_OK) {
            if (tlv_find_child(&e, 0x03, &ev) != ST_OK || ev.len < 2 || !(ev.value[1] & 0x80)
                || tlv_find_child(&e, 0x0C, &addr) != ST_OK || addr.len >= sizeof(b->notif_address))
                continue;
            memcpy(b->notif_address, addr.value, addr.len);
            b->notif_address[addr.len] = 0;
            break;
        }
    }
    if (card_state_find_iccid(c->st, b->prof.iccid))
        return PIR_ERR_ICCID_ALREADY_EXISTS;
    memcpy(b->prof.smdp_oid, c->prep.oid, c->prep.oid_len);
    b->prof.smdp_oid_len = c->prep.oid_len;
    allocate_aid(c, &b->prof);
    return 0;
}

/* Segment: one '88' of StoreMetadata (A1). */
static st_t seg_metadata(card_t *c, const uint8_t *seg, size_t len, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    unsigned cmd = b->n88 ? PIR_CMD_STORE_METADATA2 : PIR_CMD_STORE_METADATA;
    size_t before = b->meta.len;
    unsigned reason = unwrap_one(c, b->session, 0x88, seg, len, &b->meta);
    if (reason)
        return fail(c, cmd, reason, out);
    plain_hook(c, cmd, b->meta.data + before, b->meta.len - before);
    if (b->meta.len > BPP_MAX_META)
        return fail(c, cmd, PIR_ERR_INCORRECT_INPUT_VALUES, out);
    b->n88++;
    if (b->part_left)
        return ST_OK;
    if ((reason = parse_metadata(c)) != 0)
        return fail(c, PIR_CMD_STORE_METADATA, reason, out);
    b->stage = BPP_A2_OR_A3;
    return ST_OK;
}

/* Segment: A2 header + ReplaceSessionKeys '87' -> PPK context (SGP.22 §2.5.3, research 3.8). */
static st_t seg_replace_keys(card_t *c, const uint8_t *seg, size_t len, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    buf_t plain = BUF_INIT;
    tlv_t rsk, mcv, enc, mac;
    bsp_keys_t keys;
    size_t hlen;
    unsigned reason;
    st_t st = ST_OK;

    if (!take_part_header(b, seg, len, 0xA2, &hlen))
        return fail(c, PIR_CMD_REPLACE_SESSION_KEYS, PIR_ERR_SCP03T_STRUCTURE_ERROR, out);
    reason = unwrap_one(c, b->session, 0x87, seg + hlen, len - hlen, &plain);
    if (reason == 0 && b->part_left != 0)
        reason = PIR_ERR_SCP03T_STRUCTURE_ERROR;
    if (reason == 0) {
        plain_hook(c, PIR_CMD_REPLACE_SESSION_KEYS, plain.data, plain.len);
        if (tlv_parse_exact(plain.data, plain.len, &rsk) != ST_OK || rsk.tag != 0xBF26
            || tlv_find_child(&rsk, 0x80, &mcv) != ST_OK || mcv.len != BSP_KEY_LEN
            || tlv_find_child(&rsk, 0x81, &enc) != ST_OK || enc.len != BSP_KEY_LEN
            || tlv_find_child(&rsk, 0x82, &mac) != ST_OK || mac.len != BSP_KEY_LEN)
            reason = PIR_ERR_INCORRECT_INPUT_VALUES;
    }
    if (reason) {
        st = fail(c, PIR_CMD_REPLACE_SESSION_KEYS, reason, out);
        goto out;
    }
    memcpy(keys.mcv, mcv.value, BSP_KEY_LEN);
    memcpy(keys.s_enc, enc.value, BSP_KEY_LEN);
    memcpy(keys.s_mac, mac.value, BSP_KEY_LEN);
    b->ppk = bsp_new(&keys); /* counter 1, MAC chain from the new MCV */
    mem_wipe(&keys, sizeof(keys));
    if (!b->ppk) {
        st = ST_E_NOMEM;
        goto out;
    }
    b->stage = BPP_A3;
out:
    buf_wipe_free(&plain);
    return st;
}

/* Segment: A3 header alone. */
static st_t seg_a3(card_t *c, const uint8_t *seg, size_t len, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    size_t hlen;
    if (!take_part_header(b, seg, len, 0xA3, &hlen) || hlen != len)
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_SCP03T_STRUCTURE_ERROR, out);
    b->stage = BPP_IN_A3;
    return ST_OK;
}

/* The whole UPP: SAIP ProfileElements, ProfileHeader (A0) first, PE-End (AA) last. */
static unsigned check_upp(card_t *c) {
    bpp_session_t *b = &c->bpp;
    tlv_iter_t it;
    tlv_t pe, hdr, iccid;
    uint32_t last = 0;
    size_t n = 0;
    st_t st;

    tlv_iter_init(&it, b->upp.data, b->upp.len);
    while ((st = tlv_iter_next(&it, &pe)) == ST_OK) {
        if (n == 0)
            hdr = pe;
        last = pe.tag;
        n++;
    }
    if (st != ST_E_NOENT || n < 2 || hdr.tag != 0xA0 || last != 0xAA)
        return PIR_ERR_PE_PROCESSING_ERROR;
    if (tlv_find_child(&hdr, 0x83, &iccid) != ST_OK || iccid.len != CARD_ICCID_LEN)
        return PIR_ERR_PE_PROCESSING_ERROR;
    /* the ProfileHeader holds the ICCID as plain BCD, StoreMetadata (5A) nibble-swapped */
    for (size_t i = 0; i < CARD_ICCID_LEN; i++) {
        uint8_t m = b->prof.iccid[i];
        if (iccid.value[i] != (uint8_t)((m << 4) | (m >> 4)))
            return PIR_ERR_DATA_MISMATCH;
    }
    return 0;
}

static st_t install(card_t *c, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    card_otk_t *k = card_state_find_key(c->st, c->prep.key_index);
    st_t st;

    b->prof.enabled = false;
    if ((st = card_state_add_profile(c->st, &b->prof)) != ST_OK)
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_INSUFFICIENT_MEMORY, out);
    /* GENS08: the one-time private key is erased once it has served */
    if (k)
        card_state_erase_key(k, OTK_CONSUMED);
    st = emit_pir(c, true, 0, 0, out); /* persists the profile, the key and the PIR */
    st_log(ST_LOG_INFO, "euicc: profile installed with one-time key %u (%zu bytes)",
           (unsigned)c->prep.key_index, b->upp.len);
    card_bpp_session_clear(b);
    disarm(c);
    return st;
}

/* Segment: one '86' (A3). After the last one: check the UPP and install. */
static st_t seg_profile(card_t *c, const uint8_t *seg, size_t len, buf_t *out) {
    bpp_session_t *b = &c->bpp;
    size_t before = b->upp.len;
    unsigned reason;

    reason = unwrap_one(c, b->ppk ? b->ppk : b->session, 0x86, seg, len, &b->upp);
    if (reason)
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, reason, out);
    plain_hook(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, b->upp.data + before, b->upp.len - before);
    if (b->upp.len > BPP_MAX_UPP)
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_INSUFFICIENT_MEMORY, out);
    if (b->part_left)
        return ST_OK; /* intermediate segment: empty response, 9000 */
    if (b->bf36_left)
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_SCP03T_STRUCTURE_ERROR, out);
    if ((reason = check_upp(c)) != 0)
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, reason, out);
    return install(c, out);
}

/* ES10b.LoadBoundProfilePackage (SGP.22 §2.5.5 segments): one segment -> empty | BF37 | SW. */
st_t card_es10b_load_bound_profile_package(card_t *c, const uint8_t *seg, size_t len, buf_t *resp,
                                           uint16_t *sw) {
    bpp_session_t *b = &c->bpp;
    uint32_t tag;
    size_t vlen, hlen;

    *sw = SW_OK;
    if (tlv_parse_header(seg, len, &tag, &vlen, &hlen) != ST_OK) {
        *sw = SW_WRONG_DATA;
        return ST_OK;
    }
    if (tag == 0xBF36) {
        if (b->stage != BPP_IDLE)
            card_bpp_interrupt(c); /* a new BPP while one was in progress */
        if (c->st->fpa_locked || !c->authorised || !c->prep.armed) {
            st_log(ST_LOG_INFO, "euicc: BF36 refused: %s",
                   c->st->fpa_locked ? "FPA services locked"
                   : !c->authorised  ? "no AuthoriseFpaServices"
                                     : "no PrepareLoad");
            *sw = SW_CONDITIONS;
            return ST_OK;
        }
        return seg_isc(c, seg, len, resp, sw);
    }
    switch (b->stage) {
    case BPP_A0:
        return seg_configure(c, seg, len, resp);
    case BPP_A1: {
        size_t h;
        if (!take_part_header(b, seg, len, 0xA1, &h) || h != len)
            return fail(c, PIR_CMD_STORE_METADATA, PIR_ERR_SCP03T_STRUCTURE_ERROR, resp);
        b->stage = BPP_IN_A1;
        return ST_OK;
    }
    case BPP_IN_A1:
        return seg_metadata(c, seg, len, resp);
    case BPP_A2_OR_A3:
        if (tag == 0xA2)
            return seg_replace_keys(c, seg, len, resp);
        return seg_a3(c, seg, len, resp);
    case BPP_A3:
        return seg_a3(c, seg, len, resp);
    case BPP_IN_A3:
        return seg_profile(c, seg, len, resp);
    default:
        return fail(c, PIR_CMD_LOAD_PROFILE_ELEMENTS, PIR_ERR_SCP03T_STRUCTURE_ERROR, resp);
    }
}
