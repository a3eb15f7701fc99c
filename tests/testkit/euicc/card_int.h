/*
 * card_int.h - internals shared by card.c, es10.c and bpp_load.c (not for other modules).
 */
#ifndef IFPP_EUICC_CARD_INT_H
#define IFPP_EUICC_CARD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "card.h"
#include "crypto/bsp.h"

/* ISO 7816-4 status words used by the card. */
#define SW_OK                     0x9000
#define SW_WRONG_LENGTH           0x6700
#define SW_CHANNEL_NOT_SUPPORTED  0x6881
#define SW_SM_NOT_SUPPORTED       0x6882
#define SW_CHAINING_NOT_SUPPORTED 0x6884
#define SW_CONDITIONS             0x6985
#define SW_WRONG_DATA             0x6A80
#define SW_FUNC_NOT_SUPPORTED     0x6A81
#define SW_NOT_FOUND              0x6A82
#define SW_NO_MEMORY              0x6A84
#define SW_WRONG_P1P2             0x6A86
#define SW_INS_NOT_SUPPORTED      0x6D00
#define SW_CLA_NOT_SUPPORTED      0x6E00
#define SW_NO_DIAG                0x6F00

typedef struct {
    bool open;
    bool isdr_selected;
    bool in_sequence;    /* a STORE DATA sequence is being reassembled */
    unsigned next_block; /* expected P2 */
    buf_t cmd;           /* reassembly buffer */
    buf_t resp;          /* pending response data (GET RESPONSE) */
    size_t resp_off;
} card_channel_t;

/*
 * LoadBoundProfilePackage session (bpp_load.c). Stages follow the SGP.22 §2.5.5 segments:
 *
 *   stage        accepted segment                 next stage
 *   IDLE         BF36 hdr + BF23                  A0
 *   A0           A0 hdr + 87 (exactly one 87)     A1
 *   A1           A1 hdr                           IN_A1
 *   IN_A1        88 (until A1 is exhausted)       A2_OR_A3
 *   A2_OR_A3     A2 hdr + 87 | A3 hdr             A3 | IN_A3
 *   A3           A3 hdr                           IN_A3
 *   IN_A3        86 (until A3 is exhausted)       IDLE (BF37 success)
 * Any error: BF37 with errorResult, session discarded (IDLE).
 */
typedef enum {
    BPP_IDLE = 0,
    BPP_A0,
    BPP_A1,
    BPP_IN_A1,
    BPP_A2_OR_A3,
    BPP_A3,
    BPP_IN_A3,
} bpp_stage_t;

typedef struct {
    bpp_stage_t stage;
    bool isc_verified;
    size_t bf36_left; /* bytes of the BF36 value not yet received */
    size_t part_left; /* bytes of the current A0/A1/A2/A3 value not yet received */
    uint8_t tid[16];
    size_t tid_len;
    bsp_t *session; /* S-ENC/S-MAC/MCV from the ECDH + KDF */
    bsp_t *ppk;     /* after ReplaceSessionKeys (A2) */
    buf_t meta;     /* StoreMetadata plaintext (all 88s) */
    buf_t upp;      /* decrypted profile (wiped) */
    unsigned n88;
    bool iccid_known; /* StoreMetadata's ICCID read: reported in the PIR */
    card_profile_t prof;
    char notif_address[128];
} bpp_session_t;

typedef struct {
    bool armed;
    uint32_t key_index;
    EVP_PKEY *dppb_pub;            /* PK.DPpb.ECDSA from the verified CERT.DPpb */
    uint8_t oid[CARD_MAX_OID_LEN]; /* smdpOid (DER value) */
    size_t oid_len;
    char oid_text[64];
} card_prepared_t;

struct card {
    card_state_t *st;
    card_opts_t opts;
    bool powered;
    card_channel_t ch[CARD_MAX_CHANNELS];
    uint8_t challenge[16];
    bool has_challenge;
    bool authorised;
    card_prepared_t prep;
    bpp_session_t bpp;
    card_plain_hook_fn plain_hook;
    void *plain_ud;
};

/* es10.c: one reassembled ES10 command -> response data + SW. */
st_t card_es10_process(card_t *c, const uint8_t *cmd, size_t len, buf_t *resp, uint16_t *sw);
/* Drops the volatile ES10 state (challenge, authorisation, PrepareLoad). */
void card_es10_reset(card_t *c);
/* Persists the state; logs on failure. */
st_t card_save(card_t *c);

/* bpp_load.c */
bool card_bpp_is_segment(const card_t *c, uint32_t first_tag);
st_t card_es10b_load_bound_profile_package(card_t *c, const uint8_t *seg, size_t len, buf_t *resp,
                                           uint16_t *sw);
/* Reset/power loss: discards the session; queues an interruption PIR if ISC had verified. */
void card_bpp_interrupt(card_t *c);
void card_bpp_session_clear(bpp_session_t *b);

#endif
