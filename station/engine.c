/*
 * engine.c - the engine's threads (DESIGN §3): the monitor thread (pcsc/monitor.h, its own
 * SCARDCONTEXT) turns reader events into per-reader work; one worker thread per reader owns a
 * PC/SC transport (its own SCARDCONTEXT) and a store connection and runs the jobs (job.c).
 *
 * Locking: one engine mutex guards the worker table, every worker's flags and snapshot entry,
 * the counters and the cached bundle statistics. It is never held across a card or store
 * call. Each worker waits on its own condition variable. The monitor callback only flips
 * flags and signals (it must not block); a worker is started the first time its reader
 * appears and lives until engine_stop().
 *
 * Worker loop (per reader):
 *   wait until stop, a queued command, a card insertion (auto_load) or a due retry
 *   -> open the transport (exclusive) -> job_run -> close -> counters, bundle stats, notify.
 * Transient faults: a job that lost its card while the monitor still sees it present (an
 * I/O error, a reset storm) is retried after ENGINE_RETRY_MS, at most ENGINE_MAX_RETRIES times
 * per insertion; a real removal cancels that and the next insertion starts a fresh job (whose
 * recovery settles the interrupted BPP from the card).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "crypto/ec.h"
#include "engine_internal.h"
#include "monitor.h"

#define ENGINE_RETRY_MS     2000
#define ENGINE_MAX_RETRIES  3
#define ENGINE_TIMES        512 /* verdict times kept for units/hour */
#define ENGINE_STATS_MIN_MS 500 /* bundle statistics refreshed at most this often */

typedef struct worker {
    struct engine *e;
    char name[ENGINE_NAME_MAX];
    pthread_t thread;
    bool started;
    pthread_cond_t cond;
    /* guarded by e->lock */
    bool present, gone, running, insert_pending, cmd_pending;
    engine_cmd_t cmd;
    char cmd_op[STORE_NAME_MAX];
    unsigned retries;
    int64_t retry_at; /* 0: none */
    int64_t stats_ms; /* last bundle statistics refresh by this worker */
    engine_reader_snap_t snap;
} worker_t;

struct engine {
    const config_t *cfg;
    char *store_path;
    char *op;
    bool auto_load;
    engine_change_cb on_change;
    void *ud;
    EVP_PKEY *dm_key;
    int lock_fd;

    pthread_mutex_t lock;
    pthread_mutex_t store_write; /* the workers' write transactions queue here (store.h) */
    worker_t *w[ENGINE_MAX_READERS];
    size_t n;
    monitor_t *mon;
    bool started;
    atomic_bool stop, abandon;

    /* snapshot data, guarded by lock */
    bool service_down;
    uint64_t seq, installed;
    engine_units_t units; /* verdicts per device */
    int64_t times[ENGINE_TIMES];
    size_t n_times, times_pos;
    int64_t started_ms, last_change_ms;
    store_bundle_stats_t bundles[ENGINE_SNAP_BUNDLES];
    size_t n_bundles;
    uint64_t pending;
    char **initial; /* readers present at start (engine_idle waits for them) */
    size_t n_initial;

    int ev_r, ev_w;
    atomic_bool ev_armed;
};

/* ---- change notification ---- */

static void notify(engine_t *e) {
    pthread_mutex_lock(&e->lock);
    e->seq++;
    e->last_change_ms = engine_now_ms();
    pthread_mutex_unlock(&e->lock);
    if (e->ev_w >= 0 && !atomic_exchange(&e->ev_armed, true)) {
        ssize_t r;
        do
            r = write(e->ev_w, "c", 1);
        while (r < 0 && errno == EINTR);
    }
    if (e->on_change)
        e->on_change(e->ud);
}

int engine_event_fd(const engine_t *e) {
    return e ? e->ev_r : -1;
}

void engine_event_ack(engine_t *e) {
    char buf[16];

    if (!e || e->ev_r < 0)
        return;
    /* Drain first, then disarm: a change signalled between the two finds the flag still set
     * and writes nothing, but the caller's snapshot (taken after this) sees it; disarming
     * first would let a byte written in between be drained while the flag stays set, and
     * every later change would go unsignalled. */
    while (read(e->ev_r, buf, sizeof(buf)) > 0)
        ;
    atomic_store(&e->ev_armed, false);
}

