/* apdu.c - ISO 7816-4 short APDUs: encoding, T=0 rules, 61xx/6Cxx, logical channels. */
#include "apdu.h"

#include <string.h>

#include "base/log.h"

#define INS_GET_RESPONSE        0xC0
#define INS_MANAGE_CHANNEL      0x70
#define INS_SELECT              0xA4
#define INS_TERMINAL_CAPABILITY 0xAA

void apdu_resp_free(apdu_resp_t *r) {
    if (!r)
        return;
    buf_free(&r->data);
    r->sw = 0;
}

bool apdu_sw_success(uint16_t sw) {
    return sw == APDU_SW_OK || (sw >> 8) == 0x91;
}

uint8_t apdu_cla(bool proprietary, unsigned channel) {
    uint8_t cla;

    if (channel <= 3)
        cla = (uint8_t)channel;
    else
        cla = (uint8_t)(0x40u | ((channel - 4u) & 0x0Fu));
    return proprietary ? (uint8_t)(cla | 0x80u) : cla;
}

unsigned apdu_cla_channel(uint8_t cla) {
    if (cla & 0x40u)
        return 4u + (cla & 0x0Fu);
    return cla & 0x03u;
}

st_t apdu_encode(const apdu_cmd_t *cmd, transport_proto_t proto, uint8_t *out, size_t *len) {
    size_t n = 0;

    if (!cmd || !out || !len || cmd->lc > APDU_MAX_LC || cmd->le > APDU_MAX_LE
        || (cmd->lc && !cmd->data))
        return ST_E_INVAL;
    out[n++] = cmd->cla;
    out[n++] = cmd->ins;
    out[n++] = cmd->p1;
    out[n++] = cmd->p2;
    if (cmd->lc) {
        out[n++] = (uint8_t)cmd->lc;
        memcpy(out + n, cmd->data, cmd->lc);
        n += cmd->lc;
    }
    /* Case 4 on T=0: the TPDU carries no Le; the card signals its data with 61xx. Case 2
     * keeps Le as P3. T=1 sends the APDU as it is. */
    if (cmd->le && !(cmd->lc && proto == TRANSPORT_PROTO_T0))
        out[n++] = (uint8_t)(cmd->le & 0xFFu); /* 256 -> 00 */
    *len = n;
    return ST_OK;
}

/* One exchange, traced. *sw is the SW; data (without SW) appended to `data` when non-NULL. */
static st_t apdu_exchange(transport_t *t, const apdu_cmd_t *cmd, buf_t *data, uint16_t *sw) {
    uint8_t c[TRANSPORT_MAX_CAPDU], r[TRANSPORT_MAX_RAPDU];
    size_t clen = 0, rlen = 0;
    st_t st;

    st = apdu_encode(cmd, transport_protocol(t), c, &clen);
    if (st != ST_OK)
        return st;
    st_log_hex(ST_LOG_TRACE, "C-APDU", c, clen);
    st = transport_transmit(t, c, clen, r, sizeof(r), &rlen);
    if (st != ST_OK) {
        st_log(ST_LOG_DEBUG, "apdu: transmit: %s", st_name(st));
        return st;
    }
    st_log_hex(ST_LOG_TRACE, "R-APDU", r, rlen);
    *sw = (uint16_t)((r[rlen - 2] << 8) | r[rlen - 1]);
    if (data && rlen > 2) {
        if (data->len + rlen - 2 > APDU_MAX_RESPONSE)
            return ST_E_TOO_LARGE;
        st = buf_append(data, r, rlen - 2);
    }
    return st;
}

/* Sends cmd; on 6Cxx sends it once more with Le = xx. Data of the final answer appended. */
static st_t apdu_exchange_6c(transport_t *t, const apdu_cmd_t *cmd, buf_t *data, uint16_t *sw) {
    apdu_cmd_t again;
    st_t st = apdu_exchange(t, cmd, data, sw);

    if (st != ST_OK || (*sw >> 8) != 0x6C)
        return st;
    /* Wrong Le: the card tells the exact length; one retry only (OpenSC NO_RETRY_WL). */
    again = *cmd;
    again.le = (*sw & 0xFFu) ? (*sw & 0xFFu) : 256u;
    st_log(ST_LOG_DEBUG, "apdu: SW %04X, resending once with Le=%zu", *sw, again.le);
    return apdu_exchange(t, &again, data, sw);
}

