/*
 * config.c - the station configuration file (format in config.h), parsed with libinih.
 *
 * inih hands us key/value pairs but no line numbers (the Debian build has
 * INI_HANDLER_LINENO=0) and never shows us an empty section. So the file is fed through our
 * own line reader: it counts lines (inih calls the handler for a line before it reads the
 * next one, so the count is the handler's line), checks section headers itself, refuses
 * overlong lines instead of letting inih split them, and strips leading whitespace, which
 * also turns off inih's multi-line continuation (an indented "key = value" would otherwise be
 * glued to the previous key's value).
 */
#include "config.h"

#include "monitor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "base/buf.h"
#include "base/log.h"
#include "ifpp_config.h"

#define DEFAULT_ISDR_AID     "A0000005591010FFFFFFFF8900000100"
#define DEFAULT_STATE_DIR    IFPP_LOCALSTATEDIR "/lib/ifpp-station"
#define SLOT_PREFIX          "slot."
#define LABEL_MAX            16
#define CONFIG_READER_ID_MAX 256

typedef struct parse parse_t;

typedef struct {
    const char *section;
    const char *key;
    bool repeatable;
    bool (*set)(parse_t *p, const char *value);
} cfg_key_t;

struct parse {
    config_t *cfg;
    const char *file; /* for messages */
    char *dir;        /* base for relative paths; NULL: the working directory */
    FILE *f;
    int line;
    char *buf;
    size_t cap;
    int *seen; /* per cfg_keys entry: line of the first occurrence, 0 = not yet */
    const char *section, *key, *value; /* of the pair being handled, for messages */
    st_t st;                           /* first error; ST_OK while none */
    char *err;
    size_t err_len;
};

static const char *const sections[] = {"station", "store", "trust",   "smdpf",
                                       "dm",      "card",  "readers", "policy"};

/* ---- errors ---- */

static void p_fail(parse_t *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void p_fail(parse_t *p, int line, const char *fmt, ...) {
    char msg[384];
    va_list ap;

    if (p->st != ST_OK)
        return; /* the first error is the one reported */
    p->st = ST_E_CONFIG;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err && p->err_len) {
        if (line > 0)
            snprintf(p->err, p->err_len, "%s:%d: %s", p->file, line, msg);
        else
            snprintf(p->err, p->err_len, "%s: %s", p->file, msg);
    }
    st_log(ST_LOG_DEBUG, "config: %s:%d: %s", p->file, line, msg);
}

/* A bad value of the key being handled: "[card] block_size = 300: out of range 1..255". */
static bool bad(parse_t *p, const char *why) {
    p_fail(p, p->line, "[%s] %s = %s: %s", p->section, p->key, p->value, why);
    return false;
}

static bool nomem(parse_t *p) {
    if (p->st == ST_OK) {
        p_fail(p, p->line, "out of memory");
        p->st = ST_E_NOMEM;
    }
    return false;
}

/* ---- value parsers ---- */

static bool parse_uint(parse_t *p, const char *v, unsigned long min, unsigned long max,
                       unsigned long *out) {
    char why[64];
    unsigned long n = 0;
    size_t len = strlen(v);

    if (len == 0 || len > 10 || strspn(v, "0123456789") != len)
        return bad(p, "not a decimal number");
    for (const char *c = v; *c; c++)
        n = n * 10 + (unsigned long)(*c - '0');
    if (n < min || n > max) {
        snprintf(why, sizeof(why), "out of range %lu..%lu", min, max);
        return bad(p, why);
    }
    *out = n;
    return true;
}

