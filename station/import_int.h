/*
 * import_int.h - what the import engine's files share (import.c: paths, directory scan, report;
 * import_edata.c: .ifppe; import_bundle.c: .ifppb streaming). Not for other modules.
 */
#ifndef IFPP_IMPORT_INT_H
#define IFPP_IMPORT_INT_H

#include <stdarg.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "import.h"

#define IMPORT_DEFAULT_ACTOR "import"

/*
 * Marks f refused: status st, entry (IMPORT_NO_ENTRY when not in an entry), eid (NULL when
 * unknown) and the reason (printf format). Returns st (ST_E_INTERNAL if st is ST_OK).
 */
st_t imp_refuse(import_file_t *f, st_t st, size_t entry, const uint8_t *eid, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Calls the progress callback, if any. */
void imp_progress(const import_opts_t *o, const import_file_t *f, uint64_t bytes_done,
                  uint64_t bytes_total, uint64_t entries_done, uint64_t entries_total, bool done);

/* The audit actor of the run. */
const char *imp_actor(const import_opts_t *o);

/* Short text of the file name for the store (bundle.file_name): the last path component,
 * cut to fit STORE_TEXT_MAX. */
void imp_store_name(const char *display, char out[STORE_TEXT_MAX]);

/*
 * Imports one .ifppe read from fd (a regular file opened by the caller; not closed here).
 * Fills f (outcome, counts, or the refusal). Returns f->st.
 */
st_t import_edata_fd(const import_opts_t *o, int fd, import_file_t *f);

/*
 * Imports one .ifppb read from fd with its detached signature read from p7s_fd (both regular
 * files opened by the caller; not closed here). Fills f. Returns f->st.
 */
st_t import_bundle_fd(const import_opts_t *o, int fd, int p7s_fd, import_file_t *f);

/*
 * smdpSign verifications on a second thread (import_verify.c). pub is borrowed and used by the
 * worker only. submit copies the job (waits while the ring is full); drain waits for every job
 * and returns ST_OK or the status of the lowest failing entry (with its entry, EID, key);
 * failed() tells without waiting whether a job failed. stop joins and frees (NULL-tolerant).
 */
typedef struct imp_verifier imp_verifier_t;
st_t imp_verifier_start(EVP_PKEY *pub, imp_verifier_t **out);
st_t imp_verifier_submit(imp_verifier_t *v, size_t entry, const uint8_t eid[STORE_EID_LEN],
                         uint32_t key_index, const buf_t *tbs, const uint8_t *sig, size_t sig_len);
bool imp_verifier_failed(imp_verifier_t *v);
st_t imp_verifier_drain(imp_verifier_t *v, size_t *entry, uint8_t eid[STORE_EID_LEN],
                        uint32_t *key_index);
void imp_verifier_stop(imp_verifier_t *v);

#endif
