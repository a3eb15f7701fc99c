/*
 * ui_internal.h - what the console's files share, and what tests/unit/test_ui.c reaches: the
 * state enum, the console model, the key and action tables, the pure layout maths. Not a
 * public header (the station uses ui.h).
 *
 * Structure (ncdu): `ui_state_t` says which screen is up; every screen is a {draw, key} pair in
 * its own file (ui_dashboard.c, ui_login.c, ui_bundles.c, ui_results.c, ui_log.c, ui_help.c,
 * ui_dialog.c: confirm, prompt, progress). Keys map to actions through one table (UI_KEYS);
 * actions check the role (UI_ACTIONS) and return reaction flags; they issue engine commands
 * through ui_ops_t and never call pcsc/ or store/. Drawing goes to stdscr only (ui_draw.c).
 * Key handlers never call curses, so tests drive them without a terminal.
 *
 * State transitions:
 *   LOGIN     --valid id+PIN-->           DASHBOARD
 *   any main  --F2..F5, 1..4, ?, s-->     DASHBOARD, BUNDLES, RESULTS, LOG, HELP, SETTINGS
 *   any main  --irreversible action-->    CONFIRM --y--> (command) --> the screen under it
 *   any main  --import / export-->        PROMPT --Enter--> PROGRESS --done, Enter--> under
 *   any main  --o (log out)-->            LOGIN
 *   any main  --q/F10 (confirm if busy)-> exit
 */
#ifndef IFPP_UI_INTERNAL_H
#define IFPP_UI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curses.h>

#include "ui.h"

#define UI_MIN_COLS    80
#define UI_MIN_ROWS    24
#define UI_TICK_MS     250
#define UI_LOG_RING    512
#define UI_RESULTS_MAX 1000
#define UI_INPUT_MAX   200
#define UI_LOGIN_TRIES 3     /* failed log-ins before a lock-out */
#define UI_LOGIN_LOCK  30000 /* ms */

typedef enum {
    UI_ST_LOGIN = 0,
    UI_ST_DASHBOARD,
    UI_ST_BUNDLES,
    UI_ST_RESULTS,
    UI_ST_LOG,
    UI_ST_HELP,
    UI_ST_SETTINGS,
    UI_ST_CONFIRM,  /* dialog over `under` */
    UI_ST_PROMPT,   /* dialog over `under` */
    UI_ST_PROGRESS, /* dialog over `under` */
    UI_ST__COUNT
} ui_state_t;

/* Reaction flags (htop): what the loop does after a key. */
enum {
    UI_OK = 0,
    UI_REDRAW = 1u << 0,
    UI_QUIT = 1u << 1,
    UI_BEEP = 1u << 2,    /* refused: denied, not available, out of range */
    UI_RESULTS = 1u << 3, /* refresh the results list */
};

/* Screen masks for the key table. */
enum {
    UI_M_DASH = 1u << 0,
    UI_M_BUNDLES = 1u << 1,
    UI_M_RESULTS = 1u << 2,
    UI_M_LOG = 1u << 3,
    UI_M_HELP = 1u << 4,
    UI_M_SETTINGS = 1u << 5,
    UI_M_LISTS = UI_M_BUNDLES | UI_M_RESULTS | UI_M_LOG | UI_M_HELP | UI_M_SETTINGS,
    UI_M_MAIN = UI_M_DASH | UI_M_LISTS,
};

// clang-format off
/*
 * X-macro: action, minimum role, bar label ("" = not on the function-key bar), hint (the
 * letter line), help text. The help screen and the bottom bars come from here and UI_KEYS.
 */
