/*
 * frametable.c - the sparse frame table (see numem/memmap.h for the model).
 *
 * Sizing: a section holds 2^pfn_section_shift pages.  The section table
 * covers [0, max_pfn) and costs one state byte and one node id per section
 * (plus, for the SECTIONS layout, one pointer); it is allocated zero-reading,
 * so on an embedder with lazy backing a 64 TiB-wide address space costs only
 * the entries that are written.  A present section's descriptor array is
 * allocated on the node of its first RAM page.
 *
 * Initialisation of a section writes every descriptor: RAM pages become
 * RESERVED (the heap frees them into its buddy lists later), the pages of a
 * partial section outside RAM become HOLE.  All pages of one run share one
 * flags word, so the loop is a store stream the compiler can vectorise; the
 * benchmark compares it with a plain memset of the same bytes.
 */
#include <numem/memmap.h>

#include "../lib/internal.h"

#define DEFAULT_SECTION_SHIFT 27 /* 128 MiB */

static uint64_t section_pages(const struct numem_frametable *ft)
{
	return 1ull << ft->pfn_section_shift;
}

static uint64_t page_flags(enum numem_page_state st, numem_nid_t nid, uint64_t sec)
{
	return (uint64_t)st << NUMEM_PG_STATE_SHIFT | (uint64_t)nid << NUMEM_PG_NODE_SHIFT |
	       sec << NUMEM_PG_SECTION_SHIFT;
}

static void fill(struct numem_page *pg, uint64_t n, uint64_t flags)
{
	for (uint64_t i = 0; i < n; i++) {
		pg[i].flags = flags;
		pg[i].private = 0;
		pg[i].next = 0;
		pg[i].prev = 0;
	}
}

/* Mark which sections hold RAM and on which node (first RAM page). */
static void scan_sections(struct numem_frametable *ft, const struct numem_topo *topo)
{
	for (uint32_t i = 0; i < topo->nr_ranges; i++) {
		const struct numem_mem_range *r = &topo->range[i];
		uint64_t first, last;
		if (!numem_range_pfns(r, &first, &last))
			continue;
		for (uint64_t s = first >> ft->pfn_section_shift;
		     s <= (last - 1) >> ft->pfn_section_shift; s++) {
			/* max_pfn covers every RAM range: past it we would write
			 * beyond the section table. */
			NUMEM_ASSERT(ft->plat, s < ft->nr_sections,
			             "section %llu of RAM range [0x%llx, 0x%llx) beyond the "
			             "table's %llu sections (max_pfn 0x%llx)",
			             (unsigned long long)s, (unsigned long long)r->base,
			             (unsigned long long)r->end,
			             (unsigned long long)ft->nr_sections,
			             (unsigned long long)ft->max_pfn);
			if (ft->section_state[s] & NUMEM_SECTION_PRESENT)
				continue;
			ft->section_state[s] = NUMEM_SECTION_PRESENT;
			ft->section_node[s] = r->node;
			ft->present_sections++;
		}
	}
}

static size_t section_bytes(const struct numem_frametable *ft)
{
	return (size_t)section_pages(ft) * sizeof(struct numem_page);
}

static void release_maps(struct numem_frametable *ft)
{
	const struct numem_platform *plat = ft->plat;
	if (ft->layout == NUMEM_FT_VMEMMAP) {
		if (ft->vmemmap && plat->vmap_release)
			plat->vmap_release(plat->ctx, ft->vmemmap, ft->vmemmap_reserved);
	} else if (ft->section_map) {
		for (uint64_t s = ft->nr_sections; s-- > 0;) /* reverse of allocation */
			if (ft->section_map[s])
				numem__meta_free(plat,
				                 ft->section_map[s] + (s << ft->pfn_section_shift),
				                 section_bytes(ft));
	}
}

static void release_tables(struct numem_frametable *ft)
{
	const struct numem_platform *plat = ft->plat;
	numem__meta_free(plat, ft->section_map, ft->nr_sections * sizeof(*ft->section_map));
	numem__meta_free(plat, ft->section_state, ft->nr_sections);
	numem__meta_free(plat, ft->section_node, ft->nr_sections * sizeof(*ft->section_node));
}

