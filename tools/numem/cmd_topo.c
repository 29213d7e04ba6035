/*
 * cmd_topo.c - `numem topo`: the machine's NUMA topology.
 */
#include <stdio.h>
#include <string.h>

#include <numem/json.h>
#include <numem/report.h>

#include "boot.h"
#include "cli.h"

static const char help[] =
    "usage: numem topo [MACHINE] [--json] [options]\n"
    "\n"
    "Shows the topology in the numactl --hardware layout, then each node's memory\n"
    "ranges, memoryless nodes with their nearest node with memory, each node's\n"
    "fallback order, and the HMAT.  In that layout \"size\" is the RAM the machine's\n"
    "tables give the node and \"free\" that size less the frame table numem places\n"
    "there: the simulated machine, not a running kernel.\n"
    "\n"
    "With --host the host's own view comes first, as numactl --hardware prints it:\n"
    "size and free are MemTotal and MemFree of /sys/devices/system/node/nodeN/meminfo\n"
    "(memory the kernel manages, less what it reserved at boot), then the simulated\n"
    "machine built from this host's tables or memory blocks, labelled as such.\n"
    "\n"
    "  --json     one JSON object: machine, source, srat and slit (the acpi-corpus\n"
    "             schema), hmat, and topology (and host_meminfo with --host); on\n"
    "             any failure the schema's error form (error, message, and\n"
    "             error_table, error_offset for a table byte) and the exit status\n"
    "\n";

static void print_frametable(const struct numem_frametable *ft)
{
	printf(
	    "\nframe table (%s): %llu of %llu sections of %llu MiB present, descriptor %zu bytes, "
	    "%llu MiB of descriptors, section table %llu KiB\n",
	    ft->layout == NUMEM_FT_VMEMMAP ? "vmemmap" : "sections",
	    (unsigned long long)ft->present_sections, (unsigned long long)ft->nr_sections,
	    (unsigned long long)((1ull << ft->pfn_section_shift) >> (20 - NUMEM_PAGE_SHIFT)),
	    sizeof(struct numem_page), (unsigned long long)(ft->descriptor_bytes >> 20),
	    (unsigned long long)((ft->table_bytes + 1023) >> 10));
}

int cmd_topo(int argc, char **argv)
{
	struct machine_args ma = {0};
	struct numem_system sys;
	uint64_t free_pages[NUMEM_MAX_NODES];
	int done = view_from_args(argc, argv, "topo", help, true, &ma, &sys, free_pages);
	if (done >= 0)
		return done;
	struct numem_machine m = sys.m;
	struct numem_frametable ft = sys.ft; /* planned figures: no tables */
	if (ma.json) {
		json_t *o = json_pack("{s:s, s:s}", "machine", m.src.name, "source", m.src.origin);
		json_object_set_new(o, "srat", m.has_srat ? numem_json_srat(&m.srat) : json_null());
		json_object_set_new(o, "slit", numem_json_slit(m.has_slit ? &m.slit : NULL));
		json_object_set_new(o, "hmat", numem_json_hmat(m.has_hmat ? &m.hmat : NULL));
		json_t *checks = json_object();
		if (m.has_srat)
			json_object_set_new(checks, "SRAT", json_boolean(m.srat.checksum_ok));
		if (m.has_slit)
			json_object_set_new(checks, "SLIT", json_boolean(m.slit.checksum_ok));
		if (m.has_hmat)
			json_object_set_new(checks, "HMAT", json_boolean(m.hmat.checksum_ok));
		json_object_set_new(o, "checksum_ok", checks);
		json_t *topo = numem_json_topology(m.topo, free_pages);
		json_object_set_new(
		    topo, "frame_table",
		    json_pack("{s:s, s:I, s:I, s:i, s:I, s:I}", "layout",
		              ft.layout == NUMEM_FT_VMEMMAP ? "vmemmap" : "sections", "sections",
		              (json_int_t)ft.nr_sections, "present_sections",
		              (json_int_t)ft.present_sections, "descriptor_size",
		              (int)sizeof(struct numem_page), "descriptor_bytes",
		              (json_int_t)ft.descriptor_bytes, "table_bytes",
		              (json_int_t)ft.table_bytes));
		json_object_set_new(o, "topology", topo);
		if (ma.host) { /* what numactl shows: nodeN/meminfo, in kB */
			json_t *hn = json_array();
			for (uint32_t node = 0; node < 1024; node++) {
				uint64_t total, free_kb;
				if (numem_host_node_meminfo(ma.sysfs_root, node, &total,
				                            &free_kb) == 0)
					json_array_append_new(
					    hn, json_pack("{s:i, s:I, s:I}", "node", (int)node,
					                  "mem_total_kb", (json_int_t)total,
					                  "mem_free_kb", (json_int_t)free_kb));
			}
			json_object_set_new(o, "host_meminfo", hn);
		}
		json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else {
		if (ma.host) {
			printf("host (numactl --hardware: size = MemTotal, free = MemFree of "
			       "nodeN/meminfo):\n");
			if (numem_host_report_numactl(stdout, ma.sysfs_root) < 0)
				printf("no node directories under %s/devices/system/node\n",
				       ma.sysfs_root ? ma.sysfs_root : "/sys");
			printf("\nsimulated machine (size = RAM in the node's %s, free = size less "
			       "the frame table):\n",
			       strcmp(m.src.origin, "host-sysfs") ? "firmware memory ranges"
			                                          : "memory blocks");
		}
		numem_report_numactl(stdout, m.topo, free_pages);
		numem_report_layout(stdout, m.topo);
		print_frametable(&ft);
		if (m.has_hmat)
			numem_report_hmat(stdout, &m.hmat);
	}
	numem_system_shutdown(&sys);
	return EXIT_OK;
}
