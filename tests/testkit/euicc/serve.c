/*
 * serve.c - `ifpp-testkit euicc serve`: one simulated eUICC in one vpcd virtual reader.
 *
 *   euicc serve --state DIR --vpcd-port P [--host 127.0.0.1] [--latency-ms N] [--bps N]
 *               [--max-block N] [--t0-only] [--isdr-aid HEX] [--faults SPEC]
 *               [--bench-fixed-challenge] [--bench-record DIR] [--trace-apdus FILE]
 *
 * Connects to vpcd (retrying until it listens), answers control bytes and APDUs, reconnects
 * when vpcd drops the connection (the card was "removed"; it comes back unpowered), and exits
 * 0 on SIGTERM/SIGINT. Signals are blocked except while waiting (ppoll), so a SIGTERM is never
 * lost between a check and a blocking call.
 *
 * TEST-ONLY benchmark knobs (tests/bench/line_bench.sh replays a recorded station session on
 * a card restored to the same state):
 *   --bench-fixed-challenge  GetEuiccChallenge answers a constant (card.h): the recorded
 *                            AuthoriseFpaServices signature verifies again on replay
 *   --bench-record DIR       appends every exchange to DIR/<EID>.rec, one line each:
 *                            "C <C-APDU hex>", "R <R-APDU hex>", "E on|off|reset" (vpcd power
 *                            events); one directory serves a whole line (`line up` forwards it)
 *
 * TEST-ONLY APDU trace (tests/e2e/test_segments.sh checks the STORE DATA sequences the card
 * received against SGP.22 §2.5.5):
 *   --trace-apdus FILE       appends one line per received C-APDU, flushed per line:
 *                            "<C-APDU hex> <SW1SW2 hex>" (the C-APDU exactly as received, CLA
 *                            and so the channel included; the status word of the answer the
 *                            card sent, after fault injection), "<C-APDU hex> drop" for an
 *                            injected drop, and "# on|off|reset" for vpcd power events. Every
 *                            "{EID}" in FILE is replaced by the card's EID, so one `line up
 *                            --trace-apdus DIR/{EID}.trace` gives each card its own file. The
 *                            response data is not written (no BF37 or other card output).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "card.h"
#include "crypto/cert.h"
#include "faults.h"
#include "testkit.h"
#include "vpcd.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

typedef struct {
    const char *state_dir;
    const char *host;
    uint16_t port;
    card_opts_t opts;
    card_knobs_t knobs;
    sigset_t waitmask; /* the mask to wait with: SIGTERM/SIGINT deliverable */
    uint64_t apdus;
    char eid[33];
    const char *record_dir; /* --bench-record */
    FILE *record;           /* DIR/<EID>.rec, or NULL */
    const char *trace_path; /* --trace-apdus (test-only), "{EID}" not yet replaced */
    FILE *trace;            /* the opened trace file, or NULL */
} serve_t;

/* --bench-record: one line per exchange or power event, flushed (the card may be killed). */
static void record_hex(serve_t *s, char kind, const uint8_t *p, size_t n) {
    if (!s->record)
        return;
    fputc(kind, s->record);
    fputc(' ', s->record);
    for (size_t i = 0; i < n; i++)
        fprintf(s->record, "%02X", p[i]);
    fputc('\n', s->record);
    fflush(s->record);
}

static void record_event(serve_t *s, const char *what) {
    if (s->record) {
        fprintf(s->record, "E %s\n", what);
        fflush(s->record);
    }
    if (s->trace) {
        fprintf(s->trace, "# %s\n", what);
        fflush(s->trace);
    }
}

/* --trace-apdus: "<C-APDU hex> <SW hex>" (or "drop"), one line per APDU, flushed. */
static void trace_apdu(serve_t *s, const buf_t *capdu, const buf_t *resp, bool dropped) {
    if (!s->trace)
        return;
    for (size_t i = 0; i < capdu->len; i++)
        fprintf(s->trace, "%02X", capdu->data[i]);
    if (dropped || resp->len < 2)
        fputs(" drop\n", s->trace);
    else
        fprintf(s->trace, " %02X%02X\n", resp->data[resp->len - 2], resp->data[resp->len - 1]);
    fflush(s->trace);
}

