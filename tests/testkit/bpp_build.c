/*
 * bpp_build.c - test SM-DPf binding: one BoundProfilePackage per eUICC one-time key
 * (SGP.22 §2.5.3, §5.5; research §8.2), plus UPP/ICCID/metadata helpers.
 */
#include "bpp_build.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "crypto/ec.h"
#include "tlv/tlv.h"

#define TAG_BPP                  0xBF36u
#define TAG_ISC                  0xBF23u
#define TAG_CONFIGURE_ISDP       0xBF24u
#define TAG_STORE_METADATA       0xBF25u
#define TAG_REPLACE_SESSION_KEYS 0xBF26u

/* CRT of SGP.22 §5.5.1: keyType 88 (AES), keyLen 10 (16 bytes). */
#define BSP_KEY_TYPE_AES 0x88
#define BSP_KEY_LEN_16   0x10

/* ConfigureISDPRequest BF24 { [dpProprietaryData B8 { 06 dpOid }] } */
static st_t build_configure_isdp(const uint8_t *oid, size_t oid_len, buf_t *out) {
    st_t st;
    tlv_writer_t *w = tlv_writer_new();

    if (w == NULL)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_CONFIGURE_ISDP);
    if (oid_len > 0) {
        tlv_w_begin(w, 0xB8);
        tlv_w_put(w, 0x06, oid, oid_len);
        tlv_w_end(w);
    }
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* Wraps p[0..n) as consecutive segments of at most `max` bytes (n > 0). */
static st_t wrap_split(bsp_t *b, uint8_t tag, const uint8_t *p, size_t n, size_t max, buf_t *out) {
    st_t st = ST_OK;
    size_t off = 0;

    while (st == ST_OK && off < n) {
        size_t chunk = n - off < max ? n - off : max;
        st = tag == BSP_TAG_MAC_ONLY ? bsp_wrap_mac(b, p + off, chunk, out)
                                     : bsp_wrap_enc(b, tag, p + off, chunk, out);
        off += chunk;
    }
    return st;
}

/* Appends tag + length + the contents of `body` (an already-encoded sequence). */
static st_t put_wrapped(buf_t *out, uint32_t tag, const buf_t *body) {
    st_t st = tlv_buf_header(out, tag, body->len);
    if (st == ST_OK)
        st = buf_append(out, body->data, body->len);
    return st;
}

