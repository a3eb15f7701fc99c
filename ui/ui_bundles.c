/*
 * ui_bundles.c - bundles and inventory: every imported bundle with its SM-DPf, the entries its
 * header announced and its BPPs per state (pending, loading, installed, failed, dead), the BPPs
 * left to load, and the totals. Figures come from the engine snapshot (oldest bundle first).
 */
#include <inttypes.h>
#include <stdio.h>

#include "ui_internal.h"

void ui_bundles_draw(ui_t *ui) {
    const engine_snapshot_t *s = ui->snap;
    size_t n = ui_list_len(ui, UI_ST_BUNDLES), vis = ui_list_rows(ui);
    uint64_t tot[STORE_BPP__COUNT] = {0}, tot_entries = 0;
    char id[2 * STORE_ID_LEN + 1];

    ui_draw_header(ui, "Bundles and stock");
    if (!ui->have_snap)
        return;
    ui_print(ui, 1, 0, ui->scr_w, UI_C_SEL,
             " bundle            SM-DPf          entries pending loading install failed  dead"
             "  left");
    ui->top[UI_ST_BUNDLES] =
        ui_scroll(n, vis ? vis - 1 : 0, ui->cur[UI_ST_BUNDLES], ui->top[UI_ST_BUNDLES]);
    for (size_t i = 0; i < n; i++) {
        tot_entries += s->bundles[i].entry_count;
        for (int j = 0; j < STORE_BPP__COUNT; j++)
            tot[j] += s->bundles[i].count[j];
    }
    for (size_t k = 0; k + 1 < vis && ui->top[UI_ST_BUNDLES] + k < n; k++) {
        size_t i = ui->top[UI_ST_BUNDLES] + k;
        const store_bundle_stats_t *b = &s->bundles[i];
        uint64_t left =
            b->count[STORE_BPP_PENDING] + b->count[STORE_BPP_LOADING] + b->count[STORE_BPP_FAILED];
        hex_encode(b->bundle_id, 8, id);
        ui_printf(ui, 2 + (int)k, 0, ui->scr_w,
                  i == ui->cur[UI_ST_BUNDLES] ? UI_C_SEL
                  : left                      ? UI_C_DEFAULT
                                              : UI_C_IDLE,
                  " %-16s  %-14.14s %8" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %6" PRIu64
                  " %5" PRIu64 " %5" PRIu64,
                  id, b->smdpf_oid, b->entry_count, b->count[STORE_BPP_PENDING],
                  b->count[STORE_BPP_LOADING], b->count[STORE_BPP_INSTALLED],
                  b->count[STORE_BPP_FAILED], b->count[STORE_BPP_DEAD], left);
    }
    int y = 2 + (int)(vis && n < vis - 1 ? n : vis ? vis - 1 : 0);
    if (n == 0)
        ui_print(ui, 2, 1, ui->scr_w - 2, UI_C_WARN,
                 "No bundle imported yet: a supervisor imports from a stick with F9.");
    else {
        char label[64];
        snprintf(label, sizeof(label), "total: %zu bundle(s)", n);
        ui_printf(ui, y, 0, ui->scr_w, UI_C_DEFAULT,
                  " %-32.32s %8" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %6" PRIu64
                  " %5" PRIu64 " %5" PRIu64,
                  label, tot_entries, tot[STORE_BPP_PENDING], tot[STORE_BPP_LOADING],
                  tot[STORE_BPP_INSTALLED], tot[STORE_BPP_FAILED], tot[STORE_BPP_DEAD],
                  tot[STORE_BPP_PENDING] + tot[STORE_BPP_LOADING] + tot[STORE_BPP_FAILED]);
    }
}

unsigned ui_bundles_key(ui_t *ui, int ch) {
    return ui_do(ui, ui_key_action(UI_ST_BUNDLES, ch));
}