#define UI_ACTIONS(X)                                                                          \
    X(UI_A_NONE,        UI_ROLE_NONE,       "",        "",          "")                        \
    X(UI_A_HELP,        UI_ROLE_NONE,       "Help",    "help",      "show every key")          \
    X(UI_A_DASHBOARD,   UI_ROLE_OPERATOR,   "Line",    "",          "line dashboard: a tile per reader") \
    X(UI_A_BUNDLES,     UI_ROLE_OPERATOR,   "Stock",   "",          "bundles and BPP stock per state") \
    X(UI_A_RESULTS,     UI_ROLE_OPERATOR,   "Results", "",          "results: cards and profiles") \
    X(UI_A_LOG,         UI_ROLE_OPERATOR,   "Log",     "",          "event log")               \
    X(UI_A_LOAD,        UI_ROLE_OPERATOR,   "Load",    "load",      "load every pending profile into the selected card") \
    X(UI_A_LOAD_ALL,    UI_ROLE_OPERATOR,   "",        "load all",  "load every card in the fixture") \
    X(UI_A_VERIFY,      UI_ROLE_OPERATOR,   "Verify",  "verify",    "verify the selected card against the store") \
    X(UI_A_VERIFY_ALL,  UI_ROLE_OPERATOR,   "",        "verify all","verify every card in the fixture") \
    X(UI_A_REJECT,      UI_ROLE_OPERATOR,   "",        "reject",    "reject the selected unit (FAIL/ATTENTION): set it aside") \
    X(UI_A_DELETE_KEYS, UI_ROLE_SUPERVISOR, "Keys",    "del keys",  "delete the one-time keys of the selected card (irreversible)") \
    X(UI_A_DELETE_LOT,  UI_ROLE_SUPERVISOR, "",        "keys lot",  "delete the one-time keys of every card: the whole lot (irreversible)") \
    X(UI_A_IMPORT,      UI_ROLE_SUPERVISOR, "Import",  "import",    "import eUICC data and bundles from a stick") \
    X(UI_A_EXPORT,      UI_ROLE_SUPERVISOR, "Export",  "export",    "export the signed loading reports to a stick") \
    X(UI_A_SETTINGS,    UI_ROLE_SUPERVISOR, "",        "settings",  "station settings") \
    X(UI_A_LOGOUT,      UI_ROLE_OPERATOR,   "",        "log out",   "log out")                 \
    X(UI_A_QUIT,        UI_ROLE_NONE,       "Quit",    "quit",      "quit the console (jobs finish the profile in progress)") \
    X(UI_A_REDRAW,      UI_ROLE_NONE,       "",        "",          "redraw the screen")       \
    X(UI_A_NEXT,        UI_ROLE_OPERATOR,   "",        "",          "next reader")             \
    X(UI_A_PREV,        UI_ROLE_OPERATOR,   "",        "",          "previous reader")         \
    X(UI_A_UP,          UI_ROLE_NONE,       "",        "",          "up (reader above, line up)") \
    X(UI_A_DOWN,        UI_ROLE_NONE,       "",        "",          "down (reader below, line down)") \
    X(UI_A_PGUP,        UI_ROLE_NONE,       "",        "",          "page up")                 \
    X(UI_A_PGDN,        UI_ROLE_NONE,       "",        "",          "page down")               \
    X(UI_A_FILTER_EID,  UI_ROLE_OPERATOR,   "",        "EID",       "filter results by EID (part of it)") \
    X(UI_A_FILTER_ICCID,UI_ROLE_OPERATOR,   "",        "ICCID",     "filter results by ICCID (part of it)") \
    X(UI_A_FILTER_VERD, UI_ROLE_OPERATOR,   "",        "verdict",   "filter results by verdict: all, PASS, FAIL, ATTENTION") \
    X(UI_A_FILTER_CLEAR,UI_ROLE_OPERATOR,   "",        "clear",     "clear the results filters")

/*
 * X-macro: screens, key code, key label, action. Function keys and letters for the same
 * action sit side by side; the first F-key entry of an action makes its bar item.
 */