/* Station and DM ids: they go into file names and reports. */
static bool valid_id(const char *v) {
    size_t n = strlen(v);
    return n >= 1 && n <= CONFIG_ID_MAX
           && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool set_string(parse_t *p, char **dst, const char *v) {
    char *c = strdup(v);
    if (!c)
        return nomem(p);
    free(*dst);
    *dst = c;
    return true;
}

static bool set_id(parse_t *p, char **dst, const char *v) {
    if (!valid_id(v))
        return bad(p, "1..63 characters of A-Z a-z 0-9 . _ - expected");
    return set_string(p, dst, v);
}

/* A path, resolved against the configuration file's directory when relative. */
static bool set_path(parse_t *p, char **dst, const char *v) {
    char *c = NULL;

    if (!*v)
        return bad(p, "empty path");
    if (v[0] == '/' || !p->dir) {
        c = strdup(v);
    } else if (asprintf(&c, "%s/%s", p->dir, v) < 0) {
        c = NULL;
    }
    if (!c)
        return nomem(p);
    free(*dst);
    *dst = c;
    return true;
}

static bool append_string(parse_t *p, char ***arr, size_t *n, char *owned) {
    char **na;
    if (!owned)
        return nomem(p);
    na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (!na) {
        free(owned);
        return nomem(p);
    }
    na[(*n)++] = owned;
    *arr = na;
    return true;
}

/* Dotted-decimal OID: at least two arcs, no leading zeros, first arc 0..2 (X.660). */
static bool valid_oid(const char *v) {
    const char *c = v;
    int arcs = 0;
    unsigned long first = 0;

    while (*c) {
        size_t len = strspn(c, "0123456789");
        if (len == 0 || len > 20 || (len > 1 && c[0] == '0'))
            return false;
        if (arcs == 0)
            first = strtoul(c, NULL, 10);
        arcs++;
        c += len;
        if (*c == '.' && c[1] != '\0')
            c++;
        else if (*c != '\0')
            return false;
    }
    return arcs >= 2 && first <= 2;
}

/* ---- setters, one per key ---- */

static bool k_station_id(parse_t *p, const char *v) {
    return set_id(p, &p->cfg->station.id, v);
}

static bool k_state_dir(parse_t *p, const char *v) {
    return set_path(p, &p->cfg->station.state_dir, v);
}

static bool k_pin_file(parse_t *p, const char *v) {
    return set_path(p, &p->cfg->station.operator_pin_file, v);
}

static bool k_shift_hours(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 1, 24, &n))
        return false;
    p->cfg->station.shift_hours = (int)n;
    return true;
}

static bool k_shift_start(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 0, 23, &n))
        return false;
    p->cfg->station.shift_start = (int)n;
    return true;
}

static bool k_busy_timeout(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 0, 600000, &n))
        return false;
    p->cfg->store.busy_timeout_ms = (int)n;
    return true;
}

static bool k_ci(parse_t *p, const char *v) {
    char *path = NULL;
    if (!set_path(p, &path, v))
        return false;
    return append_string(p, &p->cfg->trust.ci, &p->cfg->trust.n_ci, path);
}

static bool k_allowed(parse_t *p, const char *v) {
    const char *c = v;

    if (!*v)
        return bad(p, "empty list");
    for (;;) {
        size_t len = strcspn(c, ",");
        const char *end = c + len;
        char oid[128];
        bool dup = false;

        while (len && (*c == ' ' || *c == '\t'))
            c++, len--;
        while (len && (c[len - 1] == ' ' || c[len - 1] == '\t'))
            len--;
        if (len == 0)
            return bad(p, "empty element in the OID list");
        if (len >= sizeof(oid))
            return bad(p, "OID too long");
        memcpy(oid, c, len);
        oid[len] = '\0';
        if (!valid_oid(oid)) {
            char why[192];
            snprintf(why, sizeof(why), "'%s' is not a dotted OID (e.g. 2.999.10)", oid);
            return bad(p, why);
        }
        for (size_t i = 0; i < p->cfg->smdpf.n_allowed; i++)
            dup = dup || strcmp(p->cfg->smdpf.allowed[i], oid) == 0;
        if (!dup
            && !append_string(p, &p->cfg->smdpf.allowed, &p->cfg->smdpf.n_allowed, strdup(oid)))
            return false;
        if (*end == '\0')
            return true;
        c = end + 1;
    }
}

