/* Unit tests: reader monitor edge derivation (pure) and its rounds over a fake PC/SC backend. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor.h"
#include "monitor_internal.h"
#include "testutil.h"

#define P      MONITOR_STATE_PRESENT
#define E      MONITOR_STATE_EMPTY
#define U      MONITOR_STATE_UNKNOWN
#define CHG    MONITOR_STATE_CHANGED
#define CNT(n) ((uint32_t)(n) << 16)

typedef struct {
    const char *name;
    uint32_t prev, now;
    unsigned want;
} edge_case_t;

static const edge_case_t edge_cases[] = {
    {"empty -> empty", E | CNT(0), E | CNT(0), 0},
    {"empty -> present", E | CNT(0), P | CHG | CNT(1), MONITOR_EDGE_INSERTED},
    {"present -> empty", P | CNT(1), E | CHG | CNT(2), MONITOR_EDGE_REMOVED},
    {"present -> present, same counter", P | CNT(3), P | CNT(3), 0},
    {"present -> present, counter moved (swap)", P | CNT(3), P | CHG | CNT(5),
     MONITOR_EDGE_REMOVED | MONITOR_EDGE_INSERTED},
    {"present -> mute present", P | CNT(1), P | MONITOR_STATE_MUTE | CNT(1), 0},
    {"empty -> mute present", E, P | MONITOR_STATE_MUTE | CNT(1), MONITOR_EDGE_INSERTED},
    {"present -> unknown", P | CNT(1), U | CHG, MONITOR_EDGE_REMOVED | MONITOR_EDGE_GONE},
    {"empty -> unknown", E, U | CHG, MONITOR_EDGE_GONE},
    {"empty -> ignore", E, MONITOR_STATE_IGNORE, MONITOR_EDGE_GONE},
    {"unknown -> unknown", U, U, 0},
    {"unknown -> empty (back)", U, E | CHG, MONITOR_EDGE_ADDED},
    {"unknown -> present (back with card)", U, P | CHG, MONITOR_EDGE_ADDED | MONITOR_EDGE_INSERTED},
    {"in use / exclusive bits do not matter", P | CNT(1), P | MONITOR_STATE_EXCLUSIVE | CNT(1), 0},
    {"unavailable reader counts as empty", P | CNT(1), MONITOR_STATE_UNAVAILABLE | CHG | CNT(1),
     MONITOR_EDGE_REMOVED},
};

static void test_edges_table(void) {
    for (size_t i = 0; i < sizeof(edge_cases) / sizeof(edge_cases[0]); i++) {
        unsigned got = monitor_edges(edge_cases[i].prev, edge_cases[i].now);
        if (got != edge_cases[i].want)
            fprintf(stderr, "\nedge case '%s': got %#x want %#x\n", edge_cases[i].name, got,
                    edge_cases[i].want);
        CU_ASSERT_EQUAL(got, edge_cases[i].want);
    }
}

static monitor_reader_t rd(const char *name, uint32_t state) {
    monitor_reader_t r;

    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", name);
    monitor_reader_id(r.name, r.id, sizeof(r.id));
    r.state = state;
    return r;
}

static void test_diff(void) {
    monitor_event_t ev[16];
    monitor_reader_t prev[3], now[3];
    size_t k;

    /* first round: everything is new */
    now[0] = rd("A 00 00", E);
    now[1] = rd("B 00 00", P | CNT(1));
    k = monitor_diff(NULL, 0, now, 2, ev, 16);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_READER_ADDED);
    CU_ASSERT_STRING_EQUAL(ev[0].reader, "A 00 00");
    CU_ASSERT_STRING_EQUAL(ev[0].id, "A 00");
    CU_ASSERT_EQUAL(ev[1].kind, MONITOR_EV_READER_ADDED);
    CU_ASSERT_STRING_EQUAL(ev[1].reader, "B 00 00");
    CU_ASSERT_EQUAL(ev[2].kind, MONITOR_EV_CARD_INSERTED);
    CU_ASSERT_STRING_EQUAL(ev[2].reader, "B 00 00");
    CU_ASSERT_EQUAL(ev[2].state, P | CNT(1));

    /* B's card swapped, A unplugged (missing from the list), C new and unknown */
    prev[0] = rd("A 00 00", E);
    prev[1] = rd("B 00 00", P | CNT(1));
    now[0] = rd("B 00 00", P | CNT(3));
    now[1] = rd("C 00 00", U);
    k = monitor_diff(prev, 2, now, 2, ev, 16);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_READER_GONE);
    CU_ASSERT_STRING_EQUAL(ev[0].reader, "A 00 00");
    CU_ASSERT_TRUE(ev[0].state & U);
    CU_ASSERT_EQUAL(ev[1].kind, MONITOR_EV_CARD_REMOVED);
    CU_ASSERT_EQUAL(ev[2].kind, MONITOR_EV_CARD_INSERTED);

    /* a present reader vanishing: REMOVED then GONE */
    prev[0] = rd("B 00 00", P | CNT(3));
    k = monitor_diff(prev, 1, NULL, 0, ev, 16);
    CU_ASSERT_EQUAL_FATAL(k, 2);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_CARD_REMOVED);
    CU_ASSERT_EQUAL(ev[1].kind, MONITOR_EV_READER_GONE);

    /* already reported gone (UNKNOWN) and now off the list: nothing more */
    prev[0] = rd("B 00 00", U | CHG);
    CU_ASSERT_EQUAL(monitor_diff(prev, 1, NULL, 0, ev, 16), 0);

    /* gone through its state while still listed */
    prev[0] = rd("B 00 00", P | CNT(3));
    now[0] = rd("B 00 00", U | CHG);
    k = monitor_diff(prev, 1, now, 1, ev, 16);
    CU_ASSERT_EQUAL_FATAL(k, 2);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_CARD_REMOVED);
    CU_ASSERT_EQUAL(ev[1].kind, MONITOR_EV_READER_GONE);

    /* truncation is reported through the return value */
    now[0] = rd("A 00 00", P);
    now[1] = rd("B 00 00", P);
    CU_ASSERT_EQUAL(monitor_diff(NULL, 0, now, 2, ev, 1), 4);
}

