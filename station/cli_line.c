/*
 * cli_line.c - the line commands (DESIGN §4): `readers`, `load|verify|delete-keys --reader`
 * and `run`. The work is done by the engine (engine.h); this file parses arguments and prints.
 *
 *   readers [--json]
 *       every PC/SC reader: slot label, card present, EID of the card (GetEID over the ISD-R)
 *   load|verify|delete-keys --reader NAME [--operator ID]
 *       one job on that reader (NAME: PC/SC name, name without the plug-order index, slot
 *       label or "(serial)"), one result line; exit 0 on PASS, 1 otherwise
 *   run [--until-idle] [--operator ID] [--quiet]
 *       the headless engine until SIGTERM/SIGINT (exit 0 after the jobs settled); one line per
 *       reader state change on stdout; sd_notify READY/STATUS/WATCHDOG/STOPPING when started by
 *       systemd (Type=notify). A second signal abandons the BPP in progress (it stays
 *       loading and is settled from the card at the next start). --until-idle: exit once no card
 * has anything left to do (tests, demo): 0 when every card present passed, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "cli.h"
#include "crypto/cert.h"
#include "engine.h"
#include "es10.h"
#include "monitor.h"
#include "transport.h"

#define RUN_POLL_MS   250
#define RUN_QUIET_MS  1500  /* --until-idle: nothing changed for this long */
#define RUN_SETTLE_MS 15000 /* --until-idle: wait this long for a card lost mid-job */
#define CLI_LOCK_NAME "engine.lock"

/* ---- sd_notify: a self-contained notifier (systemd's MIT-0 example, no libsystemd) ---- */

static void sd_notify_send(const char *msg) {
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t len;
    int fd;

    if (!path || (path[0] != '/' && path[0] != '@'))
        return;
    len = strlen(path);
    if (len >= sizeof(sa.sun_path))
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') /* abstract socket */
        sa.sun_path[0] = '\0';
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len))
        < 0)
        st_log(ST_LOG_DEBUG, "sd_notify: %s", strerror(errno));
    close(fd);
}

/* WATCHDOG_USEC (when meant for this pid) / 2 in ms; 0 when no watchdog. */
static int64_t watchdog_ms(void) {
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    long long v;

    if (!usec || (pid && strtoll(pid, NULL, 10) != (long long)getpid()))
        return 0;
    v = strtoll(usec, NULL, 10);
    return v > 0 ? v / 2000 : 0;
}

/* ---- shared ---- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int load_all(const global_opts_t *g, config_t **cfg, char **store_path, char **lock_path) {
    store_t *s = NULL;
    const char *dir;
    int rc;

    *store_path = *lock_path = NULL;
    if ((rc = cli_load_config(g, cfg)) != EXIT_OK)
        return rc;
    /* creates the state directory and migrates the store, with the CLI's messages */
    if ((rc = cli_open_store(g, *cfg, 0, &s)) != EXIT_OK)
        return rc;
    store_close(s);
    dir = cli_state_dir(g, *cfg);
    if (asprintf(store_path, "%s/%s", dir, CLI_DB_NAME) < 0
        || asprintf(lock_path, "%s/%s", dir, CLI_LOCK_NAME) < 0) {
        fprintf(stderr, "ifpp-station: out of memory\n");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int create_engine(const config_t *cfg, const char *store_path, const char *lock_path,
                         const char *op, bool auto_load, engine_t **e) {
    engine_opts_t o;
    st_t st;

    memset(&o, 0, sizeof(o));
    o.cfg = cfg;
    o.store_path = store_path;
    o.lock_path = lock_path;
    o.op = op;
    o.auto_load = auto_load;
    st = engine_create(&o, e);
    if (st == ST_E_LOCKED) {
        fprintf(stderr,
                "ifpp-station: another station process (run or ui) owns the readers "
                "(%s)\n",
                lock_path);
        return EXIT_FAIL;
    }
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: cannot start the engine: %s\n", st_str(st));
        return st == ST_E_CONFIG ? EXIT_USAGE : EXIT_FAIL;
    }
    return EXIT_OK;
}

static const char *slot_name(const engine_reader_snap_t *r) {
    return r->label[0] ? r->label : r->id;
}