/* Bundle statistics into the snapshot cache (the caller's store connection). */
static void refresh_bundles(engine_t *e, store_t *s) {
    store_stats_list_t l = {0};
    uint64_t pending = 0;

    if (store_bundle_stats(s, &l) != ST_OK)
        return;
    for (size_t i = 0; i < l.n; i++)
        pending += l.v[i].count[STORE_BPP_PENDING] + l.v[i].count[STORE_BPP_FAILED];
    pthread_mutex_lock(&e->lock);
    e->n_bundles = l.n < ENGINE_SNAP_BUNDLES ? l.n : ENGINE_SNAP_BUNDLES;
    if (e->n_bundles)
        memcpy(e->bundles, l.v, e->n_bundles * sizeof(e->bundles[0]));
    e->pending = pending;
    pthread_mutex_unlock(&e->lock);
    store_stats_list_free(&l);
}

/* ---- reader matching ---- */

static bool reader_matches(const config_t *cfg, const char *name, const char *query) {
    char id[MONITOR_NAME_MAX];
    const char *label;

    if (!strcmp(name, query))
        return true;
    monitor_reader_id(name, id, sizeof(id));
    if (!strcmp(id, query))
        return true;
    label = cfg ? config_slot_label(cfg, name) : NULL;
    if (label && !strcmp(label, query))
        return true;
    return query[0] == '(' && strstr(name, query) != NULL; /* "(serial)" */
}

/* With [readers] slots configured, only those readers are driven. */
static bool reader_allowed(const config_t *cfg, const char *name) {
    return !cfg || cfg->readers.n_slots == 0 || config_slot_label(cfg, name) != NULL;
}

static void snap_init(const engine_t *e, engine_reader_snap_t *s, const char *name) {
    const char *label = e->cfg ? config_slot_label(e->cfg, name) : NULL;

    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    monitor_reader_id(name, s->id, sizeof(s->id));
    snprintf(s->label, sizeof(s->label), "%s", label ? label : "");
    s->state = ENGINE_SLOT_EMPTY;
    s->bpp_command_id = s->error_reason = s->fpa_error = -1;
    s->changed_ms = engine_now_ms();
}

/* ---- jobs ---- */

static void job_changed(void *ud, bool store_changed) {
    worker_t *w = ud;
    (void)store_changed; /* bundle statistics: refreshed by the worker between BPPs */
    notify(w->e);
}

typedef struct {
    worker_t *w;
    store_t *s;
} job_ud_t;

static void job_changed_stats(void *ud, bool store_changed) {
    job_ud_t *u = ud;
    engine_t *e = u->w->e;
    int64_t now = engine_now_ms();

    if (store_changed && now - u->w->stats_ms >= ENGINE_STATS_MIN_MS) {
        u->w->stats_ms = now;
        refresh_bundles(e, u->s);
    }
    job_changed(u->w, store_changed);
}

/* Counts a verdict per device (lock held); the units/h clock counts new units only. */
static void count_verdict(engine_t *e, const engine_reader_snap_t *snap, uint32_t installed) {
    e->installed += installed;
    if (!engine_units_add(&e->units, snap->has_eid ? snap->eid : NULL, snap->state))
        return;
    e->times[e->times_pos] = engine_now_ms();
    e->times_pos = (e->times_pos + 1) % ENGINE_TIMES;
    if (e->n_times < ENGINE_TIMES)
        e->n_times++;
}

/* Opens the reader and runs one job on it; returns the job's status. */
static st_t run_job(engine_t *e, pthread_mutex_t *lock, engine_reader_snap_t *snap, transport_t *t,
                    store_t *s, engine_cmd_t cmd, const char *op, void (*changed)(void *, bool),
                    void *ud, uint32_t *installed) {
    job_ctx_t j;
    st_t st;

    *installed = 0;
    st = transport_open(t, snap->name);
    if (st != ST_OK) {
        const char *why = st == ST_E_NO_CARD   ? "no card in the reader"
                          : st == ST_E_SHARING ? "the reader is in use by another program"
                                               : "the reader cannot be opened";
        pthread_mutex_lock(lock);
        if (st == ST_E_NO_CARD && !engine_slot_busy(snap->state))
            snap->state = ENGINE_SLOT_EMPTY;
        snprintf(snap->error, sizeof(snap->error), "%s", why);
        snprintf(snap->detail, sizeof(snap->detail), "%s", st_name(st));
        snap->changed_ms = engine_now_ms();
        pthread_mutex_unlock(lock);
        st_log(ST_LOG_WARN, "engine: %s: %s (%s)", snap->name, why, st_name(st));
        if (changed)
            changed(ud, false);
        return st;
    }
    memset(&j, 0, sizeof(j));
    j.cfg = e->cfg;
    j.store = s;
    j.dm_key = e->dm_key;
    j.t = t;
    j.reader = snap->name;
    j.op = op && *op ? op : e->op;
    j.cmd = cmd;
    j.stop = &e->stop;
    j.abandon = &e->abandon;
    j.lock = lock;
    j.snap = snap;
    j.changed = changed;
    j.ud = ud;
    st = job_run(&j);
    *installed = j.tally.installed;
    job_cleanup(&j);
    transport_close(t);
    return st;
}

