/*
 * ui_dashboard.c - the line dashboard: a tile per reader (fixture slot) with its state (andon
 * colours: PASS green, FAIL red, ATTENTION amber, busy cyan), EID, profiles loaded of due, a
 * progress bar by bytes while loading and the last error in the operator's words; above them
 * the counters (passed, failed, yield, units per hour), below them the BPP stock per bundle and
 * the newest events.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ui_internal.h"

#define STOCK_MAX_LINES 3

int ui_dash_stock_rows(const ui_t *ui) {
    size_t nb = ui->have_snap ? ui->snap->n_bundles : 0;
    return 1 + (int)(nb > STOCK_MAX_LINES ? STOCK_MAX_LINES : nb);
}

int ui_dash_tile_rows(const ui_t *ui) {
    int n = ui_body_rows(ui) - 1 - ui_dash_stock_rows(ui);
    return n > 0 ? n : 0;
}

typedef struct {
    char text[UI_TEXT_MAX];
    ui_color_t col;
} line_t;

/* The tile's inner lines, most important first. Returns how many. */
static size_t tile_lines(const ui_t *ui, size_t i, int iw, line_t *l) {
    const engine_reader_snap_t *r = &ui->snap->readers[i];
    size_t n = 0;
    char bar[128], a[32], b[32];

    /* 1: the unit */
    if (r->state == ENGINE_SLOT_GONE)
        snprintf(l[n].text, sizeof(l[n].text), "reader disconnected: check the cable");
    else if (!r->card_present)
        snprintf(l[n].text, sizeof(l[n].text), "no card: insert a device");
    else if (r->has_eid)
        snprintf(l[n].text, sizeof(l[n].text), "EID %s", r->eid);
    else
        snprintf(l[n].text, sizeof(l[n].text), "EID not read yet");
    l[n++].col = r->card_present ? UI_C_DEFAULT : UI_C_IDLE;

    /* 2: what is happening */
    if (r->state == ENGINE_SLOT_LOADING && r->bpp_count) {
        int pre = snprintf(l[n].text, sizeof(l[n].text), "profile %" PRIu32 "/%" PRIu32 " ",
                           r->bpp_index, r->bpp_count);
        int bw = iw - pre - 7;
        ui_fmt_bar(bar, sizeof(bar), bw > 4 ? bw : 4, r->bytes_done, r->bytes_total);
        snprintf(l[n].text + pre, sizeof(l[n].text) - (size_t)pre, "[%s] %3d%%", bar,
                 ui_percent(r->bytes_done, r->bytes_total));
        l[n++].col = UI_C_BUSY;
    } else if (engine_slot_busy(r->state) && !r->due && !r->loaded) {
        snprintf(l[n].text, sizeof(l[n].text), "checking the card...");
        l[n++].col = UI_C_BUSY;
    } else if (r->card_present || r->loaded || r->due) {
        snprintf(l[n].text, sizeof(l[n].text), "profiles %" PRIu32 " of %" PRIu32 " loaded%s",
                 r->loaded, r->due,
                 engine_slot_busy(r->state) ? ""
                 : r->loaded < r->due       ? ": more due"
                                            : "");
        l[n++].col = engine_slot_busy(r->state) ? UI_C_BUSY : UI_C_DEFAULT;
    } else {
        l[n].text[0] = '\0';
        l[n++].col = UI_C_DEFAULT;
    }

    /* 3: the last error in words, or what to do next */
    if (ui->rejected[i]) {
        snprintf(l[n].text, sizeof(l[n].text), "REJECTED: take the unit to the reject tray");
        l[n++].col = UI_C_ERR;
    } else if (r->error[0]) {
        snprintf(l[n].text, sizeof(l[n].text), "%s", r->error);
        l[n++].col = r->state == ENGINE_SLOT_ATTENTION ? UI_C_WARN
                     : r->state == ENGINE_SLOT_PASS    ? UI_C_DEFAULT
                                                       : UI_C_ERR;
    } else {
        const char *next = "";
        switch (r->state) {
        case ENGINE_SLOT_PASS:
            next = "done: remove the device";
            break;
        case ENGINE_SLOT_PRESENT:
            next = "ready: F6 load, F7 verify";
            break;
        case ENGINE_SLOT_FAIL:
            next = "failed: r to reject, F6 to retry";
            break;
        case ENGINE_SLOT_ATTENTION:
            next = "needs a supervisor: see the event log";
            break;
        default:
            if (engine_slot_busy(r->state))
                next = "do not remove the device";
            break;
        }
        snprintf(l[n].text, sizeof(l[n].text), "%s", next);
        l[n++].col = r->state == ENGINE_SLOT_FAIL        ? UI_C_ERR
                     : r->state == ENGINE_SLOT_ATTENTION ? UI_C_WARN
                                                         : UI_C_IDLE;
    }

    /* 4: bytes while loading, else the engineer's detail */
    if (r->state == ENGINE_SLOT_LOADING && r->bytes_total) {
        ui_fmt_bytes(a, sizeof(a), r->bytes_done);
        ui_fmt_bytes(b, sizeof(b), r->bytes_total);
        snprintf(l[n].text, sizeof(l[n].text), "%s of %s", a, b);
        l[n++].col = UI_C_IDLE;
    } else if (r->detail[0]) {
        /* the tile cuts long details anyway; %.200s keeps gcc's truncation check quiet */
        snprintf(l[n].text, sizeof(l[n].text), "[%.200s]", r->detail);
        l[n++].col = UI_C_IDLE;
    }
    return n;
}

