/*
 * ui_run.c - the console's main loop (ncdu's input_handle, htop's reaction flags).
 *
 * setlocale() first; refuse without a terminal; newterm() on stdin/stdout, cbreak, noecho,
 * keypad. The loop sleeps in poll() on the keyboard, the engine's change fd and a self-pipe for
 * SIGTERM/SIGINT/SIGHUP, at most UI_TICK_MS (clock, progress bars, messages), then drains the
 * keys with nodelay getch(). KEY_RESIZE and the minimum size (80x24) are handled here, once,
 * for every screen. endwin() runs on every exit path; the log sink and the signal handlers
 * are restored before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "ui_internal.h"

#define SNAP_MAX_AGE_MS 1000 /* a snapshot at least this often even without a change event */

const ui_screen_t ui_screens[UI_ST__COUNT] = {
    [UI_ST_LOGIN] = {ui_login_draw, ui_login_key},
    [UI_ST_DASHBOARD] = {ui_dashboard_draw, ui_dashboard_key},
    [UI_ST_BUNDLES] = {ui_bundles_draw, ui_bundles_key},
    [UI_ST_RESULTS] = {ui_results_draw, ui_results_key},
    [UI_ST_LOG] = {ui_log_draw, ui_log_key},
    [UI_ST_HELP] = {ui_help_draw, ui_help_key},
    [UI_ST_SETTINGS] = {ui_settings_draw, ui_settings_key},
    [UI_ST_CONFIRM] = {ui_confirm_draw, ui_confirm_key},
    [UI_ST_PROMPT] = {ui_prompt_draw, ui_prompt_key},
    [UI_ST_PROGRESS] = {ui_progress_draw, ui_progress_key},
};

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    (void)!write(sig_pipe[1], &b, 1);
    errno = saved;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ui_have_tty(void) {
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

/* The log sink while the console owns the terminal: nothing may reach stderr. Called from
 * engine threads (the logger serialises sink calls). */
static int sink_fd = -1;
static void log_sink(st_log_level_t level, const char *msg, void *ud) {
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    ui_t *ui = ud;

    if (level <= ST_LOG_INFO)
        ui_event(ui, (int)level, "%s", msg);
    if (sink_fd >= 0) {
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        dprintf(sink_fd, "%s %s: %s\n", ts, names[level <= ST_LOG_TRACE ? level : 0], msg);
    }
}

/* Polls the import/export task and reports a finished one once. */
static bool poll_task(ui_t *ui) {
    ui_task_t t;

    if (!ui->ops->task)
        return false;
    memset(&t, 0, sizeof(t));
    ui->ops->task(ui->ops->ud, &t);
    if (!t.active && !t.done)
        return false;
    bool changed = memcmp(&t, &ui->task, sizeof(t)) != 0;
    ui->task = t;
    if (t.done && !ui->task_reported) {
        ui->task_reported = true;
        for (size_t i = 0; i < t.n_lines; i++)
            ui_event(ui, t.failed ? ST_LOG_WARN : ST_LOG_INFO, "%s", t.lines[i]);
        ui_message(ui, t.failed ? UI_C_ERR : UI_C_OK, "%s: %s", t.title,
                   t.failed ? "finished with problems (see the event log)" : "done");
        if (ui->state == UI_ST_RESULTS || ui->under == UI_ST_RESULTS)
            ui_results_reload(ui, true);
    }
    return changed;
}

static void draw(ui_t *ui) {
    erase();
    if (ui->too_small) {
        attrset(A_NORMAL);
        mvprintw(0, 0, "Terminal too small: the console needs %dx%d, this one is %dx%d.",
                 UI_MIN_COLS, UI_MIN_ROWS, ui->scr_w, ui->scr_h);
        mvprintw(1, 0, "Enlarge the window (or press q to quit).");
        curs_set(0);
        refresh();
        return;
    }
    const ui_screen_t *s = &ui_screens[ui->state];
    /* the bars first: the login and prompt screens place the cursor last */
    ui_draw_bottom(ui);
    s->draw(ui);
    curs_set(ui->state == UI_ST_LOGIN || ui->state == UI_ST_PROMPT ? 1 : 0);
    refresh();
}

static void measure(ui_t *ui) {
    getmaxyx(stdscr, ui->scr_h, ui->scr_w);
    ui->too_small = ui->scr_w < UI_MIN_COLS || ui->scr_h < UI_MIN_ROWS;
}

st_t ui_run(const ui_opts_t *o) {
    ui_t *ui = NULL;
    SCREEN *scr = NULL;
    struct sigaction sa, old_term, old_int, old_hup;
    bool sigs = false, quit = false, dirty = true;
    char err[512] = "";
    int64_t snap_ms = 0;
    st_t st = ST_OK;

    setlocale(LC_ALL, "");
    if (!o || !o->ops || !o->ops->snapshot || !o->ops->command)
        return ST_E_INVAL;
    if (!ui_have_tty()) {
        st_log(ST_LOG_ERR, "ui: the console needs a terminal (stdin and stdout)");
        return ST_E_UNSUPPORTED;
    }
    if (!(ui = malloc(sizeof(*ui))))
        return ST_E_NOMEM;
    if ((st = ui_init(ui, o, err, sizeof(err))) != ST_OK) {
        st_log(ST_LOG_ERR, "ui: %s", err[0] ? err : st_str(st));
        free(ui);
        return st;
    }
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        st = st_from_errno(errno);
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGHUP, &sa, &old_hup);
    sigs = true;

    if (!(scr = newterm(NULL, stdout, stdin))) {
        st_log(ST_LOG_ERR, "ui: cannot initialise the terminal (TERM=%s)",
               getenv("TERM") ? getenv("TERM") : "");
        st = ST_E_UNSUPPORTED;
        goto out;
    }
    /* from here on nothing may write to the terminal but curses */
    sink_fd = o->log_fd;
    st_log_set_sink(log_sink, ui);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(50);
    curs_set(0);
    ui_colors_init(ui);
    ui->now_ms = mono_ms();
    measure(ui);
    ui_refresh(ui);
    snap_ms = ui->now_ms;
    ui_event(ui, ST_LOG_INFO, "console started%s", ui->login_required ? "" : " (no log-in)");

    while (!quit) {
        int efd = o->ops->event_fd ? o->ops->event_fd(o->ops->ud) : -1;
        struct pollfd pfd[3] = {
            {STDIN_FILENO, POLLIN, 0}, {sig_pipe[0], POLLIN, 0}, {efd, POLLIN, 0}};
        int ch;

        if (dirty) {
            draw(ui);
            dirty = false;
        }
        if (poll(pfd, efd >= 0 ? 3 : 2, UI_TICK_MS) < 0 && errno != EINTR) {
            st = st_from_errno(errno);
            break;
        }
        ui->now_ms = mono_ms();
        if (pfd[1].revents & POLLIN) {
            unsigned char b;
            while (read(sig_pipe[0], &b, 1) > 0)
                ;
            ui_event(ui, ST_LOG_INFO, "signal received: quitting");
            break;
        }
        if ((efd >= 0 && (pfd[2].revents & POLLIN)) || ui->now_ms - snap_ms >= SNAP_MAX_AGE_MS) {
            if (efd >= 0 && (pfd[2].revents & POLLIN) && o->ops->event_ack)
                o->ops->event_ack(o->ops->ud);
            ui_refresh(ui);
            snap_ms = ui->now_ms;
        }
        poll_task(ui);
        /* the clock, bars and messages move: redraw every tick (curses sends the difference) */
        dirty = true;
        while (!quit && (ch = getch()) != ERR) {
            unsigned fl;

            if (ch == KEY_RESIZE) {
                measure(ui);
                clearok(curscr, TRUE);
                continue;
            }
            if (ui->too_small) {
                /* the operator cannot see what a key would do: only quit works */
                quit = ch == 'q' || ch == KEY_F(10);
                continue;
            }
            fl = ui_handle_key(ui, ch);
            if (fl & UI_BEEP)
                beep();
            if (fl & UI_QUIT)
                quit = true;
            if (ch == '\f')
                clearok(curscr, TRUE);
            if (fl & UI_REDRAW) {
                draw(ui);
                dirty = false;
            }
        }
        measure(ui);
    }

out:
    if (scr) {
        erase();
        refresh();
        endwin();
        delscreen(scr);
        st_log_set_sink(NULL, NULL);
        sink_fd = -1;
    }
    if (sigs) {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
    }
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
    ui_free(ui);
    free(ui);
    return st;
}
