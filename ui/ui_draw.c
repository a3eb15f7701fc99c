/*
 * ui_draw.c - drawing helpers on stdscr only (ncdu: "works better than using ncurses windows
 * when all windows are created in the correct order"): colours from the X-macro table with a
 * monochrome fallback, cut-to-width printing, boxes, the header and the bottom bars.
 *
 * Screen rows: 0 header; 1 .. H-4 the screen's body; H-3 message line; H-2 letter keys of
 * this screen; H-1 function-key bar.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_internal.h"

typedef struct {
    short fg, bg;
    int attr, mono;
} color_def_t;

static const color_def_t colors[UI_C__COUNT] = {
#define UI_X_COL(name, fg, bg, attr, mono) [name] = {fg, bg, attr, mono},
    UI_COLORS(UI_X_COL)
#undef UI_X_COL
};

void ui_colors_init(ui_t *ui) {
    const char *nc = getenv("NO_COLOR");

    /* https://no-color.org: set and not empty */
    ui->mono = !has_colors() || (nc && *nc);
    if (ui->mono)
        return;
    start_color();
    use_default_colors();
    for (int i = 1; i < UI_C__COUNT; i++)
        init_pair((short)i, colors[i].fg, colors[i].bg);
}

int ui_attr(const ui_t *ui, ui_color_t c) {
    if (c >= UI_C__COUNT)
        c = UI_C_DEFAULT;
    if (ui->mono)
        return colors[c].mono;
    return (c == UI_C_DEFAULT ? 0 : (int)COLOR_PAIR(c)) | colors[c].attr;
}

void ui_print(const ui_t *ui, int r, int c, int width, ui_color_t col, const char *s) {
    int n = 0;

    if (width <= 0 || r < 0 || c < 0 || r >= ui->scr_h || c >= ui->scr_w)
        return;
    if (c + width > ui->scr_w)
        width = ui->scr_w - c;
    attrset(ui_attr(ui, col));
    move(r, c);
    /* ASCII only on the screen (texts come from the engine and the store; EIDs are digits) */
    for (; s[n] && n < width; n++) {
        unsigned char ch = (unsigned char)s[n];
        addch(ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    attrset(A_NORMAL);
}

void ui_printf(const ui_t *ui, int r, int c, int width, ui_color_t col, const char *fmt, ...) {
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ui_print(ui, r, c, width, col, buf);
}

void ui_clear_rect(int r, int c, int h, int w) {
    for (int i = 0; i < h; i++) {
        move(r + i, c);
        for (int j = 0; j < w; j++)
            addch(' ');
    }
}

void ui_box(const ui_t *ui, int r, int c, int h, int w, ui_color_t col, const char *title) {
    int a = ui_attr(ui, col);

    if (h < 2 || w < 2)
        return;
    attrset(a);
    mvaddch(r, c, ACS_ULCORNER);
    mvhline(r, c + 1, ACS_HLINE, w - 2);
    mvaddch(r, c + w - 1, ACS_URCORNER);
    mvvline(r + 1, c, ACS_VLINE, h - 2);
    mvvline(r + 1, c + w - 1, ACS_VLINE, h - 2);
    mvaddch(r + h - 1, c, ACS_LLCORNER);
    mvhline(r + h - 1, c + 1, ACS_HLINE, w - 2);
    mvaddch(r + h - 1, c + w - 1, ACS_LRCORNER);
    attrset(A_NORMAL);
    if (title && *title && w > 6)
        ui_printf(ui, r, c + 2, w - 4, col, " %s ", title);
}

int ui_body_rows(const ui_t *ui) {
    int n = ui->scr_h - 4;
    return n > 0 ? n : 0;
}

int ui_draw_header(ui_t *ui, const char *screen) {
    char left[UI_TEXT_MAX], right[128], clock[16];
    time_t t = time(NULL);
    struct tm tm;
    int w = ui->scr_w;

    localtime_r(&t, &tm);
    strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    snprintf(left, sizeof(left), " IFPP station %s | %s",
             ui->opts->station_id ? ui->opts->station_id : "", screen);
    if (ui->op[0])
        snprintf(right, sizeof(right), "%s%s (%s) | %s ",
                 ui->have_snap && ui->snap->service_down ? "PC/SC DOWN | " : "", ui->op,
                 ui_role_name(ui->role), clock);
    else
        snprintf(right, sizeof(right), "not logged in | %s ", clock);
    attrset(ui_attr(ui, UI_C_TITLE));
    mvhline(0, 0, ' ', w);
    attrset(A_NORMAL);
    ui_print(ui, 0, 0, w, UI_C_TITLE, left);
    int rl = (int)strlen(right);
    if (rl < w - (int)strlen(left))
        ui_print(ui, 0, w - rl, rl,
                 ui->have_snap && ui->snap->service_down ? UI_C_FAIL : UI_C_TITLE, right);
    return 1;
}

void ui_draw_bottom(ui_t *ui) {
    char bar[512], hint[512];
    size_t offs[UI_A__COUNT], lens[UI_A__COUNT], n;
    int h = ui->scr_h, w = ui->scr_w;
    ui_state_t st = ui_state_mask(ui->state) ? ui->state : ui->under;

    move(h - 3, 0);
    clrtoeol();
    if (ui->msg[0] && ui->now_ms < ui->msg_until_ms)
        ui_print(ui, h - 3, 1, w - 2, (ui_color_t)ui->msg_color, ui->msg);
    else if (ui->task.active && ui->state != UI_ST_PROGRESS)
        ui_printf(ui, h - 3, 1, w - 2, UI_C_BUSY, "%s: %d%% (%s)", ui->task.title,
                  ui_percent(ui->task.bytes_done, ui->task.bytes_total), ui->task.item);
    move(h - 2, 0);
    clrtoeol();
    move(h - 1, 0);
    clrtoeol();
    if (ui->state == UI_ST_LOGIN) {
        ui_print(ui, h - 2, 1, w - 2, UI_C_DEFAULT,
                 "Tab next field  Enter log in  Esc clear  F10 quit");
        return;
    }
    ui_hint_bar(st, ui->role, w - 2, hint, sizeof(hint));
    ui_print(ui, h - 2, 1, w - 2, UI_C_DEFAULT, hint);
    n = ui_fkey_bar(st, ui->role, w, bar, sizeof(bar), offs, lens);
    /* htop: key labels plain, their names on the coloured bar */
    attrset(ui_attr(ui, UI_C_KEY));
    mvhline(h - 1, 0, ' ', w);
    attrset(A_NORMAL);
    ui_print(ui, h - 1, 0, w, UI_C_KEY, bar);
    for (size_t i = 0; i < n; i++) {
        char lab[8];
        snprintf(lab, sizeof(lab), "%.*s", (int)lens[i], bar + offs[i]);
        ui_print(ui, h - 1, (int)offs[i], (int)lens[i], UI_C_DEFAULT, lab);
    }
}

void ui_dialog_frame(ui_t *ui, int h, int w, const char *title, int *r0, int *c0) {
    if (w > ui->scr_w - 2)
        w = ui->scr_w - 2;
    if (h > ui->scr_h - 2)
        h = ui->scr_h - 2;
    *r0 = (ui->scr_h - h) / 2;
    *c0 = (ui->scr_w - w) / 2;
    attrset(A_NORMAL);
    ui_clear_rect(*r0, *c0, h, w);
    ui_box(ui, *r0, *c0, h, w, UI_C_SEL, title);
}
