/*
 * cmd_info.c - `numem info`: physinfo in the `xl info -n` layout.
 */
#include <stdio.h>
#include <string.h>

#include <numem/report.h>

#include "boot.h"
#include "cli.h"

static const char help[] =
    "usage: numem info [MACHINE] [options]\n"
    "\n"
    "Physinfo as `xl info -n` prints it: nr_cpus, nr_nodes, total and free\n"
    "memory (MiB), the cpu_topology table, device topology (SRAT generic\n"
    "initiators) and the numa_info table.  Sockets, cores and threads come\n"
    "from the PPTT (APIC.bin + PPTT.bin, --madt/--pptt), sysfs for --host, or\n"
    "a preset's CPUs per socket; `unknown` where nothing says.\n"
    "\n";

int cmd_info(int argc, char **argv)
{
	struct machine_args ma = {0};
	struct numem_system sys;
	uint64_t free_pages[NUMEM_MAX_NODES];
	int done = view_from_args(argc, argv, "info", help, false, &ma, &sys, free_pages);
	if (done >= 0)
		return done;
	numem_report_xl_info(stdout, sys.m.topo, free_pages, sys.m.has_srat ? &sys.m.srat : NULL);
	numem_system_shutdown(&sys);
	return EXIT_OK;
}