static bool k_dm_id(parse_t *p, const char *v) {
    return set_id(p, &p->cfg->dm.id, v);
}

static bool k_dm_key(parse_t *p, const char *v) {
    return set_path(p, &p->cfg->dm.key, v);
}

static bool k_dm_cert(parse_t *p, const char *v) {
    return set_path(p, &p->cfg->dm.cert, v);
}

static bool k_dm_chain(parse_t *p, const char *v) {
    return set_path(p, &p->cfg->dm.chain, v);
}

static bool k_isdr_aid(parse_t *p, const char *v) {
    buf_t b = BUF_INIT;
    bool ok;

    if (hex_decode(v, &b) != ST_OK) {
        buf_free(&b);
        return bad(p, "not hex");
    }
    ok = b.len >= 5 && b.len <= CONFIG_AID_MAX;
    if (ok) {
        memcpy(p->cfg->card.isdr_aid, b.data, b.len);
        p->cfg->card.isdr_aid_len = b.len;
    }
    buf_free(&b);
    return ok ? true : bad(p, "an AID is 5..16 bytes");
}

static bool k_block_size(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 1, 255, &n))
        return false;
    p->cfg->card.block_size = (unsigned)n;
    return true;
}

static bool k_apdu_timeout(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 100, 600000, &n))
        return false;
    p->cfg->card.apdu_timeout_ms = (unsigned)n;
    return true;
}

static bool k_readers_max(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 1, CONFIG_MAX_READERS, &n))
        return false;
    p->cfg->readers.max = (unsigned)n;
    return true;
}

static bool k_unknown_eid(parse_t *p, const char *v) {
    if (strcmp(v, "refuse") == 0)
        p->cfg->policy.unknown_eid = CONFIG_UNKNOWN_EID_REFUSE;
    else if (strcmp(v, "hold") == 0)
        p->cfg->policy.unknown_eid = CONFIG_UNKNOWN_EID_HOLD;
    else
        return bad(p, "refuse or hold expected");
    return true;
}

static bool k_delete_keys(parse_t *p, const char *v) {
    if (strcmp(v, "manual") == 0)
        p->cfg->policy.delete_keys = CONFIG_DELETE_KEYS_MANUAL;
    else if (strcmp(v, "after-load") == 0)
        p->cfg->policy.delete_keys = CONFIG_DELETE_KEYS_AFTER_LOAD;
    else
        return bad(p, "manual or after-load expected");
    return true;
}

static bool k_max_retries(parse_t *p, const char *v) {
    unsigned long n;
    if (!parse_uint(p, v, 0, 100, &n))
        return false;
    p->cfg->policy.max_retries = (unsigned)n;
    return true;
}