/* Opens the --trace-apdus file with every "{EID}" of the path replaced by the EID. */
static int trace_open(serve_t *s) {
    char path[4096];
    size_t n = 0;
    for (const char *p = s->trace_path; *p;) {
        const char *put = p;
        size_t len = 1;
        if (!strncmp(p, "{EID}", 5)) {
            put = s->eid;
            len = strlen(s->eid);
            p += 5;
        } else {
            p++;
        }
        if (n + len >= sizeof(path)) {
            fprintf(stderr, "ifpp-testkit euicc: --trace-apdus path too long\n");
            return -1;
        }
        memcpy(path + n, put, len);
        n += len;
    }
    path[n] = 0;
    if (!(s->trace = fopen(path, "ae"))) {
        fprintf(stderr, "ifpp-testkit euicc: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Sleeps up to us microseconds; returns early on SIGTERM. */
static void sleep_us(serve_t *s, uint64_t us) {
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000};
    if (us == 0)
        return;
    (void)ppoll(NULL, 0, &ts, &s->waitmask);
}

/* Waits until fd is readable or a signal arrives (ST_E_INTERRUPTED). */
static st_t wait_readable(serve_t *s, int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    for (;;) {
        int r = ppoll(&p, 1, NULL, &s->waitmask);
        if (r > 0)
            return ST_OK;
        if (r < 0 && errno == EINTR)
            return ST_E_INTERRUPTED;
        if (r < 0)
            return ST_E_IO;
    }
}

/* One APDU with the link model and the faults. *drop set: close the connection instead. */
static st_t handle_apdu(serve_t *s, card_t *card, const buf_t *msg, buf_t *resp, bool *drop) {
    const fault_t *f;
    uint64_t n = ++s->apdus;
    st_t st;

    buf_reset(resp);
    *drop = false;
    st_log_hex(ST_LOG_TRACE, "euicc C-APDU", msg->data, msg->len);
    if (faults_find(&s->knobs, n, FAULT_DROP)) {
        st_log(ST_LOG_WARN, "euicc %s: fault drop@%llu: connection closed", s->eid,
               (unsigned long long)n);
        *drop = true;
        trace_apdu(s, msg, resp, true);
        return ST_OK;
    }
    if ((f = faults_find(&s->knobs, n, FAULT_STALL)) != NULL) {
        st_log(ST_LOG_WARN, "euicc %s: fault stall@%llu:%u", s->eid, (unsigned long long)n,
               f->stall_ms);
        sleep_us(s, (uint64_t)f->stall_ms * 1000u);
    }
    if (faults_find(&s->knobs, n, FAULT_SW_6F00)) {
        static const uint8_t sw[] = {0x6F, 0x00};
        st_log(ST_LOG_WARN, "euicc %s: fault 6f00@%llu", s->eid, (unsigned long long)n);
        st = buf_append(resp, sw, sizeof(sw));
    } else {
        st = card_process_apdu(card, msg->data, msg->len, resp);
        if (st != ST_OK && resp->len >= 2)
            st = ST_OK; /* the card already answered 6F00; keep serving */
    }
    if (st != ST_OK)
        return st;
    if (faults_find(&s->knobs, n, FAULT_CORRUPT)) {
        st_log(ST_LOG_WARN, "euicc %s: fault corrupt@%llu", s->eid, (unsigned long long)n);
        faults_corrupt(resp, 0);
    }
    sleep_us(s, knobs_delay_us(&s->knobs, msg->len + resp->len));
    st_log_hex(ST_LOG_TRACE, "euicc R-APDU", resp->data, resp->len);
    record_hex(s, 'C', msg->data, msg->len);
    record_hex(s, 'R', resp->data, resp->len);
    trace_apdu(s, msg, resp, false);
    return ST_OK;
}

/* Serves one vpcd connection until it closes (ST_E_CARD_REMOVED) or a signal. */
static st_t serve_connection(serve_t *s, card_t *card, int fd) {
    buf_t msg = BUF_INIT, resp = BUF_INIT;
    uint8_t atr[CARD_MAX_ATR];
    size_t atr_len;
    bool drop;
    st_t st;

    for (;;) {
        if (g_stop) {
            st = ST_E_INTERRUPTED;
            break;
        }
        if ((st = wait_readable(s, fd)) != ST_OK)
            break;
        if ((st = vpcd_recv(fd, &msg)) != ST_OK)
            break;
        if (msg.len == 1) {
            switch (msg.data[0]) {
            case VPCD_CTRL_OFF:
                st_log(ST_LOG_DEBUG, "euicc %s: power off", s->eid);
                card_power_off(card);
                record_event(s, "off");
                break;
            case VPCD_CTRL_ON:
                st_log(ST_LOG_DEBUG, "euicc %s: power on", s->eid);
                card_power_on(card);
                record_event(s, "on");
                break;
            case VPCD_CTRL_RESET:
                st_log(ST_LOG_DEBUG, "euicc %s: reset", s->eid);
                card_reset(card);
                record_event(s, "reset");
                break;
            case VPCD_CTRL_ATR:
                atr_len = card_atr(card, atr);
                st = vpcd_send(fd, atr, atr_len);
                break;
            default:
                st_log(ST_LOG_WARN, "euicc %s: unknown vpcd control byte %02X", s->eid,
                       msg.data[0]);
                break;
            }
        } else if (msg.len > 1) {
            if ((st = handle_apdu(s, card, &msg, &resp, &drop)) != ST_OK)
                break;
            if (drop) {
                st = ST_E_CANCELLED; /* a pulled card, not a vpcd close */
                break;
            }
            st = vpcd_send(fd, resp.data, resp.len);
        }
        if (st != ST_OK)
            break;
    }
    buf_free(&msg);
    buf_free(&resp);
    return st;
}

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit euicc serve --state DIR --vpcd-port P [--host ADDR]\n"
               "         [--latency-ms N] [--bps N] [--max-block N] [--t0-only]\n"
               "         [--isdr-aid HEX] [--faults drop@N,corrupt@N,6f00@N,stall@N:MS]\n"
               "         [--bench-fixed-challenge] [--bench-record DIR]   (test-only)\n"
               "         [--trace-apdus FILE]   (test-only; {EID} in FILE: the card's EID)\n");
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v) {
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    *v = strtoul(s, &end, 0);
    return !errno && !*end && *v <= max;
}

