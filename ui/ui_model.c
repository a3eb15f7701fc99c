/*
 * ui_model.c - the console model (ncdu's dirlist to the screens' browser): the session (who is
 * logged in, with which role), snapshots and what changed between them (event lines, card
 * verdicts for the results screen, rejects), the actions behind the keys with their role
 * checks, and the results filter. No curses here: tests drive it with a fake ui_ops_t.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "ui_internal.h"

#define RESULTS_RELOAD_MS 2000
#define MSG_MS            6000

int64_t ui_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *ui_reader_label(const engine_reader_snap_t *r) {
    return r->label[0] ? r->label : r->id[0] ? r->id : r->name;
}

ui_color_t ui_state_color(engine_slot_state_t s) {
    switch (s) {
    case ENGINE_SLOT_PASS:
        return UI_C_PASS;
    case ENGINE_SLOT_FAIL:
        return UI_C_FAIL;
    case ENGINE_SLOT_ATTENTION:
    case ENGINE_SLOT_GONE:
        return UI_C_ATTN;
    case ENGINE_SLOT_EMPTY:
        return UI_C_IDLE;
    case ENGINE_SLOT_PRESENT:
        return UI_C_DEFAULT;
    default:
        return UI_C_BUSY;
    }
}

/* ---- init ---- */

st_t ui_init(ui_t *ui, const ui_opts_t *o, char *err, size_t err_len) {
    st_t st;

    memset(ui, 0, sizeof(*ui));
    pthread_mutex_init(&ui->log_lock, NULL);
    ui->opts = o;
    ui->ops = o->ops;
    ui->f_verdict = -1;
    ui->snap = calloc(1, sizeof(*ui->snap));
    ui->prev = calloc(1, sizeof(*ui->prev));
    ui->cards = calloc(UI_RESULTS_MAX, sizeof(*ui->cards));
    ui->profiles = calloc(UI_RESULTS_MAX, sizeof(*ui->profiles));
    ui->rows = calloc(2 * UI_RESULTS_MAX, sizeof(*ui->rows));
    if (!ui->snap || !ui->prev || !ui->cards || !ui->profiles || !ui->rows) {
        ui_free(ui);
        return ST_E_NOMEM;
    }
    ui->scr_w = UI_MIN_COLS;
    ui->scr_h = UI_MIN_ROWS;
    ui->login_required = o->operators_path != NULL;
    if (ui->login_required) {
        st = ui_operators_load(o->operators_path, &ui->operators, err, err_len);
        if (st == ST_E_NOENT) {
            /* configured but not created yet: nobody could log in */
            if (err)
                snprintf(err, err_len,
                         "%s: no operators yet (add one: ifpp-station operator add ID --role "
                         "supervisor)",
                         o->operators_path);
            ui_free(ui);
            return ST_E_CONFIG;
        }
        if (st != ST_OK) {
            ui_free(ui);
            return st == ST_E_NOMEM ? st : ST_E_CONFIG;
        }
        ui->state = UI_ST_LOGIN;
    } else {
        snprintf(ui->op, sizeof(ui->op), "%s", ENGINE_DEFAULT_OPERATOR);
        ui->role = UI_ROLE_OPERATOR;
        ui->state = UI_ST_DASHBOARD;
    }
    ui->under = UI_ST_DASHBOARD;
    return ST_OK;
}

void ui_free(ui_t *ui) {
    if (!ui)
        return;
    free(ui->snap);
    free(ui->prev);
    free(ui->cards);
    free(ui->profiles);
    free(ui->rows);
    ui->snap = ui->prev = NULL;
    ui->cards = ui->profiles = NULL;
    ui->rows = NULL;
    ui_operators_free(&ui->operators);
    mem_wipe(ui->in_pin, sizeof(ui->in_pin));
    pthread_mutex_destroy(&ui->log_lock);
}

/* ---- events and messages ---- */

