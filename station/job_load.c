/*
 * job_load.c - loading the pending BPPs of the card in the reader (DESIGN §6, §8), one by one,
 * in import order across every SM-DPf:
 *
 *   store: pending|failed -> loading (durable, BEFORE the first APDU of this BPP; opens the
 *   attempt) -> PrepareLoad (FF41: CERT.DPpb + chain of the bundle's SM-DPf, keyIndex)
 *   -> ES10b.LoadBoundProfilePackage (SGP.22 §5.7.6, segments §2.5.5; progress by bytes)
 *   -> BF37 parsed and euiccSignPIR verified with PK.EUICC -> engine_settle_decide()
 *   -> store: loading -> installed | failed | dead (durable, with the attempt's figures).
 *
 * Whether an error consumed the one-time key is read from GetOneTimeKeyStatus: the unused
 * count the job expects (start count minus the keys consumed so far) against the card's.
 * A transport loss or a reset leaves the BPP in loading: recovery settles it from the card.
 */
#include <inttypes.h>
#include <string.h>

#include "base/log.h"
#include "engine_internal.h"
#include "fmt/bpp.h"
#include "fmt/es10f.h"

typedef struct {
    job_ctx_t *j;
    uint32_t index, count;
} load_progress_t;

static bool on_progress(size_t seg_done, size_t seg_total, size_t bytes_sent, size_t bytes_total,
                        void *ud) {
    load_progress_t *p = ud;

    (void)seg_done;
    (void)seg_total;
    job_progress(p->j, p->index, p->count, bytes_sent, bytes_total);
    return !job_stopping(p->j, true);
}

/* Key state after an error: did the card's unused count drop below what the job expects? */
static st_t key_after_error(job_ctx_t *j, engine_key_state_t *key) {
    es10f_key_status_t ks;
    es10_result_t res;
    uint64_t expected =
        j->keys0.unused > j->consumed_in_job ? j->keys0.unused - j->consumed_in_job : 0;
    st_t st = job_classify(j, es10f_get_one_time_key_status(j->s, &ks, &res));

    *key = ENGINE_KEY_UNKNOWN;
    if (st != ST_OK)
        return job_transport_lost(st) || st == ST_E_CARD_RESET ? st : ST_OK;
    if (ks.fpa_locked)
        *key = ENGINE_KEY_DELETED;
    else if (ks.unused < expected) {
        *key = ENGINE_KEY_CONSUMED;
        j->consumed_in_job++; /* this load used the key without installing */
    } else
        *key = ENGINE_KEY_UNUSED;
    return ST_OK;
}

static int refused_fpa(st_t st) {
    return st == ST_E_CARD_SW ? ENGINE_FPA_CARD_SW : ENGINE_FPA_PROTOCOL;
}

static void sw_detail(st_t st, const es10_result_t *res, char *out, size_t n) {
    if (st == ST_E_CARD_SW)
        snprintf(out, n, "SW %04X", res->sw);
    else
        snprintf(out, n, "%s", st_name(st));
}

