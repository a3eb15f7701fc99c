/*
 * buf.h - a growable byte buffer (a value type: embed it, initialise with BUF_INIT).
 *
 * Used for every encoder output and every file read. A buffer that ever held key material is
 * released with buf_wipe_free(), which cleanses the whole capacity before freeing.
 */
#ifndef IFPP_BUF_H
#define IFPP_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct {
    uint8_t *data; /* owned; NULL while empty and never grown */
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT                                                                                   \
    { NULL, 0, 0 }

/* Makes room for `extra` more bytes; ST_E_NOMEM or ST_E_TOO_LARGE on overflow. */
st_t buf_reserve(buf_t *b, size_t extra);

/* Appends n bytes (p may be NULL when n == 0). */
st_t buf_append(buf_t *b, const void *p, size_t n);
st_t buf_append_byte(buf_t *b, uint8_t v);

/* Appends n bytes and returns a pointer to them for the caller to fill (NULL on failure). */
uint8_t *buf_extend(buf_t *b, size_t n);

/* Drops the contents, keeps the allocation. */
void buf_reset(buf_t *b);

/* Frees the allocation; NULL-tolerant; leaves *b == BUF_INIT. */
void buf_free(buf_t *b);

/* Cleanses the whole capacity, then frees. For anything that held secrets. */
void buf_wipe_free(buf_t *b);

/*
 * Reads a whole regular file into b (replacing its contents). Refuses files larger than
 * max_len (ST_E_TOO_LARGE) and symlinks (opened with O_NOFOLLOW: ST_E_PERM).
 */
st_t buf_read_file(buf_t *b, const char *path, size_t max_len);

/* Reads fd to its end into b (replacing its contents; fd stays open). More than max_len bytes
 * is ST_E_TOO_LARGE (b emptied). For pipes and files opened by the caller (openat, O_NOFOLLOW). */
st_t buf_read_fd(buf_t *b, int fd, size_t max_len);

/*
 * buf_read_file for a private key: also refuses (ST_E_PERM, logged) a file that group or others
 * may read or write, or that belongs to another user than the caller or root, as ssh does with
 * its identity files (security.md §5). b holds a secret: release it with buf_wipe_free.
 */
st_t buf_read_secret_file(buf_t *b, const char *path, size_t max_len);

/*
 * Writes p[0..n) to path atomically and durably: temp file in the same directory with
 * O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC and `mode`, write, fsync, rename, fsync(dir).
 */
st_t buf_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode);

/* Cleanses memory (OPENSSL_cleanse: not optimised away). NULL-tolerant. */
void mem_wipe(void *p, size_t n);

/* Constant-time comparison; returns 0 when equal. */
int mem_ct_cmp(const void *a, const void *b, size_t n);

/* Lower/upper-case hex. hex_encode writes 2n chars + NUL into out (size >= 2n+1). */
void hex_encode(const uint8_t *p, size_t n, char *out);

/* Decodes hex (either case; spaces and colons ignored) appending to b; ST_E_PARSE if odd/bad. */
st_t hex_decode(const char *hex, buf_t *b);

/* Decodes exactly n bytes of hex into out; ST_E_PARSE otherwise. */
st_t hex_decode_exact(const char *hex, uint8_t *out, size_t n);

#endif