void ui_event(ui_t *ui, int level, const char *fmt, ...) {
    va_list ap;
    ui_event_t *ev;

    pthread_mutex_lock(&ui->log_lock);
    ev = &ui->log[(ui->log_head + ui->log_n) % UI_LOG_RING];
    if (ui->log_n < UI_LOG_RING)
        ui->log_n++;
    else
        ui->log_head = (ui->log_head + 1) % UI_LOG_RING;
    ev->at_ms = ui_wall_ms();
    ev->level = level;
    va_start(ap, fmt);
    vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
    va_end(ap);
    ui->log_seq++;
    pthread_mutex_unlock(&ui->log_lock);
}

void ui_message(ui_t *ui, int color, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ui->msg, sizeof(ui->msg), fmt, ap);
    va_end(ap);
    ui->msg_color = color;
    ui->msg_until_ms = ui->now_ms + MSG_MS;
}

/* ---- snapshots ---- */

static const engine_reader_snap_t *find_reader(const engine_snapshot_t *s, const char *name) {
    for (size_t i = 0; i < s->n_readers; i++)
        if (!strcmp(s->readers[i].name, name))
            return &s->readers[i];
    return NULL;
}

static bool is_verdict(engine_slot_state_t s) {
    return s == ENGINE_SLOT_PASS || s == ENGINE_SLOT_FAIL || s == ENGINE_SLOT_ATTENTION;
}

static void add_card_result(ui_t *ui, const engine_reader_snap_t *r) {
    ui_result_t *c;

    if (ui->n_cards == UI_RESULTS_MAX) { /* keep the newest */
        memmove(ui->cards, ui->cards + 1, (UI_RESULTS_MAX - 1) * sizeof(*ui->cards));
        ui->n_cards--;
    }
    c = &ui->cards[ui->n_cards++];
    memset(c, 0, sizeof(*c));
    c->kind = UI_RES_CARD;
    c->at = ui_wall_ms() / 1000;
    c->verdict = r->state == ENGINE_SLOT_PASS   ? UI_VERDICT_PASS
                 : r->state == ENGINE_SLOT_FAIL ? UI_VERDICT_FAIL
                                                : UI_VERDICT_ATTENTION;
    snprintf(c->eid, sizeof(c->eid), "%s", r->eid);
    snprintf(c->where, sizeof(c->where), "%s", ui_reader_label(r));
    if (r->error[0])
        snprintf(c->text, sizeof(c->text), "%" PRIu32 "/%" PRIu32 " profiles: %.200s", r->loaded,
                 r->due, r->error);
    else
        snprintf(c->text, sizeof(c->text), "%" PRIu32 "/%" PRIu32 " profiles", r->loaded, r->due);
}

/* One event line for a reader that changed state. */
static void reader_event(ui_t *ui, const engine_reader_snap_t *r) {
    const char *l = ui_reader_label(r);
    int lvl = r->state == ENGINE_SLOT_FAIL        ? ST_LOG_ERR
              : r->state == ENGINE_SLOT_ATTENTION ? ST_LOG_WARN
                                                  : ST_LOG_INFO;

    if (r->state == ENGINE_SLOT_LOADING && r->bpp_count)
        ui_event(ui, lvl, "%s: loading profile %" PRIu32 " of %" PRIu32 ", EID %s", l, r->bpp_index,
                 r->bpp_count, r->eid);
    else if (is_verdict(r->state))
        ui_event(ui, lvl, "%s: %s, EID %s, %" PRIu32 "/%" PRIu32 " profiles%s%s", l,
                 engine_slot_state_text(r->state), r->eid, r->loaded, r->due,
                 r->error[0] ? ": " : "", r->error);
    else if (r->state == ENGINE_SLOT_EMPTY && r->interrupted)
        ui_event(ui, ST_LOG_WARN, "%s: card removed during the job: %s", l,
                 r->error[0] ? r->error : "interrupted");
    else
        ui_event(ui, lvl, "%s: %s%s%s", l, engine_slot_state_text(r->state),
                 r->has_eid ? ", EID " : "", r->has_eid ? r->eid : "");
}

