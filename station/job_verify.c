/*
 * job_verify.c - the verify step and DeleteOneTimeKeys (SGP.41 EUICCF03, DMF03/04).
 *
 * Verify (after loading, or the `verify` command):
 *   - ListProfileInfo lists the ICCID of every BPP installed in this job;
 *   - GetOneTimeKeyStatus: the unused count dropped by exactly the keys this job consumed, and
 *     the card has consumed at least as many keys as the store has installed BPPs for it.
 * DeleteOneTimeKeys (policy after-load when nothing is left for the card, or the command):
 *   refused while BPPs are still to load for the card; FF42, then the store marks the card's
 *   remaining keys deleted and the audit log gets a row; GetOneTimeKeyStatus must then show
 *   FPA services locked and no unused key.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "engine_internal.h"
#include "fmt/es10f.h"

static bool lost(st_t st) {
    return job_transport_lost(st) || st == ST_E_CARD_RESET;
}

static st_t card_fault(job_ctx_t *j, st_t st, const es10_result_t *res, const char *what) {
    char detail[64];

    st = job_classify(j, st);
    if (lost(st))
        return st;
    if (st == ST_E_CARD_SW)
        snprintf(detail, sizeof(detail), "SW %04X", res->sw);
    else
        snprintf(detail, sizeof(detail), "%s", st_name(st));
    j->tally.fault = true;
    job_error(j, ENGINE_FPA_CARD_SW, -1, -1, detail, "%s", what);
    return ST_E_STATE;
}

static uint32_t store_consumed(job_ctx_t *j) {
    store_euicc_t *eu = NULL;
    uint32_t n = 0;

    if (store_euicc_get(j->store, j->eid, &eu) != ST_OK)
        return 0;
    for (size_t i = 0; i < eu->n_keys; i++)
        if (eu->keys[i].state == STORE_OTK_CONSUMED)
            n++;
    store_euicc_free(eu);
    return n;
}

st_t job_verify(job_ctx_t *j) {
    es10_profile_list_t pl = {0};
    es10f_key_status_t ks;
    es10_result_t res;
    uint32_t consumed;
    char detail[ENGINE_TEXT_MAX];
    st_t st;

    job_event(j, ENGINE_EV_VERIFY);
    st = es10c_list_profile_info(j->s, &pl, &res);
    if (st != ST_OK) {
        st = card_fault(j, st, &res, "the card did not list its profiles");
        goto out;
    }
    for (size_t i = 0; i < j->n_installed_iccids; i++) {
        bool found = false;
        for (size_t k = 0; k < pl.n && !found; k++)
            found = pl.items[k].has_iccid && !memcmp(pl.items[k].iccid, j->installed_iccids[i], 10);
        if (!found) {
            char iccid[21];
            hex_encode(j->installed_iccids[i], 10, iccid);
            j->tally.fault = true;
            snprintf(detail, sizeof(detail), "ICCID (5A) %s missing from ListProfileInfo", iccid);
            job_error(j, -1, -1, -1, detail,
                      "a profile reported installed is not listed by the card");
            st = ST_E_STATE;
            goto out;
        }
    }
    st = es10f_get_one_time_key_status(j->s, &ks, &res);
    if (st == ST_OK && res.has_code && res.code != ES10F_OK)
        st = ST_E_PROTO;
    if (st != ST_OK) {
        st = card_fault(j, st, &res, "the card did not report its one-time keys");
        goto out;
    }
    j->locked = ks.fpa_locked;
    if (!ks.fpa_locked && !j->keys0.fpa_locked && j->cmd == ENGINE_CMD_LOAD
        && ks.unused + j->consumed_in_job != j->keys0.unused) {
        j->tally.fault = true;
        snprintf(detail, sizeof(detail),
                 "unused keys %" PRIu64 " before, %" PRIu64 " after, %" PRIu32 " used by this job",
                 j->keys0.unused, ks.unused, j->consumed_in_job);
        job_error(j, -1, -1, -1, detail, "the card's one-time key count does not add up");
        st = ST_E_STATE;
        goto out;
    }
    consumed = store_consumed(j);
    if (ks.consumed < consumed) {
        j->tally.fault = true;
        snprintf(detail, sizeof(detail),
                 "card consumed %" PRIu64 " keys, store has %" PRIu32 " installed", ks.consumed,
                 consumed);
        job_error(j, -1, -1, -1, detail,
                  "the card used fewer one-time keys than profiles were installed");
        st = ST_E_STATE;
        goto out;
    }
    st_log(ST_LOG_INFO,
           "engine: %s: EID %s: verified: %zu profile(s) on the card, keys %" PRIu64
           " unused / %" PRIu64 " consumed / %" PRIu64 " total%s",
           j->reader, j->eid_str, pl.n, ks.unused, ks.consumed, ks.total,
           ks.fpa_locked ? ", FPA locked" : "");
out:
    es10_profile_list_free(&pl);
    return st == ST_E_STATE ? ST_OK : st; /* a mismatch is a verdict, not a job error */
}

