/* es10.c - ES10 session (STORE DATA transport) and the ES10b/c/f functions of the station. */
#include "es10.h"

#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "base/log.h"
#include "crypto/ec.h"
#include "fmt/bpp.h"
#include "fmt/es10f.h"
#include "tlv/tlv.h"

#define INS_STORE_DATA 0xE2
#define P1_MORE_BLOCKS 0x11
#define P1_LAST_BLOCK  0x91
#define MAX_BLOCKS     256 /* P2 is one byte */

#define TAG_GET_EUICC_DATA 0xBF3E
#define TAG_EUICC_INFO2    0xBF22
#define TAG_CHALLENGE      0xBF2E
#define TAG_PROFILES_INFO  0xBF2D
#define TAG_NOTIF_LIST     0xBF2B
#define TAG_NOTIF_SENT     0xBF30
#define TAG_PIR            0xBF37
#define TAG_PIR_DATA       0xBF27
#define TAG_NOTIF_METADATA 0xBF2F
#define TAG_BPP            0xBF36

struct es10 {
    transport_t *t; /* borrowed */
    es10_opts_t opts;
    uint8_t aid[16];
    size_t aid_len;
    unsigned channel;
    bool channel_open;
};

static void res_clear(es10_result_t *res) {
    if (res)
        memset(res, 0, sizeof(*res));
}

/* ------------------------------------------------------------------ session */

static st_t es10_do_open(es10_t *s, es10_result_t *res) {
    apdu_resp_t fci = APDU_RESP_INIT;
    uint16_t sw = 0;
    st_t st;

    if (!s->opts.no_terminal_capability) {
        st = apdu_terminal_capability(s->t, &sw);
        if (st == ST_E_CARD_SW)
            st_log(ST_LOG_WARN, "es10: TERMINAL CAPABILITY refused (SW %04X), going on", sw);
        else if (st != ST_OK)
            return st;
    }
    s->channel = 0;
    s->channel_open = false;
    if (!s->opts.basic_channel) {
        st = apdu_manage_channel_open(s->t, &s->channel, &sw);
        if (res)
            res->sw = sw;
        if (st != ST_OK) {
            if (st == ST_E_CARD_SW)
                st_log(ST_LOG_WARN, "es10: MANAGE CHANNEL open: SW %04X", sw);
            return st;
        }
        s->channel_open = true;
    }
    st = apdu_select_aid(s->t, s->channel, s->aid, s->aid_len, &fci);
    if (res)
        res->sw = fci.sw;
    if (st == ST_E_CARD_SW)
        st_log(ST_LOG_WARN, "es10: SELECT ISD-R on channel %u: SW %04X", s->channel, fci.sw);
    apdu_resp_free(&fci);
    if (st != ST_OK && s->channel_open) {
        uint16_t sw2;
        (void)apdu_manage_channel_close(s->t, s->channel, &sw2);
        s->channel_open = false;
    }
    return st;
}

st_t es10_open(transport_t *t, const es10_opts_t *opts, es10_t **out, es10_result_t *res) {
    es10_t *s = NULL;
    st_t st;

    res_clear(res);
    if (!t || !out)
        return ST_E_INVAL;
    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return ST_E_NOMEM;
    s->t = t;
    if (opts)
        s->opts = *opts;
    if (s->opts.block_size == 0)
        s->opts.block_size = ES10_BLOCK_SIZE_DEFAULT;
    if (s->opts.block_size > ES10_BLOCK_SIZE_MAX) {
        st = ST_E_INVAL;
        goto out;
    }
    if (s->opts.isdr_aid) {
        if (s->opts.isdr_aid_len < 5 || s->opts.isdr_aid_len > sizeof(s->aid)) {
            st = ST_E_INVAL;
            goto out;
        }
        memcpy(s->aid, s->opts.isdr_aid, s->opts.isdr_aid_len);
        s->aid_len = s->opts.isdr_aid_len;
    } else {
        st = hex_decode_exact(ES10_ISDR_AID_DEFAULT, s->aid, 16);
        if (st != ST_OK)
            goto out;
        s->aid_len = 16;
    }
    s->opts.isdr_aid = NULL; /* borrowed pointer not kept */
    st = es10_do_open(s, res);
    if (st != ST_OK)
        goto out;
    *out = s;
    s = NULL;
out:
    free(s);
    return st;
}

