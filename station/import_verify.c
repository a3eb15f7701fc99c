/*
 * import_verify.c - the bundle pass's smdpSign verifications on a second thread.
 *
 * An ECDSA verification costs about as much as reading, digesting and storing one 13 KB BPP, so
 * the pass hands (entry, TBS, signature) to one worker thread and goes on with the next entry:
 * reading/SQLite and ECDSA overlap on two cores. The worker takes jobs in submission order
 * (entry order), so the first failure it records is the lowest failing entry; the pass asks for
 * it before the end of the file is reported to CMS (imp_verifier_drain), so nothing commits
 * before every signature was checked. Memory: a ring of IMP_VERIFY_QUEUE jobs (TBS ~150 bytes
 * each); a full ring makes the pass wait. The public key is used by the worker only.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "crypto/ec.h"
#include "import_int.h"

#define IMP_VERIFY_QUEUE 64
#define SIG_MAX          72

typedef struct {
    size_t entry;
    uint8_t eid[STORE_EID_LEN];
    uint32_t key_index;
    buf_t tbs;
    uint8_t sig[SIG_MAX];
    size_t sig_len;
} job_t;

struct imp_verifier {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv_work;  /* a job was queued, or stop */
    pthread_cond_t cv_space; /* a job finished */
    job_t jobs[IMP_VERIFY_QUEUE];
    size_t head, count; /* ring: jobs[head] is the one being (or to be) verified */
    bool stop;
    EVP_PKEY *pub;
    /* the first failure, in entry order */
    bool failed;
    st_t fail_st;
    size_t fail_entry;
    uint8_t fail_eid[STORE_EID_LEN];
    uint32_t fail_key;
};

static void *worker(void *arg) {
    imp_verifier_t *v = arg;
    job_t *j;
    bool skip;
    st_t st;

    pthread_mutex_lock(&v->mu);
    for (;;) {
        while (v->count == 0 && !v->stop)
            pthread_cond_wait(&v->cv_work, &v->mu);
        if (v->count == 0)
            break; /* stop, and nothing left */
        j = &v->jobs[v->head];
        skip = v->failed; /* the file is refused already: no need to go on */
        pthread_mutex_unlock(&v->mu);
        st = skip ? ST_OK : ec_verify_raw(v->pub, j->tbs.data, j->tbs.len, j->sig, j->sig_len);
        pthread_mutex_lock(&v->mu);
        if (st != ST_OK && !v->failed) {
            v->failed = true;
            v->fail_st = st;
            v->fail_entry = j->entry;
            memcpy(v->fail_eid, j->eid, STORE_EID_LEN);
            v->fail_key = j->key_index;
        }
        v->head = (v->head + 1) % IMP_VERIFY_QUEUE;
        v->count--;
        pthread_cond_broadcast(&v->cv_space);
    }
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

st_t imp_verifier_start(EVP_PKEY *pub, imp_verifier_t **out) {
    imp_verifier_t *v;

    *out = NULL;
    if (!pub)
        return ST_E_INVAL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return ST_E_NOMEM;
    v->pub = pub;
    if (pthread_mutex_init(&v->mu, NULL) != 0) {
        free(v);
        return ST_E_NOMEM;
    }
    if (pthread_cond_init(&v->cv_work, NULL) != 0) {
        pthread_mutex_destroy(&v->mu);
        free(v);
        return ST_E_NOMEM;
    }
    if (pthread_cond_init(&v->cv_space, NULL) != 0) {
        pthread_cond_destroy(&v->cv_work);
        pthread_mutex_destroy(&v->mu);
        free(v);
        return ST_E_NOMEM;
    }
    if (pthread_create(&v->th, NULL, worker, v) != 0) {
        pthread_cond_destroy(&v->cv_space);
        pthread_cond_destroy(&v->cv_work);
        pthread_mutex_destroy(&v->mu);
        free(v);
        return ST_E_NOMEM;
    }
    *out = v;
    return ST_OK;
}

st_t imp_verifier_submit(imp_verifier_t *v, size_t entry, const uint8_t eid[STORE_EID_LEN],
                         uint32_t key_index, const buf_t *tbs, const uint8_t *sig, size_t sig_len) {
    job_t *j;
    st_t st = ST_OK;

    pthread_mutex_lock(&v->mu);
    while (v->count == IMP_VERIFY_QUEUE)
        pthread_cond_wait(&v->cv_space, &v->mu);
    j = &v->jobs[(v->head + v->count) % IMP_VERIFY_QUEUE];
    j->entry = entry;
    memcpy(j->eid, eid, STORE_EID_LEN);
    j->key_index = key_index;
    buf_reset(&j->tbs);
    if (sig_len > SIG_MAX)
        sig_len = SIG_MAX + 1; /* not a raw r||s: ec_verify_raw refuses the length */
    j->sig_len = sig_len;
    memcpy(j->sig, sig, sig_len > SIG_MAX ? SIG_MAX : sig_len);
    st = buf_append(&j->tbs, tbs->data, tbs->len);
    if (st == ST_OK) {
        v->count++;
        pthread_cond_signal(&v->cv_work);
    }
    pthread_mutex_unlock(&v->mu);
    return st;
}

bool imp_verifier_failed(imp_verifier_t *v) {
    bool f;
    pthread_mutex_lock(&v->mu);
    f = v->failed;
    pthread_mutex_unlock(&v->mu);
    return f;
}

st_t imp_verifier_drain(imp_verifier_t *v, size_t *entry, uint8_t eid[STORE_EID_LEN],
                        uint32_t *key_index) {
    st_t st = ST_OK;

    pthread_mutex_lock(&v->mu);
    while (v->count > 0)
        pthread_cond_wait(&v->cv_space, &v->mu);
    if (v->failed) {
        st = v->fail_st;
        *entry = v->fail_entry;
        memcpy(eid, v->fail_eid, STORE_EID_LEN);
        *key_index = v->fail_key;
    }
    pthread_mutex_unlock(&v->mu);
    return st;
}

void imp_verifier_stop(imp_verifier_t *v) {
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    v->stop = true;
    pthread_cond_signal(&v->cv_work);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->th, NULL);
    for (size_t i = 0; i < IMP_VERIFY_QUEUE; i++)
        buf_free(&v->jobs[i].tbs);
    pthread_cond_destroy(&v->cv_space);
    pthread_cond_destroy(&v->cv_work);
    pthread_mutex_destroy(&v->mu);
    free(v);
}