st_t job_delete_keys(job_ctx_t *j) {
    es10f_key_status_t ks;
    es10_result_t res;
    uint64_t deleted = 0;
    uint32_t n_store = 0;
    char detail[ENGINE_TEXT_MAX], value[64];
    st_t st;

    job_refresh_counts(j);
    if (j->tally.remaining) {
        j->tally.fault = true;
        job_error(j, -1, -1, -1, NULL,
                  "%" PRIu32 " profile(s) are still to load on this card: one-time keys kept",
                  j->tally.remaining);
        return ST_OK;
    }
    job_event(j, ENGINE_EV_DELETE);
    if (!j->locked) {
        if (!j->authorised) {
            j->tally.fault = true;
            job_error(j, -1, -1, -1, NULL, "the card is not authorised for deleting its keys");
            return ST_OK;
        }
        st = es10f_delete_one_time_keys(j->s, &deleted, &res);
        if (st != ST_OK)
            return card_fault(j, st, &res, "the card did not delete its one-time keys")
                           == ST_E_STATE
                       ? ST_OK
                       : st;
        if (res.code != ES10F_OK && res.code != ES10F_NOTHING_TO_DELETE) {
            snprintf(detail, sizeof(detail), "DeleteOneTimeKeys: %s (%u)",
                     es10f_result_name(res.code), res.code);
            j->tally.fault = true;
            job_error(j, ENGINE_FPA_CARD_SW, -1, -1, detail,
                      "the card refused to delete its one-time keys");
            return ST_OK;
        }
        j->locked = true;
        j->authorised = false;
    }
    st = store_otk_delete_all(j->store, j->eid, &n_store);
    if (st == ST_OK) {
        char object[48];
        snprintf(object, sizeof(object), "eid:%s", j->eid_str);
        snprintf(value, sizeof(value), "%" PRIu64 " deleted on the card", deleted);
        st = store_audit_append(j->store, j->op, "euicc.delete_keys", object, NULL, value, NULL);
    }
    if (st != ST_OK) {
        j->tally.fault = true;
        job_error(j, -1, -1, -1, st_name(st), "the key deletion could not be recorded");
        return ST_OK;
    }
    st = es10f_get_one_time_key_status(j->s, &ks, &res);
    if (st != ST_OK)
        return card_fault(j, st, &res, "the card did not report its one-time keys") == ST_E_STATE
                   ? ST_OK
                   : st;
    if (!ks.fpa_locked || ks.unused) {
        j->tally.fault = true;
        snprintf(detail, sizeof(detail), "unused %" PRIu64 ", fpaLocked %d", ks.unused,
                 (int)ks.fpa_locked);
        job_error(j, -1, -1, -1, detail, "the card still holds one-time keys after deletion");
        return ST_OK;
    }
    st_log(ST_LOG_INFO,
           "engine: %s: EID %s: one-time keys deleted (%" PRIu64 " on the card, %" PRIu32
           " in the store); FPA services locked",
           j->reader, j->eid_str, deleted, n_store);
    return ST_OK;
}
