/*
 * job.c - one job on one card (engine_internal.h): the session, the authorisation with the DM
 * key, and the sequence recover -> load -> verify -> delete keys with the verdict. The steps
 * live in recovery.c, job_load.c and job_verify.c; this file also has their shared helpers.
 *
 * Sequence (SGP.41 §5.1 FPA side; DESIGN §6, §8):
 *   es10_open (ISD-R AID, block size from [card]) -> GetEID -> eUICC data from the store
 *   -> GetOneTimeKeyStatus -> GetEuiccChallenge + AuthoriseFpaServices (unless locked)
 *   -> recovery of BPPs left in loading -> LOAD: every pending BPP, verify, [delete keys]
 *                                         VERIFY: verify; DELETE_KEYS: delete keys
 * A card reset (ST_E_CARD_RESET) reopens the session, authorises again and starts over from
 * recovery, at most JOB_MAX_RESETS times: the interrupted BPP is settled from the card.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "apdu.h"
#include "base/log.h"
#include "crypto/cert.h"
#include "engine_internal.h"
#include "fmt/es10f.h"
#include "tlv/tlv.h"

/* ---- reporting helpers ---- */

static void snap_changed(job_ctx_t *j, bool store_changed) {
    if (j->changed)
        j->changed(j->ud, store_changed);
}

void job_event(job_ctx_t *j, engine_event_t ev) {
    engine_slot_state_t from, to;

    pthread_mutex_lock(j->lock);
    from = j->snap->state;
    to = engine_slot_next(from, ev);
    j->snap->state = to;
    j->snap->changed_ms = engine_now_ms();
    if (to != ENGINE_SLOT_LOADING) {
        j->snap->bpp_index = 0;
        j->snap->bytes_done = j->snap->bytes_total = 0;
    }
    pthread_mutex_unlock(j->lock);
    if (from != to)
        st_log(ST_LOG_DEBUG, "engine: %s: %s -> %s", j->reader, engine_slot_state_name(from),
               engine_slot_state_name(to));
    snap_changed(j, false);
}

void job_error(job_ctx_t *j, int fpa, int bpp_cmd, int reason, const char *detail, const char *fmt,
               ...) {
    va_list ap;

    pthread_mutex_lock(j->lock);
    va_start(ap, fmt);
    vsnprintf(j->snap->error, sizeof(j->snap->error), fmt, ap);
    va_end(ap);
    snprintf(j->snap->detail, sizeof(j->snap->detail), "%s", detail ? detail : "");
    j->snap->fpa_error = fpa;
    j->snap->bpp_command_id = bpp_cmd;
    j->snap->error_reason = reason;
    j->snap->changed_ms = engine_now_ms();
    st_log(ST_LOG_WARN, "engine: %s: EID %s: %s%s%s", j->reader, j->eid_str[0] ? j->eid_str : "?",
           j->snap->error, j->snap->detail[0] ? " — " : "", j->snap->detail);
    pthread_mutex_unlock(j->lock);
    snap_changed(j, false);
}

void job_progress(job_ctx_t *j, uint32_t index, uint32_t count, uint64_t done, uint64_t total) {
    pthread_mutex_lock(j->lock);
    j->snap->bpp_index = index;
    j->snap->bpp_count = count;
    j->snap->bytes_done = done;
    j->snap->bytes_total = total;
    j->snap->changed_ms = engine_now_ms();
    pthread_mutex_unlock(j->lock);
    snap_changed(j, false);
}

