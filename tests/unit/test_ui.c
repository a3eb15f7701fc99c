/*
 * Unit tests: the operator console without a terminal. The key table (key -> action per
 * screen, no clashes, roles, the bottom bars), the layout maths (tile grid, scrolling, bars,
 * yield), PIN hashing (PBKDF2-HMAC-SHA256 vectors of RFC 7914 §11) and the operators file, and
 * the console model driven by keys against a fake station: log-in, role checks, commands with
 * the operator id, the confirmation before deleting keys, rejects, change detection, the
 * results filter. No curses call is made (only its key codes are used).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "ui_internal.h"

/* ---- key table ---- */

static void test_keys_map(void) {
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, KEY_F(6)), UI_A_LOAD);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'l'), UI_A_LOAD);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'L'), UI_A_LOAD_ALL);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, KEY_F(7)), UI_A_VERIFY);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'V'), UI_A_VERIFY_ALL);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, KEY_F(8)), UI_A_DELETE_KEYS);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'D'), UI_A_DELETE_LOT);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'r'), UI_A_REJECT);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, '\t'), UI_A_NEXT);
    /* screen-specific keys do nothing elsewhere */
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_RESULTS, 'l'), UI_A_NONE);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, '/'), UI_A_NONE);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_RESULTS, '/'), UI_A_FILTER_EID);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_RESULTS, 'p'), UI_A_FILTER_VERD);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_LOG, 'j'), UI_A_DOWN);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'j'), UI_A_NONE);
    /* global keys on every main screen; none on the log-in form and dialogs */
    for (ui_state_t st = UI_ST_DASHBOARD; st <= UI_ST_SETTINGS; st++) {
        CU_ASSERT_EQUAL(ui_key_action(st, KEY_F(1)), UI_A_HELP);
        CU_ASSERT_EQUAL(ui_key_action(st, KEY_F(10)), UI_A_QUIT);
        CU_ASSERT_EQUAL(ui_key_action(st, 'q'), UI_A_QUIT);
        CU_ASSERT_EQUAL(ui_key_action(st, '3'), UI_A_RESULTS);
    }
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_LOGIN, 'q'), UI_A_NONE);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_CONFIRM, 'y'), UI_A_NONE);
    CU_ASSERT_EQUAL(ui_key_action(UI_ST_DASHBOARD, 'Z'), UI_A_NONE);
}

static void test_keys_table_sane(void) {
    /* no key is bound twice on one screen */
    for (size_t i = 0; i < ui_n_keys; i++)
        for (size_t j = i + 1; j < ui_n_keys; j++)
            if (ui_keys[i].key == ui_keys[j].key && (ui_keys[i].screens & ui_keys[j].screens)) {
                fprintf(stderr, "key %s bound twice\n", ui_keys[i].label);
                CU_FAIL("a key is bound twice on one screen");
            }
    /* every action but NONE has a key, a help text; bar labels belong to F-keys */
    for (int a = UI_A_NONE + 1; a < UI_A__COUNT; a++) {
        char keys[64];
        CU_ASSERT(ui_action_help((ui_action_t)a)[0] != '\0');
        ui_action_keys((ui_action_t)a, UI_M_MAIN, keys, sizeof(keys));
        CU_ASSERT(keys[0] != '\0');
        if (ui_action_bar((ui_action_t)a)[0])
            CU_ASSERT(keys[0] == 'F');
    }
    /* roles (issue 7) */
    CU_ASSERT_EQUAL(ui_action_role(UI_A_LOAD), UI_ROLE_OPERATOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_VERIFY_ALL), UI_ROLE_OPERATOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_REJECT), UI_ROLE_OPERATOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_DELETE_KEYS), UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_DELETE_LOT), UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_IMPORT), UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_EXPORT), UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_SETTINGS), UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_action_role(UI_A_QUIT), UI_ROLE_NONE);
    char k[64];
    CU_ASSERT_STRING_EQUAL(ui_action_keys(UI_A_LOAD, UI_M_DASH, k, sizeof(k)), "F6, l");
}

