/*
 * transport_pcsc.c - the PC/SC transport and the PC/SC backend of the reader monitor.
 *
 * The only file of the project that includes <PCSC/winscard.h>. PC/SC return codes are mapped
 * to st_t in exactly one place, st_from_pcsc(). Behaviour taken from pcsc-lite's testpcsc.c
 * and OpenSC's reader-pcsc.c (style-anchors §2, §3, items 15-18):
 *   - one SCARDCONTEXT per transport instance (pcsc-lite: one per thread);
 *   - SCARD_SHARE_EXCLUSIVE with T=0|T=1, PCI chosen from dwActiveProtocol;
 *   - SCARD_W_RESET_CARD: SCardReconnect(SCARD_LEAVE_CARD), then ST_E_CARD_RESET so that the
 *     upper layer reopens its logical channel and the ISD-R;
 *   - SCARD_W_REMOVED_CARD or a vanished reader: ST_E_CARD_REMOVED, the session is over;
 *   - SCARD_E_NO_SERVICE / SCARD_E_SERVICE_STOPPED (pcscd runs --auto-exit and is socket
 *     activated): the context is dropped and re-established by the next call.
 */
#include "transport.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>

#include "base/log.h"
#include "monitor_internal.h"

_Static_assert(MONITOR_STATE_IGNORE == SCARD_STATE_IGNORE, "state bits");
_Static_assert(MONITOR_STATE_CHANGED == SCARD_STATE_CHANGED, "state bits");
_Static_assert(MONITOR_STATE_UNKNOWN == SCARD_STATE_UNKNOWN, "state bits");
_Static_assert(MONITOR_STATE_UNAVAILABLE == SCARD_STATE_UNAVAILABLE, "state bits");
_Static_assert(MONITOR_STATE_EMPTY == SCARD_STATE_EMPTY, "state bits");
_Static_assert(MONITOR_STATE_PRESENT == SCARD_STATE_PRESENT, "state bits");
_Static_assert(MONITOR_STATE_EXCLUSIVE == SCARD_STATE_EXCLUSIVE, "state bits");
_Static_assert(MONITOR_STATE_INUSE == SCARD_STATE_INUSE, "state bits");
_Static_assert(MONITOR_STATE_MUTE == SCARD_STATE_MUTE, "state bits");
_Static_assert(MONITOR_NAME_MAX == MAX_READERNAME, "reader name size");
_Static_assert(MONITOR_MAX_READERS == PCSCLITE_MAX_READERS_CONTEXTS, "reader slots");

/* The one mapping of PC/SC codes to st_t (OpenSC pcsc_to_opensc_error). Logs at debug. */
static st_t st_from_pcsc(LONG rv, const char *what) {
    st_t st;

    switch (rv) {
    case SCARD_S_SUCCESS:
        return ST_OK;
    case SCARD_E_NO_MEMORY:
        st = ST_E_NOMEM;
        break;
    case SCARD_E_TIMEOUT:
        st = ST_E_TIMEOUT;
        break;
    case SCARD_E_CANCELLED:
    case SCARD_E_SYSTEM_CANCELLED:
        st = ST_E_CANCELLED;
        break;
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
        st = ST_E_NO_SERVICE;
        break;
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
        st = ST_E_NO_READER;
        break;
    case SCARD_E_NO_SMARTCARD:
        st = ST_E_NO_CARD;
        break;
    case SCARD_W_REMOVED_CARD:
        st = ST_E_CARD_REMOVED;
        break;
    case SCARD_W_RESET_CARD:
        st = ST_E_CARD_RESET;
        break;
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
        st = ST_E_CARD_MUTE;
        break;
    case SCARD_W_UNSUPPORTED_CARD:
    case SCARD_E_CARD_UNSUPPORTED:
    case SCARD_E_PROTO_MISMATCH:
    case SCARD_E_READER_UNSUPPORTED:
        st = ST_E_UNSUPPORTED;
        break;
    case SCARD_E_SHARING_VIOLATION:
        st = ST_E_SHARING;
        break;
    case SCARD_E_INSUFFICIENT_BUFFER:
    case SCARD_E_PCI_TOO_SMALL:
        st = ST_E_TOO_LARGE;
        break;
    case SCARD_E_INVALID_HANDLE:
    case SCARD_E_INVALID_PARAMETER:
    case SCARD_E_INVALID_VALUE:
        st = ST_E_INVAL;
        break;
    case SCARD_E_NOT_TRANSACTED:
    case SCARD_F_COMM_ERROR:
    case SCARD_E_COMM_DATA_LOST:
        st = ST_E_IO;
        break;
    default:
        st = ST_E_INTERNAL;
        break;
    }
    st_log(ST_LOG_DEBUG, "pcsc: %s: %s (0x%08lX) -> %s", what, pcsc_stringify_error(rv),
           (unsigned long)rv, st_name(st));
    return st;
}

