/*
 * ui_login.c - log-in by operator id and PIN (operators file, PBKDF2; ui_operators.c). The
 * operator id is recorded with every command the console sends to the engine and in the audit
 * log. UI_LOGIN_TRIES wrong tries lock the form for UI_LOGIN_LOCK ms; successes and failures
 * are audited (console.login / console.login_failed).
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "ui_internal.h"

#define KEY_ESC 27

void ui_login_draw(ui_t *ui) {
    int r, c, w = 56, h = 11;
    char stars[UI_PIN_MAX + 1];
    size_t np = strlen(ui->in_pin);

    ui_draw_header(ui, "Log-in");
    ui_dialog_frame(ui, h, w, "Operator log-in", &r, &c);
    ui_printf(ui, r + 2, c + 3, w - 6, UI_C_DEFAULT, "Station %s",
              ui->opts->station_id ? ui->opts->station_id : "");
    ui_print(ui, r + 4, c + 3, 14, ui->field == 0 ? UI_C_SEL : UI_C_DEFAULT, "Operator id:");
    ui_printf(ui, r + 4, c + 17, w - 20, UI_C_DEFAULT, "[%-*s]", UI_OP_ID_MAX - 8, ui->in_id);
    memset(stars, '*', np);
    stars[np] = '\0';
    ui_print(ui, r + 5, c + 3, 14, ui->field == 1 ? UI_C_SEL : UI_C_DEFAULT, "PIN:");
    ui_printf(ui, r + 5, c + 17, w - 20, UI_C_DEFAULT, "[%-*s]", UI_OP_ID_MAX - 8, stars);
    if (ui->locked_until_ms > ui->now_ms)
        ui_printf(ui, r + 7, c + 3, w - 6, UI_C_ERR, "Too many wrong tries: wait %d s",
                  (int)((ui->locked_until_ms - ui->now_ms + 999) / 1000));
    else if (ui->msg[0] && ui->now_ms < ui->msg_until_ms)
        ui_print(ui, r + 7, c + 3, w - 6, (ui_color_t)ui->msg_color, ui->msg);
    ui_print(ui, r + 8, c + 3, w - 6, UI_C_IDLE, "Enter the id and PIN, then Enter.");
    /* the cursor sits in the active field */
    move(r + 4 + ui->field, c + 18 + (int)(ui->field == 0 ? strlen(ui->in_id) : np));
}

static unsigned submit(ui_t *ui) {
    ui_role_t role;
    st_t st;

    if (ui->locked_until_ms > ui->now_ms) {
        mem_wipe(ui->in_pin, sizeof(ui->in_pin));
        return UI_REDRAW | UI_BEEP;
    }
    if (!ui->in_id[0]) {
        ui->field = 0;
        return UI_REDRAW | UI_BEEP;
    }
    st = ui_operators_check(&ui->operators, ui->in_id, ui->in_pin, &role);
    mem_wipe(ui->in_pin, sizeof(ui->in_pin));
    if (st != ST_OK) {
        ui->failures++;
        if (ui->ops->audit)
            ui->ops->audit(ui->ops->ud, ui->in_id, "console.login_failed", NULL, NULL);
        ui_event(ui, ST_LOG_WARN, "log-in refused for '%s'", ui->in_id);
        if (ui->failures >= UI_LOGIN_TRIES) {
            ui->failures = 0;
            ui->locked_until_ms = ui->now_ms + UI_LOGIN_LOCK;
        }
        ui_message(ui, UI_C_ERR, "Wrong operator id or PIN (%u tries left)",
                   UI_LOGIN_TRIES - ui->failures);
        ui->field = 1;
        return UI_REDRAW | UI_BEEP;
    }
    ui->failures = 0;
    snprintf(ui->op, sizeof(ui->op), "%s", ui->in_id);
    ui->role = role;
    ui->in_id[0] = '\0';
    ui->field = 0;
    if (ui->ops->audit)
        ui->ops->audit(ui->ops->ud, ui->op, "console.login", NULL, ui_role_name(role));
    ui_event(ui, ST_LOG_INFO, "%s logged in (%s)", ui->op, ui_role_name(role));
    ui_message(ui, UI_C_OK, "Logged in as %s (%s)", ui->op, ui_role_name(role));
    ui_goto(ui, UI_ST_DASHBOARD);
    return UI_REDRAW;
}

unsigned ui_login_key(ui_t *ui, int ch) {
    char *f = ui->field == 0 ? ui->in_id : ui->in_pin;
    size_t max = ui->field == 0 ? UI_OP_ID_MAX : UI_PIN_MAX;
    size_t n = strlen(f);

    switch (ch) {
    case KEY_F(10):
        return UI_QUIT;
    case '\t':
    case KEY_DOWN:
    case KEY_UP:
    case KEY_BTAB:
        ui->field = !ui->field;
        return UI_REDRAW;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (ui->field == 0) {
            ui->field = 1;
            return UI_REDRAW;
        }
        return submit(ui);
    case KEY_BACKSPACE:
    case 127:
    case '\b':
        if (n)
            f[n - 1] = '\0';
        return UI_REDRAW;
    case KEY_ESC:
        ui->in_id[0] = '\0';
        mem_wipe(ui->in_pin, sizeof(ui->in_pin));
        ui->field = 0;
        return UI_REDRAW;
    default:
        if (ch > ' ' && ch < 0x7f && n < max) {
            f[n] = (char)ch;
            f[n + 1] = '\0';
            return UI_REDRAW;
        }
        return ch == ERR ? UI_OK : UI_BEEP;
    }
}
