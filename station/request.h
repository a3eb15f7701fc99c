/*
 * request.h - ESBPP02 BPP request export (.ifppr, DESIGN §5): for eUICCs that have data and an
 * unused one-time key but no BPP yet, a request naming the key each BPP shall be bound to,
 * CMS attached, signed by the DM station key, written atomically. A library: nothing printed.
 *
 * Which eUICCs, which keys (the rule):
 *   - candidates are the EIDs given (eids[] ascending, each once), then the eUICCs with data
 *     in the range FROM..TO (ascending; those already in eids[] skipped); with neither, every
 *     eUICC in the store (ascending EID). Given EIDs without data are skipped (counted);
 *   - an eUICC qualifies when it has no BPP (no key bound or consumed, no live BPP names it:
 *     store_euicc_info_t.has_bpp), no request for it is outstanding (no key requested) and a
 *     key is unused; its lowest unused key index is chosen: one entry per eUICC, at most
 *     `count` entries. With include_requested an eUICC with an outstanding request is asked
 *     for again with the SAME key (its requested key), so a lost request can be re-sent
 *     without ever offering a second key of one eUICC (the store allows one requested key per
 *     eUICC);
 *   - "requested" is a one-time key state in the store (store_otk_request): the chosen keys
 *     move unused -> requested, with the requestId and an audit row "request.export", in one
 *     transaction BEFORE the .ifppr is renamed into place; if the file cannot be written they
 *     are moved back. A crash between the two leaves keys requested that were never sent
 *     (safe: never bound twice; include_requested re-sends them). Every move is a
 *     compare-and-set, so two exports running at once never carry the same key: the later
 *     one fails (ST_E_STATE or ST_E_CONFLICT) and writes nothing. Importing a BPP for a
 *     requested key binds it, which excludes the eUICC from then on.
 *   - older stations kept the requested keys in a ledger file STATE_DIR/requested-keys: when
 *     it is there it is taken into the store once (its keys that are still unused become
 *     requested) and renamed to requested-keys.imported.
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

#define REQUEST_LEDGER_NAME "requested-keys" /* of older stations: imported once */
#define REQUEST_MAX_RANGE   1000000u         /* EIDs one --eid-range may span */

typedef struct {
    const uint8_t (*eids)[STORE_EID_LEN]; /* explicit EIDs (may be NULL) */
    size_t n_eids;
    bool has_range; /* FROM..TO: same first 14 digits, at most REQUEST_MAX_RANGE EIDs */
    uint8_t from[STORE_EID_LEN], to[STORE_EID_LEN];
    uint64_t count;           /* at most this many entries; 0: no limit */
    const char *profile_type; /* profileType of every entry; NULL/"": absent */
    bool include_requested;   /* re-request eUICCs with an outstanding request (same key) */
    /* Neither eids nor a range: every eUICC in the store is a candidate. */
} request_filter_t;

typedef struct {
    store_t *store;         /* borrowed; read-write (the chosen keys become requested) */
    const char *state_dir;  /* where an older station's ledger may be; NULL: none */
    const char *actor;      /* audit actor; NULL: "request" */
    const char *dm_id;      /* dmId, 1..63 characters */
    EVP_PKEY *dm_key;       /* borrowed */
    X509 *dm_cert;          /* borrowed */
    STACK_OF(X509) * chain; /* borrowed, may be NULL */
} request_opts_t;

typedef struct {
    uint8_t request_id[16];
    uint64_t n_entries;
    uint64_t n_unknown;    /* given EIDs (eids[]) without eUICC data */
    uint64_t n_has_bpp;    /* it has a BPP already (store_euicc_info_t.has_bpp) */
    uint64_t n_requested;  /* a request for it is outstanding (skipped) */
    uint64_t n_no_key;     /* no unused key left */
    uint64_t n_resent;     /* entries that re-send an outstanding request's key */
    uint64_t n_candidates; /* eUICCs looked at (and given EIDs without data) */
} request_result_t;

/*
 * Parses "FROM-TO" (two 32-digit EIDs) into the filter's range. ST_E_PARSE for bad EIDs,
 * ST_E_INVAL for FROM > TO, different first 14 digits or a span over REQUEST_MAX_RANGE.
 */
st_t request_parse_range(const char *s, request_filter_t *f);

/*
 * Builds, signs and writes the request to out_path (atomically, 0644), marking the chosen keys
 * requested in the store first. ST_E_NOENT (nothing written, store untouched) when no eUICC
 * qualifies; ST_E_STATE / ST_E_CONFLICT (nothing written) when a concurrent request or import
 * took a chosen key meanwhile (run it again).
 */
st_t request_export(const request_opts_t *o, const request_filter_t *f, const char *out_path,
                    request_result_t *res);

#endif