st_t tk_bpp_build(const tk_bpp_in_t *in, buf_t *out) {
    st_t st;
    ec_curve_t curve, c2;
    EVP_PKEY *epub = NULL, *otsk = NULL;
    uint8_t dp_pt[EC_POINT_LEN], z[EC_SHARED_LEN], sig[EC_SIG_RAW_LEN];
    bsp_keys_t keys, ppk;
    bsp_t *s = NULL, *p = NULL;
    buf_t isc = BUF_INIT, tbs = BUF_INIT, isdp = BUF_INIT, rsk = BUF_INIT;
    buf_t a0 = BUF_INIT, a1 = BUF_INIT, a2 = BUF_INIT, a3 = BUF_INIT;
    size_t total, start = out ? out->len : 0;

    memset(&keys, 0, sizeof(keys));
    memset(&ppk, 0, sizeof(ppk));
    if (in == NULL || out == NULL || in->dppb_key == NULL || in->euicc_otpk == NULL
        || in->eid == NULL || in->tid == NULL || in->tid_len == 0 || in->tid_len > 16
        || in->host_id == NULL || in->host_id_len == 0 || in->host_id_len > BSP_MAX_HOSTID_LEN
        || in->metadata == NULL || in->metadata_len == 0 || in->upp == NULL || in->upp_len == 0
        || (in->smdp_oid == NULL && in->smdp_oid_len > 0))
        return ST_E_INVAL;

    /* The SM-DPf's one-time key lives on the curve of its CERT.DPpb (research §3.1). */
    if ((st = ec_key_curve(in->dppb_key, &curve)) != ST_OK)
        goto out;
    if ((st = ec_pubkey_from_point(curve, in->euicc_otpk, EC_POINT_LEN, &epub)) != ST_OK) {
        st_log(ST_LOG_WARN, "bind: otPK.EUICC is not a %s point", ec_curve_name(curve));
        goto out;
    }
    if (in->smdp_otsk != NULL) {
        if ((st = ec_key_curve(in->smdp_otsk, &c2)) != ST_OK)
            goto out;
        if (c2 != curve) {
            st = ST_E_INVAL;
            goto out;
        }
        if (!EVP_PKEY_up_ref(in->smdp_otsk)) {
            st = ST_E_CRYPTO;
            goto out;
        }
        otsk = in->smdp_otsk;
    } else if ((st = ec_key_generate(curve, &otsk)) != ST_OK) { /* PFS: one per BPP */
        goto out;
    }
    if ((st = ec_pubkey_to_point(otsk, dp_pt)) != ST_OK)
        goto out;

    /* ECKA + KDF (SGP.22 §2.6.4.1-2) */
    if ((st = ec_ecdh(otsk, epub, z)) != ST_OK)
        goto out;
    if ((st = bsp_kdf(z, sizeof(z), BSP_KEY_TYPE_AES, BSP_KEY_LEN_16, in->host_id, in->host_id_len,
                      in->eid, &keys))
        != ST_OK)
        goto out;

    /* InitialiseSecureChannelRequest (BF23) up to smdpSign */
    {
        const uint8_t remote_op[] = {0x01}; /* installBoundProfilePackage */
        const uint8_t crt_kt[] = {BSP_KEY_TYPE_AES}, crt_kl[] = {BSP_KEY_LEN_16};
        size_t crt_len = 3 + 3 + tlv_header_len(0x84, in->host_id_len) + in->host_id_len;
        st = tlv_buf_put(&isc, 0x82, remote_op, 1);
        if (st == ST_OK)
            st = tlv_buf_put(&isc, 0x80, in->tid, in->tid_len);
        if (st == ST_OK)
            st = tlv_buf_header(&isc, 0xA6, crt_len);
        if (st == ST_OK)
            st = tlv_buf_put(&isc, 0x80, crt_kt, 1);
        if (st == ST_OK)
            st = tlv_buf_put(&isc, 0x81, crt_kl, 1);
        if (st == ST_OK)
            st = tlv_buf_put(&isc, 0x84, in->host_id, in->host_id_len);
        if (st == ST_OK)
            st = tlv_buf_put(&isc, 0x5F49, dp_pt, sizeof(dp_pt));
        if (st != ST_OK)
            goto out;
    }
    /* smdpSign (SGP.22 §5.5.1): over those TLVs || 5F49 41 otPK.EUICC (research §3.9) */
    if ((st = buf_append(&tbs, isc.data, isc.len)) != ST_OK
        || (st = tlv_buf_put(&tbs, 0x5F49, in->euicc_otpk, EC_POINT_LEN)) != ST_OK)
        goto out;
    if ((st = ec_sign_raw(in->dppb_key, tbs.data, tbs.len, sig)) != ST_OK)
        goto out;
    if ((st = tlv_buf_put(&isc, 0x5F37, sig, sizeof(sig))) != ST_OK)
        goto out;

    /* One BSP context over 87, 88..., [87], 86... (research §3.4-3.6). */
    s = bsp_new(&keys);
    if (s == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = build_configure_isdp(in->smdp_oid, in->smdp_oid_len, &isdp)) != ST_OK
        || (st = bsp_wrap_enc(s, BSP_TAG_ENC, isdp.data, isdp.len, &a0)) != ST_OK)
        goto out;
    if ((st = wrap_split(s, BSP_TAG_MAC_ONLY, in->metadata, in->metadata_len, BSP_MAX_MAC_PLAIN,
                         &a1))
        != ST_OK)
        goto out;
    if (in->ppk) {
        /* ReplaceSessionKeysRequest BF26 { 80 initialMCV, 81 ppkEnc, 82 ppkCmac } */
        if (in->ppk_keys != NULL) {
            ppk = *in->ppk_keys;
        } else if (RAND_priv_bytes((unsigned char *)&ppk, sizeof(ppk)) != 1) {
            st = st_from_openssl("ppk rand");
            goto out;
        }
        if ((st = tlv_buf_header(&rsk, TAG_REPLACE_SESSION_KEYS, 3 * (2 + BSP_KEY_LEN))) != ST_OK
            || (st = tlv_buf_put(&rsk, 0x80, ppk.mcv, BSP_KEY_LEN)) != ST_OK
            || (st = tlv_buf_put(&rsk, 0x81, ppk.s_enc, BSP_KEY_LEN)) != ST_OK
            || (st = tlv_buf_put(&rsk, 0x82, ppk.s_mac, BSP_KEY_LEN)) != ST_OK
            || (st = bsp_wrap_enc(s, BSP_TAG_ENC, rsk.data, rsk.len, &a2)) != ST_OK)
            goto out;
        p = bsp_new(&ppk); /* counter 1, MAC chain from the new MCV */
        if (p == NULL) {
            st = ST_E_NOMEM;
            goto out;
        }
    }
    if ((st = wrap_split(p != NULL ? p : s, BSP_TAG_PPP, in->upp, in->upp_len, BSP_MAX_ENC_PLAIN,
                         &a3))
        != ST_OK)
        goto out;

    /* BF36, assembled by hand: the 86/87/88 TLVs are the BSP output verbatim. */
    total = tlv_header_len(TAG_ISC, isc.len) + isc.len + tlv_header_len(0xA0, a0.len) + a0.len
            + tlv_header_len(0xA1, a1.len) + a1.len + tlv_header_len(0xA3, a3.len) + a3.len;
    if (in->ppk)
        total += tlv_header_len(0xA2, a2.len) + a2.len;
    if ((st = buf_reserve(out, tlv_header_len(TAG_BPP, total) + total)) != ST_OK
        || (st = tlv_buf_header(out, TAG_BPP, total)) != ST_OK
        || (st = put_wrapped(out, TAG_ISC, &isc)) != ST_OK
        || (st = put_wrapped(out, 0xA0, &a0)) != ST_OK
        || (st = put_wrapped(out, 0xA1, &a1)) != ST_OK
        || (in->ppk && (st = put_wrapped(out, 0xA2, &a2)) != ST_OK)
        || (st = put_wrapped(out, 0xA3, &a3)) != ST_OK)
        goto out;
