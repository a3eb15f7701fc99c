/*
 * fake_card.h - a scripted fake card behind the transport ops table, for unit tests (in the
 * spirit of OpenSC's fuzzing reader: the whole card stack runs without PC/SC).
 *
 * The script is a queue of exchanges: an expected C-APDU pattern and either an R-APDU to
 * answer or a transport status to fail with. Patterns are hex (spaces ignored) where "??"
 * matches any byte and a final "*" matches any remaining bytes (also none). The first C-APDU
 * that does not match, or arrives after the script ran out, is recorded as a mismatch (message
 * in fake_card_error, also printed on stderr) and its transmit fails with ST_E_INTERNAL.
 */
#ifndef IFPP_FAKE_CARD_H
#define IFPP_FAKE_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "transport.h"

typedef struct fake_card fake_card_t;

/*
 * A fake card speaking `proto`, wrapped in a transport (already "open" on reader "fake 00 00").
 * *t owns the fake: transport_free(*t) frees both. *fc is borrowed from *t.
 */
st_t fake_card_new(transport_proto_t proto, fake_card_t **fc, transport_t **t);

/* Appends an exchange: C-APDU pattern -> R-APDU (hex: data || SW1 SW2). */
void fake_card_expect(fake_card_t *fc, const char *capdu, const char *rapdu);
/* Same with raw bytes (exact C-APDU match). */
void fake_card_expect_bytes(fake_card_t *fc, const uint8_t *c, size_t clen, const uint8_t *r,
                            size_t rlen);
/* Appends an exchange whose transmit fails with `st` (ST_E_CARD_RESET, ...). After
 * ST_E_CARD_REMOVED every later transmit fails the same way without consuming the script. */
void fake_card_expect_fail(fake_card_t *fc, const char *capdu, st_t st);

/* Exchanges not consumed yet. */
size_t fake_card_pending(const fake_card_t *fc);
/* C-APDUs received so far. */
size_t fake_card_received(const fake_card_t *fc);
/* The first mismatch, or NULL. */
const char *fake_card_error(const fake_card_t *fc);
/* No mismatch and the whole script consumed; prints what is wrong on stderr otherwise. */
bool fake_card_done(const fake_card_t *fc);
/* Drops the remaining script and the mismatch, for a fresh scenario on the same card. */
void fake_card_reset_script(fake_card_t *fc);

/* The last C-APDU received (borrowed until the next transmit). */
const uint8_t *fake_card_last(const fake_card_t *fc, size_t *len);

/* How many times transport_reset() was called. */
size_t fake_card_resets(const fake_card_t *fc);

#endif