static const cfg_key_t cfg_keys[] = {
    {"station", "id", false, k_station_id},
    {"station", "state_dir", false, k_state_dir},
    {"station", "operator_pin_file", false, k_pin_file},
    {"station", "shift_hours", false, k_shift_hours},
    {"station", "shift_start", false, k_shift_start},
    {"store", "busy_timeout_ms", false, k_busy_timeout},
    {"trust", "ci", true, k_ci},
    {"smdpf", "allowed", true, k_allowed},
    {"dm", "id", false, k_dm_id},
    {"dm", "key", false, k_dm_key},
    {"dm", "cert", false, k_dm_cert},
    {"dm", "chain", false, k_dm_chain},
    {"card", "isdr_aid", false, k_isdr_aid},
    {"card", "block_size", false, k_block_size},
    {"card", "apdu_timeout_ms", false, k_apdu_timeout},
    {"readers", "max", false, k_readers_max},
    {"policy", "unknown_eid", false, k_unknown_eid},
    {"policy", "delete_keys", false, k_delete_keys},
    {"policy", "max_retries", false, k_max_retries},
};
#define N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* [readers] slot.<label> = <reader> */
static bool k_slot(parse_t *p, const char *label, const char *v) {
    config_slot_t *ns;
    size_t n = strlen(label);
    char *l = NULL, *r = NULL;

    if (n == 0 || n > LABEL_MAX
        || strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
        return bad(p, "slot label: 1..16 characters of A-Z a-z 0-9 _ - expected");
    if (!*v)
        return bad(p, "empty reader name");
    for (size_t i = 0; i < p->cfg->readers.n_slots; i++) {
        if (strcmp(p->cfg->readers.slots[i].label, label) == 0)
            return bad(p, "slot label given twice");
        if (strcmp(p->cfg->readers.slots[i].reader, v) == 0)
            return bad(p, "reader already mapped to another slot");
    }
    l = strdup(label);
    r = strdup(v);
    ns = (l && r) ? realloc(p->cfg->readers.slots, (p->cfg->readers.n_slots + 1) * sizeof(*ns))
                  : NULL;
    if (!ns) {
        free(l);
        free(r);
        return nomem(p);
    }
    ns[p->cfg->readers.n_slots].label = l;
    ns[p->cfg->readers.n_slots].reader = r;
    p->cfg->readers.slots = ns;
    p->cfg->readers.n_slots++;
    return true;
}

/* ---- inih glue ---- */

static bool known_section(const char *name) {
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
        if (strcmp(name, sections[i]) == 0)
            return true;
    return false;
}

static int on_pair(void *user, const char *section, const char *name, const char *value) {
    parse_t *p = user;

    if (p->st != ST_OK)
        return 1; /* keep only the first error; inih goes on to the end */
    p->section = section;
    p->key = name;
    p->value = value;
    if (!*section) {
        p_fail(p, p->line, "'%s' outside any section", name);
        return 1;
    }
    if (strcmp(section, "readers") == 0 && strncmp(name, SLOT_PREFIX, strlen(SLOT_PREFIX)) == 0) {
        (void)k_slot(p, name + strlen(SLOT_PREFIX), value);
        return 1;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(cfg_keys[i].section, section) != 0 || strcmp(cfg_keys[i].key, name) != 0)
            continue;
        if (p->seen[i] && !cfg_keys[i].repeatable) {
            p_fail(p, p->line, "[%s] %s given twice (first at line %d)", section, name, p->seen[i]);
            return 1;
        }
        if (!p->seen[i])
            p->seen[i] = p->line;
        (void)cfg_keys[i].set(p, value);
        return 1;
    }
    p_fail(p, p->line, "unknown key '%s' in section [%s]", name, section);
    return 1;
}

/* fgets-shaped reader for ini_parse_stream (see the comment at the top). */
static char *read_line(char *str, int num, void *stream) {
    parse_t *p = stream;
    ssize_t n = getline(&p->buf, &p->cap, p->f);
    const char *c;
    ssize_t content;

    if (n < 0)
        return NULL;
    p->line++;
    c = p->buf;
    content = n - (n > 0 && p->buf[n - 1] == '\n');
    if ((size_t)n != strlen(p->buf)) {
        p_fail(p, p->line, "NUL byte in the line");
        c = "\n";
    } else if (content > num - 2) {
        p_fail(p, p->line, "line longer than %d characters", num - 2);
        c = "\n";
    }
    c += strspn(c, " \t");
    if (*c == '[') {
        const char *end = strchr(c, ']');
        if (end) {
            char name[64];
            size_t len = (size_t)(end - c - 1);
            snprintf(name, sizeof(name), "%.*s", (int)len, c + 1);
            if (len >= sizeof(name) || !known_section(name))
                p_fail(p, p->line, "unknown section [%s]", name);
        }
    }
    snprintf(str, (size_t)num, "%s", c);
    return str;
}

/* ---- defaults, load, free ---- */

