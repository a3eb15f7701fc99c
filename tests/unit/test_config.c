/* Unit tests: the station configuration (INI): a full good file, defaults, every kind of bad
 * value, unknown sections and keys, duplicates, cross-key checks, missing file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

static char *conf_dir;

/* Writes `text` to DIR/name and returns the malloc'd path. */
static char *write_conf(const char *name, const char *text) {
    char *path = NULL;
    FILE *f;

    if (!conf_dir)
        conf_dir = tu_tmpdir("config");
    CU_ASSERT_FATAL(conf_dir && asprintf(&path, "%s/%s", conf_dir, name) > 0);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static const char good[] = "; station configuration\n"
                           "[station]\n"
                           "id = line3-st1\n"
                           "state_dir = /var/lib/ifpp-test\n"
                           "operator_pin_file = pins\n"
                           "\n"
                           "[store]\n"
                           "busy_timeout_ms = 250\n"
                           "[trust]\n"
                           "ci = ci-nist.pem\n"
                           "ci = /etc/ifpp/ci-bp.pem   ; inline comment\n"
                           "[smdpf]\n"
                           "allowed = 2.999.10, 2.999.11\n"
                           "allowed = 1.3.6.1.4.1.31746.1.1,2.999.10\n"
                           "[dm]\n"
                           "  id = acme-7\n" /* indented keys are fine */
                           "  key = dm.key\n"
                           "  cert = dm.pem\n"
                           "  chain = sub/dm-chain.pem\n"
                           "# card\n"
                           "[card]\n"
                           "isdr_aid = A0 00 00 05 59 10 10 FF FF FF FF 89 00 00 01 00\n"
                           "block_size = 255\n"
                           "apdu_timeout_ms = 5000\n"
                           "[readers]\n"
                           "max = 4\n"
                           "slot.A1 = Gemalto PC Twin Reader (3F0A1B2C)\n"
                           "slot.A2 = (3F0A1B2D)\n"
                           "[policy]\n"
                           "unknown_eid = hold\n"
                           "delete_keys = after-load\n"
                           "max_retries = 0\n";

static void test_good_file(void) {
    char *path = write_conf("good.conf", good), *want = NULL;
    char err[256] = "x";
    config_t *c = NULL;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

    CU_ASSERT_EQUAL_FATAL(config_load(path, &c, err, sizeof(err)), ST_OK);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_STRING_EQUAL(c->path, path);
    CU_ASSERT_STRING_EQUAL(c->station.id, "line3-st1");
    CU_ASSERT_STRING_EQUAL(c->station.state_dir, "/var/lib/ifpp-test");
    CU_ASSERT_FATAL(asprintf(&want, "%s/pins", conf_dir) > 0);
    CU_ASSERT_STRING_EQUAL(c->station.operator_pin_file, want); /* relative to the file */
    free(want);
    CU_ASSERT_EQUAL(c->store.busy_timeout_ms, 250);
    CU_ASSERT_EQUAL_FATAL(c->trust.n_ci, 2);
    CU_ASSERT_STRING_EQUAL(c->trust.ci[1], "/etc/ifpp/ci-bp.pem");
    CU_ASSERT_EQUAL_FATAL(c->smdpf.n_allowed, 3); /* the lists add up, duplicates once */
    CU_ASSERT_STRING_EQUAL(c->smdpf.allowed[0], "2.999.10");
    CU_ASSERT_STRING_EQUAL(c->smdpf.allowed[2], "1.3.6.1.4.1.31746.1.1");
    CU_ASSERT_TRUE(config_smdpf_allowed(c, "2.999.11"));
    CU_ASSERT_FALSE(config_smdpf_allowed(c, "2.999.1"));
    CU_ASSERT_STRING_EQUAL(c->dm.id, "acme-7");
    CU_ASSERT_FATAL(asprintf(&want, "%s/sub/dm-chain.pem", conf_dir) > 0);
    CU_ASSERT_STRING_EQUAL(c->dm.chain, want);
    free(want);
    CU_ASSERT_EQUAL(c->card.isdr_aid_len, sizeof(aid));
    CU_ASSERT_EQUAL(memcmp(c->card.isdr_aid, aid, sizeof(aid)), 0);
    CU_ASSERT_EQUAL(c->card.block_size, 255);
    CU_ASSERT_EQUAL(c->card.apdu_timeout_ms, 5000);
    CU_ASSERT_EQUAL(c->readers.max, 4);
    CU_ASSERT_EQUAL_FATAL(c->readers.n_slots, 2);
    CU_ASSERT_STRING_EQUAL(c->readers.slots[0].label, "A1");
    CU_ASSERT_STRING_EQUAL(c->readers.slots[0].reader, "Gemalto PC Twin Reader (3F0A1B2C)");
    CU_ASSERT_EQUAL(c->policy.unknown_eid, CONFIG_UNKNOWN_EID_HOLD);
    CU_ASSERT_EQUAL(c->policy.delete_keys, CONFIG_DELETE_KEYS_AFTER_LOAD);
    CU_ASSERT_EQUAL(c->policy.max_retries, 0);

    /* slots are found by name without " DD SS", or by the "(serial)" part */
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "Gemalto PC Twin Reader (3F0A1B2C) 00 00"), "A1");
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "Gemalto PC Twin Reader (3F0A1B2C)"), "A1");
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "Other Reader (3F0A1B2D) 01 00"), "A2");
    CU_ASSERT_PTR_NULL(config_slot_label(c, "Gemalto PC Twin Reader (3F0A1B2C) 00"));
    CU_ASSERT_PTR_NULL(config_slot_label(c, "Unknown Reader 00 00"));
    /* names of 6 characters or fewer: no suffix to strip (checked before any arithmetic) */
    CU_ASSERT_PTR_NULL(config_slot_label(c, " 00 00"));
    CU_ASSERT_PTR_NULL(config_slot_label(c, "ab"));
    CU_ASSERT_PTR_NULL(config_slot_label(c, ""));
    config_free(c);
    free(path);
}