st_t es10_reopen(es10_t *s, es10_result_t *res) {
    res_clear(res);
    if (!s)
        return ST_E_INVAL;
    /* The reset closed every logical channel on the card side: nothing to close here. */
    s->channel_open = false;
    return es10_do_open(s, res);
}

void es10_close(es10_t *s) {
    uint16_t sw;

    if (!s)
        return;
    if (s->channel_open)
        (void)apdu_manage_channel_close(s->t, s->channel, &sw);
    free(s);
}

unsigned es10_channel(const es10_t *s) {
    return s ? s->channel : 0;
}

transport_t *es10_transport(const es10_t *s) {
    return s ? s->t : NULL;
}

st_t es10_transceive(es10_t *s, const uint8_t *req, size_t len, buf_t *resp, uint16_t *sw) {
    apdu_resp_t r = APDU_RESP_INIT;
    apdu_cmd_t cmd;
    size_t bs, blocks, off = 0;
    st_t st = ST_OK;

    if (sw)
        *sw = 0;
    if (!s || !req || len == 0 || !resp)
        return ST_E_INVAL;
    buf_reset(resp);
    bs = s->opts.block_size;
    blocks = (len + bs - 1) / bs;
    if (blocks > MAX_BLOCKS)
        return ST_E_TOO_LARGE;
    memset(&cmd, 0, sizeof(cmd));
    cmd.cla = apdu_cla(true, s->channel);
    cmd.ins = INS_STORE_DATA;
    cmd.le = s->opts.store_data_le ? 256 : 0;
    for (size_t i = 0; i < blocks; i++) {
        bool last = i + 1 == blocks;
        cmd.p1 = last ? P1_LAST_BLOCK : P1_MORE_BLOCKS;
        cmd.p2 = (uint8_t)i; /* block number, from 00 for every ES10 command */
        cmd.data = req + off;
        cmd.lc = last ? len - off : bs;
        off += cmd.lc;
        st = apdu_transmit(s->t, &cmd, &r);
        if (st != ST_OK)
            goto out;
        if (sw)
            *sw = r.sw;
        if (!apdu_sw_success(r.sw)) {
            st_log(ST_LOG_DEBUG, "es10: STORE DATA block %zu/%zu: SW %04X", i + 1, blocks, r.sw);
            st = ST_E_CARD_SW;
            goto out;
        }
        if (!last && r.data.len) {
            st_log(ST_LOG_WARN, "es10: %zu response bytes to an intermediate block", r.data.len);
            st = ST_E_PROTO;
            goto out;
        }
    }
    st = buf_append(resp, r.data.data, r.data.len);
out:
    apdu_resp_free(&r);
    return st;
}

/*
 * Sends req and checks that the answer is exactly one TLV with tag `want`. *top borrows resp.
 * res->sw set.
 */
static st_t es10_call(es10_t *s, const uint8_t *req, size_t len, uint32_t want, buf_t *resp,
                      tlv_t *top, es10_result_t *res) {
    uint16_t sw = 0;
    st_t st;

    res_clear(res);
    st = es10_transceive(s, req, len, resp, &sw);
    if (res)
        res->sw = sw;
    if (st != ST_OK)
        return st;
    st = tlv_parse_exact(resp->data, resp->len, top);
    if (st != ST_OK || top->tag != want) {
        st_log(ST_LOG_WARN, "es10: expected a %X response (%zu bytes, %s)", (unsigned)want,
               resp->len, st_name(st));
        return ST_E_PROTO;
    }
    return ST_OK;
}

/* Builds a request with the writer and sends it. */
static st_t es10_call_w(es10_t *s, tlv_writer_t *w, uint32_t want, buf_t *resp, tlv_t *top,
                        es10_result_t *res) {
    buf_t req = BUF_INIT;
    st_t st = tlv_w_finish(w, &req);

    if (st == ST_OK)
        st = es10_call(s, req.data, req.len, want, resp, top, res);
    else
        res_clear(res);
    buf_free(&req);
    return st;
}

