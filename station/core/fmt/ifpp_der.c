/*
 * ifpp_der.c - DER helpers shared by the IFPP file codecs (docs/ifpp-files.asn): strict field
 * decoders that record where they failed, validating encoders, GeneralizedTime, the one-time
 * key signature TBS and error messages.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "ifpp_int.h"

/* ---- errors ---- */

void ifpp_err_clear(ifpp_err_t *e) {
    if (!e)
        return;
    e->st = ST_OK;
    e->entry = IFPP_ERR_NONE;
    e->sub = IFPP_ERR_NONE;
    e->field = NULL;
    e->offset = 0;
}

const char *ifpp_err_format(const ifpp_err_t *e, char *buf, size_t len) {
    size_t pos = 0;
    int w;

    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    if (!e)
        return buf;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        w = snprintf(buf + pos, len - pos, __VA_ARGS__);                                           \
        if (w < 0 || (size_t)w >= len - pos)                                                       \
            return buf;                                                                            \
        pos += (size_t)w;                                                                          \
    } while (0)
    if (e->entry != IFPP_ERR_NONE)
        APPEND("entry %zu, ", e->entry);
    else
        APPEND("header, ");
    if (e->sub != IFPP_ERR_NONE)
        APPEND("item %zu, ", e->sub);
    if (e->field)
        APPEND("field %s ", e->field);
    APPEND("at byte %" PRIu64 ": %s", e->offset, st_str(e->st));
#undef APPEND
    return buf;
}

/* ---- decoding ---- */

void ifpp_dec_init(ifpp_dec_t *d, const char *file, const uint8_t *base, uint64_t base_off,
                   ifpp_err_t *err) {
    d->file = file;
    d->base = base;
    d->base_off = base_off;
    d->entry = IFPP_ERR_NONE;
    d->sub = IFPP_ERR_NONE;
    d->err = err;
    d->failed = false;
    ifpp_err_clear(err);
}

st_t ifpp_dec_fail(ifpp_dec_t *d, st_t st, const char *field, const uint8_t *at) {
    char msg[192];
    if (d->failed)
        return st;
    d->failed = true;
    d->err->st = st;
    d->err->entry = d->entry;
    d->err->sub = d->sub;
    d->err->field = field;
    d->err->offset = d->base_off + (at && d->base && at >= d->base ? (uint64_t)(at - d->base) : 0);
    st_log(ST_LOG_DEBUG, "%s: %s", d->file, ifpp_err_format(d->err, msg, sizeof(msg)));
    return st;
}

/* DER: the length in the fewest octets (tlv.c accepts any definite form). */
bool ifpp_der_len_ok(uint32_t tag, size_t len, size_t hdr_len) {
    return hdr_len == tlv_header_len(tag, len);
}

static bool tlv_der_ok(const tlv_t *t) {
    return ifpp_der_len_ok(t->tag, t->len, t->hdr_len);
}

st_t ifpp_dec_top(ifpp_dec_t *d, const uint8_t *p, size_t n, const char *field, tlv_t *out) {
    st_t st;
    if (!p && n)
        return ifpp_dec_fail(d, ST_E_INVAL, field, NULL);
    st = tlv_parse_exact(p, n, out);
    if (st == ST_E_TRAILING)
        return ifpp_dec_fail(d, st, field, p + out->raw_len);
    if (st != ST_OK)
        return ifpp_dec_fail(d, st, field, p);
    if (out->tag != TAG_SEQUENCE || !tlv_der_ok(out))
        return ifpp_dec_fail(d, ST_E_PARSE, field, p);
    return ST_OK;
}

st_t ifpp_dec_next(ifpp_dec_t *d, tlv_iter_t *it, uint32_t tag, const char *field, tlv_t *out) {
    const uint8_t *at = it->p;
    st_t st = tlv_iter_next(it, out);
    if (st == ST_E_NOENT)
        return ifpp_dec_fail(d, ST_E_PARSE, field, at); /* missing */
    if (st != ST_OK)
        return ifpp_dec_fail(d, st, field, at);
    if (out->tag != tag || !tlv_der_ok(out))
        return ifpp_dec_fail(d, ST_E_PARSE, field, at);
    return ST_OK;
}

st_t ifpp_dec_opt(ifpp_dec_t *d, tlv_iter_t *it, uint32_t tag, const char *field, tlv_t *out,
                  bool *present) {
    tlv_iter_t peek = *it;
    st_t st = tlv_iter_next(&peek, out);
    *present = false;
    if (st == ST_E_NOENT)
        return ST_OK;
    if (st != ST_OK)
        return ifpp_dec_fail(d, st, field, it->p);
    if (out->tag != tag)
        return ST_OK;
    if (!tlv_der_ok(out))
        return ifpp_dec_fail(d, ST_E_PARSE, field, it->p);
    *it = peek;
    *present = true;
    return ST_OK;
}