static void test_keys_bars(void) {
    char bar[256], hint[256];
    size_t offs[UI_A__COUNT], lens[UI_A__COUNT], n;

    n = ui_fkey_bar(UI_ST_DASHBOARD, UI_ROLE_SUPERVISOR, 100, bar, sizeof(bar), offs, lens);
    CU_ASSERT(strlen(bar) <= 100);
    CU_ASSERT(strncmp(bar, "F1Help F2Line", 13) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(bar, "F8Keys"));
    CU_ASSERT_PTR_NOT_NULL(strstr(bar, "F10Quit"));
    CU_ASSERT(n >= 10);
    CU_ASSERT_EQUAL(offs[0], 0);
    CU_ASSERT_EQUAL(lens[0], 2);
    CU_ASSERT_EQUAL(strncmp(bar + offs[1], "F2", lens[1]), 0);
    /* an operator does not see what he may not do */
    ui_fkey_bar(UI_ST_DASHBOARD, UI_ROLE_OPERATOR, 100, bar, sizeof(bar), NULL, NULL);
    CU_ASSERT_PTR_NULL(strstr(bar, "Keys"));
    CU_ASSERT_PTR_NULL(strstr(bar, "Import"));
    CU_ASSERT_PTR_NOT_NULL(strstr(bar, "F6Load"));
    ui_hint_bar(UI_ST_DASHBOARD, UI_ROLE_OPERATOR, 200, hint, sizeof(hint));
    CU_ASSERT(strncmp(hint, "l load  L load all", 18) == 0);
    CU_ASSERT_PTR_NULL(strstr(hint, "keys lot"));
    ui_hint_bar(UI_ST_DASHBOARD, UI_ROLE_SUPERVISOR, 200, hint, sizeof(hint));
    CU_ASSERT_PTR_NOT_NULL(strstr(hint, "D keys lot"));
    /* 80 columns: everything, without the spaces; narrower: items dropped, never Quit */
    ui_fkey_bar(UI_ST_DASHBOARD, UI_ROLE_SUPERVISOR, 80, bar, sizeof(bar), offs, lens);
    CU_ASSERT_STRING_EQUAL(bar, "F1HelpF2LineF3StockF4ResultsF5LogF6LoadF7VerifyF8KeysF9Import"
                                "F11ExportF10Quit");
    CU_ASSERT_EQUAL(offs[1], 6);
    n = ui_fkey_bar(UI_ST_DASHBOARD, UI_ROLE_SUPERVISOR, 40, bar, sizeof(bar), NULL, NULL);
    CU_ASSERT(strlen(bar) <= 40);
    CU_ASSERT(strncmp(bar, "F1Help", 6) == 0);
    CU_ASSERT(strlen(bar) >= 7 && !strcmp(bar + strlen(bar) - 7, "F10Quit"));
    CU_ASSERT(n >= 2 && n < 11);
    ui_fkey_bar(UI_ST_DASHBOARD, UI_ROLE_SUPERVISOR, 5, bar, sizeof(bar), NULL, NULL);
    CU_ASSERT_STRING_EQUAL(bar, "");
    for (ui_state_t st = UI_ST_DASHBOARD; st <= UI_ST_SETTINGS; st++) {
        ui_fkey_bar(st, UI_ROLE_SUPERVISOR, 80, bar, sizeof(bar), NULL, NULL);
        CU_ASSERT(strlen(bar) <= 80);
        CU_ASSERT(strstr(bar, "F10Quit") != NULL);
        ui_hint_bar(st, UI_ROLE_SUPERVISOR, 78, hint, sizeof(hint));
        CU_ASSERT(strlen(hint) <= 78);
    }
    ui_fkey_bar(UI_ST_RESULTS, UI_ROLE_SUPERVISOR, 200, bar, sizeof(bar), NULL, NULL);
    CU_ASSERT_PTR_NULL(strstr(bar, "F6Load")); /* dashboard only */
}

/* ---- layout ---- */

static void test_layout_grid(void) {
    ui_grid_t g;

    /* 80x24 with 4 readers: 2 per row, full-height tiles, all visible */
    ui_grid_layout(80, 17, 4, 0, 0, &g);
    CU_ASSERT_EQUAL(g.per_row, 2);
    CU_ASSERT_EQUAL(g.tile_w, 40);
    CU_ASSERT_EQUAL(g.tile_h, 6);
    CU_ASSERT_EQUAL(g.n_rows, 2);
    CU_ASSERT_EQUAL(g.vis_rows, 2);
    CU_ASSERT_EQUAL(g.first_row, 0);
    /* 16 readers in the same space: compact tiles, scrolled to the selection */
    ui_grid_layout(80, 17, 16, 15, 0, &g);
    CU_ASSERT_EQUAL(g.per_row, 2);
    CU_ASSERT_EQUAL(g.n_rows, 8);
    CU_ASSERT_EQUAL(g.tile_h, 4);
    CU_ASSERT_EQUAL(g.vis_rows, 4);
    CU_ASSERT_EQUAL(g.first_row, 4);
    ui_grid_layout(80, 17, 16, 0, 4, &g); /* back to the top */
    CU_ASSERT_EQUAL(g.first_row, 0);
    ui_grid_layout(80, 17, 16, 9, 2, &g); /* visible already: stays */
    CU_ASSERT_EQUAL(g.first_row, 2);
    /* medium: 6 readers in 17 rows -> 3 rows of 5 */
    ui_grid_layout(80, 17, 6, 0, 0, &g);
    CU_ASSERT_EQUAL(g.tile_h, 5);
    CU_ASSERT_EQUAL(g.vis_rows, 3);
    /* wide: 3 per row at 120; one reader: one capped tile */
    ui_grid_layout(120, 20, 8, 0, 0, &g);
    CU_ASSERT_EQUAL(g.per_row, 3);
    CU_ASSERT_EQUAL(g.tile_w, 40);
    ui_grid_layout(100, 20, 1, 0, 0, &g);
    CU_ASSERT_EQUAL(g.per_row, 1);
    CU_ASSERT_EQUAL(g.tile_w, 64);
    /* too small or nothing to show */
    ui_grid_layout(30, 20, 4, 0, 0, &g);
    CU_ASSERT_EQUAL(g.per_row, 0);
    ui_grid_layout(80, 20, 0, 0, 0, &g);
    CU_ASSERT_EQUAL(g.vis_rows, 0);
}

