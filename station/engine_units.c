/*
 * engine_units.c - verdicts counted per device, not per job (engine_internal.h).
 *
 * A card that FAILs, is re-seated and then PASSes is one good unit, not one pass and one
 * fail; a card re-inserted after its PASS is not a second unit. So the tally keeps each EID's
 * latest verdict and moves the unit between the counters when it changes. A verdict without
 * an EID (the card never answered GetEID) cannot be matched to a device: it counts once.
 * Open addressing on the 32 EID digits, doubling at half load; one shift of a 16-reader line
 * (~10^4 units) is a few hundred KiB.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define UNITS_MIN_CAP 1024

/* FNV-1a over the digits. */
static size_t eid_hash(const char *eid) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)eid; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static engine_units_slot_t *find(engine_units_slot_t *v, size_t cap, const char *eid) {
    size_t i = eid_hash(eid) & (cap - 1);
    while (v[i].eid[0] && strcmp(v[i].eid, eid) != 0)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static st_t grow(engine_units_t *t) {
    size_t ncap = t->cap ? 2 * t->cap : UNITS_MIN_CAP;
    engine_units_slot_t *nv = calloc(ncap, sizeof(*nv));

    if (!nv)
        return ST_E_NOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].eid[0])
            *find(nv, ncap, t->v[i].eid) = t->v[i];
    free(t->v);
    t->v = nv;
    t->cap = ncap;
    return ST_OK;
}

static uint64_t *counter(engine_units_t *t, engine_slot_state_t v) {
    switch (v) {
    case ENGINE_SLOT_PASS:
        return &t->passed;
    case ENGINE_SLOT_FAIL:
        return &t->failed;
    case ENGINE_SLOT_ATTENTION:
        return &t->attention;
    default:
        return NULL;
    }
}

bool engine_units_add(engine_units_t *t, const char *eid, engine_slot_state_t v) {
    uint64_t *c = counter(t, v);
    engine_units_slot_t *slot;

    if (!c)
        return false;
    t->verdicts++;
    if (!eid || !eid[0] || strlen(eid) >= sizeof(slot->eid)) {
        (*c)++;
        return true;
    }
    if ((t->used + 1) * 2 > t->cap && grow(t) != ST_OK) {
        (*c)++; /* out of memory: count the verdict, lose only the de-duplication */
        return true;
    }
    slot = find(t->v, t->cap, eid);
    if (slot->eid[0]) {
        /* the same unit again: its counter moves only if its verdict changed */
        if (slot->verdict != v) {
            (*counter(t, slot->verdict))--;
            (*c)++;
            slot->verdict = v;
        }
        return false;
    }
    strcpy(slot->eid, eid);
    t->used++;
    slot->verdict = v;
    (*c)++;
    return true;
}

void engine_units_free(engine_units_t *t) {
    if (!t)
        return;
    free(t->v);
    memset(t, 0, sizeof(*t));
}
