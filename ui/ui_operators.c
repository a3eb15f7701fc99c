/*
 * ui_operators.c - console operators and their PINs, stored hashed in the operators file
 * ([station] operator_pin_file):
 *
 *   # ifpp-station operators
 *   ID ROLE pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX
 *
 * PBKDF2-HMAC-SHA256 (OpenSSL), a random 16-byte salt per operator and a per-operator
 * iteration count (so it can be raised without invalidating older entries). The comparison is
 * constant-time, and an unknown id costs the same PBKDF2 work as a known one, so neither
 * timing nor the answer tells which ids exist. The file is written atomically with mode 0600
 * and refused when group- or world-writable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/buf.h"
#include "base/log.h"
#include "ui.h"

#define SCHEME    "pbkdf2-sha256"
#define MAX_ITER  10000000u /* a bad file must not freeze the console */
#define LINE_MAX_ 512

const char *ui_role_name(ui_role_t r) {
    switch (r) {
    case UI_ROLE_OPERATOR:
        return "operator";
    case UI_ROLE_SUPERVISOR:
        return "supervisor";
    default:
        return "-";
    }
}

bool ui_role_parse(const char *s, ui_role_t *out) {
    if (!s)
        return false;
    if (!strcmp(s, "operator"))
        *out = UI_ROLE_OPERATOR;
    else if (!strcmp(s, "supervisor"))
        *out = UI_ROLE_SUPERVISOR;
    else
        return false;
    return true;
}

bool ui_operator_id_valid(const char *id) {
    size_t n = id ? strlen(id) : 0;

    if (n == 0 || n > UI_OP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
              || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool pin_valid(const char *pin) {
    size_t n = pin ? strlen(pin) : 0;

    if (n < UI_PIN_MIN || n > UI_PIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)pin[i] <= ' ' || (unsigned char)pin[i] >= 0x7f)
            return false;
    return true;
}

st_t ui_pin_hash(const char *pin, const uint8_t *salt, size_t salt_len, uint32_t iter,
                 uint8_t out[UI_PIN_HASH_LEN]) {
    if (!pin || !salt || iter < 1 || iter > MAX_ITER || salt_len > INT32_MAX)
        return ST_E_INVAL;
    if (PKCS5_PBKDF2_HMAC(pin, (int)strlen(pin), salt, (int)salt_len, (int)iter, EVP_sha256(),
                          UI_PIN_HASH_LEN, out)
        != 1)
        return st_from_openssl("PBKDF2");
    return ST_OK;
}

void ui_operators_free(ui_operators_t *ops) {
    if (!ops)
        return;
    if (ops->v)
        mem_wipe(ops->v, ops->n * sizeof(ops->v[0]));
    free(ops->v);
    ops->v = NULL;
    ops->n = 0;
}

static ui_operator_t *find(const ui_operators_t *ops, const char *id) {
    for (size_t i = 0; i < ops->n; i++)
        if (!strcmp(ops->v[i].id, id))
            return &ops->v[i];
    return NULL;
}

/* "pbkdf2-sha256$ITER$SALT$HASH" -> o. */
static bool parse_secret(char *s, ui_operator_t *o) {
    char *save = NULL, *scheme, *iter, *salt, *hash, *end;
    unsigned long long it;

    scheme = strtok_r(s, "$", &save);
    iter = strtok_r(NULL, "$", &save);
    salt = strtok_r(NULL, "$", &save);
    hash = strtok_r(NULL, "$", &save);
    if (!scheme || !iter || !salt || !hash || strtok_r(NULL, "$", &save))
        return false;
    if (strcmp(scheme, SCHEME) != 0)
        return false;
    errno = 0;
    it = strtoull(iter, &end, 10);
    if (errno || *end || it < 1 || it > MAX_ITER)
        return false;
    o->iter = (uint32_t)it;
    return hex_decode_exact(salt, o->salt, UI_PIN_SALT_LEN) == ST_OK
           && hex_decode_exact(hash, o->hash, UI_PIN_HASH_LEN) == ST_OK;
}

st_t ui_operators_load(const char *path, ui_operators_t *out, char *err, size_t err_len) {
    FILE *f = NULL;
    char line[LINE_MAX_];
    struct stat sb;
    unsigned lineno = 0;
    ui_operators_t ops = {NULL, 0};
    st_t st = ST_OK;

    if (err && err_len)
        err[0] = '\0';
    ui_operators_free(out);
    if (!(f = fopen(path, "re"))) {
        st = st_from_errno(errno);
        if (err)
            snprintf(err, err_len, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ST_E_INVAL;
        if (err)
            snprintf(err, err_len, "%s: not a regular file", path);
        goto out;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        st = ST_E_PERM;
        if (err)
            snprintf(err, err_len, "%s: writable by others (chmod 600)", path);
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *id, *role, *secret, *p;
        ui_operator_t o;

        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            st = ST_E_CONFIG;
            if (err)
                snprintf(err, err_len, "%s:%u: line too long", path, lineno);
            goto out;
        }
        for (p = line; *p == ' ' || *p == '\t'; p++)
            ;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        memset(&o, 0, sizeof(o));
        id = strtok_r(p, " \t\r\n", &save);
        role = strtok_r(NULL, " \t\r\n", &save);
        secret = strtok_r(NULL, " \t\r\n", &save);
        if (!id || !role || !secret || strtok_r(NULL, " \t\r\n", &save)) {
            st = ST_E_CONFIG;
            if (err)
                snprintf(err, err_len, "%s:%u: expected \"ID ROLE " SCHEME "$ITER$SALT$HASH\"",
                         path, lineno);
            goto out;
        }
        if (!ui_operator_id_valid(id) || find(&ops, id)) {
            st = ST_E_CONFIG;
            if (err)
                snprintf(err, err_len, "%s:%u: bad or repeated operator id", path, lineno);
            goto out;
        }
        if (!ui_role_parse(role, &o.role)) {
            st = ST_E_CONFIG;
            if (err)
                snprintf(err, err_len, "%s:%u: role must be operator or supervisor", path, lineno);
            goto out;
        }
        if (!parse_secret(secret, &o)) {
            st = ST_E_CONFIG;
            if (err)
                snprintf(err, err_len, "%s:%u: bad PIN hash", path, lineno);
            goto out;
        }
        snprintf(o.id, sizeof(o.id), "%s", id);
        ui_operator_t *nv = realloc(ops.v, (ops.n + 1) * sizeof(*nv));
        if (!nv) {
            st = ST_E_NOMEM;
            goto out;
        }
        ops.v = nv;
        ops.v[ops.n++] = o;
        mem_wipe(&o, sizeof(o));
    }
    if (ferror(f)) {
        st = ST_E_IO;
        if (err)
            snprintf(err, err_len, "%s: read error", path);
    }
out:
    mem_wipe(line, sizeof(line));
    if (f)
        fclose(f);
    if (st == ST_OK)
        *out = ops;
    else
        ui_operators_free(&ops);
    return st;
}

st_t ui_operators_save(const char *path, const ui_operators_t *ops) {
    buf_t b = BUF_INIT;
    char line[LINE_MAX_];
    char salt[2 * UI_PIN_SALT_LEN + 1], hash[2 * UI_PIN_HASH_LEN + 1];
    st_t st;

    static const char head[] = "# ifpp-station operators: ID ROLE " SCHEME "$ITER$SALT$HASH\n"
                               "# written by `ifpp-station operator`; do not edit by hand\n";
    st = buf_append(&b, head, sizeof(head) - 1);
    for (size_t i = 0; st == ST_OK && i < ops->n; i++) {
        const ui_operator_t *o = &ops->v[i];
        hex_encode(o->salt, UI_PIN_SALT_LEN, salt);
        hex_encode(o->hash, UI_PIN_HASH_LEN, hash);
        int n = snprintf(line, sizeof(line), "%s %s " SCHEME "$%" PRIu32 "$%s$%s\n", o->id,
                         ui_role_name(o->role), o->iter, salt, hash);
        st = n > 0 && (size_t)n < sizeof(line) ? buf_append(&b, line, (size_t)n) : ST_E_INTERNAL;
    }
    if (st == ST_OK)
        st = buf_write_file_atomic(path, b.data, b.len, 0600);
    buf_wipe_free(&b);
    mem_wipe(line, sizeof(line));
    return st;
}

st_t ui_operators_set(ui_operators_t *ops, const char *id, ui_role_t role, const char *pin,
                      uint32_t iter) {
    ui_operator_t o, *slot;
    st_t st;

    if (!ui_operator_id_valid(id) || !pin_valid(pin) || iter < UI_PIN_MIN_ITER || iter > MAX_ITER
        || (role != UI_ROLE_OPERATOR && role != UI_ROLE_SUPERVISOR))
        return ST_E_INVAL;
    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "%s", id);
    o.role = role;
    o.iter = iter;
    if (RAND_bytes(o.salt, UI_PIN_SALT_LEN) != 1)
        return st_from_openssl("RAND_bytes");
    if ((st = ui_pin_hash(pin, o.salt, UI_PIN_SALT_LEN, iter, o.hash)) != ST_OK)
        goto out;
    if (!(slot = find(ops, id))) {
        ui_operator_t *nv = realloc(ops->v, (ops->n + 1) * sizeof(*nv));
        if (!nv) {
            st = ST_E_NOMEM;
            goto out;
        }
        ops->v = nv;
        slot = &ops->v[ops->n++];
    }
    *slot = o;
out:
    mem_wipe(&o, sizeof(o));
    return st;
}

