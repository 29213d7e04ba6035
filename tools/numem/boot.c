/*
 * boot.c - what a machine looks like right after boot, for the views.
 *
 * Until the heap exists, "free" memory per node is the node's RAM less the
 * frame table's descriptors placed on that node (built here with deferred
 * initialisation, so nothing but the section table is written).
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "cli.h"

int boot_frametable(struct numem_machine *m, struct numem_frametable *ft, uint64_t *free_pages)
{
	struct numem_frametable_opts o = {.layout = NUMEM_FT_SECTIONS, .deferred = true};
	struct numem_diag d = {0};
	if (numem_frametable_init(numem_host_platform(m->host), m->topo, &o, ft, &d) != NUMEM_OK) {
		fprintf(stderr, "numem: frame table: %s\n", d.msg);
		return -1;
	}
	const struct numem_topo *t = m->topo;
	uint64_t per_section =
	    ((1ull << ft->pfn_section_shift) * sizeof(struct numem_page)) >> NUMEM_PAGE_SHIFT;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		free_pages[n] = t->node[n].ram_pages;
	for (uint64_t s = 0; s < ft->nr_sections; s++) {
		if (!(ft->section_state[s] & NUMEM_SECTION_PRESENT))
			continue;
		numem_nid_t n = ft->section_node[s];
		free_pages[n] -= free_pages[n] < per_section ? free_pages[n] : per_section;
	}
	return 0;
}
