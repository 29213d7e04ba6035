/*
 * cli.h - shared by the numem subcommands.
 *
 * Exit codes (documented in `numem --help` and docs/FORMATS.md):
 *   0  success
 *   1  invalid input: a table or a machine description was rejected
 *   2  usage: unknown option, missing argument
 *   3  I/O: a file could not be read or written
 *   4  verification: an invariant check failed (numem stress)
 */
#ifndef NUMEM_CLI_H
#define NUMEM_CLI_H

#include <numem/host.h>
#include <stdbool.h>

enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,
	EXIT_USAGE = 2,
	EXIT_IO = 3,
	EXIT_VERIFY = 4,
};

/* Options that choose and shape a machine, shared by every subcommand. */
struct machine_args {
	const char *positional; /* preset name or table directory */
	const char *srat, *slit, *hmat, *madt, *pptt;
	const char *preset;
	const char *sysfs_root;
	bool host;
	struct numem_spec *numa; /* from --numa arguments, or NULL */
	struct numem_machine_opts opts;
	bool json;
	/* system shaping for the commands that build a frame table and heap */
	bool vmemmap;           /* --frametable vmemmap (default sections) */
	uint64_t movable_bytes; /* --movable SIZE: ZONE_MOVABLE, spread over the nodes */
};

/* If argv[*i] is a machine option, consume it (and its value) and return 1;
 * 0 if not one; -1 on a usage error, MACHINE_ARGS_INVALID when a --numa
 * description was rejected (exit status 1; message printed either way). */
#define MACHINE_ARGS_INVALID (-2)
int machine_args_take(struct machine_args *ma, int argc, char **argv, int *i);
/* The argument loop of a command that takes only machine options (and
 * --json when json_ok): returns -1 to go on, else the exit code (help
 * printed, or a usage error reported). */
int machine_args_parse(struct machine_args *ma, int argc, char **argv, const char *cmd,
                       const char *help, bool json_ok);
/* Usage text for the machine options. */
extern const char machine_args_help[];
/* Load the machine.  On failure prints the error (and, with --json, the
 * error object on stdout) and returns the exit code; 0 on success. */
int machine_args_load(struct machine_args *ma, struct numem_machine *m);
void machine_args_free(struct machine_args *ma);
/* With --json, print the error form of d on stdout (strings made valid
 * UTF-8 first: bytes that are not become "\\xNN"). */
void machine_args_json_error(const struct machine_args *ma, const char *name,
                             const struct numem_diag *d);

/* Print "numem CMD: msg" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A failure: "numem CMD: msg" on stderr and, with json, {"error": "io" |
 * "verification" | "invalid" (by code), "message": msg} on stdout.
 * Returns code. */
int cli_fail(const char *cmd, bool json, int code, const char *msg);

int cmd_topo(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tables(int argc, char **argv);
int cmd_stress(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_relayout(int argc, char **argv);
int cmd_tmem(int argc, char **argv);

#endif
