/*
 * plr_fixture.h - a store filled with results for report tests and the report benchmark,
 * through the store API only (no line): a minted GSMA-shaped PKI (CI -> EUM -> eUICCs, and a
 * DM CA -> DM station certificate), eUICCs recorded in the store, bundles of BPPs, and BPPs
 * moved pending -> loading -> installed with a PIR the eUICC key signs (pir_build), or
 * -> dead with an FPA code and, optionally, an eUICC-signed error BF37.
 *
 * Used by tests/unit/test_plr.c and tests/bench/report_fill.c. Test code: not for production.
 */
#ifndef IFPP_PLR_FIXTURE_H
#define IFPP_PLR_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/status.h"
#include "store.h"

typedef struct {
    uint8_t eid[STORE_EID_LEN];
    EVP_PKEY *key; /* SK.EUICC */
    X509 *cert;    /* CERT.EUICC */
} plr_fx_euicc_t;

typedef struct {
    EVP_PKEY *ci_key, *eum_key, *dm_ca_key, *dm_key;
    X509 *ci, *eum, *dm_ca, *dm;
    plr_fx_euicc_t *euicc;
    size_t n_euicc;
    uint64_t tid_counter; /* makes transaction ids unique within one fixture */
    uint8_t tid_tag[8];   /* random: unique across fixtures writing into one store */
} plr_fixture_t;

/* Mints the PKI and n_euicc eUICCs (EIDs with valid check digits). Caller owns *out. */
st_t plr_fixture_new(size_t n_euicc, plr_fixture_t **out);
void plr_fixture_free(plr_fixture_t *fx);

/* Records every eUICC (CERT.EUICC, CERT.EUM) in the store (ST_E_EXISTS tolerated). */
st_t plr_fixture_put_euiccs(plr_fixture_t *fx, store_t *s);

/*
 * A bundle of n BPPs of SM-DPf `oid` (a dummy BF36: the store does not parse it), spread
 * round-robin over the eUICCs with one-time key indexes from key_base on. Appends the BPP ids
 * to ids[] (capacity n). One transaction.
 */
st_t plr_fixture_bundle(plr_fixture_t *fx, store_t *s, const char *oid, size_t n, uint32_t key_base,
                        int64_t *ids);

/* pending -> loading -> installed with a successful PIR signed by the BPP's eUICC. */
st_t plr_fixture_install(plr_fixture_t *fx, store_t *s, int64_t bpp_id);

/* pending -> loading -> dead with `fpa` (-1: none) and `text`; with_bf37: the eUICC's signed
 * error result (loadProfileElements / scp03tSecurityError) is recorded with it. */
st_t plr_fixture_dead(plr_fixture_t *fx, store_t *s, int64_t bpp_id, int fpa, const char *text,
                      bool with_bf37);

/* The PIR the fixture would sign for bpp_id (success or error), appended to out. */
st_t plr_fixture_pir(plr_fixture_t *fx, store_t *s, int64_t bpp_id, bool success, buf_t *out);

#endif