static int parse_args(serve_t *s, int argc, char **argv) {
    unsigned long v;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--t0-only")) {
            s->opts.t0_only = true;
            continue;
        }
        if (!strcmp(a, "--bench-fixed-challenge")) { /* test-only (card.h) */
            s->opts.bench_fixed_challenge = true;
            continue;
        }
        if (!val) {
            fprintf(stderr, "ifpp-testkit euicc: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--state")) {
            s->state_dir = val;
        } else if (!strcmp(a, "--host")) {
            s->host = val;
        } else if (!strcmp(a, "--vpcd-port") && parse_uint(val, 65535, &v) && v > 0) {
            s->port = (uint16_t)v;
        } else if (!strcmp(a, "--latency-ms") && parse_uint(val, 600000, &v)) {
            s->knobs.latency_ms = (unsigned)v;
        } else if (!strcmp(a, "--bps") && parse_uint(val, 100000000, &v)) {
            s->knobs.bps = (unsigned)v;
        } else if (!strcmp(a, "--max-block") && parse_uint(val, 255, &v) && v > 0) {
            s->opts.max_block = v;
        } else if (!strcmp(a, "--isdr-aid")) {
            if (hex_decode_exact(val, s->opts.isdr_aid, strlen(val) / 2) != ST_OK
                || strlen(val) / 2 < 5 || strlen(val) / 2 > 16) {
                fprintf(stderr, "ifpp-testkit euicc: bad --isdr-aid\n");
                return 2;
            }
            s->opts.isdr_aid_len = strlen(val) / 2;
        } else if (!strcmp(a, "--bench-record")) { /* test-only; opened once the EID is known */
            s->record_dir = val;
        } else if (!strcmp(a, "--trace-apdus") && *val) { /* test-only; likewise */
            s->trace_path = val;
        } else if (!strcmp(a, "--faults")) {
            if (faults_parse(val, &s->knobs) != ST_OK)
                return 2;
        } else {
            fprintf(stderr, "ifpp-testkit euicc: bad option %s %s\n", a, val);
            return 2;
        }
    }
    if (!s->state_dir || !s->port) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int serve_main(int argc, char **argv) {
    serve_t s;
    card_state_t *state = NULL;
    card_t *card = NULL;
    struct sigaction sa;
    sigset_t block;
    int rc, fd = -1;
    bool announced = false;
    st_t st;

    memset(&s, 0, sizeof(s));
    s.host = "127.0.0.1";
    card_opts_default(&s.opts);
    if ((rc = parse_args(&s, argc, argv)) != 0)
        return rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocking wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &s.waitmask);
    sigdelset(&s.waitmask, SIGTERM);
    sigdelset(&s.waitmask, SIGINT);

    if ((st = card_state_load(s.state_dir, &state)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit euicc: cannot load card state %s: %s\n", s.state_dir,
                st_str(st));
        return 1;
    }
    eid_to_str(state->eid, s.eid);
    if (s.record_dir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.rec", s.record_dir, s.eid);
        if (!(s.record = fopen(path, "ae"))) {
            fprintf(stderr, "ifpp-testkit euicc: %s: %s\n", path, strerror(errno));
            card_state_free(state);
            return 1;
        }
    }
    if (s.trace_path && trace_open(&s) != 0) {
        if (s.record)
            fclose(s.record);
        card_state_free(state);
        return 1;
    }
    if ((st = card_new(state, &s.opts, &card)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit euicc: %s\n", st_str(st));
        return 1;
    }
    while (!g_stop) {
        st = vpcd_connect(s.host, s.port, &fd);
        if (st != ST_OK) {
            if (!announced) {
                st_log(ST_LOG_INFO, "euicc %s: waiting for vpcd on %s:%u", s.eid, s.host,
                       (unsigned)s.port);
                announced = true;
            }
            sleep_us(&s, 50000);
            continue;
        }
        announced = false;
        st_log(ST_LOG_INFO, "euicc %s: inserted (vpcd %s:%u)", s.eid, s.host, (unsigned)s.port);
        card_power_off(card); /* a freshly inserted card is unpowered */
        st = serve_connection(&s, card, fd);
        close(fd);
        fd = -1;
        card_power_off(card);
        if (st == ST_E_CARD_REMOVED)
            st_log(ST_LOG_INFO, "euicc %s: removed (vpcd closed the connection)", s.eid);
        else if (st != ST_E_INTERRUPTED && st != ST_E_CANCELLED)
            st_log(ST_LOG_WARN, "euicc %s: connection error: %s", s.eid, st_str(st));
        /* After an injected drop the card stays out for 1.5 s: pcscd polls presence every
         * ~400 ms, and a card back within one poll is never seen as removed (the station
         * would then keep talking to a handle pcscd considers dead). */
        if (!g_stop)
            sleep_us(&s, st == ST_E_CANCELLED ? 1500000 : 50000);
    }
    st_log(ST_LOG_INFO, "euicc %s: stopped after %llu APDUs", s.eid, (unsigned long long)s.apdus);
    card_free(card); /* state was saved after every change */
    if (s.record)
        fclose(s.record);
    if (s.trace)
        fclose(s.trace);
    return 0;
}

int tk_euicc_main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return serve_main(argc, argv);
    usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
    return 2;
}
