/*
 * log.h - the one logger. Libraries never print: they log here and return a status.
 *
 * The default sink writes "ifpp-station[level]: message" lines to stderr; the station installs
 * its own sink (journald-friendly "<N>" prefixes under systemd, the console's event log in the
 * UI). Thread-safe: one mutex serialises sink calls. APDU hex goes at ST_LOG_TRACE only, and
 * callers must never pass key material or decrypted profile data to it.
 */
#ifndef IFPP_LOG_H
#define IFPP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ST_LOG_ERR = 0,
    ST_LOG_WARN = 1,
    ST_LOG_INFO = 2,
    ST_LOG_DEBUG = 3,
    ST_LOG_TRACE = 4,
} st_log_level_t;

/* A sink receives one formatted message (no trailing newline); `ud` is the registered pointer. */
typedef void (*st_log_sink_fn)(st_log_level_t level, const char *msg, void *ud);

/* Threshold: messages above it are dropped before formatting. Default ST_LOG_WARN. */
void st_log_set_level(st_log_level_t level);
st_log_level_t st_log_get_level(void);
bool st_log_enabled(st_log_level_t level);

/* Parses "err|warn|info|debug|trace"; returns false for anything else. */
bool st_log_level_parse(const char *s, st_log_level_t *out);

/* Installs a sink (NULL restores stderr). `ud` is borrowed until the next call. */
void st_log_set_sink(st_log_sink_fn sink, void *ud);

/* The stderr sink, for sinks that want to chain to it. */
void st_log_stderr_sink(st_log_level_t level, const char *msg, void *ud);

void st_log(st_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void st_logv(st_log_level_t level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* "label: 80E29100..." at `level`, hex truncated after 4 KiB of input with a "...(+N)" tail. */
void st_log_hex(st_log_level_t level, const char *label, const uint8_t *p, size_t n);

#endif
