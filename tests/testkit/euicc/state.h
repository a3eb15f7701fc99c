/*
 * state.h - the persistent state of one simulated eUICC (what a card keeps in its NVM).
 *
 * On disk, one directory per card (written by `ifpp-testkit eum make`, private to the card):
 *   DIR/card.state       text, mode 0600, rewritten atomically after every state change:
 *                          ifpp-euicc-state 1
 *                          eid <32 digits>
 *                          seq <last notification sequence number>
 *                          fpa_locked 0|1
 *                          key <index> unused <otPK hex> <otSK hex>
 *                          key <index> consumed|deleted <otPK hex> -
 *                          profile <iccid hex> <aid hex> <enabled 0|1> <class> <smdpOid hex|->
 *                                  <spn hex|-> <name hex|->
 *                          notif <seq> <BF37 hex>
 *   DIR/euicc.key.pem    SK.EUICC.ECDSA (PKCS#8, 0600)
 *   DIR/euicc.cert.pem   CERT.EUICC.ECDSA
 *   DIR/eum.cert.pem     CERT.EUM.ECDSA
 *   DIR/ci.cert.pem      the CI certificate(s) the card trusts (one PEM file, several allowed)
 *   DIR/dm.cert.pem      the DM's authorisation certificate (its key verifies FF40)
 * The PEM files are written once (personalisation); only card.state changes afterwards. A
 * one-time private key is in card.state only while the key is unused (GENS08: erased on use).
 */
#ifndef IFPP_EUICC_STATE_H
#define IFPP_EUICC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/status.h"
#include "crypto/cert.h"
#include "crypto/ec.h"

#define CARD_ICCID_LEN    10
#define CARD_MAX_AID_LEN  16
#define CARD_MAX_OID_LEN  64
#define CARD_MAX_KEYS     4096
#define CARD_MAX_PROFILES 64
#define CARD_MAX_NOTIFS   256

typedef enum {
    OTK_UNUSED = 0,   /* otSK present: may be armed by PrepareLoad (FF41) */
    OTK_CONSUMED = 1, /* a profile was installed with it; otSK erased */
    OTK_DELETED = 2,  /* erased by DeleteOneTimeKeys (FF42) */
} otk_state_t;

typedef struct {
    uint32_t index;
    otk_state_t state;
    uint8_t otpk[EC_POINT_LEN];
    EVP_PKEY *otsk; /* owned; NULL unless OTK_UNUSED */
} card_otk_t;

typedef struct {
    uint8_t iccid[CARD_ICCID_LEN]; /* EF.ICCID coding (nibble-swapped BCD), as in 5A */
    uint8_t aid[CARD_MAX_AID_LEN]; /* ISD-P AID */
    size_t aid_len;
    bool enabled;
    uint8_t pclass; /* ProfileClass: test(0) provisioning(1) operational(2) */
    uint8_t smdp_oid[CARD_MAX_OID_LEN];
    size_t smdp_oid_len;
    char spn[33];  /* serviceProviderName, UTF-8 */
    char name[65]; /* profileName, UTF-8 */
} card_profile_t;

typedef struct {
    uint64_t seq;
    buf_t pir; /* BF37, byte-exact */
} card_notif_t;

typedef struct {
    char *dir; /* owned; NULL: memory only (tests), nothing is written */
    uint8_t eid[16];
    EVP_PKEY *sk_euicc;  /* owned */
    X509 *cert_euicc;    /* owned, may be NULL in memory-only tests */
    X509 *cert_eum;      /* owned, may be NULL */
    STACK_OF(X509) * ci; /* owned: trusted CIs */
    cert_trust_t *trust; /* built from ci */
    EVP_PKEY *dm_pub;    /* owned: verifies AuthoriseFpaServices */
    X509 *dm_cert;       /* owned, may be NULL */
    card_otk_t *keys;
    size_t n_keys;
    card_profile_t *profiles;
    size_t n_profiles;
    card_notif_t *notifs;
    size_t n_notifs;
    uint64_t seq; /* last notification sequence number used */
    bool fpa_locked;
} card_state_t;

/* Empty state (no keys, no certificates); NULL on allocation failure. */
card_state_t *card_state_new(void);
/* NULL-tolerant; frees every key (one-time private keys are freed, i.e. cleansed, by OpenSSL). */
void card_state_free(card_state_t *s);

/* Loads DIR (layout above). Caller owns *out. ST_E_PARSE names the bad line in the log. */
st_t card_state_load(const char *dir, card_state_t **out);

/* Rewrites DIR/card.state atomically (no-op when s->dir is NULL). */
st_t card_state_save(card_state_t *s);

/*
 * Personalisation: creates DIR (0700) and writes every file of the layout (PEMs and
 * card.state); then s->dir = DIR so later saves go there. Needs sk_euicc, the certificates, ci
 * and the DM certificate.
 */
st_t card_state_save_all(card_state_t *s, const char *dir);

/* Adds a trusted CI (up-ref'd) and rebuilds the trust set. */
st_t card_state_add_ci(card_state_t *s, X509 *ci);

/* Adds an unused one-time key (takes ownership of otsk). */
st_t card_state_add_key(card_state_t *s, uint32_t index, EVP_PKEY *otsk);

/* The key with `index`, or NULL. */
card_otk_t *card_state_find_key(card_state_t *s, uint32_t index);

/* Number of keys in a state. */
size_t card_state_count_keys(const card_state_t *s, otk_state_t state);

/* Erases a key's private part (GENS08) and sets its new state. */
void card_state_erase_key(card_otk_t *k, otk_state_t new_state);

/* The profile with this ICCID / AID, or NULL. */
card_profile_t *card_state_find_iccid(card_state_t *s, const uint8_t iccid[CARD_ICCID_LEN]);
card_profile_t *card_state_find_aid(card_state_t *s, const uint8_t *aid, size_t len);

/* Appends a copy of p / a notification (BF37 copied); ST_E_NOSPACE when full. */
st_t card_state_add_profile(card_state_t *s, const card_profile_t *p);
void card_state_remove_profile(card_state_t *s, card_profile_t *p);
st_t card_state_add_notif(card_state_t *s, uint64_t seq, const uint8_t *pir, size_t len);
/* Removes notification `seq`; false if there is none. */
bool card_state_remove_notif(card_state_t *s, uint64_t seq);

#endif
