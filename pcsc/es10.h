/*
 * es10.h - an ES10 session with the ISD-R over a transport, and the ES10b/ES10c/ES10f
 * functions the station uses (DESIGN §6; research sgp22-bsp-and-es10.md §4, §6.1).
 *
 * Transport (SGP.22 §5.7.2): one ES10 function = one DER object = one STORE DATA sequence
 *   CLA 80|ch (C0|ch-4 for channels 4-19), INS E2, P1 11 (more blocks) / 91 (last block),
 *   P2 = block number from 00 for each command, data <= block size (default 120, max 255).
 *   Every block but the last must answer 9000 without data; the response of the function
 *   comes with the last block (61xx is followed by GET RESPONSE in apdu.c). 9000 and 91xx
 *   are success; any other SW ends the sequence with ST_E_CARD_SW.
 *
 * Results are data. Every function takes an es10_result_t out-param (may be NULL) with the
 * last status word and the eUICC's result code when the response carries one; it returns
 * ST_OK when the card answered a well-formed response, even when that response says "error"
 * (res->code != 0), ST_E_CARD_SW when the SW was not success (res->sw says which), ST_E_PROTO
 * for a malformed or unexpected response, and transport errors as they come
 * (ST_E_CARD_RESET: call es10_reopen; ST_E_CARD_REMOVED: the session is over).
 *
 * A session belongs to the thread that owns its transport. It borrows the transport.
 */
#ifndef IFPP_ES10_H
#define IFPP_ES10_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/status.h"
#include "transport.h"

#define ES10_ISDR_AID_DEFAULT   "A0000005591010FFFFFFFF8900000100"
#define ES10_BLOCK_SIZE_DEFAULT 120
#define ES10_BLOCK_SIZE_MAX     255
#define ES10_EID_LEN            16
#define ES10_ICCID_LEN          10

typedef struct {
    const uint8_t *isdr_aid;     /* NULL: ES10_ISDR_AID_DEFAULT; copied by es10_open */
    size_t isdr_aid_len;         /* 5..16 */
    size_t block_size;           /* STORE DATA block; 0: 120; at most 255 */
    bool no_terminal_capability; /* skip TERMINAL CAPABILITY (it is optional anyway) */
    bool basic_channel;          /* select the ISD-R on channel 0 instead of opening one */
    bool store_data_le;          /* send Le=00 with each STORE DATA (case 4); default case 3 */
} es10_opts_t;

typedef struct {
    uint16_t sw;   /* last status word; 0 when the card did not answer */
    bool has_code; /* the response carried a result/error code */
    unsigned code; /* that code; its meaning depends on the function (see each one) */
} es10_result_t;

typedef struct es10 es10_t;

/*
 * Opens a session: TERMINAL CAPABILITY (failures only logged), MANAGE CHANNEL open, SELECT
 * ISD-R on that channel. `t` is borrowed and must outlive the session; `opts` may be NULL
 * and is copied. Caller owns *out (es10_close). ST_E_CARD_SW with res->sw if the channel
 * cannot be opened or the ISD-R selected.
 */
st_t es10_open(transport_t *t, const es10_opts_t *opts, es10_t **out, es10_result_t *res);

/* After ST_E_CARD_RESET (the card lost channel and selection): redo the opening steps. */
st_t es10_reopen(es10_t *s, es10_result_t *res);

/* Closes the logical channel (best effort; a removed card is fine) and frees. NULL-tolerant.
 * Does not close the transport. */
void es10_close(es10_t *s);

unsigned es10_channel(const es10_t *s);
transport_t *es10_transport(const es10_t *s);

/*
 * One ES10 function: req[0..len) (one DER object) as a STORE DATA sequence; the response data
 * (possibly empty) replaces resp's contents. *sw (may be NULL) gets the last SW.
 * ST_E_TOO_LARGE if the object needs more than 256 blocks.
 */
st_t es10_transceive(es10_t *s, const uint8_t *req, size_t len, buf_t *resp, uint16_t *sw);