static st_t set_defaults(config_t *cfg) {
    char host[256] = "";

    if (gethostname(host, sizeof(host) - 1) != 0 || !valid_id(host))
        snprintf(host, sizeof(host), "ifpp-station");
    cfg->store.busy_timeout_ms = 5000;
    cfg->station.shift_hours = 8;
    cfg->station.shift_start = 6;
    cfg->card.block_size = 120;
    cfg->card.apdu_timeout_ms = 30000;
    cfg->readers.max = CONFIG_MAX_READERS;
    cfg->policy.unknown_eid = CONFIG_UNKNOWN_EID_REFUSE;
    cfg->policy.delete_keys = CONFIG_DELETE_KEYS_MANUAL;
    cfg->policy.max_retries = 3;
    cfg->card.isdr_aid_len = sizeof(cfg->card.isdr_aid);
    if (hex_decode_exact(DEFAULT_ISDR_AID, cfg->card.isdr_aid, cfg->card.isdr_aid_len) != ST_OK)
        return ST_E_INTERNAL;
    cfg->station.id = strdup(host);
    cfg->station.state_dir = strdup(DEFAULT_STATE_DIR);
    if (!cfg->station.id || !cfg->station.state_dir)
        return ST_E_NOMEM;
    return ST_OK;
}

/* Checks that involve several keys; defaults that depend on other keys. */
static void finish(parse_t *p) {
    config_t *cfg = p->cfg;

    if (cfg->readers.n_slots > cfg->readers.max)
        p_fail(p, 0, "[readers] %zu slots configured but max = %u", cfg->readers.n_slots,
               cfg->readers.max);
    else if (!cfg->dm.key != !cfg->dm.cert)
        p_fail(p, 0, "[dm] key and cert go together (only %s is given)",
               cfg->dm.key ? "key" : "cert");
    else if (cfg->dm.chain && !cfg->dm.cert)
        p_fail(p, 0, "[dm] chain without cert");
    if (p->st == ST_OK && !cfg->dm.id && !(cfg->dm.id = strdup(cfg->station.id)))
        p->st = ST_E_NOMEM;
}

void config_free(config_t *cfg) {
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->station.id);
    free(cfg->station.state_dir);
    free(cfg->station.operator_pin_file);
    for (size_t i = 0; i < cfg->trust.n_ci; i++)
        free(cfg->trust.ci[i]);
    free(cfg->trust.ci);
    for (size_t i = 0; i < cfg->smdpf.n_allowed; i++)
        free(cfg->smdpf.allowed[i]);
    free(cfg->smdpf.allowed);
    free(cfg->dm.id);
    free(cfg->dm.key);
    free(cfg->dm.cert);
    free(cfg->dm.chain);
    for (size_t i = 0; i < cfg->readers.n_slots; i++) {
        free(cfg->readers.slots[i].label);
        free(cfg->readers.slots[i].reader);
    }
    free(cfg->readers.slots);
    free(cfg);
}