static void test_layout_move(void) {
    ui_grid_t g;

    ui_grid_layout(80, 17, 5, 0, 0, &g); /* 2 per row: 0 1 / 2 3 / 4 */
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 0, 1, 0), 1);
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 4, 1, 0), 0);  /* wraps */
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 0, -1, 0), 4); /* wraps back */
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 1, 0, 1), 3);
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 3, 0, 1), 3); /* nothing below 3 */
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 2, 0, 1), 4);
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 1, 0, -1), 1);
    CU_ASSERT_EQUAL(ui_grid_move(&g, 5, 9, 0, 0), 4); /* clamped */
    CU_ASSERT_EQUAL(ui_grid_move(&g, 0, 0, 1, 0), 0);
}

static void test_layout_format(void) {
    char b[64];

    ui_fmt_bar(b, sizeof(b), 10, 50, 100);
    CU_ASSERT_STRING_EQUAL(b, "#####.....");
    ui_fmt_bar(b, sizeof(b), 10, 0, 0);
    CU_ASSERT_STRING_EQUAL(b, "..........");
    ui_fmt_bar(b, sizeof(b), 4, 900, 100);
    CU_ASSERT_STRING_EQUAL(b, "####");
    ui_fmt_bar(b, 5, 10, 1, 1); /* cut to the buffer */
    CU_ASSERT_STRING_EQUAL(b, "####");
    CU_ASSERT_EQUAL(ui_percent(1, 3), 33);
    CU_ASSERT_EQUAL(ui_percent(5, 0), 0);
    CU_ASSERT_EQUAL(ui_percent(7, 5), 100);
    CU_ASSERT_DOUBLE_EQUAL(ui_yield(0, 0, 0), -1.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(ui_yield(3, 1, 0), 75.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(ui_yield(8, 1, 1), 80.0, 1e-9);
    ui_fmt_bytes(b, sizeof(b), 812);
    CU_ASSERT_STRING_EQUAL(b, "812 B");
    ui_fmt_bytes(b, sizeof(b), 12345);
    CU_ASSERT_STRING_EQUAL(b, "12.3 KB");
    ui_fmt_bytes(b, sizeof(b), 1500000);
    CU_ASSERT_STRING_EQUAL(b, "1.5 MB");
    ui_fmt_cut(b, sizeof(b), "abcdefgh", 5);
    CU_ASSERT_STRING_EQUAL(b, "abcd~");
    ui_fmt_cut(b, sizeof(b), "abc", 5);
    CU_ASSERT_STRING_EQUAL(b, "abc");
    /* scrolling window of 5 over 20 lines */
    CU_ASSERT_EQUAL(ui_scroll(20, 5, 0, 0), 0);
    CU_ASSERT_EQUAL(ui_scroll(20, 5, 7, 0), 3);
    CU_ASSERT_EQUAL(ui_scroll(20, 5, 2, 3), 2);
    CU_ASSERT_EQUAL(ui_scroll(20, 5, 19, 0), 15);
    CU_ASSERT_EQUAL(ui_scroll(3, 5, 2, 0), 0);
}

/* ---- PINs and the operators file ---- */

static void test_pin_hash(void) {
    uint8_t h[UI_PIN_HASH_LEN];

    /* RFC 7914 §11, PBKDF2-HMAC-SHA256, first 32 bytes of dkLen 64 */
    CU_ASSERT_EQUAL(ui_pin_hash("passwd", (const uint8_t *)"salt", 4, 1, h), ST_OK);
    TU_ASSERT_HEX(h, sizeof(h), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    CU_ASSERT_EQUAL(ui_pin_hash("Password", (const uint8_t *)"NaCl", 4, 80000, h), ST_OK);
    TU_ASSERT_HEX(h, sizeof(h), "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
    CU_ASSERT_EQUAL(ui_pin_hash("x", (const uint8_t *)"s", 1, 0, h), ST_E_INVAL);
    CU_ASSERT_EQUAL(ui_pin_hash(NULL, (const uint8_t *)"s", 1, 1, h), ST_E_INVAL);
    CU_ASSERT(ui_operator_id_valid("line3.op-1_a"));
    CU_ASSERT(!ui_operator_id_valid(""));
    CU_ASSERT(!ui_operator_id_valid("a b"));
    CU_ASSERT(!ui_operator_id_valid("x:y"));
    CU_ASSERT(!ui_operator_id_valid("0123456789012345678901234567890123"));
}

static char *write_file(const char *dir, const char *name, const char *text, mode_t mode) {
    char *p = NULL;
    FILE *f;

    CU_ASSERT_FATAL(asprintf(&p, "%s/%s", dir, name) > 0);
    f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
    return p;
}

static void test_operators_file(void) {
    char *dir = tu_tmpdir("ui-ops"), *path = NULL, *bad = NULL, err[256];
    ui_operators_t ops = {NULL, 0}, back = {NULL, 0};
    ui_role_t role;
    struct stat sb;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_FATAL(asprintf(&path, "%s/operators", dir) > 0);
    CU_ASSERT_EQUAL(ui_operators_load(path, &back, err, sizeof(err)), ST_E_NOENT);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "sup1", UI_ROLE_SUPERVISOR, "1234", 1000), ST_OK);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "op1", UI_ROLE_OPERATOR, "98765", 2000), ST_OK);
    /* bad PIN, id, role or iteration count */
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "x", UI_ROLE_OPERATOR, "123", 1000), ST_E_INVAL);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "x", UI_ROLE_OPERATOR, "12 34", 1000), ST_E_INVAL);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "a b", UI_ROLE_OPERATOR, "1234", 1000), ST_E_INVAL);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "x", UI_ROLE_NONE, "1234", 1000), ST_E_INVAL);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "x", UI_ROLE_OPERATOR, "1234", 10), ST_E_INVAL);
    CU_ASSERT_EQUAL(ops.n, 2);
    CU_ASSERT_EQUAL(ui_operators_save(path, &ops), ST_OK);
    CU_ASSERT_EQUAL(stat(path, &sb), 0);
    CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);

    CU_ASSERT_EQUAL(ui_operators_load(path, &back, err, sizeof(err)), ST_OK);
    CU_ASSERT_EQUAL_FATAL(back.n, 2);
    CU_ASSERT_STRING_EQUAL(back.v[0].id, "sup1");
    CU_ASSERT_EQUAL(back.v[1].iter, 2000);
    CU_ASSERT_EQUAL(memcmp(back.v[0].hash, ops.v[0].hash, UI_PIN_HASH_LEN), 0);
    /* a fresh salt per operator: same PIN, different hash */
    CU_ASSERT(memcmp(back.v[0].salt, back.v[1].salt, UI_PIN_SALT_LEN) != 0);

    CU_ASSERT_EQUAL(ui_operators_check(&back, "sup1", "1234", &role), ST_OK);
    CU_ASSERT_EQUAL(role, UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "op1", "98765", &role), ST_OK);
    CU_ASSERT_EQUAL(role, UI_ROLE_OPERATOR);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "op1", "98766", &role), ST_E_PERM);
    CU_ASSERT_EQUAL(role, UI_ROLE_NONE);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "sup1", "98765", &role), ST_E_PERM);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "nobody", "1234", &role), ST_E_PERM);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "sup1", "", &role), ST_E_PERM);
    CU_ASSERT_EQUAL(ui_operators_check(&back, NULL, NULL, &role), ST_E_PERM);

    /* replace (new PIN, new salt) and remove */
    CU_ASSERT_EQUAL(ui_operators_set(&back, "op1", UI_ROLE_SUPERVISOR, "4321", 1000), ST_OK);
    CU_ASSERT_EQUAL(back.n, 2);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "op1", "98765", &role), ST_E_PERM);
    CU_ASSERT_EQUAL(ui_operators_check(&back, "op1", "4321", &role), ST_OK);
    CU_ASSERT_EQUAL(role, UI_ROLE_SUPERVISOR);
    CU_ASSERT_EQUAL(ui_operators_remove(&back, "sup1"), ST_OK);
    CU_ASSERT_EQUAL(ui_operators_remove(&back, "sup1"), ST_E_NOENT);
    CU_ASSERT_EQUAL(back.n, 1);

    /* refused: writable by others, malformed lines, repeated ids, unknown role */
    chmod(path, 0620);
    CU_ASSERT_EQUAL(ui_operators_load(path, &back, err, sizeof(err)), ST_E_PERM);
    bad = write_file(dir, "bad1", "# c\nop1 operator pbkdf2-sha256$1000$00$11\n", 0600);
    CU_ASSERT_EQUAL(ui_operators_load(bad, &back, err, sizeof(err)), ST_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad1:2"));
    CU_ASSERT_EQUAL(back.n, 0);
    free(bad);
    bad = write_file(dir, "bad2", "op1 boss pbkdf2-sha256$1000$00$11\n", 0600);
    CU_ASSERT_EQUAL(ui_operators_load(bad, &back, err, sizeof(err)), ST_E_CONFIG);
    free(bad);
    bad = write_file(dir, "bad3", "op1 operator\n", 0600);
    CU_ASSERT_EQUAL(ui_operators_load(bad, &back, err, sizeof(err)), ST_E_CONFIG);
    free(bad);

    ui_operators_free(&ops);
    ui_operators_free(&back);
    tu_rmrf(dir);
    free(dir);
    free(path);
}