st_t apdu_transmit(transport_t *t, const apdu_cmd_t *cmd, apdu_resp_t *resp) {
    apdu_cmd_t gr;
    uint16_t sw = 0;
    size_t rounds = 0;
    st_t st;

    if (!t || !cmd || !resp)
        return ST_E_INVAL;
    buf_reset(&resp->data);
    resp->sw = 0;
    st = apdu_exchange_6c(t, cmd, &resp->data, &sw);
    memset(&gr, 0, sizeof(gr));
    gr.cla = apdu_cla(false, apdu_cla_channel(cmd->cla));
    gr.ins = INS_GET_RESPONSE;
    while (st == ST_OK && (sw >> 8) == 0x61) {
        size_t before = resp->data.len;
        /* Bounded: each round must bring data or the card is looping. */
        if (++rounds > APDU_MAX_RESPONSE / 256u + 1u)
            return ST_E_TOO_LARGE;
        gr.le = (sw & 0xFFu) ? (sw & 0xFFu) : 256u;
        st = apdu_exchange_6c(t, &gr, &resp->data, &sw);
        if (st == ST_OK && (sw >> 8) == 0x61 && resp->data.len == before) {
            st_log(ST_LOG_WARN, "apdu: GET RESPONSE brought no data and SW %04X again", sw);
            return ST_E_PROTO;
        }
    }
    if (st != ST_OK)
        return st;
    resp->sw = sw;
    return ST_OK;
}

st_t apdu_manage_channel_open(transport_t *t, unsigned *channel, uint16_t *sw) {
    apdu_cmd_t cmd = {0x00, INS_MANAGE_CHANNEL, 0x00, 0x00, NULL, 0, 1};
    apdu_resp_t resp = APDU_RESP_INIT;
    st_t st;

    if (!channel || !sw)
        return ST_E_INVAL;
    *channel = 0;
    *sw = 0;
    st = apdu_transmit(t, &cmd, &resp);
    if (st != ST_OK)
        goto out;
    *sw = resp.sw;
    if (resp.sw != APDU_SW_OK) {
        st = ST_E_CARD_SW;
        goto out;
    }
    if (resp.data.len != 1 || resp.data.data[0] == 0 || resp.data.data[0] > APDU_MAX_CHANNEL) {
        st_log(ST_LOG_WARN, "apdu: MANAGE CHANNEL open answered %zu bytes", resp.data.len);
        st = ST_E_PROTO;
        goto out;
    }
    *channel = resp.data.data[0];
out:
    apdu_resp_free(&resp);
    return st;
}

st_t apdu_manage_channel_close(transport_t *t, unsigned channel, uint16_t *sw) {
    apdu_cmd_t cmd = {0x00, INS_MANAGE_CHANNEL, 0x80, (uint8_t)channel, NULL, 0, 0};
    apdu_resp_t resp = APDU_RESP_INIT;
    st_t st;

    if (!sw || channel == 0 || channel > APDU_MAX_CHANNEL)
        return ST_E_INVAL;
    *sw = 0;
    st = apdu_transmit(t, &cmd, &resp);
    if (st == ST_OK) {
        *sw = resp.sw;
        if (resp.sw != APDU_SW_OK)
            st = ST_E_CARD_SW;
    }
    apdu_resp_free(&resp);
    return st;
}

st_t apdu_select_aid(transport_t *t, unsigned channel, const uint8_t *aid, size_t aid_len,
                     apdu_resp_t *fci) {
    apdu_cmd_t cmd;
    st_t st;

    /* ISO 7816-4: a DF name is 1..16 bytes. */
    if (!fci || !aid || aid_len == 0 || aid_len > 16 || channel > APDU_MAX_CHANNEL)
        return ST_E_INVAL;
    cmd.cla = apdu_cla(false, channel);
    cmd.ins = INS_SELECT;
    cmd.p1 = 0x04; /* by DF name */
    cmd.p2 = 0x00; /* first or only occurrence, return FCI */
    cmd.data = aid;
    cmd.lc = aid_len;
    cmd.le = 256;
    st = apdu_transmit(t, &cmd, fci);
    if (st == ST_OK && !apdu_sw_success(fci->sw))
        st = ST_E_CARD_SW;
    return st;
}

st_t apdu_terminal_capability(transport_t *t, uint16_t *sw) {
    static const uint8_t caps[] = {0xA9, 0x03, 0x83, 0x01, 0x07};
    apdu_cmd_t cmd = {0x80, INS_TERMINAL_CAPABILITY, 0x00, 0x00, caps, sizeof(caps), 0};
    apdu_resp_t resp = APDU_RESP_INIT;
    st_t st;

    if (!sw)
        return ST_E_INVAL;
    *sw = 0;
    st = apdu_transmit(t, &cmd, &resp);
    if (st != ST_OK)
        goto out;
    *sw = resp.sw;
    if (resp.sw == 0x6D00 || resp.sw == 0x6E00) {
        /* Optional command: a card without it is fine (INS/CLA not supported). */
        st_log(ST_LOG_DEBUG, "apdu: TERMINAL CAPABILITY not supported (%04X)", resp.sw);
    } else if (!apdu_sw_success(resp.sw)) {
        st = ST_E_CARD_SW;
    }
out:
    apdu_resp_free(&resp);
    return st;
}