static void print_result(FILE *f, const engine_reader_snap_t *r) {
    fprintf(f, "%s: %s", slot_name(r), engine_slot_state_text(r->state));
    if (r->has_eid)
        fprintf(f, ": EID %s", r->eid);
    if (r->due || r->loaded)
        fprintf(f, ": %" PRIu32 "/%" PRIu32 " profiles", r->loaded, r->due);
    if (r->error[0])
        fprintf(f, ": %s", r->error);
    if (r->detail[0])
        fprintf(f, " [%s]", r->detail);
    fputc('\n', f);
}

/* ---- readers ---- */

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* Card state and EID of one reader ("empty", "in use", "card", "no eUICC"). */
static const char *probe_reader(const config_t *cfg, const char *name, char eid[33]) {
    transport_t *t = NULL;
    es10_t *s = NULL;
    es10_opts_t o;
    es10_result_t res;
    uint8_t raw[ES10_EID_LEN];
    const char *what;
    st_t st;

    eid[0] = '\0';
    if (transport_pcsc_new(&t) != ST_OK)
        return "error";
    st = transport_open(t, name);
    if (st != ST_OK) {
        transport_free(t);
        return st == ST_E_NO_CARD ? "empty" : st == ST_E_SHARING ? "in use" : "error";
    }
    memset(&o, 0, sizeof(o));
    o.isdr_aid = cfg->card.isdr_aid_len ? cfg->card.isdr_aid : NULL;
    o.isdr_aid_len = cfg->card.isdr_aid_len;
    o.block_size = cfg->card.block_size;
    what = "card";
    st = es10_open(t, &o, &s, &res);
    if (st == ST_OK)
        st = es10c_get_eid(s, raw, &res);
    if (st == ST_OK)
        eid_to_str(raw, eid);
    else
        what = "no eUICC";
    es10_close(s);
    transport_free(t);
    return what;
}

int cmd_readers(const global_opts_t *g, int argc, char **argv) {
    config_t *cfg = NULL;
    char **names = NULL;
    size_t n = 0;
    bool json = argc >= 2 && !strcmp(argv[1], "--json");
    int rc;
    st_t st;

    if (argc > 2 || (argc == 2 && !json)) {
        fprintf(stderr, "usage: ifpp-station readers [--json]\n");
        return EXIT_USAGE;
    }
    if ((rc = cli_load_config(g, &cfg)) != EXIT_OK)
        return rc;
    st = transport_pcsc_list_readers(&names, &n);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: readers: %s\n", st_str(st));
        config_free(cfg);
        return EXIT_FAIL;
    }
    if (json)
        fputs("[", stdout);
    for (size_t i = 0; i < n; i++) {
        char eid[33], id[MONITOR_NAME_MAX];
        const char *label = config_slot_label(cfg, names[i]);
        const char *what = probe_reader(cfg, names[i], eid);

        monitor_reader_id(names[i], id, sizeof(id));
        if (json) {
            fputs(i ? ",\n {\"name\": " : "\n {\"name\": ", stdout);
            json_str(stdout, names[i]);
            fputs(", \"id\": ", stdout);
            json_str(stdout, id);
            fputs(", \"slot\": ", stdout);
            json_str(stdout, label ? label : "");
            fputs(", \"card\": ", stdout);
            json_str(stdout, what);
            fputs(", \"eid\": ", stdout);
            json_str(stdout, eid);
            fputs("}", stdout);
        } else {
            printf("%-24s %-6s %-8s %s\n", names[i], label ? label : "-", what, eid[0] ? eid : "-");
        }
    }
    if (json)
        fputs(n ? "\n]\n" : "]\n", stdout);
    transport_reader_list_free(names, n);
    config_free(cfg);
    return EXIT_OK;
}

/* ---- load | verify | delete-keys ---- */

