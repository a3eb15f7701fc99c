/* Unit tests: ISO 7816-4 APDU layer against the scripted fake card. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apdu.h"
#include "base/log.h"
#include "fake_card.h"
#include "testutil.h"

#define ISDR "A0000005591010FFFFFFFF8900000100"

static transport_t *tp;
static fake_card_t *fc;

static void setup(transport_proto_t proto) {
    CU_ASSERT_EQUAL_FATAL(fake_card_new(proto, &fc, &tp), ST_OK);
}

static void teardown(void) {
    CU_ASSERT_TRUE(fake_card_done(fc));
    transport_free(tp);
    tp = NULL;
    fc = NULL;
}

/* Hex of n bytes counting up from `first` (test payloads). */
static char *hex_run(size_t n, uint8_t first) {
    char *s = malloc(2 * n + 1);
    uint8_t *b = malloc(n ? n : 1);

    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(first + i);
    hex_encode(b, n, s);
    free(b);
    return s;
}

static void test_cla_encoding(void) {
    /* first interindustry range: channels 0-3 in b2-b1 */
    CU_ASSERT_EQUAL(apdu_cla(false, 0), 0x00);
    CU_ASSERT_EQUAL(apdu_cla(false, 1), 0x01);
    CU_ASSERT_EQUAL(apdu_cla(false, 2), 0x02);
    CU_ASSERT_EQUAL(apdu_cla(false, 3), 0x03);
    /* further interindustry range: 0x40 | (ch - 4) */
    CU_ASSERT_EQUAL(apdu_cla(false, 4), 0x40);
    CU_ASSERT_EQUAL(apdu_cla(false, 5), 0x41);
    CU_ASSERT_EQUAL(apdu_cla(false, 19), 0x4F);
    /* proprietary (ES10/GP) keeps b8 */
    CU_ASSERT_EQUAL(apdu_cla(true, 0), 0x80);
    CU_ASSERT_EQUAL(apdu_cla(true, 1), 0x81);
    CU_ASSERT_EQUAL(apdu_cla(true, 3), 0x83);
    CU_ASSERT_EQUAL(apdu_cla(true, 4), 0xC0);
    CU_ASSERT_EQUAL(apdu_cla(true, 19), 0xCF);
    for (unsigned ch = 0; ch <= APDU_MAX_CHANNEL; ch++) {
        CU_ASSERT_EQUAL(apdu_cla_channel(apdu_cla(false, ch)), ch);
        CU_ASSERT_EQUAL(apdu_cla_channel(apdu_cla(true, ch)), ch);
    }
}

static void test_sw_success(void) {
    CU_ASSERT_TRUE(apdu_sw_success(0x9000));
    CU_ASSERT_TRUE(apdu_sw_success(0x9100));
    CU_ASSERT_TRUE(apdu_sw_success(0x9110));
    CU_ASSERT_FALSE(apdu_sw_success(0x6100));
    CU_ASSERT_FALSE(apdu_sw_success(0x6A82));
    CU_ASSERT_FALSE(apdu_sw_success(0x9200));
    CU_ASSERT_FALSE(apdu_sw_success(0x6F00));
}

