#include "tlv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool tlv_tag_constructed(uint32_t tag) {
    uint32_t first = tag;
    while (first > 0xFF)
        first >>= 8;
    return (first & 0x20) != 0;
}

size_t tlv_tag_len(uint32_t tag) {
    if (tag > 0xFFFF)
        return 3;
    if (tag > 0xFF)
        return 2;
    return 1;
}

st_t tlv_parse_header(const uint8_t *p, size_t avail, uint32_t *tag, size_t *len, size_t *hdr_len) {
    size_t i = 0;
    uint32_t t;
    size_t l;

    if (avail < 1)
        return ST_E_TRUNCATED;
    t = p[i++];
    /* 00 is BER end-of-contents and has no place in DER. (FF is a valid first octet: the
     * project's private-class ES10f tags FF40..FF4F of DESIGN §6 start with it.) */
    if (t == 0x00)
        return ST_E_PARSE;
    if ((t & 0x1F) == 0x1F) {
        /* multi-byte tag: subsequent octets while bit 8 is set, at most 3 octets in all */
        for (;;) {
            uint8_t b;
            if (i >= avail)
                return ST_E_TRUNCATED;
            b = p[i++];
            if (i == 2 && b == 0x80)
                return ST_E_PARSE; /* non-minimal tag number */
            t = (t << 8) | b;
            if (!(b & 0x80))
                break;
            if (i >= TLV_MAX_TAG_OCTETS)
                return ST_E_PARSE;
        }
    }
    if (i >= avail)
        return ST_E_TRUNCATED;
    if (p[i] < 0x80) {
        l = p[i++];
    } else {
        size_t nb = p[i++] & 0x7F;
        if (nb == 0)
            return ST_E_PARSE; /* indefinite length */
        if (nb > TLV_MAX_LEN_OCTETS)
            return ST_E_PARSE;
        if (avail - i < nb)
            return ST_E_TRUNCATED;
        l = 0;
        for (size_t k = 0; k < nb; k++)
            l = (l << 8) | p[i++];
    }
    *tag = t;
    *len = l;
    *hdr_len = i;
    return ST_OK;
}

st_t tlv_parse(const uint8_t *p, size_t n, tlv_t *out) {
    uint32_t tag;
    size_t len, hl;
    st_t st;

    memset(out, 0, sizeof(*out));
    if (!p)
        return ST_E_TRUNCATED;
    st = tlv_parse_header(p, n, &tag, &len, &hl);
    if (st != ST_OK)
        return st;
    if (len > n - hl)
        return ST_E_TRUNCATED;
    out->tag = tag;
    out->hdr_len = hl;
    out->len = len;
    out->value = p + hl;
    out->raw = p;
    out->raw_len = hl + len;
    return ST_OK;
}

st_t tlv_parse_exact(const uint8_t *p, size_t n, tlv_t *out) {
    st_t st = tlv_parse(p, n, out);
    if (st != ST_OK)
        return st;
    if (out->raw_len != n)
        return ST_E_TRAILING;
    return ST_OK;
}

void tlv_iter_init(tlv_iter_t *it, const uint8_t *p, size_t n) {
    it->p = p;
    it->n = p ? n : 0;
}

void tlv_iter_children(tlv_iter_t *it, const tlv_t *parent) {
    tlv_iter_init(it, parent->value, parent->len);
}

st_t tlv_iter_next(tlv_iter_t *it, tlv_t *out) {
    st_t st;
    if (it->n == 0) {
        memset(out, 0, sizeof(*out));
        return ST_E_NOENT;
    }
    st = tlv_parse(it->p, it->n, out);
    if (st != ST_OK) {
        it->n = 0; /* a malformed sibling ends the iteration for good */
        return st;
    }
    it->p += out->raw_len;
    it->n -= out->raw_len;
    return ST_OK;
}

st_t tlv_find(const uint8_t *p, size_t n, uint32_t tag, tlv_t *out) {
    tlv_iter_t it;
    tlv_t t;
    st_t st;

    tlv_iter_init(&it, p, n);
    while ((st = tlv_iter_next(&it, &t)) == ST_OK) {
        if (t.tag == tag) {
            *out = t;
            return ST_OK;
        }
    }
    memset(out, 0, sizeof(*out));
    return st;
}

