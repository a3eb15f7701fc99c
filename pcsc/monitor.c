/*
 * monitor.c - reader monitor: pure edge derivation plus the thread that feeds it.
 *
 * Round state machine (one round = monitor_round):
 *
 *   state        step                              outcome
 *   no context   establish                         ok -> listed; fail -> "down"
 *   listed       list readers (<= 16 kept)         > 16 -> ERROR/READER_LIMIT once, keep 16
 *   listed       GetStatusChange(readers + PnP)    change/timeout -> diff -> events
 *                                                  cancelled -> return (stop requested)
 *                                                  no service -> "down"
 *   down         every known reader REMOVED/GONE, ERROR/NO_SERVICE once, context dropped;
 *                the thread sleeps one round and starts again from "no context"
 *
 * Each round passes dwCurrentState = the dwEventState of the previous round (UNAWARE for a
 * reader seen for the first time, so that the call answers at once with its state).
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "monitor_internal.h"

#define MONITOR_QUEUE      256
#define MONITOR_MAX_EVENTS (2 * (2 * MONITOR_MAX_READERS) + 2)

struct monitor {
    const monitor_backend_t *be;
    monitor_opts_t opts;
    pthread_mutex_t lock; /* ctx (against cancel), readers, queue */
    void *ctx;
    monitor_reader_t readers[MONITOR_MAX_READERS];
    size_t n;
    uint32_t pnp_state;
    bool pnp_ok;
    bool down_reported;
    bool limit_reported;
    size_t collisions;
    monitor_event_t queue[MONITOR_QUEUE];
    size_t q_head, q_count;
    int ev_r, ev_w;     /* event pipe (queue mode) */
    int stop_r, stop_w; /* wakes the thread's sleep */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
};