static bool pcsc_service_lost(LONG rv) {
    return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED;
}

static bool pcsc_reader_gone(LONG rv) {
    return rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD
           || rv == SCARD_E_READER_UNAVAILABLE || rv == SCARD_E_UNKNOWN_READER;
}

/* ------------------------------------------------------------------ transport */

typedef struct {
    pthread_mutex_t lock; /* guards ctx/have_ctx against transport_cancel from another thread */
    SCARDCONTEXT ctx;
    bool have_ctx;
    SCARDHANDLE h;
    bool connected;
    DWORD proto; /* SCARD_PROTOCOL_T0 / _T1 */
    char reader[MAX_READERNAME];
    uint8_t atr[TRANSPORT_MAX_ATR];
    size_t atr_len;
} pcsc_priv_t;

static void pcsc_drop_context(pcsc_priv_t *p) {
    /* After pcscd went away the handle is dead as well; SCardDisconnect/SCardReleaseContext
     * only clean up the client side then. */
    if (p->connected)
        (void)SCardDisconnect(p->h, SCARD_LEAVE_CARD);
    p->connected = false;
    p->proto = 0;
    p->atr_len = 0;
    pthread_mutex_lock(&p->lock);
    if (p->have_ctx)
        (void)SCardReleaseContext(p->ctx);
    p->have_ctx = false;
    pthread_mutex_unlock(&p->lock);
}

