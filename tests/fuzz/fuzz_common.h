/*
 * fuzz_common.h - shared by the fuzz targets fuzz-es10, fuzz-card, fuzz-cms and the seed
 * generator gen-fuzz-seeds: the input formats of those targets (so that the generator writes
 * seeds the targets understand), a deterministic GSMA-shaped test PKI (every key derived from
 * a label, so that a BPP bound by the generator still verifies in a later fuzzing process),
 * a personalised simulated eUICC and a transport over the simulated card.
 *
 * Not a library of the station: test code only. Nothing here logs secrets; the derived keys
 * are public test keys by construction.
 */
#ifndef IFPP_FUZZ_COMMON_H
#define IFPP_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/status.h"
#include "transport.h"

/* Log threshold of a fuzz process: ST_LOG_ERR, or $IFPP_FUZZ_LOG (err|warn|info|debug|trace)
 * to see what the code under test says about one input. */
void fz_log_init(void);

/* ---- input reader (every target) ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in_t;

/* One byte; false at the end. */
bool fz_u8(fz_in_t *in, uint8_t *v);
/* A chunk: 2-byte big-endian length (clipped to max and to what is left), then the bytes.
 * False at the end. */
bool fz_chunk(fz_in_t *in, size_t max, const uint8_t **p, size_t *n);
/* Appends a chunk in that format. */
st_t fz_put_chunk(buf_t *b, const uint8_t *p, size_t n);

/* ---- fuzz-es10: the station's ES10 client against scripted card responses ----
 *   byte 0  flags FZ_ES10_*
 *   byte 1  STORE DATA block size (0: default 120)
 *   byte 2  number of calls (at most FZ_ES10_MAX_CALLS), then that many selector bytes:
 *           low nibble % FZ_ES10_FN_COUNT = function, high nibble = its small argument
 *   rest    R-APDU chunks (fz_chunk, <= 258 bytes), answered in order whatever is sent */
#define FZ_ES10_T0            0x01
#define FZ_ES10_BASIC_CHANNEL 0x02
#define FZ_ES10_NO_TERM_CAP   0x04
#define FZ_ES10_STORE_DATA_LE 0x08
#define FZ_ES10_MAX_CALLS     8
enum {
    FZ_ES10_GET_EID = 0,
    FZ_ES10_EUICC_INFO2,
    FZ_ES10_CHALLENGE,
    FZ_ES10_LIST_PROFILES,
    FZ_ES10_NOTIFICATIONS,
    FZ_ES10_REMOVE_NOTIF, /* arg: seq */
    FZ_ES10_LOAD_BPP,     /* arg: number of '86' segments - 1 of the fixed BPP */
    FZ_ES10_AUTHORISE,
    FZ_ES10_PREPARE_LOAD, /* arg: keyIndex */
    FZ_ES10_DELETE_KEYS,
    FZ_ES10_KEY_STATUS,
    FZ_ES10_REOPEN,
    FZ_ES10_FN_COUNT
};

/* The fixed, structurally valid BF36 the fuzz-es10 load sends (crypto fields are filler:
 * the station never judges them). One '88' and n86 '86' segments. */
st_t fz_dummy_bpp(size_t n86, buf_t *out);

/* ---- fuzz-card: APDU sequences into the simulated eUICC ----
 *   byte 0  flags FZ_CARD_T0_ONLY
 *   byte 1  max STORE DATA block the card accepts (0: 255)
 *   rest    operations: one op byte (% FZ_CARD_OP_COUNT) and its operands */
#define FZ_CARD_T0_ONLY 0x01
enum {
    FZ_CARD_APDU = 0,    /* chunk: one raw C-APDU */
    FZ_CARD_ES10,        /* ch, bs, chunk: one ES10 DER command as a STORE DATA sequence
                            (block size bs, 0: 120), 61xx drained with GET RESPONSE */
    FZ_CARD_RESET,       /* warm reset */
    FZ_CARD_POWER_CYCLE, /* power off, power on */
    FZ_CARD_AUTHORISE,   /* ch: GetEuiccChallenge + FF40 signed by the DM key */
    FZ_CARD_PREPARE,     /* ch, key, cert (0 CERT.DPpb, 1 CERT.EUM, 2 CI, 3 DM): FF41 */
    FZ_CARD_OPEN_ISDR,   /* MANAGE CHANNEL open + SELECT ISD-R on the new channel */
    FZ_CARD_OP_COUNT
};
/* One-time keys of the fuzzed card: indexes 1..FZ_CARD_KEYS. */
#define FZ_CARD_KEYS 3

/* ---- fuzz-cms: CMS verification and certificate handling on arbitrary bytes ----
 *   byte 0  flags FZ_CMS_DETACHED (verify as a detached signature over FZ_CMS_CONTENT)
 *   chunk   a DER certificate: when it parses it is the trust anchor (else a fixed CI)
 *   rest    the CMS SignedData DER */
#define FZ_CMS_DETACHED 0x01
#define FZ_CMS_CONTENT  "ifpp-fuzz detached content\n"

/* ---- deterministic test PKI ---- */

typedef struct {
    EVP_PKEY *ci_key, *eum_key, *euicc_key, *dppb_key, *dmca_key, *dm_key;
    X509 *ci, *eum, *euicc, *dppb, *dmca, *dm;
    uint8_t eid[16];
} fz_pki_t;

/* A P-256 key whose scalar is SHA-256("ifpp-fuzz:" label). Caller owns *out. */
st_t fz_det_key(const char *label, EVP_PKEY **out);
/* Keys are deterministic; certificates are minted fresh (their signatures vary). */
st_t fz_pki_init(fz_pki_t *p);
void fz_pki_free(fz_pki_t *p);
/* One-time private key `index` of the fuzzed card (deterministic). */
st_t fz_otk_key(uint32_t index, EVP_PKEY **out);
/* Personalises the fuzzed card (EID, SK.EUICC, certificates, FZ_CARD_KEYS one-time keys) into
 * dir (created 0700 if missing). */
st_t fz_card_personalise(const fz_pki_t *p, const char *dir);

/* A fresh private directory under /dev/shm (when writable) or $TMPDIR; free() the result. */
char *fz_tmpdir(const char *tag);
/* Removes a directory and the regular files in it (no recursion: the card dirs are flat). */
void fz_rmdir_flat(const char *dir);

/* ---- a transport over a simulated card (card_t, tests/testkit/euicc/card.h) ----
 * Every R-APDU is also appended as a chunk to `record` when it is not NULL (seed capture). */
struct card;
st_t fz_card_transport_new(struct card *c, buf_t *record, transport_t **out);

#endif
