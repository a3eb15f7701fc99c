/*
 * bsp.h - the SGP.22 BPP Security Protocol (BSP, formerly SCP03t), SGP.22 §2.6.4 and §5.5.
 *
 * Key derivation (SGP.22 §2.6.4.2, X9.63 KDF with SHA-256):
 *   SharedInfo = keyType || keyLen || L(hostId) || hostId || L(EID) || EID
 *   KeyData    = SHA256(Z||00000001||SI) || SHA256(Z||00000002||SI), first 48 bytes
 *              = initial MAC chaining value (16) || S-ENC (16) || S-MAC (16)
 * Segments (SGP.22 §2.6.4.3-5): tag 86/87 = AES-128-CBC(S-ENC, ICV) of the ISO 9797-1 M2
 *   padded plaintext, ICV = AES-ECB(S-ENC, counter as a 16-byte big-endian block), followed
 *   by the first 8 bytes of AES-CMAC(S-MAC, MCV || tag || length || body); tag 88 carries the
 *   plaintext with the same MAC. The counter starts at 1 and steps once per 86/87/88 TLV; the
 *   full 16-byte CMAC becomes the next MCV. Limits: a TLV is at most 1020 bytes, so at most
 *   1007 plaintext bytes per encrypted and 1008 per MAC-only segment.
 * PPK mode (ReplaceSessionKeys, SGP.22 §2.5.3): a fresh context from ppkEnc/ppkCmac/MCV with
 *   counter 1 (bsp_new).
 */
#ifndef IFPP_BSP_H
#define IFPP_BSP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

#define BSP_KEY_LEN        16
#define BSP_MAC_LEN        8
#define BSP_MAX_TLV        1020
#define BSP_MAX_ENC_PLAIN  1007
#define BSP_MAX_MAC_PLAIN  1008
#define BSP_EID_LEN        16
#define BSP_MAX_HOSTID_LEN 16

#define BSP_TAG_PPP      0x86 /* encrypted + MAC, sequenceOf86 */
#define BSP_TAG_ENC      0x87 /* encrypted + MAC, ConfigureISDP / ReplaceSessionKeys */
#define BSP_TAG_MAC_ONLY 0x88 /* plaintext + MAC, StoreMetadata */

typedef struct bsp bsp_t; /* opaque: S-ENC, S-MAC, MCV, block counter */

typedef struct {
    uint8_t mcv[BSP_KEY_LEN];
    uint8_t s_enc[BSP_KEY_LEN];
    uint8_t s_mac[BSP_KEY_LEN];
} bsp_keys_t; /* wipe with mem_wipe after use */

/* Builds the SGP.22 SharedInfo into si (room for 4 + 16 + 16 bytes); returns its length. */
size_t bsp_shared_info(uint8_t key_type, uint8_t key_len, const uint8_t *host_id,
                       size_t host_id_len, const uint8_t eid[BSP_EID_LEN], uint8_t *si);

/* SGP.22 §2.6.4.2 key derivation. ST_E_INVAL for hostId > 16 bytes. */
st_t bsp_kdf(const uint8_t *z, size_t z_len, uint8_t key_type, uint8_t key_len,
             const uint8_t *host_id, size_t host_id_len, const uint8_t eid[BSP_EID_LEN],
             bsp_keys_t *out);

/* New context, counter = 1. Keys are copied (wiped on free). NULL on allocation failure. */
bsp_t *bsp_new(const bsp_keys_t *keys);
/* NULL-tolerant; wipes all key material. */
void bsp_free(bsp_t *b);

/* Current block counter (the value the next segment will use). */
uint32_t bsp_counter(const bsp_t *b);

/* Encrypts + MACs plaintext as one 86/87 TLV appended to out. ST_E_TOO_LARGE over 1007 B. */
st_t bsp_wrap_enc(bsp_t *b, uint8_t tag, const uint8_t *plain, size_t len, buf_t *out);
/* MACs plaintext as one 88 TLV appended to out. ST_E_TOO_LARGE over 1008 B. */
st_t bsp_wrap_mac(bsp_t *b, const uint8_t *plain, size_t len, buf_t *out);

/*
 * Receiver side: verifies one received 86/87/88 TLV (tlv = header + value, exactly as on the
 * wire; the MAC covers the received header bytes) and appends the plaintext to plain_out.
 * ST_E_BAD_MAC on a MAC mismatch (the context is then unusable: its chain is broken),
 * ST_E_PARSE on bad padding (also breaks the context), ST_E_TOO_LARGE over 1020 bytes,
 * ST_E_TRUNCATED/ST_E_TRAILING/ST_E_PARSE for bad framing or a tag other than 86/87/88 (context
 * untouched), ST_E_STATE once the context is broken. The counter steps on success.
 */
st_t bsp_unwrap(bsp_t *b, const uint8_t *tlv, size_t tlv_len, buf_t *plain_out);

#endif
