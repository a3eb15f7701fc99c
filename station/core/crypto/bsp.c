/*
 * bsp.c - SGP.22 BPP Security Protocol (§2.6.4, §5.5): X9.63 key derivation, the 86/87/88
 * segment wrapping with counter ICVs and the C-MAC chain, and the receiver side.
 *
 * Context state: keys, the MAC chaining value (MCV, 16 bytes: the full CMAC of the previous
 * segment) and the block counter (starts at 1, one step per 86/87/88 TLV, MAC-only included).
 * State only changes when a wrap/unwrap succeeds; a MAC failure or a malformed segment whose
 * MAC verified marks the context broken (every later call: ST_E_STATE), because the chain can
 * no longer be trusted.
 */
#include "crypto/bsp.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/log.h"
#include "tlv/tlv.h"

#define BSP_BLOCK 16

struct bsp {
    bsp_keys_t k;
    uint32_t counter;
    int broken;
    EVP_MAC *mac; /* "CMAC", fetched once per context */
};

size_t bsp_shared_info(uint8_t key_type, uint8_t key_len, const uint8_t *host_id,
                       size_t host_id_len, const uint8_t eid[BSP_EID_LEN], uint8_t *si) {
    size_t n = 0;

    if (host_id_len > BSP_MAX_HOSTID_LEN || si == NULL || eid == NULL
        || (host_id == NULL && host_id_len > 0))
        return 0;
    si[n++] = key_type;
    si[n++] = key_len;
    si[n++] = (uint8_t)host_id_len; /* BER length: one octet for <= 127 */
    if (host_id_len > 0)
        memcpy(si + n, host_id, host_id_len);
    n += host_id_len;
    si[n++] = BSP_EID_LEN;
    memcpy(si + n, eid, BSP_EID_LEN);
    n += BSP_EID_LEN;
    return n;
}

