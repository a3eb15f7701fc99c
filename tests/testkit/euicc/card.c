/*
 * card.c - ISO/IEC 7816-4 layer of the simulated eUICC: ATR, CLA and logical channels,
 * MANAGE CHANNEL, SELECT (ISD-R), TERMINAL CAPABILITY, GP STORE DATA reassembly and
 * GET RESPONSE (research §4.1/§4.2; DESIGN §7).
 *
 * Response delivery, like a card behind a T=1 reader:
 *   - a command sent with Le (case 2/4) gets up to Le bytes with 9000, or 61xx when more remain;
 *   - a command without Le (case 1/3) that has response data gets 61xx (xx = length, 00 for
 *     256 or more) and the data through GET RESPONSE (CLA 00|ch or 80|ch both accepted);
 *   - the t0_only knob forces the second path for every response (a T=0 card).
 * A pending response lives on its channel until the next command on that channel.
 */
#include "card_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "tlv/tlv.h"

const uint8_t CARD_DEFAULT_ISDR_AID[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                           0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

/*
 * ATR: TS 3B, T0 9F (TA1, TD1; 15 historical bytes), TA1 96 (Fi/Di 512/32), TD1 80 (T=0, TD2),
 * TD2 B1 (T=1; TA3, TB3, TD3), TA3 FE (IFSC 254), TB3 45 (BWI 4, CWI 5), TD3 1F (T=15, TA4),
 * TA4 C7 (clock stop, classes A/B/C), historical bytes of a typical eUICC, TCK.
 */
static const uint8_t atr_body[] = {0x3B, 0x9F, 0x96, 0x80, 0xB1, 0xFE, 0x45, 0x1F,
                                   0xC7, 0x80, 0x31, 0xE0, 0x73, 0xFE, 0x21, 0x1B,
                                   0x63, 0x3A, 0x20, 0x4E, 0x83, 0x00, 0x90, 0x00};

void card_opts_default(card_opts_t *o) {
    memset(o, 0, sizeof(*o));
    memcpy(o->isdr_aid, CARD_DEFAULT_ISDR_AID, sizeof(CARD_DEFAULT_ISDR_AID));
    o->isdr_aid_len = sizeof(CARD_DEFAULT_ISDR_AID);
    o->max_block = 255;
    o->t0_only = false;
}

size_t card_atr(const card_t *c, uint8_t out[CARD_MAX_ATR]) {
    uint8_t tck = 0;
    (void)c;
    memcpy(out, atr_body, sizeof(atr_body));
    for (size_t i = 1; i < sizeof(atr_body); i++) /* TCK: XOR of T0 .. last historical byte */
        tck ^= atr_body[i];
    out[sizeof(atr_body)] = tck;
    return sizeof(atr_body) + 1;
}

static void channel_clear(card_channel_t *ch) {
    buf_wipe_free(&ch->cmd);
    buf_free(&ch->resp);
    memset(ch, 0, sizeof(*ch));
}

/* Every power event: the volatile state of a card goes, its NVM (state) stays. */
static void card_volatile_reset(card_t *c) {
    card_bpp_interrupt(c);
    for (size_t i = 0; i < CARD_MAX_CHANNELS; i++)
        channel_clear(&c->ch[i]);
    c->ch[0].open = true; /* the basic channel always exists; nothing is selected on it */
    card_es10_reset(c);
}

st_t card_new(card_state_t *state, const card_opts_t *opts, card_t **out) {
    card_t *c;
    *out = NULL;
    if (!state)
        return ST_E_INVAL;
    c = calloc(1, sizeof(*c));
    if (!c) {
        card_state_free(state);
        return ST_E_NOMEM;
    }
    c->st = state;
    if (opts)
        c->opts = *opts;
    else
        card_opts_default(&c->opts);
    if (c->opts.max_block < 1 || c->opts.max_block > 255 || c->opts.isdr_aid_len < 5
        || c->opts.isdr_aid_len > 16) {
        card_free(c);
        return ST_E_INVAL;
    }
    c->ch[0].open = true;
    *out = c;
    return ST_OK;
}

void card_free(card_t *c) {
    if (!c)
        return;
    for (size_t i = 0; i < CARD_MAX_CHANNELS; i++)
        channel_clear(&c->ch[i]);
    card_bpp_session_clear(&c->bpp);
    card_es10_reset(c);
    card_state_free(c->st);
    free(c);
}

void card_power_on(card_t *c) {
    card_volatile_reset(c);
    c->powered = true;
}

void card_power_off(card_t *c) {
    card_volatile_reset(c);
    c->powered = false;
}

void card_reset(card_t *c) {
    card_volatile_reset(c);
    c->powered = true;
}

card_state_t *card_get_state(card_t *c) {
    return c->st;
}

void card_set_plain_hook(card_t *c, card_plain_hook_fn fn, void *ud) {
    c->plain_hook = fn;
    c->plain_ud = ud;
}

st_t card_save(card_t *c) {
    return card_state_save(c->st);
}

/* ---- APDU decoding ---- */

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    bool has_le;
    size_t le; /* 1..256 */
    unsigned chan;
    bool proprietary; /* CLA b8 */
} apdu_t;