static void test_reader_id(void) {
    static const struct {
        const char *name, *id;
    } cases[] = {
        {"Virtual PCD 00 00", "Virtual PCD 00"},
        {"Virtual PCD 00 01", "Virtual PCD 01"},
        {"Virtual PCD 03 01", "Virtual PCD 01"},
        {"Gemalto PC Twin Reader (8F2E1A4B) 00 00", "Gemalto PC Twin Reader (8F2E1A4B) 00"},
        {"Gemalto PC Twin Reader (8F2E1A4B) 02 00", "Gemalto PC Twin Reader (8F2E1A4B) 00"},
        {"Identiv uTrust 4701 F Dual Interface Reader [uTrust 4701 F CL Reader] (55041545201234)"
         " 01 01",
         "Identiv uTrust 4701 F Dual Interface Reader [uTrust 4701 F CL Reader] (55041545201234)"
         " 01"},
        {"plain name", "plain name"},
        {"lower hex 0a 00", "lower hex 0a 00"},
        {"short 0 0", "short 0 0"},
        {"", ""},
    };
    char id[MONITOR_NAME_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        monitor_reader_id(cases[i].name, id, sizeof(id));
        CU_ASSERT_STRING_EQUAL(id, cases[i].id);
    }
}

static void test_assign_ids(void) {
    monitor_reader_t l[4];

    l[0] = rd("Virtual PCD 00 00", E);
    l[1] = rd("Virtual PCD 00 01", E);
    l[2] = rd("Virtual PCD 01 00", E);
    l[3] = rd("Reader (SN1) 00 00", E);
    CU_ASSERT_EQUAL(monitor_assign_ids(l, 4), 2);
    CU_ASSERT_STRING_EQUAL(l[0].id, "Virtual PCD 00 00"); /* collided: full name */
    CU_ASSERT_STRING_EQUAL(l[1].id, "Virtual PCD 01");
    CU_ASSERT_STRING_EQUAL(l[2].id, "Virtual PCD 01 00"); /* collided: full name */
    CU_ASSERT_STRING_EQUAL(l[3].id, "Reader (SN1) 00");
    CU_ASSERT_EQUAL(monitor_assign_ids(l, 2), 0);
    CU_ASSERT_STRING_EQUAL(l[0].id, "Virtual PCD 00");
}