#define UI_KEYS(X)                                                                             \
    X(UI_M_MAIN,    KEY_F(1),     "F1",    UI_A_HELP)                                          \
    X(UI_M_MAIN,    '?',          "?",     UI_A_HELP)                                          \
    X(UI_M_MAIN,    KEY_F(2),     "F2",    UI_A_DASHBOARD)                                     \
    X(UI_M_MAIN,    '1',          "1",     UI_A_DASHBOARD)                                     \
    X(UI_M_MAIN,    KEY_F(3),     "F3",    UI_A_BUNDLES)                                       \
    X(UI_M_MAIN,    '2',          "2",     UI_A_BUNDLES)                                       \
    X(UI_M_MAIN,    KEY_F(4),     "F4",    UI_A_RESULTS)                                       \
    X(UI_M_MAIN,    '3',          "3",     UI_A_RESULTS)                                       \
    X(UI_M_MAIN,    KEY_F(5),     "F5",    UI_A_LOG)                                           \
    X(UI_M_MAIN,    '4',          "4",     UI_A_LOG)                                           \
    X(UI_M_DASH,    KEY_F(6),     "F6",    UI_A_LOAD)                                          \
    X(UI_M_DASH,    'l',          "l",     UI_A_LOAD)                                          \
    X(UI_M_DASH,    'L',          "L",     UI_A_LOAD_ALL)                                      \
    X(UI_M_DASH,    KEY_F(7),     "F7",    UI_A_VERIFY)                                        \
    X(UI_M_DASH,    'v',          "v",     UI_A_VERIFY)                                        \
    X(UI_M_DASH,    'V',          "V",     UI_A_VERIFY_ALL)                                    \
    X(UI_M_DASH,    'r',          "r",     UI_A_REJECT)                                        \
    X(UI_M_DASH,    KEY_F(8),     "F8",    UI_A_DELETE_KEYS)                                   \
    X(UI_M_DASH,    'd',          "d",     UI_A_DELETE_KEYS)                                   \
    X(UI_M_DASH,    'D',          "D",     UI_A_DELETE_LOT)                                    \
    X(UI_M_MAIN,    KEY_F(9),     "F9",    UI_A_IMPORT)                                        \
    X(UI_M_MAIN,    'i',          "i",     UI_A_IMPORT)                                        \
    X(UI_M_MAIN,    KEY_F(11),    "F11",   UI_A_EXPORT)                                        \
    X(UI_M_MAIN,    'e',          "e",     UI_A_EXPORT)                                        \
    X(UI_M_MAIN,    's',          "s",     UI_A_SETTINGS)                                      \
    X(UI_M_MAIN,    'o',          "o",     UI_A_LOGOUT)                                        \
    X(UI_M_MAIN,    KEY_F(10),    "F10",   UI_A_QUIT)                                          \
    X(UI_M_MAIN,    'q',          "q",     UI_A_QUIT)                                          \
    X(UI_M_MAIN,    '\f',         "^L",    UI_A_REDRAW)                                        \
    X(UI_M_DASH,    '\t',         "Tab",   UI_A_NEXT)                                          \
    X(UI_M_DASH,    KEY_RIGHT,    "Right", UI_A_NEXT)                                          \
    X(UI_M_DASH,    KEY_BTAB,     "S-Tab", UI_A_PREV)                                          \
    X(UI_M_DASH,    KEY_LEFT,     "Left",  UI_A_PREV)                                          \
    X(UI_M_MAIN,    KEY_UP,       "Up",    UI_A_UP)                                            \
    X(UI_M_MAIN,    KEY_DOWN,     "Down",  UI_A_DOWN)                                          \
    X(UI_M_LISTS,   'k',          "k",     UI_A_UP)                                            \
    X(UI_M_LISTS,   'j',          "j",     UI_A_DOWN)                                          \
    X(UI_M_LISTS,   KEY_PPAGE,    "PgUp",  UI_A_PGUP)                                          \
    X(UI_M_LISTS,   KEY_NPAGE,    "PgDn",  UI_A_PGDN)                                          \
    X(UI_M_RESULTS, '/',          "/",     UI_A_FILTER_EID)                                    \
    X(UI_M_RESULTS, 'f',          "f",     UI_A_FILTER_EID)                                    \
    X(UI_M_RESULTS, 'c',          "c",     UI_A_FILTER_ICCID)                                  \
    X(UI_M_RESULTS, 'p',          "p",     UI_A_FILTER_VERD)                                   \
    X(UI_M_RESULTS, 'x',          "x",     UI_A_FILTER_CLEAR)

/*
 * X-macro colour table (ncdu): name, foreground, background, attributes with colours,
 * attributes in monochrome (has_colors() false or NO_COLOR set). -1 = terminal default.
 * Andon colours (factory-users §5.2): green normal, amber attention, red stopped/failed.
 */