void ui_refresh(ui_t *ui) {
    engine_snapshot_t *t = ui->prev;
    bool first = !ui->have_snap;

    ui->prev = ui->snap;
    ui->snap = t;
    ui->ops->snapshot(ui->ops->ud, ui->snap);
    ui->have_snap = true;
    if (!first && ui->snap->seq == ui->prev->seq)
        return;
    if (!first && ui->snap->service_down != ui->prev->service_down)
        ui_event(ui, ui->snap->service_down ? ST_LOG_ERR : ST_LOG_INFO, "%s",
                 ui->snap->service_down ? "PC/SC service down: readers unavailable"
                                        : "PC/SC service back");
    for (size_t i = 0; i < ui->snap->n_readers; i++) {
        const engine_reader_snap_t *r = &ui->snap->readers[i];
        const engine_reader_snap_t *p = first ? NULL : find_reader(ui->prev, r->name);
        bool changed = !p || p->state != r->state || p->jobs != r->jobs;

        if (!p && !first)
            ui_event(ui, ST_LOG_INFO, "%s: reader connected (%s)", ui_reader_label(r), r->name);
        if (changed && p)
            reader_event(ui, r);
        else if (p && r->state == ENGINE_SLOT_LOADING && p->bpp_index != r->bpp_index)
            reader_event(ui, r);
        if (changed && p && is_verdict(r->state))
            add_card_result(ui, r);
        /* a reject holds until the unit leaves the fixture or another job starts */
        if (ui->rejected[i]
            && (!r->card_present || r->jobs != ui->rejected_jobs[i] || !is_verdict(r->state)))
            ui->rejected[i] = false;
    }
    if (ui->snap->n_readers == 0)
        ui->sel = 0;
    else if (ui->sel >= ui->snap->n_readers)
        ui->sel = ui->snap->n_readers - 1;
    if (ui->state == UI_ST_RESULTS || ui->under == UI_ST_RESULTS)
        ui_results_reload(ui, false);
}

/* ---- results ---- */

static int cmp_rows(const void *a, const void *b) {
    const ui_result_t *x = *(ui_result_t *const *)a, *y = *(ui_result_t *const *)b;
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x < y ? 1 : x > y ? -1 : 0; /* newer entries sit later in the arrays */
}

static bool contains_digits(const char *hay, const char *needle) {
    return !needle[0] || strstr(hay, needle) != NULL;
}

static bool row_matches(const ui_t *ui, const ui_result_t *r) {
    if (ui->f_verdict >= 0 && (int)r->verdict != ui->f_verdict)
        return false;
    if (!contains_digits(r->eid, ui->f_eid))
        return false;
    if (ui->f_iccid[0] && !contains_digits(r->iccid, ui->f_iccid))
        return false;
    return true;
}

void ui_results_filter(ui_t *ui) {
    ui->n_rows = 0;
    for (size_t i = 0; i < ui->n_cards; i++)
        if (row_matches(ui, &ui->cards[i]))
            ui->rows[ui->n_rows++] = &ui->cards[i];
    for (size_t i = 0; i < ui->n_profiles; i++)
        if (row_matches(ui, &ui->profiles[i]))
            ui->rows[ui->n_rows++] = &ui->profiles[i];
    qsort(ui->rows, ui->n_rows, sizeof(ui->rows[0]), cmp_rows);
    if (ui->cur[UI_ST_RESULTS] >= ui->n_rows)
        ui->cur[UI_ST_RESULTS] = ui->n_rows ? ui->n_rows - 1 : 0;
}

void ui_results_reload(ui_t *ui, bool force) {
    size_t n = 0;

    if (!ui->ops->results) {
        ui_results_filter(ui);
        return;
    }
    if (!force && ui->profiles_at_ms && ui->now_ms - ui->profiles_at_ms < RESULTS_RELOAD_MS) {
        ui_results_filter(ui);
        return;
    }
    ui->profiles_at_ms = ui->now_ms ? ui->now_ms : 1;
    if (ui->ops->results(ui->ops->ud, ui->profiles, UI_RESULTS_MAX, &n) == ST_OK)
        ui->n_profiles = n;
    ui_results_filter(ui);
}

/* ---- actions ---- */

void ui_goto(ui_t *ui, ui_state_t st) {
    ui->state = st;
    ui->under = st;
    if (st == UI_ST_RESULTS)
        ui_results_reload(ui, true);
}

