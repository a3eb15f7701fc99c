/*
 * card.h - the simulated eUICC as a pure APDU machine (DESIGN §7): no sockets, no clock.
 *
 * card_process_apdu() takes one C-APDU and produces one R-APDU (data || SW1 SW2), exactly what
 * a card answers over T=1 (or T=0 when the t0_only knob is set: every response goes through
 * 61xx / GET RESPONSE). The vpcd front end (vpcd.c, serve.c) and the unit tests
 * (tests/unit/test_sim.c) both drive it through this header.
 *
 * Layers:  card.c      ISO 7816-4: ATR, CLA/channel decoding, MANAGE CHANNEL, SELECT,
 *                      TERMINAL CAPABILITY, STORE DATA reassembly, GET RESPONSE
 *          es10.c      ES10 functions (one STORE DATA sequence = one DER command) + ES10f
 *          bpp_load.c  ES10b.LoadBoundProfilePackage: the BSP unbinding state machine
 *          state.c     persistence (a card remembers)
 */
#ifndef IFPP_EUICC_CARD_H
#define IFPP_EUICC_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"
#include "state.h"

#define CARD_MAX_ATR      33
#define CARD_MAX_CHANNELS 20    /* basic channel 0, logical channels 1..19 */
#define CARD_MAX_COMMAND  65536 /* one reassembled ES10 command */

/* The SGP.22 ISD-R AID (DESIGN §6; configurable because real cards vary). */
extern const uint8_t CARD_DEFAULT_ISDR_AID[16];

typedef struct {
    uint8_t isdr_aid[16];
    size_t isdr_aid_len;
    size_t max_block; /* largest STORE DATA Lc accepted (6700 above), 1..255 */
    bool t0_only;     /* answer every response via 61xx + GET RESPONSE, even with Le present */
    /* TEST-ONLY benchmark knob (`euicc serve --bench-fixed-challenge`, tests/bench/line_bench.sh):
     * GetEuiccChallenge answers a constant challenge instead of a random one, so that a
     * recorded AuthoriseFpaServices signature verifies again when the same C-APDU sequence is
     * replayed on a card restored to the same state. Defeats the anti-replay of FF40: never
     * for anything but benchmarks. */
    bool bench_fixed_challenge;
} card_opts_t;

/* Defaults: SGP.22 ISD-R AID, max_block 255, T=1 behaviour. */
void card_opts_default(card_opts_t *o);

typedef struct card card_t;

/* New powered-off card over `state` (ownership moves to the card, also on failure). */
st_t card_new(card_state_t *state, const card_opts_t *opts, card_t **out);
/* NULL-tolerant; frees the state too. */
void card_free(card_t *c);

/* The ATR (T=0 and T=1 announced, TCK included); returns its length. */
size_t card_atr(const card_t *c, uint8_t out[CARD_MAX_ATR]);

/*
 * Power events (vpcd control bytes 0 off, 1 on, 2 reset). Each one is a cold/warm reset:
 * logical channels, STORE DATA sequences, pending responses, the eUICC challenge, the FPA
 * authorisation and an armed PrepareLoad are dropped. A BPP interrupted after its
 * InitialiseSecureChannel verified leaves an installFailedDueToInterruption(11) PIR in the
 * notification list (research 8.4 item 8).
 */
void card_power_on(card_t *c);
void card_power_off(card_t *c);
void card_reset(card_t *c);

/*
 * One C-APDU (short APDUs; cases 1-4) -> R-APDU appended to rapdu (data || SW). Card errors are
 * status words, never a st_t. Returns ST_OK, or an internal failure (allocation, persistence)
 * after having answered 6F00.
 */
st_t card_process_apdu(card_t *c, const uint8_t *capdu, size_t len, buf_t *rapdu);

/* The card's persistent state (borrowed), for tests and the serve loop's log lines. */
card_state_t *card_get_state(card_t *c);

/*
 * Test hook: receives every BSP plaintext the card recovers (cmd = the bppCommandId of the
 * part: 1 ConfigureISDP, 2/3 StoreMetadata, 4 ReplaceSessionKeys, 5 a profile segment). Only
 * the unit tests install it (decrypted profile bytes never reach a log).
 */
typedef void (*card_plain_hook_fn)(void *ud, unsigned cmd, const uint8_t *p, size_t n);
void card_set_plain_hook(card_t *c, card_plain_hook_fn fn, void *ud);

/*
 * EUICCInfo2 (BF22) of this card: a realistic constant with the SKIs of the trusted CIs in
 * euiccCiPKIdListForVerification (A9) and ...ForSigning (AA). Appended to out. Used by the ES10
 * layer and by `eum make` for the .ifppe.
 */
st_t card_build_euicc_info2(const card_state_t *s, buf_t *out);

#endif