/* Live BPPs of the card (pending, failed, loading) and installed ones (consumed keys). */
static st_t count_live(job_ctx_t *j, uint32_t *live, uint32_t *installed) {
    store_bpp_list_t l = {0};
    store_loading_list_t ld = {0};
    store_euicc_t *eu = NULL;
    st_t st;

    *live = *installed = 0;
    st = store_bpp_pending(j->store, j->eid, true, &l);
    if (st == ST_OK)
        st = store_bpp_loading(j->store, &ld);
    if (st != ST_OK)
        goto out;
    *live = (uint32_t)l.n;
    for (size_t i = 0; i < ld.n; i++)
        if (!memcmp(ld.v[i].bpp.eid, j->eid, 16))
            (*live)++;
    if (store_euicc_get(j->store, j->eid, &eu) == ST_OK) {
        for (size_t i = 0; i < eu->n_keys; i++)
            if (eu->keys[i].state == STORE_OTK_CONSUMED)
                (*installed)++;
    }
out:
    store_bpp_list_free(&l);
    store_loading_list_free(&ld);
    store_euicc_free(eu);
    return st;
}

void job_refresh_counts(job_ctx_t *j) {
    uint32_t live, installed;

    if (count_live(j, &live, &installed) != ST_OK)
        return;
    pthread_mutex_lock(j->lock);
    j->snap->loaded = installed;
    j->snap->due = installed + live;
    pthread_mutex_unlock(j->lock);
    j->tally.remaining = live;
}

bool job_stopping(const job_ctx_t *j, bool abandon_only) {
    if (j->abandon && atomic_load(j->abandon))
        return true;
    return !abandon_only && j->stop && atomic_load(j->stop);
}

bool job_transport_lost(st_t st) {
    return st == ST_E_CARD_REMOVED || st == ST_E_NO_SERVICE || st == ST_E_NO_READER
           || st == ST_E_NO_CARD || st == ST_E_CARD_MUTE || st == ST_E_IO;
}

st_t job_classify(job_ctx_t *j, st_t st) {
    uint16_t sw;
    st_t p;

    if (st != ST_E_PROTO && st != ST_E_IO)
        return st;
    /* A dropped card can look like a short or garbled answer (vpcd returns no bytes): ask the
     * reader with a harmless command; a lost card then shows as such. */
    p = apdu_terminal_capability(j->t, &sw);
    if (job_transport_lost(p) || p == ST_E_CARD_RESET) {
        st_log(ST_LOG_DEBUG, "engine: %s: %s was a lost card (%s)", j->reader, st_name(st),
               st_name(p));
        return p;
    }
    return st;
}

/* "SW 6985" / "ST_E_PROTO" for the engineer. */
static void status_detail(st_t st, const es10_result_t *res, char *out, size_t n) {
    if (st == ST_E_CARD_SW && res)
        snprintf(out, n, "SW %04X", res->sw);
    else
        snprintf(out, n, "%s", st_name(st));
}

/* ---- chain and PIR helpers ---- */

st_t job_chain_load(job_ctx_t *j, int64_t bundle_rowid, job_chain_t *c) {
    tlv_iter_t it;
    tlv_t t;
    st_t st;

    memset(c, 0, sizeof(*c));
    st = store_bundle_chain(j->store, bundle_rowid, &c->der);
    if (st != ST_OK)
        return st;
    tlv_iter_init(&it, c->der.data, c->der.len);
    while ((st = tlv_iter_next(&it, &t)) == ST_OK) {
        if (c->n == sizeof(c->certs) / sizeof(c->certs[0]))
            return ST_E_TOO_LARGE;
        c->certs[c->n].p = t.raw;
        c->certs[c->n].len = t.raw_len;
        c->n++;
    }
    if (st != ST_E_NOENT)
        return st;
    return c->n ? ST_OK : ST_E_NOENT;
}

void job_chain_free(job_chain_t *c) {
    if (c)
        buf_free(&c->der);
}