static void *worker_main(void *arg) {
    worker_t *w = arg;
    engine_t *e = w->e;
    transport_t *t = NULL;
    store_t *s = NULL;
    st_t st;

    st = transport_pcsc_new(&t);
    if (st == ST_OK)
        st = store_open(e->store_path, 0, &s);
    if (st == ST_OK && e->cfg)
        st = store_set_busy_timeout(s, e->cfg->store.busy_timeout_ms);
    if (st == ST_OK)
        store_set_write_mutex(s, &e->store_write);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "engine: %s: worker cannot start: %s", w->name, st_str(st));
        pthread_mutex_lock(&e->lock);
        snprintf(w->snap.error, sizeof(w->snap.error), "station error: %s", st_str(st));
        pthread_mutex_unlock(&e->lock);
        notify(e);
    }

    pthread_mutex_lock(&e->lock);
    while (!atomic_load(&e->stop)) {
        int64_t now = engine_now_ms();
        bool retry = w->retry_at && now >= w->retry_at && w->present;
        engine_cmd_t cmd;
        char op[STORE_NAME_MAX];
        uint32_t installed;
        job_ud_t u;

        if (st == ST_OK && !w->gone && (w->cmd_pending || w->insert_pending || retry)) {
            cmd = w->cmd_pending ? w->cmd : ENGINE_CMD_LOAD;
            snprintf(op, sizeof(op), "%s", w->cmd_pending ? w->cmd_op : "");
            w->cmd_pending = w->insert_pending = false;
            w->retry_at = 0;
            w->running = true;
            pthread_mutex_unlock(&e->lock);

            u.w = w;
            u.s = s;
            st_t js =
                run_job(e, &e->lock, &w->snap, t, s, cmd, op, job_changed_stats, &u, &installed);
            refresh_bundles(e, s);
            w->stats_ms = engine_now_ms();

            pthread_mutex_lock(&e->lock);
            w->running = false;
            if (js == ST_OK)
                count_verdict(e, &w->snap, installed);
            if (js != ST_OK && js != ST_E_CANCELLED && w->present && !w->insert_pending
                && w->retries < ENGINE_MAX_RETRIES) {
                /* the monitor still sees the card: a transient fault, retry (bounded) */
                w->retries++;
                w->retry_at = engine_now_ms() + ENGINE_RETRY_MS;
                st_log(ST_LOG_INFO, "engine: %s: retrying in %d ms (%u/%d)", w->name,
                       ENGINE_RETRY_MS, w->retries, ENGINE_MAX_RETRIES);
            }
            if (!w->present && w->snap.state != ENGINE_SLOT_GONE)
                w->snap.state = engine_slot_next(w->snap.state, ENGINE_EV_REMOVED);
            w->snap.card_present = w->present;
            pthread_mutex_unlock(&e->lock);
            notify(e);
            pthread_mutex_lock(&e->lock);
            continue;
        }
        if (w->retry_at && w->present) {
            struct timespec ts;
            int64_t wait_ms = w->retry_at - now;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&w->cond, &e->lock, &ts);
        } else {
            pthread_cond_wait(&w->cond, &e->lock);
        }
    }
    pthread_mutex_unlock(&e->lock);
    store_close(s);
    transport_free(t);
    return NULL;
}

/* ---- monitor ---- */

static worker_t *find_worker(engine_t *e, const char *name) {
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->w[i]->name, name))
            return e->w[i];
    return NULL;
}

