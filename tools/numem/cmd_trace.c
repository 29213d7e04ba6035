/*
 * cmd_trace.c - `numem trace FILE`: decode a trace file.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <numem/sim.h>

#include "cli.h"

static const char help[] =
    "usage: numem trace FILE [--summary]\n"
    "\n"
    "Decodes a trace written by `numem sim --trace FILE`: one event per line\n"
    "(time in operations, cpu, event, arguments), or with --summary the count\n"
    "of each event type per node.  Format: docs/FORMATS.md.\n";

int cmd_trace(int argc, char **argv)
{
	const char *file = NULL;
	bool summary = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--summary")) {
			summary = true;
		} else if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else {
			cli_error("trace", "unknown argument '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!file) {
		cli_error("trace", "no trace file given");
		return EXIT_USAGE;
	}
	FILE *f = fopen(file, "rb");
	struct stat st;
	if (f && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f); /* fopen takes a directory; reading it fails */
		f = NULL;
		errno = EISDIR;
	}
	if (!f) {
		cli_error("trace", "%s: %s", file, strerror(errno));
		return EXIT_IO;
	}
	char err[256];
	int rc = sim_trace_decode(f, stdout, summary, err, sizeof(err));
	fclose(f);
	if (rc) {
		cli_error("trace", "%s: %s", file, err);
		return EXIT_INVALID;
	}
	return EXIT_OK;
}