static const engine_reader_snap_t *selected(ui_t *ui) {
    if (!ui->have_snap || ui->sel >= ui->snap->n_readers)
        return NULL;
    return &ui->snap->readers[ui->sel];
}

static size_t cards_present(const ui_t *ui, size_t *busy, size_t *unfinished) {
    size_t n = 0;

    if (busy)
        *busy = 0;
    if (unfinished)
        *unfinished = 0;
    for (size_t i = 0; i < ui->snap->n_readers; i++) {
        const engine_reader_snap_t *r = &ui->snap->readers[i];
        if (!r->card_present)
            continue;
        n++;
        if (busy && engine_slot_busy(r->state))
            (*busy)++;
        if (unfinished && r->loaded < r->due)
            (*unfinished)++;
    }
    return n;
}

static unsigned command_result(ui_t *ui, st_t st, const char *where, engine_cmd_t cmd) {
    if (st == ST_OK) {
        ui_event(ui, ST_LOG_INFO, "%s: %s on %s", ui->op, engine_cmd_name(cmd), where);
        ui_message(ui, UI_C_OK, "%s: %s started", where, engine_cmd_name(cmd));
        return UI_REDRAW;
    }
    if (st == ST_E_STATE)
        ui_message(ui, UI_C_WARN, "%s: a command is already waiting for this reader", where);
    else
        ui_message(ui, UI_C_ERR, "%s: %s: %s", where, engine_cmd_name(cmd), st_str(st));
    return UI_REDRAW | UI_BEEP;
}

/* A command on the selected reader, after the checks an operator understands. */
static unsigned on_selected(ui_t *ui, engine_cmd_t cmd) {
    const engine_reader_snap_t *r = selected(ui);

    if (!r) {
        ui_message(ui, UI_C_WARN, "no reader");
        return UI_REDRAW | UI_BEEP;
    }
    if (!r->card_present) {
        ui_message(ui, UI_C_WARN, "%s: no card in this reader", ui_reader_label(r));
        return UI_REDRAW | UI_BEEP;
    }
    if (engine_slot_busy(r->state)) {
        ui_message(ui, UI_C_WARN, "%s: busy (%s)", ui_reader_label(r),
                   engine_slot_state_text(r->state));
        return UI_REDRAW | UI_BEEP;
    }
    return command_result(ui, ui->ops->command(ui->ops->ud, r->name, cmd, ui->op),
                          ui_reader_label(r), cmd);
}

static unsigned on_all(ui_t *ui, engine_cmd_t cmd) {
    if (cards_present(ui, NULL, NULL) == 0) {
        ui_message(ui, UI_C_WARN, "no card in the fixture");
        return UI_REDRAW | UI_BEEP;
    }
    return command_result(ui, ui->ops->command(ui->ops->ud, NULL, cmd, ui->op), "every reader",
                          cmd);
}

static unsigned reject(ui_t *ui) {
    const engine_reader_snap_t *r = selected(ui);
    char obj[64];

    if (!r || !r->card_present || !is_verdict(r->state) || r->state == ENGINE_SLOT_PASS) {
        ui_message(ui, UI_C_WARN, "only a unit with FAIL or ATTENTION can be rejected");
        return UI_REDRAW | UI_BEEP;
    }
    ui->rejected[ui->sel] = true;
    ui->rejected_jobs[ui->sel] = r->jobs;
    snprintf(obj, sizeof(obj), "eid:%s", r->eid);
    if (ui->ops->audit)
        ui->ops->audit(ui->ops->ud, ui->op, "unit.reject", obj, ui_reader_label(r));
    ui_event(ui, ST_LOG_WARN, "%s: unit rejected by %s, EID %s: %s", ui_reader_label(r), ui->op,
             r->eid, r->error[0] ? r->error : engine_slot_state_text(r->state));
    ui_message(ui, UI_C_WARN, "%s: rejected - take the unit out and put it on the reject tray",
               ui_reader_label(r));
    return UI_REDRAW;
}

