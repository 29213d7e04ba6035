/*
 * system.c - booting a machine all the way: tables, topology, frame table,
 * heap; and shutting it down.
 */
#include <stdlib.h>
#include <string.h>

#include "host_internal.h"

/* Per node, the bytes of its frame-table sections, as a reserved range at
 * the top of the node's highest RAM range that holds them: top-down, as
 * Linux's memblock allocates, so boot metadata stays out of ZONE_DMA and
 * ZONE_DMA32 whenever the node has memory above them.  out[] is indexed by
 * range, node_of[] gives each range's node. */
static uint32_t metadata_ranges_of(const struct numem_topo *t, const uint64_t *bytes,
                                   struct numem_ram_range *out, numem_nid_t *node_of)
{
	uint32_t n = 0;
	for (numem_nid_t node = 0; node < t->nr_nodes; node++) {
		if (!bytes[node])
			continue;
		const struct numem_mem_range *best = NULL;
		for (uint32_t i = 0; i < t->nr_ranges; i++) {
			const struct numem_mem_range *r = &t->range[i];
			if (r->node == node && (r->flags & NUMEM_RANGE_RAM) &&
			    bytes[node] < r->end - r->base && (!best || r->end > best->end))
				best = r;
		}
		if (best) {
			uint64_t base = (best->end - bytes[node]) & ~(NUMEM_PAGE_SIZE - 1);
			node_of[n] = node;
			out[n++] = (struct numem_ram_range){base, bytes[node]};
		}
	}
	return n;
}

static uint32_t metadata_ranges(const struct numem_system *s, struct numem_ram_range *out)
{
	uint64_t bytes[NUMEM_MAX_NODES] = {0};
	numem_nid_t node_of[NUMEM_MAX_NODES];
	uint64_t per_section = (1ull << s->ft.pfn_section_shift) * sizeof(struct numem_page);
	for (uint64_t sec = 0; sec < s->ft.nr_sections; sec++)
		if (s->ft.section_state[sec] & NUMEM_SECTION_PRESENT)
			bytes[s->ft.section_node[sec]] += per_section;
	return metadata_ranges_of(s->m.topo, bytes, out, node_of);
}

enum numem_err numem_system_plan(struct numem_system *s, const struct numem_system_opts *opts,
                                 uint64_t *free_pages, struct numem_diag *diag)
{
	static const struct numem_system_opts defaults;
	if (!opts)
		opts = &defaults;
	const struct numem_topo *t = s->m.topo;
	s->has_ft = s->has_heap = false;
	uint64_t bytes[NUMEM_MAX_NODES];
	enum numem_err err = numem_frametable_plan(t, &opts->ft, &s->ft, bytes, diag);
	if (err)
		return err;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		free_pages[n] = t->node[n].ram_pages;
	if (!opts->reserve_metadata)
		return NUMEM_OK;
	/* What the heap would reserve: the RAM pages of each metadata range
	 * (heap init rounds the range out to whole pages). */
	struct numem_ram_range meta[NUMEM_MAX_NODES];
	numem_nid_t node_of[NUMEM_MAX_NODES];
	uint32_t nm = metadata_ranges_of(t, bytes, meta, node_of);
	for (uint32_t k = 0; k < nm; k++) {
		uint64_t rs = meta[k].base >> NUMEM_PAGE_SHIFT;
		uint64_t re =
		    (meta[k].base + meta[k].length + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
		for (uint32_t i = 0; i < t->nr_ranges; i++) {
			const struct numem_mem_range *r = &t->range[i];
			uint64_t a, b;
			if (!numem_range_pfns(r, &a, &b))
				continue;
			a = a > rs ? a : rs;
			b = b < re ? b : re;
			if (a < b && free_pages[r->node] >= b - a)
				free_pages[r->node] -= b - a;
		}
	}
	return NUMEM_OK;
}

enum numem_err numem_system_start(struct numem_system *s, const struct numem_system_opts *opts,
                                  struct numem_diag *diag)
{
	static const struct numem_system_opts defaults;
	if (!opts)
		opts = &defaults;
	const struct numem_platform *plat = numem_host_platform(s->m.host);
	s->has_ft = s->has_heap = false;
	if (opts->back_memory &&
	    numem_host_back_physmem(s->m.host, s->m.topo->max_pfn << NUMEM_PAGE_SHIFT) != 0) {
		diag->code = NUMEM_E_NOMEM;
		snprintf(diag->msg, sizeof(diag->msg), "cannot map %llu bytes of physical memory",
		         (unsigned long long)(s->m.topo->max_pfn << NUMEM_PAGE_SHIFT));
		return NUMEM_E_NOMEM;
	}
	struct numem_frametable_opts fo = opts->ft;
	if (opts->heap.deferred)
		fo.deferred = true;
	enum numem_err err = numem_frametable_init(plat, s->m.topo, &fo, &s->ft, diag);
	if (err)
		return err;
	s->has_ft = true;
	struct numem_heap_opts ho = opts->heap;
	struct numem_ram_range meta[NUMEM_MAX_NODES];
	if (opts->reserve_metadata && !ho.nr_reserved) {
		ho.reserved = meta;
		ho.nr_reserved = metadata_ranges(s, meta);
	}
	err = numem_heap_init(&s->heap, plat, s->m.topo, &s->ft, &ho, diag);
	s->has_heap = !err;
	return err;
}

enum numem_err numem_system_boot(struct numem_system *s, struct numem_machine_src *src,
                                 const struct numem_system_opts *opts, struct numem_diag *diag)
{
	static const struct numem_system_opts defaults;
	if (!opts)
		opts = &defaults;
	memset(s, 0, sizeof(*s));
	enum numem_err err = numem_machine_load(&s->m, src, &opts->machine, diag);
	if (err)
		return err;
	err = numem_system_start(s, opts, diag);
	if (err)
		numem_system_shutdown(s);
	return err;
}

enum numem_err numem_system_boot_preset(struct numem_system *s, const char *preset,
                                        const struct numem_system_opts *opts,
                                        struct numem_diag *diag)
{
	struct numem_spec *spec = calloc(1, sizeof(*spec));
	struct numem_machine_src src;
	char err[256];
	if (!spec || numem_spec_preset(spec, preset) != 0 ||
	    numem_machine_src_spec(&src, spec, err, sizeof(err)) != 0) {
		free(spec);
		diag->code = NUMEM_E_INVAL;
		snprintf(diag->msg, sizeof(diag->msg), "unknown preset '%s'", preset);
		return NUMEM_E_INVAL;
	}
	free(spec);
	return numem_system_boot(s, &src, opts, diag);
}

void numem_system_shutdown(struct numem_system *s)
{
	if (s->has_heap)
		numem_heap_release(&s->heap);
	if (s->has_ft)
		numem_frametable_release(&s->ft);
	numem_machine_unload(&s->m);
	memset(s, 0, sizeof(*s));
}