st_t config_load(const char *path, config_t **out, char *err, size_t err_len) {
    parse_t p;
    config_t *cfg = NULL;
    int rc;
    st_t st;

    memset(&p, 0, sizeof(p));
    if (err && err_len)
        err[0] = '\0';
    if (!out)
        return ST_E_INVAL;
    *out = NULL;
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return ST_E_NOMEM;
    st = set_defaults(cfg);
    if (st != ST_OK || !path)
        goto out;

    p.cfg = cfg;
    p.file = path;
    p.err = err;
    p.err_len = err_len;
    p.seen = calloc(N_KEYS, sizeof(*p.seen));
    cfg->path = strdup(path);
    if (!p.seen || !cfg->path) {
        st = ST_E_NOMEM;
        goto out;
    }
    if (strchr(path, '/')) {
        p.dir = strdup(path);
        if (!p.dir) {
            st = ST_E_NOMEM;
            goto out;
        }
        *strrchr(p.dir, '/') = '\0';
        if (!*p.dir) /* "/station.conf" */
            snprintf(p.dir, 2, "/");
    }
    p.f = fopen(path, "re");
    if (!p.f) {
        int e = errno;
        st = st_from_errno(e);
        if (st != ST_E_NOENT && st != ST_E_PERM)
            st = ST_E_IO;
        if (err && err_len)
            snprintf(err, err_len, "%s: cannot open: %s", path, strerror(e));
        goto out;
    }
    rc = ini_parse_stream(read_line, &p, on_pair, &p);
    if (rc > 0 && p.st == ST_OK) /* inih's own syntax error (no '=', no ']') */
        p_fail(&p, rc, "syntax error: 'key = value' or '[section]' expected");
    else if (rc < 0 && p.st == ST_OK)
        p_fail(&p, 0, "cannot parse (%s)", rc == -2 ? "out of memory" : "read error");
    if (p.st == ST_OK && ferror(p.f))
        p_fail(&p, 0, "read error");
    if (p.st == ST_OK)
        finish(&p);
    st = p.st;
out:
    if (p.f)
        fclose(p.f);
    free(p.buf);
    free(p.dir);
    free(p.seen);
    if (st != ST_OK) {
        if (st == ST_E_NOMEM && err && err_len && !err[0])
            snprintf(err, err_len, "%s: out of memory", path ? path : "configuration");
        config_free(cfg);
        return st;
    }
    *out = cfg;
    return ST_OK;
}

bool config_smdpf_allowed(const config_t *cfg, const char *oid) {
    if (!cfg || !oid)
        return false;
    for (size_t i = 0; i < cfg->smdpf.n_allowed; i++)
        if (strcmp(cfg->smdpf.allowed[i], oid) == 0)
            return true;
    return false;
}

/* Length of a PC/SC reader name without its trailing " DD SS" (two 2-hex-digit fields). */
/* Length of `name` without a trailing pcsc-lite " DD SS" suffix (n when there is none). */
static size_t strip_slot_suffix(const char *name) {
    size_t n = strlen(name);
    const char *t;

    if (n <= 6)
        return n;
    t = name + n - 6;
    if (t[0] == ' ' && t[3] == ' ' && strspn(t + 1, "0123456789abcdefABCDEF") >= 2
        && strspn(t + 4, "0123456789abcdefABCDEF") == 2)
        return n - 6;
    return n;
}

/*
 * Which configured slot a reader is. A configured name matches when:
 *  - it is "(serial)" and that text is in the reader name; or
 *  - it and the reader have the same identity by the monitor's rule (pcsc/monitor.h: the
 *    " DD SS" suffix minus the plug-order index DD, so "Virtual PCD 00 01" and "Virtual PCD
 *    03 01" are one fixture slot and "Virtual PCD 00 00" another), given with the suffix or
 *    as the identity itself ("Virtual PCD 01"); or
 *  - it equals the reader name without " DD SS" (single-slot readers), also when it looks
 *    like it carries a suffix of its own: "Reader 4A 69" is the name of reader "Reader 4A 69
 *    00 00", whatever the identity rule makes of it (found by fuzz-config).
 * The first configured slot that matches wins.
 */
const char *config_slot_label(const config_t *cfg, const char *reader_name) {
    char id[CONFIG_READER_ID_MAX], want_id[CONFIG_READER_ID_MAX];
    size_t n;

    if (!cfg || !reader_name)
        return NULL;
    monitor_reader_id(reader_name, id, sizeof(id));
    n = strip_slot_suffix(reader_name);
    for (size_t i = 0; i < cfg->readers.n_slots; i++) {
        const char *want = cfg->readers.slots[i].reader;
        size_t wl = strlen(want);
        if (want[0] == '(') {
            if (strstr(reader_name, want))
                return cfg->readers.slots[i].label;
            continue;
        }
        monitor_reader_id(want, want_id, sizeof(want_id));
        if (strcmp(id, want_id) == 0 || strcmp(id, want) == 0
            || (wl == n && memcmp(reader_name, want, n) == 0))
            return cfg->readers.slots[i].label;
    }
    return NULL;
}