#define UI_COLORS(X)                                                                           \
    X(UI_C_DEFAULT,  -1,            -1,           0,        0)                                 \
    X(UI_C_TITLE,    COLOR_WHITE,   COLOR_BLUE,   A_BOLD,   A_REVERSE)                         \
    X(UI_C_PASS,     COLOR_BLACK,   COLOR_GREEN,  A_BOLD,   A_BOLD | A_REVERSE)                \
    X(UI_C_FAIL,     COLOR_WHITE,   COLOR_RED,    A_BOLD,   A_BOLD | A_REVERSE | A_BLINK)      \
    X(UI_C_ATTN,     COLOR_BLACK,   COLOR_YELLOW, A_BOLD,   A_REVERSE)                         \
    X(UI_C_BUSY,     COLOR_CYAN,    -1,           A_BOLD,   A_BOLD)                            \
    X(UI_C_IDLE,     -1,            -1,           A_DIM,    A_DIM)                             \
    X(UI_C_SEL,      COLOR_YELLOW,  -1,           A_BOLD,   A_BOLD)                            \
    X(UI_C_BAR,      COLOR_BLACK,   COLOR_CYAN,   0,        A_REVERSE)                         \
    X(UI_C_KEY,      COLOR_BLACK,   COLOR_CYAN,   0,        A_REVERSE)                         \
    X(UI_C_ERR,      COLOR_RED,     -1,           A_BOLD,   A_BOLD)                            \
    X(UI_C_WARN,     COLOR_YELLOW,  -1,           A_BOLD,   A_UNDERLINE)                       \
    X(UI_C_OK,       COLOR_GREEN,   -1,           A_BOLD,   0)                                 \
    X(UI_C_DIALOG,   COLOR_WHITE,   COLOR_BLUE,   0,        0)
// clang-format on

typedef enum {
#define UI_X_ACT(a, role, bar, hint, help) a,
    UI_ACTIONS(UI_X_ACT)
#undef UI_X_ACT
        UI_A__COUNT
} ui_action_t;

typedef enum {
#define UI_X_COL(name, fg, bg, attr, mono) name,
    UI_COLORS(UI_X_COL)
#undef UI_X_COL
        UI_C__COUNT
} ui_color_t;

typedef struct {
    unsigned screens;
    int key;
    const char *label;
    ui_action_t action;
} ui_key_t;

/* The key table (UI_KEYS) and its length. */
extern const ui_key_t ui_keys[];
extern const size_t ui_n_keys;

/* The action bound to `key` on screen `state`; UI_A_NONE when none. Pure. */
ui_action_t ui_key_action(ui_state_t state, int key);
ui_role_t ui_action_role(ui_action_t a);
const char *ui_action_bar(ui_action_t a);
const char *ui_action_hint(ui_action_t a);
const char *ui_action_help(ui_action_t a);
/* The screen mask of a main state (0 for login and dialogs). */
unsigned ui_state_mask(ui_state_t state);
/* Keys bound to `a` on any of `screens`, joined by ", " ("F6, l"); returns out. */
const char *ui_action_keys(ui_action_t a, unsigned screens, char *out, size_t len);

/*
 * The function-key bar for `state` and `role` into out (plain text: "F1Help F2Line ...", one
 * space between items when all fit so, none otherwise; items dropped from the end if still too
 * long, but Quit always stays). Returns the number of items; offs[i]/lens[i] (may be NULL, room
 * for UI_A__COUNT) locate each key label, so the drawing code can colour it. Pure.
 */
size_t ui_fkey_bar(ui_state_t state, ui_role_t role, int cols, char *out, size_t len, size_t *offs,
                   size_t *lens);
/* The letter hint line ("l load  L load all  v verify ..."), role-filtered, cut to cols. */
void ui_hint_bar(ui_state_t state, ui_role_t role, int cols, char *out, size_t len);

/* ---- layout maths (pure; ui_layout.c) ---- */

typedef struct {
    int per_row;   /* tiles per row */
    int tile_w;    /* columns per tile incl. border */
    int tile_h;    /* rows per tile incl. border: 6 (full), 5 or 4 (compact) */
    int vis_rows;  /* tile rows that fit */
    int first_row; /* first tile row shown (scrolled so that `sel` is visible) */
    int n_rows;    /* tile rows in all */
} ui_grid_t;

/* Tiles of `n` readers in a `cols` x `rows` area, keeping tile `sel` visible. Pure. */
void ui_grid_layout(int cols, int rows, size_t n, size_t sel, int first_row_hint, ui_grid_t *g);
/* Selection after moving in the grid (dx -1/+1 wraps through the list; dy moves a row). */
size_t ui_grid_move(const ui_grid_t *g, size_t n, size_t sel, int dx, int dy);
/* A progress bar of `width` cells ('#' done, '.' to do) + NUL into out (len > width). */
void ui_fmt_bar(char *out, size_t len, int width, uint64_t done, uint64_t total);
/* Percent 0..100 (0 when total is 0). */
int ui_percent(uint64_t done, uint64_t total);
/* Yield in percent: passed / (passed + failed + attention); -1 when nothing was judged. */
double ui_yield(uint64_t passed, uint64_t failed, uint64_t attention);
/* "12.3 KB", "1.2 MB", "812 B". */
void ui_fmt_bytes(char *out, size_t len, uint64_t n);
/* `s` cut to `width` display cells (ASCII assumed), with "~" marking a cut. */
void ui_fmt_cut(char *out, size_t len, const char *s, int width);
/* First index of a visible window of `vis` lines over `n` that keeps `cur` inside. */
size_t ui_scroll(size_t n, size_t vis, size_t cur, size_t top);

