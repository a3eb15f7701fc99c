/* transport.c - the implementation-independent wrapper around a transport_ops_t. */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

struct transport {
    const transport_ops_t *ops;
    void *priv;
    transport_counters_t counters;
};

st_t transport_new(const transport_ops_t *ops, void *priv, transport_t **out) {
    transport_t *t = NULL;

    if (!out || !ops || !ops->open || !ops->transmit) {
        if (ops && ops->destroy)
            ops->destroy(priv);
        return ST_E_INVAL;
    }
    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (!t) {
        if (ops->destroy)
            ops->destroy(priv);
        return ST_E_NOMEM;
    }
    t->ops = ops;
    t->priv = priv;
    *out = t;
    return ST_OK;
}

void transport_free(transport_t *t) {
    if (!t)
        return;
    if (t->ops->close)
        t->ops->close(t->priv);
    if (t->ops->destroy)
        t->ops->destroy(t->priv);
    free(t);
}

void *transport_priv(const transport_t *t) {
    return t ? t->priv : NULL;
}

const char *transport_name(const transport_t *t) {
    return t && t->ops->name ? t->ops->name : "?";
}

st_t transport_open(transport_t *t, const char *reader) {
    if (!t || !reader)
        return ST_E_INVAL;
    return t->ops->open(t->priv, reader);
}

void transport_close(transport_t *t) {
    if (t && t->ops->close)
        t->ops->close(t->priv);
}

st_t transport_transmit(transport_t *t, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                        size_t *rlen) {
    st_t st;

    if (!t || !c || clen < 4 || clen > TRANSPORT_MAX_CAPDU || !r || !rlen)
        return ST_E_INVAL;
    *rlen = 0;
    t->counters.apdus++;
    t->counters.tx_bytes += clen;
    st = t->ops->transmit(t->priv, c, clen, r, rcap, rlen);
    if (st == ST_OK && (*rlen < 2 || *rlen > rcap)) {
        /* An R-APDU always ends with SW1 SW2; anything shorter is a broken reader/driver. */
        *rlen = 0;
        return ST_E_PROTO;
    }
    if (st == ST_OK)
        t->counters.rx_bytes += *rlen;
    return st;
}

st_t transport_reset(transport_t *t) {
    if (!t)
        return ST_E_INVAL;
    if (!t->ops->reset)
        return ST_E_UNSUPPORTED;
    return t->ops->reset(t->priv);
}

st_t transport_wait_event(transport_t *t, const char *reader, transport_wait_t what,
                          unsigned timeout_ms) {
    if (!t)
        return ST_E_INVAL;
    if (!t->ops->wait_event)
        return ST_E_UNSUPPORTED;
    return t->ops->wait_event(t->priv, reader, what, timeout_ms);
}

st_t transport_cancel(transport_t *t) {
    if (!t)
        return ST_E_INVAL;
    if (!t->ops->cancel)
        return ST_E_UNSUPPORTED;
    return t->ops->cancel(t->priv);
}

st_t transport_info(transport_t *t, transport_info_t *out) {
    if (!t || !out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    if (!t->ops->info)
        return ST_E_UNSUPPORTED;
    return t->ops->info(t->priv, out);
}

transport_proto_t transport_protocol(transport_t *t) {
    transport_info_t info;

    if (transport_info(t, &info) != ST_OK)
        return TRANSPORT_PROTO_NONE;
    return info.proto;
}

void transport_counters(const transport_t *t, transport_counters_t *out) {
    if (!out)
        return;
    if (!t) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = t->counters;
}
