/*
 * import.c - the import engine's front: paths and directory scan (a mounted stick), the
 * per-file report, refusals' audit rows. The formats are in import_edata.c / import_bundle.c.
 *
 * Directory scan rules (import.h): the directory is opened once; every entry is judged by
 * fstatat(AT_SYMLINK_NOFOLLOW) and opened with openat(dirfd, name, O_NOFOLLOW) - names from
 * readdir never contain '/', so no path resolution happens below the directory and nothing
 * outside it is read. The fstat of the opened fd decides (a file swapped for a FIFO or a link
 * between the scan and the open is refused, not followed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "base/buf.h"
#include "base/log.h"
#include "import_int.h"

#define SUFFIX_EDATA  ".ifppe"
#define SUFFIX_BUNDLE ".ifppb"
#define SUFFIX_P7S    ".p7s"

/* One file to import: a name relative to an open directory. */
typedef struct {
    int dirfd;     /* borrowed from the run's directory list */
    char *name;    /* no '/' */
    char *display; /* for messages */
    import_kind_t kind;
} item_t;

typedef struct {
    item_t *v;
    size_t n, cap;
    int *dirfds;
    size_t n_dirfds, cap_dirfds;
} work_t;

/* ---- report ---- */

const char *import_outcome_name(import_outcome_t o) {
    switch (o) {
    case IMPORT_IMPORTED:
        return "imported";
    case IMPORT_UNCHANGED:
        return "unchanged";
    case IMPORT_REFUSED:
        return "refused";
    case IMPORT_SKIPPED:
        return "skipped";
    }
    return "?";
}

void import_report_free(import_report_t *rep) {
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n; i++)
        free(rep->v[i].file);
    free(rep->v);
    memset(rep, 0, sizeof(*rep));
}

/* Appends a fresh entry for `display` (copied); NULL on allocation failure. */
static import_file_t *report_add(import_report_t *rep, const char *display, import_kind_t kind) {
    import_file_t *nv, *f;
    char *copy = strdup(display);

    if (!copy)
        return NULL;
    nv = realloc(rep->v, (rep->n + 1) * sizeof(*nv));
    if (!nv) {
        free(copy);
        return NULL;
    }
    rep->v = nv;
    f = &rep->v[rep->n++];
    memset(f, 0, sizeof(*f));
    f->file = copy;
    f->kind = kind;
    f->entry = IMPORT_NO_ENTRY;
    f->key = IMPORT_NO_ENTRY;
    f->st = ST_OK;
    return f;
}

st_t imp_refuse(import_file_t *f, st_t st, size_t entry, const uint8_t *eid, const char *fmt, ...) {
    va_list ap;

    f->outcome = IMPORT_REFUSED;
    f->st = st == ST_OK ? ST_E_INTERNAL : st;
    f->entry = entry;
    if (eid) {
        f->has_eid = true;
        memcpy(f->eid, eid, STORE_EID_LEN);
    }
    va_start(ap, fmt);
    vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
    va_end(ap);
    return f->st;
}

static void skip(import_file_t *f, const char *why) {
    f->outcome = IMPORT_SKIPPED;
    snprintf(f->reason, sizeof(f->reason), "%s", why);
}

void imp_progress(const import_opts_t *o, const import_file_t *f, uint64_t bytes_done,
                  uint64_t bytes_total, uint64_t entries_done, uint64_t entries_total, bool done) {
    import_progress_t p;

    if (!o->progress)
        return;
    p.file = f->file;
    p.kind = f->kind;
    p.bytes_done = bytes_done;
    p.bytes_total = bytes_total;
    p.entries_done = entries_done;
    p.entries_total = entries_total;
    p.done = done;
    o->progress(&p, o->progress_ud);
}

const char *imp_actor(const import_opts_t *o) {
    return o->actor && *o->actor ? o->actor : IMPORT_DEFAULT_ACTOR;
}

void imp_store_name(const char *display, char out[STORE_TEXT_MAX]) {
    const char *base = strrchr(display, '/');
    snprintf(out, STORE_TEXT_MAX, "%s", base && base[1] ? base + 1 : display);
}

