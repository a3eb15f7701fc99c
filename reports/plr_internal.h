/*
 * plr_internal.h - what the reports/ sources share, and the test hooks (not a public API:
 * only the reports sources and tests/unit/test_plr.c include it).
 */
#ifndef IFPP_PLR_INTERNAL_H
#define IFPP_PLR_INTERNAL_H

#include "plr.h"

struct plr_signer {
    EVP_PKEY *key;
    X509 *cert;
    STACK_OF(X509) * chain; /* what the SignedData carries besides cert: no self-signed one */
    cert_trust_t *trust;    /* the configured chain (or the cert) as anchors: the self-check */
    char dm_id[PLR_ID_MAX];
    char station_id[PLR_ID_MAX];
};

/* A signed report as head ‖ body ‖ tail: the CMS DER around the report DER (body, borrowed). */
typedef struct {
    buf_t head;
    const uint8_t *body;
    size_t body_len;
    buf_t tail;
} plr_signed_t;

/* Signs content (CMS SignedData, attached; plr_cms.c) and checks the signature. out->body
 * borrows content. Free with plr_signed_free. */
st_t plr_cms_sign(const plr_signer_t *sg, const uint8_t *content, size_t len, plr_signed_t *out);
void plr_signed_free(plr_signed_t *p);

/* plr_build() without concatenating: *der receives the report DER (caller frees it) and *sig
 * the CMS around it (sig->body points into *der). */
st_t plr_build_signed(store_t *s, const plr_signer_t *sg, const store_report_t *rep, buf_t *der,
                      plr_signed_t *sig, plr_counts_t *counts);

/* Where plr_export_ex() stops as if the process had been killed there (tests). */
typedef enum {
    PLR_STOP_NONE = 0,
    PLR_STOP_AFTER_JOURNAL = 1, /* journal entry written, nothing claimed */
    PLR_STOP_AFTER_CLAIM = 2,   /* report claimed, no file */
    PLR_STOP_AFTER_TEMP = 3,    /* temp file written and synced, not renamed */
    PLR_STOP_AFTER_RENAME = 4,  /* file under its final name, not marked exported */
} plr_stop_t;

/* plr_export() that returns ST_E_INTERRUPTED at `stop` of the first new report, leaving
 * everything as a crash there would (journal, claim, temp file). */
st_t plr_export_ex(store_t *s, const plr_signer_t *sg, const char *dir, const plr_export_opts_t *o,
                   plr_export_sum_t *sum, plr_stop_t stop);

/* Journal file of a report: JOURNAL/plr-<32 hex>.pending. */
#define PLR_JOURNAL_PREFIX "plr-"
#define PLR_JOURNAL_SUFFIX ".pending"
#define PLR_LOCK_NAME      "plr.lock"

/* Copies s into out[len] cutting at a UTF-8 character boundary; replaces control characters
 * and invalid sequences with '?'. */
void plr_text_copy(char *out, size_t len, const char *s);

/* Reads the content out of the CMS and decodes it, without any trust (name checks of a file
 * found in DIR during recovery run a full verification with the signer's trust first). */
st_t plr_signed_report_id(const plr_signer_t *sg, const uint8_t *der, size_t len,
                          uint8_t report_id[STORE_ID_LEN]);

#endif
