/*
 * cli_ui.c - `ifpp-station ui` (the attended console, DESIGN §1, §4) and `ifpp-station
 * operator` (the console's operators and PINs).
 *
 *   ui [--auto-load] [--import-dir DIR] [--export-dir DIR] [--log FILE]
 *       the engine in-process (it takes the readers' lock like `run`) with the ncurses console
 *       (ui/ui.h) in front. Cards are loaded on the operator's command; --auto-load starts a
 *       load on every insertion (attributed to the station). Engine log lines go to the
 *       console's event log and to FILE (default STATE_DIR/console.log).
 *   operator add ID --role operator|supervisor [--iterations N]
 *       PIN asked twice on the terminal, or read from the first line of stdin
 *   operator remove ID | operator list
 *       the operators file is [station] operator_pin_file (PBKDF2-HMAC-SHA256, 0600)
 *
 * The console talks to the station only through ui_ops_t, implemented here: engine snapshots
 * and commands (engine.h), and the station services that must not run on the UI thread: an
 * import (import.h) and audit rows go to one worker thread with its own store connection; the
 * results list reads a read-only store connection (WAL: never waits for the writer).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "cli.h"
#include "crypto/cert.h"
#include "engine.h"
#include "import.h"
#include "plr.h"
#include "ui.h"

#define UI_LOCK_NAME "engine.lock" /* the same lock as `run`: one process owns the readers */
#define UI_LOG_NAME  "console.log"
#define AUDIT_TEXT   STORE_TEXT_MAX
#define SETTINGS_MAX 32

/* ---- the station services behind the console ---- */

typedef struct audit_item {
    struct audit_item *next;
    char op[STORE_NAME_MAX];
    char action[64];
    char object[AUDIT_TEXT];
    char value[AUDIT_TEXT];
} audit_item_t;

typedef struct {
    engine_t *e;
    const config_t *cfg;
    char *store_path;

    pthread_t thread;
    bool thread_up;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    audit_item_t *audit_head, *audit_tail;
    char *task_path; /* queued import (file or folder) or export (folder) */
    bool task_export;
    char task_op[STORE_NAME_MAX];
    const char *state_dir; /* the export journal */
    ui_task_t task;

    /* bundle figures after a console import, until the engine refreshes its own */
    bool stock_active;
    store_bundle_stats_t stock[ENGINE_SNAP_BUNDLES];
    size_t n_stock;
    uint64_t stock_pending;
    store_bundle_stats_t seen[ENGINE_SNAP_BUNDLES];
    size_t n_seen;
    uint64_t seen_pending;

    store_t *ro; /* results (UI thread only) */
} svc_t;

static void svc_snapshot(void *ud, engine_snapshot_t *out) {
    svc_t *v = ud;

    engine_snapshot(v->e, out);
    pthread_mutex_lock(&v->lock);
    if (v->stock_active) {
        if (out->n_bundles == v->n_seen && out->pending == v->seen_pending
            && !memcmp(out->bundles, v->seen, v->n_seen * sizeof(v->seen[0]))) {
            memcpy(out->bundles, v->stock, v->n_stock * sizeof(v->stock[0]));
            out->n_bundles = v->n_stock;
            out->pending = v->stock_pending;
        } else {
            v->stock_active = false; /* the engine has newer figures of its own */
        }
    }
    pthread_mutex_unlock(&v->lock);
}

static int svc_event_fd(void *ud) {
    return engine_event_fd(((svc_t *)ud)->e);
}

static void svc_event_ack(void *ud) {
    engine_event_ack(((svc_t *)ud)->e);
}

static st_t svc_command(void *ud, const char *reader, engine_cmd_t cmd, const char *op) {
    return engine_command(((svc_t *)ud)->e, reader, cmd, op);
}