/* ---- the console model against a fake station ---- */

typedef struct {
    int n_cmd;
    char reader[ENGINE_NAME_MAX];
    bool reader_null;
    engine_cmd_t cmd;
    char op[64];
    int n_audit;
    char audit_action[64];
    char audit_op[64];
    int n_import;
    char import_path[256];
    engine_snapshot_t snap;
} fake_t;

static void f_snapshot(void *ud, engine_snapshot_t *out) {
    *out = ((fake_t *)ud)->snap;
}

static st_t f_command(void *ud, const char *reader, engine_cmd_t cmd, const char *op) {
    fake_t *f = ud;
    f->n_cmd++;
    f->reader_null = reader == NULL;
    snprintf(f->reader, sizeof(f->reader), "%s", reader ? reader : "");
    f->cmd = cmd;
    snprintf(f->op, sizeof(f->op), "%s", op);
    return ST_OK;
}

static void f_audit(void *ud, const char *op, const char *action, const char *object,
                    const char *value) {
    fake_t *f = ud;
    (void)object;
    (void)value;
    f->n_audit++;
    snprintf(f->audit_action, sizeof(f->audit_action), "%s", action);
    snprintf(f->audit_op, sizeof(f->audit_op), "%s", op);
}

static st_t f_import(void *ud, const char *path, const char *op) {
    fake_t *f = ud;
    (void)op;
    f->n_import++;
    snprintf(f->import_path, sizeof(f->import_path), "%s", path);
    return ST_OK;
}

