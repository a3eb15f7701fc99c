/*
 * recovery.c - settling the BPPs of this card left in `loading` (DESIGN §8): after a crash,
 * a power loss, a pulled card or a reset, the card is asked what happened and each BPP is
 * settled exactly once, by engine_settle_decide():
 *
 *   1. RetrieveNotificationsList: a BF37 with the BPP's transactionId (a success one wins over
 *      error ones; among several, the newest seqNumber) -> verify with PK.EUICC and record it;
 *   2. else ListProfileInfo lists the BPP's ICCID -> ATTENTION (installed without a PIR: never
 *      install twice, a person looks);
 *   3. else the one-time key, asked with PrepareLoad (FF41 answers ok / keyConsumed /
 *      unknownKey): unused -> back to pending; consumed -> dead with the reason.
 * The card erases the one-time key on installation (GENS08), so nothing can be installed
 * twice whatever the store says; the notification list keeps the PIR until removed, so the
 * PIR is not lost when the card has it.
 */
#include <inttypes.h>
#include <string.h>

#include "base/log.h"
#include "engine_internal.h"

/* Finds the PIR of `b` in the notification list: the verified success, else the newest. */
static const es10_notification_t *find_pir(job_ctx_t *j, const store_bpp_t *b,
                                           const es10_notification_list_t *nl,
                                           engine_pir_kind_t *kind, bool *verified,
                                           pir_view_t *view) {
    const es10_notification_t *best = NULL;
    engine_pir_kind_t best_kind = ENGINE_PIR_NONE;
    bool best_ok = false;
    pir_view_t v;

    for (size_t i = 0; i < nl->n; i++) {
        const es10_notification_t *n = &nl->items[i];
        engine_pir_kind_t k;
        bool ok;

        if (n->tag != 0xBF37)
            continue;
        if (pir_parse(n->raw.data, n->raw.len, &v) != ST_OK || v.tid_len != b->tid_len
            || memcmp(v.tid, b->tid, b->tid_len) != 0)
            continue;
        if (job_pir_check(j, b, n->raw.data, n->raw.len, &k, &ok, &v) != ST_OK)
            continue;
        /* rank: verified success > unverified success > error; then newest */
        int rank = k == ENGINE_PIR_SUCCESS ? (ok ? 3 : 2) : 1;
        int best_rank = best_kind == ENGINE_PIR_SUCCESS ? (best_ok ? 3 : 2) : (best ? 1 : 0);
        if (rank > best_rank || (rank == best_rank && best && n->seq > best->seq)) {
            best = n;
            best_kind = k;
            best_ok = ok;
            *view = v;
        }
    }
    *kind = best_kind;
    *verified = best_ok;
    return best;
}

static bool iccid_listed(const es10_profile_list_t *pl, const uint8_t iccid[10]) {
    for (size_t i = 0; i < pl->n; i++)
        if (pl->items[i].has_iccid && !memcmp(pl->items[i].iccid, iccid, 10))
            return true;
    return false;
}

/* Settles one BPP; the lists were read from the card once for all. */
static st_t recover_one(job_ctx_t *j, const store_loading_t *ld, const es10_notification_list_t *nl,
                        const es10_profile_list_t *pl) {
    const store_bpp_t *b = &ld->bpp;
    engine_settle_facts_t f;
    engine_settle_decision_t d;
    store_change_t ch = STORE_CHANGE_INIT;
    const es10_notification_t *n;
    pir_view_t view;
    bool verified = false;
    st_t st;

    memset(&f, 0, sizeof(f));
    memset(&view, 0, sizeof(view));
    f.retries = b->retries;
    f.max_retries = j->cfg ? j->cfg->policy.max_retries : 3;
    n = find_pir(j, b, nl, &f.pir, &verified, &view);
    f.pir_verified = verified;
    if (f.pir == ENGINE_PIR_NONE) {
        f.iccid_on_card = iccid_listed(pl, b->iccid);
        if (!f.iccid_on_card) {
            st = job_probe_key(j, b, &f.key);
            if (st != ST_OK)
                return st;
        }
    } else if (f.pir == ENGINE_PIR_ERROR) {
        st = job_probe_key(j, b, &f.key);
        if (st != ST_OK)
            return st;
    }
    d = engine_settle_decide(&f);
    st_log(ST_LOG_INFO,
           "engine: %s: recovery of BPP %" PRId64 " (left loading by %s): PIR %s%s, ICCID %s, "
           "key %d -> %s",
           j->reader, b->id, ld->reader[0] ? ld->reader : "?",
           f.pir == ENGINE_PIR_NONE ? "none" : (f.pir == ENGINE_PIR_SUCCESS ? "success" : "error"),
           f.pir != ENGINE_PIR_NONE && !verified ? " (unverified)" : "",
           f.iccid_on_card ? "on card" : "absent", (int)f.key, engine_settle_name(d.to));
    if (n) {
        ch.pir = n->raw.data;
        ch.pir_len = n->raw.len;
    }
    ch.outcome = d.to == ENGINE_SETTLE_PENDING ? STORE_OUTCOME_INTERRUPTED : STORE_OUTCOME_AUTO;
    return job_settle(j, b, &d, &ch, n ? &view : NULL);
}

st_t job_recover(job_ctx_t *j) {
    store_loading_list_t all = {0};
    es10_notification_list_t nl = {0};
    es10_profile_list_t pl = {0};
    es10_result_t res;
    size_t mine = 0;
    st_t st;

    st = store_bpp_loading(j->store, &all);
    if (st != ST_OK)
        goto out;
    for (size_t i = 0; i < all.n; i++)
        if (!memcmp(all.v[i].bpp.eid, j->eid, 16))
            mine++;
    if (mine == 0)
        goto out;
    job_event(j, ENGINE_EV_RECOVER);
    st_log(ST_LOG_INFO, "engine: %s: EID %s: %zu BPP(s) left loading, asking the card", j->reader,
           j->eid_str, mine);
    st = es10b_retrieve_notifications_list(j->s, &nl, &res);
    if (st == ST_OK)
        st = es10c_list_profile_info(j->s, &pl, &res);
    st = job_classify(j, st);
    if (st != ST_OK) {
        if (!job_transport_lost(st) && st != ST_E_CARD_RESET) {
            j->tally.fault = true;
            job_error(j, ENGINE_FPA_CARD_SW, -1, -1, st_name(st),
                      "the card did not list its profiles and results; interrupted loads stay "
                      "open");
            st = ST_E_STATE;
        }
        goto out;
    }
    for (size_t i = 0; i < all.n && st == ST_OK; i++)
        if (!memcmp(all.v[i].bpp.eid, j->eid, 16))
            st = recover_one(j, &all.v[i], &nl, &pl);
out:
    store_loading_list_free(&all);
    es10_notification_list_free(&nl);
    es10_profile_list_free(&pl);
    return st;
}