static st_t put_sw(buf_t *r, uint16_t sw) {
    uint8_t b[2] = {(uint8_t)(sw >> 8), (uint8_t)sw};
    return buf_append(r, b, 2);
}

/* Short APDUs only (ISO 7816-3 §12.1.3); extended ones are refused with 6700. */
static uint16_t apdu_parse(const uint8_t *p, size_t n, apdu_t *a) {
    memset(a, 0, sizeof(*a));
    if (n < 4)
        return SW_WRONG_LENGTH;
    a->cla = p[0];
    a->ins = p[1];
    a->p1 = p[2];
    a->p2 = p[3];
    if (n == 5) {
        a->has_le = true;
        a->le = p[4] ? p[4] : 256;
    } else if (n > 5) {
        a->lc = p[4];
        if (a->lc == 0)
            return SW_WRONG_LENGTH; /* extended length */
        if (n == 5 + a->lc) {
            a->data = p + 5;
        } else if (n == 6 + a->lc) {
            a->data = p + 5;
            a->has_le = true;
            a->le = p[5 + a->lc] ? p[5 + a->lc] : 256;
        } else {
            return SW_WRONG_LENGTH;
        }
    }
    return SW_OK;
}

/*
 * CLA (ISO 7816-4 §5.4.1): first interindustry 0x0X / proprietary 0x8X with channels 0-3 in
 * b2-b1, SM in b4-b3, chaining in b5; further interindustry 0x4X / 0xCX with channels 4-19 in
 * b4-b1, SM in b6, chaining in b5.
 */
static uint16_t cla_decode(apdu_t *a) {
    uint8_t cla = a->cla;
    if (cla == 0xFF)
        return SW_CLA_NOT_SUPPORTED;
    a->proprietary = (cla & 0x80) != 0;
    if ((cla & 0x40) == 0) {
        if ((cla & 0x60) != 0)
            return SW_CLA_NOT_SUPPORTED;
        if (cla & 0x10)
            return SW_CHAINING_NOT_SUPPORTED;
        if (cla & 0x0C)
            return SW_SM_NOT_SUPPORTED;
        a->chan = cla & 0x03;
    } else {
        if (cla & 0x10)
            return SW_CHAINING_NOT_SUPPORTED;
        if (cla & 0x20)
            return SW_SM_NOT_SUPPORTED;
        a->chan = 4 + (cla & 0x0F);
    }
    return SW_OK;
}

/* Queues data on the channel and answers per the delivery rules at the top of the file. */
static st_t respond(card_t *c, card_channel_t *ch, const apdu_t *a, const uint8_t *data, size_t n,
                    uint16_t sw, buf_t *r) {
    size_t now;
    st_t st;

    buf_reset(&ch->resp);
    ch->resp_off = 0;
    if (n == 0)
        return put_sw(r, sw);
    if ((st = buf_append(&ch->resp, data, n)) != ST_OK)
        return st;
    if (c->opts.t0_only || !a->has_le)
        return put_sw(r, (uint16_t)(0x6100 | (n >= 256 ? 0 : n)));
    now = n < a->le ? n : a->le;
    if ((st = buf_append(r, data, now)) != ST_OK)
        return st;
    ch->resp_off = now;
    if (now < n) {
        size_t left = n - now;
        return put_sw(r, (uint16_t)(0x6100 | (left >= 256 ? 0 : left)));
    }
    buf_reset(&ch->resp);
    return put_sw(r, sw);
}