st_t tlv_find_child(const tlv_t *parent, uint32_t tag, tlv_t *out) {
    return tlv_find(parent->value, parent->len, tag, out);
}

st_t tlv_get_uint(const tlv_t *t, uint64_t *v) {
    const uint8_t *p = t->value;
    size_t n = t->len;
    uint64_t r = 0;

    *v = 0;
    if (n == 0)
        return ST_E_PARSE;
    if (p[0] & 0x80)
        return ST_E_PARSE; /* negative */
    while (n > 1 && p[0] == 0) {
        p++;
        n--;
    }
    if (n > 8)
        return ST_E_TOO_LARGE;
    for (size_t i = 0; i < n; i++)
        r = (r << 8) | p[i];
    *v = r;
    return ST_OK;
}

st_t der_oid_to_str(const uint8_t *v, size_t n, char *out, size_t outlen) {
    size_t pos = 0;
    uint64_t acc = 0;
    int first = 1;
    int w;

    if (n == 0 || outlen == 0)
        return ST_E_PARSE;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (acc == 0 && v[i] == 0x80)
            return ST_E_PARSE; /* non-minimal sub-identifier */
        if (acc > (UINT64_MAX >> 7))
            return ST_E_TOO_LARGE;
        acc = (acc << 7) | (v[i] & 0x7F);
        if (v[i] & 0x80) {
            if (i == n - 1)
                return ST_E_TRUNCATED;
            continue;
        }
        if (first) {
            unsigned a = acc < 40 ? 0 : acc < 80 ? 1 : 2;
            w = snprintf(out + pos, outlen - pos, "%u.%llu", a,
                         (unsigned long long)(acc - 40ull * a));
            first = 0;
        } else {
            w = snprintf(out + pos, outlen - pos, ".%llu", (unsigned long long)acc);
        }
        if (w < 0 || (size_t)w >= outlen - pos)
            return ST_E_TOO_LARGE;
        pos += (size_t)w;
        acc = 0;
    }
    return ST_OK;
}

static st_t oid_put_arc(buf_t *b, uint64_t arc) {
    uint8_t tmp[10];
    size_t k = 0;
    do {
        tmp[k++] = (uint8_t)(arc & 0x7F);
        arc >>= 7;
    } while (arc);
    while (k > 0) {
        uint8_t o = tmp[--k];
        if (k > 0)
            o |= 0x80;
        st_t st = buf_append_byte(b, o);
        if (st != ST_OK)
            return st;
    }
    return ST_OK;
}

st_t der_oid_from_str(const char *s, buf_t *value_out) {
    uint64_t arcs[64];
    size_t na = 0;
    const char *c = s;
    size_t start = value_out->len;
    st_t st = ST_OK;

    while (*c) {
        uint64_t a = 0;
        if (*c < '0' || *c > '9')
            return ST_E_PARSE;
        while (*c >= '0' && *c <= '9') {
            if (a > (UINT64_MAX - 9) / 10)
                return ST_E_TOO_LARGE;
            a = a * 10 + (uint64_t)(*c - '0');
            c++;
        }
        if (na == 64)
            return ST_E_TOO_LARGE;
        arcs[na++] = a;
        if (*c == '.') {
            c++;
            if (!*c)
                return ST_E_PARSE;
        } else if (*c) {
            return ST_E_PARSE;
        }
    }
    if (na < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40))
        return ST_E_PARSE;
    if (arcs[1] > UINT64_MAX - 80)
        return ST_E_TOO_LARGE;
    st = oid_put_arc(value_out, arcs[0] * 40 + arcs[1]);
    for (size_t i = 2; st == ST_OK && i < na; i++)
        st = oid_put_arc(value_out, arcs[i]);
    if (st != ST_OK)
        value_out->len = start;
    return st;
}

size_t tlv_header_len(uint32_t tag, size_t len) {
    size_t n = tlv_tag_len(tag);
    if (len < 0x80)
        return n + 1;
    if (len <= 0xFF)
        return n + 2;
    if (len <= 0xFFFF)
        return n + 3;
    if (len <= 0xFFFFFF)
        return n + 4;
    return n + 5;
}