/* fuzz-config finding: a configured name that itself ends like " DD SS" ("44 4A 69") did not
 * match its own reader "44 4A 69 00 00" (the identity rule read " 4A 69" as a suffix). */
static void test_slot_name_like_suffix(void) {
    char *path = write_conf("suffixlike.conf", "[readers]\n"
                                               "slot.max = 44 4A 69\n"
                                               "slot.B = Reader 12 34\n");
    config_t *c = NULL;
    char err[256];

    CU_ASSERT_EQUAL_FATAL(config_load(path, &c, err, sizeof(err)), ST_OK);
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "44 4A 69 00 00"), "max");
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "44 4A 69 03 00"), "max");
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "Reader 12 34 00 00"), "B");
    CU_ASSERT_PTR_NULL(config_slot_label(c, "Reader 12 35 00 00"));
    config_free(c);
    free(path);
}

/* Multi-slot readers (vpcd, dual-slot CCID): the slot index SS tells the fixture slots apart,
 * the plug-order index DD does not. */
static void test_multi_slot_identity(void) {
    char *path = write_conf("slots.conf", "[readers]\n"
                                          "slot.S0 = FPA-SIM 00 00\n"
                                          "slot.S1 = FPA-SIM 01\n"
                                          "slot.T = Single Reader\n");
    config_t *c = NULL;
    char err[256];

    CU_ASSERT_EQUAL_FATAL(config_load(path, &c, err, sizeof(err)), ST_OK);
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "FPA-SIM 00 00"), "S0");
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "FPA-SIM 02 00"), "S0"); /* replugged */
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "FPA-SIM 00 01"), "S1");
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "FPA-SIM 03 01"), "S1");
    CU_ASSERT_PTR_NULL(config_slot_label(c, "FPA-SIM 00 02"));
    CU_ASSERT_STRING_EQUAL(config_slot_label(c, "Single Reader 01 00"), "T");
    config_free(c);
    free(path);
}

