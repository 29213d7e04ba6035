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
    "Decodes a trace written by `numem sim --trace FILE` (FILE-linux, FILE-xen) or\n"
    "`numem stress --trace FILE`: one event per line (time, cpu, event, arguments;\n"
    "a \"lost\" line where a ring overwrote records before they were read), or with\n"
    "--summary the run, the records lost, the count of each event type per node and\n"
    "each node's allocations split as numa_hit (on the node meant), numa_miss (here,\n"
    "another was meant) and numa_foreign (meant here, made elsewhere), per\n"
    "allocation.  A directory or an unreadable file: exit 3; not a trace: exit 1.\n"
    "Format: docs/FORMATS.md.\n";

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
		return rc == -2 ? EXIT_IO : EXIT_INVALID;
	}
	return EXIT_OK;
}