st_t ifpp_dec_end(ifpp_dec_t *d, tlv_iter_t *it, const char *field) {
    tlv_t t;
    const uint8_t *at = it->p;
    st_t st = tlv_iter_next(it, &t);
    if (st == ST_E_NOENT)
        return ST_OK;
    return ifpp_dec_fail(d, st == ST_OK ? ST_E_TRAILING : st, field, at);
}

st_t ifpp_dec_version(ifpp_dec_t *d, tlv_iter_t *it, uint32_t *version) {
    tlv_t t;
    uint64_t v;
    st_t st;
    if ((st = ifpp_dec_next(d, it, TAG_INTEGER, "version", &t)) != ST_OK)
        return st;
    if (t.len >= 2 && t.value[0] == 0 && !(t.value[1] & 0x80))
        return ifpp_dec_fail(d, ST_E_PARSE, "version", t.raw); /* not DER */
    st = tlv_get_uint(&t, &v);
    if (st == ST_E_TOO_LARGE || (st == ST_OK && v != IFPP_FORMAT_VERSION))
        return ifpp_dec_fail(d, ST_E_VERSION, "version", t.raw); /* a (much) newer file */
    if (st != ST_OK)
        return ifpp_dec_fail(d, st, "version", t.raw);
    *version = (uint32_t)v;
    return ST_OK;
}

st_t ifpp_dec_count(ifpp_dec_t *d, const tlv_t *seq, uint32_t tag, const char *field, size_t min,
                    size_t max, size_t *n) {
    tlv_iter_t it;
    tlv_t t;
    size_t k = 0;
    const uint8_t *at;
    st_t st;

    *n = 0;
    tlv_iter_children(&it, seq);
    for (;;) {
        at = it.p;
        st = tlv_iter_next(&it, &t);
        if (st == ST_E_NOENT)
            break;
        if (st != ST_OK) {
            d->sub = k;
            return ifpp_dec_fail(d, st, field, at);
        }
        if (t.tag != tag || !tlv_der_ok(&t)) {
            d->sub = k;
            return ifpp_dec_fail(d, ST_E_PARSE, field, at);
        }
        if (k == max)
            return ifpp_dec_fail(d, ST_E_TOO_LARGE, field, at);
        k++;
    }
    if (k < min)
        return ifpp_dec_fail(d, ST_E_PARSE, field, seq->raw);
    *n = k;
    return ST_OK;
}

st_t ifpp_dec_uint(ifpp_dec_t *d, const tlv_t *t, const char *field, uint64_t max, uint64_t *v) {
    st_t st;
    /* DER: minimal two's complement (no redundant leading 00) */
    if (t->len >= 2 && t->value[0] == 0 && !(t->value[1] & 0x80))
        return ifpp_dec_fail(d, ST_E_PARSE, field, t->raw);
    st = tlv_get_uint(t, v);
    if (st != ST_OK)
        return ifpp_dec_fail(d, st, field, t->raw);
    if (*v > max)
        return ifpp_dec_fail(d, ST_E_TOO_LARGE, field, t->raw);
    return ST_OK;
}

st_t ifpp_dec_u32(ifpp_dec_t *d, const tlv_t *t, const char *field, uint32_t *v) {
    uint64_t x;
    st_t st = ifpp_dec_uint(d, t, field, UINT32_MAX, &x);
    if (st == ST_OK)
        *v = (uint32_t)x;
    return st;
}

st_t ifpp_dec_fixed(ifpp_dec_t *d, const tlv_t *t, const char *field, void *out, size_t n) {
    if (t->len != n)
        return ifpp_dec_fail(d, ST_E_PARSE, field, t->raw);
    memcpy(out, t->value, n);
    return ST_OK;
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF), no NUL. */
static bool utf8_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            k = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

st_t ifpp_dec_str(ifpp_dec_t *d, const tlv_t *t, const char *field, char *out, size_t cap) {
    if (t->len == 0 || t->len >= cap || !utf8_ok(t->value, t->len))
        return ifpp_dec_fail(d, ST_E_PARSE, field, t->raw);
    memcpy(out, t->value, t->len);
    out[t->len] = '\0';
    return ST_OK;
}

st_t ifpp_dec_time(ifpp_dec_t *d, const tlv_t *t, const char *field, time_t *out) {
    if (ifpp_gentime_to_time(t->value, t->len, out) != ST_OK)
        return ifpp_dec_fail(d, ST_E_PARSE, field, t->raw);
    return ST_OK;
}

