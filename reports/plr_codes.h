/*
 * plr_codes.h - fpaErrorCode: why a BPP produced no successful ProfileInstallationResult
 * (failed entries of a Profile Loading Report, docs/ifpp-files.asn IfppResult, ESBPP03).
 *
 * X-macro: C name, value, identifier (as printed and documented), operator text. The values
 * are the ones the engine records in the store (store_change_t.fpa_error_code, copied into the
 * result of a dead BPP; station/engine.h ENGINE_FPA_ERRORS): test_plr checks that both tables
 * agree. Values are stable: append only, never renumber (reports already delivered carry them).
 * Code 8 (retriesExhausted) is not written any more: a BPP that failed max_retries + 1 times
 * carries the code of its last failure's cause (1, 3, 5, 6...) and its text ends in "retries
 * exhausted after N attempts"; readers still accept 8 from reports of older stations.
 * docs/profile-loading-reports.md has the table for the SM-DPf and the MSP.
 *
 * A failed entry carries the card's BF37 only when the card gave one that is an eUICC-signed
 * error result for that transaction (euiccError, code 1, typically); any other BF37 (e.g. a
 * success result whose signature does not verify, code 2) stays in the store's attempt table
 * and the entry's text says it was withheld, so that the SM-DPf's checks (DPFF06: a PIR in a
 * report always verifies with CERT.EUICC) hold for every report the station writes.
 */
#ifndef IFPP_PLR_CODES_H
#define IFPP_PLR_CODES_H

// clang-format off
#define PLR_FPA_ERRORS(X)                                                                          \
    X(PLR_FPA_UNSPECIFIED, 0, "unspecified",                                                       \
      "no FPA error code was recorded (see the text)")                                             \
    X(PLR_FPA_EUICC_ERROR, 1, "euiccError",                                                        \
      "the eUICC refused the profile; its signed BF37 gives the SGP.22 command and reason")        \
    X(PLR_FPA_PIR_SIGNATURE_INVALID, 2, "pirSignatureInvalid",                                     \
      "the installation result is not signed by this eUICC")                                       \
    X(PLR_FPA_PREPARE_LOAD_REFUSED, 3, "prepareLoadRefused",                                       \
      "the eUICC refused PrepareLoad (SM-DPf certificate, role or one-time key)")                  \
    X(PLR_FPA_KEY_CONSUMED, 4, "keyConsumedWithoutResult",                                         \
      "the one-time key of this BPP is used up but no installation result was obtained")           \
    X(PLR_FPA_CARD_REFUSED, 5, "cardRefused",                                                      \
      "the card refused a command with a status word (e.g. AuthoriseFpaServices)")                 \
    X(PLR_FPA_TRANSPORT_ERROR, 6, "transportError",                                                \
      "the card or reader answered something unexpected (FPA/transport protocol error)")           \
    X(PLR_FPA_CARD_UNREACHABLE, 7, "cardUnreachable",                                              \
      "the load was interrupted: card pulled or damaged, reader lost, station stopped")            \
    X(PLR_FPA_RETRIES_EXHAUSTED, 8, "retriesExhausted",                                            \
      "the BPP failed too many times and will not be tried again (older stations only)")           \
    X(PLR_FPA_BPP_DAMAGED, 9, "bppDamaged",                                                        \
      "the stored BPP is damaged and was not sent to the card")                                    \
    X(PLR_FPA_KEYS_DELETED, 10, "keysDeleted",                                                     \
      "the eUICC's one-time keys were deleted before this BPP was loaded")                         \
    X(PLR_FPA_UNKNOWN_KEY, 11, "unknownKey",                                                       \
      "the eUICC does not know the one-time key this BPP is bound to")
// clang-format on

typedef enum {
#define PLR_X_ENUM(name, value, ident, text) name = value,
    PLR_FPA_ERRORS(PLR_X_ENUM)
#undef PLR_X_ENUM
} plr_fpa_code_t;

/* Identifier ("euiccError") of a code; "unknown" for a value not in the table. Static. */
const char *plr_fpa_name(unsigned code);
/* Operator text of a code; a generic text for a value not in the table. Static, never NULL. */
const char *plr_fpa_text(unsigned code);

#endif