/* ---- ES10c / ES10b functions reused from SGP.22 v2.5 ---- */

/* ES10c.GetEID (SGP.22 §5.7.20): BF3E { 5C 01 5A } -> BF3E { 5A 10 EID }. */
st_t es10c_get_eid(es10_t *s, uint8_t eid[ES10_EID_LEN], es10_result_t *res);

/* ES10b.GetEUICCInfo (SGP.22 §5.7.8), EUICCInfo2: BF22 00 -> the BF22 TLV verbatim, which
 * replaces out's contents (the .ifppe files carry it as it is). */
st_t es10b_get_euicc_info2(es10_t *s, buf_t *out, es10_result_t *res);

/* ES10b.GetEUICCChallenge (SGP.22 §5.7.7): BF2E 00 -> BF2E { 80 10 challenge }. */
st_t es10b_get_euicc_challenge(es10_t *s, uint8_t challenge[16], es10_result_t *res);

typedef enum {
    ES10_PROFILE_STATE_DISABLED = 0,
    ES10_PROFILE_STATE_ENABLED = 1,
} es10_profile_state_t;

typedef enum {
    ES10_PROFILE_CLASS_TEST = 0,
    ES10_PROFILE_CLASS_PROVISIONING = 1,
    ES10_PROFILE_CLASS_OPERATIONAL = 2,
} es10_profile_class_t;

typedef struct {
    bool has_iccid;
    uint8_t iccid[ES10_ICCID_LEN];          /* 5A, as stored (nibble-swapped BCD) */
    char iccid_str[2 * ES10_ICCID_LEN + 1]; /* decoded digits, padding F dropped */
    uint8_t aid[16];                        /* 4F ISD-P AID */
    size_t aid_len;
    int state;         /* 9F70 es10_profile_state_t, -1 when absent */
    int profile_class; /* 95 es10_profile_class_t, -1 when absent (SGP.22: operational) */
    char *name;        /* 92 profileName, NUL-terminated copy; NULL when absent */
    char *provider;    /* 91 serviceProviderName; NULL when absent */
    char *nickname;    /* 90 profileNickname; NULL when absent */
} es10_profile_t;

typedef struct {
    es10_profile_t *items; /* owned */
    size_t n;
} es10_profile_list_t;

void es10_profile_list_free(es10_profile_list_t *l);

/*
 * ES10c.GetProfilesInfo (SGP.22 §5.7.15), "ListProfileInfo": BF2D 00 ->
 * BF2D { A0 { E3 {...}... } } parsed into *out (caller frees), or BF2D { 81 error }:
 * res->code = profileInfoListError (incorrectInputValues(1), undefinedError(127)), empty list.
 */
st_t es10c_list_profile_info(es10_t *s, es10_profile_list_t *out, es10_result_t *res);

/* Parses a GetProfilesInfo response (the BF2D TLV bytes) — the decoding half of the above. */
st_t es10c_parse_profile_info(const uint8_t *p, size_t n, es10_profile_list_t *out,
                              es10_result_t *res);

typedef struct {
    uint32_t tag; /* BF37 (ProfileInstallationResult) or 30 (OtherSignedNotification) */
    uint64_t seq; /* NotificationMetadata seqNumber */
    buf_t raw;    /* the whole TLV, verbatim (owned) */
} es10_notification_t;

typedef struct {
    es10_notification_t *items; /* owned */
    size_t n;
} es10_notification_list_t;

void es10_notification_list_free(es10_notification_list_t *l);

/*
 * ES10b.RetrieveNotificationsList (SGP.22 §5.7.10): BF2B 00 -> BF2B { A0 { BF37 | 30 ... } }
 * into *out (caller frees), or BF2B { 81 error }: res->code = notificationsListResultError
 * (undefinedError(127)), empty list.
 */
st_t es10b_retrieve_notifications_list(es10_t *s, es10_notification_list_t *out,
                                       es10_result_t *res);