/* Give each present section its descriptor memory. */
static enum numem_err map_sections(struct numem_frametable *ft, struct numem_diag *diag)
{
	const struct numem_platform *plat = ft->plat;
	size_t bytes = section_bytes(ft);
	if (ft->layout == NUMEM_FT_VMEMMAP) {
		if (!plat->vmap_reserve || !plat->vmap_populate)
			return numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
			                   "frame table: the vmemmap layout needs the platform's "
			                   "vmap_reserve and vmap_populate");
		ft->vmemmap_reserved = ft->nr_sections * bytes;
		ft->vmemmap = plat->vmap_reserve(plat->ctx, ft->vmemmap_reserved);
		if (!ft->vmemmap)
			return numem__fail(
			    diag, NUMEM_E_NOMEM, 0, 0,
			    "frame table: cannot reserve %llu bytes of virtual space",
			    (unsigned long long)ft->vmemmap_reserved);
	}
	for (uint64_t s = 0; s < ft->nr_sections; s++) {
		if (!(ft->section_state[s] & NUMEM_SECTION_PRESENT))
			continue;
		numem_nid_t nid = ft->section_node[s];
		if (ft->layout == NUMEM_FT_VMEMMAP) {
			void *at = ft->vmemmap + (s << ft->pfn_section_shift);
			if (plat->vmap_populate(plat->ctx, at, bytes, nid) != 0)
				return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
				                   "frame table: cannot back section %llu (%zu "
				                   "bytes) on node %u",
				                   (unsigned long long)s, bytes, nid);
		} else {
			struct numem_page *map = plat->meta_alloc(plat->ctx, bytes, 64, nid);
			if (!map)
				return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
				                   "frame table: no memory for section %llu (%zu "
				                   "bytes) on node %u",
				                   (unsigned long long)s, bytes, nid);
			NUMEM_ASSERT(plat, ((uintptr_t)map & 7) == 0,
			             "meta_alloc returned %p for section %llu, misaligned for "
			             "8-byte atomics",
			             (void *)map, (unsigned long long)s);
			/* Biased so that map + pfn is the descriptor. */
			ft->section_map[s] = map - (s << ft->pfn_section_shift);
		}
		ft->descriptor_bytes += bytes;
	}
	if (ft->layout == NUMEM_FT_SECTIONS)
		ft->table_bytes += ft->nr_sections * sizeof(*ft->section_map);
	return NUMEM_OK;
}

