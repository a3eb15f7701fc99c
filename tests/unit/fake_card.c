/* fake_card.c - scripted fake transport for the unit tests (see fake_card.h). */
#include "fake_card.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

typedef struct {
    int16_t *pat; /* byte value, or -1 for "??" */
    size_t pat_len;
    bool rest_any; /* trailing "*" */
    uint8_t *resp;
    size_t resp_len;
    st_t fail; /* ST_OK: answer resp */
} fake_step_t;

struct fake_card {
    transport_proto_t proto;
    bool open;
    fake_step_t *steps;
    size_t n, cap, next;
    size_t received;
    size_t resets;
    char *error;
    bool bad_script; /* a pattern could not be parsed */
    bool removed;    /* a scripted ST_E_CARD_REMOVED happened: everything fails so */
    uint8_t last[TRANSPORT_MAX_CAPDU];
    size_t last_len;
};

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses a pattern; false on malformed hex. */
static bool parse_pattern(const char *s, fake_step_t *st) {
    size_t cap = strlen(s) / 2 + 1;

    st->pat = calloc(cap, sizeof(*st->pat));
    st->pat_len = 0;
    st->rest_any = false;
    if (!st->pat)
        return false;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (*s == '*') {
            st->rest_any = true;
            s++;
            while (*s == ' ')
                s++;
            return *s == '\0';
        }
        if (s[0] == '?' && s[1] == '?') {
            st->pat[st->pat_len++] = -1;
            s += 2;
            continue;
        }
        if (hexval(s[0]) < 0 || !s[1] || hexval(s[1]) < 0)
            return false;
        st->pat[st->pat_len++] = (int16_t)(hexval(s[0]) << 4 | hexval(s[1]));
        s += 2;
    }
    return true;
}

static fake_step_t *add_step(fake_card_t *fc) {
    if (fc->n == fc->cap) {
        size_t ncap = fc->cap ? 2 * fc->cap : 16;
        fake_step_t *ns = realloc(fc->steps, ncap * sizeof(*ns));
        if (!ns) {
            fc->bad_script = true;
            return NULL;
        }
        fc->steps = ns;
        fc->cap = ncap;
    }
    memset(&fc->steps[fc->n], 0, sizeof(fc->steps[fc->n]));
    return &fc->steps[fc->n++];
}

static void set_error(fake_card_t *fc, const char *what, const uint8_t *c, size_t clen) {
    char *hex = malloc(2 * clen + 1);
    size_t len;

    if (fc->error)
        return;
    if (hex)
        hex_encode(c, clen, hex);
    len = strlen(what) + (hex ? strlen(hex) : 0) + 64;
    fc->error = malloc(len);
    if (fc->error)
        snprintf(fc->error, len, "APDU #%zu %s: %s", fc->received, what, hex ? hex : "?");
    fprintf(stderr, "\nfake_card: %s\n", fc->error ? fc->error : what);
    free(hex);
}

void fake_card_expect(fake_card_t *fc, const char *capdu, const char *rapdu) {
    fake_step_t *st = add_step(fc);
    buf_t r = BUF_INIT;

    if (!st)
        return;
    if (!parse_pattern(capdu, st) || hex_decode(rapdu, &r) != ST_OK) {
        fprintf(stderr, "fake_card: bad script line '%s' -> '%s'\n", capdu, rapdu);
        fc->bad_script = true;
    }
    st->resp = r.data;
    st->resp_len = r.len;
}

void fake_card_expect_bytes(fake_card_t *fc, const uint8_t *c, size_t clen, const uint8_t *r,
                            size_t rlen) {
    fake_step_t *st = add_step(fc);

    if (!st)
        return;
    st->pat = calloc(clen ? clen : 1, sizeof(*st->pat));
    st->resp = malloc(rlen ? rlen : 1);
    if (!st->pat || !st->resp) {
        fc->bad_script = true;
        return;
    }
    for (size_t i = 0; i < clen; i++)
        st->pat[i] = c[i];
    st->pat_len = clen;
    memcpy(st->resp, r, rlen);
    st->resp_len = rlen;
}

void fake_card_expect_fail(fake_card_t *fc, const char *capdu, st_t status) {
    fake_step_t *st = add_step(fc);

    if (!st)
        return;
    if (!parse_pattern(capdu, st)) {
        fprintf(stderr, "fake_card: bad script pattern '%s'\n", capdu);
        fc->bad_script = true;
    }
    st->fail = status;
}

static bool matches(const fake_step_t *st, const uint8_t *c, size_t clen) {
    if (clen < st->pat_len || (!st->rest_any && clen != st->pat_len))
        return false;
    for (size_t i = 0; i < st->pat_len; i++)
        if (st->pat[i] >= 0 && st->pat[i] != c[i])
            return false;
    return true;
}

static void free_steps(fake_card_t *fc) {
    for (size_t i = 0; i < fc->n; i++) {
        free(fc->steps[i].pat);
        free(fc->steps[i].resp);
    }
    fc->n = 0;
    fc->next = 0;
}

/* ---- ops ---- */

