/*
 * line.c - the virtual production line (DESIGN §4, §7): an isolated pcscd with N vpcd readers
 * and one simulated eUICC (`euicc serve`) in each.
 *
 *   line up DIR --readers N [--cards DIR] [--base-port P] [--pki DIR] [--keys K]
 *               [--driver SO] [--timeout S] [card serve options]
 *   line down DIR
 *   line bench DIR [--reader NAME] [--count N] [--size BYTES]
 *
 * `line up` writes
 *   DIR/reader.conf.d/fpa-sim   ceil(N/2) vpcd entries (2 slots each) on ports base..base+2E-1
 *   DIR/drivers/libifdvpcd-E.so one private copy of the vpcd driver per entry (see below)
 *   DIR/run/                    pcscd's socket directory (bind-mounted on /run/pcscd)
 *   DIR/env                     export PCSCLITE_CSOCK_NAME=DIR/run/pcscd.comm
 *   DIR/pids                    one pid per line: pcscd first, then the cards in reader order
 *   DIR/readers                 per reader: name TAB port TAB EID TAB card state dir
 *   DIR/logs/                   pcscd.log, card-<i>.log
 * then waits until pcscd answers and every reader has its card, and returns (the processes
 * stay, detached). The card serve options are passed to every card as they are; for the
 * test-only `--trace-apdus FILE` put "{EID}" in FILE (each card replaces it with its EID), or
 * the cards share one file. `line down` stops exactly the pids of DIR/pids (SIGTERM, then SIGKILL
 * after 5 s), checking each one's command line first so a recycled pid is never hit.
 *
 * Measured on Debian 12 (pcsc-lite 1.9.9, vsmartcard 0.8):
 *   - pcscd ignores PCSCLITE_CSOCK_NAME server-side: it runs in a private mount namespace with
 *     DIR/run bind-mounted on /run/pcscd (`unshare -m`), clients use PCSCLITE_CSOCK_NAME.
 *   - the vpcd driver keeps its sockets in a static array indexed by slot only, so two
 *     reader.conf entries that load the SAME .so overwrite each other's slots (only one reader
 *     works). Each entry therefore loads its own copy of the driver; entries also need distinct
 *     FRIENDLYNAMEs, or pcscd names two readers "FPA-SIM 00 00". Entry 0 is "FPA-SIM", entry e
 *     "FPA-SIM<e+1>" (readers "FPA-SIM 00 00", "FPA-SIM 00 01", "FPA-SIM2 00 00", ...).
 *   - pcsc-lite serves at most 16 readers: N <= 16.
 * Ports default to a hash of DIR in 0x9100 + 16k (k < 1024), skipping busy ones; the packaged
 * vpcd config uses 0x8C7B/0x8C7C, which are refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "testkit.h"
#include "transport.h"

#define LINE_MAX_READERS     16
#define LINE_DEFAULT_DRIVER  "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
#define LINE_PORT_BASE       0x9100
#define LINE_PORT_SLOTS      1024
#define LINE_PORT_STEP       16
#define LINE_PACKAGED_PORT   0x8C7B
#define LINE_STOP_TIMEOUT_MS 5000
#define LINE_MAX_SERVE_ARGS  16

typedef struct {
    char dir[PATH_MAX];
    unsigned readers;
    const char *cards;
    unsigned long base_port; /* 0: from the hash of DIR */
    const char *pki;
    const char *keys;
    const char *driver;
    unsigned timeout_s;
    const char *serve_args[LINE_MAX_SERVE_ARGS];
    size_t n_serve_args;
} line_args_t;

typedef struct {
    char name[64];
    uint16_t port;
    char state_dir[PATH_MAX];
    char eid[33];
} line_reader_t;