static st_t do_get_response(card_t *c, card_channel_t *ch, const apdu_t *a, buf_t *r) {
    size_t left = ch->resp.len - ch->resp_off, now;
    st_t st;
    if (a->p1 || a->p2)
        return put_sw(r, SW_WRONG_P1P2);
    if (a->lc)
        return put_sw(r, SW_WRONG_LENGTH);
    if (ch->resp.len == 0 || left == 0)
        return put_sw(r, SW_CONDITIONS);
    now = a->has_le ? a->le : 256;
    if (now > left)
        now = left;
    if ((st = buf_append(r, ch->resp.data + ch->resp_off, now)) != ST_OK)
        return st;
    ch->resp_off += now;
    left -= now;
    if (left) {
        return put_sw(r, (uint16_t)(0x6100 | (left >= 256 ? 0 : left)));
    }
    buf_reset(&ch->resp);
    ch->resp_off = 0;
    (void)c;
    return put_sw(r, SW_OK);
}

/* MANAGE CHANNEL (ISO 7816-4 §11.1.2): open (P1 00; P2 00 = card assigns) and close (P1 80). */
static st_t do_manage_channel(card_t *c, const apdu_t *a, buf_t *r) {
    if (a->lc)
        return put_sw(r, SW_WRONG_LENGTH);
    if (a->p1 == 0x00) {
        unsigned n = a->p2;
        if (n == 0) {
            for (n = 1; n < CARD_MAX_CHANNELS && c->ch[n].open; n++)
                ;
            if (n >= CARD_MAX_CHANNELS)
                return put_sw(r, SW_FUNC_NOT_SUPPORTED); /* no channel left */
        } else if (n >= CARD_MAX_CHANNELS || c->ch[n].open) {
            return put_sw(r, SW_WRONG_P1P2);
        }
        channel_clear(&c->ch[n]);
        c->ch[n].open = true;
        /* opened from a logical channel: inherits its selection (ISO 7816-4 §11.1.2) */
        if (a->chan != 0)
            c->ch[n].isdr_selected = c->ch[a->chan].isdr_selected;
        if (a->p2 == 0) {
            uint8_t b = (uint8_t)n;
            st_t st = buf_append(r, &b, 1);
            return st != ST_OK ? st : put_sw(r, SW_OK);
        }
        return put_sw(r, SW_OK);
    }
    if (a->p1 == 0x80) {
        if (a->p2 == 0 || a->p2 >= CARD_MAX_CHANNELS || !c->ch[a->p2].open)
            return put_sw(r, SW_WRONG_P1P2);
        channel_clear(&c->ch[a->p2]);
        return put_sw(r, SW_OK);
    }
    return put_sw(r, SW_WRONG_P1P2);
}

/* FCI of the ISD-R (GP Card Spec §11.9.3.1): 6F { 84 AID, A5 { 9F65 max command length } }. */
static st_t build_fci(const card_t *c, buf_t *out) {
    tlv_writer_t *w = tlv_writer_new();
    static const uint8_t max_cmd[] = {0xFF};
    st_t st;
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, 0x6F);
    tlv_w_put(w, 0x84, c->opts.isdr_aid, c->opts.isdr_aid_len);
    tlv_w_begin(w, 0xA5);
    tlv_w_put(w, 0x9F65, max_cmd, sizeof(max_cmd));
    tlv_w_end(w);
    tlv_w_end(w);
    st = tlv_w_finish(w, out);
    tlv_writer_free(w);
    return st;
}

/* SELECT by DF name (P1 04), first/only occurrence; partial (prefix) AIDs match too. */
static st_t do_select(card_t *c, card_channel_t *ch, const apdu_t *a, buf_t *r) {
    buf_t fci = BUF_INIT;
    st_t st;
    if (a->p1 != 0x04)
        return put_sw(r, SW_NOT_FOUND); /* no file system on this card */
    if (a->p2 != 0x00 && a->p2 != 0x04 && a->p2 != 0x0C)
        return put_sw(r, SW_WRONG_P1P2);
    if (a->lc < 5 || a->lc > 16)
        return put_sw(r, SW_NOT_FOUND);
    if (a->lc > c->opts.isdr_aid_len || memcmp(a->data, c->opts.isdr_aid, a->lc))
        return put_sw(r, SW_NOT_FOUND);
    ch->isdr_selected = true;
    ch->in_sequence = false;
    buf_reset(&ch->cmd);
    if (a->p2 == 0x0C)
        return put_sw(r, SW_OK);
    if ((st = build_fci(c, &fci)) == ST_OK)
        st = respond(c, ch, a, fci.data, fci.len, SW_OK, r);
    buf_free(&fci);
    return st;
}

/*
 * GP STORE DATA carrying ES10 (research §4.2): P1 11 = more blocks, 91 = last block, P2 = block
 * number from 00 per command; Le absent or 00. P2 00 always starts a new command; any other
 * unexpected P2 aborts the sequence (6A86).
 */