static void test_fixture_size(void) {
    CU_ASSERT_EQUAL(monitor_check_fixture_size(1), ST_OK);
    CU_ASSERT_EQUAL(monitor_check_fixture_size(16), ST_OK);
    CU_ASSERT_EQUAL(monitor_check_fixture_size(17), ST_E_READER_LIMIT);
}

/* ---- fake backend ---- */

static struct {
    int ctx_token;
    bool service_up;
    size_t n_readers;
    char names[20][MONITOR_NAME_MAX];
    uint32_t states[20];
    uint32_t pnp_state;
    st_t wait_status;
    /* what the last wait saw */
    size_t last_n;
    char last_names[MONITOR_MAX_READERS + 1][MONITOR_NAME_MAX];
    uint32_t last_current[MONITOR_MAX_READERS + 1];
    int establishes, releases, cancels;
} fb;

static st_t fb_establish(void **ctx) {
    if (!fb.service_up)
        return ST_E_NO_SERVICE;
    fb.establishes++;
    *ctx = &fb.ctx_token;
    return ST_OK;
}

static void fb_release(void *ctx) {
    (void)ctx;
    fb.releases++;
}

static st_t fb_list(void *ctx, char (*names)[MONITOR_NAME_MAX], size_t cap, size_t *total) {
    (void)ctx;
    if (!fb.service_up)
        return ST_E_NO_SERVICE;
    for (size_t i = 0; i < fb.n_readers && i < cap; i++)
        memcpy(names[i], fb.names[i], MONITOR_NAME_MAX);
    *total = fb.n_readers;
    return ST_OK;
}

static st_t fb_wait(void *ctx, monitor_wait_entry_t *e, size_t n, unsigned timeout_ms) {
    (void)ctx;
    (void)timeout_ms;
    fb.last_n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(fb.last_names[i], MONITOR_NAME_MAX, "%s", e[i].name);
        fb.last_current[i] = e[i].current;
        if (strcmp(e[i].name, MONITOR_PNP_NAME) == 0) {
            e[i].event = fb.pnp_state;
            continue;
        }
        for (size_t j = 0; j < fb.n_readers; j++)
            if (strcmp(e[i].name, fb.names[j]) == 0)
                e[i].event = fb.states[j];
    }
    return fb.wait_status;
}

static st_t fb_cancel(void *ctx) {
    (void)ctx;
    fb.cancels++;
    return ST_OK;
}

static const monitor_backend_t fake_backend = {fb_establish, fb_release, fb_list, fb_wait,
                                               fb_cancel};

static void fb_set(size_t i, const char *name, uint32_t state) {
    snprintf(fb.names[i], MONITOR_NAME_MAX, "%s", name);
    fb.states[i] = state;
}

static size_t drain(monitor_t *m, monitor_event_t *ev, size_t cap) {
    size_t n = 0;

    while (n < cap && monitor_next(m, &ev[n]) == ST_OK)
        n++;
    return n;
}

