/*
 * ui_keys.c - the key table and the action table (tig requests, htop key bindings): one place
 * says which key does what on which screen, who may do it, and what the help screen and the
 * bottom bars say about it. Pure: no curses calls (only its key codes).
 */
#include <stdio.h>
#include <string.h>

#include "ui_internal.h"

const ui_key_t ui_keys[] = {
#define UI_X_KEY(screens, key, label, action) {screens, key, label, action},
    UI_KEYS(UI_X_KEY)
#undef UI_X_KEY
};
const size_t ui_n_keys = sizeof(ui_keys) / sizeof(ui_keys[0]);

typedef struct {
    ui_role_t role;
    const char *bar;
    const char *hint;
    const char *help;
} action_info_t;

static const action_info_t actions[UI_A__COUNT] = {
#define UI_X_ACT(a, role, bar, hint, help) [a] = {role, bar, hint, help},
    UI_ACTIONS(UI_X_ACT)
#undef UI_X_ACT
};

unsigned ui_state_mask(ui_state_t state) {
    switch (state) {
    case UI_ST_DASHBOARD:
        return UI_M_DASH;
    case UI_ST_BUNDLES:
        return UI_M_BUNDLES;
    case UI_ST_RESULTS:
        return UI_M_RESULTS;
    case UI_ST_LOG:
        return UI_M_LOG;
    case UI_ST_HELP:
        return UI_M_HELP;
    case UI_ST_SETTINGS:
        return UI_M_SETTINGS;
    default:
        return 0; /* log-in and dialogs read their keys themselves */
    }
}

ui_action_t ui_key_action(ui_state_t state, int key) {
    unsigned mask = ui_state_mask(state);

    for (size_t i = 0; i < ui_n_keys; i++)
        if ((ui_keys[i].screens & mask) && ui_keys[i].key == key)
            return ui_keys[i].action;
    return UI_A_NONE;
}

ui_role_t ui_action_role(ui_action_t a) {
    return a < UI_A__COUNT ? actions[a].role : UI_ROLE_SUPERVISOR;
}

const char *ui_action_bar(ui_action_t a) {
    return a < UI_A__COUNT ? actions[a].bar : "";
}

const char *ui_action_hint(ui_action_t a) {
    return a < UI_A__COUNT ? actions[a].hint : "";
}

const char *ui_action_help(ui_action_t a) {
    return a < UI_A__COUNT ? actions[a].help : "";
}

const char *ui_action_keys(ui_action_t a, unsigned screens, char *out, size_t len) {
    size_t used = 0;

    if (len)
        out[0] = '\0';
    for (size_t i = 0; i < ui_n_keys && len; i++) {
        if (ui_keys[i].action != a || !(ui_keys[i].screens & screens))
            continue;
        /* the same label twice (a key bound on several screen groups) only once */
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            if (ui_keys[j].action == a && (ui_keys[j].screens & screens)
                && !strcmp(ui_keys[j].label, ui_keys[i].label))
                dup = true;
        if (dup)
            continue;
        int w = snprintf(out + used, len - used, "%s%s", used ? ", " : "", ui_keys[i].label);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    return out;
}

size_t ui_fkey_bar(ui_state_t state, ui_role_t role, int cols, char *out, size_t len, size_t *offs,
                   size_t *lens) {
    unsigned mask = ui_state_mask(state);
    bool seen[UI_A__COUNT] = {false};
    const ui_key_t *items[UI_A__COUNT];
    size_t n = 0, total = 0, sep = 1, used = 0, width = cols > 0 ? (size_t)cols : 0;

    if (len)
        out[0] = '\0';
    for (size_t i = 0; i < ui_n_keys; i++) {
        const ui_key_t *k = &ui_keys[i];
        const char *bar = ui_action_bar(k->action);

        if (!(k->screens & mask) || k->label[0] != 'F' || !bar[0] || seen[k->action]
            || ui_action_role(k->action) > role)
            continue;
        seen[k->action] = true;
        items[n++] = k;
        total += strlen(k->label) + strlen(bar);
    }
    /* one space between items when everything fits so, else none (htop: the colours
     * separate them); then drop items from the end, but never Quit (the last one) */
    if (n && total + (n - 1) > width)
        sep = 0;
    while (n > 1 && total + sep * (n - 1) > width) {
        const ui_key_t *drop = items[n - 2];
        total -= strlen(drop->label) + strlen(ui_action_bar(drop->action));
        items[n - 2] = items[n - 1];
        n--;
    }
    if (n == 1 && total > width)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        const char *bar = ui_action_bar(items[i]->action);
        size_t need = (i ? sep : 0) + strlen(items[i]->label) + strlen(bar);
        if (used + need + 1 > len)
            return i;
        if (i && sep)
            out[used++] = ' ';
        if (offs)
            offs[i] = used;
        if (lens)
            lens[i] = strlen(items[i]->label);
        used += (size_t)snprintf(out + used, len - used, "%s%s", items[i]->label, bar);
    }
    return n;
}

void ui_hint_bar(ui_state_t state, ui_role_t role, int cols, char *out, size_t len) {
    unsigned mask = ui_state_mask(state);
    bool seen[UI_A__COUNT] = {false};
    size_t used = 0;

    if (len)
        out[0] = '\0';
    /* the screen's own keys first, then the keys every screen has */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ui_n_keys; i++) {
            const ui_key_t *k = &ui_keys[i];
            const char *hint = ui_action_hint(k->action);

            if ((k->screens == UI_M_MAIN) != (pass == 1))
                continue;
            /* letters only: the F-keys have their own bar */
            if (!(k->screens & mask) || k->label[0] == 'F' || k->label[1] || !hint[0]
                || seen[k->action])
                continue;
            if (ui_action_role(k->action) > role)
                continue;
            seen[k->action] = true;
            size_t need = (used ? 2 : 0) + strlen(k->label) + 1 + strlen(hint);
            if (used + need > (size_t)(cols > 0 ? cols : 0) || used + need + 1 > len)
                return;
            used += (size_t)snprintf(out + used, len - used, "%s%s %s", used ? "  " : "", k->label,
                                     hint);
        }
    }
}