/* ---- the console model ---- */

typedef struct {
    int64_t at_ms; /* wall clock */
    int level;     /* st_log_level_t */
    char text[UI_TEXT_MAX];
} ui_event_t;

typedef struct {
    char title[UI_TEXT_MAX];
    char text[3][UI_TEXT_MAX];
    ui_action_t on_yes; /* performed on 'y' */
    ui_action_t then;   /* for QUIT confirmations */
    char reader[ENGINE_NAME_MAX];
} ui_confirm_t;

typedef struct {
    char title[UI_TEXT_MAX];
    char label[UI_TEXT_MAX];
    char buf[UI_INPUT_MAX + 1];
    size_t len;
    ui_action_t action; /* UI_A_IMPORT, UI_A_EXPORT, UI_A_FILTER_EID, UI_A_FILTER_ICCID */
} ui_prompt_t;

typedef struct ui ui_t;

struct ui {
    const ui_opts_t *opts;
    const ui_ops_t *ops;
    ui_state_t state;
    ui_state_t under; /* the main screen below a dialog */

    engine_snapshot_t *snap; /* current */
    engine_snapshot_t *prev; /* previous (change detection) */
    bool have_snap;

    /* session */
    bool login_required;
    ui_operators_t operators;
    char op[UI_OP_ID_MAX + 1];
    ui_role_t role;

    /* log-in form */
    char in_id[UI_OP_ID_MAX + 1];
    char in_pin[UI_PIN_MAX + 1];
    int field; /* 0 id, 1 PIN */
    unsigned failures;
    int64_t locked_until_ms;

    /* dashboard */
    size_t sel;
    int grid_first; /* first tile row shown */
    bool rejected[ENGINE_MAX_READERS];
    uint32_t rejected_jobs[ENGINE_MAX_READERS];

    /* lists */
    size_t cur[UI_ST__COUNT]; /* cursor line per list screen */
    size_t top[UI_ST__COUNT];

    /* results */
    ui_result_t *cards; /* card verdicts seen this session, oldest first */
    size_t n_cards;
    ui_result_t *profiles; /* from ops->results */
    size_t n_profiles;
    int64_t profiles_at_ms;
    ui_result_t **rows; /* filtered view, newest first */
    size_t n_rows;
    char f_eid[40], f_iccid[24];
    int f_verdict; /* -1 all, else ui_verdict_t */

    /* event log (also written by engine threads through the log sink) */
    pthread_mutex_t log_lock;
    ui_event_t log[UI_LOG_RING];
    size_t log_head, log_n;
    uint64_t log_seq; /* bumps on every push */

    /* dialogs */
    ui_confirm_t confirm;
    ui_prompt_t prompt;
    ui_task_t task;
    bool task_reported; /* the outcome of the finished task went to the event log */

    /* status line */
    char msg[UI_TEXT_MAX];
    int msg_color;
    int64_t msg_until_ms;

    /* terminal */
    int scr_h, scr_w; /* terminal size */
    bool too_small;
    bool mono;
    int64_t now_ms; /* CLOCK_MONOTONIC, updated by the loop */
};

/* Sets up a console model (no curses): loads the operators file when the options name one.
 * ST_E_CONFIG (err filled) for a bad file. ui_free() releases it. */
st_t ui_init(ui_t *ui, const ui_opts_t *o, char *err, size_t err_len);
void ui_free(ui_t *ui);

