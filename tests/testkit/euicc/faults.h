/*
 * faults.h - the simulated eUICC's knobs (DESIGN §7): a link model (per-APDU latency and bit
 * rate, to look like a real reader) and fault injection, applied by the vpcd front end.
 *
 * SPEC is a comma-separated list; N counts C-APDUs from 1 over the life of the process
 * (control messages such as ATR polls do not count):
 *   drop@N       close the vpcd connection instead of answering APDU N (the card is "pulled";
 *                the simulator reconnects, i.e. is inserted again, unpowered)
 *   corrupt@N    answer APDU N normally, then flip one byte of the response (the middle byte
 *                of the data, or SW2 when there is no data)
 *   6f00@N       answer APDU N with 6F00 without processing it
 *   stall@N:MS   wait MS milliseconds before processing APDU N
 */
#ifndef IFPP_EUICC_FAULTS_H
#define IFPP_EUICC_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"

#define FAULTS_MAX 64

typedef enum {
    FAULT_DROP = 0,
    FAULT_CORRUPT = 1,
    FAULT_SW_6F00 = 2,
    FAULT_STALL = 3,
} fault_kind_t;

typedef struct {
    fault_kind_t kind;
    uint64_t at;       /* APDU number, 1-based */
    unsigned stall_ms; /* FAULT_STALL */
} fault_t;

typedef struct {
    unsigned latency_ms; /* fixed cost per APDU */
    unsigned bps;        /* link bit rate; 0 = infinite. Cost: bytes * 10 / bps seconds */
    fault_t faults[FAULTS_MAX];
    size_t n_faults;
} card_knobs_t;

/* Parses SPEC (above) into k->faults; ST_E_PARSE naming the bad item in the log. */
st_t faults_parse(const char *spec, card_knobs_t *k);

/* The fault of kind `kind` scheduled for APDU n, or NULL. */
const fault_t *faults_find(const card_knobs_t *k, uint64_t n, fault_kind_t kind);

/* Microseconds the link model charges for one exchange of `bytes` bytes (C-APDU + R-APDU). */
uint64_t knobs_delay_us(const card_knobs_t *k, size_t bytes);

/* Flips one byte of an R-APDU (corrupt@N). */
void faults_corrupt(buf_t *rapdu, size_t start);

#endif