const char *import_file_format(const import_file_t *f, char *buf, size_t len) {
    char eid[33], id[2 * STORE_ID_LEN + 1];
    size_t pos = 0;
    int w;

    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    if (!f)
        return buf;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        w = snprintf(buf + pos, len - pos, __VA_ARGS__);                                           \
        if (w < 0 || (size_t)w >= len - pos)                                                       \
            return buf;                                                                            \
        pos += (size_t)w;                                                                          \
    } while (0)
    APPEND("%s: ", f->file);
    if (f->has_bundle_id)
        hex_encode(f->bundle_id, STORE_ID_LEN, id);
    switch (f->outcome) {
    case IMPORT_REFUSED:
        if (f->entry != IMPORT_NO_ENTRY)
            APPEND("entry %zu", f->entry);
        if (f->has_eid) {
            eid_to_str(f->eid, eid);
            APPEND("%sEID %s", f->entry != IMPORT_NO_ENTRY ? " (" : "", eid);
            if (f->entry != IMPORT_NO_ENTRY)
                APPEND(")");
        }
        if (f->entry != IMPORT_NO_ENTRY || f->has_eid)
            APPEND(": ");
        APPEND("%s", f->reason[0] ? f->reason : st_str(f->st));
        break;
    case IMPORT_SKIPPED:
        APPEND("skipped: %s", f->reason);
        break;
    case IMPORT_UNCHANGED:
        if (f->kind == IMPORT_KIND_BUNDLE)
            APPEND("unchanged (bundle %s already imported)", f->has_bundle_id ? id : "?");
        else
            APPEND("unchanged (%" PRIu64 " eUICCs, %" PRIu64 " one-time keys already imported)",
                   f->n_euiccs, f->n_keys);
        break;
    case IMPORT_IMPORTED:
        if (f->kind == IMPORT_KIND_BUNDLE) {
            APPEND("imported %" PRIu64 " BPP%s (bundle %s, SM-DPf %s)", f->n_bpps,
                   f->n_bpps == 1 ? "" : "s", f->has_bundle_id ? id : "?", f->smdpf_oid);
            if (f->n_held)
                APPEND(", %" PRIu64 " held (no eUICC data yet)", f->n_held);
        } else {
            APPEND("imported %" PRIu64 " eUICC%s (%" PRIu64 " new), %" PRIu64
                   " one-time keys (%" PRIu64 " new)",
                   f->n_euiccs, f->n_euiccs == 1 ? "" : "s", f->n_euiccs_new, f->n_keys,
                   f->n_keys_new);
        }
        break;
    }
#undef APPEND
    return buf;
}

/* ---- files ---- */

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a > b && strcmp(s + a - b, suf) == 0;
}

static import_kind_t kind_of(const char *name) {
    if (has_suffix(name, SUFFIX_EDATA))
        return IMPORT_KIND_EDATA;
    if (has_suffix(name, SUFFIX_BUNDLE))
        return IMPORT_KIND_BUNDLE;
    return IMPORT_KIND_OTHER;
}

static bool is_p7s_of_bundle(const char *name) {
    size_t n = strlen(name);
    return has_suffix(name, SUFFIX_BUNDLE SUFFIX_P7S) && n > strlen(SUFFIX_BUNDLE SUFFIX_P7S);
}

/*
 * Opens `name` below dirfd without following a link, and checks that it is a regular file.
 * On failure *why says it for the operator.
 */
static st_t open_below(int dirfd, const char *name, int *fd_out, const char **why) {
    struct stat sb;
    int fd, fl;

    *fd_out = -1;
    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP) {
            *why = "symbolic link (not followed)";
            return ST_E_PERM;
        }
        *why = NULL;
        return st_from_errno(e);
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return ST_E_PERM;
    }
    /* a regular file: back to blocking reads */
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *fd_out = fd;
    return ST_OK;
}

static void audit_refusal(const import_opts_t *o, const import_file_t *f) {
    char line[IMPORT_REASON_MAX + 512];
    st_t st;

    import_file_format(f, line, sizeof(line));
    st = store_audit_append(o->store, imp_actor(o), "import.refused", f->file, NULL, NULL, line);
    if (st != ST_OK)
        st_log(ST_LOG_WARN, "import: %s: audit row not written: %s", f->file, st_str(st));
}

static st_t import_item(const import_opts_t *o, const item_t *it, import_report_t *rep) {
    import_file_t *f = report_add(rep, it->display, it->kind);
    int fd = -1, p7s_fd = -1;
    const char *why = NULL;
    char *p7s = NULL;
    st_t st;

    if (!f)
        return ST_E_NOMEM;
    st = open_below(it->dirfd, it->name, &fd, &why);
    if (st != ST_OK) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "%s", why ? why : st_str(st));
        st = ST_OK; /* a refusal of this file, not an error of the run */
        goto out;
    }
    if (it->kind == IMPORT_KIND_EDATA) {
        import_edata_fd(o, fd, f);
    } else {
        if (asprintf(&p7s, "%s" SUFFIX_P7S, it->name) < 0) {
            p7s = NULL;
            st = ST_E_NOMEM;
            goto out;
        }
        st = open_below(it->dirfd, p7s, &p7s_fd, &why);
        if (st == ST_E_NOENT)
            imp_refuse(f, st, IMPORT_NO_ENTRY, NULL,
                       "no signature: %s" SUFFIX_P7S " is missing (detached CMS of the SM-DPf)",
                       it->name);
        else if (st != ST_OK)
            imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "signature %s: %s", p7s,
                       why ? why : st_str(st));
        else
            import_bundle_fd(o, fd, p7s_fd, f);
    }
    st = ST_OK;
