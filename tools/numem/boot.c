/*
 * boot.c - booting a machine for the views: its tables, topology, a
 * deferred frame table and a heap, with each node's frame-table bytes
 * reserved out of its RAM as a boot allocator would.  "free" in every view
 * is then the heap's own count.
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"

int machine_args_shape(const struct machine_args *ma, const struct numem_machine *m,
                       struct numem_system_opts *o)
{
	if (ma->vmemmap)
		o->ft.layout = NUMEM_FT_VMEMMAP;
	if (!ma->movable_bytes)
		return EXIT_OK;
	uint32_t with_mem = 0;
	for (numem_nid_t n = 0; n < m->topo->nr_nodes; n++)
		with_mem += m->topo->node[n].ram_pages != 0;
	uint64_t per_node = (ma->movable_bytes >> NUMEM_PAGE_SHIFT) / (with_mem ? with_mem : 1);
	for (numem_nid_t n = 0; n < m->topo->nr_nodes; n++)
		if (m->topo->node[n].ram_pages && per_node >= m->topo->node[n].ram_pages) {
			fprintf(
			    stderr,
			    "numem: --movable %llu MiB: %llu MiB per node is not below node %u's "
			    "RAM (%llu MiB)\n",
			    (unsigned long long)(ma->movable_bytes >> 20),
			    (unsigned long long)(per_node >> (20 - NUMEM_PAGE_SHIFT)), n,
			    (unsigned long long)(m->topo->node[n].ram_pages >>
			                         (20 - NUMEM_PAGE_SHIFT)));
			return EXIT_INVALID;
		}
	o->heap.movable_pages = per_node;
	return EXIT_OK;
}

int boot_system(struct machine_args *ma, struct numem_system *sys,
                const struct numem_system_opts *opts)
{
	memset(sys, 0, sizeof(*sys));
	int rc = machine_args_load(ma, &sys->m);
	if (rc)
		return rc;
	struct numem_system_opts o = opts ? *opts : (struct numem_system_opts){0};
	if (machine_args_shape(ma, &sys->m, &o) != EXIT_OK) {
		numem_system_shutdown(sys);
		return EXIT_INVALID;
	}
	/* Large machines initialise their frame table on demand (a 64 TiB
	 * server loads on this host); small ones at once, so every view shows
	 * all of RAM in the buddy lists. */
	o.heap.deferred = sys->m.topo->total_ram_pages > (64ull << 30) >> NUMEM_PAGE_SHIFT;
	o.reserve_metadata = true;
	struct numem_diag d = {0};
	if (numem_system_start(sys, &o, &d) != NUMEM_OK) {
		fprintf(stderr, "numem: %s: %s (%s)\n", sys->m.src.name, d.msg,
		        numem_err_name(d.code));
		machine_args_json_error(ma, sys->m.src.name, &d);
		numem_system_shutdown(sys);
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

int view_from_args(int argc, char **argv, const char *cmd, const char *help, bool json_ok,
                   struct machine_args *ma, struct numem_system *sys, uint64_t *free_pages)
{
	int done = machine_args_parse(ma, argc, argv, cmd, help, json_ok);
	if (done >= 0)
		return done;
	memset(sys, 0, sizeof(*sys));
	int rc = machine_args_load(ma, &sys->m);
	machine_args_free(ma);
	if (rc)
		return rc;
	struct numem_system_opts o = {.reserve_metadata = true};
	if (machine_args_shape(ma, &sys->m, &o) != EXIT_OK) {
		numem_system_shutdown(sys);
		return EXIT_INVALID;
	}
	struct numem_diag d = {0};
	if (numem_system_plan(sys, &o, free_pages, &d) != NUMEM_OK) {
		fprintf(stderr, "numem: %s: %s (%s)\n", sys->m.src.name, d.msg,
		        numem_err_name(d.code));
		machine_args_json_error(ma, sys->m.src.name, &d);
		numem_system_shutdown(sys);
		return EXIT_INVALID;
	}
	return -1;
}

int boot_from_args(int argc, char **argv, const char *cmd, const char *help, bool json_ok,
                   struct machine_args *ma, struct numem_system *sys)
{
	int done = machine_args_parse(ma, argc, argv, cmd, help, json_ok);
	if (done >= 0)
		return done;
	int rc = boot_system(ma, sys, NULL);
	machine_args_free(ma);
	return rc ? rc : -1;
}
