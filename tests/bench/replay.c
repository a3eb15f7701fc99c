/*
 * replay.c - `line-replay`: the helper of tests/bench/line_bench.sh (issue 5 benchmark).
 *
 * line-replay replay READERS RECDIR
 *   The baseline of the station-overhead bench: a bare SCardTransmit loop. READERS is the
 *   `line up` readers file (name TAB port TAB EID ...); each reader's record is
 *   RECDIR/<EID>.rec. One thread per reader (the engine has one worker per reader)
 *   establishes its PC/SC context, SCardConnect(EXCLUSIVE, T0|T1) + SCardStatus like the
 *   station, sends the recorded C-APDUs in order and SCardDisconnect(RESET_CARD) at the end,
 *   like the station. A power event in the record followed by more APDUs ends the session
 *   there (disconnect + connect again). Every answer is checked against the recorded one:
 *   length and SW must match (the replay did the same work: the card accepted the recorded
 *   AuthoriseFpaServices and installed the same profiles); other data of the same length is
 *   counted for information (fresh ECDSA signatures in the PIRs). Exit 1 on any error or
 *   mismatch.
 *
 * line-replay time [--expect N] [--match STR] [--timeout S] [--log FILE] -- CMD [ARG...]
 *   Runs CMD with its stdout and stderr on a pipe (copied to FILE, each line prefixed with the
 *   time it was read) and prints one line
 *     done_s=.. exit_s=.. user_s=.. sys_s=.. rc=.. pass=.. fail=..
 *   done_s: seconds from the spawn to the N-th line containing STR (default "load PASS (",
 *   the engine's info-level verdict for a card in `ifpp-station -v run`; the --until-idle
 *   quiet period of 1.5 s that follows is not the station's work), or to the end of CMD's
 *   output when N is 0 or never reached. fail counts "load FAIL" / "load ATTENTION" lines.
 *   user_s, sys_s: getrusage of the child (wait4). --timeout: after S seconds the child (ours,
 *   by its pid) gets SIGTERM, SIGKILL 5 s later, and rc is 124. (The verdict lines `run`
 *   prints on stdout are not used: they follow the engine's event pipe, which can lose a
 *   wake-up; see line_bench.sh.)
 *
 * line-replay lbpp RECFILE
 *   From a card record: one line per ES10b.LoadBoundProfilePackage found, from the first
 *   STORE DATA block of the BF36 to the last GET RESPONSE of its answer
 *     lbpp apdus=.. cbytes=.. rbytes=.. getresp=.. bf37=..
 *   then "session apdus=.. cbytes=.. rbytes=.." for the whole record.
 *
 * line-replay minimum BF36HEXFILE BLOCK BF37LEN
 *   The fewest APDUs and bytes that can carry this BPP with BLOCK-byte STORE DATA blocks,
 *   computed here from the BPP, independently of the station: the segments of SGP.22 §2.5.5
 *   ([BF36 hdr + BF23], [A0 hdr + first 87], further 87s, [A1 hdr], each 88, [A2 hdr + first
 *   87], further 87s, [A3 hdr], each 86), each ceil(len / BLOCK) STORE DATA APDUs of 5 header
 *   bytes + data answered by a 2-byte SW, and the GET RESPONSEs of a BF37LEN-byte answer
 *   (ceil(BF37LEN / 256), 5 bytes each, answer + SW)
 *     minimum apdus=.. cbytes=.. rbytes=.. segments=..
 *
 * Record format (`ifpp-testkit euicc serve --bench-record DIR`): "C <hex>", "R <hex>",
 * "E on|off|reset", one per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

extern char **environ;

#define MAX_READERS 16
#define MAX_APDU    261
#define MAX_RAPDU   258

typedef struct {
    uint8_t c[MAX_APDU];
    uint16_t clen;
    uint8_t r[MAX_RAPDU];
    uint16_t rlen;
    bool new_session; /* a power event before this APDU (not the first one) */
} xchg_t;