static void reader(fake_t *f, size_t i, const char *name, engine_slot_state_t st, const char *eid) {
    engine_reader_snap_t *r = &f->snap.readers[i];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->id, sizeof(r->id), "%s", name);
    r->state = st;
    r->card_present = st != ENGINE_SLOT_EMPTY;
    r->has_eid = eid != NULL;
    snprintf(r->eid, sizeof(r->eid), "%s", eid ? eid : "");
    r->loaded = r->due = 1;
    if (f->snap.n_readers <= i)
        f->snap.n_readers = i + 1;
}

static void keys(ui_t *ui, const char *s) {
    for (; *s; s++)
        ui_handle_key(ui, *s == '\n' ? '\n' : (unsigned char)*s);
}

static const char EID_A[] = "89049032000034301421382293520248";
static const char EID_B[] = "89049032000034301421382293520345";

static void test_model_session(void) {
    char *dir = tu_tmpdir("ui-model"), *path = NULL, err[256];
    ui_operators_t ops = {NULL, 0};
    fake_t *f = calloc(1, sizeof(*f));
    ui_t *ui = calloc(1, sizeof(*ui));
    ui_ops_t o = {0};
    ui_opts_t uo = {0};
    unsigned fl;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ui);
    CU_ASSERT_FATAL(asprintf(&path, "%s/operators", dir) > 0);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "sup1", UI_ROLE_SUPERVISOR, "1234", 1000), ST_OK);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "op1", UI_ROLE_OPERATOR, "5678", 1000), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ui_operators_save(path, &ops), ST_OK);

    o.ud = f;
    o.snapshot = f_snapshot;
    o.command = f_command;
    o.audit = f_audit;
    o.import_start = f_import;
    uo.ops = &o;
    uo.operators_path = path;
    uo.import_dir = "/media/ifpp";
    reader(f, 0, "R0 00 00", ENGINE_SLOT_PASS, EID_A);
    reader(f, 1, "R1 00 00", ENGINE_SLOT_FAIL, EID_B);
    f->snap.seq = 1;

    CU_ASSERT_EQUAL_FATAL(ui_init(ui, &uo, err, sizeof(err)), ST_OK);
    ui->now_ms = 1000;
    ui_refresh(ui);
    CU_ASSERT_EQUAL(ui->state, UI_ST_LOGIN);
    CU_ASSERT_EQUAL(ui->role, UI_ROLE_NONE);

    /* nothing works before the log-in: keys go into the form */
    keys(ui, "L");
    CU_ASSERT_EQUAL(f->n_cmd, 0);
    ui_handle_key(ui, 27); /* Esc clears */
    CU_ASSERT_STRING_EQUAL(ui->in_id, "");

    /* wrong PIN: refused and audited */
    keys(ui, "op1\t0000\n");
    CU_ASSERT_EQUAL(ui->state, UI_ST_LOGIN);
    CU_ASSERT_EQUAL(f->n_audit, 1);
    CU_ASSERT_STRING_EQUAL(f->audit_action, "console.login_failed");
    CU_ASSERT_STRING_EQUAL(ui->in_pin, ""); /* wiped */

    /* operator log-in */
    ui_handle_key(ui, 27);
    keys(ui, "op1\t5678\n");
    CU_ASSERT_EQUAL_FATAL(ui->state, UI_ST_DASHBOARD);
    CU_ASSERT_EQUAL(ui->role, UI_ROLE_OPERATOR);
    CU_ASSERT_STRING_EQUAL(ui->op, "op1");
    CU_ASSERT_STRING_EQUAL(f->audit_action, "console.login");

    /* load the selected card: the operator id goes with the command */
    fl = ui_handle_key(ui, KEY_F(6));
    CU_ASSERT_EQUAL(f->n_cmd, 1);
    CU_ASSERT_EQUAL(f->cmd, ENGINE_CMD_LOAD);
    CU_ASSERT_STRING_EQUAL(f->reader, "R0 00 00");
    CU_ASSERT_STRING_EQUAL(f->op, "op1");
    CU_ASSERT(!(fl & UI_BEEP));
    /* verify all */
    ui_handle_key(ui, 'V');
    CU_ASSERT_EQUAL(f->n_cmd, 2);
    CU_ASSERT(f->reader_null);
    CU_ASSERT_EQUAL(f->cmd, ENGINE_CMD_VERIFY);

    /* supervisor-only actions are refused for an operator, without a dialog */
    fl = ui_handle_key(ui, 'D');
    CU_ASSERT(fl & UI_BEEP);
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    fl = ui_handle_key(ui, 'i');
    CU_ASSERT(fl & UI_BEEP);
    CU_ASSERT_EQUAL(f->n_import, 0);
    CU_ASSERT_EQUAL(f->n_cmd, 2);

    /* reject: only a FAIL/ATTENTION unit */
    fl = ui_handle_key(ui, 'r'); /* R0 is PASS */
    CU_ASSERT(fl & UI_BEEP);
    CU_ASSERT(!ui->rejected[0]);
    ui_handle_key(ui, '\t'); /* select R1 (FAIL) */
    CU_ASSERT_EQUAL(ui->sel, 1);
    fl = ui_handle_key(ui, 'r');
    CU_ASSERT(!(fl & UI_BEEP));
    CU_ASSERT(ui->rejected[1]);
    CU_ASSERT_STRING_EQUAL(f->audit_action, "unit.reject");
    /* the reject holds until the unit leaves the fixture */
    f->snap.seq++;
    ui_refresh(ui);
    CU_ASSERT(ui->rejected[1]);
    reader(f, 1, "R1 00 00", ENGINE_SLOT_EMPTY, NULL);
    f->snap.seq++;
    ui_refresh(ui);
    CU_ASSERT(!ui->rejected[1]);
    /* a busy or empty reader takes no command */
    fl = ui_handle_key(ui, 'l');
    CU_ASSERT(fl & UI_BEEP);
    CU_ASSERT_EQUAL(f->n_cmd, 2);
    ui_handle_key(ui, KEY_LEFT);
    CU_ASSERT_EQUAL(ui->sel, 0);

    /* log out, supervisor in */
    ui_handle_key(ui, 'o');
    CU_ASSERT_EQUAL(ui->state, UI_ST_LOGIN);
    CU_ASSERT_STRING_EQUAL(f->audit_action, "console.logout");
    CU_ASSERT_STRING_EQUAL(f->audit_op, "op1");
    keys(ui, "sup1\t1234\n");
    CU_ASSERT_EQUAL_FATAL(ui->role, UI_ROLE_SUPERVISOR);

    /* delete keys for the lot: a confirmation first; 'n' (or anything else) cancels */
    ui_handle_key(ui, 'D');
    CU_ASSERT_EQUAL(ui->state, UI_ST_CONFIRM);
    CU_ASSERT_EQUAL(ui->under, UI_ST_DASHBOARD);
    ui_handle_key(ui, 'n');
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    CU_ASSERT_EQUAL(f->n_cmd, 2);
    ui_handle_key(ui, 'D');
    ui_handle_key(ui, 'y');
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    CU_ASSERT_EQUAL(f->n_cmd, 3);
    CU_ASSERT(f->reader_null);
    CU_ASSERT_EQUAL(f->cmd, ENGINE_CMD_DELETE_KEYS);
    CU_ASSERT_STRING_EQUAL(f->op, "sup1");
    CU_ASSERT_STRING_EQUAL(f->audit_action, "console.delete_keys_lot");
    /* one card: F8 asks too, and names the reader */
    ui_handle_key(ui, KEY_F(8));
    CU_ASSERT_EQUAL(ui->state, UI_ST_CONFIRM);
    ui_handle_key(ui, 'y');
    CU_ASSERT_EQUAL(f->n_cmd, 4);
    CU_ASSERT_STRING_EQUAL(f->reader, "R0 00 00");

    /* import: a prompt with the default folder, then the station's worker */
    ui_handle_key(ui, KEY_F(9));
    CU_ASSERT_EQUAL(ui->state, UI_ST_PROMPT);
    CU_ASSERT_STRING_EQUAL(ui->prompt.buf, "/media/ifpp");
    ui_handle_key(ui, KEY_BACKSPACE);
    keys(ui, "2\n");
    CU_ASSERT_EQUAL(f->n_import, 1);
    CU_ASSERT_STRING_EQUAL(f->import_path, "/media/ifp2");
    CU_ASSERT_EQUAL(ui->state, UI_ST_PROGRESS);
    /* export is not offered by this station */
    ui_handle_key(ui, 27);
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    fl = ui_handle_key(ui, 'e');
    CU_ASSERT(fl & UI_BEEP);
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);

    /* screens */
    ui_handle_key(ui, KEY_F(5));
    CU_ASSERT_EQUAL(ui->state, UI_ST_LOG);
    ui_handle_key(ui, '?');
    CU_ASSERT_EQUAL(ui->state, UI_ST_HELP);
    ui_handle_key(ui, '?');
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    ui_handle_key(ui, 's');
    CU_ASSERT_EQUAL(ui->state, UI_ST_SETTINGS);

    /* quit without a running job: at once */
    fl = ui_handle_key(ui, 'q');
    CU_ASSERT(fl & UI_QUIT);
    /* with a job running: asks first */
    reader(f, 0, "R0 00 00", ENGINE_SLOT_LOADING, EID_A);
    f->snap.seq++;
    ui_refresh(ui);
    fl = ui_handle_key(ui, 'q');
    CU_ASSERT(!(fl & UI_QUIT));
    CU_ASSERT_EQUAL(ui->state, UI_ST_CONFIRM);
    fl = ui_handle_key(ui, 'y');
    CU_ASSERT(fl & UI_QUIT);

    ui_free(ui);
    free(ui);
    free(f);
    ui_operators_free(&ops);
    tu_rmrf(dir);
    free(dir);
    free(path);
}