static void test_defaults(void) {
    char *path = write_conf("empty.conf", "# nothing here\n\n[station]\n");
    config_t *c = NULL;

    CU_ASSERT_EQUAL_FATAL(config_load(NULL, &c, NULL, 0), ST_OK);
    CU_ASSERT_PTR_NULL(c->path);
    CU_ASSERT_PTR_NOT_NULL(c->station.id);
    CU_ASSERT_STRING_EQUAL(c->dm.id ? c->dm.id : "", "");
    config_free(c);
    c = NULL;
    CU_ASSERT_EQUAL_FATAL(config_load(path, &c, NULL, 0), ST_OK);
    CU_ASSERT_PTR_NOT_NULL(c->station.id);
    CU_ASSERT_STRING_EQUAL(c->dm.id, c->station.id); /* DM id defaults to the station id */
    CU_ASSERT_PTR_NOT_NULL(strstr(c->station.state_dir, "/lib/ifpp-station"));
    CU_ASSERT_PTR_NULL(c->station.operator_pin_file);
    CU_ASSERT_EQUAL(c->store.busy_timeout_ms, 5000);
    CU_ASSERT_EQUAL(c->trust.n_ci, 0);
    CU_ASSERT_EQUAL(c->smdpf.n_allowed, 0);
    CU_ASSERT_PTR_NULL(c->dm.key);
    CU_ASSERT_EQUAL(c->card.isdr_aid_len, 16);
    CU_ASSERT_EQUAL(c->card.isdr_aid[0], 0xA0);
    CU_ASSERT_EQUAL(c->card.isdr_aid[15], 0x00);
    CU_ASSERT_EQUAL(c->card.block_size, 120);
    CU_ASSERT_EQUAL(c->card.apdu_timeout_ms, 30000);
    CU_ASSERT_EQUAL(c->readers.max, 16);
    CU_ASSERT_EQUAL(c->readers.n_slots, 0);
    CU_ASSERT_EQUAL(c->policy.unknown_eid, CONFIG_UNKNOWN_EID_REFUSE);
    CU_ASSERT_EQUAL(c->policy.delete_keys, CONFIG_DELETE_KEYS_MANUAL);
    CU_ASSERT_EQUAL(c->policy.max_retries, 3);
    config_free(c);
    config_free(NULL);
    free(path);
}

typedef struct {
    const char *text;
    const char *want; /* substrings of the message after "FILE:" */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    /* bad values, one per kind */
    {"[card]\nblock_size = 300\n", ":2: [card] block_size = 300: out of range 1..255"},
    {"[card]\nblock_size = 0\n", ":2: [card] block_size = 0: out of range 1..255"},
    {"[card]\nblock_size = 12a\n", ":2: [card] block_size = 12a: not a decimal number"},
    {"[card]\nblock_size = -1\n", "not a decimal number"},
    {"[card]\nblock_size =\n", ":2: [card] block_size = : not a decimal number"},
    {"[card]\napdu_timeout_ms = 99\n", "out of range 100..600000"},
    {"[card]\nisdr_aid = A00000055\n", ":2: [card] isdr_aid = A00000055: not hex"},
    {"[card]\nisdr_aid = A0000005\n", "an AID is 5..16 bytes"},
    {"[card]\nisdr_aid = A0000005591010FFFFFFFF890000010000\n", "an AID is 5..16 bytes"},
    {"[readers]\nmax = 17\n", "[readers] max = 17: out of range 1..16"},
    {"[readers]\nslot.A 1 = x\n", "slot label"},
    {"[readers]\nslot. = x\n", "slot label"},
    {"[readers]\nslot.A1 = r1\nslot.A1 = r2\n",
     ":3: [readers] slot.A1 = r2: slot label given twice"},
    {"[readers]\nslot.A1 = r1\nslot.A2 = r1\n", ":3: [readers] slot.A2 = r1: reader already"},
    {"[readers]\nslot.A1 =\n", "empty reader name"},
    {"[station]\nid = line 3\n", ":2: [station] id = line 3: 1..63 characters"},
    {"[station]\nstate_dir =\n", "[station] state_dir = : empty path"},
    {"[dm]\nid = a/b\n", "[dm] id = a/b: 1..63 characters"},
    {"[smdpf]\nallowed = 2.999.10,,2.999.11\n", "empty element in the OID list"},
    {"[smdpf]\nallowed = 2.999.10,\n", "empty element in the OID list"},
    {"[smdpf]\nallowed = 2.999.x\n", "'2.999.x' is not a dotted OID"},
    {"[smdpf]\nallowed = 3.1\n", "'3.1' is not a dotted OID"},
    {"[smdpf]\nallowed = 2.0999\n", "'2.0999' is not a dotted OID"},
    {"[smdpf]\nallowed = 2\n", "'2' is not a dotted OID"},
    {"[smdpf]\nallowed = 2.999.\n", "'2.999.' is not a dotted OID"},
    {"[policy]\nunknown_eid = maybe\n", ":2: [policy] unknown_eid = maybe: refuse or hold"},
    {"[policy]\ndelete_keys = now\n", "manual or after-load expected"},
    {"[policy]\nmax_retries = 101\n", "out of range 0..100"},
    {"[store]\nbusy_timeout_ms = 9999999\n", "out of range 0..600000"},
    /* unknown keys and sections, structure */
    {"[card]\nblock_size = 100\nblocksize = 100\n",
     ":3: unknown key 'blocksize' in section [card]"},
    {"[station]\nid = a\n[stations]\n", ":3: unknown section [stations]"},
    {"[cards]\nblock_size = 1\n", ":1: unknown section [cards]"},
    {"id = a\n", ":1: 'id' outside any section"},
    {"[card]\nblock_size = 100\n\nblock_size = 110\n",
     ":4: [card] block_size given twice (first at line 2)"},
    {"[card]\nblock_size\n", ":2: syntax error"},
    {"[card\n", ":1: syntax error"},
    /* cross-key checks */
    {"[readers]\nmax = 1\nslot.A1 = r1\nslot.A2 = r2\n",
     ": [readers] 2 slots configured but max = 1"},
    {"[dm]\nkey = dm.key\n", ": [dm] key and cert go together (only key is given)"},
    {"[dm]\ncert = dm.pem\nchain = c.pem\n", "(only cert is given)"},
};