static void test_encode_cases(void) {
    static const uint8_t d[] = {0xAA, 0xBB};
    uint8_t out[TRANSPORT_MAX_CAPDU];
    size_t n;
    apdu_cmd_t c1 = {0x00, 0x70, 0x80, 0x01, NULL, 0, 0};
    apdu_cmd_t c2 = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_cmd_t c3 = {0x80, 0xE2, 0x91, 0x00, d, 2, 0};
    apdu_cmd_t c4 = {0x00, 0xA4, 0x04, 0x00, d, 2, 256};
    apdu_cmd_t bad = {0x00, 0xA4, 0x04, 0x00, d, 256, 0};

    CU_ASSERT_EQUAL(apdu_encode(&c1, TRANSPORT_PROTO_T1, out, &n), ST_OK);
    TU_ASSERT_HEX(out, n, "00708001");
    CU_ASSERT_EQUAL(apdu_encode(&c2, TRANSPORT_PROTO_T0, out, &n), ST_OK);
    TU_ASSERT_HEX(out, n, "00CA00FE00"); /* case 2: P3 = Le, 256 as 00 */
    CU_ASSERT_EQUAL(apdu_encode(&c3, TRANSPORT_PROTO_T0, out, &n), ST_OK);
    TU_ASSERT_HEX(out, n, "80E2910002AABB");
    CU_ASSERT_EQUAL(apdu_encode(&c4, TRANSPORT_PROTO_T1, out, &n), ST_OK);
    TU_ASSERT_HEX(out, n, "00A4040002AABB00");
    CU_ASSERT_EQUAL(apdu_encode(&c4, TRANSPORT_PROTO_T0, out, &n), ST_OK);
    TU_ASSERT_HEX(out, n, "00A4040002AABB"); /* case 4 on T=0: no Le */
    CU_ASSERT_EQUAL(apdu_encode(&bad, TRANSPORT_PROTO_T1, out, &n), ST_E_INVAL);
}

/* 61xx chain on T=1, including 61 00 = 256 bytes, data concatenated. */
static void test_get_response_chain(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;
    char *first = hex_run(16, 0x00), *big = hex_run(256, 0x10), *tail = hex_run(5, 0x80);
    char rapdu[2 * 300];

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "00CA00FE00", "6110");
    snprintf(rapdu, sizeof(rapdu), "%s6100", first);
    fake_card_expect(fc, "00C0000010", rapdu);
    snprintf(rapdu, sizeof(rapdu), "%s6105", big);
    fake_card_expect(fc, "00C0000000", rapdu); /* 61 00: Le 00 = 256 */
    snprintf(rapdu, sizeof(rapdu), "%s9000", tail);
    fake_card_expect(fc, "00C0000005", rapdu);
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(r.sw, 0x9000);
    CU_ASSERT_EQUAL(r.data.len, 16 + 256 + 5);
    if (r.data.len == 277) {
        CU_ASSERT_EQUAL(r.data.data[0], 0x00);
        CU_ASSERT_EQUAL(r.data.data[16], 0x10);
        CU_ASSERT_EQUAL(r.data.data[16 + 255], (uint8_t)(0x10 + 255));
        CU_ASSERT_EQUAL(r.data.data[272], 0x80);
    }
    apdu_resp_free(&r);
    teardown();
    free(first);
    free(big);
    free(tail);
}

/* Data before a 61xx (T=1 cards may do this) is kept. */
static void test_data_with_61xx(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "00CA00FE00", "AABB6102");
    fake_card_expect(fc, "00C0000002", "CCDD9000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    TU_ASSERT_HEX(r.data.data, r.data.len, "AABBCCDD");
    apdu_resp_free(&r);
    teardown();
}

