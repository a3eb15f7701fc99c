#include "status.h"

#include <errno.h>
#include <openssl/err.h>

#include "log.h"

static const char *const st_messages[] = {
#define ST_X_MSG(name, msg) msg,
    ST_STATUS_LIST(ST_X_MSG)
#undef ST_X_MSG
};

static const char *const st_names[] = {
#define ST_X_NAME(name, msg) #name,
    ST_STATUS_LIST(ST_X_NAME)
#undef ST_X_NAME
};

const char *st_str(st_t st) {
    if ((unsigned)st >= ST__COUNT)
        return "unknown status";
    return st_messages[st];
}

const char *st_name(st_t st) {
    if ((unsigned)st >= ST__COUNT)
        return "ST_UNKNOWN";
    return st_names[st];
}

st_t st_from_openssl(const char *what) {
    st_t st = ST_E_CRYPTO;
    unsigned long e;
    const char *file = NULL, *func = NULL, *data = NULL;
    int line = 0, flags = 0;
    int first = 1;

    while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        if (first && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
            st = ST_E_NOMEM;
        first = 0;
        st_log(ST_LOG_DEBUG, "openssl: %s: %s%s%s", what ? what : "?", buf,
               (data && (flags & ERR_TXT_STRING)) ? ": " : "",
               (data && (flags & ERR_TXT_STRING)) ? data : "");
    }
    return st;
}

st_t st_from_errno(int err) {
    switch (err) {
    case 0:
        return ST_OK;
    case ENOMEM:
        return ST_E_NOMEM;
    case ENOENT:
    case ENOTDIR:
        return ST_E_NOENT;
    case EEXIST:
        return ST_E_EXISTS;
    case EACCES:
    case EPERM:
    case EROFS:
        return ST_E_PERM;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return ST_E_NOSPACE;
    case EINVAL:
        return ST_E_INVAL;
    case ELOOP:
        return ST_E_PERM; /* a symlink where none may be (O_NOFOLLOW) */
    case ETIMEDOUT:
        return ST_E_TIMEOUT;
    case EINTR:
        return ST_E_INTERRUPTED;
    case EWOULDBLOCK:
        return ST_E_LOCKED;
    default:
        return ST_E_IO;
    }
}