bool ifpp_oid_ok(const uint8_t *v, size_t n) {
    char tmp[4 * IFPP_MAX_OID_LEN + 8];
    return v && n >= 1 && n <= IFPP_MAX_OID_LEN && der_oid_to_str(v, n, tmp, sizeof(tmp)) == ST_OK;
}

st_t ifpp_dec_oid(ifpp_dec_t *d, const tlv_t *t, const char *field, uint8_t *out, size_t *len) {
    if (!ifpp_oid_ok(t->value, t->len))
        return ifpp_dec_fail(d, ST_E_PARSE, field, t->raw);
    memcpy(out, t->value, t->len);
    *len = t->len;
    return ST_OK;
}

st_t ifpp_dec_blob(ifpp_dec_t *d, const tlv_t *t, const char *field, size_t max, ifpp_blob_t *out) {
    if (t->raw_len > max)
        return ifpp_dec_fail(d, ST_E_TOO_LARGE, field, t->raw);
    out->p = malloc(t->raw_len);
    if (!out->p)
        return ifpp_dec_fail(d, ST_E_NOMEM, field, t->raw);
    memcpy(out->p, t->raw, t->raw_len);
    out->len = t->raw_len;
    return ST_OK;
}

st_t ifpp_dec_cert(ifpp_dec_t *d, const tlv_t *t, const char *field, ifpp_blob_t *out) {
    if (t->tag != TAG_SEQUENCE || t->len == 0)
        return ifpp_dec_fail(d, ST_E_PARSE, field, t->raw);
    return ifpp_dec_blob(d, t, field, IFPP_MAX_CERT_LEN, out);
}

bool ifpp_otpk_ok(const uint8_t otpk[IFPP_OTPK_LEN]) {
    return otpk[0] == 0x04;
}

st_t ifpp_dec_otk(ifpp_dec_t *d, const tlv_t *t, ifpp_otk_t *k) {
    tlv_iter_t it;
    tlv_t f;
    st_t st;

    tlv_iter_children(&it, t);
    if ((st = ifpp_dec_next(d, &it, TAG_INTEGER, "oneTimeKey.keyIndex", &f)) != ST_OK)
        return st;
    if ((st = ifpp_dec_u32(d, &f, "oneTimeKey.keyIndex", &k->key_index)) != ST_OK)
        return st;
    if ((st = ifpp_dec_next(d, &it, TAG_OTPK, "oneTimeKey.euiccOtpk", &f)) != ST_OK)
        return st;
    if ((st = ifpp_dec_fixed(d, &f, "oneTimeKey.euiccOtpk", k->otpk, IFPP_OTPK_LEN)) != ST_OK)
        return st;
    if (!ifpp_otpk_ok(k->otpk))
        return ifpp_dec_fail(d, ST_E_PARSE, "oneTimeKey.euiccOtpk", f.raw);
    if ((st = ifpp_dec_next(d, &it, TAG_SIG, "oneTimeKey.otpkSignature", &f)) != ST_OK)
        return st;
    if ((st = ifpp_dec_fixed(d, &f, "oneTimeKey.otpkSignature", k->sig, IFPP_SIG_LEN)) != ST_OK)
        return st;
    return ifpp_dec_end(d, &it, "oneTimeKey (after otpkSignature)");
}