st_t job_pir_check(job_ctx_t *j, const store_bpp_t *b, const uint8_t *pir, size_t len,
                   engine_pir_kind_t *kind, bool *verified, pir_view_t *view) {
    st_t st;

    *kind = ENGINE_PIR_NONE;
    *verified = false;
    st = pir_parse(pir, len, view);
    if (st != ST_OK)
        return ST_E_PARSE;
    *kind = view->success ? ENGINE_PIR_SUCCESS : ENGINE_PIR_ERROR;
    if (view->tid_len != b->tid_len || memcmp(view->tid, b->tid, b->tid_len) != 0) {
        st_log(ST_LOG_WARN, "engine: BPP %" PRId64 ": PIR for another transactionId", b->id);
        return ST_OK;
    }
    if (view->has_iccid && memcmp(view->iccid, b->iccid, sizeof(view->iccid)) != 0) {
        st_log(ST_LOG_WARN, "engine: BPP %" PRId64 ": PIR names another ICCID", b->id);
        return ST_OK;
    }
    if (!j->euicc_pub)
        return ST_OK;
    st = pir_verify(view, j->euicc_pub);
    if (st == ST_OK)
        *verified = true;
    else
        st_log(ST_LOG_WARN, "engine: BPP %" PRId64 ": euiccSignPIR does not verify (%s)", b->id,
               st_name(st));
    return ST_OK;
}

st_t job_settle(job_ctx_t *j, const store_bpp_t *b, const engine_settle_decision_t *d,
                store_change_t *ch, const pir_view_t *pv) {
    store_change_t none = STORE_CHANGE_INIT;
    store_bpp_state_t to;
    char detail[ENGINE_TEXT_MAX] = "";
    char text[STORE_TEXT_MAX < ENGINE_TEXT_MAX ? STORE_TEXT_MAX : ENGINE_TEXT_MAX];
    int cmd = -1, reason = -1;
    st_t st;

    if (!ch)
        ch = &none;
    engine_settle_text(d, text, sizeof(text)); /* the cause, and retries exhausted if so */
    ch->actor = j->op;
    if (pv && !pv->success) {
        cmd = (int)pv->error_cmd;
        reason = (int)pv->error_reason;
        snprintf(detail, sizeof(detail), "bppCommandId %d (%s), errorReason %d (%s)", cmd,
                 pir_cmd_name(pv->error_cmd), reason, pir_reason_name(pv->error_reason));
        ch->bpp_command_id = cmd;
        ch->error_reason = reason;
    }
    switch (d->to) {
    case ENGINE_SETTLE_INSTALLED:
        to = STORE_BPP_INSTALLED;
        ch->pir_verified = true;
        break;
    case ENGINE_SETTLE_FAILED:
        to = STORE_BPP_FAILED;
        break;
    case ENGINE_SETTLE_DEAD:
        to = STORE_BPP_DEAD;
        break;
    case ENGINE_SETTLE_PENDING:
        to = STORE_BPP_PENDING;
        break;
    case ENGINE_SETTLE_ATTENTION:
    default:
        /* stays loading: never offered again, never reported, until a person settles it */
        j->tally.attention++;
        job_error(j, d->fpa_error, cmd, reason, detail, "%s", text);
        return ST_OK;
    }
    if (to == STORE_BPP_FAILED || to == STORE_BPP_DEAD) {
        ch->error = text;
        ch->fpa_error_code = d->fpa_error;
    }
    /* An import holds the write lock for a whole bundle: wait for it rather than leave a BPP
     * the card has settled in loading (recovery would still settle it, at the next insertion). */
    for (int tries = 0;; tries++) {
        st = store_bpp_transition(j->store, b->id, STORE_BPP_LOADING, to, ch);
        if (st != ST_E_DB_BUSY || tries >= JOB_DB_BUSY_TRIES || job_stopping(j, true))
            break;
        st_log(ST_LOG_WARN, "engine: BPP %" PRId64 ": store busy, retrying", b->id);
    }
    if (st != ST_OK) {
        st_log(ST_LOG_ERR, "engine: BPP %" PRId64 ": loading -> %s not recorded: %s", b->id,
               store_bpp_state_name(to), st_str(st));
        return st;
    }
    st_log(ST_LOG_INFO, "engine: %s: EID %s: BPP %" PRId64 " (bundle seq %" PRIu32 ") %s",
           j->reader, j->eid_str, b->id, b->seq, store_bpp_state_name(to));
    bool ours = b->id == j->inflight; /* loaded by this job (see engine_internal.h) */
    if (ours)
        j->inflight = 0;
    switch (to) {
    case STORE_BPP_INSTALLED:
        j->tally.installed++;
        /* keys0 was read at the start of the job: count only the keys this job consumed
         * (a BPP installed before, settled by recovery, was already counted out) */
        if (ours)
            j->consumed_in_job++;
        if (j->n_installed_iccids < JOB_MAX_INSTALLED)
            memcpy(j->installed_iccids[j->n_installed_iccids++], b->iccid, 10);
        break;
    case STORE_BPP_FAILED:
        j->tally.failed++;
        job_error(j, d->fpa_error, cmd, reason, detail, "%s", text);
        break;
    case STORE_BPP_DEAD:
        j->tally.dead++;
        job_error(j, d->fpa_error, cmd, reason, detail, "%s", text);
        break;
    default:
        break;
    }
    snap_changed(j, true);
    return ST_OK;
}