static void test_model_lockout_and_nologin(void) {
    char *dir = tu_tmpdir("ui-lock"), *path = NULL, err[256];
    ui_operators_t ops = {NULL, 0};
    fake_t *f = calloc(1, sizeof(*f));
    ui_t *ui = calloc(1, sizeof(*ui));
    ui_ops_t o = {0};
    ui_opts_t uo = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_FATAL(asprintf(&path, "%s/operators", dir) > 0);
    CU_ASSERT_EQUAL(ui_operators_set(&ops, "sup1", UI_ROLE_SUPERVISOR, "1234", 1000), ST_OK);
    CU_ASSERT_EQUAL_FATAL(ui_operators_save(path, &ops), ST_OK);
    o.ud = f;
    o.snapshot = f_snapshot;
    o.command = f_command;
    uo.ops = &o;
    uo.operators_path = path;
    reader(f, 0, "R0 00 00", ENGINE_SLOT_PRESENT, EID_A);

    CU_ASSERT_EQUAL_FATAL(ui_init(ui, &uo, err, sizeof(err)), ST_OK);
    ui->now_ms = 5000;
    for (int i = 0; i < UI_LOGIN_TRIES; i++) {
        ui_handle_key(ui, 27);
        keys(ui, "sup1\t9999\n");
    }
    CU_ASSERT(ui->locked_until_ms > ui->now_ms);
    /* locked: even the right PIN is refused until the time is up */
    ui_handle_key(ui, 27);
    keys(ui, "sup1\t1234\n");
    CU_ASSERT_EQUAL(ui->state, UI_ST_LOGIN);
    ui->now_ms += UI_LOGIN_LOCK + 1;
    ui_handle_key(ui, 27);
    keys(ui, "sup1\t1234\n");
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    ui_free(ui);

    /* a configured file that does not exist: refused (nobody could log in) */
    uo.operators_path = "/nonexistent/ops";
    CU_ASSERT_EQUAL(ui_init(ui, &uo, err, sizeof(err)), ST_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "operator add"));

    /* no operators file: no log-in, the default operator with the operator role */
    uo.operators_path = NULL;
    CU_ASSERT_EQUAL_FATAL(ui_init(ui, &uo, err, sizeof(err)), ST_OK);
    ui_refresh(ui);
    CU_ASSERT_EQUAL(ui->state, UI_ST_DASHBOARD);
    CU_ASSERT_EQUAL(ui->role, UI_ROLE_OPERATOR);
    CU_ASSERT_STRING_EQUAL(ui->op, ENGINE_DEFAULT_OPERATOR);
    ui_handle_key(ui, 'l');
    CU_ASSERT_STRING_EQUAL(f->op, ENGINE_DEFAULT_OPERATOR);
    CU_ASSERT(ui_handle_key(ui, 'o') & UI_BEEP); /* nothing to log out of */
    CU_ASSERT(ui_handle_key(ui, 'D') & UI_BEEP);
    ui_free(ui);

    free(ui);
    free(f);
    ui_operators_free(&ops);
    tu_rmrf(dir);
    free(dir);
    free(path);
}