static st_t pcsc_ensure_context(pcsc_priv_t *p) {
    LONG rv;
    st_t st = ST_OK;

    pthread_mutex_lock(&p->lock);
    if (p->have_ctx && SCardIsValidContext(p->ctx) != SCARD_S_SUCCESS) {
        (void)SCardReleaseContext(p->ctx);
        p->have_ctx = false;
    }
    if (!p->have_ctx) {
        rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
        if (rv == SCARD_S_SUCCESS)
            p->have_ctx = true;
        else
            st = st_from_pcsc(rv, "SCardEstablishContext");
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

static void pcsc_read_atr(pcsc_priv_t *p) {
    char name[MAX_READERNAME];
    DWORD name_len = sizeof(name), state = 0, proto = 0, atr_len = sizeof(p->atr);
    LONG rv = SCardStatus(p->h, name, &name_len, &state, &proto, p->atr, &atr_len);

    p->atr_len = rv == SCARD_S_SUCCESS && atr_len <= sizeof(p->atr) ? atr_len : 0;
}

static st_t pcsc_check_proto(pcsc_priv_t *p) {
    if (p->proto != SCARD_PROTOCOL_T0 && p->proto != SCARD_PROTOCOL_T1) {
        st_log(ST_LOG_WARN, "pcsc: %s: unsupported protocol 0x%lX", p->reader,
               (unsigned long)p->proto);
        return ST_E_UNSUPPORTED;
    }
    return ST_OK;
}

static void pcsc_close(void *priv) {
    pcsc_priv_t *p = priv;

    if (!p->connected)
        return;
    /* Reset on the way out: an FPA authorisation (FF40) lives until the next reset, and no
     * other PC/SC client should inherit it. */
    (void)SCardDisconnect(p->h, SCARD_RESET_CARD);
    p->connected = false;
    p->proto = 0;
    p->atr_len = 0;
}

static st_t pcsc_open(void *priv, const char *reader) {
    pcsc_priv_t *p = priv;
    LONG rv = SCARD_S_SUCCESS;
    st_t st;

    if (strlen(reader) >= sizeof(p->reader))
        return ST_E_INVAL;
    pcsc_close(p);
    snprintf(p->reader, sizeof(p->reader), "%s", reader);
    /* Two attempts: the first may find a context left over from a pcscd that has exited. */
    for (int attempt = 0; attempt < 2; attempt++) {
        st = pcsc_ensure_context(p);
        if (st != ST_OK)
            return st;
        rv = SCardConnect(p->ctx, reader, SCARD_SHARE_EXCLUSIVE,
                          SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->h, &p->proto);
        if (!pcsc_service_lost(rv))
            break;
        pcsc_drop_context(p);
    }
    if (rv != SCARD_S_SUCCESS)
        return st_from_pcsc(rv, "SCardConnect");
    p->connected = true;
    st = pcsc_check_proto(p);
    if (st != ST_OK) {
        pcsc_close(p);
        return st;
    }
    pcsc_read_atr(p);
    st_log(ST_LOG_DEBUG, "pcsc: %s: connected, T=%d", reader,
           p->proto == SCARD_PROTOCOL_T0 ? 0 : 1);
    return ST_OK;
}

static st_t pcsc_transmit(void *priv, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                          size_t *rlen) {
    pcsc_priv_t *p = priv;
    const SCARD_IO_REQUEST *pci;
    DWORD n = (DWORD)rcap;
    LONG rv;
    st_t st;

    if (!p->connected)
        return ST_E_STATE;
    pci = p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    rv = SCardTransmit(p->h, pci, c, (DWORD)clen, NULL, r, &n);
    if (rv == SCARD_S_SUCCESS) {
        *rlen = n;
        return ST_OK;
    }
    if (rv == SCARD_W_RESET_CARD) {
        /* Someone reset the card: our channel and ISD-R selection are gone. Take the card
         * back as it is and let the upper layer reopen (OpenSC pcsc_internal_transmit). */
        LONG rv2 =
            SCardReconnect(p->h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                           SCARD_LEAVE_CARD, &p->proto);
        (void)st_from_pcsc(rv, "SCardTransmit");
        if (rv2 != SCARD_S_SUCCESS) {
            st = st_from_pcsc(rv2, "SCardReconnect");
            if (pcsc_reader_gone(rv2)) {
                pcsc_close(p);
                return ST_E_CARD_REMOVED;
            }
            return st;
        }
        pcsc_read_atr(p);
        return ST_E_CARD_RESET;
    }
    st = st_from_pcsc(rv, "SCardTransmit");
    if (pcsc_reader_gone(rv)) {
        p->connected = false;
        (void)SCardDisconnect(p->h, SCARD_LEAVE_CARD);
        return ST_E_CARD_REMOVED;
    }
    if (pcsc_service_lost(rv))
        pcsc_drop_context(p);
    return st;
}

static st_t pcsc_reset(void *priv) {
    pcsc_priv_t *p = priv;
    LONG rv;
    st_t st;

    if (!p->connected)
        return ST_E_STATE;
    /* SCARD_RESET_CARD is the warm reset; the reconnect is part of the same call. */
    rv = SCardReconnect(p->h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                        SCARD_RESET_CARD, &p->proto);
    if (rv != SCARD_S_SUCCESS) {
        st = st_from_pcsc(rv, "SCardReconnect");
        if (pcsc_reader_gone(rv)) {
            pcsc_close(p);
            return ST_E_CARD_REMOVED;
        }
        if (pcsc_service_lost(rv))
            pcsc_drop_context(p);
        return st;
    }
    pcsc_read_atr(p);
    return pcsc_check_proto(p);
}

static uint64_t now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static st_t pcsc_wait_event(void *priv, const char *reader, transport_wait_t what,
                            unsigned timeout_ms) {
    pcsc_priv_t *p = priv;
    SCARD_READERSTATE rs;
    uint64_t deadline = now_ms() + timeout_ms;
    DWORD wait_ms = 0; /* first call: UNAWARE, answers at once with the current state */
    LONG rv;
    st_t st;

    if (!reader)
        reader = p->reader;
    if (!reader[0])
        return ST_E_INVAL;
    st = pcsc_ensure_context(p);
    if (st != ST_OK)
        return st;
    memset(&rs, 0, sizeof(rs));
    rs.szReader = reader;
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    for (;;) {
        rv = SCardGetStatusChange(p->ctx, wait_ms, &rs, 1);
        if (rv != SCARD_S_SUCCESS) {
            st = st_from_pcsc(rv, "SCardGetStatusChange");
            if (pcsc_service_lost(rv))
                pcsc_drop_context(p);
            return st;
        }
        if (rs.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE))
            return what == TRANSPORT_WAIT_REMOVED ? ST_OK : ST_E_NO_READER;
        if (what == TRANSPORT_WAIT_INSERTED && (rs.dwEventState & SCARD_STATE_PRESENT))
            return ST_OK;
        if (what == TRANSPORT_WAIT_REMOVED && !(rs.dwEventState & SCARD_STATE_PRESENT))
            return ST_OK;
        rs.dwCurrentState = rs.dwEventState;
        {
            uint64_t t = now_ms();
            if (t >= deadline)
                return ST_E_TIMEOUT;
            wait_ms = (DWORD)(deadline - t);
        }
    }
}

static st_t pcsc_cancel(void *priv) {
    pcsc_priv_t *p = priv;
    st_t st = ST_OK;

    pthread_mutex_lock(&p->lock);
    if (p->have_ctx) {
        LONG rv = SCardCancel(p->ctx);
        st = st_from_pcsc(rv, "SCardCancel");
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

static st_t pcsc_info(void *priv, transport_info_t *out) {
    pcsc_priv_t *p = priv;

    if (!p->connected) {
        out->proto = TRANSPORT_PROTO_NONE;
        return ST_OK;
    }
    out->proto = p->proto == SCARD_PROTOCOL_T0 ? TRANSPORT_PROTO_T0 : TRANSPORT_PROTO_T1;
    memcpy(out->atr, p->atr, p->atr_len);
    out->atr_len = p->atr_len;
    return ST_OK;
}

static void pcsc_destroy(void *priv) {
    pcsc_priv_t *p = priv;

    if (!p)
        return;
    pcsc_close(p);
    if (p->have_ctx)
        (void)SCardReleaseContext(p->ctx);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static const transport_ops_t pcsc_ops = {
    .name = "pcsc",
    .open = pcsc_open,
    .close = pcsc_close,
    .transmit = pcsc_transmit,
    .reset = pcsc_reset,
    .wait_event = pcsc_wait_event,
    .cancel = pcsc_cancel,
    .info = pcsc_info,
    .destroy = pcsc_destroy,
};

st_t transport_pcsc_new(transport_t **out) {
    pcsc_priv_t *p = NULL;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return ST_E_NOMEM;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return ST_E_NOMEM;
    }
    return transport_new(&pcsc_ops, p, out);
}

/* ------------------------------------------------------------------ reader list */

/* Splits a PC/SC multi-string into names[0..cap); *total counts them all. */
static void split_multistring(const char *ms, DWORD len, char (*names)[MAX_READERNAME], size_t cap,
                              size_t *total) {
    size_t n = 0;
    const char *q = ms, *end = ms + len;

    while (q < end && *q) {
        size_t l = strnlen(q, (size_t)(end - q));
        if (n < cap)
            snprintf(names[n], MAX_READERNAME, "%.*s", (int)l, q);
        n++;
        q += l + 1;
    }
    *total = n;
}

static st_t pcsc_list_ctx(SCARDCONTEXT ctx, char (*names)[MAX_READERNAME], size_t cap,
                          size_t *total) {
    char *ms = NULL;
    DWORD len = SCARD_AUTOALLOCATE;
    LONG rv;

    *total = 0;
    rv = SCardListReaders(ctx, NULL, (LPSTR)&ms, &len);
    if (rv == SCARD_E_NO_READERS_AVAILABLE)
        return ST_OK;
    if (rv != SCARD_S_SUCCESS)
        return st_from_pcsc(rv, "SCardListReaders");
    split_multistring(ms, len, names, cap, total);
    (void)SCardFreeMemory(ctx, ms);
    return ST_OK;
}

void transport_reader_list_free(char **names, size_t n) {
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

st_t transport_pcsc_list_readers(char ***names_out, size_t *n_out) {
    SCARDCONTEXT ctx;
    char(*names)[MAX_READERNAME] = NULL;
    char **list = NULL;
    size_t total = 0, n = 0;
    LONG rv;
    st_t st;

    if (!names_out || !n_out)
        return ST_E_INVAL;
    *names_out = NULL;
    *n_out = 0;
    rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS)
        return st_from_pcsc(rv, "SCardEstablishContext");
    /* Room for more than pcsc-lite 1.9.9 can have, so that an over-full pcscd is visible. */
    names = calloc(4 * MONITOR_MAX_READERS, sizeof(*names));
    if (!names) {
        st = ST_E_NOMEM;
        goto out;
    }
    st = pcsc_list_ctx(ctx, names, 4 * MONITOR_MAX_READERS, &total);
    if (st != ST_OK)
        goto out;
    if (total > 4 * MONITOR_MAX_READERS)
        total = 4 * MONITOR_MAX_READERS;
    list = calloc(total ? total : 1, sizeof(*list));
    if (!list) {
        st = ST_E_NOMEM;
        goto out;
    }
    for (n = 0; n < total; n++) {
        list[n] = strdup(names[n]);
        if (!list[n]) {
            st = ST_E_NOMEM;
            goto out;
        }
    }
    *names_out = list;
    *n_out = n;
    list = NULL;
out:
    transport_reader_list_free(list, n);
    free(names);
    (void)SCardReleaseContext(ctx);
    return st;
}

/* ------------------------------------------------------------------ monitor backend */

typedef struct {
    SCARDCONTEXT ctx;
} mon_ctx_t;

static st_t mon_establish(void **out) {
    mon_ctx_t *c = calloc(1, sizeof(*c));
    LONG rv;

    *out = NULL;
    if (!c)
        return ST_E_NOMEM;
    rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->ctx);
    if (rv != SCARD_S_SUCCESS) {
        free(c);
        return st_from_pcsc(rv, "SCardEstablishContext");
    }
    *out = c;
    return ST_OK;
}

static void mon_release(void *ctx) {
    mon_ctx_t *c = ctx;

    if (!c)
        return;
    (void)SCardReleaseContext(c->ctx);
    free(c);
}

static st_t mon_list(void *ctx, char (*names)[MONITOR_NAME_MAX], size_t cap, size_t *total) {
    return pcsc_list_ctx(((mon_ctx_t *)ctx)->ctx, names, cap, total);
}

static st_t mon_wait(void *ctx, monitor_wait_entry_t *e, size_t n, unsigned timeout_ms) {
    SCARD_READERSTATE rs[MONITOR_MAX_READERS + 1];
    LONG rv;

    if (n > MONITOR_MAX_READERS + 1)
        return ST_E_READER_LIMIT;
    memset(rs, 0, sizeof(rs));
    for (size_t i = 0; i < n; i++) {
        rs[i].szReader = e[i].name;
        rs[i].dwCurrentState = e[i].current;
    }
    rv = SCardGetStatusChange(((mon_ctx_t *)ctx)->ctx, timeout_ms, rs, (DWORD)n);
    if (rv != SCARD_S_SUCCESS)
        return rv == SCARD_E_TIMEOUT ? ST_E_TIMEOUT : st_from_pcsc(rv, "SCardGetStatusChange");
    for (size_t i = 0; i < n; i++)
        e[i].event = (uint32_t)rs[i].dwEventState;
    return ST_OK;
}

static st_t mon_cancel(void *ctx) {
    return st_from_pcsc(SCardCancel(((mon_ctx_t *)ctx)->ctx), "SCardCancel");
}

static const monitor_backend_t mon_backend = {
    .establish = mon_establish,
    .release = mon_release,
    .list = mon_list,
    .wait = mon_wait,
    .cancel = mon_cancel,
};

const monitor_backend_t *monitor_pcsc_backend(void) {
    return &mon_backend;
}