typedef struct {
    xchg_t *x;
    size_t n, cap;
} record_t;

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Hex (up to a newline) into out; returns the byte count or -1. */
static long hex_decode(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    while (s[0] && s[0] != '\n') {
        int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return (long)n;
}

static int record_load(const char *path, record_t *rec) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t lcap = 0;
    bool pending_event = false, have_c = false;
    long k;
    int rc = -1;

    memset(rec, 0, sizeof(*rec));
    if (!f) {
        fprintf(stderr, "line-replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &lcap, f) > 0) {
        if (line[0] == 'E') {
            pending_event = rec->n > 0;
            continue;
        }
        if (line[0] == 'C' && line[1] == ' ') {
            if (rec->n == rec->cap) {
                size_t cap = rec->cap ? rec->cap * 2 : 512;
                xchg_t *x = realloc(rec->x, cap * sizeof(*x));
                if (!x)
                    goto out;
                rec->x = x;
                rec->cap = cap;
            }
            k = hex_decode(line + 2, rec->x[rec->n].c, MAX_APDU);
            if (k < 4)
                goto bad;
            rec->x[rec->n].clen = (uint16_t)k;
            rec->x[rec->n].rlen = 0;
            rec->x[rec->n].new_session = pending_event;
            pending_event = false;
            have_c = true;
            rec->n++;
        } else if (line[0] == 'R' && line[1] == ' ' && have_c) {
            k = hex_decode(line + 2, rec->x[rec->n - 1].r, MAX_RAPDU);
            if (k < 2)
                goto bad;
            rec->x[rec->n - 1].rlen = (uint16_t)k;
            have_c = false;
        } else {
            goto bad;
        }
    }
    rc = 0;
    goto out;
bad:
    fprintf(stderr, "line-replay: %s: bad record line: %.40s\n", path, line);
out:
    free(line);
    fclose(f);
    return rc;
}

/* ---- replay ---- */

typedef struct {
    char reader[128];
    record_t rec;
    pthread_t th;
    unsigned long sent, len_sw_mismatch, data_diff;
    LONG err;
    const char *err_where;
} job_t;

static LONG connect_card(SCARDCONTEXT ctx, const char *reader, SCARDHANDLE *h, DWORD *proto) {
    char name[MAX_READERNAME];
    BYTE atr[MAX_ATR_SIZE];
    DWORD nlen = sizeof(name), state, p2, alen = sizeof(atr);
    LONG rv = SCardConnect(ctx, reader, SCARD_SHARE_EXCLUSIVE,
                           SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, h, proto);
    if (rv == SCARD_S_SUCCESS) /* the station reads the ATR after connecting */
        rv = SCardStatus(*h, name, &nlen, &state, &p2, atr, &alen);
    return rv;
}

static void *replay_thread(void *arg) {
    job_t *j = arg;
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    DWORD proto = 0;
    BYTE r[MAX_RAPDU + 2];
    LONG rv;

    rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) {
        j->err = rv;
        j->err_where = "SCardEstablishContext";
        return NULL;
    }
    if ((rv = connect_card(ctx, j->reader, &h, &proto)) != SCARD_S_SUCCESS) {
        j->err_where = "SCardConnect";
        goto out;
    }
    for (size_t i = 0; i < j->rec.n; i++) {
        const xchg_t *x = &j->rec.x[i];
        DWORD n = sizeof(r);
        if (x->new_session) {
            (void)SCardDisconnect(h, SCARD_RESET_CARD);
            if ((rv = connect_card(ctx, j->reader, &h, &proto)) != SCARD_S_SUCCESS) {
                j->err_where = "SCardConnect";
                goto out;
            }
        }
        rv = SCardTransmit(h, proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1, x->c,
                           x->clen, NULL, r, &n);
        if (rv != SCARD_S_SUCCESS) {
            j->err_where = "SCardTransmit";
            goto disc;
        }
        j->sent++;
        if (n != x->rlen || n < 2 || r[n - 2] != x->r[n - 2] || r[n - 1] != x->r[n - 1])
            j->len_sw_mismatch++;
        else if (memcmp(r, x->r, n) != 0)
            j->data_diff++;
    }
    rv = SCARD_S_SUCCESS;
disc:
    (void)SCardDisconnect(h, SCARD_RESET_CARD);
out:
    j->err = rv;
    (void)SCardReleaseContext(ctx);
    return NULL;
}