static void test_model_changes_and_results(void) {
    fake_t *f = calloc(1, sizeof(*f));
    ui_t *ui = calloc(1, sizeof(*ui));
    ui_ops_t o = {0};
    ui_opts_t uo = {0};
    char err[128];
    size_t n0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ui);
    o.ud = f;
    o.snapshot = f_snapshot;
    o.command = f_command;
    uo.ops = &o;
    reader(f, 0, "R0 00 00", ENGINE_SLOT_LOADING, EID_A);
    reader(f, 1, "R1 00 00", ENGINE_SLOT_LOADING, EID_B);
    f->snap.seq = 1;
    CU_ASSERT_EQUAL_FATAL(ui_init(ui, &uo, err, sizeof(err)), ST_OK);
    ui_refresh(ui);
    n0 = ui->log_n;
    CU_ASSERT_EQUAL(ui->n_cards, 0);

    /* no change (same seq): nothing recorded */
    ui_refresh(ui);
    CU_ASSERT_EQUAL(ui->log_n, n0);
    /* verdicts: one card result each, one event line each */
    reader(f, 0, "R0 00 00", ENGINE_SLOT_PASS, EID_A);
    reader(f, 1, "R1 00 00", ENGINE_SLOT_FAIL, EID_B);
    snprintf(f->snap.readers[1].error, ENGINE_TEXT_MAX, "%s",
             engine_fpa_error_text(ENGINE_FPA_PIR_ERROR));
    f->snap.seq = 2;
    ui_refresh(ui);
    CU_ASSERT_EQUAL(ui->n_cards, 2);
    CU_ASSERT_EQUAL(ui->log_n, n0 + 2);
    CU_ASSERT_EQUAL(ui->cards[1].verdict, UI_VERDICT_FAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(ui->cards[1].text, "refused the profile"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(ui->log[(ui->log_head + ui->log_n - 1) % UI_LOG_RING].text, "FAIL"));
    /* a new reader appears */
    reader(f, 2, "R2 00 00", ENGINE_SLOT_PRESENT, NULL);
    f->snap.seq = 3;
    ui_refresh(ui);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(ui->log[(ui->log_head + ui->log_n - 1) % UI_LOG_RING].text, "connected"));

    /* results: filter by EID part and by verdict */
    ui_results_filter(ui);
    CU_ASSERT_EQUAL(ui->n_rows, 2);
    snprintf(ui->f_eid, sizeof(ui->f_eid), "0345");
    ui_results_filter(ui);
    CU_ASSERT_EQUAL_FATAL(ui->n_rows, 1);
    CU_ASSERT_STRING_EQUAL(ui->rows[0]->eid, EID_B);
    ui->f_eid[0] = '\0';
    ui->state = UI_ST_RESULTS;
    ui_do(ui, UI_A_FILTER_VERD); /* -> PASS */
    CU_ASSERT_EQUAL(ui->n_rows, 1);
    CU_ASSERT_EQUAL(ui->rows[0]->verdict, UI_VERDICT_PASS);
    ui_do(ui, UI_A_FILTER_VERD); /* -> FAIL */
    CU_ASSERT_EQUAL(ui->rows[0]->verdict, UI_VERDICT_FAIL);
    ui_do(ui, UI_A_FILTER_VERD); /* -> ATTENTION */
    CU_ASSERT_EQUAL(ui->n_rows, 0);
    ui_do(ui, UI_A_FILTER_VERD); /* -> all */
    CU_ASSERT_EQUAL(ui->n_rows, 2);
    snprintf(ui->f_iccid, sizeof(ui->f_iccid), "89");
    ui_results_filter(ui);
    CU_ASSERT_EQUAL(ui->n_rows, 0); /* card rows have no ICCID */
    ui_do(ui, UI_A_FILTER_CLEAR);
    CU_ASSERT_EQUAL(ui->n_rows, 2);
    /* list navigation stays in range */
    ui->scr_h = 24;
    ui_do(ui, UI_A_DOWN);
    ui_do(ui, UI_A_DOWN);
    ui_do(ui, UI_A_PGDN);
    CU_ASSERT_EQUAL(ui->cur[UI_ST_RESULTS], 1);
    ui_do(ui, UI_A_PGUP);
    CU_ASSERT_EQUAL(ui->cur[UI_ST_RESULTS], 0);

    ui_free(ui);
    free(ui);
    free(f);
}

void test_ui_register(void) {
    static const tu_test_t tests[] = {
        {"keys: key -> action per screen", test_keys_map},
        {"keys: table sane, roles", test_keys_table_sane},
        {"keys: bottom bars by role and width", test_keys_bars},
        {"layout: tile grid", test_layout_grid},
        {"layout: moving the selection", test_layout_move},
        {"layout: bars, yield, bytes, scrolling", test_layout_format},
        {"pin: PBKDF2-HMAC-SHA256 (RFC 7914)", test_pin_hash},
        {"pin: operators file", test_operators_file},
        {"model: log-in, roles, commands, confirm", test_model_session},
        {"model: lock-out, no log-in", test_model_lockout_and_nologin},
        {"model: changes, card results, filter", test_model_changes_and_results},
    };
    TU_ADD_SUITE("ui", tests);
}