static int one_shot(const global_opts_t *g, engine_cmd_t cmd, int argc, char **argv) {
    static const struct option longopts[] = {
        {"reader", required_argument, NULL, 'r'},
        {"operator", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reader = NULL, *op = NULL;
    config_t *cfg = NULL;
    char *store_path = NULL, *lock_path = NULL;
    engine_t *e = NULL;
    engine_reader_snap_t r;
    int c, rc;
    st_t st;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+r:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            reader = optarg;
            break;
        case 'o':
            op = optarg;
            break;
        case 'h':
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: ifpp-station %s --reader NAME [--operator ID]\n", engine_cmd_name(cmd));
            return c == 'h' ? EXIT_OK : EXIT_USAGE;
        }
    }
    if (!reader || optind != argc) {
        fprintf(stderr, "usage: ifpp-station %s --reader NAME [--operator ID]\n",
                engine_cmd_name(cmd));
        return EXIT_USAGE;
    }
    rc = load_all(g, &cfg, &store_path, &lock_path);
    if (rc == EXIT_OK)
        rc = create_engine(cfg, store_path, lock_path, op, false, &e);
    if (rc != EXIT_OK)
        goto out;
    memset(&r, 0, sizeof(r));
    st = engine_run_once(e, reader, cmd, op, &r);
    if (st == ST_E_NO_READER) {
        fprintf(stderr, "ifpp-station: %s: no such reader (see `ifpp-station readers`)\n", reader);
        rc = EXIT_FAIL;
    } else if (st != ST_OK) {
        if (r.name[0])
            print_result(stderr, &r);
        else
            fprintf(stderr, "ifpp-station: %s: %s\n", reader, st_str(st));
        rc = EXIT_FAIL;
    } else {
        print_result(r.state == ENGINE_SLOT_PASS ? stdout : stderr, &r);
        rc = r.state == ENGINE_SLOT_PASS ? EXIT_OK : EXIT_FAIL;
    }
out:
    engine_free(e);
    config_free(cfg);
    free(store_path);
    free(lock_path);
    return rc;
}

int cmd_load(const global_opts_t *g, int argc, char **argv) {
    return one_shot(g, ENGINE_CMD_LOAD, argc, argv);
}

int cmd_verify(const global_opts_t *g, int argc, char **argv) {
    return one_shot(g, ENGINE_CMD_VERIFY, argc, argv);
}

int cmd_delete_keys(const global_opts_t *g, int argc, char **argv) {
    return one_shot(g, ENGINE_CMD_DELETE_KEYS, argc, argv);
}

/* ---- run ---- */

static int sig_pipe[2] = {-1, -1};
static engine_t *volatile sig_engine; /* set while engine_stop() may be waiting */
static volatile sig_atomic_t sig_count;

/* First SIGTERM/SIGINT: stop after the BPP in progress (main loop, through the pipe).
 * Second one: abandon it at the next APDU sequence (recovery settles it at the next start). */
static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;

    if (++sig_count > 1 && sig_engine)
        engine_abandon(sig_engine);
    (void)!write(sig_pipe[1], &b, 1);
    errno = saved;
}

/* One stdout line per reader state change (batch mode's named stages). */
static void print_changes(const engine_snapshot_t *prev, const engine_snapshot_t *now) {
    for (size_t i = 0; i < now->n_readers; i++) {
        const engine_reader_snap_t *r = &now->readers[i];
        const engine_reader_snap_t *p = i < prev->n_readers ? &prev->readers[i] : NULL;

        if (p && p->state == r->state && p->jobs == r->jobs && p->bpp_index == r->bpp_index)
            continue;
        if (r->state == ENGINE_SLOT_LOADING && r->bpp_index)
            printf("%s: loading %" PRIu32 "/%" PRIu32 ": EID %s\n", slot_name(r), r->bpp_index,
                   r->bpp_count, r->eid);
        else if (r->state == ENGINE_SLOT_PASS || r->state == ENGINE_SLOT_FAIL
                 || r->state == ENGINE_SLOT_ATTENTION
                 || (r->state == ENGINE_SLOT_EMPTY && r->error[0]))
            print_result(stdout, r);
        else
            printf("%s: %s%s%s\n", slot_name(r), engine_slot_state_text(r->state),
                   r->has_eid ? ": EID " : "", r->has_eid ? r->eid : "");
    }
    fflush(stdout);
}

