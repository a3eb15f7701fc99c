/*
 * segref - the reference segmentation of every BPP of some bundles, for test_segments.sh:
 *
 *   segref --block N BUNDLE.ifppb...
 *
 * Prints one line per bundle entry:
 *
 *   <EID hex> <a2|no-a2> <segments> <STORE DATA APDUs at block size N> <segment hex>...
 *
 * The cut is written here straight from the text of SGP.22 §2.5.5 (research §4.3), with the
 * TLV reader only: deliberately NOT with fmt/bpp.h (bpp_parse/bpp_segments), whose output is
 * what the e2e test checks. "The segmentation SHALL be done according to the structure of the
 * Bound Profile Package":
 *   1. tag and length fields of the BoundProfilePackage TLV plus the
 *      initialiseSecureChannelRequest TLV                             [BF36 hdr + BF23]
 *   2. tag and length fields of the first sequenceOf87 TLV plus the
 *      first '87' TLV                                                 [A0 hdr + 87]
 *   3. tag and length fields of the sequenceOf88 TLV                  [A1 hdr]
 *   4. each of the '88' TLVs                                          [88] ...
 *   5. tag and length fields of the sequenceOf87 TLV plus the
 *      first '87' TLV (only when present: PPK mode)                   [A2 hdr + 87]
 *   6. tag and length fields of the sequenceOf86 TLV                  [A3 hdr]
 *   7. each of the '86' TLVs                                          [86] ...
 * The text names only the first '87' of A0/A2 and every BPP seen so far carries exactly one:
 * any further '87' is refused here rather than guessed at. Each segment is one STORE DATA
 * sequence of ceil(len / N) blocks (SGP.22 §2.5.5: full blocks, a last one that may be
 * shorter). Exit 0, or 1 with the reason on stderr (bad bundle, BPP not of this shape).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "fmt/ifpp.h"
#include "tlv/tlv.h"

#define SEGREF_MAX_SEGS 4096

typedef struct {
    const uint8_t *p[SEGREF_MAX_SEGS];
    size_t len[SEGREF_MAX_SEGS];
    size_t n;
    bool a2;
} segs_t;

/* One segment of up to two adjacent pieces: a header alone, or a header plus the TLV right
 * after it (the two are contiguous in the BF36, checked). */
static int seg_add(segs_t *s, const uint8_t *p, size_t len) {
    if (s->n >= SEGREF_MAX_SEGS) {
        fprintf(stderr, "segref: more than %d segments\n", SEGREF_MAX_SEGS);
        return -1;
    }
    s->p[s->n] = p;
    s->len[s->n] = len;
    s->n++;
    return 0;
}

/* A0 / A2: header plus the first (only) '87'. */
static int cut_seq87(segs_t *s, const tlv_t *seq, const char *what) {
    tlv_iter_t it;
    tlv_t c, more;
    tlv_iter_children(&it, seq);
    if (tlv_iter_next(&it, &c) != ST_OK || c.tag != 0x87 || c.raw != seq->value) {
        fprintf(stderr, "segref: %s does not start with an '87'\n", what);
        return -1;
    }
    if (tlv_iter_next(&it, &more) != ST_E_NOENT) {
        fprintf(stderr, "segref: %s holds more than one TLV (not a shape §2.5.5 spells out)\n",
                what);
        return -1;
    }
    return seg_add(s, seq->raw, seq->hdr_len + c.raw_len);
}

/* A1 / A3: the header alone, then each child (all with tag `child`). */
static int cut_each(segs_t *s, const tlv_t *seq, uint32_t child, const char *what) {
    tlv_iter_t it;
    tlv_t c;
    st_t st;
    if (seg_add(s, seq->raw, seq->hdr_len))
        return -1;
    tlv_iter_children(&it, seq);
    while ((st = tlv_iter_next(&it, &c)) == ST_OK) {
        if (c.tag != child) {
            fprintf(stderr, "segref: %s holds a %X TLV\n", what, (unsigned)c.tag);
            return -1;
        }
        if (seg_add(s, c.raw, c.raw_len))
            return -1;
    }
    if (st != ST_E_NOENT) {
        fprintf(stderr, "segref: %s: %s\n", what, st_str(st));
        return -1;
    }
    return 0;
}

/* The next child of BF36, which must carry `tag`. */
static int next_is(tlv_iter_t *it, uint32_t tag, tlv_t *c) {
    st_t st = tlv_iter_next(it, c);
    if (st != ST_OK || c->tag != tag) {
        fprintf(stderr, "segref: BF36: %X expected, %s\n", (unsigned)tag,
                st == ST_OK ? "another tag found" : st_str(st));
        return -1;
    }
    return 0;
}