out:
    if (st != ST_OK && out != NULL && out->len > start)
        out->len = start;
    mem_wipe(z, sizeof(z));
    mem_wipe(&keys, sizeof(keys));
    mem_wipe(&ppk, sizeof(ppk));
    bsp_free(s);
    bsp_free(p);
    EVP_PKEY_free(otsk);
    EVP_PKEY_free(epub);
    buf_free(&isc);
    buf_free(&tbs);
    buf_free(&isdp);
    buf_wipe_free(&rsk);
    buf_free(&a0);
    buf_free(&a1);
    buf_free(&a2);
    buf_free(&a3);
    return st;
}

st_t tk_bpp_metadata(const uint8_t iccid[TK_ICCID_LEN], const char *sp_name,
                     const char *profile_name, int profile_class, buf_t *out) {
    st_t st;
    tlv_writer_t *w;
    size_t sp_len = sp_name ? strlen(sp_name) : 0, pn_len = profile_name ? strlen(profile_name) : 0;

    if (iccid == NULL || out == NULL || sp_len > 32 || pn_len > 64 || profile_class > 2)
        return ST_E_INVAL;
    w = tlv_writer_new();
    if (w == NULL)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_STORE_METADATA);
    tlv_w_put(w, 0x5A, iccid, TK_ICCID_LEN);
    tlv_w_put(w, 0x91, sp_name ? sp_name : "", sp_len);
    tlv_w_put(w, 0x92, profile_name ? profile_name : "", pn_len);
    if (profile_class >= 0)
        tlv_w_uint(w, 0x95, (uint64_t)profile_class); /* ENUMERATED: same octets */
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

static st_t upp_header(const uint8_t *upp, size_t len, tlv_t *hdr) {
    st_t st;
    if (upp == NULL || len == 0)
        return ST_E_INVAL;
    st = tlv_parse(upp, len, hdr);
    if (st != ST_OK)
        return st;
    return hdr->tag == 0xA0 ? ST_OK : ST_E_PARSE;
}

st_t tk_upp_iccid(const uint8_t *upp, size_t len, uint8_t iccid_hdr[TK_ICCID_LEN]) {
    tlv_t hdr, t;
    st_t st = upp_header(upp, len, &hdr);
    if (st != ST_OK)
        return st;
    st = tlv_find_child(&hdr, 0x83, &t);
    if (st != ST_OK)
        return st == ST_E_NOENT ? ST_E_PARSE : st;
    if (t.len != TK_ICCID_LEN)
        return ST_E_PARSE;
    memcpy(iccid_hdr, t.value, TK_ICCID_LEN);
    return ST_OK;
}

st_t tk_upp_profile_type(const uint8_t *upp, size_t len, char *out, size_t outlen) {
    tlv_t hdr, t;
    st_t st = upp_header(upp, len, &hdr);
    if (out == NULL || outlen == 0)
        return ST_E_INVAL;
    out[0] = '\0';
    if (st != ST_OK)
        return st;
    st = tlv_find_child(&hdr, 0x82, &t);
    if (st == ST_E_NOENT)
        return ST_OK;
    if (st != ST_OK)
        return st;
    if (t.len >= outlen)
        return ST_E_TOO_LARGE;
    memcpy(out, t.value, t.len);
    out[t.len] = '\0';
    return ST_OK;
}

void tk_iccid_swap(const uint8_t in[TK_ICCID_LEN], uint8_t out[TK_ICCID_LEN]) {
    for (size_t i = 0; i < TK_ICCID_LEN; i++)
        out[i] = (uint8_t)((in[i] << 4) | (in[i] >> 4));
}

int tk_luhn_digit(const char *digits) {
    size_t n = strlen(digits);
    int sum = 0;
    /* from the right: the digit next to the check digit is doubled */
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (10 - sum % 10) % 10;
}