/*
 * ES10b.RemoveNotificationFromList (SGP.22 §5.7.11): NotificationSent BF30 { 80 seq } ->
 * BF30 { 80 status }: res->code = ok(0), nothingToDelete(1), undefinedError(127).
 */
st_t es10b_remove_notification(es10_t *s, uint64_t seq, es10_result_t *res);

/* Progress of a LoadBoundProfilePackage, after each segment the card accepted (the last one
 * included). Return false to stop before the next segment (ST_E_CANCELLED; the card sees an
 * interrupted load); ignored once the card has answered or no segment remains. */
typedef bool (*es10_progress_cb_t)(size_t segments_done, size_t segments_total, size_t bytes_sent,
                                   size_t bytes_total, void *ud);

typedef struct {
    size_t segments_total; /* SGP.22 §2.5.5 segments of this BPP */
    size_t segments_sent;  /* segments the card acknowledged or answered */
    size_t bytes_sent;     /* BPP bytes in those segments */
    uint64_t apdus;        /* C-APDUs, GET RESPONSE included */
    uint64_t tx_bytes;     /* C-APDU bytes */
    uint64_t rx_bytes;     /* R-APDU bytes */
} es10_lbpp_stats_t;

/*
 * ES10b.LoadBoundProfilePackage (SGP.22 §5.7.6, segmentation §2.5.5): bpp[0..len) is one BF36;
 * each segment goes as its own STORE DATA sequence; the first non-empty response ends the load
 * and must be a ProfileInstallationResult BF37, which replaces pir's contents verbatim (parse
 * it with fmt/pir.h: success or errorResult is data). ST_E_PROTO if the card answered
 * something else (pir then holds those bytes for the record) or nothing after the last
 * segment. stats (may be NULL) is filled in every case; progress may be NULL.
 */
st_t es10b_load_bound_profile_package(es10_t *s, const uint8_t *bpp, size_t len, buf_t *pir,
                                      es10_lbpp_stats_t *stats, es10_progress_cb_t progress,
                                      void *ud, es10_result_t *res);

/* ---- ES10f, project-local FPA services (fmt/es10f.h, DESIGN §6) ---- */

/*
 * AuthoriseFpaServices (FF40; SGP.41 EUICCF02, GENS13): signs es10f_auth_tbs(EID, challenge)
 * with the DM authorisation key `dm_key` (borrowed; raw r||s ECDSA) and sends
 * FF40 { 80 01 version, 5F37 40 sig }. challenge NULL: a fresh one is fetched first with
 * GetEUICCChallenge. res->code = es10f_result_t.
 */
st_t es10f_authorise_fpa_services(es10_t *s, EVP_PKEY *dm_key, const uint8_t eid[ES10_EID_LEN],
                                  const uint8_t *challenge, es10_result_t *res);

typedef struct {
    const uint8_t *p; /* borrowed */
    size_t len;
} es10_blob_t;

/*
 * PrepareLoad (FF41; ES10f side of ES8f, GENS12): FF41 { 80 01 version, 81 keyIndex,
 * A0 { CERT.DPpb }, [A1 { chain... }] }. Certificates are DER, borrowed. res->code =
 * es10f_result_t.
 */
st_t es10f_prepare_load(es10_t *s, uint64_t key_index, const uint8_t *cert_dppb, size_t cert_len,
                        const es10_blob_t *chain, size_t n_chain, es10_result_t *res);

/* DeleteOneTimeKeys (FF42; EUICCF03, DMF03/04). *keys_deleted (may be NULL) from tag 81. */
st_t es10f_delete_one_time_keys(es10_t *s, uint64_t *keys_deleted, es10_result_t *res);

typedef struct {
    uint64_t total, unused, consumed;
    bool fpa_locked; /* FPA services ended for good (after FF42) */
} es10f_key_status_t;

/* GetOneTimeKeyStatus (FF43; verify step). */
st_t es10f_get_one_time_key_status(es10_t *s, es10f_key_status_t *out, es10_result_t *res);

#endif