static void notify_status(const engine_snapshot_t *s) {
    char msg[256];
    size_t cards = 0;

    for (size_t i = 0; i < s->n_readers; i++)
        cards += s->readers[i].card_present;
    snprintf(msg, sizeof(msg),
             "STATUS=%zu readers, %zu cards, %" PRIu64 " pass, %" PRIu64 " fail, %" PRIu64
             " attention, %" PRIu64 " BPPs pending, %.0f units/h",
             s->n_readers, cards, s->passed, s->failed, s->attention, s->pending,
             s->units_per_hour);
    sd_notify_send(msg);
}

int cmd_run(const global_opts_t *g, int argc, char **argv) {
    static const struct option longopts[] = {
        {"until-idle", no_argument, NULL, 'i'},
        {"operator", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool until_idle = false, quiet = false, stop = false, idle = false;
    const char *op = NULL;
    config_t *cfg = NULL;
    char *store_path = NULL, *lock_path = NULL;
    engine_t *e = NULL;
    engine_snapshot_t *prev = NULL, *now = NULL;
    struct sigaction sa, old_term, old_int;
    int64_t wd = watchdog_ms(), last_wd = 0;
    int c, rc;
    st_t st;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+io:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            until_idle = true;
            break;
        case 'o':
            op = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: ifpp-station run [--until-idle] [--operator ID] [--quiet]\n");
            return c == 'h' ? EXIT_OK : EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: ifpp-station run [--until-idle] [--operator ID] [--quiet]\n");
        return EXIT_USAGE;
    }
    rc = load_all(g, &cfg, &store_path, &lock_path);
    if (rc == EXIT_OK)
        rc = create_engine(cfg, store_path, lock_path, op, true, &e);
    if (rc != EXIT_OK)
        goto out;
    prev = calloc(1, sizeof(*prev));
    now = calloc(1, sizeof(*now));
    if (!prev || !now || pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "ifpp-station: run: %s\n", strerror(errno ? errno : ENOMEM));
        rc = EXIT_FAIL;
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    signal(SIGPIPE, SIG_IGN);

    sig_count = 0;
    sig_engine = e;
    st = engine_start(e);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-station: run: cannot start the engine: %s\n", st_str(st));
        rc = EXIT_FAIL;
        goto restore;
    }
    sd_notify_send("READY=1");
    while (!stop) {
        struct pollfd pfd[2] = {{sig_pipe[0], POLLIN, 0}, {engine_event_fd(e), POLLIN, 0}};
        int64_t t;

        if (poll(pfd, 2, RUN_POLL_MS) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN) {
            unsigned char b;
            while (read(sig_pipe[0], &b, 1) > 0)
                ;
            st_log(ST_LOG_INFO, "run: signal received, stopping");
            stop = true;
        }
        if (pfd[1].revents & POLLIN) {
            engine_event_ack(e);
            engine_snapshot(e, now);
            if (!quiet)
                print_changes(prev, now);
            notify_status(now);
            engine_snapshot_t *tmp = prev;
            prev = now;
            now = tmp;
        }
        t = mono_ms();
        if (wd && t - last_wd >= wd) {
            sd_notify_send("WATCHDOG=1");
            last_wd = t;
        }
        if (until_idle && engine_idle(e, RUN_QUIET_MS, RUN_SETTLE_MS)) {
            idle = true;
            stop = true;
        }
    }
    sd_notify_send("STOPPING=1");
    engine_stop(e, false);
    engine_snapshot(e, now);
    if (!quiet)
        print_changes(prev, now);
    printf("run: %" PRIu64 " pass, %" PRIu64 " fail, %" PRIu64 " attention; %" PRIu64
           " BPPs installed; %" PRIu64 " BPPs pending\n",
           now->passed, now->failed, now->attention, now->installed, now->pending);
    rc = EXIT_OK;
    if (idle) {
        for (size_t i = 0; i < now->n_readers; i++)
            if (now->readers[i].card_present && now->readers[i].state != ENGINE_SLOT_PASS)
                rc = EXIT_FAIL;
    }
restore:
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sig_engine = NULL;
out:
    engine_free(e);
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
    free(prev);
    free(now);
    config_free(cfg);
    free(store_path);
    free(lock_path);
    return rc;
}