static st_t do_store_data(card_t *c, card_channel_t *ch, const apdu_t *a, buf_t *r) {
    buf_t resp = BUF_INIT;
    uint16_t sw = SW_OK;
    st_t st;

    if (!ch->isdr_selected)
        return put_sw(r, SW_CONDITIONS);
    if (a->p1 != 0x11 && a->p1 != 0x91)
        return put_sw(r, SW_WRONG_P1P2);
    if (a->lc == 0 || a->lc > c->opts.max_block || (a->has_le && a->le != 256)) {
        ch->in_sequence = false;
        buf_wipe_free(&ch->cmd);
        return put_sw(r, SW_WRONG_LENGTH);
    }
    if (a->p2 == 0) {
        buf_wipe_free(&ch->cmd);
        ch->in_sequence = true;
        ch->next_block = 0;
    } else if (!ch->in_sequence || a->p2 != ch->next_block) {
        ch->in_sequence = false;
        buf_wipe_free(&ch->cmd);
        return put_sw(r, SW_WRONG_P1P2);
    }
    if (ch->cmd.len + a->lc > CARD_MAX_COMMAND) {
        ch->in_sequence = false;
        buf_wipe_free(&ch->cmd);
        return put_sw(r, SW_NO_MEMORY);
    }
    if ((st = buf_append(&ch->cmd, a->data, a->lc)) != ST_OK)
        return st;
    ch->next_block++;
    if (a->p1 == 0x11) {
        if (ch->next_block > 255) { /* P2 cannot number a 257th block */
            ch->in_sequence = false;
            buf_wipe_free(&ch->cmd);
            return put_sw(r, SW_WRONG_P1P2);
        }
        return put_sw(r, SW_OK);
    }
    ch->in_sequence = false;
    st = card_es10_process(c, ch->cmd.data, ch->cmd.len, &resp, &sw);
    buf_wipe_free(&ch->cmd);
    if (st == ST_OK)
        st = respond(c, ch, a, resp.data, resp.len, sw, r);
    buf_free(&resp);
    return st;
}

static st_t dispatch(card_t *c, const uint8_t *capdu, size_t len, buf_t *r) {
    apdu_t a;
    card_channel_t *ch;
    uint16_t sw;

    if ((sw = apdu_parse(capdu, len, &a)) != SW_OK)
        return put_sw(r, sw);
    if ((sw = cla_decode(&a)) != SW_OK)
        return put_sw(r, sw);
    if (a.chan >= CARD_MAX_CHANNELS || !c->ch[a.chan].open)
        return put_sw(r, SW_CHANNEL_NOT_SUPPORTED);
    ch = &c->ch[a.chan];

    if (a.ins == 0xC0) /* GET RESPONSE: 00|ch (ISO) and 80|ch (lpac, euicc-go) */
        return do_get_response(c, ch, &a, r);
    buf_reset(&ch->resp); /* any other command drops a pending response */
    ch->resp_off = 0;

    switch (a.ins) {
    case 0x70:
        if (a.proprietary)
            return put_sw(r, SW_CLA_NOT_SUPPORTED);
        return do_manage_channel(c, &a, r);
    case 0xA4:
        if (a.proprietary)
            return put_sw(r, SW_CLA_NOT_SUPPORTED);
        return do_select(c, ch, &a, r);
    case 0xAA: /* TERMINAL CAPABILITY (ETSI TS 102 221 §11.1.19) */
        if (!a.proprietary)
            return put_sw(r, SW_CLA_NOT_SUPPORTED);
        if (a.p1 || a.p2)
            return put_sw(r, SW_WRONG_P1P2);
        return put_sw(r, SW_OK);
    case 0xE2:
        if (!a.proprietary)
            return put_sw(r, SW_CLA_NOT_SUPPORTED);
        return do_store_data(c, ch, &a, r);
    default:
        return put_sw(r, SW_INS_NOT_SUPPORTED);
    }
}

st_t card_process_apdu(card_t *c, const uint8_t *capdu, size_t len, buf_t *rapdu) {
    size_t start = rapdu->len;
    st_t st;

    if (!c || (!capdu && len))
        return ST_E_INVAL;
    if (!c->powered) {
        /* vpcd powers the card before the first APDU; a direct caller may not */
        card_power_on(c);
    }
    st = dispatch(c, capdu, len, rapdu);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "euicc: internal error: %s", st_str(st));
        rapdu->len = start;
        put_sw(rapdu, SW_NO_DIAG);
    }
    return st;
}
