/*
 * cmd_info.c - `numem info`: physinfo in the `xl info -n` layout.
 */
#include <stdio.h>
#include <string.h>

#include <numem/report.h>

#include "boot.h"
#include "cli.h"

static const char help[] = "usage: numem info [MACHINE] [options]\n"
                           "\n"
                           "Physinfo as `xl info -n` prints it: nr_cpus, nr_nodes, total and free\n"
                           "memory (MiB), the cpu_topology table, device topology (SRAT generic\n"
                           "initiators) and the numa_info table.\n"
                           "\n";

int cmd_info(int argc, char **argv)
{
	struct machine_args ma = {0};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s%s", help, machine_args_help);
			return EXIT_OK;
		}
		int r = machine_args_take(&ma, argc, argv, &i);
		if (r < 0) {
			machine_args_free(&ma);
			return EXIT_USAGE;
		}
		if (r == 0 || ma.json) {
			cli_error("info", "unknown option '%s' (see --help)", argv[i]);
			machine_args_free(&ma);
			return EXIT_USAGE;
		}
	}
	struct numem_system sys;
	int rc = boot_system(&ma, &sys, NULL);
	machine_args_free(&ma);
	if (rc)
		return rc;
	uint64_t free_pages[NUMEM_MAX_NODES];
	numem_report_free_pages(&sys.heap, free_pages);
	numem_report_xl_info(stdout, sys.m.topo, free_pages, sys.m.has_srat ? &sys.m.srat : NULL);
	numem_system_shutdown(&sys);
	return EXIT_OK;
}