st_t job_probe_key(job_ctx_t *j, const store_bpp_t *b, engine_key_state_t *key) {
    job_chain_t c;
    es10_result_t res;
    st_t st;

    *key = ENGINE_KEY_UNKNOWN;
    if (j->locked) {
        *key = ENGINE_KEY_DELETED;
        return ST_OK;
    }
    if (!j->authorised)
        return ST_OK;
    st = job_chain_load(j, b->bundle_rowid, &c);
    if (st != ST_OK) {
        job_chain_free(&c);
        return st == ST_E_NOENT ? ST_OK : st;
    }
    st = es10f_prepare_load(j->s, b->key_index, c.certs[0].p, c.certs[0].len, c.certs + 1, c.n - 1,
                            &res);
    job_chain_free(&c);
    st = job_classify(j, st);
    if (st != ST_OK)
        return st == ST_E_CARD_SW || st == ST_E_PROTO ? ST_OK : st;
    switch (res.code) {
    case ES10F_OK:
        *key = ENGINE_KEY_UNUSED;
        break;
    case ES10F_KEY_CONSUMED:
        *key = ENGINE_KEY_CONSUMED;
        break;
    case ES10F_UNKNOWN_KEY:
        *key = ENGINE_KEY_NOT_ON_CARD;
        break;
    default:
        break;
    }
    st_log(ST_LOG_DEBUG, "engine: BPP %" PRId64 ": key %" PRIu32 " probe: %s", b->id, b->key_index,
           es10f_result_name(res.code));
    return ST_OK;
}

/* ---- session and authorisation ---- */

st_t job_authorise(job_ctx_t *j) {
    es10_result_t res;
    char detail[64];
    st_t st;

    j->authorised = false;
    st = job_classify(j, es10f_authorise_fpa_services(j->s, j->dm_key, j->eid, NULL, &res));
    if (st != ST_OK) {
        if (job_transport_lost(st) || st == ST_E_CARD_RESET)
            return st;
        status_detail(st, &res, detail, sizeof(detail));
        j->tally.fault = true;
        job_error(j, ENGINE_FPA_CARD_SW, -1, -1, detail,
                  "the card did not accept the station's authorisation");
        return ST_E_STATE;
    }
    if (res.code != ES10F_OK) {
        snprintf(detail, sizeof(detail), "AuthoriseFpaServices: %s (%u)",
                 es10f_result_name(res.code), res.code);
        j->tally.fault = true;
        job_error(j, ENGINE_FPA_PREPARE_REFUSED, -1, -1, detail,
                  "the card refused the station's authorisation (wrong DM key for this card?)");
        return ST_E_STATE;
    }
    j->authorised = true;
    return ST_OK;
}

/* GetOneTimeKeyStatus into *ks; sets j->locked. */
static st_t key_status(job_ctx_t *j, es10f_key_status_t *ks) {
    es10_result_t res;
    char detail[64];
    st_t st = es10f_get_one_time_key_status(j->s, ks, &res);

    if (st == ST_OK && res.has_code && res.code != ES10F_OK)
        st = ST_E_PROTO;
    st = job_classify(j, st);
    if (st != ST_OK) {
        if (job_transport_lost(st) || st == ST_E_CARD_RESET)
            return st;
        status_detail(st, &res, detail, sizeof(detail));
        j->tally.fault = true;
        job_error(j, ENGINE_FPA_CARD_SW, -1, -1, detail,
                  "the card did not report its one-time keys");
        return ST_E_STATE;
    }
    j->locked = ks->fpa_locked;
    return ST_OK;
}

