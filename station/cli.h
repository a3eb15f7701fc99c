/*
 * cli.h - the station's command handlers (DESIGN §4) and what they share. main.c lists them in
 * STATION_COMMANDS; each handler gets argv[0] = its command name and returns the exit code.
 * Handlers may print (they are the CLI); the engine libraries they call never do.
 */
#ifndef IFPP_CLI_H
#define IFPP_CLI_H

#include "config.h"
#include "store.h"

/* Exit codes (DESIGN §4). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Global options, parsed by main(). */
typedef struct {
    const char *config_path; /* -c; NULL: CONFIG_DEFAULT_PATH when it exists, else defaults */
    const char *state_dir;   /* --state-dir; overrides [station] state_dir */
} global_opts_t;

#define CLI_DB_NAME "station.db" /* the store inside the state directory */

/*
 * Loads the configuration as the global options say. On failure prints "ifpp-station: ..." on
 * stderr and returns EXIT_USAGE (a configuration error); EXIT_OK with *out set otherwise.
 */
int cli_load_config(const global_opts_t *g, config_t **out);

/* The state directory in effect (--state-dir, else [station] state_dir). Borrowed. */
const char *cli_state_dir(const global_opts_t *g, const config_t *cfg);

/*
 * Opens the store STATE_DIR/station.db (flags: STORE_OPEN_READONLY or 0; read-write creates
 * the state directory 0700 when missing) with the configured busy timeout. Prints the error
 * and returns EXIT_FAIL (EXIT_USAGE for a missing state directory when read-only).
 */
int cli_open_store(const global_opts_t *g, const config_t *cfg, unsigned flags, store_t **out);

/* cli_import.c */
int cmd_import(const global_opts_t *g, int argc, char **argv);
int cmd_request(const global_opts_t *g, int argc, char **argv);
int cmd_status(const global_opts_t *g, int argc, char **argv);

/* cli_line.c */
int cmd_readers(const global_opts_t *g, int argc, char **argv);
int cmd_load(const global_opts_t *g, int argc, char **argv);
int cmd_verify(const global_opts_t *g, int argc, char **argv);
int cmd_delete_keys(const global_opts_t *g, int argc, char **argv);
int cmd_run(const global_opts_t *g, int argc, char **argv);

/* cli_report.c */
int cmd_report(const global_opts_t *g, int argc, char **argv);
int cmd_audit(const global_opts_t *g, int argc, char **argv);

/* cli_media.c */
int cmd_media(const global_opts_t *g, int argc, char **argv);

/* cli_ui.c */
int cmd_ui(const global_opts_t *g, int argc, char **argv);
int cmd_operator(const global_opts_t *g, int argc, char **argv);

#endif
