/*
 * bpp.h - SGP.22 BoundProfilePackage (BF36) structure: parse/check, segment, smdpSign TBS.
 *
 * The station never decrypts a BPP (GENS09/10); it only checks the structure at import
 * (DESIGN §8 pre-flight), verifies smdpSign against the eUICC's one-time key, and cuts the
 * BPP into the segments of SGP.22 §2.5.5 for LoadBoundProfilePackage. The card side and the
 * test SM-DPf use the same view.
 *
 *   BF36 { BF23 { 82 01 01, 80 tid, A6 { 80 01 88, 81 01 10, 84 hostId }, 5F49 otPK.DP,
 *                 5F37 smdpSign },
 *          A0 { 87 }, A1 { 88... }, [A2 { 87 }], A3 { 86... } }
 */
#ifndef IFPP_BPP_H
#define IFPP_BPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"
#include "tlv/tlv.h"

typedef struct {
    tlv_t bpp;              /* BF36 */
    tlv_t isc;              /* BF23 */
    uint64_t remote_op;     /* 82: must be 1 (installBoundProfilePackage) */
    const uint8_t *tid;     /* 80 */
    size_t tid_len;         /* 1..16 */
    uint8_t key_type;       /* A6/80 (88 = AES) */
    uint8_t key_len;        /* A6/81 (10) */
    const uint8_t *host_id; /* A6/84 */
    size_t host_id_len;
    tlv_t crt;       /* A6 */
    tlv_t smdp_otpk; /* 5F49 */
    tlv_t smdp_sign; /* 5F37 */
    tlv_t a0, a1, a2, a3;
    bool has_a2; /* PPK mode */
    size_t n87_first, n88, n87_second, n86;
} bpp_view_t;

/*
 * Parses and checks a whole BF36 (the buffer must be exactly one BF36): every part present
 * and in order, each 86/87/88 at most 1020 bytes, A0/A2 holding 87s only, A1 88s only, A3 86s
 * only, remoteOpId/CRT decoded (their *values* are not judged here: the card does that, and
 * bpp_check_crt() lets the station warn early). The view borrows `p`.
 * Also checked: tid 1..16 bytes, hostId 1..16, keyType/keyLen one byte each, otPK.DP 65 bytes
 * starting 04, smdpSign 64 bytes, no element after 5F37 / A3 / hostId, no part empty.
 * ST_E_TRUNCATED: a length overruns its parent; ST_E_TRAILING: bytes or elements after the
 * end; ST_E_TOO_LARGE: a segment TLV above 1020 bytes; ST_E_PARSE: anything else. Logs the
 * offending part at ST_LOG_DEBUG.
 */
st_t bpp_parse(const uint8_t *p, size_t n, bpp_view_t *out);

/* True for CRT 88/10 and remoteOpId 1, the only values SGP.22 allows. */
bool bpp_check_crt(const bpp_view_t *v);

/* smdpSign TBS (SGP.22 §5.5.1): BF23 value up to 5F37, followed by 5F49 41 otPK.EUICC.
 * otpk_len must be 65 (ST_E_INVAL otherwise). Appends to *tbs (unchanged on failure). */
st_t bpp_smdp_sign_tbs(const bpp_view_t *v, const uint8_t *euicc_otpk, size_t otpk_len, buf_t *tbs);

/* One STORE DATA sequence's worth of bytes (borrowed from the BPP). */
typedef struct {
    const uint8_t *p;
    size_t len;
} bpp_segment_t;

/*
 * Segments per SGP.22 §2.5.5: [BF36 hdr + BF23], [A0 hdr + first 87], [A1 hdr], each 88,
 * [A2 hdr + first 87] if present, [A3 hdr], each 86. (Further 87s in A0/A2 would be sent
 * as their own segments.) Allocates *segs (caller frees with free()); *n set to the count.
 */
st_t bpp_segments(const bpp_view_t *v, bpp_segment_t **segs, size_t *n);

#endif