size_t tlv_put_header(uint8_t *out, uint32_t tag, size_t len) {
    size_t i = 0, tl = tlv_tag_len(tag);
    for (size_t k = tl; k > 0; k--)
        out[i++] = (uint8_t)(tag >> (8 * (k - 1)));
    if (len < 0x80) {
        out[i++] = (uint8_t)len;
    } else {
        size_t nb = len <= 0xFF ? 1 : len <= 0xFFFF ? 2 : len <= 0xFFFFFF ? 3 : 4;
        out[i++] = (uint8_t)(0x80 | nb);
        for (size_t k = nb; k > 0; k--)
            out[i++] = (uint8_t)(len >> (8 * (k - 1)));
    }
    return i;
}

st_t tlv_buf_header(buf_t *b, uint32_t tag, size_t len) {
    uint8_t *p;
    if ((uint64_t)len > 0xFFFFFFFFull)
        return ST_E_TOO_LARGE;
    p = buf_extend(b, tlv_header_len(tag, len));
    if (!p)
        return ST_E_NOMEM;
    tlv_put_header(p, tag, len);
    return ST_OK;
}

st_t tlv_buf_put(buf_t *b, uint32_t tag, const void *v, size_t len) {
    st_t st = tlv_buf_header(b, tag, len);
    if (st != ST_OK)
        return st;
    return buf_append(b, v, len);
}

/* ---- two-pass writer ---- */

enum node_kind { NODE_PRIM, NODE_CONS, NODE_RAW };

struct tlv_node {
    uint32_t tag;
    uint8_t kind;
    bool copied;        /* value lives in the writer's arena at `off` */
    const uint8_t *ptr; /* borrowed value (NODE_PRIM, NODE_RAW) */
    size_t off;
    size_t len;    /* content length (for NODE_CONS: sum of children, known at end) */
    size_t parent; /* index of the enclosing open node, or SIZE_MAX */
};

struct tlv_writer {
    struct tlv_node *nodes;
    size_t n, cap;
    size_t open; /* innermost open constructed node, SIZE_MAX at top level */
    buf_t arena;
    st_t err;
};

tlv_writer_t *tlv_writer_new(void) {
    tlv_writer_t *w = calloc(1, sizeof(*w));
    if (w)
        w->open = SIZE_MAX;
    return w;
}

void tlv_writer_free(tlv_writer_t *w) {
    if (!w)
        return;
    free(w->nodes);
    buf_wipe_free(&w->arena);
    free(w);
}

static size_t node_total(const struct tlv_node *nd) {
    if (nd->kind == NODE_RAW)
        return nd->len;
    return tlv_header_len(nd->tag, nd->len) + nd->len;
}

/* Adds a finished child's encoded size to every enclosing open node. */
static st_t add_to_parents(tlv_writer_t *w, size_t parent, size_t size) {
    for (size_t i = parent; i != SIZE_MAX; i = w->nodes[i].parent) {
        /* the parent's own header grows too, but that is added when it closes */
        if (w->nodes[i].len > (size_t)0xFFFFFFFFu - size)
            return ST_E_TOO_LARGE;
        w->nodes[i].len += size;
        /* only the direct parent: its total is propagated when it closes */
        break;
    }
    return ST_OK;
}

static struct tlv_node *new_node(tlv_writer_t *w) {
    if (w->err != ST_OK)
        return NULL;
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 32;
        struct tlv_node *nn = realloc(w->nodes, ncap * sizeof(*nn));
        if (!nn) {
            w->err = ST_E_NOMEM;
            return NULL;
        }
        w->nodes = nn;
        w->cap = ncap;
    }
    memset(&w->nodes[w->n], 0, sizeof(w->nodes[0]));
    w->nodes[w->n].parent = w->open;
    return &w->nodes[w->n++];
}

static bool tag_ok(uint32_t tag) {
    return tag != 0 && tag <= 0xFFFFFF;
}

st_t tlv_w_begin(tlv_writer_t *w, uint32_t tag) {
    struct tlv_node *nd;
    if (w->err == ST_OK && !tag_ok(tag))
        w->err = ST_E_INVAL;
    nd = new_node(w);
    if (!nd)
        return w->err;
    nd->tag = tag;
    nd->kind = NODE_CONS;
    w->open = w->n - 1;
    return ST_OK;
}