static void draw_tile(ui_t *ui, size_t i, int y, int x, int w, int h) {
    const engine_reader_snap_t *r = &ui->snap->readers[i];
    line_t lines[4];
    char badge[48], title[ENGINE_NAME_MAX + 4];
    size_t n;
    bool sel = i == ui->sel;
    ui_color_t sc = ui->rejected[i] ? UI_C_FAIL : ui_state_color(r->state);

    ui_box(ui, y, x, h, w, sel ? UI_C_SEL : UI_C_DEFAULT, NULL);
    snprintf(title, sizeof(title), "%s%s", sel ? "> " : "", ui_reader_label(r));
    ui_printf(ui, y, x + 2, w - 4, sel ? UI_C_SEL : UI_C_DEFAULT, " %s ", title);
    snprintf(badge, sizeof(badge), " %s ",
             ui->rejected[i] ? "REJECTED" : engine_slot_state_text(r->state));
    int bl = (int)strlen(badge);
    int tl = (int)strlen(title) + 4;
    if (bl < w - 2 - tl)
        ui_print(ui, y, x + w - 2 - bl, bl, sc, badge);
    n = tile_lines(ui, i, w - 4, lines);
    for (size_t k = 0; k < n && (int)k < h - 2; k++)
        ui_print(ui, y + 1 + (int)k, x + 2, w - 4, lines[k].col, lines[k].text);
}

/* Prints one counter at *x and advances it (two spaces between counters). */
static void counter(ui_t *ui, int y, int *x, ui_color_t col, const char *text) {
    int w = (int)strlen(text);
    if (*x >= ui->scr_w - 1)
        return;
    ui_print(ui, y, *x, ui->scr_w - 1 - *x, col, text);
    *x += w + 2;
}

static void draw_counters(ui_t *ui, int y) {
    const engine_snapshot_t *s = ui->snap;
    double yl = ui_yield(s->passed, s->failed, s->attention);
    size_t cards = 0;
    char t[64];
    int x = 1;

    for (size_t i = 0; i < s->n_readers; i++)
        cards += s->readers[i].card_present;
    move(y, 0);
    clrtoeol();
    snprintf(t, sizeof(t), "passed %" PRIu64, s->passed);
    counter(ui, y, &x, UI_C_OK, t);
    snprintf(t, sizeof(t), "failed %" PRIu64, s->failed);
    counter(ui, y, &x, s->failed ? UI_C_ERR : UI_C_DEFAULT, t);
    snprintf(t, sizeof(t), "attn %" PRIu64, s->attention);
    counter(ui, y, &x, s->attention ? UI_C_WARN : UI_C_DEFAULT, t);
    if (yl < 0)
        snprintf(t, sizeof(t), "yield -");
    else
        snprintf(t, sizeof(t), "yield %.1f%%", yl);
    counter(ui, y, &x, UI_C_DEFAULT, t);
    snprintf(t, sizeof(t), "units/h %.0f", s->units_per_hour);
    counter(ui, y, &x, UI_C_DEFAULT, t);
    snprintf(t, sizeof(t), "BPPs left %" PRIu64, s->pending);
    counter(ui, y, &x, s->pending || !s->n_bundles ? UI_C_DEFAULT : UI_C_WARN, t);
    snprintf(t, sizeof(t), "cards %zu/%zu", cards, s->n_readers);
    counter(ui, y, &x, UI_C_DEFAULT, t);
    /* passed/failed count cards (a load, a verify and a key deletion of one card are one unit);
     * the jobs run, repeats included, come last (cut first on a narrow screen) */
    snprintf(t, sizeof(t), "jobs %" PRIu64, s->verdicts);
    counter(ui, y, &x, UI_C_DEFAULT, t);
}

