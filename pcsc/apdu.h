/*
 * apdu.h - ISO/IEC 7816-4 short APDUs over a transport (cases 1-4, T=0 and T=1), logical
 * channels, and the few interindustry commands the ES10 session needs.
 *
 * The rules live here and nowhere else (OpenSC sc_transmit):
 *   - case 4 on T=0 goes out without Le (ISO 7816-3 T=0 has no case 4); the card answers
 *     61xx and the data is fetched with GET RESPONSE;
 *   - 61xx (any protocol): GET RESPONSE with Le = xx (61 00 = 256) until the card stops
 *     saying 61, concatenating the data;
 *   - 6Cxx: the same command is sent again exactly once with Le = xx (6C 00 = 256); a second
 *     6Cxx is handed back as it is;
 *   - GET RESPONSE uses the interindustry class of the command's logical channel (00|ch or
 *     40|ch-4), never the proprietary 80 (an lpac bug: the command is interindustry).
 * Status words are data: apdu_transmit returns ST_OK whenever the card answered, whatever the
 * SW; helpers that need a particular SW return ST_E_CARD_SW and hand the SW back.
 * C-APDUs and R-APDUs are traced in hex at ST_LOG_TRACE only.
 */
#ifndef IFPP_APDU_H
#define IFPP_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"
#include "transport.h"

#define APDU_SW_OK        0x9000u
#define APDU_MAX_LC       255
#define APDU_MAX_LE       256
#define APDU_MAX_CHANNEL  19
/* Upper bound on what one command may accumulate through GET RESPONSE. */
#define APDU_MAX_RESPONSE (1024u * 1024u)

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* borrowed; may be NULL when lc == 0 */
    size_t lc;           /* 0..255 */
    size_t le;           /* 0: no Le (case 1/3); 1..256: Le present (256 is encoded 00) */
} apdu_cmd_t;

typedef struct {
    buf_t data;  /* response data, GET RESPONSE chains concatenated; owned */
    uint16_t sw; /* final SW1 SW2 */
} apdu_resp_t;

#define APDU_RESP_INIT                                                                             \
    { BUF_INIT, 0 }

/* Frees the data; NULL-tolerant; leaves *r == APDU_RESP_INIT. */
void apdu_resp_free(apdu_resp_t *r);

/* 9000, or 91xx (a proactive command is pending: success for ES10, SGP.22 / lpac). */
bool apdu_sw_success(uint16_t sw);

/*
 * CLA for a logical channel (ISO 7816-4 §5.4.1): channels 0-3 in b2-b1 of the first
 * interindustry range (0x00|ch), 4-19 as 0x40|(ch-4). `proprietary` keeps b8 set for the
 * GlobalPlatform/ES10 class: 0x80|ch and 0xC0|(ch-4) (research §4.1). Channel must be <= 19.
 */
uint8_t apdu_cla(bool proprietary, unsigned channel);
/* The logical channel a CLA addresses (inverse of apdu_cla for either class). */
unsigned apdu_cla_channel(uint8_t cla);

/* Encodes a command for `proto` into out[0..TRANSPORT_MAX_CAPDU); *len its length. */
st_t apdu_encode(const apdu_cmd_t *cmd, transport_proto_t proto, uint8_t *out, size_t *len);

/*
 * Sends one command with the 61xx/6Cxx rules above. ST_OK when the card answered (resp->sw
 * says how); transport errors (ST_E_CARD_REMOVED, ST_E_CARD_RESET, ...) otherwise, and for a
 * looping card ST_E_TOO_LARGE (more than APDU_MAX_RESPONSE through GET RESPONSE) or ST_E_PROTO
 * (a GET RESPONSE that brings no data and says 61xx again).
 * resp is reset on entry; the caller frees it with apdu_resp_free.
 */
st_t apdu_transmit(transport_t *t, const apdu_cmd_t *cmd, apdu_resp_t *resp);

/* MANAGE CHANNEL open (00 70 00 00 01): *channel = 1..19. ST_E_CARD_SW with *sw otherwise. */
st_t apdu_manage_channel_open(transport_t *t, unsigned *channel, uint16_t *sw);

/* MANAGE CHANNEL close (00 70 80 ch). ST_E_CARD_SW with *sw unless 9000. */
st_t apdu_manage_channel_close(transport_t *t, unsigned channel, uint16_t *sw);

/*
 * SELECT by DF name (00|ch A4 04 00 Lc AID 00), first occurrence, FCI returned in fci->data.
 * ST_OK on 9000/91xx; ST_E_CARD_SW (fci->sw: e.g. 6A82 not found) otherwise.
 */
st_t apdu_select_aid(transport_t *t, unsigned channel, const uint8_t *aid, size_t aid_len,
                     apdu_resp_t *fci);

/*
 * TERMINAL CAPABILITY (ETSI TS 102 221 §11.1.19; 80 AA 00 00 05 A9 03 83 01 07: eUICC-related
 * capabilities, "LPA in device"). Optional for the card: 6D00/6E00 are accepted as ST_OK.
 * ST_E_CARD_SW with *sw for any other failure.
 */
st_t apdu_terminal_capability(transport_t *t, uint16_t *sw);

#endif
