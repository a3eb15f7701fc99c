/*
 * ifpp_int.h - private helpers shared by the ifpp_*.c codecs (not installed, not public).
 *
 * Decoding: an ifpp_dec_t carries where we are (entry/sub index, base offset in the file) and
 * the caller's ifpp_err_t. Every ifpp_dec_* helper that fails records the field and offset
 * once (the innermost failure wins), logs it at ST_LOG_DEBUG and returns the status, so the
 * decoders are plain "if ((st = ...) != ST_OK) goto out;" chains.
 *
 * Encoding: the ifpp_enc_* helpers validate what the decoders would refuse (ST_E_INVAL, logged
 * with the field) and add TLVs to a tlv_writer_t.
 */
#ifndef IFPP_IFPP_INT_H
#define IFPP_IFPP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/status.h"
#include "ifpp.h"
#include "tlv/tlv.h"

#define TAG_INTEGER      0x02u
#define TAG_OCTET_STRING 0x04u
#define TAG_OID          0x06u
#define TAG_UTF8         0x0Cu
#define TAG_SEQUENCE     0x30u
#define TAG_GENTIME      0x18u
#define TAG_EID          0x5Au /* [APPLICATION 26] (SGP.22 EID / eidValue) */
#define TAG_ICCID        0x5Au /* [APPLICATION 26] (SGP.22 Iccid) */
#define TAG_EUICC_INFO2  0xBF22u
#define TAG_OTPK         0x5F49u
#define TAG_SIG          0x5F37u
#define TAG_BPP          0xBF36u
#define TAG_PIR          0xBF37u

#define IFPP_GENTIME_LEN 15 /* "YYYYMMDDHHMMSSZ" */

typedef struct {
    const char *file;    /* "eUICC data", "BPP request", ... for log lines */
    const uint8_t *base; /* start of the decoded buffer */
    uint64_t base_off;   /* file offset of base */
    size_t entry, sub;   /* current indexes, IFPP_ERR_NONE outside */
    ifpp_err_t *err;     /* never NULL */
    bool failed;         /* err already holds the innermost failure */
} ifpp_dec_t;

void ifpp_dec_init(ifpp_dec_t *d, const char *file, const uint8_t *base, uint64_t base_off,
                   ifpp_err_t *err);
/* Records (first failure only) and logs; returns st. `at` may be NULL (offset of base). */
st_t ifpp_dec_fail(ifpp_dec_t *d, st_t st, const char *field, const uint8_t *at);

/* The whole buffer is one SEQUENCE (ST_E_TRAILING after it, ST_E_TRUNCATED if it overruns). */
st_t ifpp_dec_top(ifpp_dec_t *d, const uint8_t *p, size_t n, const char *field, tlv_t *out);
/* Next sibling with exactly `tag` (missing or other tag: ST_E_PARSE). */
st_t ifpp_dec_next(ifpp_dec_t *d, tlv_iter_t *it, uint32_t tag, const char *field, tlv_t *out);
/* Next sibling only if it has `tag`; *present says whether it was consumed. */
st_t ifpp_dec_opt(ifpp_dec_t *d, tlv_iter_t *it, uint32_t tag, const char *field, tlv_t *out,
                  bool *present);
/* No sibling may follow (ST_E_TRAILING). */
st_t ifpp_dec_end(ifpp_dec_t *d, tlv_iter_t *it, const char *field);
/* version INTEGER: exactly IFPP_FORMAT_VERSION or ST_E_VERSION. */
st_t ifpp_dec_version(ifpp_dec_t *d, tlv_iter_t *it, uint32_t *version);
/* Counts the children of seq (all must be `tag`), between min and max (ST_E_TOO_LARGE). */
st_t ifpp_dec_count(ifpp_dec_t *d, const tlv_t *seq, uint32_t tag, const char *field, size_t min,
                    size_t max, size_t *n);

/* Value converters on an already-read TLV. */
st_t ifpp_dec_uint(ifpp_dec_t *d, const tlv_t *t, const char *field, uint64_t max, uint64_t *v);
st_t ifpp_dec_u32(ifpp_dec_t *d, const tlv_t *t, const char *field, uint32_t *v);
st_t ifpp_dec_fixed(ifpp_dec_t *d, const tlv_t *t, const char *field, void *out, size_t n);
/* UTF8String of 1..cap-1 bytes (valid UTF-8, no NUL) into a NUL-terminated char[cap]. */
st_t ifpp_dec_str(ifpp_dec_t *d, const tlv_t *t, const char *field, char *out, size_t cap);
st_t ifpp_dec_time(ifpp_dec_t *d, const tlv_t *t, const char *field, time_t *out);
/* OBJECT IDENTIFIER value octets (1..IFPP_MAX_OID_LEN, well-formed) into out. */
st_t ifpp_dec_oid(ifpp_dec_t *d, const tlv_t *t, const char *field, uint8_t *out, size_t *len);
/* Copies the whole TLV (t->raw) into an owned blob, refusing more than max bytes. */
st_t ifpp_dec_blob(ifpp_dec_t *d, const tlv_t *t, const char *field, size_t max, ifpp_blob_t *out);
/* A Certificate: a SEQUENCE TLV of at most IFPP_MAX_CERT_LEN bytes, copied. */
st_t ifpp_dec_cert(ifpp_dec_t *d, const tlv_t *t, const char *field, ifpp_blob_t *out);
/* IfppOneTimeKey SEQUENCE { keyIndex INTEGER, 5F49 otPK (65, 04..), 5F37 sig (64) }. */
st_t ifpp_dec_otk(ifpp_dec_t *d, const tlv_t *t, ifpp_otk_t *k);

void ifpp_blob_free(ifpp_blob_t *b);

/* ---- encoding ---- */
st_t ifpp_enc_fail(st_t st, const char *file, const char *field, size_t entry);
/* GeneralizedTime "YYYYMMDDHHMMSSZ" (years 1970..9999). */
st_t ifpp_enc_time(tlv_writer_t *w, time_t t);
/* UTF8String from a NUL-terminated char[cap]; empty allowed only when optional (then
 * nothing is written). */
st_t ifpp_enc_str(tlv_writer_t *w, uint32_t tag, const char *s, size_t cap, bool optional);
bool ifpp_str_ok(const char *s, size_t cap, bool optional);
bool ifpp_oid_ok(const uint8_t *v, size_t n);
/* A blob holding exactly one TLV with `tag` of at most max bytes. */
bool ifpp_tlv_blob_ok(const ifpp_blob_t *b, uint32_t tag, size_t max);
/* What ifpp_dec_cert accepts: a non-empty SEQUENCE of at most IFPP_MAX_CERT_LEN bytes. */
bool ifpp_cert_ok(const ifpp_blob_t *b);
/* DER minimal length octets for a header of hdr_len bytes. */
bool ifpp_der_len_ok(uint32_t tag, size_t len, size_t hdr_len);
bool ifpp_otpk_ok(const uint8_t otpk[IFPP_OTPK_LEN]);
st_t ifpp_enc_otk(tlv_writer_t *w, const ifpp_otk_t *k);

/* Time <-> "YYYYMMDDHHMMSSZ" (out: 16 bytes incl. NUL). */
st_t ifpp_time_to_gentime(time_t t, char out[IFPP_GENTIME_LEN + 1]);
st_t ifpp_gentime_to_time(const uint8_t *s, size_t n, time_t *out);

#endif