/* SGP.22 §2.5.5 on one BF36. */
static int cut(const uint8_t *bpp, size_t len, segs_t *s) {
    tlv_t top, c;
    tlv_iter_t it;
    st_t st;

    memset(s, 0, sizeof(*s));
    if ((st = tlv_parse_exact(bpp, len, &top)) != ST_OK || top.tag != 0xBF36) {
        fprintf(stderr, "segref: not one BF36 TLV (%s)\n", st_str(st));
        return -1;
    }
    tlv_iter_children(&it, &top);
    /* 1. BF36 header + BF23 */
    if (next_is(&it, 0xBF23, &c) || seg_add(s, top.raw, top.hdr_len + c.raw_len))
        return -1;
    /* 2. A0 header + 87 */
    if (next_is(&it, 0xA0, &c) || cut_seq87(s, &c, "A0"))
        return -1;
    /* 3./4. A1 header, each 88 */
    if (next_is(&it, 0xA1, &c) || cut_each(s, &c, 0x88, "A1"))
        return -1;
    /* 5. [A2 header + 87] */
    if (tlv_iter_next(&it, &c) != ST_OK) {
        fprintf(stderr, "segref: BF36 ends after A1\n");
        return -1;
    }
    if (c.tag == 0xA2) {
        s->a2 = true;
        if (cut_seq87(s, &c, "A2") || next_is(&it, 0xA3, &c))
            return -1;
    } else if (c.tag != 0xA3) {
        fprintf(stderr, "segref: BF36: A2 or A3 expected after A1, %X found\n", (unsigned)c.tag);
        return -1;
    }
    /* 6./7. A3 header, each 86 */
    if (cut_each(s, &c, 0x86, "A3"))
        return -1;
    if (tlv_iter_next(&it, &c) != ST_E_NOENT) {
        fprintf(stderr, "segref: something follows A3 in BF36\n");
        return -1;
    }
    return 0;
}

static int one_bundle(const char *path, size_t block) {
    ifpp_bundle_reader_t *r = NULL;
    ifpp_bundle_entry_t e;
    segs_t *s = calloc(1, sizeof(*s));
    FILE *f = fopen(path, "rb");
    int rc = 1;
    st_t st;

    if (!s || !f) {
        fprintf(stderr, "segref: %s: %s\n", path, strerror(errno));
        goto out;
    }
    if ((st = ifpp_bundle_reader_open(f, &r)) != ST_OK) {
        fprintf(stderr, "segref: %s: %s\n", path, st_str(st));
        goto out;
    }
    while ((st = ifpp_bundle_reader_next(r, &e)) == ST_OK) {
        size_t apdus = 0, total = 0;
        if (cut(e.bpp, e.bpp_len, s)) {
            fprintf(stderr, "segref: %s: entry %llu\n", path,
                    (unsigned long long)ifpp_bundle_reader_count(r) - 1);
            goto out;
        }
        for (size_t i = 0; i < s->n; i++) {
            apdus += (s->len[i] + block - 1) / block;
            total += s->len[i];
        }
        if (total != e.bpp_len) { /* the segments must tile the BF36 exactly */
            fprintf(stderr, "segref: %s: segments cover %zu of %zu bytes\n", path, total,
                    e.bpp_len);
            goto out;
        }
        for (size_t i = 0; i < IFPP_EID_LEN; i++)
            printf("%02X", e.eid[i]);
        printf(" %s %zu %zu", s->a2 ? "a2" : "no-a2", s->n, apdus);
        for (size_t i = 0; i < s->n; i++) {
            putchar(' ');
            for (size_t k = 0; k < s->len[i]; k++)
                printf("%02X", s->p[i][k]);
        }
        putchar('\n');
    }
    if (st != ST_E_NOENT) {
        fprintf(stderr, "segref: %s: %s\n", path, st_str(st));
        goto out;
    }
    rc = 0;
out:
    ifpp_bundle_reader_free(r);
    if (f)
        fclose(f);
    free(s);
    return rc;
}

int main(int argc, char **argv) {
    unsigned long block = 0;
    char *end;
    int i = 1;

    if (argc >= 3 && !strcmp(argv[1], "--block")) {
        errno = 0;
        block = strtoul(argv[2], &end, 10);
        if (errno || *end || argv[2][0] == '-')
            block = 0;
        i = 3;
    }
    if (block < 1 || block > 255 || i >= argc) {
        fprintf(stderr, "usage: segref --block N BUNDLE.ifppb...   (N 1..255)\n");
        return 2;
    }
    for (; i < argc; i++)
        if (one_bundle(argv[i], block))
            return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
