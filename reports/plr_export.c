/*
 * plr_export.c - writing Profile Loading Reports to a directory (a USB stick), exactly once per
 * result, crash-safe (plr.h has the steps and the rules).
 *
 * State of one report across a crash, and what the next export does:
 *
 *   journal   claimed   file in DIR    exported   next export
 *   -         -         -              -          nothing (no report)
 *   yes       no        -              -          removes the journal entry
 *   yes       yes       temp only      no         writes the file again (same reportId),
 *                                                 marks it; the stale temp file is removed
 *   yes       yes       final name     no         finds it (checks signature and reportId),
 *                                                 marks it
 *   yes       yes       final name     yes        removes the journal entry
 *   -         yes       final name     yes        nothing (done)
 *
 * Concurrent exports are excluded by an flock on JOURNAL/plr.lock (ST_E_LOCKED), so recovery
 * never races the export that is still writing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/log.h"
#include "plr_internal.h"

#define TEMP_PREFIX   ".PLR_"
#define TEMP_INFIX    ".tmp-"
#define MAX_SUFFIX    99
#define EXISTING_MAX  (1u << 30)
#define DEFAULT_ACTOR "report"

typedef struct {
    store_t *s;
    const plr_signer_t *sg;
    const plr_export_opts_t *o;
    const char *dir;
    int dfd; /* DIR */
    int jfd; /* the journal directory */
    plr_export_sum_t *sum;
    plr_stop_t stop;
} ctx_t;

/* ---- small file helpers (every foreign error mapped by st_from_errno) ---- */

/* Writes the parts in order (writev, resumed after short writes). */
static st_t write_all(int fd, struct iovec *iov, int n) {
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return st_from_errno(errno);
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return ST_OK;
}

static st_t sync_fd(int fd) {
    return fsync(fd) == 0 ? ST_OK : st_from_errno(errno);
}

/* rename without replacing an existing file: ST_E_EXISTS when `to` is there. */
static st_t rename_noreplace(int dfd, const char *from, const char *to) {
    struct stat sb;

    if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
        return ST_OK;
    if (errno == EEXIST)
        return ST_E_EXISTS;
    if (errno != EINVAL && errno != ENOSYS)
        return st_from_errno(errno);
    /* A file system without RENAME_NOREPLACE: check, then rename. Only another writer could
     * slip in between, and exports hold the journal lock. */
    if (fstatat(dfd, to, &sb, AT_SYMLINK_NOFOLLOW) == 0)
        return ST_E_EXISTS;
    if (errno != ENOENT)
        return st_from_errno(errno);
    return renameat(dfd, from, dfd, to) == 0 ? ST_OK : st_from_errno(errno);
}

/*
 * Writes the signed report to DIR/name: temp file .name.tmp-XXXXXXXXXXXX (O_CREAT|O_EXCL|
 * O_NOFOLLOW|O_CLOEXEC, 0600), write, fsync, rename (no replace), fsync(DIR). *renamed tells
 * whether the file reached its final name (from then on it may be on the medium).
 */
