/*
 * engine_policy.c - the engine's pure functions: names, the per-reader transition table
 * (engine.h), the settle rule for a BPP in loading (engine_internal.h), the verdict and the
 * units/hour figure. No I/O, no locks: unit-tested as tables (tests/unit/test_engine.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "engine_internal.h"

static const char *const slot_names[] = {
#define X_NAME(st, name, text) name,
    ENGINE_SLOT_STATES(X_NAME)
#undef X_NAME
};

static const char *const slot_texts[] = {
#define X_TEXT(st, name, text) text,
    ENGINE_SLOT_STATES(X_TEXT)
#undef X_TEXT
};

const char *engine_slot_state_name(engine_slot_state_t s) {
    return (unsigned)s < ENGINE_SLOT__COUNT ? slot_names[s] : "?";
}

const char *engine_slot_state_text(engine_slot_state_t s) {
    return (unsigned)s < ENGINE_SLOT__COUNT ? slot_texts[s] : "?";
}

bool engine_slot_busy(engine_slot_state_t s) {
    return s >= ENGINE_SLOT_AUTHORISING && s <= ENGINE_SLOT_DELETING;
}

const char *engine_cmd_name(engine_cmd_t c) {
    switch (c) {
    case ENGINE_CMD_LOAD:
        return "load";
    case ENGINE_CMD_VERIFY:
        return "verify";
    case ENGINE_CMD_DELETE_KEYS:
        return "delete-keys";
    }
    return "?";
}

const char *engine_fpa_error_text(int code) {
    switch (code) {
#define X_FPA(name, value, text)                                                                   \
    case value:                                                                                    \
        return text;
        ENGINE_FPA_ERRORS(X_FPA)
#undef X_FPA
    }
    return "unknown error";
}

const char *engine_settle_name(engine_settle_t s) {
    switch (s) {
    case ENGINE_SETTLE_INSTALLED:
        return "installed";
    case ENGINE_SETTLE_FAILED:
        return "failed";
    case ENGINE_SETTLE_DEAD:
        return "dead";
    case ENGINE_SETTLE_PENDING:
        return "pending";
    case ENGINE_SETTLE_ATTENTION:
        return "attention";
    }
    return "?";
}

/* The transition table of engine.h, row by row. */
engine_slot_state_t engine_slot_next(engine_slot_state_t s, engine_event_t ev) {
    bool job = engine_slot_busy(s);
    bool verdict = s == ENGINE_SLOT_PASS || s == ENGINE_SLOT_FAIL || s == ENGINE_SLOT_ATTENTION;

    switch (ev) {
    case ENGINE_EV_INSERTED:
        return (s == ENGINE_SLOT_EMPTY || s == ENGINE_SLOT_GONE) ? ENGINE_SLOT_PRESENT : s;
    case ENGINE_EV_GONE:
        return ENGINE_SLOT_GONE;
    case ENGINE_EV_REMOVED:
        return (job || verdict || s == ENGINE_SLOT_PRESENT) ? ENGINE_SLOT_EMPTY : s;
    case ENGINE_EV_JOB:
        return (verdict || s == ENGINE_SLOT_PRESENT) ? ENGINE_SLOT_AUTHORISING : s;
    case ENGINE_EV_RECOVER:
        return s == ENGINE_SLOT_AUTHORISING ? ENGINE_SLOT_RECOVERING : s;
    case ENGINE_EV_LOAD:
        return (s == ENGINE_SLOT_AUTHORISING || s == ENGINE_SLOT_RECOVERING) ? ENGINE_SLOT_LOADING
                                                                             : s;
    case ENGINE_EV_VERIFY:
        return (s == ENGINE_SLOT_AUTHORISING || s == ENGINE_SLOT_RECOVERING
                || s == ENGINE_SLOT_LOADING)
                   ? ENGINE_SLOT_VERIFYING
                   : s;
    case ENGINE_EV_DELETE:
        return (s == ENGINE_SLOT_AUTHORISING || s == ENGINE_SLOT_RECOVERING
                || s == ENGINE_SLOT_VERIFYING)
                   ? ENGINE_SLOT_DELETING
                   : s;
    case ENGINE_EV_PASS:
        return (s == ENGINE_SLOT_VERIFYING || s == ENGINE_SLOT_DELETING) ? ENGINE_SLOT_PASS : s;
    case ENGINE_EV_FAIL:
        return job ? ENGINE_SLOT_FAIL : s;
    case ENGINE_EV_ATTENTION:
        return job ? ENGINE_SLOT_ATTENTION : s;
    }
    return s;
}

static engine_settle_decision_t decision(engine_settle_t to, int fpa, const char *why) {
    engine_settle_decision_t d;
    d.to = to;
    d.fpa_error = fpa;
    d.why = why;
    d.attempts = 0;
    return d;
}

/* FAILED while retries remain, DEAD after: with the code of the cause (a report must say what
 * went wrong, not only that it went wrong too often); the text counts the attempts. */