st_t bsp_kdf(const uint8_t *z, size_t z_len, uint8_t key_type, uint8_t key_len,
             const uint8_t *host_id, size_t host_id_len, const uint8_t eid[BSP_EID_LEN],
             bsp_keys_t *out) {
    st_t st = ST_OK;
    uint8_t si[4 + BSP_MAX_HOSTID_LEN + BSP_EID_LEN];
    uint8_t kd[2 * 32];
    size_t si_len;
    EVP_MD_CTX *md = NULL;

    if (z == NULL || z_len == 0 || eid == NULL || out == NULL)
        return ST_E_INVAL;
    if (host_id_len > BSP_MAX_HOSTID_LEN || (host_id == NULL && host_id_len > 0))
        return ST_E_INVAL;
    si_len = bsp_shared_info(key_type, key_len, host_id, host_id_len, eid, si);
    md = EVP_MD_CTX_new();
    if (md == NULL) {
        st = st_from_openssl("kdf ctx");
        goto out;
    }
    /* ANSI X9.63: K_i = SHA-256(Z || i (32-bit BE) || SharedInfo), i = 1, 2 */
    for (uint32_t i = 1; i <= 2; i++) {
        uint8_t ctr[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        unsigned int dl = 0;
        if (EVP_DigestInit_ex2(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, z, z_len) != 1
            || EVP_DigestUpdate(md, ctr, 4) != 1 || EVP_DigestUpdate(md, si, si_len) != 1
            || EVP_DigestFinal_ex(md, kd + (i - 1) * 32, &dl) != 1 || dl != 32) {
            st = st_from_openssl("kdf sha256");
            goto out;
        }
    }
    memcpy(out->mcv, kd, BSP_KEY_LEN);
    memcpy(out->s_enc, kd + 16, BSP_KEY_LEN);
    memcpy(out->s_mac, kd + 32, BSP_KEY_LEN);
out:
    mem_wipe(kd, sizeof(kd));
    EVP_MD_CTX_free(md);
    return st;
}

bsp_t *bsp_new(const bsp_keys_t *keys) {
    bsp_t *b;

    if (keys == NULL)
        return NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (b->mac == NULL) {
        (void)st_from_openssl("cmac fetch");
        free(b);
        return NULL;
    }
    memcpy(&b->k, keys, sizeof(b->k));
    b->counter = 1;
    return b;
}

void bsp_free(bsp_t *b) {
    if (b == NULL)
        return;
    EVP_MAC_free(b->mac);
    mem_wipe(b, sizeof(*b));
    free(b);
}

uint32_t bsp_counter(const bsp_t *b) {
    return b != NULL ? b->counter : 0;
}

/* ICV = AES-ECB(S-ENC, counter as a 16-byte big-endian block), SGP.22 §2.6.4.4. */
static st_t bsp_icv(const bsp_t *b, uint32_t counter, uint8_t icv[BSP_BLOCK]) {
    st_t st = ST_OK;
    uint8_t blk[BSP_BLOCK] = {0};
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;

    blk[12] = (uint8_t)(counter >> 24);
    blk[13] = (uint8_t)(counter >> 16);
    blk[14] = (uint8_t)(counter >> 8);
    blk[15] = (uint8_t)counter;
    if (c == NULL || EVP_EncryptInit_ex2(c, EVP_aes_128_ecb(), b->k.s_enc, NULL, NULL) != 1
        || EVP_CIPHER_CTX_set_padding(c, 0) != 1
        || EVP_EncryptUpdate(c, icv, &n1, blk, BSP_BLOCK) != 1
        || EVP_EncryptFinal_ex(c, icv + n1, &n2) != 1 || n1 + n2 != BSP_BLOCK)
        st = st_from_openssl("bsp icv");
    EVP_CIPHER_CTX_free(c);
    return st;
}

/* AES-128-CBC without padding over n (multiple of 16) bytes; in/out may alias. */
static st_t bsp_cbc(const bsp_t *b, int enc, const uint8_t iv[BSP_BLOCK], const uint8_t *in,
                    size_t n, uint8_t *out) {
    st_t st = ST_OK;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;

    if (c == NULL || EVP_CipherInit_ex2(c, EVP_aes_128_cbc(), b->k.s_enc, iv, enc, NULL) != 1
        || EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_CipherUpdate(c, out, &n1, in, (int)n) != 1
        || EVP_CipherFinal_ex(c, out + n1, &n2) != 1 || (size_t)(n1 + n2) != n)
        st = st_from_openssl("bsp cbc");
    EVP_CIPHER_CTX_free(c);
    return st;
}

/* fullMAC = AES-CMAC(S-MAC, MCV || hdr || body), SGP.22 §2.6.4.5. */
static st_t bsp_cmac(const bsp_t *b, const uint8_t *hdr, size_t hdr_len, const uint8_t *body,
                     size_t body_len, uint8_t mac[BSP_BLOCK]) {
    st_t st = ST_OK;
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(b->mac);
    OSSL_PARAM params[2];
    size_t ml = 0;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (m == NULL || EVP_MAC_init(m, b->k.s_mac, BSP_KEY_LEN, params) != 1
        || EVP_MAC_update(m, b->k.mcv, BSP_KEY_LEN) != 1 || EVP_MAC_update(m, hdr, hdr_len) != 1
        || (body_len > 0 && EVP_MAC_update(m, body, body_len) != 1)
        || EVP_MAC_final(m, mac, &ml, BSP_BLOCK) != 1 || ml != BSP_BLOCK)
        st = st_from_openssl("bsp cmac");
    EVP_MAC_CTX_free(m);
    return st;
}

/*
 * Common tail of both wrap flavours: out already holds hdr||body at [start, start+hl+bl);
 * appends MAC8 and commits MCV and counter.
 */
static st_t bsp_seal(bsp_t *b, buf_t *out, size_t start, size_t hl, size_t bl) {
    uint8_t mac[BSP_BLOCK];
    st_t st = bsp_cmac(b, out->data + start, hl, out->data + start + hl, bl, mac);

    if (st == ST_OK)
        st = buf_append(out, mac, BSP_MAC_LEN);
    if (st == ST_OK) {
        memcpy(b->k.mcv, mac, BSP_KEY_LEN);
        b->counter++;
    }
    mem_wipe(mac, sizeof(mac));
    return st;
}

st_t bsp_wrap_enc(bsp_t *b, uint8_t tag, const uint8_t *plain, size_t len, buf_t *out) {
    st_t st;
    size_t start, padded, hl;
    uint8_t icv[BSP_BLOCK];
    uint8_t *p;

    if (b == NULL || out == NULL || (plain == NULL && len > 0))
        return ST_E_INVAL;
    if (tag != BSP_TAG_PPP && tag != BSP_TAG_ENC)
        return ST_E_INVAL;
    if (b->broken || b->counter == UINT32_MAX)
        return ST_E_STATE;
    if (len > BSP_MAX_ENC_PLAIN)
        return ST_E_TOO_LARGE;
    start = out->len;
    padded = (len / BSP_BLOCK + 1) * BSP_BLOCK; /* ISO/IEC 9797-1 M2: always at least 80 */
    hl = tlv_header_len(tag, padded + BSP_MAC_LEN);
    st = buf_reserve(out, hl + padded + BSP_MAC_LEN);
    if (st != ST_OK)
        return st;
    p = buf_extend(out, hl + padded);
    if (p == NULL)
        return ST_E_NOMEM;
    tlv_put_header(p, tag, padded + BSP_MAC_LEN);
    if (len > 0)
        memcpy(p + hl, plain, len);
    p[hl + len] = 0x80;
    memset(p + hl + len + 1, 0, padded - len - 1);
    st = bsp_icv(b, b->counter, icv);
    if (st == ST_OK)
        st = bsp_cbc(b, 1, icv, p + hl, padded, p + hl);
    if (st == ST_OK)
        st = bsp_seal(b, out, start, hl, padded);
    mem_wipe(icv, sizeof(icv));
    if (st != ST_OK) {
        mem_wipe(out->data + start, out->len - start); /* may hold plaintext */
        out->len = start;
    }
    return st;
}

st_t bsp_wrap_mac(bsp_t *b, const uint8_t *plain, size_t len, buf_t *out) {
    st_t st;
    size_t start, hl;
    uint8_t *p;

    if (b == NULL || out == NULL || (plain == NULL && len > 0))
        return ST_E_INVAL;
    if (b->broken || b->counter == UINT32_MAX)
        return ST_E_STATE;
    if (len > BSP_MAX_MAC_PLAIN)
        return ST_E_TOO_LARGE;
    start = out->len;
    hl = tlv_header_len(BSP_TAG_MAC_ONLY, len + BSP_MAC_LEN);
    st = buf_reserve(out, hl + len + BSP_MAC_LEN);
    if (st != ST_OK)
        return st;
    p = buf_extend(out, hl + len);
    if (p == NULL)
        return ST_E_NOMEM;
    tlv_put_header(p, BSP_TAG_MAC_ONLY, len + BSP_MAC_LEN);
    if (len > 0)
        memcpy(p + hl, plain, len);
    st = bsp_seal(b, out, start, hl, len);
    if (st != ST_OK)
        out->len = start;
    return st;
}

st_t bsp_unwrap(bsp_t *b, const uint8_t *tlv, size_t tlv_len, buf_t *plain_out) {
    st_t st;
    uint32_t tag;
    size_t vlen, hl, bl, start, plen;
    const uint8_t *body;
    uint8_t mac[BSP_BLOCK], icv[BSP_BLOCK];
    uint8_t *p;

    if (b == NULL || tlv == NULL || plain_out == NULL)
        return ST_E_INVAL;
    if (b->broken)
        return ST_E_STATE;
    if (tlv_len > BSP_MAX_TLV)
        return ST_E_TOO_LARGE;
    st = tlv_parse_header(tlv, tlv_len, &tag, &vlen, &hl);
    if (st != ST_OK)
        return st;
    if (hl + vlen != tlv_len)
        return hl + vlen > tlv_len ? ST_E_TRUNCATED : ST_E_TRAILING;
    if (tag != BSP_TAG_PPP && tag != BSP_TAG_ENC && tag != BSP_TAG_MAC_ONLY)
        return ST_E_PARSE;
    if (vlen < BSP_MAC_LEN)
        return ST_E_PARSE;
    if (b->counter == UINT32_MAX)
        return ST_E_STATE;
    body = tlv + hl;
    bl = vlen - BSP_MAC_LEN;

    /* MAC over the received header bytes, checked in constant time before anything else. */
    st = bsp_cmac(b, tlv, hl, body, bl, mac);
    if (st != ST_OK)
        goto out;
    if (mem_ct_cmp(mac, body + bl, BSP_MAC_LEN) != 0) {
        b->broken = 1;
        st = ST_E_BAD_MAC;
        goto out;
    }

    start = plain_out->len;
    if (tag == BSP_TAG_MAC_ONLY) {
        st = buf_append(plain_out, body, bl);
        if (st != ST_OK)
            goto out;
    } else {
        if (bl == 0 || bl % BSP_BLOCK != 0) {
            b->broken = 1;
            st = ST_E_PARSE;
            goto out;
        }
        st = bsp_icv(b, b->counter, icv);
        if (st != ST_OK)
            goto out;
        p = buf_extend(plain_out, bl);
        if (p == NULL) {
            st = ST_E_NOMEM;
            goto out;
        }
        st = bsp_cbc(b, 0, icv, body, bl, p);
        if (st != ST_OK) {
            mem_wipe(p, bl);
            plain_out->len = start;
            goto out;
        }
        /* ISO/IEC 9797-1 M2: strip up to 15 trailing 00, then require 80. The MAC has
         * already verified, so this is not a padding oracle. */
        plen = bl;
        while (plen > 0 && bl - plen < BSP_BLOCK - 1 && p[plen - 1] == 0x00)
            plen--;
        if (plen == 0 || p[plen - 1] != 0x80) {
            mem_wipe(p, bl);
            plain_out->len = start;
            b->broken = 1;
            st = ST_E_PARSE;
            goto out;
        }
        plen--;
        mem_wipe(p + plen, bl - plen);
        plain_out->len = start + plen;
    }
    memcpy(b->k.mcv, mac, BSP_KEY_LEN);
    b->counter++;
out:
    mem_wipe(mac, sizeof(mac));
    mem_wipe(icv, sizeof(icv));
    return st;
}