st_t tk_iccid_from_digits(const char *digits, uint8_t iccid_hdr[TK_ICCID_LEN]) {
    char full[21];
    size_t n = digits ? strlen(digits) : 0;

    if (n == 0 || n > 19)
        return ST_E_INVAL;
    for (size_t i = 0; i < n; i++)
        if (digits[i] < '0' || digits[i] > '9')
            return ST_E_INVAL;
    memcpy(full, digits, n);
    full[n] = (char)('0' + tk_luhn_digit(digits));
    n++;
    for (size_t i = 0; i < TK_ICCID_LEN; i++) {
        uint8_t hi = (uint8_t)(2 * i < n ? full[2 * i] - '0' : 0xF);
        uint8_t lo = (uint8_t)(2 * i + 1 < n ? full[2 * i + 1] - '0' : 0xF);
        iccid_hdr[i] = (uint8_t)(hi << 4 | lo);
    }
    return ST_OK;
}

void tk_iccid_to_str(const uint8_t iccid_hdr[TK_ICCID_LEN], char out[21]) {
    size_t n = 0;
    for (size_t i = 0; i < TK_ICCID_LEN; i++) {
        uint8_t nib[2] = {(uint8_t)(iccid_hdr[i] >> 4), (uint8_t)(iccid_hdr[i] & 0xF)};
        for (int j = 0; j < 2; j++)
            if (nib[j] <= 9)
                out[n++] = (char)('0' + nib[j]);
    }
    out[n] = '\0';
}

st_t tk_upp_generate(const uint8_t iccid_hdr[TK_ICCID_LEN], const char *profile_type,
                     size_t target_len, buf_t *out) {
    /* issuerID of the filler: 2.999.10.1 (example arc, X.660 2.999) */
    static const uint8_t issuer[] = {0x88, 0x37, 0x0A, 0x01};
    static const uint8_t ver_major[] = {0x02}, ver_minor[] = {0x03};
    enum { FILLER = 1000 };
    st_t st;
    tlv_writer_t *w;
    uint8_t *content = NULL;
    uint32_t x = 0x9E3779B9u;
    size_t pt_len = profile_type ? strlen(profile_type) : 0;
    size_t ident = 1;

    if (iccid_hdr == NULL || out == NULL || pt_len > 100)
        return ST_E_INVAL;
    /* deterministic filler derived from the ICCID (xorshift32) */
    for (size_t i = 0; i < TK_ICCID_LEN; i++)
        x = (x ^ iccid_hdr[i]) * 16777619u;
    content = malloc(FILLER);
    w = tlv_writer_new();
    if (content == NULL || w == NULL) {
        st = ST_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < FILLER; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        content[i] = (uint8_t)x;
    }
    /* ProfileHeader (SAIP PEDefinitions, automatic tags) */
    tlv_w_begin(w, 0xA0);
    tlv_w_put(w, 0x80, ver_major, 1);
    tlv_w_put(w, 0x81, ver_minor, 1);
    if (pt_len > 0)
        tlv_w_put(w, 0x82, profile_type, pt_len);
    tlv_w_put(w, 0x83, iccid_hdr, TK_ICCID_LEN);
    tlv_w_put(w, 0xA5, NULL, 0); /* eUICC-Mandatory-services: none */
    tlv_w_put(w, 0xA6, NULL, 0); /* eUICC-Mandatory-GFSTEList: empty */
    tlv_w_end(w);
    /* PE-NonStandard filler: A9 { A0 { 81 id }, 81 issuerID, 82 content }, ~1 KB each, the
     * last one cut to land close to target_len (PE-End takes about 10 bytes). */
    for (;;) {
        size_t have = 0, room, chunk;
        if ((st = tlv_w_size(w, &have)) != ST_OK)
            goto out;
        room = target_len > have + 10 ? target_len - have - 10 : 0;
        if (room < 40)
            break;
        chunk = room - 24 < FILLER ? room - 24 : FILLER; /* 24: A9/A0/81/82 headers */
        content[0] = (uint8_t)ident;
        tlv_w_begin(w, 0xA9);
        tlv_w_begin(w, 0xA0);
        tlv_w_uint(w, 0x81, ident++);
        tlv_w_end(w);
        tlv_w_put(w, 0x81, issuer, sizeof(issuer));
        tlv_w_put_copy(w, 0x82, content, chunk);
        tlv_w_end(w);
    }
    /* PE-End: AA { A0 { 80 00 (mandated), 81 id } } */
    tlv_w_begin(w, 0xAA);
    tlv_w_begin(w, 0xA0);
    tlv_w_put(w, 0x80, NULL, 0);
    tlv_w_uint(w, 0x81, ident);
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
out:
    tlv_writer_free(w);
    free(content);
    return st;
}
