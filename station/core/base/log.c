#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static st_log_level_t log_level = ST_LOG_WARN;
static st_log_sink_fn log_sink = st_log_stderr_sink;
static void *log_ud;

static const char *const level_names[] = {"err", "warn", "info", "debug", "trace"};

void st_log_set_level(st_log_level_t level) {
    pthread_mutex_lock(&log_mu);
    log_level = level;
    pthread_mutex_unlock(&log_mu);
}

st_log_level_t st_log_get_level(void) {
    st_log_level_t l;
    pthread_mutex_lock(&log_mu);
    l = log_level;
    pthread_mutex_unlock(&log_mu);
    return l;
}

bool st_log_enabled(st_log_level_t level) {
    return level <= st_log_get_level();
}

bool st_log_level_parse(const char *s, st_log_level_t *out) {
    for (size_t i = 0; s && i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (st_log_level_t)i;
            return true;
        }
    }
    return false;
}

void st_log_set_sink(st_log_sink_fn sink, void *ud) {
    pthread_mutex_lock(&log_mu);
    log_sink = sink ? sink : st_log_stderr_sink;
    log_ud = sink ? ud : NULL;
    pthread_mutex_unlock(&log_mu);
}

void st_log_stderr_sink(st_log_level_t level, const char *msg, void *ud) {
    (void)ud;
    const char *name = (unsigned)level < 5 ? level_names[level] : "?";
    fprintf(stderr, "ifpp[%s]: %s\n", name, msg);
}

void st_logv(st_log_level_t level, const char *fmt, va_list ap) {
    char stackbuf[1024];
    char *msg = stackbuf;
    char *heap = NULL;
    va_list ap2;
    int n;

    if (!st_log_enabled(level))
        return;
    va_copy(ap2, ap);
    n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, ap);
    if (n >= (int)sizeof(stackbuf)) {
        heap = malloc((size_t)n + 1);
        if (heap) {
            vsnprintf(heap, (size_t)n + 1, fmt, ap2);
            msg = heap;
        }
    }
    va_end(ap2);
    if (n < 0)
        msg = "(log format error)";

    pthread_mutex_lock(&log_mu);
    log_sink(level, msg, log_ud);
    pthread_mutex_unlock(&log_mu);
    free(heap);
}

void st_log(st_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_logv(level, fmt, ap);
    va_end(ap);
}

void st_log_hex(st_log_level_t level, const char *label, const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789ABCDEF";
    enum { MAX_IN = 4096 };
    size_t shown = n > MAX_IN ? MAX_IN : n;
    char *hex;

    if (!st_log_enabled(level))
        return;
    hex = malloc(shown * 2 + 1);
    if (!hex)
        return;
    for (size_t i = 0; i < shown; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[shown * 2] = '\0';
    if (shown < n)
        st_log(level, "%s: %s...(+%zu)", label, hex, n - shown);
    else
        st_log(level, "%s: %s", label, hex);
    free(hex);
}