out:
    if (f->outcome == IMPORT_REFUSED)
        audit_refusal(o, f);
    if (fd >= 0)
        close(fd);
    if (p7s_fd >= 0)
        close(p7s_fd);
    free(p7s);
    return st;
}

/* ---- the work list ---- */

static st_t work_add_dirfd(work_t *w, int fd) {
    if (w->n_dirfds == w->cap_dirfds) {
        size_t nc = w->cap_dirfds ? 2 * w->cap_dirfds : 8;
        int *nv = realloc(w->dirfds, nc * sizeof(*nv));
        if (!nv)
            return ST_E_NOMEM;
        w->dirfds = nv;
        w->cap_dirfds = nc;
    }
    w->dirfds[w->n_dirfds++] = fd;
    return ST_OK;
}

static st_t work_add(work_t *w, int dirfd, const char *name, const char *display,
                     import_kind_t kind) {
    item_t *it;
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 16;
        item_t *nv = realloc(w->v, nc * sizeof(*nv));
        if (!nv)
            return ST_E_NOMEM;
        w->v = nv;
        w->cap = nc;
    }
    it = &w->v[w->n];
    it->dirfd = dirfd;
    it->kind = kind;
    it->name = strdup(name);
    it->display = strdup(display);
    if (!it->name || !it->display) {
        free(it->name);
        free(it->display);
        return ST_E_NOMEM;
    }
    w->n++;
    return ST_OK;
}

static void work_free(work_t *w) {
    for (size_t i = 0; i < w->n; i++) {
        free(w->v[i].name);
        free(w->v[i].display);
    }
    free(w->v);
    for (size_t i = 0; i < w->n_dirfds; i++)
        close(w->dirfds[i]);
    free(w->dirfds);
    memset(w, 0, sizeof(*w));
}

/* A result decided at scan time (refused or skipped). */
static st_t scan_verdict(const import_opts_t *o, import_report_t *rep, const char *display,
                         import_kind_t kind, bool refused, st_t st, const char *why) {
    import_file_t *f = report_add(rep, display, kind);
    if (!f)
        return ST_E_NOMEM;
    if (refused) {
        imp_refuse(f, st, IMPORT_NO_ENTRY, NULL, "%s", why);
        audit_refusal(o, f);
    } else {
        skip(f, why);
    }
    return ST_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name) {
    char *s = NULL;
    size_t n = strlen(dir);
    if (asprintf(&s, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
        return NULL;
    return s;
}

/* True when `name` (no '/') has a bundle named like it minus ".p7s" in names[]. */
static bool bundle_present(char **names, size_t n, const char *p7s) {
    size_t len = strlen(p7s) - strlen(SUFFIX_P7S);
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && strncmp(names[i], p7s, len) == 0)
            return true;
    return false;
}

/* Scans one directory (a mounted stick) into the work list and the report. */
static st_t scan_dir(const import_opts_t *o, const char *path, int dirfd, work_t *w,
                     import_report_t *rep) {
    DIR *d = NULL;
    struct dirent *de;
    char **names = NULL, *display = NULL;
    size_t n = 0, cap = 0;
    int dupfd;
    st_t st = ST_OK;

    dupfd = dup(dirfd);
    if (dupfd < 0)
        return st_from_errno(errno);
    d = fdopendir(dupfd);
    if (!d) {
        st = st_from_errno(errno);
        close(dupfd);
        return st;
    }
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 32;
            char **nv = realloc(names, nc * sizeof(*nv));
            if (!nv) {
                st = ST_E_NOMEM;
                goto out;
            }
            names = nv;
            cap = nc;
        }
        if (!(names[n] = strdup(de->d_name))) {
            st = ST_E_NOMEM;
            goto out;
        }
        n++;
    }
    if (errno != 0) {
        st = st_from_errno(errno);
        goto out;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str);

    for (size_t i = 0; i < n && st == ST_OK; i++) {
        const char *name = names[i];
        import_kind_t kind = kind_of(name);
        struct stat sb;

        free(display);
        if (!(display = join(path, name))) {
            st = ST_E_NOMEM;
            break;
        }
        /* names come from readdir: never '/', but say so rather than trust it */
        if (strchr(name, '/') || strstr(name, "..")) {
            st = scan_verdict(o, rep, display, kind, true, ST_E_PERM,
                              "name contains '/' or '..' (refused)");
            continue;
        }
        if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            st = scan_verdict(o, rep, display, kind, true, st_from_errno(errno),
                              "cannot stat the entry");
            continue;
        }
        if (S_ISLNK(sb.st_mode)) {
            st = scan_verdict(o, rep, display, kind, true, ST_E_PERM,
                              "symbolic link (not followed)");
            continue;
        }
        if (name[0] == '.') {
            st = scan_verdict(o, rep, display, kind, false, ST_OK, "hidden file");
            continue;
        }
        if (is_p7s_of_bundle(name)) {
            if (!bundle_present(names, n, name))
                st = scan_verdict(o, rep, display, kind, false, ST_OK,
                                  "signature without its bundle");
            continue; /* taken with its .ifppb */
        }
        if (kind == IMPORT_KIND_OTHER) {
            st = scan_verdict(o, rep, display, kind, false, ST_OK,
                              S_ISDIR(sb.st_mode) ? "directory (not scanned)" : "not an IFPP file");
            continue;
        }
        if (!S_ISREG(sb.st_mode)) {
            st = scan_verdict(o, rep, display, kind, true, ST_E_PERM, "not a regular file");
            continue;
        }
        st = work_add(w, dirfd, name, display, kind);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(display);
    closedir(d);
    return st;
}

