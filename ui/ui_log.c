/*
 * ui_log.c - the event log: reader state changes, verdicts, operator actions, log-ins, import
 * and export outcomes, and the engine's own log lines (the console's log sink), newest last.
 */
#include <stdio.h>
#include <time.h>

#include "ui_internal.h"

void ui_log_draw(ui_t *ui) {
    size_t vis = ui_list_rows(ui);
    size_t n, *cur = &ui->cur[UI_ST_LOG], *top = &ui->top[UI_ST_LOG];

    ui_draw_header(ui, "Event log");
    pthread_mutex_lock(&ui->log_lock);
    n = ui->log_n;
    if (*cur >= n)
        *cur = n ? n - 1 : 0;
    *top = ui_scroll(n, vis, *cur, *top);
    ui_printf(ui, 1, 0, ui->scr_w, UI_C_SEL, " %zu event(s); the newest at the bottom", n);
    for (size_t k = 0; k < vis && *top + k < n; k++) {
        const ui_event_t *ev = &ui->log[(ui->log_head + *top + k) % UI_LOG_RING];
        time_t t = (time_t)(ev->at_ms / 1000);
        struct tm tm;
        char ts[16];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
        ui_printf(ui, 2 + (int)k, 0, ui->scr_w,
                  *top + k == *cur ? UI_C_SEL
                  : ev->level == 0 ? UI_C_ERR
                  : ev->level == 1 ? UI_C_WARN
                                   : UI_C_DEFAULT,
                  "%s%s %s", *top + k == *cur ? ">" : " ", ts, ev->text);
    }
    pthread_mutex_unlock(&ui->log_lock);
}

unsigned ui_log_key(ui_t *ui, int ch) {
    return ui_do(ui, ui_key_action(UI_ST_LOG, ch));
}