void ifpp_blob_free(ifpp_blob_t *b) {
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

/* ---- encoding ---- */

st_t ifpp_enc_fail(st_t st, const char *file, const char *field, size_t entry) {
    if (entry != IFPP_ERR_NONE)
        st_log(ST_LOG_DEBUG, "%s: encode: entry %zu: %s: %s", file, entry, field, st_str(st));
    else
        st_log(ST_LOG_DEBUG, "%s: encode: %s: %s", file, field, st_str(st));
    return st;
}

bool ifpp_str_ok(const char *s, size_t cap, bool optional) {
    size_t n;
    if (!s)
        return false;
    n = strnlen(s, cap);
    if (n == cap)
        return false; /* not terminated inside its array */
    if (n == 0)
        return optional;
    return utf8_ok((const uint8_t *)s, n);
}

st_t ifpp_enc_str(tlv_writer_t *w, uint32_t tag, const char *s, size_t cap, bool optional) {
    if (!ifpp_str_ok(s, cap, optional))
        return ST_E_INVAL;
    if (s[0] == '\0')
        return ST_OK; /* optional and empty: absent */
    return tlv_w_put(w, tag, s, strlen(s));
}

st_t ifpp_enc_time(tlv_writer_t *w, time_t t) {
    char s[IFPP_GENTIME_LEN + 1];
    st_t st = ifpp_time_to_gentime(t, s);
    if (st != ST_OK)
        return st;
    return tlv_w_put_copy(w, TAG_GENTIME, s, IFPP_GENTIME_LEN);
}

bool ifpp_tlv_blob_ok(const ifpp_blob_t *b, uint32_t tag, size_t max) {
    tlv_t t;
    if (!b || !b->p || b->len == 0 || b->len > max)
        return false;
    return tlv_parse_exact(b->p, b->len, &t) == ST_OK && t.tag == tag && tlv_der_ok(&t);
}

bool ifpp_cert_ok(const ifpp_blob_t *b) {
    return ifpp_tlv_blob_ok(b, TAG_SEQUENCE, IFPP_MAX_CERT_LEN) && b->len > 2;
}

st_t ifpp_enc_otk(tlv_writer_t *w, const ifpp_otk_t *k) {
    if (!ifpp_otpk_ok(k->otpk))
        return ST_E_INVAL;
    tlv_w_begin(w, TAG_SEQUENCE);
    tlv_w_uint(w, TAG_INTEGER, k->key_index);
    tlv_w_put(w, TAG_OTPK, k->otpk, IFPP_OTPK_LEN);
    tlv_w_put(w, TAG_SIG, k->sig, IFPP_SIG_LEN);
    return tlv_w_end(w);
}

/* GENS12 / DPFF10: the one-time key signature covers EID, keyIndex and the key itself. */
st_t ifpp_otk_tbs(const uint8_t eid[IFPP_EID_LEN], uint32_t key_index,
                  const uint8_t otpk[IFPP_OTPK_LEN], buf_t *tbs) {
    tlv_writer_t *w = NULL;
    size_t start = tbs->len;
    st_t st;

    if (!eid || !otpk)
        return ST_E_INVAL;
    w = tlv_writer_new();
    if (!w)
        return ST_E_NOMEM;
    tlv_w_put(w, TAG_EID, eid, IFPP_EID_LEN);
    tlv_w_uint(w, TAG_INTEGER, key_index);
    tlv_w_put(w, TAG_OTPK, otpk, IFPP_OTPK_LEN);
    st = tlv_w_finish(w, tbs);
    if (st != ST_OK)
        tbs->len = start;
    tlv_writer_free(w);
    return st;
}

/* ---- GeneralizedTime ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m) {
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

st_t ifpp_time_to_gentime(time_t t, char out[IFPP_GENTIME_LEN + 1]) {
    struct tm tm;
    unsigned v[6];
    static const unsigned widths[6] = {4, 2, 2, 2, 2, 2};
    size_t pos = 0;

    if (t < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
        return ST_E_INVAL;
    v[0] = (unsigned)tm.tm_year + 1900;
    v[1] = (unsigned)tm.tm_mon + 1;
    v[2] = (unsigned)tm.tm_mday;
    v[3] = (unsigned)tm.tm_hour;
    v[4] = (unsigned)tm.tm_min;
    v[5] = (unsigned)tm.tm_sec % 60; /* no leap seconds in time_t anyway */
    for (size_t i = 0; i < 6; i++) {
        for (size_t k = widths[i]; k > 0; k--) {
            out[pos + k - 1] = (char)('0' + v[i] % 10);
            v[i] /= 10;
        }
        pos += widths[i];
    }
    out[pos++] = 'Z';
    out[pos] = '\0';
    return ST_OK;
}

st_t ifpp_gentime_to_time(const uint8_t *s, size_t n, time_t *out) {
    unsigned v[6];
    static const unsigned widths[6] = {4, 2, 2, 2, 2, 2};
    size_t pos = 0;
    int64_t secs;

    if (n != IFPP_GENTIME_LEN || s[IFPP_GENTIME_LEN - 1] != 'Z')
        return ST_E_PARSE;
    for (size_t i = 0; i < 6; i++) {
        v[i] = 0;
        for (size_t k = 0; k < widths[i]; k++, pos++) {
            if (s[pos] < '0' || s[pos] > '9')
                return ST_E_PARSE;
            v[i] = v[i] * 10 + (unsigned)(s[pos] - '0');
        }
    }
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1])
        || v[3] > 23 || v[4] > 59 || v[5] > 59)
        return ST_E_PARSE;
    secs = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
    if (sizeof(time_t) < 8 && secs > INT32_MAX)
        return ST_E_PARSE;
    *out = (time_t)secs;
    return ST_OK;
}
