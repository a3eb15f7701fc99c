/*
 * tlv.h - BER-TLV / DER codec (ISO/IEC 8825-1 subset used by SGP.22 and the IFPP formats).
 *
 * Reader: zero-copy. A tlv_t points into the caller's buffer and lives as long as it does.
 *   - tags of 1 to 3 octets, packed big-endian in a uint32_t (0x80, 0x5F49, 0xBF36, 0xFF40);
 *   - definite lengths of up to 4 length octets (0x84); indefinite length (0x80) is rejected;
 *   - every TLV must fit inside its parent (or buffer): an overrun is ST_E_TRUNCATED.
 * Writer: two-pass. Build a tree with tlv_w_begin/put/end (sizes are summed as nodes close),
 *   then tlv_w_finish emits it in one go. Values passed to tlv_w_put are borrowed until
 *   tlv_w_finish; use tlv_w_put_copy for temporaries. The first error sticks and is returned
 *   by tlv_w_finish, so a builder may chain calls and check once.
 */
#ifndef IFPP_TLV_H
#define IFPP_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

#define TLV_MAX_TAG_OCTETS 3
#define TLV_MAX_LEN_OCTETS 4

typedef struct {
    uint32_t tag;         /* packed tag octets, e.g. 0xBF36 */
    const uint8_t *value; /* borrowed: points into the parsed buffer */
    size_t len;           /* value length */
    const uint8_t *raw;   /* the whole TLV, header included */
    size_t raw_len;       /* header + value */
    size_t hdr_len;       /* tag + length octets */
} tlv_t;

typedef struct {
    const uint8_t *p; /* next unread byte */
    size_t n;         /* bytes left */
} tlv_iter_t;

/* True when the tag's first octet has the constructed bit (0x20). */
bool tlv_tag_constructed(uint32_t tag);

/* Number of octets of a packed tag (1..3). */
size_t tlv_tag_len(uint32_t tag);

/*
 * Parses the header at p[0..avail): tag, value length and header length. Does not require the
 * value to be present (for streaming). ST_E_TRUNCATED if avail is too short for the header,
 * ST_E_PARSE for a bad tag, indefinite length or more than 4 length octets.
 */
st_t tlv_parse_header(const uint8_t *p, size_t avail, uint32_t *tag, size_t *len, size_t *hdr_len);

/* Parses one TLV at p; it must fit in n bytes (bytes after it are allowed). */
st_t tlv_parse(const uint8_t *p, size_t n, tlv_t *out);

/* Parses exactly one TLV spanning all n bytes (ST_E_TRAILING if bytes follow). */
st_t tlv_parse_exact(const uint8_t *p, size_t n, tlv_t *out);

/* Iterates the siblings in p[0..n) (e.g. a constructed value). */
void tlv_iter_init(tlv_iter_t *it, const uint8_t *p, size_t n);
/* Iterates the children of a constructed TLV. */
void tlv_iter_children(tlv_iter_t *it, const tlv_t *parent);
/* ST_OK with *out filled, ST_E_NOENT at the clean end, a parse status on malformed input. */
st_t tlv_iter_next(tlv_iter_t *it, tlv_t *out);

/* First sibling in p[0..n) with `tag`; ST_E_NOENT if none, parse status if malformed. */
st_t tlv_find(const uint8_t *p, size_t n, uint32_t tag, tlv_t *out);
/* First child of parent with `tag`. */
st_t tlv_find_child(const tlv_t *parent, uint32_t tag, tlv_t *out);

/*
 * Reads a non-negative DER INTEGER value (the value octets of t) into *v. Rejects empty,
 * negative and > UINT64_MAX values (ST_E_PARSE / ST_E_TOO_LARGE).
 */
st_t tlv_get_uint(const tlv_t *t, uint64_t *v);

/* OBJECT IDENTIFIER value octets <-> dotted text ("2.999.10"). */
st_t der_oid_to_str(const uint8_t *v, size_t n, char *out, size_t outlen);
st_t der_oid_from_str(const char *s, buf_t *value_out);

/* Header helpers for hand-assembled structures (the BSP segments, BF36). */
size_t tlv_header_len(uint32_t tag, size_t len);
/* Writes tag+length into out (room for tlv_header_len bytes); returns bytes written. */
size_t tlv_put_header(uint8_t *out, uint32_t tag, size_t len);
/* Appends tag+length, or a whole TLV, to a buffer. */
st_t tlv_buf_header(buf_t *b, uint32_t tag, size_t len);
st_t tlv_buf_put(buf_t *b, uint32_t tag, const void *v, size_t len);

/* ---- two-pass writer ---- */
typedef struct tlv_writer tlv_writer_t;

/* New empty writer; NULL on allocation failure. Free with tlv_writer_free (NULL-tolerant). */
tlv_writer_t *tlv_writer_new(void);
void tlv_writer_free(tlv_writer_t *w);

/* Opens a constructed TLV; must be matched by tlv_w_end. */
st_t tlv_w_begin(tlv_writer_t *w, uint32_t tag);
st_t tlv_w_end(tlv_writer_t *w);
/* Primitive TLV; v is borrowed until tlv_w_finish. */
st_t tlv_w_put(tlv_writer_t *w, uint32_t tag, const void *v, size_t len);
/* Primitive TLV with the value copied into the writer (wiped on free). */
st_t tlv_w_put_copy(tlv_writer_t *w, uint32_t tag, const void *v, size_t len);
/* Already-encoded bytes (e.g. a certificate, a BF37) inserted as they are; borrowed. */
st_t tlv_w_raw(tlv_writer_t *w, const void *v, size_t len);
/* DER INTEGER (minimal, non-negative). */
st_t tlv_w_uint(tlv_writer_t *w, uint32_t tag, uint64_t v);
/* DER BOOLEAN. */
st_t tlv_w_bool(tlv_writer_t *w, uint32_t tag, bool v);
/* Size of what tlv_w_finish would emit (all nodes must be closed). */
st_t tlv_w_size(const tlv_writer_t *w, size_t *size);
/* Appends the encoding to out. Returns the first error recorded by any earlier call. */
st_t tlv_w_finish(tlv_writer_t *w, buf_t *out);

#endif