enum numem_err numem_frametable_init_section(struct numem_frametable *ft, uint64_t sec)
{
	if (sec >= ft->nr_sections || !(numem_section_state(ft, sec) & NUMEM_SECTION_PRESENT))
		return NUMEM_E_RANGE;
	if (numem_section_state(ft, sec) & NUMEM_SECTION_INIT)
		return NUMEM_OK;
	/* A present section always has descriptor memory (map_sections gave
	 * it or init failed): writing through a missing one scribbles over
	 * whatever the biased NULL points at. */
	NUMEM_ASSERT(ft->plat,
	             ft->layout == NUMEM_FT_VMEMMAP ? ft->vmemmap != 0 : ft->section_map[sec] != 0,
	             "section %llu (node %u, state 0x%x) is present but has no descriptor array",
	             (unsigned long long)sec, (unsigned)ft->section_node[sec],
	             (unsigned)ft->section_state[sec]);
	const struct numem_topo *topo = ft->topo;
	uint64_t start = sec << ft->pfn_section_shift;
	uint64_t end = start + section_pages(ft);
	struct numem_page *map = numem_pfn_to_page(ft, numem_pfn(start));
	numem_nid_t snode = ft->section_node[sec];
	/* Walk the RAM ranges that meet this section; gaps are holes. */
	int64_t i = numem_topo_find_range(topo, numem_pfn_to_paddr(numem_pfn(start)));
	if (i < 0) {
		/* First range starting after the section start. */
		uint32_t lo = 0, hi = topo->nr_ranges;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (topo->range[mid].base < (start << NUMEM_PAGE_SHIFT))
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
	}
	uint64_t pos = start;
	for (; (uint64_t)i < topo->nr_ranges; i++) {
		const struct numem_mem_range *r = &topo->range[i];
		uint64_t first = (r->base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
		uint64_t last = r->end >> NUMEM_PAGE_SHIFT;
		if (first >= end)
			break;
		if (!(r->flags & NUMEM_RANGE_RAM) || last <= pos || first >= last)
			continue;
		first = NUMEM_MAX(first, pos);
		last = NUMEM_MIN(last, end);
		NUMEM_DEBUG_ASSERT(
		    ft->plat, pos <= first && first < last && last <= end,
		    "run [0x%llx, 0x%llx) after 0x%llx outside section %llu [0x%llx, "
		    "0x%llx)",
		    (unsigned long long)first, (unsigned long long)last, (unsigned long long)pos,
		    (unsigned long long)sec, (unsigned long long)start, (unsigned long long)end);
		if (first > pos)
			fill(map + (pos - start), first - pos,
			     page_flags(NUMEM_PS_HOLE, snode, sec));
		fill(map + (first - start), last - first,
		     page_flags(NUMEM_PS_RESERVED, r->node, sec));
		pos = last;
	}
	if (pos < end)
		fill(map + (pos - start), end - pos, page_flags(NUMEM_PS_HOLE, snode, sec));
	numem_section_set(ft, sec, NUMEM_SECTION_INIT);
	ft->init_sections++;
	return NUMEM_OK;
}

/* Check the options and fill ft's sizing fields (shared by init and plan). */
static enum numem_err size_table(const struct numem_topo *topo,
                                 const struct numem_frametable_opts *opts,
                                 struct numem_frametable *ft, struct numem_diag *diag)
{
	unsigned shift = opts->section_shift ? opts->section_shift : DEFAULT_SECTION_SHIFT;
	if (shift < NUMEM_PAGE_SHIFT + 10 || shift > 40)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_frametable_init: section_shift %u outside [%u, 40] (a "
		                   "section must hold a max-order block)",
		                   shift, NUMEM_PAGE_SHIFT + 10);
	if (opts->layout != NUMEM_FT_SECTIONS && opts->layout != NUMEM_FT_VMEMMAP)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_frametable_init: unknown layout %u",
		                   (unsigned)opts->layout);
	memset(ft, 0, sizeof(*ft));
	ft->topo = topo;
	ft->layout = opts->layout;
	ft->pfn_section_shift = shift - NUMEM_PAGE_SHIFT;
	ft->max_pfn = topo->max_pfn;
	ft->nr_sections = (ft->max_pfn + section_pages(ft) - 1) >> ft->pfn_section_shift;
	if (ft->nr_sections >= (1ull << NUMEM_PG_SECTION_BITS))
		return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                   "frame table: %llu sections exceed the descriptor's %u-bit "
		                   "section field; use larger sections",
		                   (unsigned long long)ft->nr_sections, NUMEM_PG_SECTION_BITS);
	/* Sizes handed to the platform are size_t: on a 32-bit target a
	 * section's descriptor array (2^28 pages of 24 bytes at the largest
	 * section size) or the vmemmap reservation (every section's) can
	 * exceed it, and a truncated size would have the core write past what
	 * the platform gave. */
	uint64_t sec_bytes = section_pages(ft) * sizeof(struct numem_page);
	if (sec_bytes > SIZE_MAX)
		return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                   "frame table: a section of 2^%u pages needs %llu bytes of "
		                   "descriptors, more than a size_t holds here; use smaller "
		                   "sections",
		                   ft->pfn_section_shift, (unsigned long long)sec_bytes);
	if (ft->layout == NUMEM_FT_VMEMMAP && ft->nr_sections > SIZE_MAX / sec_bytes)
		return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                   "frame table: a vmemmap of %llu sections of %llu bytes is more "
		                   "than a size_t holds here; use the SECTIONS layout",
		                   (unsigned long long)ft->nr_sections,
		                   (unsigned long long)sec_bytes);
	return NUMEM_OK;
}

