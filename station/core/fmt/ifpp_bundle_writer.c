/*
 * ifpp_bundle_writer.c - streaming .ifppb writer.
 *
 * Entries are encoded one by one into an anonymous temp file next to the target (created
 * O_EXCL, unlinked at once so a crash leaves nothing behind). Close knows the count and the
 * total length, so it writes the final file in one go: outer SEQUENCE header, header, entries
 * SEQUENCE header, then the entries copied from the temp file - into a second temp file that
 * is fsync'ed and renamed over the target, then the directory is fsync'ed (the pattern of
 * buf_write_file_atomic, streamed).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "ifpp_bundle_int.h"

#define WRITER_FLUSH_AT  (64u << 10)
#define BUNDLE_FILE_MODE 0644

struct ifpp_bundle_writer {
    char *path;
    int efd;               /* unlinked temp file with the encoded entries */
    ifpp_bundle_hdr_t hdr; /* deep copy */
    uint64_t count;        /* entries added */
    uint64_t entries_len;  /* bytes of encoded entries (flushed + pending) */
    buf_t pending;         /* encoded entries not yet written to efd */
    st_t err;              /* sticky: a failed add poisons the writer */
};

static st_t write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return st_from_errno(errno);
        }
        p += w;
        n -= (size_t)w;
    }
    return ST_OK;
}

/* mkostemp next to `path` ("PATH.SUFFIX-XXXXXX"): O_CREAT|O_EXCL (so no symlink is followed),
 * O_CLOEXEC, mode 0600. *tmp receives the malloc'd name. */
static st_t make_temp(const char *path, const char *suffix, int *fd, char **tmp) {
    size_t n = strlen(path) + strlen(suffix) + 9;
    char *name = malloc(n);
    *fd = -1;
    *tmp = NULL;
    if (!name)
        return ST_E_NOMEM;
    snprintf(name, n, "%s.%s-XXXXXX", path, suffix);
    *fd = mkostemp(name, O_CLOEXEC);
    if (*fd < 0) {
        st_t st = st_from_errno(errno);
        st_log(ST_LOG_WARN, "bundle writer: cannot create %s: %s", name, st_str(st));
        free(name);
        return st;
    }
    *tmp = name;
    return ST_OK;
}

static st_t copy_hdr(const ifpp_bundle_hdr_t *src, ifpp_bundle_hdr_t *dst) {
    *dst = *src;
    dst->smdpf_certs = calloc(src->n_smdpf_certs, sizeof(*dst->smdpf_certs));
    if (!dst->smdpf_certs) {
        dst->n_smdpf_certs = 0;
        return ST_E_NOMEM;
    }
    for (size_t i = 0; i < src->n_smdpf_certs; i++) {
        dst->smdpf_certs[i].p = malloc(src->smdpf_certs[i].len);
        if (!dst->smdpf_certs[i].p)
            return ST_E_NOMEM; /* the rest stay NULL: ifpp_bundle_hdr_free copes */
        memcpy(dst->smdpf_certs[i].p, src->smdpf_certs[i].p, src->smdpf_certs[i].len);
        dst->smdpf_certs[i].len = src->smdpf_certs[i].len;
    }
    return ST_OK;
}

void ifpp_bundle_writer_abort(ifpp_bundle_writer_t *w) {
    if (!w)
        return;
    if (w->efd >= 0)
        close(w->efd);
    ifpp_bundle_hdr_free(&w->hdr);
    buf_free(&w->pending);
    free(w->path);
    free(w);
}

st_t ifpp_bundle_writer_open(const char *path, const ifpp_bundle_hdr_t *hdr,
                             ifpp_bundle_writer_t **out) {
    ifpp_bundle_writer_t *w = NULL;
    char *tmp = NULL;
    st_t st;

    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    if (!path || !*path)
        return ST_E_INVAL;
    if ((st = ifpp_bundle_hdr_check(hdr)) != ST_OK)
        return st;
    w = calloc(1, sizeof(*w));
    if (!w)
        return ST_E_NOMEM;
    w->efd = -1;
    w->path = strdup(path);
    if (!w->path) {
        st = ST_E_NOMEM;
        goto out;
    }
    if ((st = copy_hdr(hdr, &w->hdr)) != ST_OK)
        goto out;
    if ((st = make_temp(path, "entries", &w->efd, &tmp)) != ST_OK)
        goto out;
    unlink(tmp); /* anonymous from now on */
    *out = w;
    w = NULL;
out:
    free(tmp);
    ifpp_bundle_writer_abort(w);
    return st;
}

static st_t flush_pending(ifpp_bundle_writer_t *w) {
    st_t st = write_all(w->efd, w->pending.data, w->pending.len);
    buf_reset(&w->pending);
    return st;
}