static void svc_audit(void *ud, const char *op, const char *action, const char *object,
                      const char *value) {
    svc_t *v = ud;
    audit_item_t *it = calloc(1, sizeof(*it));

    if (!it) {
        st_log(ST_LOG_ERR, "ui: audit %s by %s lost: out of memory", action, op);
        return;
    }
    snprintf(it->op, sizeof(it->op), "%s", op && *op ? op : "-");
    snprintf(it->action, sizeof(it->action), "%s", action);
    snprintf(it->object, sizeof(it->object), "%s", object ? object : "");
    snprintf(it->value, sizeof(it->value), "%s", value ? value : "");
    pthread_mutex_lock(&v->lock);
    if (v->audit_tail)
        v->audit_tail->next = it;
    else
        v->audit_head = it;
    v->audit_tail = it;
    pthread_cond_signal(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

static st_t task_start(svc_t *v, bool export, const char *path, const char *op) {
    char *p = strdup(path);
    st_t st = ST_OK;

    if (!p)
        return ST_E_NOMEM;
    pthread_mutex_lock(&v->lock);
    if (v->task.active || v->task_path) {
        st = ST_E_STATE;
    } else {
        v->task_path = p;
        p = NULL;
        v->task_export = export;
        snprintf(v->task_op, sizeof(v->task_op), "%s", op);
        memset(&v->task, 0, sizeof(v->task));
        v->task.active = true;
        snprintf(v->task.title, sizeof(v->task.title), "%s %.200s",
                 export ? "Export reports to" : "Import", path);
        pthread_cond_signal(&v->cond);
    }
    pthread_mutex_unlock(&v->lock);
    free(p);
    return st;
}

static st_t svc_import_start(void *ud, const char *path, const char *op) {
    return task_start(ud, false, path, op);
}

static st_t svc_export_start(void *ud, const char *dir, const char *op) {
    return task_start(ud, true, dir, op);
}

static void svc_task(void *ud, ui_task_t *out) {
    svc_t *v = ud;

    pthread_mutex_lock(&v->lock);
    *out = v->task;
    pthread_mutex_unlock(&v->lock);
}

/* ICCID as digits: BCD with swapped nibbles, F padding dropped (ITU-T E.118). */
static void iccid_digits(const uint8_t b[STORE_ICCID_LEN], char out[21]) {
    size_t n = 0;

    for (size_t i = 0; i < STORE_ICCID_LEN; i++) {
        uint8_t lo = b[i] & 0x0f, hi = b[i] >> 4;
        if (lo <= 9)
            out[n++] = (char)('0' + lo);
        if (hi <= 9)
            out[n++] = (char)('0' + hi);
    }
    out[n] = '\0';
}

typedef struct {
    ui_result_t *v;
    size_t max, n, seen;
    const char *oid;
} collect_t;

/* Keeps the newest `max` results (the store hands them out oldest first). */
static st_t collect_result(void *ud, const store_result_t *r) {
    collect_t *c = ud;
    ui_result_t *x;

    if (c->n == c->max) {
        memmove(c->v, c->v + 1, (c->max - 1) * sizeof(*c->v));
        c->n--;
    }
    x = &c->v[c->n++];
    memset(x, 0, sizeof(*x));
    x->kind = UI_RES_PROFILE;
    x->at = r->at;
    x->verdict = r->kind == STORE_RESULT_INSTALLED ? UI_VERDICT_PASS : UI_VERDICT_FAIL;
    eid_to_str(r->eid, x->eid);
    iccid_digits(r->iccid, x->iccid);
    snprintf(x->where, sizeof(x->where), "%s", c->oid);
    if (r->kind == STORE_RESULT_INSTALLED)
        snprintf(x->text, sizeof(x->text), "installed%s, awaiting report",
                 r->verified ? ", PIR verified" : "");
    else
        snprintf(x->text, sizeof(x->text), "%s",
                 r->text[0] ? r->text : engine_fpa_error_text(r->fpa_error_code));
    return ST_OK;
}

static st_t svc_results(void *ud, ui_result_t *v, size_t max, size_t *n) {
    svc_t *s = ud;
    engine_snapshot_t *snap = NULL;
    collect_t c = {v, max, 0, 0, NULL};
    st_t st = ST_OK;

    *n = 0;
    if (!s->ro) {
        st = store_open(s->store_path, STORE_OPEN_READONLY, &s->ro);
        if (st != ST_OK) {
            s->ro = NULL;
            return st;
        }
    }
    if (!(snap = malloc(sizeof(*snap))))
        return ST_E_NOMEM;
    engine_snapshot(s->e, snap);
    /* every SM-DPf with a bundle, once */
    for (size_t i = 0; i < snap->n_bundles && st == ST_OK; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup = dup || !strcmp(snap->bundles[j].smdpf_oid, snap->bundles[i].smdpf_oid);
        if (dup)
            continue;
        c.oid = snap->bundles[i].smdpf_oid;
        st = store_results_unreported(s->ro, c.oid, collect_result, &c);
    }
    free(snap);
    /* newest first */
    for (size_t i = 0; i < c.n / 2; i++) {
        ui_result_t t = v[i];
        v[i] = v[c.n - 1 - i];
        v[c.n - 1 - i] = t;
    }
    *n = c.n;
    return st;
}

/* ---- the worker thread: imports and audit rows ---- */

static void on_import_progress(const import_progress_t *p, void *ud) {
    svc_t *v = ud;

    pthread_mutex_lock(&v->lock);
    snprintf(v->task.item, sizeof(v->task.item), "%s", p->file ? p->file : "");
    v->task.bytes_done = p->bytes_done;
    v->task.bytes_total = p->bytes_total;
    v->task.entries_done = p->entries_done;
    v->task.entries_total = p->entries_total;
    pthread_mutex_unlock(&v->lock);
}

static st_t load_trust(const config_t *cfg, cert_trust_t **out, char *why, size_t len) {
    cert_trust_t *t;
    st_t st;

    *out = NULL;
    if (cfg->trust.n_ci == 0) {
        snprintf(why, len, "no [trust] ci configured: nothing can be verified");
        return ST_E_CONFIG;
    }
    if (!(t = cert_trust_new()))
        return ST_E_NOMEM;
    for (size_t i = 0; i < cfg->trust.n_ci; i++) {
        if ((st = cert_trust_add_file(t, cfg->trust.ci[i])) != ST_OK) {
            snprintf(why, len, "[trust] ci = %s: %s", cfg->trust.ci[i], st_str(st));
            cert_trust_free(t);
            return st;
        }
    }
    *out = t;
    return ST_OK;
}

static void task_line(svc_t *v, const char *text) {
    pthread_mutex_lock(&v->lock);
    if (v->task.n_lines < UI_TASK_LINES) {
        size_t n = strnlen(text, UI_TEXT_MAX - 1);
        memcpy(v->task.lines[v->task.n_lines], text, n); /* cut to the line */
        v->task.lines[v->task.n_lines++][n] = '\0';
    }
    pthread_mutex_unlock(&v->lock);
}

static void run_import(svc_t *v, store_t *s, const char *path, const char *op) {
    cert_trust_t *trust = NULL;
    import_opts_t o;
    import_report_t rep;
    engine_snapshot_t *snap = NULL;
    store_stats_list_t l = {0};
    char line[IMPORT_REASON_MAX + 1024], why[512] = "";
    const char *paths[1] = {path};
    bool failed = false;
    st_t st;

    memset(&rep, 0, sizeof(rep));
    if (!s) {
        task_line(v, "the store cannot be opened (see the log)");
        failed = true;
        goto out;
    }
    if ((st = load_trust(v->cfg, &trust, why, sizeof(why))) != ST_OK) {
        task_line(v, why[0] ? why : st_str(st));
        failed = true;
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.store = s;
    o.trust = trust;
    o.allowed_smdpf = (const char *const *)v->cfg->smdpf.allowed;
    o.n_allowed = v->cfg->smdpf.n_allowed;
    o.unknown_eid = v->cfg->policy.unknown_eid == CONFIG_UNKNOWN_EID_HOLD
                        ? IMPORT_UNKNOWN_EID_HOLD
                        : IMPORT_UNKNOWN_EID_REFUSE;
    o.actor = op;
    o.progress = on_import_progress;
    o.progress_ud = v;
    st = import_paths(&o, paths, 1, &rep);
    failed = st != ST_OK || rep.n_refused > 0;
    /* one line per file (refusals first: they matter most), then the totals */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < rep.n; i++) {
            if ((rep.v[i].outcome == IMPORT_REFUSED) != (pass == 0))
                continue;
            if (v->task.n_lines + 1 >= UI_TASK_LINES)
                break;
            import_file_format(&rep.v[i], line, sizeof(line));
            /* names inside the stick's folder without the folder (it is in the title) */
            size_t pl = strlen(path);
            bool inside = !strncmp(line, path, pl) && line[pl] == '/';
            task_line(v, inside ? line + pl + 1 : line);
        }
    snprintf(line, sizeof(line), "%zu imported, %zu unchanged, %zu refused, %zu skipped%s%s",
             rep.n_imported, rep.n_unchanged, rep.n_refused, rep.n_skipped,
             st != ST_OK && rep.n_refused == 0 ? ": " : "",
             st != ST_OK && rep.n_refused == 0 ? st_str(st) : "");
    task_line(v, line);

    /* fresh stock figures for the console until the engine refreshes its own */
    if (store_bundle_stats(s, &l) == ST_OK && (snap = malloc(sizeof(*snap)))) {
        engine_snapshot(v->e, snap);
        pthread_mutex_lock(&v->lock);
        v->n_stock = l.n < ENGINE_SNAP_BUNDLES ? l.n : ENGINE_SNAP_BUNDLES;
        if (v->n_stock)
            memcpy(v->stock, l.v, v->n_stock * sizeof(v->stock[0]));
        v->stock_pending = 0;
        for (size_t i = 0; i < l.n; i++)
            v->stock_pending += l.v[i].count[STORE_BPP_PENDING] + l.v[i].count[STORE_BPP_FAILED];
        v->n_seen = snap->n_bundles;
        memcpy(v->seen, snap->bundles, v->n_seen * sizeof(v->seen[0]));
        v->seen_pending = snap->pending;
        v->stock_active = true;
        pthread_mutex_unlock(&v->lock);
    }
out:
    free(snap);
    store_stats_list_free(&l);
    import_report_free(&rep);
    cert_trust_free(trust);
    pthread_mutex_lock(&v->lock);
    v->task.active = false;
    v->task.done = true;
    v->task.failed = failed;
    pthread_mutex_unlock(&v->lock);
}

static st_t on_report_file(void *ud, const plr_file_t *f) {
    static const char *const what[] = {"wrote", "recovered", "wrote again"};
    svc_t *v = ud;
    const char *base = strrchr(f->path, '/');
    char line[UI_TEXT_MAX];

    snprintf(line, sizeof(line),
             "%s %.120s: %" PRIu64 " entries, %" PRIu64 " installed, %" PRIu64 " failed",
             what[f->kind <= PLR_FILE_AGAIN ? f->kind : 0], base ? base + 1 : f->path,
             f->counts.entries, f->counts.installed, f->counts.failed);
    task_line(v, line);
    pthread_mutex_lock(&v->lock);
    v->task.entries_done += f->counts.entries;
    v->task.entries_total = v->task.entries_done;
    pthread_mutex_unlock(&v->lock);
    return ST_OK;
}

/* report export (reports/plr.h) into `dir`: one signed .ifppl per SM-DPf with new results. */
static void run_export(svc_t *v, store_t *s, const char *dir, const char *op) {
    plr_signer_t *sg = NULL;
    plr_export_opts_t o;
    plr_export_sum_t sum;
    char line[UI_TEXT_MAX];
    bool failed = true;
    st_t st;

    memset(&sum, 0, sizeof(sum));
    if (!s) {
        task_line(v, "the store cannot be opened (see the log)");
        goto out;
    }
    st = plr_signer_load(v->cfg->dm.key, v->cfg->dm.cert, v->cfg->dm.chain, v->cfg->dm.id,
                         v->cfg->station.id, &sg);
    if (st != ST_OK) {
        snprintf(line, sizeof(line), "DM signer ([dm] key, cert, chain): %s", st_str(st));
        task_line(v, line);
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.journal_dir = v->state_dir;
    o.actor = op;
    o.on_file = on_report_file;
    o.ud = v;
    pthread_mutex_lock(&v->lock);
    snprintf(v->task.item, sizeof(v->task.item), "%s", dir);
    pthread_mutex_unlock(&v->lock);
    st = plr_export(s, sg, dir, &o, &sum);
    if (st == ST_OK && sum.files == 0)
        snprintf(line, sizeof(line), "nothing new to report");
    else if (st == ST_OK)
        snprintf(line, sizeof(line), "%u report(s) written, %" PRIu64 " entries", sum.files,
                 sum.entries);
    else
        snprintf(line, sizeof(line), "export to %.120s: %s%s", dir,
                 st == ST_E_NOENT ? "no such folder (is the stick mounted?)" : st_str(st),
                 sum.failed ? " (see the event log)" : "");
    task_line(v, line);
    failed = st != ST_OK;
out:
    plr_signer_free(sg);
    pthread_mutex_lock(&v->lock);
    v->task.active = false;
    v->task.done = true;
    v->task.failed = failed;
    pthread_mutex_unlock(&v->lock);
}

static void *svc_main(void *arg) {
    svc_t *v = arg;
    store_t *s = NULL;
    st_t st;

    /* the worker's own connection (one per thread) */
    st = store_open(v->store_path, 0, &s);
    if (st == ST_OK)
        st = store_set_busy_timeout(s, v->cfg->store.busy_timeout_ms);
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "ui: store %s: %s (audit rows and imports unavailable)", v->store_path,
               st_str(st));
        store_close(s);
        s = NULL;
    }
    pthread_mutex_lock(&v->lock);
    for (;;) {
        while (!v->stop && !v->audit_head && !v->task_path)
            pthread_cond_wait(&v->cond, &v->lock);
        if (v->audit_head) {
            audit_item_t *it = v->audit_head;
            v->audit_head = it->next;
            if (!v->audit_head)
                v->audit_tail = NULL;
            pthread_mutex_unlock(&v->lock);
            st = s ? store_audit_append(s, it->op, it->action, it->object[0] ? it->object : NULL,
                                        NULL, it->value[0] ? it->value : NULL, NULL)
                   : ST_E_DB;
            if (st != ST_OK)
                st_log(ST_LOG_ERR, "ui: audit %s by %s not recorded: %s", it->action, it->op,
                       st_str(st));
            free(it);
            pthread_mutex_lock(&v->lock);
            continue;
        }
        if (v->task_path) {
            char *path = v->task_path;
            bool export = v->task_export;
            char op[STORE_NAME_MAX];
            snprintf(op, sizeof(op), "%s", v->task_op);
            pthread_mutex_unlock(&v->lock);
            if (export)
                run_export(v, s, path, op);
            else
                run_import(v, s, path, op);
            pthread_mutex_lock(&v->lock);
            free(path);
            v->task_path = NULL;
            continue;
        }
        if (v->stop)
            break;
    }
    pthread_mutex_unlock(&v->lock);
    store_close(s);
    return NULL;
}

static st_t svc_start(svc_t *v) {
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    if (pthread_create(&v->thread, NULL, svc_main, v) != 0)
        return ST_E_NOMEM;
    v->thread_up = true;
    return ST_OK;
}

/* Drains the audit queue and waits for an import in progress (it has no cancel point). */
static void svc_stop(svc_t *v) {
    if (v->thread_up) {
        pthread_mutex_lock(&v->lock);
        v->stop = true;
        pthread_cond_signal(&v->cond);
        pthread_mutex_unlock(&v->lock);
        pthread_join(v->thread, NULL);
        v->thread_up = false;
        pthread_mutex_destroy(&v->lock);
        pthread_cond_destroy(&v->cond);
    }
    store_close(v->ro);
    v->ro = NULL;
}

/* ---- ui ---- */

/* A second SIGTERM/SIGINT while the jobs finish their profile: stop at the next APDU sequence
 * instead (the BPP stays loading; recovery settles it at the next insertion). */
static engine_t *stopping_engine;
static void on_second_signal(int sig) {
    (void)sig;
    if (stopping_engine)
        engine_abandon(stopping_engine);
}

static void ui_usage(FILE *f) {
    fprintf(f, "usage: ifpp-station [-c CONFIG] [--state-dir DIR] ui [--auto-load]\n"
               "           [--import-dir DIR] [--export-dir DIR] [--log FILE]\n"
               "  the operator console on this station's readers (needs a terminal, at least "
               "80x24)\n");
}

/* "key = value" lines for the settings screen; owned by the caller (free each, then v). */
static size_t settings_lines(const global_opts_t *g, const config_t *cfg, bool auto_load,
                             const char *log_path, char **v, size_t max) {
    size_t n = 0;
    char tmp[512];

#define SET(...)                                                                                   \
    do {                                                                                           \
        if (n < max && asprintf(&v[n], __VA_ARGS__) >= 0)                                          \
            n++;                                                                                   \
    } while (0)
    SET("configuration      %s", cfg->path ? cfg->path : "(defaults)");
    SET("[station] id       %s", cfg->station.id ? cfg->station.id : "-");
    SET("state directory    %s", cli_state_dir(g, cfg) ? cli_state_dir(g, cfg) : "-");
    SET("operators file     %s",
        cfg->station.operator_pin_file ? cfg->station.operator_pin_file : "none (no log-in)");
    SET("console log        %s", log_path ? log_path : "-");
    SET("[dm] id            %s", cfg->dm.id ? cfg->dm.id : "-");
    SET("[trust] ci         %zu certificate(s)", cfg->trust.n_ci);
    tmp[0] = '\0';
    for (size_t i = 0; i < cfg->smdpf.n_allowed; i++)
        snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "%s%s", i ? ", " : "",
                 cfg->smdpf.allowed[i]);
    SET("[smdpf] allowed    %s", tmp[0] ? tmp : "none");
    SET("[card] block_size  %u", cfg->card.block_size);
    SET("[card] apdu timeout %u ms", cfg->card.apdu_timeout_ms);
    SET("[readers] max      %u", cfg->readers.max);
    for (size_t i = 0; i < cfg->readers.n_slots; i++)
        SET("  slot %-12s %s", cfg->readers.slots[i].label, cfg->readers.slots[i].reader);
    SET("[policy] unknown_eid %s",
        cfg->policy.unknown_eid == CONFIG_UNKNOWN_EID_HOLD ? "hold" : "refuse");
    SET("[policy] delete_keys %s",
        cfg->policy.delete_keys == CONFIG_DELETE_KEYS_AFTER_LOAD ? "after-load" : "manual");
    SET("[policy] max_retries %u", cfg->policy.max_retries);
    SET("load on insertion  %s", auto_load ? "yes (--auto-load)" : "no (operator's command)");
#undef SET
    return n;
}