st_t job_after_reset(job_ctx_t *j) {
    es10_result_t res;
    es10f_key_status_t ks;
    st_t st;

    if (++j->resets > JOB_MAX_RESETS)
        return ST_E_CARD_RESET;
    st_log(ST_LOG_WARN, "engine: %s: card reset (%u), reopening the session", j->reader, j->resets);
    st = es10_reopen(j->s, &res);
    if (st == ST_OK)
        st = key_status(j, &ks);
    if (st == ST_OK && !j->locked)
        st = job_authorise(j);
    return st;
}

/* es10_open, GetEID, eUICC data, key status, authorisation. */
static st_t job_open(job_ctx_t *j) {
    es10_opts_t o;
    es10_result_t res;
    store_euicc_t *eu = NULL;
    X509 *cert = NULL;
    char detail[64];
    st_t st;

    memset(&o, 0, sizeof(o));
    if (j->cfg && j->cfg->card.isdr_aid_len) {
        o.isdr_aid = j->cfg->card.isdr_aid;
        o.isdr_aid_len = j->cfg->card.isdr_aid_len;
    }
    o.block_size = j->cfg ? j->cfg->card.block_size : 0;
    st = es10_open(j->t, &o, &j->s, &res);
    if (st == ST_OK)
        st = es10c_get_eid(j->s, j->eid, &res);
    st = job_classify(j, st);
    if (st != ST_OK) {
        if (job_transport_lost(st) || st == ST_E_CARD_RESET)
            return st;
        status_detail(st, &res, detail, sizeof(detail));
        j->tally.fault = true;
        job_error(j, ENGINE_FPA_CARD_SW, -1, -1, detail,
                  "the card does not answer as an eUICC (wrong ISD-R AID or not an eUICC)");
        return ST_E_STATE;
    }
    eid_to_str(j->eid, j->eid_str);
    pthread_mutex_lock(j->lock);
    j->snap->has_eid = true;
    snprintf(j->snap->eid, sizeof(j->snap->eid), "%s", j->eid_str);
    pthread_mutex_unlock(j->lock);
    snap_changed(j, false);

    st = store_euicc_get(j->store, j->eid, &eu);
    if (st == ST_E_NOENT) {
        j->tally.unknown_card = true;
        job_error(j, -1, -1, -1, NULL,
                  "this card is not known to the station (no eUICC data imported for it)");
        return ST_E_STATE;
    }
    if (st != ST_OK)
        goto out;
    st = cert_from_der(eu->cert_euicc.data, eu->cert_euicc.len, &cert);
    if (st == ST_OK && !(j->euicc_pub = X509_get_pubkey(cert)))
        st = st_from_openssl("X509_get_pubkey");
    if (st != ST_OK) {
        j->tally.fault = true;
        job_error(j, -1, -1, -1, st_name(st), "the stored eUICC certificate of this card is bad");
        st = ST_E_STATE;
        goto out;
    }
    st = key_status(j, &j->keys0);
    if (st != ST_OK)
        goto out;
    if (!j->locked)
        st = job_authorise(j);
out:
    X509_free(cert);
    store_euicc_free(eu);
    return st;
}

/* Recover, then the command's steps. */
static st_t job_steps(job_ctx_t *j) {
    st_t st = job_recover(j);

    if (st != ST_OK)
        return st;
    job_refresh_counts(j);
    switch (j->cmd) {
    case ENGINE_CMD_LOAD:
        st = job_load_all(j);
        if (st == ST_OK)
            st = job_verify(j);
        if (st == ST_OK && j->cfg && j->cfg->policy.delete_keys == CONFIG_DELETE_KEYS_AFTER_LOAD
            && !j->locked && !j->tally.fault && !j->tally.attention) {
            job_refresh_counts(j);
            if (j->tally.remaining == 0)
                st = job_delete_keys(j);
        }
        break;
    case ENGINE_CMD_VERIFY:
        st = job_verify(j);
        break;
    case ENGINE_CMD_DELETE_KEYS:
        st = job_delete_keys(j);
        break;
    }
    return st;
}

