/*
 * ui_help.c - help: every key, generated from the key and action tables (so it cannot drift
 * from what the keys do), with the role each action needs; and the settings screen (the
 * station's configuration as the station passed it in; edited in station.conf).
 */
#include <stdio.h>
#include <string.h>

#include "ui_internal.h"

#define HELP_MAX 64

static const char *const extra[] = {
    "",
    "Log-in: Tab switches between id and PIN, Enter logs in, Esc clears, F10 quits.",
    "Dialogs: y confirms, n or Esc cancels; prompts: Enter accepts, Esc cancels.",
    "Tiles: PASS green, FAIL red, ATTENTION amber, busy cyan (text says it too).",
    "Ctrl-C or SIGTERM quit like q: jobs finish the profile in progress.",
};

/* Line i of the help screen into out; false past the end. */
static bool help_line(size_t i, char *out, size_t len) {
    size_t k = 0;

    for (int a = UI_A_NONE + 1; a < UI_A__COUNT; a++) {
        char keys[64];
        ui_action_keys((ui_action_t)a, UI_M_MAIN, keys, sizeof(keys));
        if (!keys[0])
            continue;
        if (k++ == i) {
            snprintf(out, len, " %-16s %-11s %s", keys,
                     ui_action_role((ui_action_t)a) == UI_ROLE_SUPERVISOR ? "supervisor" : "",
                     ui_action_help((ui_action_t)a));
            return true;
        }
    }
    if (i - k < sizeof(extra) / sizeof(extra[0])) {
        snprintf(out, len, " %s", extra[i - k]);
        return true;
    }
    return false;
}

size_t ui_help_len(void) {
    char buf[UI_TEXT_MAX];
    size_t n = 0;

    while (n < HELP_MAX && help_line(n, buf, sizeof(buf)))
        n++;
    return n;
}

void ui_help_draw(ui_t *ui) {
    size_t vis = ui_list_rows(ui), n = ui_help_len();
    char buf[UI_TEXT_MAX];

    ui_draw_header(ui, "Help");
    ui_print(ui, 1, 0, ui->scr_w, UI_C_SEL, " keys             role        what it does");
    ui->top[UI_ST_HELP] = ui_scroll(n, vis, ui->cur[UI_ST_HELP], ui->top[UI_ST_HELP]);
    for (size_t k = 0; k < vis && ui->top[UI_ST_HELP] + k < n; k++) {
        help_line(ui->top[UI_ST_HELP] + k, buf, sizeof(buf));
        ui_print(ui, 2 + (int)k, 0, ui->scr_w, UI_C_DEFAULT, buf);
    }
}

unsigned ui_help_key(ui_t *ui, int ch) {
    ui_action_t a = ui_key_action(UI_ST_HELP, ch);
    if (a == UI_A_HELP || ch == 27) /* ? again or Esc: back to the line */
        a = UI_A_DASHBOARD;
    return ui_do(ui, a);
}

void ui_settings_draw(ui_t *ui) {
    size_t vis = ui_list_rows(ui), n = ui->opts->n_settings;

    ui_draw_header(ui, "Settings");
    ui_print(ui, 1, 0, ui->scr_w, UI_C_SEL,
             " station configuration (read-only here: edit station.conf and restart)");
    ui->top[UI_ST_SETTINGS] = ui_scroll(n, vis, ui->cur[UI_ST_SETTINGS], ui->top[UI_ST_SETTINGS]);
    for (size_t k = 0; k < vis && ui->top[UI_ST_SETTINGS] + k < n; k++)
        ui_printf(ui, 2 + (int)k, 0, ui->scr_w, UI_C_DEFAULT, " %s",
                  ui->opts->settings[ui->top[UI_ST_SETTINGS] + k]);
}

unsigned ui_settings_key(ui_t *ui, int ch) {
    ui_action_t a = ui_key_action(UI_ST_SETTINGS, ch);
    if (ch == 27)
        a = UI_A_DASHBOARD;
    return ui_do(ui, a);
}