/* One command-line path: a directory is scanned, a file taken relative to its parent. */
static st_t add_path(const import_opts_t *o, const char *path, work_t *w, import_report_t *rep) {
    struct stat sb;
    char *dir = NULL;
    const char *base;
    import_kind_t kind = kind_of(path);
    int dirfd;
    st_t st;

    if (!path || !*path)
        return scan_verdict(o, rep, "(empty path)", IMPORT_KIND_OTHER, true, ST_E_INVAL,
                            "empty path");
    if (stat(path, &sb) != 0) {
        st = st_from_errno(errno);
        return scan_verdict(o, rep, path, kind, true, st,
                            st == ST_E_NOENT ? "no such file or directory" : st_str(st));
    }
    if (S_ISDIR(sb.st_mode)) {
        dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
            return scan_verdict(o, rep, path, kind, true, st_from_errno(errno),
                                "cannot open the directory");
        if ((st = work_add_dirfd(w, dirfd)) != ST_OK) {
            close(dirfd);
            return st;
        }
        return scan_dir(o, path, dirfd, w, rep);
    }
    base = strrchr(path, '/');
    if (base) {
        dir = strndup(path, (size_t)(base - path) + 1); /* keeps "/" for a file in the root */
        base++;
    } else {
        dir = strdup(".");
        base = path;
    }
    if (!dir)
        return ST_E_NOMEM;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        free(dir);
        return scan_verdict(o, rep, path, kind, true, ST_E_INVAL, "not a file name");
    }
    if (is_p7s_of_bundle(base)) {
        free(dir);
        return scan_verdict(o, rep, path, kind, false, ST_OK,
                            "signature file (read with its .ifppb)");
    }
    if (kind == IMPORT_KIND_OTHER) {
        free(dir);
        return scan_verdict(o, rep, path, kind, true, ST_E_UNSUPPORTED,
                            "not an IFPP file (expected .ifppe or .ifppb)");
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dirfd < 0)
        return scan_verdict(o, rep, path, kind, true, st_from_errno(errno),
                            "cannot open its directory");
    if ((st = work_add_dirfd(w, dirfd)) != ST_OK) {
        close(dirfd);
        return st;
    }
    return work_add(w, dirfd, base, path, kind);
}

st_t import_paths(const import_opts_t *o, const char *const *paths, size_t n,
                  import_report_t *rep) {
    work_t w;
    st_t st = ST_OK;

    if (!o || !o->store || !o->trust || !rep || (n && !paths))
        return ST_E_INVAL;
    memset(&w, 0, sizeof(w));
    for (size_t i = 0; i < n && st == ST_OK; i++)
        st = add_path(o, paths[i], &w, rep);
    /* eUICC data first: bundles are pre-flighted against it */
    for (int pass = 0; pass < 2 && st == ST_OK; pass++) {
        import_kind_t want = pass == 0 ? IMPORT_KIND_EDATA : IMPORT_KIND_BUNDLE;
        for (size_t i = 0; i < w.n && st == ST_OK; i++)
            if (w.v[i].kind == want)
                st = import_item(o, &w.v[i], rep);
    }
    work_free(&w);
    if (st != ST_OK)
        return st;
    rep->n_imported = rep->n_unchanged = rep->n_refused = rep->n_skipped = 0;
    for (size_t i = 0; i < rep->n; i++) {
        switch (rep->v[i].outcome) {
        case IMPORT_IMPORTED:
            rep->n_imported++;
            break;
        case IMPORT_UNCHANGED:
            rep->n_unchanged++;
            break;
        case IMPORT_REFUSED:
            rep->n_refused++;
            if (st == ST_OK)
                st = rep->v[i].st;
            break;
        case IMPORT_SKIPPED:
            rep->n_skipped++;
            break;
        }
    }
    return st;
}
