/*
 * ui_list.c - what the list screens share (bundles, results, event log, help, settings): the
 * cursor and scroll window, moved by the UP/DOWN/PGUP/PGDN actions of the key table.
 */
#include "ui_internal.h"

size_t ui_list_len(ui_t *ui, ui_state_t st) {
    size_t n = 0;

    switch (st) {
    case UI_ST_BUNDLES:
        return ui->have_snap ? ui->snap->n_bundles : 0;
    case UI_ST_RESULTS:
        return ui->n_rows;
    case UI_ST_LOG:
        pthread_mutex_lock(&ui->log_lock);
        n = ui->log_n;
        pthread_mutex_unlock(&ui->log_lock);
        return n;
    case UI_ST_HELP:
        return ui_help_len();
    case UI_ST_SETTINGS:
        return ui->opts->n_settings;
    default:
        return 0;
    }
}

unsigned ui_list_action(ui_t *ui, ui_action_t a) {
    ui_state_t st = ui->state;
    size_t n = ui_list_len(ui, st);
    size_t vis = ui_list_rows(ui);
    size_t *cur = &ui->cur[st];

    if (n == 0)
        return UI_OK;
    if (*cur >= n)
        *cur = n - 1;
    switch (a) {
    case UI_A_UP:
    case UI_A_PREV:
        if (*cur > 0)
            (*cur)--;
        break;
    case UI_A_DOWN:
    case UI_A_NEXT:
        if (*cur + 1 < n)
            (*cur)++;
        break;
    case UI_A_PGUP:
        *cur = *cur > vis ? *cur - vis : 0;
        break;
    case UI_A_PGDN:
        *cur = *cur + vis < n ? *cur + vis : n - 1;
        break;
    default:
        return UI_OK;
    }
    ui->top[st] = ui_scroll(n, vis, *cur, ui->top[st]);
    return UI_REDRAW;
}

size_t ui_list_rows(const ui_t *ui) {
    int n = ui_body_rows(ui) - 1; /* row 1 holds the column titles */
    return n > 0 ? (size_t)n : 0;
}