/* GET RESPONSE is interindustry on the command's channel, even after a proprietary command. */
static void test_get_response_cla(void) {
    static const uint8_t d[] = {0xBF, 0x2E, 0x00};
    apdu_cmd_t cmd = {0x81, 0xE2, 0x91, 0x00, d, 3, 0};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "81E2910003BF2E00", "6102");
    fake_card_expect(fc, "01C0000002", "01029000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    cmd.cla = 0xC1; /* channel 5 */
    fake_card_expect(fc, "C1E2910003BF2E00", "6102");
    fake_card_expect(fc, "41C0000002", "01029000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    cmd.cla = 0xCF; /* channel 19 */
    fake_card_expect(fc, "CFE2910003BF2E00", "6101");
    fake_card_expect(fc, "4FC0000001", "019000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(r.sw, 0x9000);
    apdu_resp_free(&r);
    teardown();
}

/* 6Cxx: exactly one retry with Le = SW2. */
static void test_6cxx_single_retry(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T0);
    fake_card_expect(fc, "00CA00FE00", "6C08");
    fake_card_expect(fc, "00CA00FE08", "01020304050607089000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(r.sw, 0x9000);
    TU_ASSERT_HEX(r.data.data, r.data.len, "0102030405060708");
    CU_ASSERT_EQUAL(fake_card_received(fc), 2);
    apdu_resp_free(&r);
    teardown();
}

static void test_6cxx_no_second_retry(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T0);
    fake_card_expect(fc, "00CA00FE00", "6C08");
    fake_card_expect(fc, "00CA00FE08", "6C04");
    /* no third exchange scripted: a second retry would be a mismatch */
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(r.sw, 0x6C04);
    CU_ASSERT_EQUAL(r.data.len, 0);
    CU_ASSERT_EQUAL(fake_card_received(fc), 2);
    apdu_resp_free(&r);
    teardown();
}

/* 6C00 means Le = 256; then 61xx continues with GET RESPONSE. */
static void test_6c00_then_61xx(void) {
    apdu_cmd_t cmd = {0x00, 0xB0, 0x00, 0x00, NULL, 0, 16};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T0);
    fake_card_expect(fc, "00B0000010", "6C00");
    fake_card_expect(fc, "00B0000000", "6103");
    fake_card_expect(fc, "00C0000003", "AABBCC9000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    TU_ASSERT_HEX(r.data.data, r.data.len, "AABBCC");
    apdu_resp_free(&r);
    teardown();
}

/* T=0 case 4: SELECT goes without Le, the FCI comes through GET RESPONSE. T=1 sends Le. */
static void test_select_t0_t1(void) {
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T0);
    fake_card_expect(fc, "01A4040010" ISDR, "6104");
    fake_card_expect(fc, "01C0000004", "6F0284009000");
    CU_ASSERT_EQUAL(apdu_select_aid(tp, 1, aid, sizeof(aid), &r), ST_OK);
    TU_ASSERT_HEX(r.data.data, r.data.len, "6F028400");
    teardown();

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "42A4040010" ISDR "00", "6F0284009000");
    CU_ASSERT_EQUAL(apdu_select_aid(tp, 6, aid, sizeof(aid), &r), ST_OK);
    fake_card_expect(fc, "00A4040010" ISDR "00", "6A82");
    CU_ASSERT_EQUAL(apdu_select_aid(tp, 0, aid, sizeof(aid), &r), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(r.sw, 0x6A82);
    apdu_resp_free(&r);
    teardown();
}

static void test_manage_channel(void) {
    unsigned ch = 99;
    uint16_t sw = 0;

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "0070000001", "029000");
    CU_ASSERT_EQUAL(apdu_manage_channel_open(tp, &ch, &sw), ST_OK);
    CU_ASSERT_EQUAL(ch, 2);
    fake_card_expect(fc, "0070000001", "0D9000");
    CU_ASSERT_EQUAL(apdu_manage_channel_open(tp, &ch, &sw), ST_OK);
    CU_ASSERT_EQUAL(ch, 13);
    fake_card_expect(fc, "0070000001", "6A81");
    CU_ASSERT_EQUAL(apdu_manage_channel_open(tp, &ch, &sw), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(sw, 0x6A81);
    fake_card_expect(fc, "0070000001", "149000"); /* channel 20 does not exist */
    CU_ASSERT_EQUAL(apdu_manage_channel_open(tp, &ch, &sw), ST_E_PROTO);
    fake_card_expect(fc, "00708002", "9000");
    CU_ASSERT_EQUAL(apdu_manage_channel_close(tp, 2, &sw), ST_OK);
    fake_card_expect(fc, "0070800D", "6881");
    CU_ASSERT_EQUAL(apdu_manage_channel_close(tp, 13, &sw), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(sw, 0x6881);
    teardown();
}

static void test_terminal_capability(void) {
    uint16_t sw = 0;

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "80AA000005A903830107", "9000");
    CU_ASSERT_EQUAL(apdu_terminal_capability(tp, &sw), ST_OK);
    fake_card_expect(fc, "80AA000005A903830107", "6D00");
    CU_ASSERT_EQUAL(apdu_terminal_capability(tp, &sw), ST_OK);
    CU_ASSERT_EQUAL(sw, 0x6D00);
    fake_card_expect(fc, "80AA000005A903830107", "6E00");
    CU_ASSERT_EQUAL(apdu_terminal_capability(tp, &sw), ST_OK);
    fake_card_expect(fc, "80AA000005A903830107", "6A86");
    CU_ASSERT_EQUAL(apdu_terminal_capability(tp, &sw), ST_E_CARD_SW);
    CU_ASSERT_EQUAL(sw, 0x6A86);
    teardown();
}