static st_t write_atomic(ctx_t *c, const char *name, const plr_signed_t *sig, bool *renamed) {
    struct iovec iov[3] = {
        {sig->head.data, sig->head.len},
        {(void *)sig->body, sig->body_len},
        {sig->tail.data, sig->tail.len},
    };
    char tmp[PLR_NAME_MAX + 32];
    uint8_t rnd[6];
    char rhex[13];
    int fd = -1;
    st_t st;

    *renamed = false;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return st_from_openssl("RAND_bytes");
    hex_encode(rnd, sizeof(rnd), rhex);
    if ((size_t)snprintf(tmp, sizeof(tmp), ".%s" TEMP_INFIX "%s", name, rhex) >= sizeof(tmp))
        return ST_E_TOO_LARGE;
    fd = openat(c->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return st_from_errno(errno);
    st = write_all(fd, iov, 3);
    if (st == ST_OK)
        st = sync_fd(fd);
    if (close(fd) != 0 && st == ST_OK)
        st = st_from_errno(errno);
    if (st == ST_OK && c->stop == PLR_STOP_AFTER_TEMP)
        return ST_E_INTERRUPTED; /* as if killed: the temp file stays */
    if (st == ST_OK)
        st = rename_noreplace(c->dfd, tmp, name);
    if (st != ST_OK) {
        unlinkat(c->dfd, tmp, 0);
        return st;
    }
    *renamed = true;
    return sync_fd(c->dfd);
}

/* Removes temp files an interrupted export left in DIR (ours only: .PLR_*.tmp-*). */
static void clean_temps(ctx_t *c) {
    int fd = dup(c->dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    struct stat sb;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0
            || !strstr(de->d_name, PLR_EXT TEMP_INFIX))
            continue;
        if (fstatat(c->dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode)) {
            st_log(ST_LOG_INFO, "report: removing %s/%s left by an interrupted export", c->dir,
                   de->d_name);
            unlinkat(c->dfd, de->d_name, 0);
        }
    }
    closedir(d);
}

/* Milliseconds since *t (debug timing). */
static double since_ms(const struct timespec *t) {
    struct timespec n;
    clock_gettime(CLOCK_MONOTONIC, &n);
    return (double)(n.tv_sec - t->tv_sec) * 1e3 + (double)(n.tv_nsec - t->tv_nsec) / 1e6;
}

/* ---- journal ---- */

static void journal_name(const uint8_t id[STORE_ID_LEN], char out[64]) {
    char hex[2 * STORE_ID_LEN + 1];
    hex_encode(id, STORE_ID_LEN, hex);
    snprintf(out, 64, PLR_JOURNAL_PREFIX "%s" PLR_JOURNAL_SUFFIX, hex);
}