static st_t fake_open(void *priv, const char *reader) {
    fake_card_t *fc = priv;

    (void)reader;
    fc->open = true;
    return ST_OK;
}

static void fake_close(void *priv) {
    ((fake_card_t *)priv)->open = false;
}

static st_t fake_transmit(void *priv, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                          size_t *rlen) {
    fake_card_t *fc = priv;
    fake_step_t *st;

    fc->received++;
    memcpy(fc->last, c, clen);
    fc->last_len = clen;
    if (fc->error)
        return ST_E_INTERNAL;
    if (fc->removed)
        return ST_E_CARD_REMOVED;
    if (!fc->open) {
        set_error(fc, "sent on a closed transport", c, clen);
        return ST_E_INTERNAL;
    }
    if (fc->next >= fc->n) {
        set_error(fc, "after the end of the script", c, clen);
        return ST_E_INTERNAL;
    }
    st = &fc->steps[fc->next];
    if (!matches(st, c, clen)) {
        char what[64 + 2 * TRANSPORT_MAX_CAPDU];
        size_t k = 0;
        k += (size_t)snprintf(what, sizeof(what), "mismatch (step %zu wants ", fc->next);
        for (size_t i = 0; i < st->pat_len && k + 3 < sizeof(what); i++) {
            if (st->pat[i] < 0)
                k += (size_t)snprintf(what + k, sizeof(what) - k, "??");
            else
                k += (size_t)snprintf(what + k, sizeof(what) - k, "%02X", (unsigned)st->pat[i]);
        }
        snprintf(what + k, sizeof(what) - k, "%s) got", st->rest_any ? "*" : "");
        set_error(fc, what, c, clen);
        return ST_E_INTERNAL;
    }
    fc->next++;
    if (st->fail != ST_OK) {
        if (st->fail == ST_E_CARD_REMOVED)
            fc->removed = true;
        return st->fail;
    }
    if (st->resp_len > rcap) {
        set_error(fc, "scripted response larger than the receive buffer", c, clen);
        return ST_E_INTERNAL;
    }
    if (st->resp_len)
        memcpy(r, st->resp, st->resp_len);
    *rlen = st->resp_len;
    return ST_OK;
}

static st_t fake_reset(void *priv) {
    ((fake_card_t *)priv)->resets++;
    return ST_OK;
}

static st_t fake_wait_event(void *priv, const char *reader, transport_wait_t what,
                            unsigned timeout_ms) {
    (void)priv;
    (void)reader;
    (void)what;
    (void)timeout_ms;
    return ST_OK;
}

static st_t fake_info(void *priv, transport_info_t *out) {
    static const uint8_t atr[] = {0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7};
    fake_card_t *fc = priv;

    out->proto = fc->open ? fc->proto : TRANSPORT_PROTO_NONE;
    memcpy(out->atr, atr, sizeof(atr));
    out->atr_len = sizeof(atr);
    return ST_OK;
}

static void fake_destroy(void *priv) {
    fake_card_t *fc = priv;

    if (!fc)
        return;
    free_steps(fc);
    free(fc->steps);
    free(fc->error);
    free(fc);
}

static const transport_ops_t fake_ops = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .transmit = fake_transmit,
    .reset = fake_reset,
    .wait_event = fake_wait_event,
    .cancel = NULL,
    .info = fake_info,
    .destroy = fake_destroy,
};

st_t fake_card_new(transport_proto_t proto, fake_card_t **out, transport_t **t) {
    fake_card_t *fc;
    st_t st;

    *out = NULL;
    *t = NULL;
    fc = calloc(1, sizeof(*fc));
    if (!fc)
        return ST_E_NOMEM;
    fc->proto = proto;
    st = transport_new(&fake_ops, fc, t);
    if (st != ST_OK)
        return st; /* fc destroyed by transport_new */
    st = transport_open(*t, "fake 00 00");
    if (st != ST_OK) {
        transport_free(*t);
        *t = NULL;
        return st;
    }
    *out = fc;
    return ST_OK;
}

size_t fake_card_pending(const fake_card_t *fc) {
    return fc->n - fc->next;
}

size_t fake_card_received(const fake_card_t *fc) {
    return fc->received;
}

const char *fake_card_error(const fake_card_t *fc) {
    return fc->error;
}

bool fake_card_done(const fake_card_t *fc) {
    if (fc->bad_script) {
        fprintf(stderr, "\nfake_card: the script itself is malformed\n");
        return false;
    }
    if (fc->error)
        return false;
    if (fc->next != fc->n) {
        fprintf(stderr, "\nfake_card: %zu scripted exchanges not consumed (next is step %zu)\n",
                fc->n - fc->next, fc->next);
        return false;
    }
    return true;
}

void fake_card_reset_script(fake_card_t *fc) {
    free_steps(fc);
    free(fc->error);
    fc->error = NULL;
    fc->bad_script = false;
    fc->removed = false;
    fc->open = true;
}

const uint8_t *fake_card_last(const fake_card_t *fc, size_t *len) {
    *len = fc->last_len;
    return fc->last;
}

size_t fake_card_resets(const fake_card_t *fc) {
    return fc->resets;
}
