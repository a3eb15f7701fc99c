/*
 * bpp_build.h - the test SM-DPf's binding: builds one SGP.22 BoundProfilePackage (BF36) for
 * one eUICC one-time key (SGP.22 §2.5.3 and §5.5 "binding", research §8.2), plus the UPP and
 * metadata helpers the `smdpf bind` command needs. Reusable by tests: every random input
 * (otSK.DP, PPKs) can be pinned, so the Appendix A golden vector is reproducible.
 *
 * Wire layout built here (research §2.2; the 86/87/88 elements are the BSP output TLVs
 * themselves, so the outer structure is assembled by hand):
 *   BF36 { BF23 { 82 01 01, 80 tid, A6 { 80 01 88, 81 01 10, 84 hostId }, 5F49 otPK.DP,
 *                 5F37 smdpSign },
 *          A0 { 87 ConfigureISDP }, A1 { 88 StoreMetadata... }, [A2 { 87 ReplaceSessionKeys }],
 *          A3 { 86 ... } }
 *
 * ICCID encodings: the SAIP ProfileHeader (A0/83) holds the ICCID as plain BCD, digits in
 * order, F-padded ("89 49 44 ..."); SGP.22 Iccid (tag 5A in StoreMetadata, in the PIR and in
 * the bundle entry) is the nibble-swapped form ("98 94 44 ..."). See the mode51 vectors.
 */
#ifndef IFPP_TK_BPP_BUILD_H
#define IFPP_TK_BPP_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/status.h"
#include "crypto/bsp.h"

#define TK_ICCID_LEN 10

typedef struct {
    EVP_PKEY *dppb_key;        /* SK.DPpb.ECDSA (borrowed): signs smdpSign; its curve is used */
    EVP_PKEY *smdp_otsk;       /* fixed otSK.DP.ECKA (tests, borrowed) or NULL: a fresh key
                                  pair per BPP (PFS, GENS06) */
    const uint8_t *euicc_otpk; /* otPK.EUICC.ECKA, 65-byte uncompressed point */
    const uint8_t *eid;        /* 16 bytes: KDF SharedInfo */
    const uint8_t *tid;        /* transactionId, 1..16 bytes */
    size_t tid_len;
    const uint8_t *host_id; /* 1..16 bytes */
    size_t host_id_len;
    const uint8_t *smdp_oid; /* SM-DPf OID, DER value octets: BF24 { B8 { 06 oid } };
                                NULL/0: BF24 00 */
    size_t smdp_oid_len;
    const uint8_t *metadata; /* the complete BF25 StoreMetadataRequest TLV */
    size_t metadata_len;
    const uint8_t *upp; /* the profile package (SAIP DER), > 0 bytes */
    size_t upp_len;
    bool ppk;                   /* PPK mode: A2 { 87 ReplaceSessionKeys }, 86s under the PPKs */
    const bsp_keys_t *ppk_keys; /* fixed PPKs + initial MCV (tests) or NULL: random */
} tk_bpp_in_t;

/*
 * Binds one profile: ECDH(otSK.DP, otPK.EUICC), KDF with EID and hostId, BF23 signed by
 * SK.DPpb over (BF23 value up to 5F37) || 5F49 41 otPK.EUICC, then '87' ConfigureISDP,
 * '88' StoreMetadata split at 1008 bytes, optional '87' ReplaceSessionKeys, '86' segments
 * of 1007 plaintext bytes. Appends the BF36 to out. ST_E_INVAL for an otPK.EUICC not on the
 * DPpb curve or bad lengths. All key material is wiped before returning.
 */
st_t tk_bpp_build(const tk_bpp_in_t *in, buf_t *out);

/*
 * StoreMetadataRequest BF25 { 5A iccid, 91 serviceProviderName, 92 profileName,
 * [95 profileClass] } appended to out. iccid is the SGP.22 (nibble-swapped) form;
 * profile_class < 0 omits 95 (DER default: operational). Names: UTF-8, <= 32 / <= 64 bytes.
 */
st_t tk_bpp_metadata(const uint8_t iccid[TK_ICCID_LEN], const char *sp_name,
                     const char *profile_name, int profile_class, buf_t *out);

/* ICCID of a UPP: the value of tag 83 in the ProfileHeader PE (the first element, A0), in the
 * ProfileHeader (plain BCD) form. ST_E_PARSE if the UPP does not start with such a header. */
st_t tk_upp_iccid(const uint8_t *upp, size_t len, uint8_t iccid_hdr[TK_ICCID_LEN]);

/* ProfileHeader profileType (A0/82) as a NUL-terminated string, "" when absent. */
st_t tk_upp_profile_type(const uint8_t *upp, size_t len, char *out, size_t outlen);

/* Swaps the nibbles of each byte: ProfileHeader form <-> SGP.22 Iccid form. */
void tk_iccid_swap(const uint8_t in[TK_ICCID_LEN], uint8_t out[TK_ICCID_LEN]);

/* Luhn check digit of a decimal string. */
int tk_luhn_digit(const char *digits);

/*
 * ICCID from up to 19 decimal digits: appends the Luhn check digit, pads with F to 20 nibbles
 * and writes the ProfileHeader (plain BCD) form. ST_E_INVAL for non-digits or > 19 digits.
 */
st_t tk_iccid_from_digits(const char *digits, uint8_t iccid_hdr[TK_ICCID_LEN]);

/* ICCID digits (ProfileHeader form) as text, F padding dropped: out has room for 21. */
void tk_iccid_to_str(const uint8_t iccid_hdr[TK_ICCID_LEN], char out[21]);

/*
 * A synthetic UPP of about target_len bytes: a valid ProfileHeader (A0: version 2.3,
 * profileType, 83 iccid, empty mandatory services and GFSTE list), NonStandard (A9) filler
 * PEs with pseudo-random content, and a PE-End (AA). Appended to out.
 */
st_t tk_upp_generate(const uint8_t iccid_hdr[TK_ICCID_LEN], const char *profile_type,
                     size_t target_len, buf_t *out);

#endif