/* Reads the INTEGER child `tag` of parent into *v; ST_E_PROTO when absent or malformed. */
static st_t child_uint(const tlv_t *parent, uint32_t tag, uint64_t *v) {
    tlv_t c;
    st_t st = tlv_find_child(parent, tag, &c);

    if (st == ST_OK)
        st = tlv_get_uint(&c, v);
    return st == ST_OK ? ST_OK : ST_E_PROTO;
}

/* An INTEGER result/error code (the value of t) into res. */
static st_t code_of(const tlv_t *t, es10_result_t *res) {
    uint64_t v;

    if (tlv_get_uint(t, &v) != ST_OK)
        return ST_E_PROTO;
    if (res) {
        res->has_code = true;
        res->code = v > 0xFFFF ? 0xFFFF : (unsigned)v;
    }
    return ST_OK;
}

/* Result code in child 80 of an ES10f/NotificationSent response. */
static st_t result_code(const tlv_t *top, es10_result_t *res) {
    tlv_t c;

    if (tlv_find_child(top, 0x80, &c) != ST_OK)
        return ST_E_PROTO;
    return code_of(&c, res);
}

/* ------------------------------------------------------------------ ES10b / ES10c */

st_t es10c_get_eid(es10_t *s, uint8_t eid[ES10_EID_LEN], es10_result_t *res) {
    static const uint8_t req[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    buf_t resp = BUF_INIT;
    tlv_t top, e;
    st_t st;

    if (!eid) {
        res_clear(res);
        return ST_E_INVAL;
    }
    memset(eid, 0, ES10_EID_LEN);
    st = es10_call(s, req, sizeof(req), TAG_GET_EUICC_DATA, &resp, &top, res);
    if (st != ST_OK)
        goto out;
    if (tlv_find_child(&top, 0x5A, &e) != ST_OK || e.len != ES10_EID_LEN) {
        st = ST_E_PROTO;
        goto out;
    }
    memcpy(eid, e.value, ES10_EID_LEN);
out:
    buf_free(&resp);
    return st;
}

st_t es10b_get_euicc_info2(es10_t *s, buf_t *out, es10_result_t *res) {
    static const uint8_t req[] = {0xBF, 0x22, 0x00};
    tlv_t top;
    st_t st;

    if (!out) {
        res_clear(res);
        return ST_E_INVAL;
    }
    /* The response is the whole buffer (exactly one BF22), so it can go straight to out. */
    st = es10_call(s, req, sizeof(req), TAG_EUICC_INFO2, out, &top, res);
    if (st != ST_OK)
        buf_reset(out);
    return st;
}

st_t es10b_get_euicc_challenge(es10_t *s, uint8_t challenge[16], es10_result_t *res) {
    static const uint8_t req[] = {0xBF, 0x2E, 0x00};
    buf_t resp = BUF_INIT;
    tlv_t top, c;
    st_t st;

    if (!challenge) {
        res_clear(res);
        return ST_E_INVAL;
    }
    memset(challenge, 0, 16);
    st = es10_call(s, req, sizeof(req), TAG_CHALLENGE, &resp, &top, res);
    if (st != ST_OK)
        goto out;
    if (tlv_find_child(&top, 0x80, &c) != ST_OK || c.len != 16) {
        st = ST_E_PROTO;
        goto out;
    }
    memcpy(challenge, c.value, 16);
out:
    buf_free(&resp);
    return st;
}

void es10_profile_list_free(es10_profile_list_t *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free(l->items[i].provider);
        free(l->items[i].nickname);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static char *dup_value(const tlv_t *t) {
    char *s = malloc(t->len + 1);

    if (s) {
        memcpy(s, t->value, t->len);
        s[t->len] = '\0';
    }
    return s;
}

/* ICCID as stored in EF.ICCID: nibble-swapped BCD, padded with F. */
static void iccid_to_str(const uint8_t *v, char *out) {
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < ES10_ICCID_LEN; i++) {
        uint8_t lo = v[i] & 0x0F, hi = v[i] >> 4;
        if (lo == 0xF)
            break;
        out[n++] = digits[lo];
        if (hi == 0xF)
            break;
        out[n++] = digits[hi];
    }
    out[n] = '\0';
}

/* One ProfileInfo (E3) into *p (strings allocated). */
static st_t parse_profile(const tlv_t *e3, es10_profile_t *p) {
    tlv_iter_t it;
    tlv_t c;
    uint64_t v;
    st_t st;

    memset(p, 0, sizeof(*p));
    p->state = -1;
    p->profile_class = -1;
    tlv_iter_children(&it, e3);
    while ((st = tlv_iter_next(&it, &c)) == ST_OK) {
        char **str = NULL;
        switch (c.tag) {
        case 0x5A:
            if (c.len != ES10_ICCID_LEN)
                return ST_E_PROTO;
            memcpy(p->iccid, c.value, ES10_ICCID_LEN);
            p->has_iccid = true;
            iccid_to_str(p->iccid, p->iccid_str);
            break;
        case 0x4F:
            if (c.len == 0 || c.len > sizeof(p->aid))
                return ST_E_PROTO;
            memcpy(p->aid, c.value, c.len);
            p->aid_len = c.len;
            break;
        case 0x9F70:
            if (tlv_get_uint(&c, &v) != ST_OK || v > 1)
                return ST_E_PROTO;
            p->state = (int)v;
            break;
        case 0x95:
            if (tlv_get_uint(&c, &v) != ST_OK || v > 2)
                return ST_E_PROTO;
            p->profile_class = (int)v;
            break;
        case 0x90:
            str = &p->nickname;
            break;
        case 0x91:
            str = &p->provider;
            break;
        case 0x92:
            str = &p->name;
            break;
        default:
            break; /* icon, owner, PPRs...: not needed on the line */
        }
        if (str && !*str) {
            *str = dup_value(&c);
            if (!*str)
                return ST_E_NOMEM;
        }
    }
    return st == ST_E_NOENT ? ST_OK : ST_E_PROTO;
}

st_t es10c_parse_profile_info(const uint8_t *p, size_t n, es10_profile_list_t *out,
                              es10_result_t *res) {
    tlv_t top, list, e3;
    tlv_iter_t it;
    size_t count = 0;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    memset(out, 0, sizeof(*out));
    if (tlv_parse_exact(p, n, &top) != ST_OK || top.tag != TAG_PROFILES_INFO)
        return ST_E_PROTO;
    if (tlv_find_child(&top, 0x81, &list) == ST_OK) {
        /* profileInfoListError */
        return code_of(&list, res);
    }
    if (tlv_find_child(&top, 0xA0, &list) != ST_OK)
        return ST_E_PROTO;
    tlv_iter_children(&it, &list);
    while ((st = tlv_iter_next(&it, &e3)) == ST_OK)
        count++;
    if (st != ST_E_NOENT)
        return ST_E_PROTO;
    if (count == 0)
        return ST_OK;
    out->items = calloc(count, sizeof(*out->items));
    if (!out->items)
        return ST_E_NOMEM;
    tlv_iter_children(&it, &list);
    while (tlv_iter_next(&it, &e3) == ST_OK) {
        if (e3.tag != 0xE3) {
            st = ST_E_PROTO;
            goto fail;
        }
        st = parse_profile(&e3, &out->items[out->n]);
        out->n++; /* counted even on failure so that the free below releases its strings */
        if (st != ST_OK)
            goto fail;
    }
    return ST_OK;
fail:
    es10_profile_list_free(out);
    return st;
}

st_t es10c_list_profile_info(es10_t *s, es10_profile_list_t *out, es10_result_t *res) {
    static const uint8_t req[] = {0xBF, 0x2D, 0x00};
    buf_t resp = BUF_INIT;
    tlv_t top;
    st_t st;

    if (!out) {
        res_clear(res);
        return ST_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    st = es10_call(s, req, sizeof(req), TAG_PROFILES_INFO, &resp, &top, res);
    if (st == ST_OK)
        st = es10c_parse_profile_info(resp.data, resp.len, out, res);
    buf_free(&resp);
    return st;
}

void es10_notification_list_free(es10_notification_list_t *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        buf_free(&l->items[i].raw);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* seqNumber of a pending notification: BF37/BF27/BF2F/80 or 30/BF2F/80. */
static st_t notification_seq(const tlv_t *item, uint64_t *seq) {
    tlv_t data, meta;

    if (item->tag == TAG_PIR) {
        if (tlv_find_child(item, TAG_PIR_DATA, &data) != ST_OK
            || tlv_find_child(&data, TAG_NOTIF_METADATA, &meta) != ST_OK)
            return ST_E_PROTO;
    } else if (item->tag == 0x30) {
        if (tlv_find_child(item, TAG_NOTIF_METADATA, &meta) != ST_OK)
            return ST_E_PROTO;
    } else {
        return ST_E_PROTO;
    }
    return child_uint(&meta, 0x80, seq);
}

st_t es10b_retrieve_notifications_list(es10_t *s, es10_notification_list_t *out,
                                       es10_result_t *res) {
    static const uint8_t req[] = {0xBF, 0x2B, 0x00};
    buf_t resp = BUF_INIT;
    tlv_t top, list, item;
    tlv_iter_t it;
    size_t count = 0;
    st_t st;

    if (!out) {
        res_clear(res);
        return ST_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    st = es10_call(s, req, sizeof(req), TAG_NOTIF_LIST, &resp, &top, res);
    if (st != ST_OK)
        goto out;
    if (tlv_find_child(&top, 0x81, &list) == ST_OK) {
        /* notificationsListResultError: the INTEGER is the value of 81 itself. */
        st = code_of(&list, res);
        goto out;
    }
    if (tlv_find_child(&top, 0xA0, &list) != ST_OK) {
        st = ST_E_PROTO;
        goto out;
    }
    tlv_iter_children(&it, &list);
    while ((st = tlv_iter_next(&it, &item)) == ST_OK)
        count++;
    if (st != ST_E_NOENT) {
        st = ST_E_PROTO;
        goto out;
    }
    st = ST_OK;
    if (count == 0)
        goto out;
    out->items = calloc(count, sizeof(*out->items));
    if (!out->items) {
        st = ST_E_NOMEM;
        goto out;
    }
    tlv_iter_children(&it, &list);
    while (tlv_iter_next(&it, &item) == ST_OK) {
        es10_notification_t *n = &out->items[out->n];
        st = notification_seq(&item, &n->seq);
        if (st != ST_OK)
            break;
        n->tag = item.tag;
        out->n++;
        st = buf_append(&n->raw, item.raw, item.raw_len);
        if (st != ST_OK)
            break;
    }
    if (st != ST_OK)
        es10_notification_list_free(out);
out:
    buf_free(&resp);
    return st;
}

st_t es10b_remove_notification(es10_t *s, uint64_t seq, es10_result_t *res) {
    tlv_writer_t *w = tlv_writer_new();
    buf_t resp = BUF_INIT;
    tlv_t top;
    st_t st;

    res_clear(res);
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, TAG_NOTIF_SENT);
    tlv_w_uint(w, 0x80, seq);
    tlv_w_end(w);
    st = es10_call_w(s, w, TAG_NOTIF_SENT, &resp, &top, res);
    if (st == ST_OK)
        st = result_code(&top, res);
    tlv_writer_free(w);
    buf_free(&resp);
    return st;
}

st_t es10b_load_bound_profile_package(es10_t *s, const uint8_t *bpp, size_t len, buf_t *pir,
                                      es10_lbpp_stats_t *stats, es10_progress_cb_t progress,
                                      void *ud, es10_result_t *res) {
    es10_lbpp_stats_t local;
    transport_counters_t c0, c1;
    bpp_view_t view;
    bpp_segment_t *segs = NULL;
    size_t nsegs = 0;
    buf_t resp = BUF_INIT;
    uint16_t sw = 0;
    bool answered = false;
    st_t st;

    res_clear(res);
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    if (!s || !bpp || !pir)
        return ST_E_INVAL;
    buf_reset(pir);
    transport_counters(s->t, &c0);
    st = bpp_parse(bpp, len, &view);
    if (st != ST_OK) {
        st_log(ST_LOG_WARN, "es10: BPP does not parse: %s", st_name(st));
        goto out;
    }
    st = bpp_segments(&view, &segs, &nsegs);
    if (st != ST_OK)
        goto out;
    stats->segments_total = nsegs;
    for (size_t i = 0; i < nsegs; i++) {
        st = es10_transceive(s, segs[i].p, segs[i].len, &resp, &sw);
        if (res)
            res->sw = sw;
        if (st != ST_OK) {
            st_log(ST_LOG_DEBUG, "es10: BPP segment %zu/%zu: %s (SW %04X)", i + 1, nsegs,
                   st_name(st), sw);
            goto out;
        }
        stats->segments_sent++;
        stats->bytes_sent += segs[i].len;
        /* Reported for every acknowledged segment; a stop request only matters while
         * segments remain and the card has not answered yet. */
        if (progress && !progress(i + 1, nsegs, stats->bytes_sent, len, ud) && !resp.len
            && i + 1 < nsegs) {
            st = ST_E_CANCELLED;
            goto out;
        }
        if (resp.len) {
            /* The first non-empty answer ends the load (SGP.22 §5.7.6): a PIR, success on the
             * last segment or errorResult at the segment that failed. */
            tlv_t t;
            answered = true;
            st = buf_append(pir, resp.data, resp.len);
            if (st != ST_OK)
                goto out;
            if (tlv_parse_exact(resp.data, resp.len, &t) != ST_OK || t.tag != TAG_PIR) {
                st_log(ST_LOG_WARN,
                       "es10: segment %zu/%zu answered %zu bytes that are not a "
                       "ProfileInstallationResult",
                       i + 1, nsegs, resp.len);
                st = ST_E_PROTO;
            } else if (i + 1 < nsegs) {
                st_log(ST_LOG_INFO, "es10: eUICC ended the load at segment %zu/%zu", i + 1, nsegs);
            }
            goto out;
        }
    }
    if (!answered) {
        st_log(ST_LOG_WARN, "es10: no ProfileInstallationResult after the last segment");
        st = ST_E_PROTO;
    }
out:
    transport_counters(s->t, &c1);
    stats->apdus = c1.apdus - c0.apdus;
    stats->tx_bytes = c1.tx_bytes - c0.tx_bytes;
    stats->rx_bytes = c1.rx_bytes - c0.rx_bytes;
    free(segs);
    buf_free(&resp);
    return st;
}

/* ------------------------------------------------------------------ ES10f */

st_t es10f_authorise_fpa_services(es10_t *s, EVP_PKEY *dm_key, const uint8_t eid[ES10_EID_LEN],
                                  const uint8_t *challenge, es10_result_t *res) {
    uint8_t fresh[ES10F_CHALLENGE_LEN];
    uint8_t sig[EC_SIG_RAW_LEN];
    buf_t tbs = BUF_INIT, resp = BUF_INIT;
    tlv_writer_t *w = NULL;
    tlv_t top;
    st_t st;

    res_clear(res);
    if (!s || !dm_key || !eid)
        return ST_E_INVAL;
    if (!challenge) {
        st = es10b_get_euicc_challenge(s, fresh, res);
        if (st != ST_OK)
            goto out;
        challenge = fresh;
    }
    st = es10f_auth_tbs(eid, challenge, &tbs);
    if (st != ST_OK)
        goto out;
    st = ec_sign_raw(dm_key, tbs.data, tbs.len, sig);
    if (st != ST_OK)
        goto out;
    w = tlv_writer_new();
    if (!w) {
        st = ST_E_NOMEM;
        goto out;
    }
    tlv_w_begin(w, ES10F_TAG_AUTHORISE);
    tlv_w_uint(w, 0x80, ES10F_VERSION);
    tlv_w_put(w, 0x5F37, sig, sizeof(sig));
    tlv_w_end(w);
    st = es10_call_w(s, w, ES10F_TAG_AUTHORISE, &resp, &top, res);
    if (st == ST_OK)
        st = result_code(&top, res);
out:
    tlv_writer_free(w);
    buf_free(&tbs);
    buf_free(&resp);
    return st;
}

st_t es10f_prepare_load(es10_t *s, uint64_t key_index, const uint8_t *cert_dppb, size_t cert_len,
                        const es10_blob_t *chain, size_t n_chain, es10_result_t *res) {
    tlv_writer_t *w = NULL;
    buf_t resp = BUF_INIT;
    tlv_t top;
    st_t st;

    res_clear(res);
    if (!s || !cert_dppb || cert_len == 0 || (n_chain && !chain))
        return ST_E_INVAL;
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_begin(w, ES10F_TAG_PREPARE_LOAD);
    tlv_w_uint(w, 0x80, ES10F_VERSION);
    tlv_w_uint(w, 0x81, key_index);
    tlv_w_begin(w, 0xA0);
    tlv_w_raw(w, cert_dppb, cert_len);
    tlv_w_end(w);
    if (n_chain) {
        tlv_w_begin(w, 0xA1);
        for (size_t i = 0; i < n_chain; i++)
            tlv_w_raw(w, chain[i].p, chain[i].len);
        tlv_w_end(w);
    }
    tlv_w_end(w);
    st = es10_call_w(s, w, ES10F_TAG_PREPARE_LOAD, &resp, &top, res);
    if (st == ST_OK)
        st = result_code(&top, res);
    tlv_writer_free(w);
    buf_free(&resp);
    return st;
}

/* FF42/FF43 requests are { 80 01 version } only. */
static st_t es10f_simple(es10_t *s, uint32_t tag, buf_t *resp, tlv_t *top, es10_result_t *res) {
    const uint8_t req[] = {(uint8_t)(tag >> 8), (uint8_t)tag, 0x03, 0x80, 0x01, ES10F_VERSION};
    st_t st = es10_call(s, req, sizeof(req), tag, resp, top, res);

    if (st == ST_OK)
        st = result_code(top, res);
    return st;
}

st_t es10f_delete_one_time_keys(es10_t *s, uint64_t *keys_deleted, es10_result_t *res) {
    buf_t resp = BUF_INIT;
    tlv_t top;
    uint64_t v = 0;
    st_t st;

    if (keys_deleted)
        *keys_deleted = 0;
    if (!s) {
        res_clear(res);
        return ST_E_INVAL;
    }
    st = es10f_simple(s, ES10F_TAG_DELETE_KEYS, &resp, &top, res);
    /* keysDeleted accompanies a result; a card that refuses may leave it out. */
    if (st == ST_OK && child_uint(&top, 0x81, &v) == ST_OK && keys_deleted)
        *keys_deleted = v;
    buf_free(&resp);
    return st;
}

st_t es10f_get_one_time_key_status(es10_t *s, es10f_key_status_t *out, es10_result_t *res) {
    buf_t resp = BUF_INIT;
    tlv_t top, locked;
    es10_result_t local;
    st_t st;

    if (!res)
        res = &local;
    if (!s || !out) {
        res_clear(res);
        return ST_E_INVAL;
    }
    memset(out, 0, sizeof(*out));
    st = es10f_simple(s, ES10F_TAG_KEY_STATUS, &resp, &top, res);
    if (st != ST_OK)
        goto out;
    if (res->code != ES10F_OK)
        goto out; /* an error answer carries the result only */
    if (child_uint(&top, 0x81, &out->total) != ST_OK
        || child_uint(&top, 0x82, &out->unused) != ST_OK
        || child_uint(&top, 0x83, &out->consumed) != ST_OK) {
        st = ST_E_PROTO;
        goto out;
    }
    if (tlv_find_child(&top, 0x84, &locked) == ST_OK) {
        /* fpaLocked: a BOOLEAN (FF = true) or an INTEGER flag; any non-zero octet is true. */
        for (size_t i = 0; i < locked.len; i++)
            if (locked.value[i])
                out->fpa_locked = true;
    }
out:
    buf_free(&resp);
    return st;
}