static int cmd_replay(const char *readers, const char *recdir) {
    job_t jobs[MAX_READERS];
    size_t n = 0;
    unsigned long total = 0, mism = 0, diff = 0;
    char line[512], path[4096];
    FILE *f = fopen(readers, "r");
    int rc = 0;

    memset(jobs, 0, sizeof(jobs));
    if (!f) {
        fprintf(stderr, "line-replay: %s: %s\n", readers, strerror(errno));
        return 1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *name = strtok(line, "\t\n"), *port = strtok(NULL, "\t\n");
        char *eid = strtok(NULL, "\t\n");
        if (!name || !port || !eid || n == MAX_READERS) {
            fprintf(stderr, "line-replay: %s: bad line (or more than %d)\n", readers, MAX_READERS);
            fclose(f);
            return 2;
        }
        snprintf(jobs[n].reader, sizeof(jobs[n].reader), "%s", name);
        snprintf(path, sizeof(path), "%s/%s.rec", recdir, eid);
        if (record_load(path, &jobs[n].rec) != 0) {
            fclose(f);
            return 1;
        }
        n++;
    }
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&jobs[i].th, NULL, replay_thread, &jobs[i]) != 0) {
            fprintf(stderr, "line-replay: pthread_create failed\n");
            return 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        pthread_join(jobs[i].th, NULL);
        total += jobs[i].sent;
        mism += jobs[i].len_sw_mismatch;
        diff += jobs[i].data_diff;
        if (jobs[i].err != SCARD_S_SUCCESS) {
            fprintf(stderr, "line-replay: %s: %s: %s (after %lu APDUs)\n", jobs[i].reader,
                    jobs[i].err_where ? jobs[i].err_where : "?", pcsc_stringify_error(jobs[i].err),
                    jobs[i].sent);
            rc = 1;
        }
        if (jobs[i].len_sw_mismatch)
            rc = 1;
        free(jobs[i].rec.x);
    }
    printf("replay: %zu readers, %lu APDUs, %lu length/SW mismatches, %lu answers with other "
           "data\n",
           n, total, mism, diff);
    return rc;
}

