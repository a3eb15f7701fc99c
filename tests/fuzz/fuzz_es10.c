/*
 * fuzz_es10: the station's ES10 client (pcsc/es10.c) and APDU layer (pcsc/apdu.c) against a
 * card whose every answer comes from the input: the scripted fake transport of the unit tests
 * (tests/unit/fake_card.c) answers each C-APDU, whatever it is, with the next R-APDU chunk
 * (input format in fuzz_common.h). This covers the response parsers (GetEID, EUICCInfo2,
 * challenge, ListProfileInfo, RetrieveNotificationsList, the BF37 of a load, ES10f results and
 * key status), the STORE DATA sequencing, and the 61xx / 6Cxx handling (a card that never
 * stops saying 61xx must be cut off by the APDU layer's bound).
 *
 * Checked: every call returns a known status; on success the decoded lists are consistent
 * (strings NUL-terminated, notifications verbatim TLVs); es10c_parse_profile_info and
 * pir_parse run directly on every chunk as well.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/ec.h"
#include "es10.h"
#include "fake_card.h"
#include "fmt/pir.h"
#include "fuzz_common.h"
#include "tlv/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    EVP_PKEY *dm_key;
    buf_t bpp[16]; /* the fixed BPP with 1..16 '86' segments */
    char hex[2 * TRANSPORT_MAX_RAPDU + 1];
} g;

static void init(void) {
    fz_log_init();
    if (fz_det_key("dm", &g.dm_key) != ST_OK)
        abort();
    for (size_t i = 0; i < 16; i++)
        if (fz_dummy_bpp(i + 1, &g.bpp[i]) != ST_OK)
            abort();
    g.ready = true;
}

static void check_st(st_t st) {
    if ((unsigned)st >= ST__COUNT)
        abort();
}

static void check_profiles(st_t st, const es10_profile_list_t *l) {
    check_st(st);
    if (st != ST_OK) {
        if (l->items || l->n)
            abort(); /* nothing half-decoded is handed back */
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        const es10_profile_t *p = &l->items[i];
        if (p->aid_len > sizeof(p->aid) || p->state > 1 || p->profile_class > 2
            || strlen(p->iccid_str) > 2 * ES10_ICCID_LEN)
            abort();
        if (p->name)
            (void)strlen(p->name);
        if (p->provider)
            (void)strlen(p->provider);
        if (p->nickname)
            (void)strlen(p->nickname);
    }
}

static void check_notifs(st_t st, const es10_notification_list_t *l) {
    check_st(st);
    if (st != ST_OK) {
        if (l->items || l->n)
            abort();
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        tlv_t t;
        if (tlv_parse_exact(l->items[i].raw.data, l->items[i].raw.len, &t) != ST_OK
            || t.tag != l->items[i].tag)
            abort();
    }
}