st_t tlv_w_end(tlv_writer_t *w) {
    size_t idx;
    if (w->err != ST_OK)
        return w->err;
    if (w->open == SIZE_MAX) {
        w->err = ST_E_INVAL;
        return w->err;
    }
    idx = w->open;
    w->open = w->nodes[idx].parent;
    w->err = add_to_parents(w, w->open, node_total(&w->nodes[idx]));
    return w->err;
}

static st_t put_common(tlv_writer_t *w, uint32_t tag, uint8_t kind, const void *v, size_t len,
                       bool copy) {
    struct tlv_node *nd;
    if (w->err == ST_OK && kind == NODE_PRIM && !tag_ok(tag))
        w->err = ST_E_INVAL;
    if (w->err == ST_OK && len > 0 && !v)
        w->err = ST_E_INVAL;
    if (w->err == ST_OK && (uint64_t)len > 0xFFFFFFFFull)
        w->err = ST_E_TOO_LARGE;
    nd = new_node(w);
    if (!nd)
        return w->err;
    nd->tag = tag;
    nd->kind = kind;
    nd->len = len;
    if (copy) {
        nd->copied = true;
        nd->off = w->arena.len;
        w->err = buf_append(&w->arena, v, len);
        if (w->err != ST_OK)
            return w->err;
    } else {
        nd->ptr = v;
    }
    w->err = add_to_parents(w, w->open, node_total(nd));
    return w->err;
}

st_t tlv_w_put(tlv_writer_t *w, uint32_t tag, const void *v, size_t len) {
    return put_common(w, tag, NODE_PRIM, v, len, false);
}

st_t tlv_w_put_copy(tlv_writer_t *w, uint32_t tag, const void *v, size_t len) {
    return put_common(w, tag, NODE_PRIM, v, len, true);
}

st_t tlv_w_raw(tlv_writer_t *w, const void *v, size_t len) {
    return put_common(w, 0, NODE_RAW, v, len, false);
}

st_t tlv_w_uint(tlv_writer_t *w, uint32_t tag, uint64_t v) {
    uint8_t tmp[9];
    size_t n = 0;
    uint8_t be[8];
    size_t i = 0;
    for (int k = 7; k >= 0; k--)
        be[7 - k] = (uint8_t)(v >> (8 * k));
    while (i < 7 && be[i] == 0)
        i++;
    if (be[i] & 0x80)
        tmp[n++] = 0;
    for (; i < 8; i++)
        tmp[n++] = be[i];
    return put_common(w, tag, NODE_PRIM, tmp, n, true);
}

st_t tlv_w_bool(tlv_writer_t *w, uint32_t tag, bool v) {
    uint8_t b = v ? 0xFF : 0x00;
    return put_common(w, tag, NODE_PRIM, &b, 1, true);
}

st_t tlv_w_size(const tlv_writer_t *w, size_t *size) {
    size_t total = 0;
    *size = 0;
    if (w->err != ST_OK)
        return w->err;
    if (w->open != SIZE_MAX)
        return ST_E_INVAL;
    for (size_t i = 0; i < w->n; i++)
        if (w->nodes[i].parent == SIZE_MAX)
            total += node_total(&w->nodes[i]);
    *size = total;
    return ST_OK;
}

st_t tlv_w_finish(tlv_writer_t *w, buf_t *out) {
    size_t total;
    uint8_t *p;
    st_t st = tlv_w_size(w, &total);
    if (st != ST_OK)
        return st;
    p = buf_extend(out, total);
    if (!p)
        return ST_E_NOMEM;
    for (size_t i = 0; i < w->n; i++) {
        const struct tlv_node *nd = &w->nodes[i];
        if (nd->kind != NODE_RAW)
            p += tlv_put_header(p, nd->tag, nd->len);
        if (nd->kind != NODE_CONS && nd->len) {
            memcpy(p, nd->copied ? w->arena.data + nd->off : nd->ptr, nd->len);
            p += nd->len;
        }
    }
    return ST_OK;
}
