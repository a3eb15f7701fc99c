/*
 * ui_dialog.c - the modal dialogs drawn over the screen below them (ncdu's quit.c): confirm
 * (anything irreversible: y confirms, any other key cancels), prompt (a line of text: a folder
 * for import/export, a results filter) and progress (an import or export running in the
 * station's worker thread; Esc hides it while it runs, Enter closes it when done).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ui_internal.h"

#define KEY_ESC 27

static void draw_under(ui_t *ui) {
    const ui_screen_t *s = &ui_screens[ui->under];
    if (s->draw && ui_state_mask(ui->under))
        s->draw(ui);
}

/* ---- confirm ---- */

void ui_confirm_open(ui_t *ui, ui_action_t on_yes, const char *reader, const char *title,
                     const char *l1, const char *l2, const char *l3) {
    ui_confirm_t *c = &ui->confirm;

    memset(c, 0, sizeof(*c));
    c->on_yes = on_yes;
    snprintf(c->reader, sizeof(c->reader), "%s", reader ? reader : "");
    snprintf(c->title, sizeof(c->title), "%s", title);
    snprintf(c->text[0], sizeof(c->text[0]), "%s", l1 ? l1 : "");
    snprintf(c->text[1], sizeof(c->text[1]), "%s", l2 ? l2 : "");
    snprintf(c->text[2], sizeof(c->text[2]), "%s", l3 ? l3 : "");
    if (ui_state_mask(ui->state))
        ui->under = ui->state;
    ui->state = UI_ST_CONFIRM;
}

void ui_confirm_draw(ui_t *ui) {
    int r, c, w = ui->scr_w - 6 < 74 ? ui->scr_w - 6 : 74;

    draw_under(ui);
    ui_dialog_frame(ui, 9, w, ui->confirm.title, &r, &c);
    for (int i = 0; i < 3; i++)
        ui_print(ui, r + 2 + i, c + 2, w - 4,
                 i == 2 || !strncmp(ui->confirm.text[i], "WARNING", 7) ? UI_C_WARN : UI_C_DEFAULT,
                 ui->confirm.text[i]);
    ui_print(ui, r + 6, c + 2, w - 4, UI_C_SEL, "Really do it? y = yes, n or Esc = no");
}

unsigned ui_confirm_key(ui_t *ui, int ch) {
    if (ch == ERR)
        return UI_OK;
    ui->state = ui->under;
    if (ch == 'y' || ch == 'Y')
        return ui_confirmed(ui);
    ui_message(ui, UI_C_DEFAULT, "cancelled");
    return UI_REDRAW;
}

/* ---- prompt ---- */

void ui_prompt_open(ui_t *ui, ui_action_t action, const char *title, const char *label,
                    const char *initial) {
    ui_prompt_t *p = &ui->prompt;

    memset(p, 0, sizeof(*p));
    p->action = action;
    snprintf(p->title, sizeof(p->title), "%s", title);
    snprintf(p->label, sizeof(p->label), "%s", label);
    snprintf(p->buf, sizeof(p->buf), "%s", initial ? initial : "");
    p->len = strlen(p->buf);
    if (ui_state_mask(ui->state))
        ui->under = ui->state;
    ui->state = UI_ST_PROMPT;
}

void ui_prompt_draw(ui_t *ui) {
    int r, c, w = ui->scr_w - 6 < 74 ? ui->scr_w - 6 : 74;
    const ui_prompt_t *p = &ui->prompt;
    int fw = w - 6;
    /* show the end of a long path */
    const char *shown = p->len > (size_t)fw ? p->buf + p->len - (size_t)fw : p->buf;

    draw_under(ui);
    ui_dialog_frame(ui, 8, w, p->title, &r, &c);
    ui_print(ui, r + 2, c + 2, w - 4, UI_C_DEFAULT, p->label);
    ui_printf(ui, r + 3, c + 2, w - 4, UI_C_SEL, "[%-*s]", fw, shown);
    ui_print(ui, r + 5, c + 2, w - 4, UI_C_IDLE, "Enter accept   Esc cancel   Ctrl-U clear");
    move(r + 3, c + 3 + (int)strlen(shown));
}

unsigned ui_prompt_key(ui_t *ui, int ch) {
    ui_prompt_t *p = &ui->prompt;

    switch (ch) {
    case ERR:
        return UI_OK;
    case '\n':
    case '\r':
    case KEY_ENTER:
        ui->state = ui->under;
        return ui_prompted(ui);
    case KEY_ESC:
    case KEY_F(10):
        ui->state = ui->under;
        return UI_REDRAW;
    case KEY_BACKSPACE:
    case 127:
    case '\b':
        if (p->len)
            p->buf[--p->len] = '\0';
        return UI_REDRAW;
    case 'U' - '@': /* Ctrl-U */
        p->len = 0;
        p->buf[0] = '\0';
        return UI_REDRAW;
    default:
        if (ch >= ' ' && ch < 0x7f && p->len < UI_INPUT_MAX) {
            p->buf[p->len++] = (char)ch;
            p->buf[p->len] = '\0';
            return UI_REDRAW;
        }
        return UI_BEEP;
    }
}

/* ---- progress ---- */

void ui_progress_draw(ui_t *ui) {
    const ui_task_t *t = &ui->task;
    int r, c, w = ui->scr_w - 6 < 76 ? ui->scr_w - 6 : 76;
    int first = t->active ? 6 : 4; /* the outcome lines start here */
    int h = first + 3 + (int)t->n_lines;
    char bar[128], a[32], b[32];

    draw_under(ui);
    ui_dialog_frame(ui, h, w, t->title[0] ? t->title : "Working", &r, &c);
    if (t->active) {
        ui_printf(ui, r + 2, c + 2, w - 4, UI_C_DEFAULT, "file: %s", t->item[0] ? t->item : "-");
        ui_fmt_bar(bar, sizeof(bar), w - 14, t->bytes_done, t->bytes_total);
        ui_printf(ui, r + 3, c + 2, w - 4, UI_C_BUSY, "[%s] %3d%%", bar,
                  ui_percent(t->bytes_done, t->bytes_total));
        ui_fmt_bytes(a, sizeof(a), t->bytes_done);
        ui_fmt_bytes(b, sizeof(b), t->bytes_total);
        ui_printf(ui, r + 4, c + 2, w - 4, UI_C_DEFAULT,
                  "%s of %s, %" PRIu64 " of %" PRIu64 " entries", a, b, t->entries_done,
                  t->entries_total);
    } else if (t->done) {
        ui_print(ui, r + 2, c + 2, w - 4, t->failed ? UI_C_ERR : UI_C_OK,
                 t->failed ? "Finished with problems:" : "Finished:");
    } else {
        ui_print(ui, r + 2, c + 2, w - 4, UI_C_BUSY, "starting...");
    }
    for (size_t i = 0; i < t->n_lines; i++)
        ui_print(ui, r + first + (int)i, c + 2, w - 4, UI_C_DEFAULT, t->lines[i]);
    ui_print(ui, r + h - 2, c + 2, w - 4, UI_C_IDLE,
             t->active ? "Esc: hide (it goes on in the background)" : "Enter: close");
}

unsigned ui_progress_key(ui_t *ui, int ch) {
    switch (ch) {
    case ERR:
        return UI_OK;
    case KEY_ESC:
    case '\n':
    case '\r':
    case KEY_ENTER:
    case ' ':
        if (ui->task.active && ch != KEY_ESC)
            return UI_BEEP;
        ui->state = ui->under;
        return UI_REDRAW;
    default:
        return UI_BEEP;
    }
}