/* Status words are data; transport failures are statuses, also in the middle of a chain. */
static void test_errors(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "00CA00FE00", "6A88");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(r.sw, 0x6A88);
    fake_card_expect(fc, "00CA00FE00", "6110");
    fake_card_expect_fail(fc, "00C0000010", ST_E_CARD_REMOVED);
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_E_CARD_REMOVED);
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_E_CARD_REMOVED); /* stays removed */
    fake_card_reset_script(fc);
    fake_card_expect_fail(fc, "00CA00FE00", ST_E_CARD_RESET);
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_E_CARD_RESET);
    /* a short R-APDU from a broken driver is a protocol error */
    fake_card_expect(fc, "00CA00FE00", "90");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_E_PROTO);
    apdu_resp_free(&r);
    teardown();
}

/* A card that answers 61xx forever is cut off. */
static void test_endless_61xx(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;
    char *big = hex_run(255, 0);
    char *rapdu = malloc(2 * 258 + 1);
    st_t st;

    snprintf(rapdu, 2 * 258 + 1, "%s6100", big);
    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "00CA00FE00", "6100");
    for (size_t i = 0; i < APDU_MAX_RESPONSE / 255 + 8; i++)
        fake_card_expect(fc, "00C0000000", rapdu);
    st = apdu_transmit(tp, &cmd, &r);
    CU_ASSERT_EQUAL(st, ST_E_TOO_LARGE);
    fake_card_reset_script(fc);
    apdu_resp_free(&r);
    teardown();
    free(big);
    free(rapdu);
}

typedef struct {
    int trace_lines;
    int capdu_seen;
} trace_sink_t;

static void capture_sink(st_log_level_t level, const char *msg, void *ud) {
    trace_sink_t *t = ud;

    if (level == ST_LOG_TRACE)
        t->trace_lines++;
    if (strstr(msg, "C-APDU: 00CA00FE00"))
        t->capdu_seen++;
}

