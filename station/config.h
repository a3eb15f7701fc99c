/*
 * config.h - the station configuration: one INI file (read with libinih), default
 * /etc/ifpp-station/station.conf. Every key is optional; a missing key takes the default shown.
 * Unknown sections and keys, repeated single keys and bad values are errors that name
 * file:line, the key and why. Relative paths are taken relative to the file's directory (so
 * a configuration written next to its PKI, as `ifpp-testkit pki init` does, can be moved).
 * Lines are at most 198 characters; ';' or '#' start a comment line, " ;" an inline comment.
 * Leading whitespace is ignored (no multi-line values).
 *
 *   [station]
 *   id = line3-st1              station id in reports: 1..63 of [A-Za-z0-9._-]; default the
 *                               host name (or "ifpp-station")
 *   state_dir = /var/lib/ifpp-station     database, lock, APDU logs (--state-dir overrides)
 *   operator_pin_file = pins    operator PINs for the console; default none (no login)
 *   shift_hours = 8             1..24: length of a production shift (status: yield per shift)
 *   shift_start = 6             0..23: UTC hour at which a shift starts (shifts tile the day
 *                               from there)
 *
 *   [store]
 *   busy_timeout_ms = 5000      0..600000: wait for another process's database lock
 *
 *   [trust]
 *   ci = ci-nist.pem            GSMA CI certificate (PEM/DER) trusted for EUM and SM-DPf
 *   ci = ci-brainpool.pem       chains; repeatable; none = nothing is trusted
 *
 *   [smdpf]
 *   allowed = 2.999.10, 2.999.11   SM-DPf OIDs (registeredID of CERT.DPpb) whose bundles
 *                                  are imported; comma-separated, the key may be repeated
 *                                  (the lists add up); none = no bundle is accepted
 *
 *   [dm]
 *   id = acme-factory-7         DM id in requests and reports, as [station] id; default the
 *                               station id
 *   key = dm.key                DM signing key (PEM, 0600) for .ifppr/.ifppl and FF40
 *   cert = dm.pem               its certificate; key and cert go together
 *   chain = dm-chain.pem        intermediate certificates; optional
 *
 *   [card]
 *   isdr_aid = A0000005591010FFFFFFFF8900000100   hex, 5..16 bytes (spaces/colons allowed)
 *   block_size = 120            STORE DATA block size 1..255 (255 where the card takes it)
 *   apdu_timeout_ms = 30000     100..600000
 *
 *   [readers]
 *   max = 16                    1..16 (pcsc-lite 1.9.9 serves 16 readers per pcscd)
 *   slot.A1 = Gemalto PC Twin Reader (3F0A1B2C)   station position label (after "slot.":
 *   slot.A2 = (3F0A1B2D)        1..16 of [A-Za-z0-9_-]) -> reader: a PC/SC name without its
 *                               trailing " DD SS", or just its "(serial)" part; at most `max`
 *                               slots, labels and readers unique
 *
 *   [policy]
 *   unknown_eid = refuse        refuse | hold: a BPP (or card) whose EID has no imported
 *                               eUICC data is refused at import, or held until the data comes
 *   delete_keys = manual        manual | after-load: DeleteOneTimeKeys only on the operator's
 *                               command, or as soon as no BPP is left for that card
 *   max_retries = 3             0..100 failed -> loading retries before a BPP is dead
 */
#ifndef IFPP_CONFIG_H
#define IFPP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define CONFIG_DEFAULT_PATH "/etc/ifpp-station/station.conf"
#define CONFIG_MAX_READERS  16 /* pcsc-lite 1.9.9: reader slots per pcscd */
#define CONFIG_ID_MAX       63 /* station and DM ids (ifpp files carry char[64]) */
#define CONFIG_AID_MAX      16

typedef enum {
    CONFIG_UNKNOWN_EID_REFUSE = 0,
    CONFIG_UNKNOWN_EID_HOLD = 1,
} config_unknown_eid_t;

typedef enum {
    CONFIG_DELETE_KEYS_MANUAL = 0,
    CONFIG_DELETE_KEYS_AFTER_LOAD = 1,
} config_delete_keys_t;

typedef struct {
    char *label;  /* station position, e.g. "A1" */
    char *reader; /* reader name without " DD SS", or "(serial)" */
} config_slot_t;

/* A loaded configuration. Every string is owned by the struct (config_free); paths are
 * absolute or relative to the working directory, already resolved against the file's
 * directory. NULL means "not configured". */
typedef struct {
    char *path; /* the file it came from; NULL for pure defaults */
    struct {
        char *id;
        char *state_dir;
        char *operator_pin_file;
        int shift_hours;
        int shift_start;
    } station;
    struct {
        int busy_timeout_ms;
    } store;
    struct {
        char **ci;
        size_t n_ci;
    } trust;
    struct {
        char **allowed; /* dotted OIDs */
        size_t n_allowed;
    } smdpf;
    struct {
        char *id;
        char *key;
        char *cert;
        char *chain;
    } dm;
    struct {
        uint8_t isdr_aid[CONFIG_AID_MAX];
        size_t isdr_aid_len;
        unsigned block_size;
        unsigned apdu_timeout_ms;
    } card;
    struct {
        unsigned max;
        config_slot_t *slots;
        size_t n_slots;
    } readers;
    struct {
        config_unknown_eid_t unknown_eid;
        config_delete_keys_t delete_keys;
        unsigned max_retries;
    } policy;
} config_t;

/*
 * Loads `path` (NULL: defaults only). Caller owns *out (config_free). ST_E_NOENT when the file
 * does not exist, ST_E_CONFIG for anything wrong in it, ST_E_IO/ST_E_PERM when it cannot be
 * read. On failure `err` (may be NULL) receives one line for the operator, e.g.
 * "station.conf:12: [card] block_size = 300: out of range 1..255"; nothing is logged above
 * debug level (the caller prints it).
 */
st_t config_load(const char *path, config_t **out, char *err, size_t err_len);

/* NULL-tolerant. */
void config_free(config_t *cfg);

/* True when `oid` is in [smdpf] allowed. */
bool config_smdpf_allowed(const config_t *cfg, const char *oid);

/* The slot label of a reader (matched by full name without " DD SS" or by "(serial)"), or
 * NULL. Borrowed from cfg. */
const char *config_slot_label(const config_t *cfg, const char *reader_name);

#endif