/* Lock held. */
static worker_t *worker_add(engine_t *e, const char *name) {
    worker_t *w;
    unsigned max = e->cfg && e->cfg->readers.max ? e->cfg->readers.max : ENGINE_MAX_READERS;

    if (e->n >= max || e->n >= ENGINE_MAX_READERS) {
        st_log(ST_LOG_WARN, "engine: reader %s ignored: %zu readers already (max %u)", name, e->n,
               max);
        return NULL;
    }
    if (!(w = calloc(1, sizeof(*w))))
        return NULL;
    w->e = e;
    snprintf(w->name, sizeof(w->name), "%s", name);
    snap_init(e, &w->snap, name);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        st_log(ST_LOG_ERR, "engine: %s: cannot start its worker thread", name);
        pthread_cond_destroy(&w->cond);
        free(w);
        return NULL;
    }
    w->started = true;
    e->w[e->n++] = w;
    st_log(ST_LOG_INFO, "engine: reader %s%s%s", name, w->snap.label[0] ? " = slot " : "",
           w->snap.label);
    return w;
}

static void on_monitor(const monitor_event_t *ev, void *ud) {
    engine_t *e = ud;
    worker_t *w;

    pthread_mutex_lock(&e->lock);
    if (ev->kind == MONITOR_EV_ERROR) {
        e->service_down = ev->status == ST_E_NO_SERVICE;
        st_log(ST_LOG_WARN, "engine: reader monitor: %s", st_str(ev->status));
        pthread_mutex_unlock(&e->lock);
        notify(e);
        return;
    }
    e->service_down = false;
    w = find_worker(e, ev->reader);
    if (!w && (ev->kind == MONITOR_EV_READER_ADDED || ev->kind == MONITOR_EV_CARD_INSERTED)) {
        if (!reader_allowed(e->cfg, ev->reader)) {
            if (ev->kind == MONITOR_EV_READER_ADDED)
                st_log(ST_LOG_INFO, "engine: reader %s is not a configured slot; ignored",
                       ev->reader);
            pthread_mutex_unlock(&e->lock);
            return;
        }
        w = worker_add(e, ev->reader);
    }
    if (!w) {
        pthread_mutex_unlock(&e->lock);
        return;
    }
    switch (ev->kind) {
    case MONITOR_EV_READER_ADDED:
        w->gone = false;
        if (w->snap.state == ENGINE_SLOT_GONE)
            w->snap.state = ENGINE_SLOT_EMPTY;
        break;
    case MONITOR_EV_CARD_INSERTED:
        w->present = true;
        w->gone = false;
        w->insert_pending = e->auto_load;
        w->retries = 0;
        w->retry_at = 0;
        if (!w->running) {
            w->snap.state = engine_slot_next(w->snap.state, ENGINE_EV_INSERTED);
            w->snap.has_eid = false;
            w->snap.eid[0] = '\0';
        }
        break;
    case MONITOR_EV_CARD_REMOVED:
        w->present = false;
        w->insert_pending = false;
        w->retry_at = 0;
        if (!w->running) {
            w->snap.state = engine_slot_next(w->snap.state, ENGINE_EV_REMOVED);
            if (!w->snap.interrupted)
                w->snap.error[0] = w->snap.detail[0] = '\0';
        }
        break;
    case MONITOR_EV_READER_GONE:
        w->gone = true;
        w->present = false;
        w->insert_pending = false;
        w->retry_at = 0;
        if (!w->running)
            w->snap.state = ENGINE_SLOT_GONE;
        break;
    case MONITOR_EV_ERROR:
        break;
    }
    w->snap.card_present = w->present;
    w->snap.changed_ms = engine_now_ms();
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&e->lock);
    notify(e);
}

/* ---- life cycle ---- */

static st_t take_lock(const char *path, int *fd_out) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    *fd_out = -1;
    if (fd < 0)
        return st_from_errno(errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(fd);
        return err == EWOULDBLOCK ? ST_E_LOCKED : st_from_errno(err);
    }
    *fd_out = fd;
    return ST_OK;
}