static void test_bad_values(void) {
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        char *path = write_conf("bad.conf", bad_cases[i].text);
        char err[256] = "";
        config_t *c = NULL;
        st_t st = config_load(path, &c, err, sizeof(err));
        int named = strncmp(err, path, strlen(path)) == 0;
        int has = strstr(err, bad_cases[i].want) != NULL;

        if (st != ST_E_CONFIG || !named || !has)
            fprintf(stderr, "\ncase %zu: %s\n  got  '%s'\n  want '%s'\n", i, st_name(st), err,
                    bad_cases[i].want);
        CU_ASSERT_EQUAL(st, ST_E_CONFIG);
        CU_ASSERT_PTR_NULL(c);
        CU_ASSERT_TRUE(named);
        CU_ASSERT_TRUE(has);
        config_free(c);
        free(path);
    }
}

static void test_line_limits(void) {
    char text[512], err[256] = "";
    char *path;
    config_t *c = NULL;

    /* 198 characters is the longest line; one more is refused, not split. */
    snprintf(text, sizeof(text), "[station]\nstate_dir = /%0*d\n", 198 - 13, 0);
    path = write_conf("long.conf", text);
    CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), ST_OK);
    CU_ASSERT_EQUAL(c ? strlen(c->station.state_dir) : 0, 198 - 12);
    config_free(c);
    c = NULL;
    free(path);
    snprintf(text, sizeof(text), "[station]\nstate_dir = /%0*d\n", 199 - 13, 0);
    path = write_conf("long.conf", text);
    CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), ST_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: line longer than 198 characters"));
    free(path);
    /* an embedded NUL */
    path = write_conf("nul.conf", "[station]\n");
    {
        FILE *f = fopen(path, "a");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fwrite("id = a\0b\n", 1, 9, f);
        fclose(f);
    }
    CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), ST_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: NUL byte"));
    free(path);
}

static void test_missing_file(void) {
    char err[256] = "";
    config_t *c = NULL;
    char *path = NULL;

    if (!conf_dir)
        conf_dir = tu_tmpdir("config");
    CU_ASSERT_FATAL(asprintf(&path, "%s/does-not-exist.conf", conf_dir) > 0);
    CU_ASSERT_EQUAL(config_load(path, &c, err, sizeof(err)), ST_E_NOENT);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(strncmp(err, path, strlen(path)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open: No such file or directory"));
    CU_ASSERT_EQUAL(config_load(conf_dir, &c, err, sizeof(err)) != ST_OK, 1); /* a directory */
    CU_ASSERT_PTR_NULL(c);
    free(path);
    /* last test of the suite: clean up */
    tu_rmrf(conf_dir);
    free(conf_dir);
    conf_dir = NULL;
}

void test_config_register(void) {
    static const tu_test_t tests[] = {
        {"good file", test_good_file},
        {"defaults", test_defaults},
        {"a configured name that looks like it has a slot suffix", test_slot_name_like_suffix},
        {"multi-slot reader identity", test_multi_slot_identity},
        {"bad values, unknown keys/sections, cross-key checks", test_bad_values},
        {"line length and NUL bytes", test_line_limits},
        {"missing file", test_missing_file},
    };
    TU_ADD_SUITE("config", tests);
}