const char *monitor_event_name(monitor_event_kind_t kind) {
    switch (kind) {
    case MONITOR_EV_READER_ADDED:
        return "readerAdded";
    case MONITOR_EV_READER_GONE:
        return "readerGone";
    case MONITOR_EV_CARD_INSERTED:
        return "cardInserted";
    case MONITOR_EV_CARD_REMOVED:
        return "cardRemoved";
    case MONITOR_EV_ERROR:
        return "error";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ pure functions */

static bool st_alive(uint32_t s) {
    return !(s & (MONITOR_STATE_UNKNOWN | MONITOR_STATE_IGNORE));
}

static bool st_present(uint32_t s) {
    return st_alive(s) && (s & MONITOR_STATE_PRESENT);
}

unsigned monitor_edges(uint32_t prev, uint32_t now) {
    bool pa = st_alive(prev), na = st_alive(now);
    bool pp = st_present(prev), np = st_present(now);

    if (pa && !na)
        return (pp ? MONITOR_EDGE_REMOVED : 0u) | MONITOR_EDGE_GONE;
    if (!pa && na)
        return MONITOR_EDGE_ADDED | (np ? MONITOR_EDGE_INSERTED : 0u);
    if (!pa)
        return 0;
    if (!pp && np)
        return MONITOR_EDGE_INSERTED;
    if (pp && !np)
        return MONITOR_EDGE_REMOVED;
    if (pp && np && MONITOR_STATE_COUNTER(prev) != MONITOR_STATE_COUNTER(now))
        return MONITOR_EDGE_REMOVED | MONITOR_EDGE_INSERTED; /* swapped between two rounds */
    return 0;
}

static void emit(monitor_event_t *out, size_t cap, size_t *k, monitor_event_kind_t kind,
                 const monitor_reader_t *r) {
    if (*k < cap) {
        monitor_event_t *e = &out[*k];
        memset(e, 0, sizeof(*e));
        e->kind = kind;
        snprintf(e->reader, sizeof(e->reader), "%s", r->name);
        snprintf(e->id, sizeof(e->id), "%s", r->id[0] ? r->id : r->name);
        e->state = r->state;
        e->status = ST_OK;
    }
    (*k)++;
}

static void emit_edges(monitor_event_t *out, size_t cap, size_t *k, unsigned edges,
                       const monitor_reader_t *r) {
    if (edges & MONITOR_EDGE_ADDED)
        emit(out, cap, k, MONITOR_EV_READER_ADDED, r);
    if (edges & MONITOR_EDGE_REMOVED)
        emit(out, cap, k, MONITOR_EV_CARD_REMOVED, r);
    if (edges & MONITOR_EDGE_INSERTED)
        emit(out, cap, k, MONITOR_EV_CARD_INSERTED, r);
    if (edges & MONITOR_EDGE_GONE)
        emit(out, cap, k, MONITOR_EV_READER_GONE, r);
}

static const monitor_reader_t *find_reader(const monitor_reader_t *list, size_t n,
                                           const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

size_t monitor_diff(const monitor_reader_t *prev, size_t np, const monitor_reader_t *now, size_t nn,
                    monitor_event_t *out, size_t cap) {
    size_t k = 0;

    for (size_t i = 0; i < np; i++) {
        if (find_reader(now, nn, prev[i].name))
            continue;
        /* Vanished from the list; if its last state already said "gone", that was reported.
         * The events carry the last known state with UNKNOWN added. */
        if (st_alive(prev[i].state)) {
            monitor_reader_t gone = prev[i];
            gone.state = prev[i].state | MONITOR_STATE_UNKNOWN;
            emit_edges(out, cap, &k, monitor_edges(prev[i].state, gone.state), &gone);
        }
    }
    for (size_t i = 0; i < nn; i++) {
        const monitor_reader_t *p = find_reader(prev, np, now[i].name);
        unsigned edges;
        if (p)
            edges = monitor_edges(p->state, now[i].state);
        else if (st_alive(now[i].state))
            edges = MONITOR_EDGE_ADDED | (st_present(now[i].state) ? MONITOR_EDGE_INSERTED : 0u);
        else
            edges = 0;
        emit_edges(out, cap, &k, edges, &now[i]);
    }
    return k;
}

static bool is_hex_upper(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

void monitor_reader_id(const char *name, char *out, size_t outlen) {
    size_t l;

    if (!out || outlen == 0)
        return;
    if (!name) {
        out[0] = '\0';
        return;
    }
    l = strlen(name);
    /* "... DD SS": drop DD (plug-order index), keep SS (slot). */
    if (l >= 6 && name[l - 6] == ' ' && is_hex_upper(name[l - 5]) && is_hex_upper(name[l - 4])
        && name[l - 3] == ' ' && is_hex_upper(name[l - 2]) && is_hex_upper(name[l - 1])) {
        snprintf(out, outlen, "%.*s %s", (int)(l - 6), name, name + l - 2);
        return;
    }
    snprintf(out, outlen, "%s", name);
}

size_t monitor_assign_ids(monitor_reader_t *list, size_t n) {
    size_t collided = 0;

    for (size_t i = 0; i < n; i++)
        monitor_reader_id(list[i].name, list[i].id, sizeof(list[i].id));
    for (size_t i = 0; i < n; i++) {
        bool clash = false;
        char id[MONITOR_NAME_MAX];
        monitor_reader_id(list[i].name, id, sizeof(id));
        for (size_t j = 0; j < n && !clash; j++) {
            char other[MONITOR_NAME_MAX];
            if (j == i)
                continue;
            monitor_reader_id(list[j].name, other, sizeof(other));
            clash = strcmp(id, other) == 0;
        }
        if (clash) {
            snprintf(list[i].id, sizeof(list[i].id), "%s", list[i].name);
            collided++;
        }
    }
    return collided;
}

st_t monitor_check_fixture_size(size_t n_readers) {
    /* Pure check: the caller reports the configuration error (ST_E_READER_LIMIT says it). */
    return n_readers > MONITOR_MAX_READERS ? ST_E_READER_LIMIT : ST_OK;
}

/* ------------------------------------------------------------------ delivery */

static void deliver(monitor_t *m, const monitor_event_t *ev) {
    st_log(ST_LOG_DEBUG, "monitor: %s %s%s%s", monitor_event_name(ev->kind), ev->reader,
           ev->kind == MONITOR_EV_ERROR ? ": " : "",
           ev->kind == MONITOR_EV_ERROR ? st_name(ev->status) : "");
    if (m->opts.cb) {
        m->opts.cb(ev, m->opts.ud);
        return;
    }
    pthread_mutex_lock(&m->lock);
    if (m->q_count == MONITOR_QUEUE) {
        pthread_mutex_unlock(&m->lock);
        st_log(ST_LOG_WARN, "monitor: event queue full, %s for %s dropped",
               monitor_event_name(ev->kind), ev->reader);
        return;
    }
    m->queue[(m->q_head + m->q_count) % MONITOR_QUEUE] = *ev;
    m->q_count++;
    pthread_mutex_unlock(&m->lock);
    if (m->ev_w >= 0) {
        ssize_t w;
        do
            w = write(m->ev_w, "e", 1);
        while (w < 0 && errno == EINTR);
    }
}

static void deliver_error(monitor_t *m, st_t status) {
    monitor_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = MONITOR_EV_ERROR;
    ev.status = status;
    deliver(m, &ev);
}

st_t monitor_next(monitor_t *m, monitor_event_t *ev) {
    st_t st = ST_E_NOENT;

    if (!m || !ev)
        return ST_E_INVAL;
    pthread_mutex_lock(&m->lock);
    if (m->q_count) {
        *ev = m->queue[m->q_head];
        m->q_head = (m->q_head + 1) % MONITOR_QUEUE;
        m->q_count--;
        st = ST_OK;
    }
    pthread_mutex_unlock(&m->lock);
    if (st == ST_OK && m->ev_r >= 0) {
        char c;
        (void)!read(m->ev_r, &c, 1); /* non-blocking; one byte per event */
    }
    return st;
}

int monitor_fd(const monitor_t *m) {
    return m ? m->ev_r : -1;
}

st_t monitor_snapshot(monitor_t *m, monitor_reader_t *out, size_t cap, size_t *n) {
    if (!m || !n || (cap && !out))
        return ST_E_INVAL;
    pthread_mutex_lock(&m->lock);
    *n = m->n < cap ? m->n : cap;
    if (*n)
        memcpy(out, m->readers, *n * sizeof(*out));
    pthread_mutex_unlock(&m->lock);
    return ST_OK;
}

/* ------------------------------------------------------------------ rounds */

static void apply(monitor_t *m, const monitor_reader_t *now, size_t nn) {
    monitor_event_t evs[MONITOR_MAX_EVENTS];
    size_t k = monitor_diff(m->readers, m->n, now, nn, evs, MONITOR_MAX_EVENTS);

    pthread_mutex_lock(&m->lock);
    if (nn)
        memcpy(m->readers, now, nn * sizeof(*now));
    m->n = nn;
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < k && i < MONITOR_MAX_EVENTS; i++)
        deliver(m, &evs[i]);
}

/* pcscd went away: every reader is gone for us; the context is useless. */
static void service_down(monitor_t *m, st_t st) {
    pthread_mutex_lock(&m->lock);
    if (m->ctx)
        m->be->release(m->ctx);
    m->ctx = NULL;
    pthread_mutex_unlock(&m->lock);
    m->pnp_state = 0;
    apply(m, NULL, 0);
    if (!m->down_reported) {
        st_log(ST_LOG_WARN, "monitor: PC/SC service unavailable (%s)", st_name(st));
        deliver_error(m, st);
        m->down_reported = true;
    }
}

st_t monitor_round(monitor_t *m) {
    char names[MONITOR_MAX_READERS][MONITOR_NAME_MAX];
    monitor_wait_entry_t e[MONITOR_MAX_READERS + 1];
    monitor_reader_t now[MONITOR_MAX_READERS];
    size_t total = 0, n, ne;
    size_t collided;
    st_t st;

    if (!m)
        return ST_E_INVAL;
    if (!m->ctx) {
        void *ctx = NULL;
        st = m->be->establish(&ctx);
        if (st != ST_OK) {
            service_down(m, st);
            return st;
        }
        pthread_mutex_lock(&m->lock);
        m->ctx = ctx;
        pthread_mutex_unlock(&m->lock);
    }
    st = m->be->list(m->ctx, names, MONITOR_MAX_READERS, &total);
    if (st == ST_E_NO_SERVICE) {
        service_down(m, st);
        return st;
    }
    if (st != ST_OK)
        return st;
    m->down_reported = false;
    n = total;
    if (total > MONITOR_MAX_READERS) {
        n = MONITOR_MAX_READERS;
        if (!m->limit_reported) {
            st_log(ST_LOG_WARN,
                   "monitor: pcscd lists %zu readers; only the first %d are "
                   "watched",
                   total, MONITOR_MAX_READERS);
            deliver_error(m, ST_E_READER_LIMIT);
            m->limit_reported = true;
        }
    } else {
        m->limit_reported = false;
    }
    for (size_t i = 0; i < n; i++) {
        const monitor_reader_t *p = find_reader(m->readers, m->n, names[i]);
        e[i].name = names[i];
        e[i].current = p ? p->state : MONITOR_STATE_UNAWARE;
        e[i].event = e[i].current;
    }
    ne = n;
    /* pcsc-lite 1.9.9 refuses more than 16 reader states in one SCardGetStatusChange
     * (SCARD_E_INVALID_PARAMETER), PnP entry included. With 16 readers listed pcscd is full,
     * so no reader can appear; a vanishing one shows in its own state. Wait without PnP. */
    bool with_pnp = m->pnp_ok && n < MONITOR_MAX_READERS;
    if (with_pnp) {
        e[ne].name = MONITOR_PNP_NAME;
        e[ne].current = m->pnp_state;
        e[ne].event = m->pnp_state;
        ne++;
    }
    st = m->be->wait(m->ctx, e, ne, m->opts.timeout_ms);
    if (st == ST_E_TIMEOUT) {
        for (size_t i = 0; i < ne; i++)
            e[i].event = e[i].current;
        st = ST_OK;
    }
    if (st == ST_E_NO_SERVICE) {
        service_down(m, st);
        return st;
    }
    if (st != ST_OK)
        return st; /* ST_E_CANCELLED, or a reader vanished between list and wait */
    if (with_pnp) {
        if (e[n].event & MONITOR_STATE_UNKNOWN) {
            /* No PnP notification in this pcscd: the finite timeout re-lists instead. */
            st_log(ST_LOG_INFO, "monitor: no \\\\?PnP?\\Notification, polling the reader list");
            m->pnp_ok = false;
        } else {
            m->pnp_state = e[n].event;
        }
    }
    for (size_t i = 0; i < n; i++) {
        memset(&now[i], 0, sizeof(now[i]));
        memcpy(now[i].name, names[i], sizeof(now[i].name)); /* same size, NUL-terminated */
        now[i].state = e[i].event;
    }
    collided = monitor_assign_ids(now, n);
    if (collided && collided != m->collisions)
        st_log(ST_LOG_WARN,
               "monitor: %zu readers share an identity (identical readers without a "
               "serial); their full names are used and depend on plug order",
               collided);
    m->collisions = collided;
    apply(m, now, n);
    return ST_OK;
}

/* ------------------------------------------------------------------ lifecycle */

static st_t make_pipe(int *r, int *w) {
    int fds[2];

    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return st_from_errno(errno);
    *r = fds[0];
    *w = fds[1];
    return ST_OK;
}

st_t monitor_create(const monitor_backend_t *be, const monitor_opts_t *opts, monitor_t **out) {
    monitor_t *m = NULL;
    st_t st;

    if (!be || !out)
        return ST_E_INVAL;
    *out = NULL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return ST_E_NOMEM;
    m->ev_r = m->ev_w = m->stop_r = m->stop_w = -1;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return ST_E_NOMEM;
    }
    m->be = be;
    if (opts)
        m->opts = *opts;
    if (m->opts.timeout_ms == 0)
        m->opts.timeout_ms = 1000;
    m->pnp_ok = true;
    atomic_init(&m->stop, false);
    st = make_pipe(&m->stop_r, &m->stop_w);
    if (st == ST_OK && !m->opts.cb)
        st = make_pipe(&m->ev_r, &m->ev_w);
    if (st != ST_OK) {
        monitor_destroy(m);
        return st;
    }
    *out = m;
    return ST_OK;
}

void monitor_destroy(monitor_t *m) {
    if (!m)
        return;
    if (m->ctx)
        m->be->release(m->ctx);
    if (m->ev_r >= 0)
        close(m->ev_r);
    if (m->ev_w >= 0)
        close(m->ev_w);
    if (m->stop_r >= 0)
        close(m->stop_r);
    if (m->stop_w >= 0)
        close(m->stop_w);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void *monitor_thread(void *arg) {
    monitor_t *m = arg;

    while (!atomic_load(&m->stop)) {
        st_t st = monitor_round(m);
        if (st == ST_OK || st == ST_E_CANCELLED)
            continue;
        /* pcscd down or a transient error: wait one round (interruptible by stop). */
        struct pollfd p = {.fd = m->stop_r, .events = POLLIN};
        (void)poll(&p, 1, (int)m->opts.timeout_ms);
    }
    return NULL;
}

st_t monitor_start(const monitor_opts_t *opts, monitor_t **out) {
    monitor_t *m = NULL;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    st = monitor_create(monitor_pcsc_backend(), opts, &m);
    if (st != ST_OK)
        return st;
    if (pthread_create(&m->thread, NULL, monitor_thread, m) != 0) {
        monitor_destroy(m);
        return ST_E_NOMEM;
    }
    m->thread_started = true;
    *out = m;
    return ST_OK;
}

void monitor_stop(monitor_t *m) {
    if (!m)
        return;
    atomic_store(&m->stop, true);
    if (m->stop_w >= 0) {
        ssize_t w;
        do
            w = write(m->stop_w, "s", 1);
        while (w < 0 && errno == EINTR);
    }
    /* SCardCancel must use the context of the blocked SCardGetStatusChange (pcsc-lite). A
     * cancel that lands between two rounds is lost; the round's finite timeout bounds it. */
    pthread_mutex_lock(&m->lock);
    if (m->ctx)
        (void)m->be->cancel(m->ctx);
    pthread_mutex_unlock(&m->lock);
    if (m->thread_started)
        pthread_join(m->thread, NULL);
    monitor_destroy(m);
}
