/*
 * faults.c - parsing and helpers of the simulator's knobs (faults.h).
 */
#include "faults.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

static st_t parse_u64(const char *s, const char *end, uint64_t *v) {
    char tmp[32];
    char *e;
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof(tmp))
        return ST_E_PARSE;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    errno = 0;
    *v = strtoull(tmp, &e, 10);
    if (errno || *e || tmp[0] == '-')
        return ST_E_PARSE;
    return ST_OK;
}

static st_t parse_item(const char *s, const char *end, fault_t *f) {
    static const struct {
        const char *name;
        fault_kind_t kind;
    } names[] = {{"drop", FAULT_DROP},
                 {"corrupt", FAULT_CORRUPT},
                 {"6f00", FAULT_SW_6F00},
                 {"6F00", FAULT_SW_6F00},
                 {"stall", FAULT_STALL}};
    const char *at = memchr(s, '@', (size_t)(end - s)), *colon;
    uint64_t v;
    size_t i;

    if (!at)
        return ST_E_PARSE;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i].name) == (size_t)(at - s) && !memcmp(s, names[i].name, at - s))
            break;
    if (i == sizeof(names) / sizeof(names[0]))
        return ST_E_PARSE;
    memset(f, 0, sizeof(*f));
    f->kind = names[i].kind;
    colon = memchr(at, ':', (size_t)(end - at));
    if ((f->kind == FAULT_STALL) != (colon != NULL))
        return ST_E_PARSE;
    if (parse_u64(at + 1, colon ? colon : end, &f->at) != ST_OK || f->at == 0)
        return ST_E_PARSE;
    if (colon) {
        if (parse_u64(colon + 1, end, &v) != ST_OK || v > 3600000)
            return ST_E_PARSE;
        f->stall_ms = (unsigned)v;
    }
    return ST_OK;
}

st_t faults_parse(const char *spec, card_knobs_t *k) {
    const char *s = spec;
    while (s && *s) {
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        if (end > s) {
            if (k->n_faults >= FAULTS_MAX) {
                st_log(ST_LOG_ERR, "euicc: more than %d faults", FAULTS_MAX);
                return ST_E_TOO_LARGE;
            }
            if (parse_item(s, end, &k->faults[k->n_faults]) != ST_OK) {
                st_log(ST_LOG_ERR,
                       "euicc: bad fault '%.*s' (drop@N, corrupt@N, 6f00@N, "
                       "stall@N:MS)",
                       (int)(end - s), s);
                return ST_E_PARSE;
            }
            k->n_faults++;
        }
        s = *end ? end + 1 : end;
    }
    return ST_OK;
}

const fault_t *faults_find(const card_knobs_t *k, uint64_t n, fault_kind_t kind) {
    for (size_t i = 0; i < k->n_faults; i++)
        if (k->faults[i].at == n && k->faults[i].kind == kind)
            return &k->faults[i];
    return NULL;
}

uint64_t knobs_delay_us(const card_knobs_t *k, size_t bytes) {
    uint64_t us = (uint64_t)k->latency_ms * 1000u;
    if (k->bps)
        us += (uint64_t)bytes * 10u * 1000000u / k->bps; /* 10 bits per byte (start/stop) */
    return us;
}

void faults_corrupt(buf_t *rapdu, size_t start) {
    size_t n = rapdu->len - start;
    if (n < 2)
        return;
    if (n > 2)
        rapdu->data[start + (n - 2) / 2] ^= 0xFF;
    else
        rapdu->data[start + 1] ^= 0x01;
}