static unsigned ask_delete_keys(ui_t *ui, bool lot) {
    char l1[UI_TEXT_MAX], l2[UI_TEXT_MAX];
    size_t busy, unfinished, n;

    if (!lot) {
        const engine_reader_snap_t *r = selected(ui);
        if (!r || !r->card_present || engine_slot_busy(r->state)) {
            ui_message(ui, UI_C_WARN, "%s: no card ready in this reader",
                       r ? ui_reader_label(r) : "-");
            return UI_REDRAW | UI_BEEP;
        }
        snprintf(l1, sizeof(l1), "Card in %s, EID %s, %" PRIu32 "/%" PRIu32 " profiles.",
                 ui_reader_label(r), r->has_eid ? r->eid : "unknown", r->loaded, r->due);
        snprintf(l2, sizeof(l2), "%s",
                 r->loaded < r->due ? "WARNING: profiles are still due for this card."
                                    : "Every profile due for this card is loaded.");
        ui_confirm_open(ui, UI_A_DELETE_KEYS, r->name, "Delete one-time keys", l1, l2,
                        "This cannot be undone: the card refuses any further factory load.");
        return UI_REDRAW;
    }
    n = cards_present(ui, &busy, &unfinished);
    if (n == 0) {
        ui_message(ui, UI_C_WARN, "no card in the fixture");
        return UI_REDRAW | UI_BEEP;
    }
    snprintf(l1, sizeof(l1), "Delete the one-time keys of all %zu cards in the fixture (the lot)?",
             n);
    if (unfinished)
        snprintf(l2, sizeof(l2), "WARNING: %zu card(s) still have profiles due.", unfinished);
    else if (busy)
        snprintf(l2, sizeof(l2), "%zu card(s) are busy: they are skipped.", busy);
    else
        snprintf(l2, sizeof(l2), "Every profile due for these cards is loaded.");
    ui_confirm_open(ui, UI_A_DELETE_LOT, "", "Delete one-time keys: whole lot", l1, l2,
                    "This cannot be undone: the cards refuse any further factory load.");
    return UI_REDRAW;
}

static unsigned start_task(ui_t *ui, ui_action_t a) {
    bool imp = a == UI_A_IMPORT;
    ui_task_t t;

    if (imp ? !ui->ops->import_start : !ui->ops->export_start) {
        ui_message(ui, UI_C_WARN, "%s is not available on this station",
                   imp ? "import" : "report export");
        return UI_REDRAW | UI_BEEP;
    }
    memset(&t, 0, sizeof(t));
    if (ui->ops->task)
        ui->ops->task(ui->ops->ud, &t);
    if (t.active) { /* one task at a time: show the one that runs */
        ui->task = t;
        ui->state = UI_ST_PROGRESS;
        return UI_REDRAW;
    }
    if (imp)
        ui_prompt_open(ui, UI_A_IMPORT, "Import from a stick",
                       "Folder or file (eUICC data .ifppe, bundles .ifppb + .p7s):",
                       ui->opts->import_dir ? ui->opts->import_dir : "");
    else
        ui_prompt_open(ui, UI_A_EXPORT, "Export loading reports",
                       "Folder for the signed reports (.ifppl), one per SM-DPf:",
                       ui->opts->export_dir ? ui->opts->export_dir : "");
    return UI_REDRAW;
}

static unsigned quit(ui_t *ui) {
    size_t busy = 0;
    ui_task_t t;

    memset(&t, 0, sizeof(t));
    if (ui->have_snap)
        cards_present(ui, &busy, NULL);
    if (ui->ops->task)
        ui->ops->task(ui->ops->ud, &t);
    if (busy || t.active) {
        char l1[UI_TEXT_MAX];
        snprintf(l1, sizeof(l1), "%zu card job(s) running%s.", busy,
                 t.active ? ", an import/export running" : "");
        ui_confirm_open(ui, UI_A_QUIT, "", "Quit the console", l1,
                        "Each job finishes the profile it is loading, then stops.", "Quit?");
        return UI_REDRAW;
    }
    return UI_QUIT;
}