static engine_settle_decision_t failed_or_dead(const engine_settle_facts_t *f, int fpa,
                                               const char *why) {
    engine_settle_decision_t d;
    if (f->retries < f->max_retries)
        return decision(ENGINE_SETTLE_FAILED, fpa, why);
    d = decision(ENGINE_SETTLE_DEAD, fpa, why);
    d.attempts = f->retries < UINT32_MAX ? f->retries + 1 : UINT32_MAX;
    return d;
}

void engine_settle_text(const engine_settle_decision_t *d, char *out, size_t n) {
    const char *why = d->why ? d->why : engine_fpa_error_text(d->fpa_error);
    if (!n)
        return;
    if (d->attempts)
        snprintf(out, n, "%s (retries exhausted after %" PRIu32 " attempt%s)", why, d->attempts,
                 d->attempts == 1 ? "" : "s");
    else
        snprintf(out, n, "%s", why);
}

/* The key is gone for good: DEAD with the matching reason, or NULL-why when it is not. */
static bool key_gone(engine_key_state_t k, engine_settle_decision_t *d, int consumed_fpa,
                     const char *consumed_why) {
    switch (k) {
    case ENGINE_KEY_CONSUMED:
        *d = decision(ENGINE_SETTLE_DEAD, consumed_fpa, consumed_why);
        return true;
    case ENGINE_KEY_DELETED:
        *d = decision(ENGINE_SETTLE_DEAD, ENGINE_FPA_KEYS_DELETED,
                      "the card's one-time keys were deleted before this profile was loaded");
        return true;
    case ENGINE_KEY_NOT_ON_CARD:
        *d = decision(ENGINE_SETTLE_DEAD, ENGINE_FPA_UNKNOWN_KEY,
                      "the card does not have the one-time key this profile was bound to");
        return true;
    case ENGINE_KEY_UNKNOWN:
    case ENGINE_KEY_UNUSED:
        break;
    }
    return false;
}

engine_settle_decision_t engine_settle_decide(const engine_settle_facts_t *f) {
    engine_settle_decision_t d;

    if (f->pir == ENGINE_PIR_SUCCESS) {
        if (f->pir_verified)
            return decision(ENGINE_SETTLE_INSTALLED, ENGINE_FPA_NONE, "installed");
        return decision(ENGINE_SETTLE_ATTENTION, ENGINE_FPA_PIR_SIGNATURE,
                        "the card reports the profile installed but its result does not "
                        "verify: check the card and its eUICC data");
    }
    if (f->pir == ENGINE_PIR_ERROR) {
        if (key_gone(f->key, &d, ENGINE_FPA_PIR_ERROR,
                     "the card refused the profile and used up its one-time key"))
            return d;
        return failed_or_dead(f, ENGINE_FPA_PIR_ERROR, "the card refused the profile");
    }
    if (f->iccid_on_card)
        return decision(ENGINE_SETTLE_ATTENTION, ENGINE_FPA_INTERRUPTED,
                        "the profile is on the card but its installation result is missing: "
                        "not loaded again, check by hand");
    if (key_gone(f->key, &d, ENGINE_FPA_KEY_CONSUMED,
                 "the card used the one-time key without installing the profile"))
        return d;
    if (f->refused)
        return failed_or_dead(f, f->refused_fpa, "the card refused the load");
    if (f->key == ENGINE_KEY_UNUSED)
        return decision(ENGINE_SETTLE_PENDING, ENGINE_FPA_NONE,
                        "the load was interrupted before it changed the card");
    return decision(ENGINE_SETTLE_ATTENTION, ENGINE_FPA_INTERRUPTED,
                    "an interrupted load cannot be checked on this card");
}

/*
 * Verdict rules, first match wins:
 *   unknown card or a BPP needing attention     ATTENTION
 *   a step failed (fault)                       FAIL
 *   a BPP died in this job                      FAIL
 *   load: live BPPs left for the card           FAIL (failed ones wait for the next insertion)
 *   otherwise                                   PASS
 * A BPP that failed and then loaded on its retry in the same job does not fail the card.
 */
engine_slot_state_t engine_verdict(const engine_tally_t *t) {
    if (t->unknown_card || t->attention)
        return ENGINE_SLOT_ATTENTION;
    if (t->fault || t->dead)
        return ENGINE_SLOT_FAIL;
    if (t->cmd == ENGINE_CMD_LOAD && t->remaining)
        return ENGINE_SLOT_FAIL;
    return ENGINE_SLOT_PASS;
}

double engine_units_per_hour(const int64_t *times, size_t n, int64_t now_ms, int64_t started_ms) {
    const int64_t hour = 3600 * 1000;
    int64_t span = now_ms - started_ms;
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (times[i] <= now_ms && now_ms - times[i] < hour)
            k++;
    if (span >= hour)
        return (double)k;
    if (span < 60 * 1000)
        span = 60 * 1000;
    return (double)k * (double)hour / (double)span;
}

int64_t engine_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
