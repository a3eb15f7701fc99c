/*
 * status.h - the one status enum of ifpp-station.
 *
 * Every function that can fail returns st_t. Card status words and eUICC result codes are
 * *data* (they travel in out-parameters), never a st_t. Each foreign error space is mapped in
 * exactly one place: OpenSSL here (st_from_openssl), errno here (st_from_errno), SQLite in
 * store/ (st_from_sqlite), PC/SC in pcsc/ (st_from_pcsc).
 */
#ifndef IFPP_STATUS_H
#define IFPP_STATUS_H

/* X-macro: name, message. Append new codes at the end of a group; never reuse a name. */
#define ST_STATUS_LIST(X)                                                                          \
    X(ST_OK, "ok")                                                                                 \
    X(ST_E_NOMEM, "out of memory")                                                                 \
    X(ST_E_INVAL, "invalid argument")                                                              \
    X(ST_E_IO, "input/output error")                                                               \
    X(ST_E_NOENT, "not found")                                                                     \
    X(ST_E_EXISTS, "already exists")                                                               \
    X(ST_E_PERM, "permission denied")                                                              \
    X(ST_E_NOSPACE, "no space left on device")                                                     \
    X(ST_E_PARSE, "malformed data")                                                                \
    X(ST_E_TRUNCATED, "truncated data")                                                            \
    X(ST_E_TRAILING, "trailing data after the end of the structure")                               \
    X(ST_E_TOO_LARGE, "data too large")                                                            \
    X(ST_E_UNSUPPORTED, "unsupported")                                                             \
    X(ST_E_VERSION, "unsupported format version")                                                  \
    X(ST_E_CRYPTO, "cryptographic operation failed")                                               \
    X(ST_E_BAD_SIGNATURE, "signature does not verify")                                             \
    X(ST_E_BAD_MAC, "MAC does not verify")                                                         \
    X(ST_E_CERT, "certificate chain does not verify")                                              \
    X(ST_E_UNTRUSTED, "signer not trusted")                                                        \
    X(ST_E_NOT_ALLOWED, "signer not allowed")                                                      \
    X(ST_E_PROTO, "protocol error")                                                                \
    X(ST_E_CARD_SW, "card returned an error status word")                                          \
    X(ST_E_CARD_REMOVED, "card removed")                                                           \
    X(ST_E_CARD_RESET, "card was reset")                                                           \
    X(ST_E_CARD_MUTE, "card does not answer")                                                      \
    X(ST_E_NO_CARD, "no card in the reader")                                                       \
    X(ST_E_NO_READER, "reader not found")                                                          \
    X(ST_E_READER_LIMIT, "too many readers for one pcscd (16 at most)")                            \
    X(ST_E_NO_SERVICE, "PC/SC service not available")                                              \
    X(ST_E_SHARING, "reader in use by another process")                                            \
    X(ST_E_TIMEOUT, "timed out")                                                                   \
    X(ST_E_CANCELLED, "cancelled")                                                                 \
    X(ST_E_INTERRUPTED, "interrupted")                                                             \
    X(ST_E_DB, "database error")                                                                   \
    X(ST_E_DB_BUSY, "database busy")                                                               \
    X(ST_E_DB_VERSION, "database was written by a newer station")                                  \
    X(ST_E_DB_CORRUPT, "database is corrupt")                                                      \
    X(ST_E_CONFIG, "configuration error")                                                          \
    X(ST_E_STATE, "operation not allowed in this state")                                           \
    X(ST_E_CONFLICT, "conflicts with data already present")                                        \
    X(ST_E_LOCKED, "locked by another process")                                                    \
    X(ST_E_INTERNAL, "internal error")

typedef enum {
#define ST_X_ENUM(name, msg) name,
    ST_STATUS_LIST(ST_X_ENUM)
#undef ST_X_ENUM
        ST__COUNT
} st_t;

/* Human-readable message for a status; never NULL, static storage. */
const char *st_str(st_t st);

/* Symbolic name ("ST_E_PARSE"); never NULL, static storage. */
const char *st_name(st_t st);

/*
 * Drains the OpenSSL error queue of this thread into the log (debug level, prefixed by `what`)
 * and returns ST_E_CRYPTO, or ST_E_NOMEM when the first queued reason is a malloc failure.
 * Call it right after an OpenSSL call reported failure (remember OpenSSL's 1 = success).
 */
st_t st_from_openssl(const char *what);

/* Maps an errno value: ENOENT -> ST_E_NOENT, ENOSPC/EDQUOT -> ST_E_NOSPACE, ... */
st_t st_from_errno(int err);

#endif