static void draw_stock(ui_t *ui, int y, int rows) {
    const engine_snapshot_t *s = ui->snap;
    char id[2 * STORE_ID_LEN + 1];

    if (rows <= 0)
        return;
    if (s->n_bundles == 0) {
        ui_print(ui, y, 1, ui->scr_w - 2, UI_C_WARN,
                 "Stock: no bundle imported (a supervisor imports with F9)");
        return;
    }
    ui_printf(ui, y, 1, ui->scr_w - 2, UI_C_DEFAULT,
              "Stock: %zu bundle(s), %" PRIu64 " BPPs left to load", s->n_bundles, s->pending);
    /* the newest bundles (the snapshot lists the oldest first) */
    size_t first = s->n_bundles > (size_t)(rows - 1) ? s->n_bundles - (size_t)(rows - 1) : 0;
    for (size_t i = first, k = 1; i < s->n_bundles && (int)k < rows; i++, k++) {
        const store_bundle_stats_t *b = &s->bundles[i];
        uint64_t left =
            b->count[STORE_BPP_PENDING] + b->count[STORE_BPP_FAILED] + b->count[STORE_BPP_LOADING];
        uint64_t all = 0;
        for (int j = 0; j < STORE_BPP__COUNT; j++)
            all += b->count[j];
        hex_encode(b->bundle_id, 4, id);
        ui_printf(ui, y + (int)k, 3, ui->scr_w - 4, left ? UI_C_DEFAULT : UI_C_IDLE,
                  "bundle %s  %s: %" PRIu64 " of %" PRIu64 " left, %" PRIu64 " installed, %" PRIu64
                  " failed, %" PRIu64 " dead",
                  id, b->smdpf_oid, left, all, b->count[STORE_BPP_INSTALLED],
                  b->count[STORE_BPP_FAILED], b->count[STORE_BPP_DEAD]);
    }
}

/* The newest event lines in the rows left over. */
static void draw_events(ui_t *ui, int y, int rows) {
    if (rows <= 0)
        return;
    pthread_mutex_lock(&ui->log_lock);
    size_t n = ui->log_n < (size_t)rows ? ui->log_n : (size_t)rows;
    for (size_t k = 0; k < n; k++) {
        const ui_event_t *ev = &ui->log[(ui->log_head + ui->log_n - n + k) % UI_LOG_RING];
        time_t t = (time_t)(ev->at_ms / 1000);
        struct tm tm;
        char ts[16];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
        ui_printf(ui, y + (int)k, 1, ui->scr_w - 2,
                  ev->level == 0   ? UI_C_ERR
                  : ev->level == 1 ? UI_C_WARN
                                   : UI_C_IDLE,
                  "%s %s", ts, ev->text);
    }
    pthread_mutex_unlock(&ui->log_lock);
}

void ui_dashboard_draw(ui_t *ui) {
    const engine_snapshot_t *s = ui->snap;
    ui_grid_t g;
    int y0 = 2, used;

    ui_draw_header(ui, "Line");
    if (!ui->have_snap)
        return;
    draw_counters(ui, 1);
    if (s->n_readers == 0) {
        ui_print(ui, y0 + 1, 2, ui->scr_w - 4, UI_C_WARN,
                 s->service_down ? "PC/SC service not available: readers cannot be used"
                                 : "No reader: connect the fixture's readers");
        used = 3;
    } else {
        ui_grid_layout(ui->scr_w, ui_dash_tile_rows(ui), s->n_readers, ui->sel, ui->grid_first, &g);
        ui->grid_first = g.first_row;
        for (int row = 0; row < g.vis_rows; row++) {
            for (int col = 0; col < g.per_row; col++) {
                size_t i = (size_t)(g.first_row + row) * (size_t)g.per_row + (size_t)col;
                if (i >= s->n_readers)
                    break;
                draw_tile(ui, i, y0 + row * g.tile_h, col * g.tile_w, g.tile_w, g.tile_h);
            }
        }
        used = g.vis_rows * g.tile_h;
        if (g.vis_rows < g.n_rows)
            ui_printf(ui, y0 + used - 1, ui->scr_w - 24, 22, UI_C_SEL, " readers %d-%d of %zu ",
                      g.first_row * g.per_row + 1,
                      (int)((size_t)((g.first_row + g.vis_rows) * g.per_row) < s->n_readers
                                ? (g.first_row + g.vis_rows) * g.per_row
                                : (int)s->n_readers),
                      s->n_readers);
    }
    int stock_y = y0 + used;
    int stock_rows = ui_dash_stock_rows(ui);
    draw_stock(ui, stock_y, stock_rows);
    draw_events(ui, stock_y + stock_rows, ui->scr_h - 3 - (stock_y + stock_rows));
}

unsigned ui_dashboard_key(ui_t *ui, int ch) {
    return ui_do(ui, ui_key_action(UI_ST_DASHBOARD, ch));
}