st_t ui_operators_remove(ui_operators_t *ops, const char *id) {
    ui_operator_t *o = find(ops, id);

    if (!o)
        return ST_E_NOENT;
    size_t i = (size_t)(o - ops->v);
    memmove(&ops->v[i], &ops->v[i + 1], (ops->n - i - 1) * sizeof(ops->v[0]));
    ops->n--;
    mem_wipe(&ops->v[ops->n], sizeof(ops->v[0]));
    return ST_OK;
}

st_t ui_operators_check(const ui_operators_t *ops, const char *id, const char *pin,
                        ui_role_t *role) {
    /* an unknown id runs the same PBKDF2 against a dummy entry */
    static const ui_operator_t dummy = {"", UI_ROLE_NONE, UI_PIN_DEFAULT_ITER, {0}, {0}};
    const ui_operator_t *o = id ? find(ops, id) : NULL;
    uint8_t h[UI_PIN_HASH_LEN];
    bool ok;

    *role = UI_ROLE_NONE;
    if (!o)
        o = &dummy;
    if (ui_pin_hash(pin ? pin : "", o->salt, UI_PIN_SALT_LEN, o->iter, h) != ST_OK)
        return ST_E_PERM;
    ok = mem_ct_cmp(h, o->hash, UI_PIN_HASH_LEN) == 0 && o != &dummy && pin && pin_valid(pin);
    mem_wipe(h, sizeof(h));
    if (!ok)
        return ST_E_PERM;
    *role = o->role;
    return ST_OK;
}