static void test_rounds(void) {
    monitor_t *m = NULL;
    monitor_event_t ev[64];
    monitor_reader_t snap[MONITOR_MAX_READERS];
    struct pollfd pfd;
    size_t k;

    memset(&fb, 0, sizeof(fb));
    fb.service_up = true;
    fb.pnp_state = CNT(2);
    fb.wait_status = ST_OK;
    fb.n_readers = 2;
    fb_set(0, "Virtual PCD 00 00", E | CHG);
    fb_set(1, "Virtual PCD 00 01", P | CHG | CNT(1));
    CU_ASSERT_EQUAL_FATAL(monitor_create(&fake_backend, NULL, &m), ST_OK);
    CU_ASSERT_TRUE(monitor_fd(m) >= 0);

    /* round 1: both readers new, asked with UNAWARE; PnP watched too */
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(fb.last_n, 3);
    CU_ASSERT_EQUAL(fb.last_current[0], MONITOR_STATE_UNAWARE);
    CU_ASSERT_EQUAL(fb.last_current[1], MONITOR_STATE_UNAWARE);
    CU_ASSERT_STRING_EQUAL(fb.last_names[2], MONITOR_PNP_NAME);
    pfd.fd = monitor_fd(m);
    pfd.events = POLLIN;
    CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 1);
    k = drain(m, ev, 64);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_READER_ADDED);
    CU_ASSERT_STRING_EQUAL(ev[0].id, "Virtual PCD 00");
    CU_ASSERT_EQUAL(ev[1].kind, MONITOR_EV_READER_ADDED);
    CU_ASSERT_STRING_EQUAL(ev[1].id, "Virtual PCD 01");
    CU_ASSERT_EQUAL(ev[2].kind, MONITOR_EV_CARD_INSERTED);
    CU_ASSERT_STRING_EQUAL(ev[2].reader, "Virtual PCD 00 01");
    CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0); /* pipe drained with the queue */
    CU_ASSERT_EQUAL(monitor_snapshot(m, snap, MONITOR_MAX_READERS, &k), ST_OK);
    CU_ASSERT_EQUAL(k, 2);

    /* round 2: dwCurrentState = last dwEventState; card removed from slot 1 */
    fb.states[1] = E | CHG | CNT(2);
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(fb.last_current[0], E | CHG);
    CU_ASSERT_EQUAL(fb.last_current[1], P | CHG | CNT(1));
    CU_ASSERT_EQUAL(fb.last_current[2], CNT(2));
    k = drain(m, ev, 64);
    CU_ASSERT_EQUAL_FATAL(k, 1);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_CARD_REMOVED);
    CU_ASSERT_STRING_EQUAL(ev[0].reader, "Virtual PCD 00 01");

    /* round 3: timeout, nothing happens */
    fb.wait_status = ST_E_TIMEOUT;
    fb.states[0] = P | CNT(9); /* ignored: a timed-out wait reports no change */
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(drain(m, ev, 64), 0);
    fb.wait_status = ST_OK;
    fb.states[0] = E | CHG;

    /* round 4: 17 readers -> one READER_LIMIT error, 16 watched */
    fb.n_readers = 17;
    for (size_t i = 2; i < 17; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Reader (SN%02zu) 00 00", i);
        fb_set(i, name, E);
    }
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    /* pcsc-lite takes at most 16 states per wait: with 16 readers, no PnP entry */
    CU_ASSERT_EQUAL(fb.last_n, MONITOR_MAX_READERS);
    k = drain(m, ev, 64);
    CU_ASSERT_EQUAL_FATAL(k, 15); /* error + 14 added */
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_ERROR);
    CU_ASSERT_EQUAL(ev[0].status, ST_E_READER_LIMIT);
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(drain(m, ev, 64), 0); /* reported once */
    fb.n_readers = 2;
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    k = drain(m, ev, 64);
    CU_ASSERT_EQUAL(k, 14); /* 14 GONE */
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_READER_GONE);

    /* round: pcscd stops -> every reader gone, one NO_SERVICE error, context dropped */
    fb.states[1] = P | CHG | CNT(3);
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(drain(m, ev, 64), 1); /* card inserted again in slot 1 */
    fb.service_up = false;
    CU_ASSERT_EQUAL(monitor_round(m), ST_E_NO_SERVICE);
    k = drain(m, ev, 64);
    CU_ASSERT_EQUAL_FATAL(k, 4);
    CU_ASSERT_EQUAL(ev[0].kind, MONITOR_EV_READER_GONE);
    CU_ASSERT_EQUAL(ev[1].kind, MONITOR_EV_CARD_REMOVED);
    CU_ASSERT_EQUAL(ev[2].kind, MONITOR_EV_READER_GONE);
    CU_ASSERT_EQUAL(ev[3].kind, MONITOR_EV_ERROR);
    CU_ASSERT_EQUAL(ev[3].status, ST_E_NO_SERVICE);
    CU_ASSERT_EQUAL(fb.releases, 1);
    CU_ASSERT_EQUAL(monitor_round(m), ST_E_NO_SERVICE); /* still down: silent */
    CU_ASSERT_EQUAL(drain(m, ev, 64), 0);

    /* pcscd back: new context, readers added again */
    fb.service_up = true;
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(fb.establishes, 2);
    k = drain(m, ev, 64);
    CU_ASSERT_EQUAL(k, 3);

    /* cancelled wait is passed up */
    fb.wait_status = ST_E_CANCELLED;
    CU_ASSERT_EQUAL(monitor_round(m), ST_E_CANCELLED);
    monitor_destroy(m);
}

