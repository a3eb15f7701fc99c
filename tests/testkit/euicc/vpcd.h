/*
 * vpcd.h - the virtual card's side of the vsmartcard vpcd protocol (research factory-users §4.2).
 *
 * vpcd (the pcscd driver) LISTENS on 127.0.0.1:port; the card CONNECTS. Every message is a
 * 2-byte big-endian length and a payload. A 1-byte payload is a control byte (0 power off,
 * 1 power on, 2 reset, 4 get ATR -> the card answers a framed ATR); anything else is a C-APDU
 * answered by a framed R-APDU. A closed connection means "card removed" to vpcd.
 *
 * DESIGN §7: TCP_NODELAY is set once and TCP_QUICKACK re-armed before EVERY receive, or vpcd's
 * split writes meet delayed ACKs and every APDU costs ~45 ms.
 */
#ifndef IFPP_EUICC_VPCD_H
#define IFPP_EUICC_VPCD_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

#define VPCD_CTRL_OFF   0
#define VPCD_CTRL_ON    1
#define VPCD_CTRL_RESET 2
#define VPCD_CTRL_ATR   4

/* One connection attempt to host:port (IPv4 literal). *fd owned by the caller (close). */
st_t vpcd_connect(const char *host, uint16_t port, int *fd);

/*
 * Reads one message (loops on short reads) into msg (replacing its contents).
 * ST_E_CARD_REMOVED when vpcd closed the connection, ST_E_INTERRUPTED on a signal (EINTR),
 * ST_E_IO on other errors.
 */
st_t vpcd_recv(int fd, buf_t *msg);

/* Sends one framed message (header and payload in one write). */
st_t vpcd_send(int fd, const uint8_t *p, size_t n);

#endif