static void usage(FILE *f) {
    fprintf(f, "usage: ifpp-testkit line up DIR --readers N [--cards DIR] [--base-port P]\n"
               "           [--pki DIR] [--keys K] [--driver SO] [--timeout S]\n"
               "           [--latency-ms N] [--bps N] [--max-block N] [--t0-only] [--faults SPEC]\n"
               "           [--isdr-aid HEX] [--bench-fixed-challenge] [--bench-record DIR]\n"
               "           [--trace-apdus FILE]   ({EID} in FILE: one file per card)\n"
               "       ifpp-testkit line down DIR\n"
               "       ifpp-testkit line bench DIR [--reader NAME] [--count N] [--size BYTES]\n");
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int path_fmt(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int path_fmt(char *out, size_t len, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        fprintf(stderr, "ifpp-testkit line: path too long\n");
        return -1;
    }
    return 0;
}

static int mkdir_one(const char *path, mode_t mode) {
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_text(const char *path, const char *text, unsigned mode) {
    st_t st = buf_write_file_atomic(path, text, strlen(text), mode);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", path, st_str(st));
        return -1;
    }
    return 0;
}

/* ---- processes ---- */

/* True while pid exists and is not a zombie (reaps it when it is our child). */
static bool proc_alive(pid_t pid) {
    char path[64], buf[512];
    FILE *f;
    const char *p;
    int status;

    if (waitpid(pid, &status, WNOHANG) == pid)
        return false;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return false;
    if (!fgets(buf, sizeof(buf), f)) {
        fclose(f);
        return false;
    }
    fclose(f);
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * True if pid is one of ours: `line up` points every process's stdout at DIR/logs/, so the
 * target of /proc/PID/fd/1 identifies it even if the pid was recycled meanwhile.
 */
static bool proc_is_ours(pid_t pid, const char *dir) {
    char path[64], target[PATH_MAX], want[PATH_MAX + 8];
    ssize_t n;
    snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return false;
    target[n] = 0;
    snprintf(want, sizeof(want), "%s/logs/", dir);
    return strncmp(target, want, strlen(want)) == 0;
}

/* fork + exec, detached (own session), output to log. Returns the pid or -1. */
static pid_t spawn(const char *log, char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ifpp-testkit line: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        setsid();
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/*
 * Stops pids (SIGTERM, wait, SIGKILL after the timeout). `dir` non-NULL: a pid that is not ours
 * any more (proc_is_ours) is left alone.
 */
static void stop_pids(const pid_t *pids, size_t n, const char *dir) {
    bool mine[LINE_MAX_READERS + 1];
    uint64_t deadline;

    for (size_t i = 0; i < n; i++) {
        mine[i] = pids[i] > 1 && proc_alive(pids[i]);
        if (mine[i] && dir && !proc_is_ours(pids[i], dir)) {
            fprintf(stderr, "ifpp-testkit line: pid %d is not ours any more, skipped\n",
                    (int)pids[i]);
            mine[i] = false;
        }
        if (mine[i])
            kill(pids[i], SIGTERM);
    }
    deadline = now_ms() + LINE_STOP_TIMEOUT_MS;
    for (;;) {
        bool any = false;
        for (size_t i = 0; i < n; i++)
            if (mine[i] && proc_alive(pids[i]))
                any = true;
        if (!any)
            return;
        if (now_ms() >= deadline)
            break;
        sleep_ms(20);
    }
    for (size_t i = 0; i < n; i++) {
        if (mine[i] && proc_alive(pids[i])) {
            fprintf(stderr, "ifpp-testkit line: pid %d ignored SIGTERM, killing\n", (int)pids[i]);
            kill(pids[i], SIGKILL);
        }
    }
    for (size_t i = 0; i < n; i++)
        while (mine[i] && proc_alive(pids[i]))
            sleep_ms(10);
}

/* ---- ports and files ---- */

static bool port_free(unsigned port) {
    struct sockaddr_in sa;
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;
    if (s < 0)
        return false;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY); /* vpcd listens on INADDR_ANY */
    ok = bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(s);
    return ok;
}

static bool ports_ok(unsigned long base, unsigned n, bool quiet) {
    if (base < 1024 || base + n > 65536) {
        if (!quiet)
            fprintf(stderr, "ifpp-testkit line: ports %lu..%lu out of range\n", base, base + n - 1);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned p = (unsigned)base + i;
        if (p == LINE_PACKAGED_PORT || p == LINE_PACKAGED_PORT + 1 || !port_free(p)) {
            if (!quiet)
                fprintf(stderr, "ifpp-testkit line: port %u is %s\n", p,
                        p == LINE_PACKAGED_PORT || p == LINE_PACKAGED_PORT + 1
                            ? "the packaged vpcd's"
                            : "in use");
            return false;
        }
    }
    return true;
}

static unsigned long choose_base_port(const char *dir, unsigned n_ports) {
    uint32_t h = 2166136261u; /* FNV-1a of the directory */
    for (const char *p = dir; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (unsigned attempt = 0; attempt < 64; attempt++) {
        unsigned long base =
            LINE_PORT_BASE
            + (unsigned long)((h + attempt * 7919u) % LINE_PORT_SLOTS) * LINE_PORT_STEP;
        if (ports_ok(base, n_ports, true))
            return base;
    }
    fprintf(stderr, "ifpp-testkit line: no free port range found; use --base-port\n");
    return 0;
}

static int copy_driver(const char *src, const char *dst) {
    char real[PATH_MAX];
    buf_t b = BUF_INIT;
    st_t st;
    if (!realpath(src, real)) {
        fprintf(stderr, "ifpp-testkit line: vpcd driver %s: %s\n", src, strerror(errno));
        return -1;
    }
    st = buf_read_file(&b, real, 64u << 20);
    if (st == ST_OK)
        st = buf_write_file_atomic(dst, b.data, b.len, 0755);
    buf_free(&b);
    if (st != ST_OK) {
        fprintf(stderr, "ifpp-testkit line: copying %s to %s: %s\n", real, dst, st_str(st));
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The card state directories under root: root/cards/NAME if present, else root/NAME; sorted. */
static int list_cards(const char *root, line_reader_t *r, unsigned n) {
    char base[PATH_MAX], path[PATH_MAX + 300];
    char *names[4096];
    size_t count = 0;
    struct dirent *de;
    struct stat sb;
    DIR *d;
    int rc = -1;

    if (path_fmt(base, sizeof(base), "%s/cards", root))
        return -1;
    if (stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode))
        snprintf(base, sizeof(base), "%s", root);
    if (!(d = opendir(base))) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", base, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) && count < sizeof(names) / sizeof(names[0])) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/card.state", base, de->d_name);
        if (stat(path, &sb) != 0)
            continue;
        if (!(names[count] = strdup(de->d_name)))
            goto out;
        count++;
    }
    qsort(names, count, sizeof(names[0]), cmp_str);
    if (count < n) {
        fprintf(stderr, "ifpp-testkit line: %s holds %zu card(s), %u needed\n", base, count, n);
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        char real[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", base, names[i]);
        if (!realpath(path, real) || path_fmt(r[i].state_dir, sizeof(r[i].state_dir), "%s", real))
            goto out;
        snprintf(r[i].eid, sizeof(r[i].eid), "%.32s", names[i]);
    }
    rc = 0;
out:
    closedir(d);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    return rc;
}

/* Fresh cards in DIR/eum (reused when it already holds enough), PKI from --pki or DIR/pki. */
static int make_cards(line_args_t *a, char *cards_root, size_t len) {
    char pki[PATH_MAX], probe[PATH_MAX + 32], count[16];
    struct stat sb;

    if (path_fmt(cards_root, len, "%s/eum", a->dir))
        return -1;
    if (path_fmt(probe, sizeof(probe), "%s/cards", cards_root))
        return -1;
    if (stat(probe, &sb) == 0) {
        line_reader_t tmp[LINE_MAX_READERS];
        if (list_cards(cards_root, tmp, a->readers) == 0)
            return 0; /* the cards of the previous `line up` (a card remembers) */
        fprintf(stderr, "ifpp-testkit line: making more cards in %s\n", cards_root);
    }
    snprintf(pki, sizeof(pki), "%s", a->pki ? a->pki : "./pki");
    if (path_fmt(probe, sizeof(probe), "%s/eum.key.pem", pki))
        return -1;
    if (stat(probe, &sb) != 0) {
        char *pargv[4];
        if (a->pki) {
            fprintf(stderr, "ifpp-testkit line: %s has no test PKI\n", pki);
            return -1;
        }
        if (path_fmt(pki, sizeof(pki), "%s/pki", a->dir))
            return -1;
        if (path_fmt(probe, sizeof(probe), "%s/eum.key.pem", pki))
            return -1;
        if (stat(probe, &sb) != 0) {
            pargv[0] = "pki";
            pargv[1] = "init";
            pargv[2] = pki;
            pargv[3] = NULL;
            fprintf(stderr, "ifpp-testkit line: no ./pki: creating a test PKI in %s\n", pki);
            if (tk_pki_main(3, pargv) != 0)
                return -1;
        }
    }
    snprintf(count, sizeof(count), "%u", a->readers);
    {
        char *eargv[] = {"eum",    "make",          cards_root, "--count", count,
                         "--keys", (char *)a->keys, "--pki",    pki,       NULL};
        if (tk_eum_main(9, eargv) != 0)
            return -1;
    }
    return 0;
}

static int read_pids(const char *dir, pid_t *pids, size_t *n) {
    char path[PATH_MAX + 16], line[64];
    FILE *f;
    *n = 0;
    if (path_fmt(path, sizeof(path), "%s/pids", dir))
        return -1;
    if (!(f = fopen(path, "r")))
        return errno == ENOENT ? 1 : -1;
    while (fgets(line, sizeof(line), f) && *n < LINE_MAX_READERS + 1) {
        long v = strtol(line, NULL, 10);
        if (v > 1)
            pids[(*n)++] = (pid_t)v;
    }
    fclose(f);
    return 0;
}

/* ---- line up ---- */

static int wait_ready(const line_args_t *a, line_reader_t *r, const pid_t *pids, size_t n_pids) {
    uint64_t deadline = now_ms() + (uint64_t)a->timeout_s * 1000u;
    transport_t *t = NULL;
    char **names = NULL;
    size_t n_names = 0;
    int rc = -1;
    st_t st;

    for (;;) { /* pcscd up and every reader listed */
        bool all = true;
        for (size_t i = 0; i < n_pids; i++) {
            if (!proc_alive(pids[i])) {
                fprintf(stderr, "ifpp-testkit line: %s (pid %d) exited; see %s/logs\n",
                        i == 0 ? "pcscd" : "a card", (int)pids[i], a->dir);
                return -1;
            }
        }
        st = transport_pcsc_list_readers(&names, &n_names);
        if (st == ST_OK) {
            for (unsigned i = 0; i < a->readers && all; i++) {
                bool found = false;
                for (size_t k = 0; k < n_names; k++)
                    found |= !strcmp(names[k], r[i].name);
                all = found;
            }
            transport_reader_list_free(names, n_names);
            names = NULL;
            if (all)
                break;
        }
        if (now_ms() >= deadline) {
            fprintf(stderr, "ifpp-testkit line: pcscd did not list the readers in %u s (%s)\n",
                    a->timeout_s, st_str(st));
            return -1;
        }
        sleep_ms(50);
    }
    if ((st = transport_pcsc_new(&t)) != ST_OK)
        return -1;
    for (unsigned i = 0; i < a->readers; i++) {
        uint64_t now = now_ms();
        unsigned left = now < deadline ? (unsigned)(deadline - now) : 1;
        st = transport_wait_event(t, r[i].name, TRANSPORT_WAIT_INSERTED, left);
        if (st != ST_OK) {
            fprintf(stderr, "ifpp-testkit line: no card in %s: %s\n", r[i].name, st_str(st));
            goto out;
        }
    }
    rc = 0;
out:
    transport_free(t);
    return rc;
}

static int line_up(line_args_t *a) {
    line_reader_t r[LINE_MAX_READERS];
    char cards_root[PATH_MAX], path[PATH_MAX + 64], exe[PATH_MAX], log[PATH_MAX + 64];
    char run[PATH_MAX + 16], conf[PATH_MAX + 32], sock[PATH_MAX + 32];
    unsigned entries = (a->readers + 1) / 2;
    pid_t pids[LINE_MAX_READERS + 1];
    size_t n_pids = 0, old_n;
    buf_t text = BUF_INIT;
    ssize_t exe_len;
    int rc = 1;

    memset(r, 0, sizeof(r));
    if (read_pids(a->dir, pids, &old_n) == 0) {
        for (size_t i = 0; i < old_n; i++) {
            if (proc_alive(pids[i])) {
                fprintf(stderr, "ifpp-testkit line: %s is up (pid %d); `line down` it first\n",
                        a->dir, (int)pids[i]);
                return 1;
            }
        }
    }
    if (mkdir("/run/pcscd", 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ifpp-testkit line: /run/pcscd: %s\n", strerror(errno));
        return 1;
    }
    if (path_fmt(run, sizeof(run), "%s/run", a->dir) || mkdir_one(run, 0755)
        || path_fmt(conf, sizeof(conf), "%s/reader.conf.d", a->dir) || mkdir_one(conf, 0755)
        || path_fmt(path, sizeof(path), "%s/drivers", a->dir) || mkdir_one(path, 0755)
        || path_fmt(path, sizeof(path), "%s/logs", a->dir) || mkdir_one(path, 0755))
        return 1;

    /* cards */
    if (a->cards) {
        if (path_fmt(cards_root, sizeof(cards_root), "%s", a->cards))
            return 1;
    } else if (make_cards(a, cards_root, sizeof(cards_root)) != 0) {
        return 1;
    }
    if (list_cards(cards_root, r, a->readers) != 0)
        return 1;

    /* ports, drivers, reader.conf.d */
    if (!a->base_port)
        a->base_port = choose_base_port(a->dir, entries * 2);
    else if (!ports_ok(a->base_port, entries * 2, false))
        return 1;
    if (!a->base_port)
        return 1;
    {
        static const char hdr[] = "# written by ifpp-testkit line up: one vpcd entry per 2 "
                                  "readers, each with its own copy of the driver\n";
        if (buf_append(&text, hdr, strlen(hdr)) != ST_OK)
            goto out;
    }
    for (unsigned e = 0; e < entries; e++) {
        char friendly[32], so[PATH_MAX + 64], entry[2 * PATH_MAX];
        unsigned port = (unsigned)a->base_port + 2 * e;
        if (e == 0)
            snprintf(friendly, sizeof(friendly), "FPA-SIM");
        else
            snprintf(friendly, sizeof(friendly), "FPA-SIM%u", e + 1);
        if (path_fmt(so, sizeof(so), "%s/drivers/libifdvpcd-%u.so", a->dir, e)
            || copy_driver(a->driver, so) != 0)
            goto out;
        snprintf(entry, sizeof(entry),
                 "\nFRIENDLYNAME \"%s\"\nDEVICENAME   /dev/null:0x%04X\nLIBPATH      %s\n"
                 "CHANNELID    0x%04X\n",
                 friendly, port, so, port);
        if (buf_append(&text, entry, strlen(entry)) != ST_OK)
            goto out;
        for (unsigned s = 0; s < 2 && 2 * e + s < a->readers; s++) {
            line_reader_t *rd = &r[2 * e + s];
            snprintf(rd->name, sizeof(rd->name), "%s 00 %02X", friendly, s);
            rd->port = (uint16_t)(port + s);
        }
    }
    if (path_fmt(path, sizeof(path), "%s/fpa-sim", conf))
        goto out;
    buf_append_byte(&text, 0);
    if (write_text(path, (const char *)text.data, 0644))
        goto out;

    /* pcscd in its own mount namespace: DIR/run is its /run/pcscd */
    if (path_fmt(log, sizeof(log), "%s/logs/pcscd.log", a->dir))
        goto out;
    {
        char *argv[] = {"unshare",
                        "-m",
                        "sh",
                        "-c",
                        "mount --bind \"$1\" /run/pcscd && exec pcscd -f -c \"$2\"",
                        "sh",
                        run,
                        conf,
                        NULL};
        if ((pids[n_pids] = spawn(log, argv)) < 0)
            goto out;
        n_pids++;
    }

    /* one card per reader */
    exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (exe_len <= 0)
        goto fail;
    exe[exe_len] = 0;
    for (unsigned i = 0; i < a->readers; i++) {
        char port[16];
        char *argv[8 + LINE_MAX_SERVE_ARGS + 1];
        size_t k = 0;
        snprintf(port, sizeof(port), "%u", (unsigned)r[i].port);
        argv[k++] = exe;
        argv[k++] = "-v";
        argv[k++] = "euicc";
        argv[k++] = "serve";
        argv[k++] = "--state";
        argv[k++] = r[i].state_dir;
        argv[k++] = "--vpcd-port";
        argv[k++] = port;
        for (size_t j = 0; j < a->n_serve_args; j++)
            argv[k++] = (char *)a->serve_args[j];
        argv[k] = NULL;
        if (path_fmt(log, sizeof(log), "%s/logs/card-%u.log", a->dir, i))
            goto fail;
        if ((pids[n_pids] = spawn(log, argv)) < 0)
            goto fail;
        n_pids++;
    }

    /* pids first (so `line down` works whatever happens next), then env and readers */
    buf_reset(&text);
    for (size_t i = 0; i < n_pids; i++) {
        char line[32];
        snprintf(line, sizeof(line), "%d\n", (int)pids[i]);
        buf_append(&text, line, strlen(line));
    }
    buf_append_byte(&text, 0);
    if (path_fmt(path, sizeof(path), "%s/pids", a->dir)
        || write_text(path, (const char *)text.data, 0644))
        goto fail;
    if (path_fmt(sock, sizeof(sock), "%s/pcscd.comm", run))
        goto fail;
    buf_reset(&text);
    {
        char line[PATH_MAX + 64];
        snprintf(line, sizeof(line), "export PCSCLITE_CSOCK_NAME=%s\n", sock);
        buf_append(&text, line, strlen(line) + 1);
    }
    if (path_fmt(path, sizeof(path), "%s/env", a->dir)
        || write_text(path, (const char *)text.data, 0644))
        goto fail;
    buf_reset(&text);
    for (unsigned i = 0; i < a->readers; i++) {
        char line[PATH_MAX + 160];
        if (path_fmt(line, sizeof(line), "%s\t%u\t%s\t%s\n", r[i].name, (unsigned)r[i].port,
                     r[i].eid, r[i].state_dir))
            goto fail;
        buf_append(&text, line, strlen(line));
    }
    buf_append_byte(&text, 0);
    if (path_fmt(path, sizeof(path), "%s/readers", a->dir)
        || write_text(path, (const char *)text.data, 0644))
        goto fail;

    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    if (wait_ready(a, r, pids, n_pids) != 0)
        goto fail;
    for (unsigned i = 0; i < a->readers; i++)
        printf("%s\t%s\n", r[i].name, r[i].eid);
    fprintf(stderr,
            "ifpp-testkit line: %u reader(s) up on ports %lu..%lu; `. %s/env` to use them\n",
            a->readers, a->base_port, a->base_port + 2 * entries - 1, a->dir);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "ifpp-testkit line: stopping what was started (logs in %s/logs)\n", a->dir);
    stop_pids(pids, n_pids, NULL); /* our own children: no pid reuse possible yet */
    if (path_fmt(path, sizeof(path), "%s/pids", a->dir) == 0)
        unlink(path);
out:
    buf_free(&text);
    return rc;
}

static int line_down(const char *arg) {
    pid_t pids[LINE_MAX_READERS + 1];
    size_t n;
    char path[PATH_MAX + 16], dir[PATH_MAX];
    int r;
    if (!realpath(arg, dir)) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", arg, strerror(errno));
        return 1;
    }
    r = read_pids(dir, pids, &n);
    if (r == 1) {
        fprintf(stderr, "ifpp-testkit line: %s/pids: nothing to stop\n", dir);
        return 0;
    }
    if (r != 0) {
        fprintf(stderr, "ifpp-testkit line: %s/pids: %s\n", dir, strerror(errno));
        return 1;
    }
    stop_pids(pids, n, dir);
    if (path_fmt(path, sizeof(path), "%s/pids", dir) == 0)
        unlink(path);
    fprintf(stderr, "ifpp-testkit line: %s down (%zu process(es))\n", dir, n);
    return 0;
}

/* ---- line bench: per-APDU cost through pcscd + vpcd + the simulator ---- */

static st_t xmit(transport_t *t, const uint8_t *c, size_t n, uint8_t *r, size_t *rlen,
                 uint16_t *sw) {
    st_t st = transport_transmit(t, c, n, r, TRANSPORT_MAX_RAPDU, rlen);
    if (st == ST_OK) {
        if (*rlen < 2)
            return ST_E_PROTO;
        *sw = (uint16_t)(r[*rlen - 2] << 8 | r[*rlen - 1]);
    }
    return st;
}

static int line_bench(const char *dir, const char *reader, unsigned long count,
                      unsigned long size) {
    static const uint8_t isdr[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
    char sock[PATH_MAX + 32], first[64] = "";
    uint8_t c[TRANSPORT_MAX_CAPDU], r[TRANSPORT_MAX_RAPDU];
    size_t rlen;
    uint16_t sw = 0;
    transport_t *t = NULL;
    uint8_t ch, cla;
    uint64_t t0, t1;
    unsigned long done = 0, eids = count / 10 ? count / 10 : 1;
    int rc = 1;
    st_t st;

    if (path_fmt(sock, sizeof(sock), "%s/run/pcscd.comm", dir))
        return 1;
    setenv("PCSCLITE_CSOCK_NAME", sock, 1);
    if (!reader) {
        char path[PATH_MAX + 16];
        FILE *f;
        if (path_fmt(path, sizeof(path), "%s/readers", dir) || !(f = fopen(path, "r"))) {
            fprintf(stderr, "ifpp-testkit line: %s/readers: is the line up?\n", dir);
            return 1;
        }
        if (fgets(first, sizeof(first), f))
            first[strcspn(first, "\t\n")] = 0;
        fclose(f);
        reader = first;
    }
    if ((st = transport_pcsc_new(&t)) != ST_OK || (st = transport_open(t, reader)) != ST_OK) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", reader, st_str(st));
        goto out;
    }
    /* MANAGE CHANNEL open, SELECT ISD-R on it */
    memcpy(c, "\x00\x70\x00\x00\x01", 5);
    if (xmit(t, c, 5, r, &rlen, &sw) != ST_OK || sw != 0x9000 || rlen != 3)
        goto proto;
    ch = r[0];
    cla = (uint8_t)(ch < 4 ? ch : 0x40 | (ch - 4));
    c[0] = cla;
    memcpy(c + 1, "\xA4\x04\x00\x10", 4);
    memcpy(c + 5, isdr, sizeof(isdr));
    c[5 + sizeof(isdr)] = 0x00;
    if (xmit(t, c, 6 + sizeof(isdr), r, &rlen, &sw) != ST_OK || (sw != 0x9000 && sw >> 8 != 0x61))
        goto proto;
    cla |= 0x80;

    /* `count` STORE DATA blocks of `size` bytes, in sequences of up to 200 blocks; each
     * sequence is one unknown DF7F object, so the card answers its last block with 6A80 */
    t0 = now_ms();
    while (done < count) {
        unsigned long blocks = count - done < 200 ? count - done : 200;
        size_t total = blocks * size, hdr = 5;
        for (unsigned long b = 0; b < blocks; b++) {
            c[0] = cla;
            c[1] = 0xE2;
            c[2] = b + 1 == blocks ? 0x91 : 0x11;
            c[3] = (uint8_t)b;
            c[4] = (uint8_t)size;
            memset(c + 5, 0x5A, size);
            if (b == 0) { /* DF7F 82 LLLL */
                c[5] = 0xDF;
                c[6] = 0x7F;
                c[7] = 0x82;
                c[8] = (uint8_t)((total - hdr) >> 8);
                c[9] = (uint8_t)(total - hdr);
            }
            if (xmit(t, c, 5 + size, r, &rlen, &sw) != ST_OK)
                goto proto;
            if (sw != (b + 1 == blocks ? 0x6A80 : 0x9000))
                goto proto;
        }
        done += blocks;
    }
    t1 = now_ms();
    printf("store-data: %lu APDUs of %lu bytes (Lc %lu) in %llu ms: %.1f us/APDU\n", count,
           5 + size, size, (unsigned long long)(t1 - t0), (double)(t1 - t0) * 1000.0 / count);

    /* GetEID: STORE DATA BF3E + GET RESPONSE, i.e. two APDUs per exchange */
    t0 = now_ms();
    for (unsigned long i = 0; i < eids; i++) {
        static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
        c[0] = cla;
        memcpy(c + 1, "\xE2\x91\x00", 3);
        c[4] = sizeof(get_eid);
        memcpy(c + 5, get_eid, sizeof(get_eid));
        if (xmit(t, c, 5 + sizeof(get_eid), r, &rlen, &sw) != ST_OK || sw != 0x6115)
            goto proto;
        c[0] = cla;
        memcpy(c + 1, "\xC0\x00\x00\x15", 4);
        if (xmit(t, c, 5, r, &rlen, &sw) != ST_OK || sw != 0x9000 || rlen != 23)
            goto proto;
    }
    t1 = now_ms();
    printf("get-eid: %lu exchanges (2 APDUs each) in %llu ms: %.1f us/APDU\n", eids,
           (unsigned long long)(t1 - t0), (double)(t1 - t0) * 1000.0 / (2.0 * eids));
    c[0] = 0x00;
    memcpy(c + 1, "\x70\x80", 2);
    c[3] = ch;
    c[4] = 0x00;
    (void)xmit(t, c, 5, r, &rlen, &sw);
    rc = 0;
    goto out;
proto:
    fprintf(stderr, "ifpp-testkit line: bench: unexpected answer (SW %04X)\n", sw);
out:
    transport_free(t);
    return rc;
}

/* ---- arguments ---- */

static bool parse_ulong(const char *s, unsigned long max, unsigned long *v) {
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    *v = strtoul(s, &end, 0);
    return !errno && !*end && *v <= max;
}

static int up_main(int argc, char **argv) {
    line_args_t a;
    unsigned long v;
    memset(&a, 0, sizeof(a));
    a.keys = "8";
    a.driver = LINE_DEFAULT_DRIVER;
    a.timeout_s = 30;
    if (argc < 3 || argv[2][0] == '-') {
        /* "line up --help" must not create a directory named --help */
        usage(argc >= 3 && !strcmp(argv[2], "--help") ? stdout : stderr);
        return argc >= 3 && !strcmp(argv[2], "--help") ? 0 : 2;
    }
    if (mkdir(argv[2], 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    if (!realpath(argv[2], a.dir)) {
        fprintf(stderr, "ifpp-testkit line: %s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--t0-only") || !strcmp(o, "--bench-fixed-challenge")) {
            if (a.n_serve_args >= LINE_MAX_SERVE_ARGS)
                return 2;
            a.serve_args[a.n_serve_args++] = o;
            continue;
        }
        if (!val) {
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(o, "--readers") && parse_ulong(val, LINE_MAX_READERS, &v) && v >= 1) {
            a.readers = (unsigned)v;
        } else if (!strcmp(o, "--cards")) {
            a.cards = val;
        } else if (!strcmp(o, "--base-port") && parse_ulong(val, 65535, &v) && v > 0) {
            a.base_port = v;
        } else if (!strcmp(o, "--pki")) {
            a.pki = val;
        } else if (!strcmp(o, "--keys") && parse_ulong(val, 1024, &v) && v >= 1) {
            a.keys = val;
        } else if (!strcmp(o, "--driver")) {
            a.driver = val;
        } else if (!strcmp(o, "--timeout") && parse_ulong(val, 3600, &v) && v >= 1) {
            a.timeout_s = (unsigned)v;
        } else if (!strcmp(o, "--latency-ms") || !strcmp(o, "--bps") || !strcmp(o, "--max-block")
                   || !strcmp(o, "--faults") || !strcmp(o, "--isdr-aid")
                   || !strcmp(o, "--bench-record") || !strcmp(o, "--trace-apdus")) {
            if (a.n_serve_args + 2 > LINE_MAX_SERVE_ARGS)
                return 2;
            a.serve_args[a.n_serve_args++] = o;
            a.serve_args[a.n_serve_args++] = val;
        } else {
            fprintf(stderr, "ifpp-testkit line: bad option %s %s (--readers is 1..%d)\n", o, val,
                    LINE_MAX_READERS);
            return 2;
        }
    }
    if (!a.readers) {
        usage(stderr);
        return 2;
    }
    return line_up(&a);
}

static int bench_main(int argc, char **argv) {
    const char *reader = NULL;
    unsigned long count = 1000, size = 255;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--reader"))
            reader = argv[i + 1];
        else if (!strcmp(argv[i], "--count") && parse_ulong(argv[i + 1], 10000000, &count)
                 && count > 0)
            ;
        else if (!strcmp(argv[i], "--size") && parse_ulong(argv[i + 1], 255, &size) && size >= 6)
            ;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (argc < 3 || (argc - 3) % 2) {
        usage(stderr);
        return 2;
    }
    return line_bench(argv[2], reader, count, size);
}

int tk_line_main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "up"))
        return up_main(argc, argv);
    if (argc == 3 && !strcmp(argv[1], "down"))
        return line_down(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "bench"))
        return bench_main(argc, argv);
    usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
    return 2;
}