int cmd_ui(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"auto-load", no_argument, NULL, 'a'},
        {"import-dir", required_argument, NULL, 'i'},
        {"export-dir", required_argument, NULL, 'x'},
        {"log", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool auto_load = false;
    const char *import_dir = NULL, *export_dir = NULL, *log_arg = NULL;
    config_t *cfg = NULL;
    store_t *s = NULL;
    char *lock_path = NULL, *log_path = NULL, *settings[SETTINGS_MAX];
    size_t n_settings = 0;
    engine_opts_t eo;
    engine_snapshot_t *snap = NULL;
    svc_t v;
    ui_ops_t ops;
    ui_opts_t uo;
    int c, rc, log_fd = -1;
    const char *dir;
    st_t st;

    memset(&v, 0, sizeof(v));
    optind = 1;
    while ((c = getopt_long(argc, argv, "+ai:x:l:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            auto_load = true;
            break;
        case 'i':
            import_dir = optarg;
            break;
        case 'x':
            export_dir = optarg;
            break;
        case 'l':
            log_arg = optarg;
            break;
        case 'h':
            ui_usage(stdout);
            return EXIT_OK;
        default:
            ui_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        ui_usage(stderr);
        return EXIT_USAGE;
    }
    if (!ui_have_tty()) {
        fprintf(stderr, "ifpp-station: ui needs a terminal (batch mode: ifpp-station run)\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        goto out;
    /* creates the state directory and migrates the store, with the CLI's messages */
    if ((rc = cli_open_store(g, cfg, 0, &s)) != EXIT_OK)
        goto out;
    store_close(s);
    if (cfg->station.operator_pin_file && access(cfg->station.operator_pin_file, F_OK) != 0) {
        fprintf(stderr,
                "ifpp-station: operators file %s: %s\n  add one: ifpp-station operator add ID "
                "--role supervisor\n",
                cfg->station.operator_pin_file, strerror(errno));
        rc = EXIT_USAGE;
        goto out;
    }
    dir = cli_state_dir(g, cfg);
    if (asprintf(&v.store_path, "%s/%s", dir, CLI_DB_NAME) < 0
        || asprintf(&lock_path, "%s/%s", dir, UI_LOCK_NAME) < 0
        || (log_arg ? !(log_path = strdup(log_arg))
                    : asprintf(&log_path, "%s/%s", dir, UI_LOG_NAME) < 0)) {
        fprintf(stderr, "ifpp-station: out of memory\n");
        rc = EXIT_FAIL;
        goto out;
    }
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (log_fd < 0) {
        fprintf(stderr, "ifpp-station: console log %s: %s\n", log_path, strerror(errno));
        rc = EXIT_FAIL;
        goto out;
    }

    memset(&eo, 0, sizeof(eo));
    eo.cfg = cfg;
    eo.store_path = v.store_path;
    eo.lock_path = lock_path;
    eo.auto_load = auto_load;
    st = engine_create(&eo, &v.e);
    if (st == ST_E_LOCKED) {
        fprintf(stderr, "ifpp-station: another station process (run or ui) owns the readers (%s)\n",
                lock_path);
        rc = EXIT_FAIL;
        goto out;
    }
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: cannot start the engine: %s\n", st_str(st));
        rc = st == ST_E_CONFIG ? EXIT_USAGE : EXIT_FAIL;
        goto out;
    }
    v.cfg = cfg;
    v.state_dir = dir;
    if ((st = svc_start(&v)) != ST_OK || (st = engine_start(v.e)) != ST_OK) {
        fprintf(stderr, "ifpp-station: ui: cannot start: %s\n", st_str(st));
        rc = EXIT_FAIL;
        goto out;
    }

    memset(&ops, 0, sizeof(ops));
    ops.ud = &v;
    ops.snapshot = svc_snapshot;
    ops.event_fd = svc_event_fd;
    ops.event_ack = svc_event_ack;
    ops.command = svc_command;
    ops.import_start = svc_import_start;
    ops.export_start = svc_export_start;
    ops.task = svc_task;
    ops.results = svc_results;
    ops.audit = svc_audit;
    n_settings = settings_lines(g, cfg, auto_load, log_path, settings, SETTINGS_MAX);
    memset(&uo, 0, sizeof(uo));
    uo.ops = &ops;
    uo.station_id = cfg->station.id;
    uo.operators_path = cfg->station.operator_pin_file;
    uo.import_dir = import_dir;
    uo.export_dir = export_dir;
    uo.settings = (const char *const *)settings;
    uo.n_settings = n_settings;
    uo.log_fd = log_fd;
    st = ui_run(&uo);

    /* the terminal is ours again (curses wrote through stdout's buffer: flush it first) */
    fflush(stdout);
    fprintf(stderr, "ui: stopping: card jobs finish the profile in progress (signal again: "
                    "stop at once)...\n");
    {
        struct sigaction sa, old_term, old_int;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_second_signal;
        sigemptyset(&sa.sa_mask);
        stopping_engine = v.e;
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
        engine_stop(v.e, false);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        stopping_engine = NULL;
    }
    svc_stop(&v);
    if ((snap = malloc(sizeof(*snap)))) {
        engine_snapshot(v.e, snap);
        printf("ui: %" PRIu64 " pass, %" PRIu64 " fail, %" PRIu64 " attention; %" PRIu64
               " BPPs installed; %" PRIu64 " BPPs pending\n",
               snap->passed, snap->failed, snap->attention, snap->installed, snap->pending);
    }
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: ui: %s\n", st_str(st));
        rc = st == ST_E_CONFIG || st == ST_E_UNSUPPORTED ? EXIT_USAGE : EXIT_FAIL;
    } else {
        rc = EXIT_OK;
    }
out:
    if (v.e)
        engine_stop(v.e, false);
    svc_stop(&v);
    engine_free(v.e);
    while (v.audit_head) {
        audit_item_t *it = v.audit_head;
        v.audit_head = it->next;
        free(it);
    }
    free(v.task_path);
    free(snap);
    for (size_t i = 0; i < n_settings; i++)
        free(settings[i]);
    if (log_fd >= 0)
        close(log_fd);
    free(v.store_path);
    free(lock_path);
    free(log_path);
    config_free(cfg);
    return rc;
}

/* ---- operator ---- */

static void operator_usage(FILE *f) {
    fprintf(f,
            "usage: ifpp-station [-c CONFIG] operator add ID --role operator|supervisor "
            "[--iterations N]\n"
            "       ifpp-station [-c CONFIG] operator remove ID\n"
            "       ifpp-station [-c CONFIG] operator list\n"
            "  the console's operators ([station] operator_pin_file); the PIN (%d..%d "
            "characters)\n"
            "  is asked twice on the terminal, or read from the first line of stdin\n",
            UI_PIN_MIN, UI_PIN_MAX);
}

/* One line from the terminal without echo, or from stdin. Caller wipes buf. */
static bool read_pin(const char *prompt, char *buf, size_t len) {
    struct termios old, raw;
    bool tty = isatty(STDIN_FILENO);
    bool ok;

    if (tty) {
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) != 0)
            return false;
        raw = old;
        raw.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    }
    ok = fgets(buf, (int)len, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (ok)
        buf[strcspn(buf, "\r\n")] = '\0';
    return ok;
}

int cmd_operator(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"role", required_argument, NULL, 'r'},
        {"iterations", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    config_t *cfg = NULL;
    store_t *s = NULL;
    ui_operators_t ops = {NULL, 0};
    ui_role_t role = UI_ROLE_NONE;
    unsigned long iter = UI_PIN_DEFAULT_ITER;
    char pin[UI_PIN_MAX + 8], pin2[UI_PIN_MAX + 8], err[512], *end;
    const char *sub, *id = NULL, *path, *actor = getenv("USER");
    int c, rc = EXIT_USAGE;
    st_t st;

    pin[0] = pin2[0] = '\0';
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        operator_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    sub = argv[1];
    argc--;
    argv++;
    optind = 0; /* full getopt re-initialisation: options may follow the id (GNU permutes) */
    while ((c = getopt_long(argc, argv, "r:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (!ui_role_parse(optarg, &role)) {
                fprintf(stderr, "operator: --role must be operator or supervisor\n");
                return EXIT_USAGE;
            }
            break;
        case 'n':
            errno = 0;
            iter = strtoul(optarg, &end, 10);
            if (errno || *end || iter < UI_PIN_MIN_ITER || iter > 10000000ul) {
                fprintf(stderr, "operator: --iterations %s: %u..10000000\n", optarg,
                        UI_PIN_MIN_ITER);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            operator_usage(stdout);
            return EXIT_OK;
        default:
            operator_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "list") != 0) {
        if (optind + 1 != argc) {
            operator_usage(stderr);
            return EXIT_USAGE;
        }
        id = argv[optind];
        if (!ui_operator_id_valid(id)) {
            fprintf(stderr, "operator: '%s': 1..%d characters of A-Z a-z 0-9 . _ -\n", id,
                    UI_OP_ID_MAX);
            return EXIT_USAGE;
        }
    } else if (optind != argc) {
        operator_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "list")) {
        operator_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "add") && role == UI_ROLE_NONE) {
        fprintf(stderr, "operator: add needs --role operator|supervisor\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        goto out;
    if (!(path = cfg->station.operator_pin_file)) {
        fprintf(stderr, "operator: no [station] operator_pin_file configured\n");
        rc = EXIT_USAGE;
        goto out;
    }
    st = ui_operators_load(path, &ops, err, sizeof(err));
    if (st == ST_E_NOENT && strcmp(sub, "add") == 0) {
        st = ST_OK; /* the first operator creates the file */
    } else if (st != ST_OK) {
        fprintf(stderr, "operator: %s\n", err[0] ? err : st_str(st));
        rc = st == ST_E_NOENT ? EXIT_FAIL : EXIT_USAGE;
        goto out;
    }
    rc = EXIT_FAIL;
    if (!strcmp(sub, "list")) {
        for (size_t i = 0; i < ops.n; i++)
            printf("%-32s %-10s pbkdf2-sha256, %" PRIu32 " iterations\n", ops.v[i].id,
                   ui_role_name(ops.v[i].role), ops.v[i].iter);
        rc = EXIT_OK;
        goto out;
    }
    if (!strcmp(sub, "add")) {
        if (!read_pin("PIN: ", pin, sizeof(pin))) {
            fprintf(stderr, "operator: no PIN given\n");
            goto out;
        }
        if (isatty(STDIN_FILENO)
            && (!read_pin("PIN again: ", pin2, sizeof(pin2)) || strcmp(pin, pin2) != 0)) {
            fprintf(stderr, "operator: the PINs differ\n");
            goto out;
        }
        st = ui_operators_set(&ops, id, role, pin, (uint32_t)iter);
        if (st == ST_E_INVAL) {
            fprintf(stderr, "operator: the PIN must be %d..%d printable characters, no spaces\n",
                    UI_PIN_MIN, UI_PIN_MAX);
            rc = EXIT_USAGE;
            goto out;
        }
    } else {
        st = ui_operators_remove(&ops, id);
        if (st == ST_E_NOENT) {
            fprintf(stderr, "operator: %s: no such operator\n", id);
            goto out;
        }
    }
    if (st == ST_OK)
        st = ui_operators_save(path, &ops);
    if (st != ST_OK) {
        fprintf(stderr, "operator: %s: %s\n", path, st_str(st));
        goto out;
    }
    /* who changed which operator goes into the audit log (the PIN never does) */
    if (cli_open_store(g, cfg, 0, &s) == EXIT_OK) {
        char obj[64];
        snprintf(obj, sizeof(obj), "operator:%s", id);
        if (actor && strlen(actor) >= STORE_NAME_MAX)
            actor = NULL;
        st = store_audit_append(s, actor ? actor : "cli",
                                !strcmp(sub, "add") ? "operator.set" : "operator.remove", obj, NULL,
                                !strcmp(sub, "add") ? ui_role_name(role) : NULL, NULL);
        if (st != ST_OK)
            fprintf(stderr, "operator: audit row not written: %s\n", st_str(st));
    }
    printf("operator %s: %s\n", id, !strcmp(sub, "add") ? ui_role_name(role) : "removed");
    rc = EXIT_OK;
out:
    mem_wipe(pin, sizeof(pin));
    mem_wipe(pin2, sizeof(pin2));
    ui_operators_free(&ops);
    store_close(s);
    config_free(cfg);
    return rc;
}
