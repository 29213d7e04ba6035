/*
 * cmd_tables.c - `numem tables`: write a machine's firmware tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: numem tables [MACHINE] -o DIR [options]\n"
    "\n"
    "Writes DIR/SRAT.bin, DIR/APIC.bin (the MADT: one processor entry per CPU),\n"
    "DIR/PPTT.bin when every CPU's socket and core are known, DIR/SLIT.bin when\n"
    "the machine's distances come from a SLIT, and DIR/HMAT.bin when it has an\n"
    "HMAT, as a firmware would publish them for the machine's\n"
    "topology.  `iasl -d` disassembles them, and `numem topo DIR` parses them back\n"
    "to the same topology.\n"
    "\n"
    "  -o, --output DIR   where to write (created if missing)\n"
    "\n";

static int write_one(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int e = numem_write_file(path, buf, len);
	if (e) {
		cli_error("tables", "%s: %s", path, strerror(e));
		return -1;
	}
	printf("%s (%zu bytes)\n", path, len);
	return 0;
}

int cmd_tables(int argc, char **argv)
{
	struct machine_args ma = {0};
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s%s", help, machine_args_help);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc) {
				cli_error("tables", "%s needs a directory", argv[i]);
				machine_args_free(&ma);
				return EXIT_USAGE;
			}
			dir = argv[++i];
			continue;
		}
		int r = machine_args_take(&ma, argc, argv, &i);
		if (r < 0) {
			machine_args_free(&ma);
			return r == MACHINE_ARGS_INVALID ? EXIT_INVALID : EXIT_USAGE;
		}
		if (r == 0 || ma.json) {
			cli_error("tables", "unknown option '%s' (see --help)", argv[i]);
			machine_args_free(&ma);
			return EXIT_USAGE;
		}
	}
	if (!dir) {
		cli_error("tables", "no output directory (-o DIR)");
		machine_args_free(&ma);
		return EXIT_USAGE;
	}
	struct numem_machine m;
	int rc = machine_args_load(&ma, &m);
	machine_args_free(&ma);
	if (rc)
		return rc;
	int me = numem_mkdir_p(dir); /* help: "created if missing", parents too */
	if (me) {
		cli_error("tables", "%s: %s", dir, strerror(me));
		numem_machine_unload(&m);
		return EXIT_IO;
	}
	uint8_t *srat, *slit, *hmat, *madt = NULL, *pptt = NULL;
	size_t srat_len, slit_len, hmat_len, madt_len = 0, pptt_len = 0;
	rc = EXIT_OK;
	if (numem_machine_export_tables(&m, &srat, &srat_len, &slit, &slit_len, &hmat, &hmat_len) !=
	        0 ||
	    numem_machine_export_madt(&m, &madt, &madt_len) != 0 ||
	    numem_machine_export_pptt(&m, &pptt, &pptt_len) != 0) {
		cli_error("tables", "cannot build the tables");
		rc = EXIT_INVALID;
	} else {
		if (write_one(dir, "SRAT.bin", srat, srat_len) ||
		    write_one(dir, "APIC.bin", madt, madt_len) ||
		    (pptt && write_one(dir, "PPTT.bin", pptt, pptt_len)) ||
		    (slit && write_one(dir, "SLIT.bin", slit, slit_len)) ||
		    (hmat && write_one(dir, "HMAT.bin", hmat, hmat_len)))
			rc = EXIT_IO;
	}
	free(srat);
	free(slit);
	free(hmat);
	free(madt);
	free(pptt);
	numem_machine_unload(&m);
	return rc;
}
