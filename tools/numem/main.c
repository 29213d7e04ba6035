/*
 * main.c - `numem`: dispatch to one subcommand per file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: numem COMMAND [MACHINE] [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  topo     NUMA topology in the numactl --hardware layout, ranges, fallback order\n"
    "  info     physinfo in the xl info -n layout\n"
    "  tables   write the machine's SRAT, SLIT (and HMAT) as firmware would\n"
    "  stress   random allocations and frees on many CPUs against a reference model\n"
    "  dump     zones, free blocks per order, per-CPU caches and counters\n"
    "  sim      simulate guests on the machine with both fallback strategies\n"
    "  trace    decode or summarise a trace file written by sim --trace\n"
    "  relayout move memory between nodes live (stripe, push, from-srat) under churn\n"
    "  tmem     guests with tmem frontends against the same guests without tmem\n"
    "\n"
    "MACHINE is a preset name (see --list-presets) or a directory holding\n"
    "SRAT.bin [SLIT.bin] [HMAT.bin]; without one the default is the '" NUMEM_DEFAULT_PRESET
    "' preset.\n"
    "`numem COMMAND --help` describes each command.\n"
    "\n"
    "exit status: 0 success, 1 invalid input (a table or description was rejected),\n"
    "             2 usage error, 3 I/O error, 4 a verification failed\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "topo"))
		return cmd_topo(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "tables"))
		return cmd_tables(argc - 1, argv + 1);
	if (!strcmp(cmd, "stress"))
		return cmd_stress(argc - 1, argv + 1);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "sim"))
		return cmd_sim(argc - 1, argv + 1);
	if (!strcmp(cmd, "trace"))
		return cmd_trace(argc - 1, argv + 1);
	if (!strcmp(cmd, "relayout"))
		return cmd_relayout(argc - 1, argv + 1);
	if (!strcmp(cmd, "tmem"))
		return cmd_tmem(argc - 1, argv + 1);
	fprintf(stderr, "numem: unknown command '%s'\n\n%s", cmd, usage);
	return EXIT_USAGE;
}
