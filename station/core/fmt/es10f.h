/*
 * es10f.h - the project-local ES10f "FPA Services" commands (DESIGN §6), version 1.
 *
 * SGP.41 (EUICCF02/03, GENS12/13) requires them but SGP.42, which will define their bytes, is
 * not public. These are PLACEHOLDERS in a private-class tag range (FF40..FF4F) that no SGP.22 /
 * SGP.32 function uses; every request and response carries a version so that cards and
 * stations can tell. The station (pcsc/es10.c) and the simulated eUICC (tests/testkit) both
 * use only this header; swap it when SGP.42 appears. All are sent as ES10 STORE DATA
 * sequences like any SGP.22 ES10 function, on the ISD-R.
 *
 * AuthoriseFpaServices (EUICCF02, GENS13)
 *   request   FF40 { 80 01 version, 5F37 40 signature }
 *             signature = ECDSA-SHA256 raw r||s by the DM authorisation key over
 *             TBS = 5A 10 EID || 80 10 euiccChallenge   (es10f_auth_tbs)
 *             where euiccChallenge is the last GetEuiccChallenge (BF2E) answer; it is single
 *             use and forgotten on reset/power-off.
 *   response  FF40 { 80 01 result }
 *   effect    FPA services are authorised until the next reset/power-off.
 *
 * PrepareLoad (ES10f side of ES8f; GENS12)
 *   request   FF41 { 80 01 version, 81 L keyIndex, A0 { CERT.DPpb DER }, [A1 { cert DER ... }] }
 *             (A1: further certificates of the SM-DPf chain below the CI, if any)
 *   response  FF41 { 80 01 result }
 *   effect    the card verifies CERT.DPpb to a CI it trusts with role dp-pb, checks the key is
 *             known and unused, and arms the next LoadBoundProfilePackage (BF36) with that
 *             one-time key and that smdpOid.
 *
 * DeleteOneTimeKeys (EUICCF03, DMF03/04)
 *   request   FF42 { 80 01 version }
 *   response  FF42 { 80 01 result, 81 L keysDeleted }
 *   effect    erases every remaining one-time private key; from then on FPA services are
 *             refused for good (SW 6985) and LPA functions are allowed (EUICCF04).
 *
 * GetOneTimeKeyStatus (verify step; needs no authorisation)
 *   request   FF43 { 80 01 version }
 *   response  FF43 { 80 01 result, 81 L total, 82 L unused, 83 L consumed, 84 01 fpaLocked }
 *
 * Gating (EUICCF04, GENS13): while any one-time key remains, LPA-only functions (Enable,
 * Disable, Delete, PrepareDownload, ...) answer SW 6985; after DeleteOneTimeKeys, FF40/FF41/
 * FF42 and a BF36 answer SW 6985. FF41/FF42/BF36 without a prior successful FF40 in the same
 * session answer result notAuthorised (FF41/FF42) or SW 6985 (BF36).
 */
#ifndef IFPP_ES10F_H
#define IFPP_ES10F_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

#define ES10F_VERSION 1

#define ES10F_TAG_AUTHORISE    0xFF40
#define ES10F_TAG_PREPARE_LOAD 0xFF41
#define ES10F_TAG_DELETE_KEYS  0xFF42
#define ES10F_TAG_KEY_STATUS   0xFF43

#define ES10F_CHALLENGE_LEN 16

/* Result codes (INTEGER in tag 80 of every response). */
typedef enum {
    ES10F_OK = 0,
    ES10F_NOT_AUTHORISED = 1,      /* FF41/FF42 without FF40 in this session */
    ES10F_INVALID_SIGNATURE = 2,   /* FF40 signature does not verify with the DM key */
    ES10F_NO_CHALLENGE = 3,        /* FF40 without a fresh GetEuiccChallenge */
    ES10F_INVALID_CERTIFICATE = 4, /* FF41: CERT.DPpb does not chain, wrong role, expired */
    ES10F_UNKNOWN_KEY = 5,         /* FF41: no such keyIndex */
    ES10F_KEY_CONSUMED = 6,        /* FF41: that one-time key was used or deleted */
    ES10F_NOTHING_TO_DELETE = 7,   /* FF42: no key left */
    ES10F_UNSUPPORTED_VERSION = 8,
    ES10F_UNDEFINED_ERROR = 127,
} es10f_result_t;

/* Human-readable name of a result code ("invalidSignature"), never NULL. */
const char *es10f_result_name(unsigned result);

/* TBS of the AuthoriseFpaServices signature: 5A 10 EID || 80 10 challenge. */
st_t es10f_auth_tbs(const uint8_t eid[16], const uint8_t challenge[ES10F_CHALLENGE_LEN],
                    buf_t *tbs);

#endif
