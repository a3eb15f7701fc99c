/*
 * transport.h - the card transport: a small ops table plus a private pointer (lpac
 * euicc_apdu_interface, OpenSC sc_reader_operations).
 *
 * Two implementations: PC/SC (transport_pcsc.c, the only file of the project that includes
 * <PCSC/winscard.h>) and the scripted fake card of the unit tests (tests/unit/fake_card.c).
 * A transport instance belongs to one thread: the PC/SC one owns its own SCARDCONTEXT
 * (pcsc-lite: one context per thread), except transport_cancel(), which may be called from
 * any thread to end a blocking transport_wait_event().
 *
 * Errors (st_t) are transport failures only. Card status words are data: they are the last
 * two bytes of the R-APDU that transmit() hands back.
 *   ST_E_CARD_RESET    the card was reset by someone else; the transport has reconnected
 *                      (SCARD_LEAVE_CARD) and the caller must reopen its channel and ISD-R
 *   ST_E_CARD_REMOVED  the card or its reader went away: the session is over
 *   ST_E_NO_SERVICE    pcscd is gone; the next call re-establishes the context
 */
#ifndef IFPP_TRANSPORT_H
#define IFPP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Short APDUs only: 5 + 255 bytes out, 256 + SW in (pcsc-lite MAX_BUFFER_SIZE is 264). */
#define TRANSPORT_MAX_CAPDU 261
#define TRANSPORT_MAX_RAPDU 258
#define TRANSPORT_MAX_ATR   33

typedef enum {
    TRANSPORT_PROTO_NONE = 0, /* not connected */
    TRANSPORT_PROTO_T0 = 1,
    TRANSPORT_PROTO_T1 = 2,
} transport_proto_t;

/* What transport_wait_event() waits for. */
typedef enum {
    TRANSPORT_WAIT_INSERTED = 1, /* until a card is present in the reader */
    TRANSPORT_WAIT_REMOVED = 2,  /* until the reader is empty (or gone) */
} transport_wait_t;

typedef struct {
    transport_proto_t proto;
    uint8_t atr[TRANSPORT_MAX_ATR];
    size_t atr_len;
} transport_info_t;

/*
 * The ops. `priv` is the implementation's state. Every op except close/destroy returns st_t.
 *   open        connect to the card in `reader` (exclusive, T=0 or T=1); ST_E_NO_CARD if the
 *               reader is empty, ST_E_NO_READER if it does not exist, ST_E_SHARING if another
 *               process holds it
 *   close       disconnect (idempotent)
 *   transmit    one C-APDU -> one R-APDU (data || SW1 SW2) into r[0..rcap); *rlen its length
 *   reset       warm reset of the card, then reconnect; the caller reopens its channels
 *   wait_event  wait up to timeout_ms for `what` on `reader` (NULL: the opened reader);
 *               ST_OK when it holds, ST_E_TIMEOUT, ST_E_CANCELLED, ST_E_NO_READER
 *   cancel      ends a wait_event blocked in another thread (may be NULL: not supported)
 *   info        protocol and ATR of the connected card
 *   destroy     frees priv (called by transport_free)
 */
typedef struct transport_ops {
    const char *name;
    st_t (*open)(void *priv, const char *reader);
    void (*close)(void *priv);
    st_t (*transmit)(void *priv, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                     size_t *rlen);
    st_t (*reset)(void *priv);
    st_t (*wait_event)(void *priv, const char *reader, transport_wait_t what, unsigned timeout_ms);
    st_t (*cancel)(void *priv);
    st_t (*info)(void *priv, transport_info_t *out);
    void (*destroy)(void *priv);
} transport_ops_t;

typedef struct transport transport_t;

/* Traffic counters kept by the wrapper (every transmit, whatever the implementation). */
typedef struct {
    uint64_t apdus;    /* C-APDUs sent (GET RESPONSE included) */
    uint64_t tx_bytes; /* C-APDU bytes */
    uint64_t rx_bytes; /* R-APDU bytes, SW included */
} transport_counters_t;

/*
 * Wraps an implementation. `ops` is borrowed (static storage); `priv` is owned by the new
 * transport and released with ops->destroy by transport_free. On failure priv is destroyed
 * too. Caller owns *out.
 */
st_t transport_new(const transport_ops_t *ops, void *priv, transport_t **out);

/* Closes (if open) and frees; NULL-tolerant. */
void transport_free(transport_t *t);

/* The implementation's private pointer (borrowed). */
void *transport_priv(const transport_t *t);
const char *transport_name(const transport_t *t);

/* Wrappers over the ops (semantics in the ops table above); ST_E_INVAL on a NULL transport. */
st_t transport_open(transport_t *t, const char *reader);
void transport_close(transport_t *t);
/* Logs nothing: APDU tracing belongs to apdu.c. Updates the counters. */
st_t transport_transmit(transport_t *t, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                        size_t *rlen);
st_t transport_reset(transport_t *t);
st_t transport_wait_event(transport_t *t, const char *reader, transport_wait_t what,
                          unsigned timeout_ms);
/* Thread-safe against a wait_event in progress; ST_E_UNSUPPORTED if the ops have none. */
st_t transport_cancel(transport_t *t);
st_t transport_info(transport_t *t, transport_info_t *out);
/* TRANSPORT_PROTO_NONE when not connected. */
transport_proto_t transport_protocol(transport_t *t);

void transport_counters(const transport_t *t, transport_counters_t *out);

/*
 * The PC/SC transport (transport_pcsc.c). Establishes its own SCARDCONTEXT (SCARD_SCOPE_SYSTEM)
 * lazily on the first call that needs it, and again after pcscd went away. Caller owns *out.
 */
st_t transport_pcsc_new(transport_t **out);

/*
 * Lists the PC/SC readers into a freshly allocated array of malloc'd names (caller frees
 * with transport_reader_list_free). Uses a short-lived context of its own. ST_OK with *n == 0
 * when pcscd has no reader.
 */
st_t transport_pcsc_list_readers(char ***names, size_t *n);
void transport_reader_list_free(char **names, size_t n);

#endif