st_t engine_create(const engine_opts_t *opts, engine_t **out) {
    engine_t *e = NULL;
    store_t *s = NULL;
    int p[2];
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    if (!opts || !opts->store_path)
        return ST_E_INVAL;
    if (!(e = calloc(1, sizeof(*e))))
        return ST_E_NOMEM;
    e->lock_fd = e->ev_r = e->ev_w = -1;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->store_write, NULL);
    atomic_init(&e->stop, false);
    atomic_init(&e->abandon, false);
    atomic_init(&e->ev_armed, false);
    e->cfg = opts->cfg;
    e->auto_load = opts->auto_load;
    e->on_change = opts->on_change;
    e->ud = opts->ud;
    e->store_path = strdup(opts->store_path);
    e->op = strdup(opts->op && *opts->op ? opts->op : ENGINE_DEFAULT_OPERATOR);
    if (!e->store_path || !e->op) {
        st = ST_E_NOMEM;
        goto fail;
    }
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        st = st_from_errno(errno);
        goto fail;
    }
    e->ev_r = p[0];
    e->ev_w = p[1];
    if (opts->lock_path && (st = take_lock(opts->lock_path, &e->lock_fd)) != ST_OK) {
        if (st == ST_E_LOCKED)
            st_log(ST_LOG_ERR, "engine: %s is held by another station process", opts->lock_path);
        goto fail;
    }
    if (!e->cfg || !e->cfg->dm.key) {
        st_log(ST_LOG_ERR, "engine: no DM key configured ([dm] key): FPA services cannot be "
                           "authorised");
        st = ST_E_CONFIG;
        goto fail;
    }
    st = ec_key_load_pem(e->cfg->dm.key, &e->dm_key);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "engine: cannot load the DM key %s: %s", e->cfg->dm.key, st_str(st));
        st = ST_E_CONFIG;
        goto fail;
    }
    st = store_open(e->store_path, 0, &s);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "engine: cannot open the store %s: %s", e->store_path, st_str(st));
        goto fail;
    }
    refresh_bundles(e, s);
    store_close(s);
    *out = e;
    return ST_OK;
fail:
    engine_free(e);
    return st;
}

st_t engine_start(engine_t *e) {
    monitor_opts_t mo;
    char **names = NULL;
    size_t n = 0;
    st_t st;

    if (!e)
        return ST_E_INVAL;
    if (e->started || atomic_load(&e->stop))
        return ST_E_STATE;
    /* readers present now: engine_idle() waits until the monitor reported each one */
    if (transport_pcsc_list_readers(&names, &n) == ST_OK) {
        e->initial = names;
        e->n_initial = n;
    }
    e->started_ms = e->last_change_ms = engine_now_ms();
    memset(&mo, 0, sizeof(mo));
    mo.cb = on_monitor;
    mo.ud = e;
    st = monitor_start(&mo, &e->mon);
    if (st != ST_OK)
        return st;
    e->started = true;
    notify(e);
    return ST_OK;
}

void engine_stop(engine_t *e, bool abandon) {
    if (!e)
        return;
    if (abandon)
        atomic_store(&e->abandon, true);
    atomic_store(&e->stop, true);
    if (!e->started)
        return;
    monitor_stop(e->mon); /* joins the monitor thread: no callback after this */
    e->mon = NULL;
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->n; i++)
        pthread_cond_signal(&e->w[i]->cond);
    pthread_mutex_unlock(&e->lock);
    for (size_t i = 0; i < e->n; i++)
        if (e->w[i]->started) {
            pthread_join(e->w[i]->thread, NULL);
            e->w[i]->started = false;
        }
    e->started = false;
    st_log(ST_LOG_INFO,
           "engine: stopped (%" PRIu64 " pass, %" PRIu64 " fail, %" PRIu64 " attention)",
           e->units.passed, e->units.failed, e->units.attention);
    notify(e);
}

void engine_abandon(engine_t *e) {
    if (e)
        atomic_store(&e->abandon, true);
}

void engine_free(engine_t *e) {
    if (!e)
        return;
    engine_stop(e, false);
    for (size_t i = 0; i < e->n; i++) {
        pthread_cond_destroy(&e->w[i]->cond);
        free(e->w[i]);
    }
    transport_reader_list_free(e->initial, e->n_initial);
    EVP_PKEY_free(e->dm_key);
    if (e->lock_fd >= 0)
        close(e->lock_fd); /* releases the flock */
    if (e->ev_r >= 0)
        close(e->ev_r);
    if (e->ev_w >= 0)
        close(e->ev_w);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->store_write);
    engine_units_free(&e->units);
    free(e->store_path);
    free(e->op);
    free(e);
}

/* ---- commands and snapshot ---- */