static st_t journal_add(ctx_t *c, const uint8_t id[STORE_ID_LEN]) {
    char name[64];
    int fd;

    journal_name(id, name);
    fd = openat(c->jfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return st_from_errno(errno);
    close(fd);
    return sync_fd(c->jfd);
}

static void journal_remove(ctx_t *c, const uint8_t id[STORE_ID_LEN]) {
    char name[64];

    journal_name(id, name);
    if (unlinkat(c->jfd, name, 0) != 0 && errno != ENOENT)
        st_log(ST_LOG_WARN, "report: cannot remove journal entry %s: %s", name, strerror(errno));
    else
        fsync(c->jfd); /* a lost removal only makes the next export look again */
}

/* ---- one report ---- */

static const char *kind_action(plr_file_kind_t k) {
    return k == PLR_FILE_AGAIN       ? "report.reexport"
           : k == PLR_FILE_RECOVERED ? "report.recover"
                                     : "report.export";
}

static const char *actor(const ctx_t *c) {
    return c->o->actor && *c->o->actor ? c->o->actor : DEFAULT_ACTOR;
}

static void report_object(const uint8_t id[STORE_ID_LEN], char out[64]) {
    char hex[2 * STORE_ID_LEN + 1];
    hex_encode(id, STORE_ID_LEN, hex);
    snprintf(out, 64, "report:%s", hex);
}

/* Sets exported_at and appends the audit row, in one transaction. */
static st_t mark_exported(ctx_t *c, const store_report_t *rep, const char *path,
                          plr_file_kind_t kind, const plr_counts_t *n) {
    char object[64], value[PLR_PATH_MAX + 256];
    st_t st;

    report_object(rep->report_id, object);
    snprintf(value, sizeof(value),
             "%s: SM-DPf %s, %" PRIu64 " entries (%" PRIu64 " installed, %" PRIu64 " failed)", path,
             rep->smdpf_oid, n->entries, n->installed, n->failed);
    if ((st = store_tx_begin(c->s)) != ST_OK)
        return st;
    st = store_report_mark_exported(c->s, rep->rowid);
    if (st == ST_OK)
        st = store_audit_append(c->s, actor(c), kind_action(kind), object,
                                rep->exported_at ? "exported" : "claimed", value, NULL);
    if (st == ST_OK)
        return store_tx_commit(c->s);
    store_tx_rollback(c->s);
    return st;
}

/* Is DIR/name a complete report `id` signed by us? (A recovered export's file may be there.) */
static bool existing_is(ctx_t *c, const char *name, const uint8_t id[STORE_ID_LEN]) {
    char path[PLR_PATH_MAX];
    uint8_t got[STORE_ID_LEN];
    buf_t b = BUF_INIT;
    bool ok;

    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    ok = buf_read_file(&b, path, EXISTING_MAX) == ST_OK
         && plr_signed_report_id(c->sg, b.data, b.len, got) == ST_OK
         && memcmp(got, id, STORE_ID_LEN) == 0;
    buf_free(&b);
    return ok;
}

/* name.ifppl -> name-K.ifppl */
static st_t suffixed(const char *name, unsigned k, char *out, size_t len) {
    size_t base = strlen(name) - strlen(PLR_EXT);
    int n;
    if (k == 1)
        n = snprintf(out, len, "%s", name);
    else
        n = snprintf(out, len, "%.*s-%u" PLR_EXT, (int)base, name, k);
    return (n < 0 || (size_t)n >= len) ? ST_E_TOO_LARGE : ST_OK;
}

/*
 * Builds report `rep`, writes it as DIR/name (or name-K when taken), marks it exported.
 * *reached_dir tells whether a file of it may stand in DIR under a final name.
 */
static st_t write_report(ctx_t *c, const store_report_t *rep, const char *name,
                         plr_file_kind_t kind, bool *reached_dir) {
    plr_file_t f;
    plr_signed_t sig;
    buf_t der = BUF_INIT;
    char cand[PLR_NAME_MAX], hex[2 * STORE_ID_LEN + 1];
    bool renamed = false, found = false;
    struct timespec t0;
    st_t st;

    *reached_dir = false;
    memset(&f, 0, sizeof(f));
    hex_encode(rep->report_id, STORE_ID_LEN, hex);
    memset(&sig, 0, sizeof(sig));
    if ((st = plr_build_signed(c->s, c->sg, rep, &der, &sig, &f.counts)) != ST_OK) {
        st_log(ST_LOG_ERR, "report %s (SM-DPf %s): cannot build: %s", hex, rep->smdpf_oid,
               st_str(st));
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = ST_E_EXISTS;
    for (unsigned k = 1; k <= MAX_SUFFIX && st == ST_E_EXISTS; k++) {
        if ((st = suffixed(name, k, cand, sizeof(cand))) != ST_OK)
            break;
        st = write_atomic(c, cand, &sig, &renamed);
        if (renamed)
            *reached_dir = true;
        if (st == ST_E_EXISTS && kind == PLR_FILE_RECOVERED
            && existing_is(c, cand, rep->report_id)) {
            /* The interrupted export got this far: keep its file, make sure it is durable. */
            int fd = openat(c->dfd, cand, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            st = fd >= 0 ? sync_fd(fd) : st_from_errno(errno);
            if (fd >= 0)
                close(fd);
            if (st == ST_OK)
                st = sync_fd(c->dfd);
            found = true;
            *reached_dir = true;
        }
    }
    if (st != ST_OK) {
        if (st != ST_E_INTERRUPTED) /* the test hook's simulated crash */
            st_log(ST_LOG_ERR, "report %s: %s/%s: %s", hex, c->dir, name, st_str(st));
        goto out;
    }
    if (c->stop == PLR_STOP_AFTER_RENAME && kind == PLR_FILE_NEW) {
        st = ST_E_INTERRUPTED;
        goto out;
    }
    st_log(ST_LOG_DEBUG, "report %s: file written and synced in %.1f ms", hex, since_ms(&t0));
    snprintf(f.path, sizeof(f.path), "%s/%s", c->dir, cand);
    if ((st = mark_exported(c, rep, f.path, kind, &f.counts)) != ST_OK) {
        st_log(ST_LOG_ERR, "report %s: written to %s but not marked exported: %s", hex, f.path,
               st_str(st));
        goto out;
    }
    st_log(ST_LOG_INFO, "report %s: %s %s (%" PRIu64 " entries)", hex, found ? "kept" : "wrote",
           f.path, f.counts.entries);
    f.kind = kind;
    memcpy(f.report_id, rep->report_id, STORE_ID_LEN);
    snprintf(f.smdpf_oid, sizeof(f.smdpf_oid), "%s", rep->smdpf_oid);
    if (c->sum) {
        c->sum->files++;
        c->sum->recovered += kind == PLR_FILE_RECOVERED;
        c->sum->entries += f.counts.entries;
    }
    if (c->o->on_file)
        st = c->o->on_file(c->o->ud, &f);
out:
    plr_signed_free(&sig);
    buf_free(&der);
    return st;
}

/* A new report of every unreported result of SM-DPf `oid` (since o->since, when set). */
static st_t export_new(ctx_t *c, const char *oid) {
    store_report_t rep;
    uint8_t id[STORE_ID_LEN];
    char name[PLR_NAME_MAX], object[64], value[STORE_OID_MAX + 96];
    uint64_t n = 0;
    bool reached = false;
    struct timespec t0;
    st_t st;

    if ((st = store_results_unreported_count(c->s, oid, &n)) != ST_OK || n == 0)
        return st;
    if (RAND_bytes(id, sizeof(id)) != 1)
        return st_from_openssl("RAND_bytes");
    if ((st = plr_file_name(oid, c->sg->station_id, (int64_t)time(NULL), id, name, sizeof(name)))
        != ST_OK)
        return st;
    if ((st = journal_add(c, id)) != ST_OK) {
        st_log(ST_LOG_ERR, "report: cannot write the export journal: %s", st_str(st));
        return st;
    }
    if (c->stop == PLR_STOP_AFTER_JOURNAL)
        return ST_E_INTERRUPTED;
    /* The claim and its audit row in one transaction. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    report_object(id, object);
    if ((st = store_tx_begin(c->s)) == ST_OK) {
        if (c->o->since > 0)
            st = store_report_create_since(c->s, id, oid, name, c->o->since, &rep);
        else
            st = store_report_create(c->s, id, oid, name, &rep);
        if (st == ST_OK) {
            int k = snprintf(value, sizeof(value), "SM-DPf %s, %" PRIu64 " results", oid,
                             rep.n_entries);
            if (c->o->since > 0 && k > 0 && (size_t)k < sizeof(value))
                snprintf(value + k, sizeof(value) - (size_t)k, " since %" PRId64, c->o->since);
            st = store_audit_append(c->s, actor(c), "report.create", object, NULL, value, name);
        }
        if (st == ST_OK)
            st = store_tx_commit(c->s);
        else
            store_tx_rollback(c->s);
    }
    if (st != ST_OK) {
        journal_remove(c, id);
        /* NOENT: claimed meanwhile by another export, or none in the --since window */
        return st == ST_E_NOENT ? ST_OK : st;
    }
    st_log(ST_LOG_DEBUG, "report %s: %" PRIu64 " results claimed in %.1f ms", name, rep.n_entries,
           since_ms(&t0));
    if (c->stop == PLR_STOP_AFTER_CLAIM)
        return ST_E_INTERRUPTED;
    st = write_report(c, &rep, name, PLR_FILE_NEW, &reached);
    if (st == ST_E_INTERRUPTED)
        return st;
    if (st == ST_OK || reached) {
        /* Written (or possibly written): done, or left to the next export's recovery. */
        if (st == ST_OK)
            journal_remove(c, id);
        else
            st_log(ST_LOG_ERR, "report %s stays claimed; the next export writes it again", name);
        return st;
    }
    /* Nothing reached DIR: give the results back to the next report. */
    if (store_report_discard(c->s, rep.rowid) == ST_OK) {
        journal_remove(c, id);
        store_audit_append(c->s, actor(c), "report.discard", object, "claimed", NULL, st_str(st));
    }
    return st;
}

static bool oid_selected(const ctx_t *c, const char *oid) {
    return !c->o->smdpf_oid || strcmp(c->o->smdpf_oid, oid) == 0;
}

/* Every report the journal names (an export that did not finish). */
static st_t recover_pending(ctx_t *c) {
    int fd = dup(c->jfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    st_t first = ST_OK;
    size_t plen = strlen(PLR_JOURNAL_PREFIX), slen = strlen(PLR_JOURNAL_SUFFIX);

    if (!d) {
        if (fd >= 0)
            close(fd);
        return st_from_errno(errno);
    }
    while ((de = readdir(d)) != NULL) {
        uint8_t id[STORE_ID_LEN];
        char hex[2 * STORE_ID_LEN + 1];
        store_report_t rep;
        bool reached = false;
        size_t len = strlen(de->d_name);
        st_t st;

        if (len != plen + 2 * STORE_ID_LEN + slen
            || strncmp(de->d_name, PLR_JOURNAL_PREFIX, plen) != 0
            || strcmp(de->d_name + len - slen, PLR_JOURNAL_SUFFIX) != 0)
            continue;
        memcpy(hex, de->d_name + plen, 2 * STORE_ID_LEN);
        hex[2 * STORE_ID_LEN] = '\0';
        if (hex_decode_exact(hex, id, STORE_ID_LEN) != ST_OK)
            continue;
        st = store_report_get(c->s, id, &rep);
        if (st == ST_E_NOENT || (st == ST_OK && rep.exported_at != 0)) {
            journal_remove(c, id); /* never claimed, or finished but for the journal */
            continue;
        }
        if (st == ST_OK && !oid_selected(c, rep.smdpf_oid))
            continue; /* another SM-DPf's: left for its export */
        if (st == ST_OK) {
            char name[PLR_NAME_MAX];
            if (rep.file_name[0])
                snprintf(name, sizeof(name), "%s", rep.file_name);
            else
                st = plr_file_name(rep.smdpf_oid, c->sg->station_id, rep.created_at, id, name,
                                   sizeof(name));
            if (st == ST_OK) {
                st_log(ST_LOG_INFO, "report %s: claimed by an export that did not finish", hex);
                st = write_report(c, &rep, name, PLR_FILE_RECOVERED, &reached);
            }
        }
        if (st == ST_OK) {
            journal_remove(c, id);
        } else {
            st_log(ST_LOG_ERR, "report %s: recovery failed: %s", hex, st_str(st));
            if (c->sum)
                c->sum->failed++;
            if (first == ST_OK)
                first = st;
        }
    }
    closedir(d);
    return first;
}

/* --again: report `id` once more (same reportId, same entries), under a new name. */
static st_t export_again(ctx_t *c, const uint8_t id[STORE_ID_LEN]) {
    store_report_t rep;
    char name[PLR_NAME_MAX];
    bool reached = false;
    st_t st;

    if ((st = store_report_get(c->s, id, &rep)) != ST_OK)
        return st;
    if (c->o->smdpf_oid && strcmp(c->o->smdpf_oid, rep.smdpf_oid) != 0) {
        st_log(ST_LOG_ERR, "report: that report is for SM-DPf %s, not %s", rep.smdpf_oid,
               c->o->smdpf_oid);
        return ST_E_CONFLICT;
    }
    if (rep.exported_at == 0) { /* never exported: this is the recovery of it */
        if (rep.file_name[0])
            snprintf(name, sizeof(name), "%s", rep.file_name);
        else if ((st = plr_file_name(rep.smdpf_oid, c->sg->station_id, rep.created_at, id, name,
                                     sizeof(name)))
                 != ST_OK)
            return st;
        st = write_report(c, &rep, name, PLR_FILE_RECOVERED, &reached);
        if (st == ST_OK)
            journal_remove(c, id);
        return st;
    }
    if ((st = plr_file_name(rep.smdpf_oid, c->sg->station_id, (int64_t)time(NULL), id, name,
                            sizeof(name)))
        != ST_OK)
        return st;
    return write_report(c, &rep, name, PLR_FILE_AGAIN, &reached);
}

/* The SM-DPfs that have bundles in the store (only they can have results). */
static st_t smdpf_list(store_t *s, char (**oids)[STORE_OID_MAX], size_t *n) {
    store_stats_list_t l = {NULL, 0};
    st_t st;

    *oids = NULL;
    *n = 0;
    if ((st = store_bundle_stats(s, &l)) != ST_OK)
        return st;
    if (l.n && !(*oids = calloc(l.n, sizeof(**oids)))) {
        store_stats_list_free(&l);
        return ST_E_NOMEM;
    }
    for (size_t i = 0; i < l.n; i++) {
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = strcmp((*oids)[j], l.v[i].smdpf_oid) == 0;
        if (!seen)
            snprintf((*oids)[(*n)++], STORE_OID_MAX, "%s", l.v[i].smdpf_oid);
    }
    store_stats_list_free(&l);
    return ST_OK;
}

static st_t open_dir(const char *path, int *fd) {
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        st_t st = st_from_errno(errno);
        st_log(ST_LOG_ERR, "report: %s: %s", path, strerror(errno));
        return st;
    }
    return ST_OK;
}

st_t plr_export_ex(store_t *s, const plr_signer_t *sg, const char *dir, const plr_export_opts_t *o,
                   plr_export_sum_t *sum, plr_stop_t stop) {
    ctx_t c = {s, sg, o, dir, -1, -1, sum, stop};
    char(*oids)[STORE_OID_MAX] = NULL;
    size_t n_oids = 0;
    int lfd = -1;
    st_t st, first = ST_OK;

    if (sum)
        memset(sum, 0, sizeof(*sum));
    if (!s || !sg || !dir || !o || !o->journal_dir || o->since < 0 || (o->since && o->again))
        return ST_E_INVAL;
    if ((st = open_dir(dir, &c.dfd)) != ST_OK || (st = open_dir(o->journal_dir, &c.jfd)) != ST_OK)
        goto out;
    lfd = openat(c.jfd, PLR_LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lfd < 0) {
        st = st_from_errno(errno);
        goto out;
    }
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        st = errno == EWOULDBLOCK ? ST_E_LOCKED : st_from_errno(errno);
        st_log(ST_LOG_ERR, "report: another export is running (%s/%s)", o->journal_dir,
               PLR_LOCK_NAME);
        goto out;
    }
    clean_temps(&c);
    if (o->again) {
        st = export_again(&c, o->again);
        goto out;
    }
    first = recover_pending(&c);
    if (o->smdpf_oid) {
        st = export_new(&c, o->smdpf_oid);
    } else if ((st = smdpf_list(s, &oids, &n_oids)) == ST_OK) {
        for (size_t i = 0; i < n_oids; i++) {
            st_t one = export_new(&c, oids[i]);
            if (one == ST_E_INTERRUPTED) {
                st = one;
                break;
            }
            if (one != ST_OK) {
                if (sum)
                    sum->failed++;
                if (st == ST_OK)
                    st = one;
            }
        }
    }
    if (st != ST_OK && st != ST_E_INTERRUPTED && o->smdpf_oid && sum)
        sum->failed++;
    if (first != ST_OK && st == ST_OK)
        st = first;
out:
    free(oids);
    if (lfd >= 0)
        close(lfd); /* releases the lock */
    if (c.dfd >= 0)
        close(c.dfd);
    if (c.jfd >= 0)
        close(c.jfd);
    return st;
}

st_t plr_export(store_t *s, const plr_signer_t *sg, const char *dir, const plr_export_opts_t *o,
                plr_export_sum_t *sum) {
    return plr_export_ex(s, sg, dir, o, sum, PLR_STOP_NONE);
}
