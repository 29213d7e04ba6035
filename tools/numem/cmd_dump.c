/*
 * cmd_dump.c - `numem dump`: the heap debug dump after boot.
 */
#include <string.h>

#include <numem/report.h>

#include "boot.h"
#include "cli.h"

static const char help[] =
    "usage: numem dump [MACHINE] [options]\n"
    "\n"
    "Boots the machine's heap and prints the debug dump (the idea of Xen's 'u' key and\n"
    "dump_heap): per node its present, free, allocated, reserved and deferred pages;\n"
    "per zone its span, free and cached pages (and how many cached blocks are of order\n"
    "9, the per-CPU THP lists), watermarks, free blocks per order and the\n"
    "unusable-free-space index per order; per node the numastat counters; then\n"
    "/proc/buddyinfo (the buddy lists: cached blocks are not in it, as in Linux).\n"
    "\n";

int cmd_dump(int argc, char **argv)
{
	struct machine_args ma = {0};
	struct numem_system sys;
	int done = boot_from_args(argc, argv, "dump", help, false, &ma, &sys);
	if (done >= 0)
		return done;
	numem_report_heap_dump(stdout, &sys.heap);
	printf("\n");
	numem_report_buddyinfo(stdout, &sys.heap);
	numem_system_shutdown(&sys);
	return EXIT_OK;
}
