/*
 * ui_results.c - results: the verdict of every card this console saw (PASS/FAIL/ATTENTION,
 * with its slot and profiles) and the per-profile results the store holds for the next report
 * (installed/failed, with the ICCID), newest first, filtered by EID, ICCID and verdict.
 */
#include <stdio.h>
#include <time.h>

#include "ui_internal.h"

static const char *verdict_name(ui_verdict_t v) {
    return v == UI_VERDICT_PASS ? "PASS" : v == UI_VERDICT_FAIL ? "FAIL" : "ATTN";
}

void ui_results_draw(ui_t *ui) {
    size_t vis = ui_list_rows(ui);
    size_t n = ui->n_rows;
    char filt[UI_TEXT_MAX];

    ui_draw_header(ui, "Results");
    snprintf(filt, sizeof(filt), " EID %s  ICCID %s  verdict %s  (%zu of %zu)",
             ui->f_eid[0] ? ui->f_eid : "*", ui->f_iccid[0] ? ui->f_iccid : "*",
             ui->f_verdict < 0 ? "all" : verdict_name((ui_verdict_t)ui->f_verdict), n,
             ui->n_cards + ui->n_profiles);
    ui_print(ui, 1, 0, ui->scr_w, UI_C_SEL, filt);
    if (vis < 2)
        return;
    ui_print(ui, 2, 0, ui->scr_w, UI_C_DEFAULT,
             " time     verd EID                              ICCID / slot         what");
    vis--;
    ui->top[UI_ST_RESULTS] = ui_scroll(n, vis, ui->cur[UI_ST_RESULTS], ui->top[UI_ST_RESULTS]);
    if (n == 0) {
        ui_print(ui, 3, 1, ui->scr_w - 2, UI_C_IDLE,
                 ui->n_cards + ui->n_profiles ? "Nothing matches the filter (x clears it)."
                                              : "No result yet.");
        return;
    }
    for (size_t k = 0; k < vis && ui->top[UI_ST_RESULTS] + k < n; k++) {
        size_t i = ui->top[UI_ST_RESULTS] + k;
        const ui_result_t *r = ui->rows[i];
        time_t t = (time_t)r->at;
        struct tm tm;
        char ts[16], where[32];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
        if (r->kind == UI_RES_CARD)
            snprintf(where, sizeof(where), "card in %.22s", r->where);
        else
            snprintf(where, sizeof(where), "%s", r->iccid);
        int y = 3 + (int)k;
        bool sel = i == ui->cur[UI_ST_RESULTS];
        ui_printf(ui, y, 0, 10, sel ? UI_C_SEL : UI_C_DEFAULT, "%s%s", sel ? ">" : " ", ts);
        ui_print(ui, y, 10, 4,
                 r->verdict == UI_VERDICT_PASS   ? UI_C_OK
                 : r->verdict == UI_VERDICT_FAIL ? UI_C_ERR
                                                 : UI_C_WARN,
                 verdict_name(r->verdict));
        ui_printf(ui, y, 15, ui->scr_w - 15, sel ? UI_C_SEL : UI_C_DEFAULT, "%-32s %-20s %s",
                  r->eid, where, r->text);
    }
}

unsigned ui_results_key(ui_t *ui, int ch) {
    return ui_do(ui, ui_key_action(UI_ST_RESULTS, ch));
}