/* Takes a new snapshot from ops (change detection, card results, event lines). */
void ui_refresh(ui_t *ui);
/* Feeds one key to the current screen; returns reaction flags. Never calls curses. */
unsigned ui_handle_key(ui_t *ui, int key);
/* Performs an action after the role check. Returns reaction flags. */
unsigned ui_do(ui_t *ui, ui_action_t a);
/* Appends an event line (thread-safe). */
void ui_event(ui_t *ui, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Status line message for a few seconds. */
void ui_message(ui_t *ui, int color, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Rebuilds the filtered results view. */
void ui_results_filter(ui_t *ui);
/* Reloads the profile results from ops (throttled unless `force`). */
void ui_results_reload(ui_t *ui, bool force);
/* Switches to a main screen. */
void ui_goto(ui_t *ui, ui_state_t st);
/* The reader shown in tile `i`: slot label or identity. */
const char *ui_reader_label(const engine_reader_snap_t *r);
/* The colour of a reader state (andon). */
ui_color_t ui_state_color(engine_slot_state_t s);
/* Wall clock ms. */
int64_t ui_wall_ms(void);

/* ---- screens: {draw, key} (draw uses curses; key never does) ---- */

typedef struct {
    void (*draw)(ui_t *ui);
    unsigned (*key)(ui_t *ui, int ch);
} ui_screen_t;

extern const ui_screen_t ui_screens[UI_ST__COUNT];

void ui_login_draw(ui_t *ui);
unsigned ui_login_key(ui_t *ui, int ch);
void ui_dashboard_draw(ui_t *ui);
unsigned ui_dashboard_key(ui_t *ui, int ch);
void ui_bundles_draw(ui_t *ui);
unsigned ui_bundles_key(ui_t *ui, int ch);
void ui_results_draw(ui_t *ui);
unsigned ui_results_key(ui_t *ui, int ch);
void ui_log_draw(ui_t *ui);
unsigned ui_log_key(ui_t *ui, int ch);
void ui_help_draw(ui_t *ui);
unsigned ui_help_key(ui_t *ui, int ch);
void ui_settings_draw(ui_t *ui);
unsigned ui_settings_key(ui_t *ui, int ch);
void ui_confirm_draw(ui_t *ui);
unsigned ui_confirm_key(ui_t *ui, int ch);
void ui_prompt_draw(ui_t *ui);
unsigned ui_prompt_key(ui_t *ui, int ch);
void ui_progress_draw(ui_t *ui);
unsigned ui_progress_key(ui_t *ui, int ch);

/* Number of lines of a list screen (bundles, results, log, help, settings). */
size_t ui_list_len(ui_t *ui, ui_state_t st);
/* Rows of a list window (below its column titles). */
size_t ui_list_rows(const ui_t *ui);
/* Lines of the help screen (generated from the tables). */
size_t ui_help_len(void);
/* Common list keys (UP/DOWN/PGUP/PGDN) for list screens; UI_A_NONE if not a list action. */
unsigned ui_list_action(ui_t *ui, ui_action_t a);

/* The confirm dialog's 'y' and the prompt's Enter. */
unsigned ui_confirmed(ui_t *ui);
unsigned ui_prompted(ui_t *ui);
/* Dashboard areas (pure): rows for the tile grid, rows for the stock lines. */
int ui_dash_tile_rows(const ui_t *ui);
int ui_dash_stock_rows(const ui_t *ui);

/* Opens dialogs. */
void ui_confirm_open(ui_t *ui, ui_action_t on_yes, const char *reader, const char *title,
                     const char *l1, const char *l2, const char *l3);
void ui_prompt_open(ui_t *ui, ui_action_t action, const char *title, const char *label,
                    const char *initial);

/* ---- drawing helpers (ui_draw.c; stdscr only) ---- */

void ui_colors_init(ui_t *ui);
int ui_attr(const ui_t *ui, ui_color_t c);
/* Prints `s` at (r, c) cut to `width` cells, with colour c. */
void ui_print(const ui_t *ui, int r, int c, int width, ui_color_t col, const char *s);
void ui_printf(const ui_t *ui, int r, int c, int width, ui_color_t col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* A box with a title at (r, c), h x w, border in colour `col`. */
void ui_box(const ui_t *ui, int r, int c, int h, int w, ui_color_t col, const char *title);
/* Clears a rectangle (dialogs). */
void ui_clear_rect(int r, int c, int h, int w);
/* Header (row 0), status line and bars (the bottom rows). Returns the first free row. */
int ui_draw_header(ui_t *ui, const char *screen);
void ui_draw_bottom(ui_t *ui);
/* A centred dialog frame of h x w; returns its top-left through *r0, *c0. */
void ui_dialog_frame(ui_t *ui, int h, int w, const char *title, int *r0, int *c0);
/* Rows left for a list between the header and the bottom bars. */
int ui_body_rows(const ui_t *ui);

#endif