/* APDU hex goes out at trace level only. */
static void test_trace_level(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;
    trace_sink_t t = {0, 0};
    st_log_level_t saved = st_log_get_level();

    setup(TRANSPORT_PROTO_T1);
    st_log_set_sink(capture_sink, &t);
    st_log_set_level(ST_LOG_DEBUG);
    fake_card_expect(fc, "00CA00FE00", "9000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(t.capdu_seen, 0);
    st_log_set_level(ST_LOG_TRACE);
    fake_card_expect(fc, "00CA00FE00", "9000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    CU_ASSERT_EQUAL(t.capdu_seen, 1);
    CU_ASSERT_TRUE(t.trace_lines >= 2);
    st_log_set_level(saved);
    st_log_set_sink(NULL, NULL);
    apdu_resp_free(&r);
    teardown();
}

/* Counters of the transport wrapper. */
static void test_counters(void) {
    apdu_cmd_t cmd = {0x00, 0xCA, 0x00, 0xFE, NULL, 0, 256};
    apdu_resp_t r = APDU_RESP_INIT;
    transport_counters_t c;

    setup(TRANSPORT_PROTO_T1);
    fake_card_expect(fc, "00CA00FE00", "6102");
    fake_card_expect(fc, "00C0000002", "AABB9000");
    CU_ASSERT_EQUAL(apdu_transmit(tp, &cmd, &r), ST_OK);
    transport_counters(tp, &c);
    CU_ASSERT_EQUAL(c.apdus, 2);
    CU_ASSERT_EQUAL(c.tx_bytes, 10);
    CU_ASSERT_EQUAL(c.rx_bytes, 6);
    CU_ASSERT_EQUAL(transport_protocol(tp), TRANSPORT_PROTO_T1);
    apdu_resp_free(&r);
    teardown();
}

/*
 * The real PC/SC transport with no pcscd: pointed (PCSCLITE_CSOCK_NAME) at a socket that does
 * not exist, every call reports ST_E_NO_SERVICE and nothing blocks. Runs in a child process:
 * libpcsclite caches the socket name for the life of the process.
 */
static void test_pcsc_no_service(void) {
    char *dir = tu_tmpdir("pcsc");
    pid_t pid;
    int status = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        char sock[512];
        transport_t *t = NULL;
        char **names = NULL;
        size_t n = 0;
        int bad = 0;
        snprintf(sock, sizeof(sock), "%s/no-pcscd.comm", dir);
        setenv("PCSCLITE_CSOCK_NAME", sock, 1);
        bad |= transport_pcsc_new(&t) != ST_OK;
        if (t) {
            bad |= (transport_open(t, "Virtual PCD 00 00") != ST_E_NO_SERVICE) << 1;
            bad |= (transport_protocol(t) != TRANSPORT_PROTO_NONE) << 2;
            bad |= (transport_wait_event(t, "Virtual PCD 00 00", TRANSPORT_WAIT_INSERTED, 10)
                    != ST_E_NO_SERVICE)
                   << 3;
            bad |= (transport_reset(t) != ST_E_STATE) << 4;
            /* a second open re-tries the context: still no service, no crash */
            bad |= (transport_open(t, "Virtual PCD 00 00") != ST_E_NO_SERVICE) << 5;
            transport_free(t);
        }
        bad |= (transport_pcsc_list_readers(&names, &n) != ST_E_NO_SERVICE) << 6;
        bad |= (names != NULL || n != 0) << 7;
        _exit(bad);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status));
    if (WIFEXITED(status) && WEXITSTATUS(status))
        fprintf(stderr, "\npcsc no-service checks failed: mask %#x\n", WEXITSTATUS(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    tu_rmrf(dir);
    free(dir);
}

void test_apdu_register(void) {
    static const tu_test_t tests[] = {
        {"CLA encoding, channels 0-19", test_cla_encoding},
        {"9000 and 91xx are success", test_sw_success},
        {"case 1-4 encoding, T=0 drops Le of case 4", test_encode_cases},
        {"61xx GET RESPONSE chain incl. 61 00", test_get_response_chain},
        {"data before 61xx kept", test_data_with_61xx},
        {"GET RESPONSE CLA per channel", test_get_response_cla},
        {"6Cxx one retry with Le=SW2", test_6cxx_single_retry},
        {"6Cxx no second retry", test_6cxx_no_second_retry},
        {"6C00 then 61xx", test_6c00_then_61xx},
        {"SELECT on T=0 and T=1", test_select_t0_t1},
        {"MANAGE CHANNEL open/close", test_manage_channel},
        {"TERMINAL CAPABILITY tolerates 6D00/6E00", test_terminal_capability},
        {"SW is data, transport errors mid-chain", test_errors},
        {"endless 61xx cut off", test_endless_61xx},
        {"APDU hex only at trace level", test_trace_level},
        {"traffic counters", test_counters},
        {"PC/SC transport without pcscd", test_pcsc_no_service},
    };
    TU_ADD_SUITE("apdu", tests);
}