static unsigned logout(ui_t *ui) {
    if (!ui->login_required) {
        ui_message(ui, UI_C_WARN, "no log-in on this station ([station] operator_pin_file)");
        return UI_REDRAW | UI_BEEP;
    }
    if (ui->ops->audit)
        ui->ops->audit(ui->ops->ud, ui->op, "console.logout", NULL, NULL);
    ui_event(ui, ST_LOG_INFO, "%s logged out", ui->op);
    ui->op[0] = '\0';
    ui->role = UI_ROLE_NONE;
    ui->in_id[0] = '\0';
    mem_wipe(ui->in_pin, sizeof(ui->in_pin));
    ui->field = 0;
    ui->state = UI_ST_LOGIN;
    ui->under = UI_ST_DASHBOARD;
    return UI_REDRAW;
}

unsigned ui_do(ui_t *ui, ui_action_t a) {
    ui_grid_t g;

    if (a == UI_A_NONE)
        return UI_OK;
    if (ui_action_role(a) > ui->role) {
        ui_message(ui, UI_C_WARN, "%s: needs a %s log-in",
                   ui_action_hint(a)[0] ? ui_action_hint(a) : ui_action_help(a),
                   ui_role_name(ui_action_role(a)));
        return UI_REDRAW | UI_BEEP;
    }
    switch (a) {
    case UI_A_HELP:
        ui_goto(ui, UI_ST_HELP);
        return UI_REDRAW;
    case UI_A_DASHBOARD:
        ui_goto(ui, UI_ST_DASHBOARD);
        return UI_REDRAW;
    case UI_A_BUNDLES:
        ui_goto(ui, UI_ST_BUNDLES);
        return UI_REDRAW;
    case UI_A_RESULTS:
        ui_goto(ui, UI_ST_RESULTS);
        return UI_REDRAW;
    case UI_A_LOG:
        ui_goto(ui, UI_ST_LOG);
        pthread_mutex_lock(&ui->log_lock);
        ui->cur[UI_ST_LOG] = ui->log_n ? ui->log_n - 1 : 0; /* newest */
        pthread_mutex_unlock(&ui->log_lock);
        return UI_REDRAW;
    case UI_A_SETTINGS:
        ui_goto(ui, UI_ST_SETTINGS);
        return UI_REDRAW;
    case UI_A_LOAD:
        return on_selected(ui, ENGINE_CMD_LOAD);
    case UI_A_LOAD_ALL:
        return on_all(ui, ENGINE_CMD_LOAD);
    case UI_A_VERIFY:
        return on_selected(ui, ENGINE_CMD_VERIFY);
    case UI_A_VERIFY_ALL:
        return on_all(ui, ENGINE_CMD_VERIFY);
    case UI_A_REJECT:
        return reject(ui);
    case UI_A_DELETE_KEYS:
        return ask_delete_keys(ui, false);
    case UI_A_DELETE_LOT:
        return ask_delete_keys(ui, true);
    case UI_A_IMPORT:
    case UI_A_EXPORT:
        return start_task(ui, a);
    case UI_A_LOGOUT:
        return logout(ui);
    case UI_A_QUIT:
        return quit(ui);
    case UI_A_REDRAW:
        return UI_REDRAW;
    case UI_A_NEXT:
    case UI_A_PREV:
    case UI_A_UP:
    case UI_A_DOWN:
        if (ui->state != UI_ST_DASHBOARD)
            return ui_list_action(ui, a);
        if (!ui->have_snap || ui->snap->n_readers == 0)
            return UI_OK;
        ui_grid_layout(ui->scr_w, ui_dash_tile_rows(ui), ui->snap->n_readers, ui->sel,
                       ui->grid_first, &g);
        ui->sel = ui_grid_move(&g, ui->snap->n_readers, ui->sel,
                               a == UI_A_NEXT   ? 1
                               : a == UI_A_PREV ? -1
                                                : 0,
                               a == UI_A_DOWN ? 1
                               : a == UI_A_UP ? -1
                                              : 0);
        return UI_REDRAW;
    case UI_A_PGUP:
    case UI_A_PGDN:
        return ui_list_action(ui, a);
    case UI_A_FILTER_EID:
        ui_prompt_open(ui, UI_A_FILTER_EID, "Filter results",
                       "EID (digits, part of it):", ui->f_eid);
        return UI_REDRAW;
    case UI_A_FILTER_ICCID:
        ui_prompt_open(ui, UI_A_FILTER_ICCID, "Filter results",
                       "ICCID (digits, part of it):", ui->f_iccid);
        return UI_REDRAW;
    case UI_A_FILTER_VERD:
        ui->f_verdict = ui->f_verdict >= UI_VERDICT_ATTENTION ? -1 : ui->f_verdict + 1;
        ui_results_filter(ui);
        return UI_REDRAW;
    case UI_A_FILTER_CLEAR:
        ui->f_eid[0] = ui->f_iccid[0] = '\0';
        ui->f_verdict = -1;
        ui_results_filter(ui);
        return UI_REDRAW;
    default:
        return UI_OK;
    }
}