st_t engine_command(engine_t *e, const char *reader, engine_cmd_t cmd, const char *op) {
    size_t queued = 0;
    bool busy = false;

    if (!e || cmd < ENGINE_CMD_LOAD || cmd > ENGINE_CMD_DELETE_KEYS)
        return ST_E_INVAL;
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->n; i++) {
        worker_t *w = e->w[i];
        if (reader ? !reader_matches(e->cfg, w->name, reader) : (!w->present || w->gone))
            continue;
        if (w->cmd_pending) {
            busy = true;
            continue;
        }
        w->cmd = cmd;
        snprintf(w->cmd_op, sizeof(w->cmd_op), "%s", op && *op ? op : e->op);
        w->cmd_pending = true;
        pthread_cond_signal(&w->cond);
        queued++;
        if (reader)
            break;
    }
    pthread_mutex_unlock(&e->lock);
    if (queued)
        notify(e);
    if (queued == 0 && busy)
        return ST_E_STATE;
    return queued || !reader ? ST_OK : ST_E_NO_READER;
}

void engine_snapshot(engine_t *e, engine_snapshot_t *out) {
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    out->seq = e->seq;
    out->running = e->started;
    out->service_down = e->service_down;
    out->n_readers = e->n;
    for (size_t i = 0; i < e->n; i++)
        out->readers[i] = e->w[i]->snap;
    out->passed = e->units.passed;
    out->failed = e->units.failed;
    out->attention = e->units.attention;
    out->verdicts = e->units.verdicts;
    out->installed = e->installed;
    out->units_per_hour =
        engine_units_per_hour(e->times, e->n_times, engine_now_ms(), e->started_ms);
    out->n_bundles = e->n_bundles;
    if (e->n_bundles)
        memcpy(out->bundles, e->bundles, e->n_bundles * sizeof(e->bundles[0]));
    out->pending = e->pending;
    pthread_mutex_unlock(&e->lock);
}

bool engine_idle(engine_t *e, unsigned quiet_ms, unsigned settle_ms) {
    int64_t now = engine_now_ms();
    bool idle = true;

    if (!e)
        return false;
    pthread_mutex_lock(&e->lock);
    if (!e->started || e->service_down || now - e->last_change_ms < (int64_t)quiet_ms)
        idle = false; /* pcscd down: its readers come back with it */
    for (size_t i = 0; idle && i < e->n_initial; i++)
        if (reader_allowed(e->cfg, e->initial[i]) && !find_worker(e, e->initial[i]))
            idle = false;
    for (size_t i = 0; idle && i < e->n; i++) {
        const worker_t *w = e->w[i];
        if (w->running || w->cmd_pending || w->insert_pending || w->retry_at)
            idle = false;
        else if (w->snap.interrupted && now - w->snap.changed_ms < (int64_t)settle_ms)
            idle = false; /* a card lost mid-job may come back (a pulled card re-inserted) */
        else if (e->auto_load && w->present && w->snap.state == ENGINE_SLOT_PRESENT)
            idle = false;
    }
    pthread_mutex_unlock(&e->lock);
    return idle;
}

/* ---- one-shot ---- */

static void once_changed(void *ud, bool store_changed) {
    (void)ud;
    (void)store_changed;
}

st_t engine_run_once(engine_t *e, const char *reader, engine_cmd_t cmd, const char *op,
                     engine_reader_snap_t *out) {
    char **names = NULL;
    size_t n = 0;
    const char *name = NULL;
    engine_reader_snap_t snap;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    transport_t *t = NULL;
    store_t *s = NULL;
    uint32_t installed;
    st_t st;

    if (!e || !reader)
        return ST_E_INVAL;
    if (e->started)
        return ST_E_STATE;
    st = transport_pcsc_list_readers(&names, &n);
    if (st != ST_OK)
        return st;
    for (size_t i = 0; i < n && !name; i++)
        if (reader_matches(e->cfg, names[i], reader))
            name = names[i];
    if (!name) {
        st = ST_E_NO_READER;
        goto out;
    }
    snap_init(e, &snap, name);
    snap.card_present = true;
    snap.state = ENGINE_SLOT_PRESENT;
    st = transport_pcsc_new(&t);
    if (st == ST_OK)
        st = store_open(e->store_path, 0, &s);
    if (st == ST_OK && e->cfg)
        st = store_set_busy_timeout(s, e->cfg->store.busy_timeout_ms);
    if (st == ST_OK)
        st = run_job(e, &lock, &snap, t, s, cmd, op, once_changed, NULL, &installed);
    if (out)
        *out = snap;
out:
    store_close(s);
    transport_free(t);
    transport_reader_list_free(names, n);
    return st;
}