static void finish_verdict(job_ctx_t *j) {
    engine_slot_state_t v;

    job_refresh_counts(j);
    v = engine_verdict(&j->tally);
    if (v == ENGINE_SLOT_PASS) {
        pthread_mutex_lock(j->lock);
        j->snap->error[0] = j->snap->detail[0] = '\0';
        j->snap->fpa_error = j->snap->bpp_command_id = j->snap->error_reason = -1;
        pthread_mutex_unlock(j->lock);
        job_event(j, ENGINE_EV_PASS);
    } else if (v == ENGINE_SLOT_ATTENTION) {
        job_event(j, ENGINE_EV_ATTENTION);
    } else {
        if (!j->tally.fault && !j->tally.dead && j->tally.remaining && !j->snap->error[0])
            job_error(j, -1, -1, -1, NULL, "%" PRIu32 " profile(s) still to load for this card",
                      j->tally.remaining);
        job_event(j, ENGINE_EV_FAIL);
    }
    st_log(ST_LOG_INFO,
           "engine: %s: EID %s: %s %s (installed %" PRIu32 ", failed %" PRIu32 ", dead %" PRIu32
           ", left %" PRIu32 ")",
           j->reader, j->eid_str, engine_cmd_name(j->cmd), engine_slot_state_text(v),
           j->tally.installed, j->tally.failed, j->tally.dead, j->tally.remaining);
}

st_t job_run(job_ctx_t *j) {
    transport_counters_t tc;
    st_t st;

    memset(&j->tally, 0, sizeof(j->tally));
    j->tally.cmd = j->cmd;
    transport_counters(j->t, &tc);
    j->apdus0 = tc.apdus;
    pthread_mutex_lock(j->lock);
    j->snap->error[0] = j->snap->detail[0] = '\0';
    j->snap->fpa_error = j->snap->bpp_command_id = j->snap->error_reason = -1;
    j->snap->interrupted = false;
    j->snap->has_eid = false;
    j->snap->eid[0] = '\0';
    j->snap->loaded = j->snap->due = 0;
    j->snap->jobs++;
    pthread_mutex_unlock(j->lock);
    job_event(j, ENGINE_EV_JOB);

    st = job_open(j);
    while (st == ST_E_CARD_RESET && j->resets++ < JOB_MAX_RESETS) {
        job_cleanup(j); /* reset while opening: start the session again */
        st = job_open(j);
    }
    while (st == ST_OK) {
        st = job_steps(j);
        if (st != ST_E_CARD_RESET)
            break;
        st = job_after_reset(j);
    }
    if (st == ST_OK || st == ST_E_STATE) {
        finish_verdict(j);
        return ST_OK;
    }
    if (st == ST_E_CANCELLED) {
        job_error(j, -1, -1, -1, NULL, "stopped: the station is shutting down");
        return st;
    }
    if (job_transport_lost(st)) {
        pthread_mutex_lock(j->lock);
        j->snap->interrupted = true;
        pthread_mutex_unlock(j->lock);
        job_error(j, ENGINE_FPA_INTERRUPTED, -1, -1, st_name(st),
                  "the card was lost during the job; it resumes when the card is inserted again");
        job_event(j, ENGINE_EV_REMOVED);
        return st;
    }
    j->tally.fault = true;
    job_error(j, -1, -1, -1, st_name(st), "station error: %s", st_str(st));
    finish_verdict(j);
    return ST_OK;
}

void job_cleanup(job_ctx_t *j) {
    es10_close(j->s);
    j->s = NULL;
    EVP_PKEY_free(j->euicc_pub);
    j->euicc_pub = NULL;
}