st_t ifpp_bundle_writer_add(ifpp_bundle_writer_t *w, const ifpp_bundle_entry_t *e) {
    size_t before;
    st_t st;

    if (!w || !e)
        return ST_E_INVAL;
    if (w->err != ST_OK)
        return w->err;
    if (w->count >= UINT32_MAX) {
        st = ST_E_TOO_LARGE;
        goto fail;
    }
    before = w->pending.len;
    if ((st = ifpp_bundle_entry_encode(e, (size_t)w->count, &w->pending)) != ST_OK)
        return st; /* a refused entry leaves the writer usable */
    /* the outer headers take at most 2 * 6 bytes: keep the whole file under 4 GiB */
    if (w->entries_len + (w->pending.len - before)
        > IFPP_MAX_BUNDLE_LEN - IFPP_MAX_BUNDLE_HDR_LEN) {
        w->pending.len = before;
        st = ST_E_TOO_LARGE;
        goto fail;
    }
    w->entries_len += w->pending.len - before;
    w->count++;
    if (w->pending.len >= WRITER_FLUSH_AT && (st = flush_pending(w)) != ST_OK)
        goto fail;
    return ST_OK;
fail:
    st_log(ST_LOG_WARN, "bundle writer: %s: entry %llu: %s", w->path, (unsigned long long)w->count,
           st_str(st));
    w->err = st;
    return st;
}

/* Copies the entries temp file to fd. */
static st_t copy_entries(ifpp_bundle_writer_t *w, int fd) {
    uint8_t *chunk = NULL;
    const size_t csz = 256u << 10;
    uint64_t done = 0;
    st_t st = ST_OK;

    chunk = malloc(csz);
    if (!chunk)
        return ST_E_NOMEM;
    while (done < w->entries_len) {
        size_t want = w->entries_len - done < csz ? (size_t)(w->entries_len - done) : csz;
        ssize_t r = pread(w->efd, chunk, want, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = st_from_errno(errno);
            break;
        }
        if (r == 0) {
            st = ST_E_IO; /* the temp file shrank under us */
            break;
        }
        if ((st = write_all(fd, chunk, (size_t)r)) != ST_OK)
            break;
        done += (uint64_t)r;
    }
    free(chunk);
    return st;
}

static st_t fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    int dfd;
    st_t st = ST_OK;
    if (!copy)
        return ST_E_NOMEM;
    dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        st = st_from_errno(errno);
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return st;
}

st_t ifpp_bundle_writer_close(ifpp_bundle_writer_t *w) {
    buf_t head = BUF_INIT;
    char *tmp = NULL;
    int fd = -1;
    size_t hdr_len, ent_tlv_len;
    uint64_t outer_len;
    st_t st;

    if (!w)
        return ST_E_INVAL;
    if ((st = w->err) != ST_OK)
        goto out;
    if ((st = flush_pending(w)) != ST_OK)
        goto out;
    /* outer SEQUENCE { header, entries SEQUENCE { ... } } */
    if ((st = ifpp_bundle_hdr_encode(&w->hdr, w->count, &head)) != ST_OK)
        goto out;
    hdr_len = head.len;
    ent_tlv_len = tlv_header_len(TAG_SEQUENCE, (size_t)w->entries_len);
    outer_len = hdr_len + ent_tlv_len + w->entries_len;
    if (w->entries_len > IFPP_MAX_BUNDLE_LEN || outer_len > IFPP_MAX_BUNDLE_LEN) {
        st = ST_E_TOO_LARGE;
        goto out;
    }
    buf_reset(&head);
    if ((st = tlv_buf_header(&head, TAG_SEQUENCE, (size_t)outer_len)) != ST_OK
        || (st = ifpp_bundle_hdr_encode(&w->hdr, w->count, &head)) != ST_OK
        || (st = tlv_buf_header(&head, TAG_SEQUENCE, (size_t)w->entries_len)) != ST_OK)
        goto out;

    if ((st = make_temp(w->path, "tmp", &fd, &tmp)) != ST_OK)
        goto out;
    if (fchmod(fd, BUNDLE_FILE_MODE) != 0) {
        st = st_from_errno(errno);
        goto out_unlink;
    }
    if ((st = write_all(fd, head.data, head.len)) != ST_OK)
        goto out_unlink;
    if ((st = copy_entries(w, fd)) != ST_OK)
        goto out_unlink;
    if (fsync(fd) != 0) {
        st = st_from_errno(errno);
        goto out_unlink;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = st_from_errno(errno);
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, w->path) != 0) {
        st = st_from_errno(errno);
        goto out_unlink;
    }
    st = fsync_dir_of(w->path);
    goto out;
out_unlink:
    unlink(tmp);
out:
    if (st != ST_OK)
        st_log(ST_LOG_WARN, "bundle writer: %s: %s", w->path, st_str(st));
    if (fd >= 0)
        close(fd);
    free(tmp);
    buf_free(&head);
    ifpp_bundle_writer_abort(w);
    return st;
}
