#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "log.h"

st_t buf_reserve(buf_t *b, size_t extra) {
    size_t need, ncap;
    uint8_t *p;

    if (extra > SIZE_MAX - b->len)
        return ST_E_TOO_LARGE;
    need = b->len + extra;
    if (need <= b->cap)
        return ST_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    p = realloc(b->data, ncap);
    if (!p)
        return ST_E_NOMEM;
    b->data = p;
    b->cap = ncap;
    return ST_OK;
}

st_t buf_append(buf_t *b, const void *p, size_t n) {
    st_t st;
    if (n == 0)
        return ST_OK;
    st = buf_reserve(b, n);
    if (st != ST_OK)
        return st;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return ST_OK;
}

st_t buf_append_byte(buf_t *b, uint8_t v) {
    return buf_append(b, &v, 1);
}

uint8_t *buf_extend(buf_t *b, size_t n) {
    uint8_t *p;
    if (buf_reserve(b, n) != ST_OK)
        return NULL;
    p = b->data + b->len;
    b->len += n;
    return p;
}

void buf_reset(buf_t *b) {
    b->len = 0;
}

void buf_free(buf_t *b) {
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_wipe_free(buf_t *b) {
    if (!b)
        return;
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    buf_free(b);
}

void mem_wipe(void *p, size_t n) {
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int mem_ct_cmp(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n);
}

/* Appends everything up to EOF; more than max_len in b is ST_E_TOO_LARGE. */
static st_t read_to_eof(buf_t *b, int fd, size_t max_len) {
    for (;;) {
        ssize_t r;
        st_t st;
        if (b->cap == b->len && (st = buf_reserve(b, 4096)) != ST_OK)
            return st;
        r = read(fd, b->data + b->len, b->cap - b->len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return st_from_errno(errno);
        }
        if (r == 0)
            return ST_OK;
        b->len += (size_t)r;
        if (b->len > max_len)
            return ST_E_TOO_LARGE;
    }
}

st_t buf_read_fd(buf_t *b, int fd, size_t max_len) {
    st_t st;

    buf_reset(b);
    st = read_to_eof(b, fd, max_len);
    if (st != ST_OK)
        buf_reset(b);
    return st;
}

/* secret: the file must be the reader's own (or root's) and closed to group and others. */
static st_t read_file(buf_t *b, const char *path, size_t max_len, bool secret) {
    st_t st = ST_OK;
    int fd = -1;
    struct stat sb;

    buf_reset(b);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        st = st_from_errno(errno);
        goto out;
    }
    if (fstat(fd, &sb) != 0) {
        st = st_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = ST_E_INVAL;
        goto out;
    }
    if (secret && ((sb.st_mode & 077) || (sb.st_uid != geteuid() && sb.st_uid != 0))) {
        st_log(ST_LOG_ERR,
               "%s: a private key file must be mode 0600 (or stricter) and owned by "
               "this user (it is %04o, owner %u): refused",
               path, (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
        st = ST_E_PERM;
        goto out;
    }
    if ((uint64_t)sb.st_size > max_len) {
        st = ST_E_TOO_LARGE;
        goto out;
    }
    st = buf_reserve(b, (size_t)sb.st_size + 1);
    if (st == ST_OK)
        st = read_to_eof(b, fd, max_len);
out:
    if (fd >= 0)
        close(fd);
    if (st != ST_OK)
        buf_reset(b);
    return st;
}

st_t buf_read_file(buf_t *b, const char *path, size_t max_len) {
    return read_file(b, path, max_len, false);
}

st_t buf_read_secret_file(buf_t *b, const char *path, size_t max_len) {
    return read_file(b, path, max_len, true);
}

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

st_t buf_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode) {
    st_t st = ST_OK;
    char *tmp = NULL, *dircopy = NULL;
    const char *dir;
    int fd = -1, dfd = -1;
    unsigned char rnd[6];
    size_t tlen;

    tlen = strlen(path) + 32;
    tmp = malloc(tlen);
    dircopy = strdup(path);
    if (!tmp || !dircopy) {
        st = ST_E_NOMEM;
        goto out;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        st = st_from_openssl("RAND_bytes");
        goto out;
    }
    snprintf(tmp, tlen, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5]);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        st = st_from_errno(errno);
        goto out;
    }
    st = write_all(fd, p, n);
    if (st != ST_OK)
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
    if (rename(tmp, path) != 0) {
        st = st_from_errno(errno);
        goto out_unlink;
    }
    dir = dirname(dircopy);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        st = st_from_errno(errno);
        goto out;
    }
    goto out;
out_unlink:
    unlink(tmp);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    free(tmp);
    free(dircopy);
    return st;
}

void hex_encode(const uint8_t *p, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

st_t hex_decode(const char *hex, buf_t *b) {
    int hi = -1;
    size_t start = b->len;
    for (const char *c = hex; *c; c++) {
        int v;
        if (*c == ' ' || *c == ':' || *c == '\n' || *c == '\t')
            continue;
        v = hexval(*c);
        if (v < 0)
            goto bad;
        if (hi < 0) {
            hi = v;
        } else {
            st_t st = buf_append_byte(b, (uint8_t)(hi << 4 | v));
            if (st != ST_OK)
                return st;
            hi = -1;
        }
    }
    if (hi >= 0)
        goto bad;
    return ST_OK;
bad:
    b->len = start;
    return ST_E_PARSE;
}

st_t hex_decode_exact(const char *hex, uint8_t *out, size_t n) {
    buf_t b = BUF_INIT;
    st_t st = hex_decode(hex, &b);
    if (st == ST_OK && b.len != n)
        st = ST_E_PARSE;
    if (st == ST_OK)
        memcpy(out, b.data, n);
    buf_wipe_free(&b);
    return st;
}
