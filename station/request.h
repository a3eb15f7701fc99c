/*
 * request.h - ESBPP02 BPP request export (.ifppr, DESIGN §5): for eUICCs that have data and an
 * unused one-time key but no BPP yet, a request naming the key each BPP shall be bound to,
 * CMS attached, signed by the DM station key, written atomically. A library: nothing printed.
 *
 * Which eUICCs, which keys (the rule):
 *   - candidates are the EIDs given (eids[] ascending, then the range FROM..TO ascending);
 *     unknown EIDs are skipped (counted);
 *   - an eUICC qualifies when none of its one-time keys is bound or consumed (it has no BPP,
 *     live or installed), no request for it is outstanding (no unused key of it in the ledger)
 *     and a key is unused; its lowest unused key index is chosen: one entry per eUICC, at most
 *     `count` entries. With include_requested an eUICC with an outstanding request is asked for
 *     again with the SAME key (the lowest requested one), so a lost request can be re-sent
 *     without ever offering a second key of one eUICC;
 *   - "requested" is recorded in the request ledger STATE_DIR/requested-keys (one line per key:
 *     "EID keyIndex requestId createdAt"), appended and fsync'ed under an exclusive flock
 *     BEFORE the .ifppr is renamed into place, and read under the same lock when choosing: two
 *     requests never carry the same key. A crash between the two leaves keys marked that were
 *     never sent (safe: never bound twice; include_requested re-sends them). Once a BPP for a
 *     key is imported the store has it bound, which excludes the eUICC anyway.
 *   (The store has no eUICC listing and no "requested" key state yet, hence the explicit EIDs
 *   and the ledger file beside the database.)
 */
#ifndef IFPP_REQUEST_H
#define IFPP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/status.h"
#include "store.h"

#define REQUEST_LEDGER_NAME "requested-keys"
#define REQUEST_MAX_RANGE   1000000u /* EIDs one --eid-range may span */

typedef struct {
    const uint8_t (*eids)[STORE_EID_LEN]; /* explicit EIDs (may be NULL) */
    size_t n_eids;
    bool has_range; /* FROM..TO: same first 14 digits, at most REQUEST_MAX_RANGE EIDs */
    uint8_t from[STORE_EID_LEN], to[STORE_EID_LEN];
    uint64_t count;           /* at most this many entries; 0: no limit */
    const char *profile_type; /* profileType of every entry; NULL/"": absent */
    bool include_requested;   /* re-request eUICCs with an outstanding request (same key) */
} request_filter_t;

typedef struct {
    store_t *store;         /* borrowed; read only */
    const char *state_dir;  /* the ledger lives here */
    const char *dm_id;      /* dmId, 1..63 characters */
    EVP_PKEY *dm_key;       /* borrowed */
    X509 *dm_cert;          /* borrowed */
    STACK_OF(X509) * chain; /* borrowed, may be NULL */
} request_opts_t;

typedef struct {
    uint8_t request_id[16];
    uint64_t n_entries;
    uint64_t n_unknown;   /* EIDs without eUICC data */
    uint64_t n_has_bpp;   /* a key bound or consumed: it has a BPP */
    uint64_t n_requested; /* a request for it is outstanding (skipped) */
    uint64_t n_no_key;    /* no unused key left */
    uint64_t n_candidates;
} request_result_t;

/*
 * Parses "FROM-TO" (two 32-digit EIDs) into the filter's range. ST_E_PARSE for bad EIDs,
 * ST_E_INVAL for FROM > TO, different first 14 digits or a span over REQUEST_MAX_RANGE.
 */
st_t request_parse_range(const char *s, request_filter_t *f);

/*
 * Builds, signs and writes the request to out_path (atomically, 0644), recording the chosen
 * keys in the ledger first. ST_E_NOENT (nothing written, ledger untouched) when no eUICC
 * qualifies; ST_E_INVAL when neither EIDs nor a range are given.
 */
st_t request_export(const request_opts_t *o, const request_filter_t *f, const char *out_path,
                    request_result_t *res);

#endif