static void call(es10_t *s, uint8_t sel) {
    es10_result_t res;
    es10_profile_list_t pl = {NULL, 0};
    es10_notification_list_t nl = {NULL, 0};
    es10f_key_status_t ks;
    es10_lbpp_stats_t stats;
    uint8_t eid[ES10_EID_LEN], chal[16], cert[8] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
    uint64_t deleted;
    buf_t out = BUF_INIT;
    unsigned arg = sel >> 4;
    st_t st;

    memset(eid, 0x89, sizeof(eid));
    switch ((sel & 0x0F) % FZ_ES10_FN_COUNT) {
    case FZ_ES10_GET_EID:
        check_st(es10c_get_eid(s, eid, &res));
        break;
    case FZ_ES10_EUICC_INFO2:
        st = es10b_get_euicc_info2(s, &out, &res);
        check_st(st);
        if (st != ST_OK && out.len)
            abort();
        break;
    case FZ_ES10_CHALLENGE:
        check_st(es10b_get_euicc_challenge(s, chal, &res));
        break;
    case FZ_ES10_LIST_PROFILES:
        st = es10c_list_profile_info(s, &pl, &res);
        check_profiles(st, &pl);
        es10_profile_list_free(&pl);
        break;
    case FZ_ES10_NOTIFICATIONS:
        st = es10b_retrieve_notifications_list(s, &nl, &res);
        check_notifs(st, &nl);
        es10_notification_list_free(&nl);
        break;
    case FZ_ES10_REMOVE_NOTIF:
        check_st(es10b_remove_notification(s, arg, &res));
        break;
    case FZ_ES10_LOAD_BPP:
        st = es10b_load_bound_profile_package(s, g.bpp[arg].data, g.bpp[arg].len, &out, &stats,
                                              NULL, NULL, &res);
        check_st(st);
        if (stats.segments_sent > stats.segments_total || stats.bytes_sent > g.bpp[arg].len)
            abort();
        if (st == ST_OK) {
            pir_view_t v;
            tlv_t t;
            if (tlv_parse_exact(out.data, out.len, &t) != ST_OK || t.tag != 0xBF37)
                abort();
            (void)pir_parse(out.data, out.len, &v);
        }
        break;
    case FZ_ES10_AUTHORISE:
        check_st(es10f_authorise_fpa_services(s, g.dm_key, eid, NULL, &res));
        break;
    case FZ_ES10_PREPARE_LOAD:
        check_st(es10f_prepare_load(s, arg, cert, sizeof(cert), NULL, 0, &res));
        break;
    case FZ_ES10_DELETE_KEYS:
        check_st(es10f_delete_one_time_keys(s, &deleted, &res));
        break;
    case FZ_ES10_KEY_STATUS:
        check_st(es10f_get_one_time_key_status(s, &ks, &res));
        break;
    case FZ_ES10_REOPEN:
        check_st(es10_reopen(s, &res));
        break;
    default:
        break;
    }
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in_t in = {data, size};
    fake_card_t *fc = NULL;
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_opts_t opts;
    es10_result_t res;
    uint8_t flags = 0, bs = 0, ncalls = 0, sel[FZ_ES10_MAX_CALLS];
    const uint8_t *p;
    size_t n;

    if (!g.ready)
        init();
    (void)fz_u8(&in, &flags);
    (void)fz_u8(&in, &bs);
    (void)fz_u8(&in, &ncalls);
    ncalls %= FZ_ES10_MAX_CALLS + 1;
    for (size_t i = 0; i < ncalls; i++)
        if (!fz_u8(&in, &sel[i]))
            ncalls = (uint8_t)i;
    if (fake_card_new((flags & FZ_ES10_T0) ? TRANSPORT_PROTO_T0 : TRANSPORT_PROTO_T1, &fc, &t)
        != ST_OK)
        abort();
    while (fz_chunk(&in, TRANSPORT_MAX_RAPDU, &p, &n)) {
        es10_profile_list_t pl = {NULL, 0};
        pir_view_t v;
        if (n >= 2) {
            /* the response parsers straight on the data of each answer too */
            check_profiles(es10c_parse_profile_info(p, n - 2, &pl, &res), &pl);
            es10_profile_list_free(&pl);
            (void)pir_parse(p, n - 2, &v);
        }
        /* fake_card memcpy()s even an empty answer: "too short" gets one byte instead */
        static const uint8_t one = 0x90;
        if (n == 0) {
            p = &one;
            n = 1;
        }
        hex_encode(p, n, g.hex);
        fake_card_expect(fc, "*", g.hex);
    }
    /* After the script: the card is gone (quietly; a mismatch would print). */
    fake_card_expect_fail(fc, "*", ST_E_CARD_REMOVED);
    memset(&opts, 0, sizeof(opts));
    opts.block_size = bs;
    opts.basic_channel = (flags & FZ_ES10_BASIC_CHANNEL) != 0;
    opts.no_terminal_capability = (flags & FZ_ES10_NO_TERM_CAP) != 0;
    opts.store_data_le = (flags & FZ_ES10_STORE_DATA_LE) != 0;
    if (es10_open(t, &opts, &s, &res) == ST_OK) {
        for (size_t i = 0; i < ncalls; i++)
            call(s, sel[i]);
        es10_close(s);
    }
    transport_free(t);
    return 0;
}
