/*
 * ui_layout.c - the console's layout maths and text formatting, pure (tested without a
 * terminal): the reader tile grid, progress bars, yield, byte counts, cutting, scrolling.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ui_internal.h"

#define TILE_MIN_W 38 /* "EID " + 32 digits + borders */
#define TILE_MAX_W 64

void ui_grid_layout(int cols, int rows, size_t n, size_t sel, int first_row_hint, ui_grid_t *g) {
    static const int heights[] = {6, 5, 4};
    int per_row, sel_row;

    memset(g, 0, sizeof(*g));
    if (cols < TILE_MIN_W || rows < 4 || n == 0)
        return;
    per_row = cols / TILE_MIN_W;
    if ((size_t)per_row > n)
        per_row = (int)n;
    if (per_row < 1)
        per_row = 1;
    g->per_row = per_row;
    g->tile_w = cols / per_row;
    if (g->tile_w > TILE_MAX_W)
        g->tile_w = TILE_MAX_W;
    g->n_rows = (int)((n + (size_t)per_row - 1) / (size_t)per_row);
    g->tile_h = 4;
    for (size_t i = 0; i < sizeof(heights) / sizeof(heights[0]); i++) {
        if (g->n_rows * heights[i] <= rows) {
            g->tile_h = heights[i];
            break;
        }
    }
    g->vis_rows = rows / g->tile_h;
    if (g->vis_rows > g->n_rows)
        g->vis_rows = g->n_rows;
    /* scroll so that the selected tile's row is visible */
    sel_row = (int)((sel < n ? sel : n - 1) / (size_t)per_row);
    g->first_row = first_row_hint < 0 ? 0 : first_row_hint;
    if (g->first_row > g->n_rows - g->vis_rows)
        g->first_row = g->n_rows - g->vis_rows;
    if (sel_row < g->first_row)
        g->first_row = sel_row;
    if (sel_row >= g->first_row + g->vis_rows)
        g->first_row = sel_row - g->vis_rows + 1;
    if (g->first_row < 0)
        g->first_row = 0;
}

size_t ui_grid_move(const ui_grid_t *g, size_t n, size_t sel, int dx, int dy) {
    if (n == 0)
        return 0;
    if (sel >= n)
        sel = n - 1;
    if (dx > 0)
        sel = (sel + 1) % n;
    else if (dx < 0)
        sel = (sel + n - 1) % n;
    if (dy && g->per_row > 0) {
        size_t step = (size_t)g->per_row;
        if (dy > 0 && sel + step < n)
            sel += step;
        else if (dy < 0 && sel >= step)
            sel -= step;
    }
    return sel;
}

int ui_percent(uint64_t done, uint64_t total) {
    if (total == 0)
        return 0;
    if (done >= total)
        return 100;
    return (int)((done * 100) / total);
}

void ui_fmt_bar(char *out, size_t len, int width, uint64_t done, uint64_t total) {
    int fill;

    if (len == 0)
        return;
    if (width < 0)
        width = 0;
    if ((size_t)width >= len)
        width = (int)len - 1;
    fill = total ? (int)((done >= total ? total : done) * (uint64_t)width / total) : 0;
    for (int i = 0; i < width; i++)
        out[i] = i < fill ? '#' : '.';
    out[width] = '\0';
}

double ui_yield(uint64_t passed, uint64_t failed, uint64_t attention) {
    uint64_t all = passed + failed + attention;
    return all ? 100.0 * (double)passed / (double)all : -1.0;
}

void ui_fmt_bytes(char *out, size_t len, uint64_t n) {
    if (n < 1000)
        snprintf(out, len, "%" PRIu64 " B", n);
    else if (n < 1000000)
        snprintf(out, len, "%.1f KB", (double)n / 1e3);
    else if (n < 1000000000)
        snprintf(out, len, "%.1f MB", (double)n / 1e6);
    else
        snprintf(out, len, "%.2f GB", (double)n / 1e9);
}

void ui_fmt_cut(char *out, size_t len, const char *s, int width) {
    size_t n = strlen(s);

    if (len == 0)
        return;
    if (width < 0)
        width = 0;
    if ((size_t)width >= len)
        width = (int)len - 1;
    if (n <= (size_t)width) {
        memcpy(out, s, n + 1);
        return;
    }
    if (width == 0) {
        out[0] = '\0';
        return;
    }
    memcpy(out, s, (size_t)width - 1);
    out[width - 1] = '~';
    out[width] = '\0';
}

size_t ui_scroll(size_t n, size_t vis, size_t cur, size_t top) {
    if (vis == 0 || n <= vis)
        return 0;
    if (cur >= n)
        cur = n - 1;
    if (cur < top)
        top = cur;
    if (cur >= top + vis)
        top = cur - vis + 1;
    if (top > n - vis)
        top = n - vis;
    return top;
}