enum numem_err numem_frametable_plan(const struct numem_topo *topo,
                                     const struct numem_frametable_opts *opts,
                                     struct numem_frametable *ft, uint64_t *node_bytes,
                                     struct numem_diag *diag)
{
	static const struct numem_frametable_opts defaults;
	if (!opts)
		opts = &defaults;
	if (!topo || !ft)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_frametable_plan: topology and frame table are required");
	struct numem_frametable f;
	enum numem_err err = size_table(topo, opts, &f, diag);
	if (err)
		return err;
	if (node_bytes)
		memset(node_bytes, 0, NUMEM_MAX_NODES * sizeof(*node_bytes));
	/* As scan_sections: ranges are sorted and disjoint, so the sections
	 * they meet come in order and a section belongs to the first RAM range
	 * that meets it. */
	uint64_t next = 0; /* first section not yet counted */
	for (uint32_t i = 0; i < topo->nr_ranges; i++) {
		const struct numem_mem_range *r = &topo->range[i];
		uint64_t first, last;
		if (!numem_range_pfns(r, &first, &last))
			continue;
		uint64_t s0 = NUMEM_MAX(first >> f.pfn_section_shift, next);
		uint64_t s1 = ((last - 1) >> f.pfn_section_shift) + 1;
		if (s0 >= s1)
			continue;
		f.present_sections += s1 - s0;
		if (node_bytes && r->node < NUMEM_MAX_NODES)
			node_bytes[r->node] += (s1 - s0) * section_bytes(&f);
		next = s1;
	}
	f.descriptor_bytes = f.present_sections * section_bytes(&f);
	f.table_bytes = f.nr_sections + f.nr_sections * sizeof(*f.section_node);
	if (f.layout == NUMEM_FT_SECTIONS)
		f.table_bytes += f.nr_sections * sizeof(*f.section_map);
	else
		f.vmemmap_reserved = f.nr_sections * section_bytes(&f);
	*ft = f;
	return NUMEM_OK;
}

enum numem_err numem_frametable_init(const struct numem_platform *plat,
                                     const struct numem_topo *topo,
                                     const struct numem_frametable_opts *opts,
                                     struct numem_frametable *ft, struct numem_diag *diag)
{
	static const struct numem_frametable_opts defaults;
	if (!opts)
		opts = &defaults;
	if (!plat || !plat->meta_alloc || !topo || !ft)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_frametable_init: platform with meta_alloc, topology and "
		                   "frame table are required");
	struct numem_frametable sized;
	enum numem_err err = size_table(topo, opts, &sized, diag);
	if (err)
		return err;
	*ft = sized;
	ft->plat = plat;

	size_t n = (size_t)ft->nr_sections;
	ft->section_state = numem__meta_alloc(plat, n, NUMEM_NID_NONE);
	ft->section_node = numem__meta_alloc(plat, n * sizeof(*ft->section_node), NUMEM_NID_NONE);
	if (ft->layout == NUMEM_FT_SECTIONS)
		ft->section_map =
		    numem__meta_alloc(plat, n * sizeof(*ft->section_map), NUMEM_NID_NONE);
	ft->table_bytes = n + n * sizeof(*ft->section_node);
	if (!ft->section_state || !ft->section_node ||
	    (ft->layout == NUMEM_FT_SECTIONS && !ft->section_map))
		err = numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                  "frame table: no memory for a table of %llu sections",
		                  (unsigned long long)ft->nr_sections);
	if (!err) {
		scan_sections(ft, topo);
		err = map_sections(ft, diag);
	}
	if (err) {
		release_maps(ft);
		release_tables(ft);
		memset(ft, 0, sizeof(*ft));
		return err;
	}
	if (!opts->deferred)
		for (uint64_t s = 0; s < ft->nr_sections; s++)
			if (ft->section_state[s] & NUMEM_SECTION_PRESENT)
				numem_frametable_init_section(ft, s);
	return NUMEM_OK;
}

void numem_frametable_release(struct numem_frametable *ft)
{
	if (!ft || !ft->plat)
		return;
	release_maps(ft);
	release_tables(ft);
	memset(ft, 0, sizeof(*ft));
}
