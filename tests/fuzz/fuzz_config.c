/*
 * fuzz_config: the station configuration parser (station/config.c over libinih) on arbitrary
 * bytes. config_load() takes a path, so each input is written to one file in a private temp
 * dir (tmpfs when available) created once per process.
 *
 * Checked: the status is ST_OK or ST_E_CONFIG (a file that exists and is readable can fail in
 * no other way, short of memory); on failure nothing is returned and the operator message is
 * a non-empty line naming the file; on success the values keep their documented ranges and the
 * lookups work.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "config.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    char *dir;
    char path[4096];
} g;

static void cleanup(void) {
    if (g.dir)
        fz_rmdir_flat(g.dir);
    free(g.dir);
}

static void init(void) {
    fz_log_init();
    if (!(g.dir = fz_tmpdir("fuzz-config")))
        abort();
    snprintf(g.path, sizeof(g.path), "%s/station.conf", g.dir);
    atexit(cleanup);
    g.ready = true;
}

static bool valid_id(const char *s) {
    size_t n = strlen(s);
    return n >= 1 && n <= CONFIG_ID_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    config_t *cfg = NULL;
    char err[512];
    FILE *f;
    st_t st;

    if (!g.ready)
        init();
    f = fopen(g.path, "we");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    memset(err, 'x', sizeof(err));
    st = config_load(g.path, &cfg, err, sizeof(err));
    if (memchr(err, '\0', sizeof(err)) == NULL)
        abort(); /* the message is always terminated */
    if (st != ST_OK) {
        if (cfg || (st != ST_E_CONFIG && st != ST_E_NOMEM) || err[0] == '\0'
            || strncmp(err, g.path, strlen(g.path)) != 0)
            abort();
        return 0;
    }
    if (!cfg || !valid_id(cfg->station.id) || !valid_id(cfg->dm.id) || !cfg->station.state_dir
        || cfg->card.block_size < 1 || cfg->card.block_size > 255 || cfg->card.isdr_aid_len < 5
        || cfg->card.isdr_aid_len > CONFIG_AID_MAX || cfg->readers.max < 1
        || cfg->readers.max > CONFIG_MAX_READERS || cfg->readers.n_slots > cfg->readers.max
        || (!cfg->dm.key != !cfg->dm.cert))
        abort();
    for (size_t i = 0; i < cfg->readers.n_slots; i++) {
        /* the PC/SC name of a configured reader (its name + " DD SS") finds a slot */
        char name[512];
        snprintf(name, sizeof(name), "%s 00 00", cfg->readers.slots[i].reader);
        if (strlen(cfg->readers.slots[i].reader) < 200 && !config_slot_label(cfg, name))
            abort();
    }
    for (size_t i = 0; i < cfg->smdpf.n_allowed; i++)
        if (!config_smdpf_allowed(cfg, cfg->smdpf.allowed[i]))
            abort();
    (void)config_slot_label(cfg, "Gemalto PC Twin Reader (3F0A1B2C) 00 00");
    (void)config_smdpf_allowed(cfg, "2.999.10");
    config_free(cfg);
    return 0;
}