/* One BPP, from the loading transition to its settled state. */
static st_t load_one(job_ctx_t *j, const store_bpp_t *b, uint32_t index, uint32_t count) {
    store_change_t open = STORE_CHANGE_INIT, ch = STORE_CHANGE_INIT;
    engine_settle_facts_t f;
    engine_settle_decision_t d;
    transport_counters_t c0, c1;
    es10_result_t res;
    es10_lbpp_stats_t stats;
    load_progress_t prog = {j, index, count};
    job_chain_t chain;
    bpp_view_t view;
    pir_view_t pv;
    bool have_pv = false, verified = false;
    buf_t blob = BUF_INIT, pir = BUF_INIT;
    char detail[ENGINE_TEXT_MAX] = "";
    int64_t attempt = 0, t0;
    st_t st, lst;

    memset(&chain, 0, sizeof(chain));
    memset(&f, 0, sizeof(f));
    memset(&d, 0, sizeof(d));
    /* b was read before its -> loading transition: failed -> loading counts one more retry
     * (the count recovery reads from the store includes it too) */
    f.retries = b->retries + (b->state == STORE_BPP_FAILED ? 1u : 0u);
    f.max_retries = j->cfg ? j->cfg->policy.max_retries : 3;

    /* durable BEFORE the first APDU of this BPP (DESIGN §8) */
    open.actor = j->op;
    open.reader = j->reader;
    open.op = j->op;
    open.attempt_id = &attempt;
    /* An import holds the write lock for its whole bundle (a console import while cards load):
     * nothing has been sent for this BPP yet, so wait it out, as job_settle does, rather than
     * fail the card. */
    for (int tries = 0;; tries++) {
        st = store_bpp_transition(j->store, b->id, b->state, STORE_BPP_LOADING, &open);
        if (st != ST_E_DB_BUSY || tries >= JOB_DB_BUSY_TRIES || job_stopping(j, true))
            break;
        st_log(ST_LOG_WARN, "engine: BPP %" PRId64 ": store busy (an import?), waiting", b->id);
    }
    if (st == ST_E_STATE) {
        st_log(ST_LOG_WARN, "engine: BPP %" PRId64 " changed state meanwhile; skipped", b->id);
        return ST_OK;
    }
    if (st != ST_OK)
        return st;
    job_progress(j, index, count, 0, b->bpp_len);
    j->inflight = b->id;
    t0 = engine_now_ms();
    transport_counters(j->t, &c0);

    st = store_bpp_blob(j->store, b->id, &blob);
    if (st == ST_OK && bpp_parse(blob.data, blob.len, &view) != ST_OK)
        st = ST_E_PARSE;
    if (st == ST_OK)
        st = job_chain_load(j, b->bundle_rowid, &chain);
    if (st != ST_OK) {
        /* nothing was sent: the stored BPP or its bundle chain is unusable */
        d.to = ENGINE_SETTLE_DEAD;
        d.fpa_error = ENGINE_FPA_BPP_INVALID;
        d.why = "the stored profile package or its SM-DPf certificates are damaged";
        st_log(ST_LOG_ERR, "engine: BPP %" PRId64 ": %s", b->id, st_str(st));
        ch.duration_ms = engine_now_ms() - t0;
        st = job_settle(j, b, &d, &ch, NULL);
        goto out;
    }

    if (j->locked) {
        f.key = ENGINE_KEY_DELETED;
        goto decide;
    }
    st = es10f_prepare_load(j->s, b->key_index, chain.certs[0].p, chain.certs[0].len,
                            chain.certs + 1, chain.n - 1, &res);
    st = job_classify(j, st);
    if (job_transport_lost(st) || st == ST_E_CARD_RESET)
        goto out;
    if (st != ST_OK) {
        f.refused = true;
        f.refused_fpa = refused_fpa(st);
        sw_detail(st, &res, detail, sizeof(detail));
        if ((st = key_after_error(j, &f.key)) != ST_OK)
            goto out;
        goto decide;
    }
    if (res.code != ES10F_OK) {
        snprintf(detail, sizeof(detail), "PrepareLoad: %s (%u)", es10f_result_name(res.code),
                 res.code);
        if (res.code == ES10F_KEY_CONSUMED)
            f.key = ENGINE_KEY_CONSUMED;
        else if (res.code == ES10F_UNKNOWN_KEY)
            f.key = ENGINE_KEY_NOT_ON_CARD;
        else {
            f.refused = true;
            f.refused_fpa = ENGINE_FPA_PREPARE_REFUSED;
            f.key = ENGINE_KEY_UNUSED;
        }
        goto decide;
    }

    st = es10b_load_bound_profile_package(j->s, blob.data, blob.len, &pir, &stats, on_progress,
                                          &prog, &res);
    st = job_classify(j, st);
    if (st == ST_E_CANCELLED || job_transport_lost(st) || st == ST_E_CARD_RESET)
        goto out; /* stays loading: recovery asks the card */
    if (st == ST_OK) {
        st = job_pir_check(j, b, pir.data, pir.len, &f.pir, &verified, &pv);
        have_pv = st == ST_OK;
        f.pir_verified = verified;
        if (st != ST_OK) {
            f.refused = true;
            f.refused_fpa = ENGINE_FPA_PROTOCOL;
            snprintf(detail, sizeof(detail), "the card's answer is not a BF37");
        }
    } else {
        f.refused = true;
        f.refused_fpa = refused_fpa(st);
        sw_detail(st, &res, detail, sizeof(detail));
    }
    if (f.pir != ENGINE_PIR_SUCCESS && (lst = key_after_error(j, &f.key)) != ST_OK) {
        st = lst;
        goto out;
    }
decide:
    d = engine_settle_decide(&f);
    transport_counters(j->t, &c1);
    ch.apdus = (uint32_t)(c1.apdus - c0.apdus);
    ch.bytes = (c1.tx_bytes - c0.tx_bytes) + (c1.rx_bytes - c0.rx_bytes);
    ch.duration_ms = engine_now_ms() - t0;
    if (pir.len) {
        ch.pir = pir.data;
        ch.pir_len = pir.len;
    }
    st = job_settle(j, b, &d, &ch, have_pv ? &pv : NULL);
    if (st == ST_OK && detail[0] && (d.to == ENGINE_SETTLE_FAILED || d.to == ENGINE_SETTLE_DEAD)) {
        char text[ENGINE_TEXT_MAX];
        engine_settle_text(&d, text, sizeof(text));
        job_error(j, d.fpa_error, -1, -1, detail, "%s", text);
    }
    if (st == ST_OK)
        st_log(ST_LOG_INFO,
               "engine: %s: BPP %" PRId64 ": %" PRIu32 " APDUs, %" PRIu64 " bytes, %" PRId64
               " ms, %s",
               j->reader, b->id, ch.apdus, ch.bytes, ch.duration_ms, engine_settle_name(d.to));
out:
    job_chain_free(&chain);
    buf_free(&blob);
    buf_free(&pir);
    return st;
}

st_t job_load_all(job_ctx_t *j) {
    store_bpp_list_t l = {0};
    st_t st;

    st = store_bpp_pending(j->store, j->eid, true, &l);
    if (st != ST_OK || l.n == 0)
        goto out;
    st_log(ST_LOG_INFO, "engine: %s: EID %s: %zu BPP(s) to load", j->reader, j->eid_str, l.n);
    job_event(j, ENGINE_EV_LOAD);
    for (size_t i = 0; i < l.n; i++) {
        if (job_stopping(j, false)) {
            st = ST_E_CANCELLED;
            break;
        }
        st = load_one(j, &l.v[i], (uint32_t)i + 1, (uint32_t)l.n);
        if (st != ST_OK)
            break;
        job_refresh_counts(j);
    }
out:
    store_bpp_list_free(&l);
    return st;
}