/* ---- confirmed actions (called by the confirm dialog on 'y') ---- */

unsigned ui_confirmed(ui_t *ui) {
    const ui_confirm_t *c = &ui->confirm;
    st_t st;

    /* the role is checked again: the dialog may have outlived a log-out */
    if (ui_action_role(c->on_yes) > ui->role)
        return UI_REDRAW | UI_BEEP;
    switch (c->on_yes) {
    case UI_A_DELETE_KEYS:
        st = ui->ops->command(ui->ops->ud, c->reader, ENGINE_CMD_DELETE_KEYS, ui->op);
        return command_result(ui, st, c->reader, ENGINE_CMD_DELETE_KEYS);
    case UI_A_DELETE_LOT:
        if (ui->ops->audit)
            ui->ops->audit(ui->ops->ud, ui->op, "console.delete_keys_lot", NULL, NULL);
        st = ui->ops->command(ui->ops->ud, NULL, ENGINE_CMD_DELETE_KEYS, ui->op);
        return command_result(ui, st, "every card", ENGINE_CMD_DELETE_KEYS);
    case UI_A_QUIT:
        return UI_QUIT;
    default:
        return UI_REDRAW;
    }
}

/* ---- prompts (called by the prompt dialog on Enter) ---- */

unsigned ui_prompted(ui_t *ui) {
    const ui_prompt_t *p = &ui->prompt;
    st_t st;

    switch (p->action) {
    case UI_A_FILTER_EID:
        snprintf(ui->f_eid, sizeof(ui->f_eid), "%.39s", p->buf);
        ui_results_filter(ui);
        return UI_REDRAW;
    case UI_A_FILTER_ICCID:
        snprintf(ui->f_iccid, sizeof(ui->f_iccid), "%.23s", p->buf);
        ui_results_filter(ui);
        return UI_REDRAW;
    case UI_A_IMPORT:
    case UI_A_EXPORT:
        if (ui_action_role(p->action) > ui->role)
            return UI_REDRAW | UI_BEEP;
        if (!p->buf[0]) {
            ui_message(ui, UI_C_WARN, "no folder given");
            return UI_REDRAW | UI_BEEP;
        }
        st = p->action == UI_A_IMPORT ? ui->ops->import_start(ui->ops->ud, p->buf, ui->op)
                                      : ui->ops->export_start(ui->ops->ud, p->buf, ui->op);
        if (st != ST_OK) {
            ui_message(ui, UI_C_ERR, "%s %s: %s", p->action == UI_A_IMPORT ? "import" : "export",
                       p->buf, st_str(st));
            return UI_REDRAW | UI_BEEP;
        }
        ui_event(ui, ST_LOG_INFO, "%s: %s %s", ui->op,
                 p->action == UI_A_IMPORT ? "import from" : "report export to", p->buf);
        memset(&ui->task, 0, sizeof(ui->task));
        ui->task.active = true;
        ui->task_reported = false;
        ui->state = UI_ST_PROGRESS;
        return UI_REDRAW;
    default:
        return UI_REDRAW;
    }
}

/* ---- keys ---- */

unsigned ui_handle_key(ui_t *ui, int key) {
    const ui_screen_t *s = &ui_screens[ui->state];
    return s->key ? s->key(ui, key) : UI_OK;
}