/* ---- time ---- */

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_time(int argc, char **argv) {
    const char *log = "/dev/null", *match = "load PASS (";
    long expect = 0, pass = 0, fail = 0, timeout_s = 0;
    bool timed_out = false, killed = false;
    posix_spawn_file_actions_t fa;
    int i = 0, p[2], status = 0, logfd;
    double t0, done = -1, end;
    char buf[65536], line[4096];
    size_t llen = 0;
    struct rusage ru;
    pid_t pid;
    ssize_t k;

    while (i < argc && strcmp(argv[i], "--") != 0) {
        if (!strcmp(argv[i], "--expect") && i + 1 < argc)
            expect = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_s = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--match") && i + 1 < argc)
            match = argv[++i];
        else if (!strcmp(argv[i], "--log") && i + 1 < argc)
            log = argv[++i];
        else
            break;
        i++;
    }
    if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
        fprintf(
            stderr,
            "line-replay: time [--expect N] [--match STR] [--timeout S] [--log FILE] -- CMD...\n");
        return 2;
    }
    if ((logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0
        || pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "line-replay: %s: %s\n", log, strerror(errno));
        return 1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    t0 = mono_s();
    if ((errno = posix_spawn(&pid, argv[i + 1], &fa, NULL, argv + i + 1, environ)) != 0) {
        fprintf(stderr, "line-replay: %s: %s\n", argv[i + 1], strerror(errno));
        return 1;
    }
    close(p[1]);
    for (;;) {
        double t;
        if (timeout_s > 0 && !killed) {
            struct pollfd pf = {p[0], POLLIN, 0};
            double left = t0 + (double)timeout_s + (timed_out ? 5.0 : 0.0) - mono_s();
            if (left <= 0 || poll(&pf, 1, (int)(left * 1000) + 1) == 0) {
                if (!timed_out) {
                    timed_out = true;
                    kill(pid, SIGTERM);
                } else if (!killed) {
                    killed = true;
                    kill(pid, SIGKILL);
                }
                continue;
            }
        }
        if ((k = read(p[0], buf, sizeof(buf))) == 0)
            break;
        t = mono_s();
        if (k < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (ssize_t m = 0; m < k; m++) {
            if (buf[m] != '\n') {
                if (llen < sizeof(line) - 1)
                    line[llen++] = buf[m];
                continue;
            }
            line[llen] = 0;
            llen = 0;
            dprintf(logfd, "[%9.6f] %s\n", t - t0, line);
            if (strstr(line, match)) {
                if (++pass == expect)
                    done = t;
            } else if (strstr(line, "load FAIL") || strstr(line, "load ATTENTION")) {
                fail++;
            }
        }
    }
    end = mono_s();
    if (wait4(pid, &status, 0, &ru) < 0) {
        fprintf(stderr, "line-replay: wait4: %s\n", strerror(errno));
        return 1;
    }
    if (done < 0)
        done = end;
    printf("done_s=%.6f exit_s=%.6f user_s=%.6f sys_s=%.6f rc=%d pass=%ld fail=%ld\n", done - t0,
           mono_s() - t0, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
           timed_out           ? 124
           : WIFEXITED(status) ? WEXITSTATUS(status)
                               : 128 + WTERMSIG(status),
           pass, fail);
    close(logfd);
    return 0;
}

/* ---- lbpp: the LoadBoundProfilePackage exchanges of a record ---- */

static bool is_store_data(const xchg_t *x) {
    return x->clen >= 5 && x->c[1] == 0xE2 && (x->c[0] & 0x80);
}

static bool is_get_response(const xchg_t *x) {
    return x->clen == 5 && x->c[1] == 0xC0;
}

static int cmd_lbpp(const char *path) {
    record_t rec;
    unsigned long s_apdus = 0, s_c = 0, s_r = 0;

    if (record_load(path, &rec) != 0)
        return 1;
    for (size_t i = 0; i < rec.n; i++) {
        s_apdus++;
        s_c += rec.x[i].clen;
        s_r += rec.x[i].rlen;
    }
    for (size_t i = 0; i < rec.n; i++) {
        const xchg_t *x = &rec.x[i];
        unsigned long apdus = 0, cb = 0, rb = 0, gr = 0, bf37 = 0;
        size_t k = i;
        /* the first block (P2 = 00) of a STORE DATA sequence whose data starts with BF36 */
        if (!is_store_data(x) || x->c[3] != 0 || x->clen < 7 || x->c[5] != 0xBF || x->c[6] != 0x36)
            continue;
        /* blocks until the first answer that is not a bare 9000 (§2.5.5: the card answers
         * the segment that ends the load, or an error, with data) */
        for (; k < rec.n && is_store_data(&rec.x[k]); k++) {
            const xchg_t *y = &rec.x[k];
            apdus++;
            cb += y->clen;
            rb += y->rlen;
            if (!(y->rlen == 2 && y->r[0] == 0x90 && y->r[1] == 0x00)) {
                bf37 += y->rlen - 2u;
                k++;
                break;
            }
        }
        for (; k < rec.n && is_get_response(&rec.x[k]); k++) {
            apdus++;
            gr++;
            cb += rec.x[k].clen;
            rb += rec.x[k].rlen;
            bf37 += rec.x[k].rlen - 2u;
        }
        printf("lbpp apdus=%lu cbytes=%lu rbytes=%lu getresp=%lu bf37=%lu\n", apdus, cb, rb, gr,
               bf37);
        i = k - 1;
    }
    printf("session apdus=%lu cbytes=%lu rbytes=%lu\n", s_apdus, s_c, s_r);
    free(rec.x);
    return 0;
}

/* ---- minimum: §2.5.5 segments of a BPP, counted for a block size ---- */

typedef struct {
    unsigned long tag;
    size_t hdr, len; /* header bytes, value bytes */
} tl_t;

/* Tag + definite length at p (n bytes available); -1 if malformed. */
static int tl_read(const uint8_t *p, size_t n, tl_t *t) {
    size_t o = 0;
    if (n < 2)
        return -1;
    t->tag = p[o++];
    if ((t->tag & 0x1F) == 0x1F) {
        do {
            if (o >= n)
                return -1;
            t->tag = t->tag << 8 | p[o];
        } while (p[o++] & 0x80);
    }
    if (o >= n)
        return -1;
    if (p[o] < 0x80) {
        t->len = p[o++];
    } else {
        size_t k = p[o++] & 0x7F;
        if (k == 0 || k > 3 || o + k > n)
            return -1;
        t->len = 0;
        while (k--)
            t->len = t->len << 8 | p[o++];
    }
    t->hdr = o;
    return o + t->len <= n ? 0 : -1;
}

typedef struct {
    size_t block;
    unsigned long apdus, cbytes, rbytes, segments;
} minimum_t;

static void seg(minimum_t *m, size_t len) {
    size_t blocks = (len + m->block - 1) / m->block;
    m->segments++;
    m->apdus += blocks;
    m->cbytes += 5 * blocks + len;
    m->rbytes += 2 * blocks; /* 9000, or 61xx on the last block of the last segment */
}

static int cmd_minimum(const char *path, size_t block, size_t bf37) {
    static uint8_t b[4u << 20];
    char *hex = NULL;
    size_t cap = 0, n, o;
    long k;
    minimum_t m = {block, 0, 0, 0, 0};
    tl_t top, t;
    FILE *f = fopen(path, "r");

    if (!f || getline(&hex, &cap, f) <= 0 || (k = hex_decode(hex, b, sizeof(b))) <= 0) {
        fprintf(stderr, "line-replay: %s: not a hex BPP\n", path);
        return 1;
    }
    fclose(f);
    free(hex);
    n = (size_t)k;
    if (tl_read(b, n, &top) != 0 || top.tag != 0xBF36)
        goto bad;
    o = top.hdr;
    while (o < top.hdr + top.len) {
        if (tl_read(b + o, n - o, &t) != 0)
            goto bad;
        if (t.tag == 0xBF23) {
            seg(&m, top.hdr + t.hdr + t.len);
        } else if (t.tag == 0xA0 || t.tag == 0xA1 || t.tag == 0xA2 || t.tag == 0xA3) {
            size_t c = o + t.hdr, first = 1;
            if (t.tag == 0xA1 || t.tag == 0xA3) { /* header alone, then each child */
                seg(&m, t.hdr);
                first = 0;
            }
            while (c < o + t.hdr + t.len) {
                tl_t ch;
                if (tl_read(b + c, n - c, &ch) != 0)
                    goto bad;
                seg(&m, (first ? t.hdr : 0) + ch.hdr + ch.len); /* A0/A2: header + first 87 */
                first = 0;
                c += ch.hdr + ch.len;
            }
        } else {
            goto bad;
        }
        o += t.hdr + t.len;
    }
    {
        size_t gr = (bf37 + 255) / 256;
        m.apdus += gr;
        m.cbytes += 5 * gr;
        m.rbytes += bf37 + 2 * gr;
    }
    printf("minimum apdus=%lu cbytes=%lu rbytes=%lu segments=%lu\n", m.apdus, m.cbytes, m.rbytes,
           m.segments);
    return 0;
bad:
    fprintf(stderr, "line-replay: %s: not a BF36 in the expected shape\n", path);
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "replay"))
        return cmd_replay(argv[2], argv[3]);
    if (argc >= 3 && !strcmp(argv[1], "time"))
        return cmd_time(argc - 2, argv + 2);
    if (argc == 3 && !strcmp(argv[1], "lbpp"))
        return cmd_lbpp(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "minimum")) {
        long block = strtol(argv[3], NULL, 10), bf37 = strtol(argv[4], NULL, 10);
        if (block < 1 || block > 255 || bf37 < 0 || bf37 > 65535)
            return 2;
        return cmd_minimum(argv[2], (size_t)block, (size_t)bf37);
    }
    fprintf(
        stderr,
        "usage: line-replay replay READERS RECDIR\n"
        "       line-replay time [--expect N] [--match STR] [--timeout S] [--log FILE] -- CMD...\n"
        "       line-replay lbpp RECFILE\n"
        "       line-replay minimum BF36HEXFILE BLOCK BF37LEN\n");
    return 2;
}