static void test_pnp_unsupported(void) {
    monitor_t *m = NULL;

    memset(&fb, 0, sizeof(fb));
    fb.service_up = true;
    fb.pnp_state = U | CHG; /* a pcscd without the PnP pseudo-reader */
    fb.n_readers = 1;
    fb_set(0, "R 00 00", E);
    CU_ASSERT_EQUAL_FATAL(monitor_create(&fake_backend, NULL, &m), ST_OK);
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(fb.last_n, 2);
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(fb.last_n, 1); /* dropped: polling instead */
    monitor_destroy(m);
}

static int cb_count;
static monitor_event_kind_t cb_last;

static void count_cb(const monitor_event_t *ev, void *ud) {
    (void)ud;
    cb_count++;
    cb_last = ev->kind;
}

static void test_callback_mode(void) {
    monitor_opts_t o = {count_cb, NULL, 50};
    monitor_event_t ev;
    monitor_t *m = NULL;

    memset(&fb, 0, sizeof(fb));
    fb.service_up = true;
    fb.n_readers = 1;
    fb_set(0, "R 00 00", P | CNT(1));
    cb_count = 0;
    CU_ASSERT_EQUAL_FATAL(monitor_create(&fake_backend, &o, &m), ST_OK);
    CU_ASSERT_EQUAL(monitor_fd(m), -1);
    CU_ASSERT_EQUAL(monitor_round(m), ST_OK);
    CU_ASSERT_EQUAL(cb_count, 2);
    CU_ASSERT_EQUAL(cb_last, MONITOR_EV_CARD_INSERTED);
    CU_ASSERT_EQUAL(monitor_next(m, &ev), ST_E_NOENT);
    monitor_destroy(m);
}

/*
 * The monitor thread over the real PC/SC backend with no pcscd (socket name pointed at a
 * missing file, in a child process because libpcsclite caches it): one NO_SERVICE error event
 * arrives on the pipe, and monitor_stop ends the thread.
 */
static void test_pcsc_thread_no_service(void) {
    char *dir = tu_tmpdir("mon");
    pid_t pid;
    int status = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        char sock[512];
        monitor_opts_t o = {NULL, NULL, 20};
        monitor_t *m = NULL;
        monitor_event_t ev;
        struct pollfd pfd;
        int bad = 0;
        snprintf(sock, sizeof(sock), "%s/no-pcscd.comm", dir);
        setenv("PCSCLITE_CSOCK_NAME", sock, 1);
        if (monitor_start(&o, &m) != ST_OK)
            _exit(1);
        pfd.fd = monitor_fd(m);
        pfd.events = POLLIN;
        bad |= (poll(&pfd, 1, 10000) != 1) << 1; /* generous: not a timing assertion */
        bad |= (monitor_next(m, &ev) != ST_OK) << 2;
        bad |= (ev.kind != MONITOR_EV_ERROR || ev.status != ST_E_NO_SERVICE) << 3;
        monitor_stop(m);
        _exit(bad);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status));
    if (WIFEXITED(status) && WEXITSTATUS(status))
        fprintf(stderr, "\nmonitor no-service checks failed: mask %#x\n", WEXITSTATUS(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    tu_rmrf(dir);
    free(dir);
}

void test_monitor_register(void) {
    static const tu_test_t tests[] = {
        {"edge table", test_edges_table},
        {"list diff", test_diff},
        {"reader identity", test_reader_id},
        {"identity collisions", test_assign_ids},
        {"16-reader limit", test_fixture_size},
        {"rounds over a fake backend", test_rounds},
        {"no PnP pseudo-reader", test_pnp_unsupported},
        {"callback delivery", test_callback_mode},
        {"PC/SC backend thread without pcscd", test_pcsc_thread_no_service},
    };
    TU_ADD_SUITE("monitor", tests);
}
