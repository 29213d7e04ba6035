/*
 * init.c - bringing a heap up: zones, watermarks, the metadata block, CPU
 * handles, and giving RAM to the buddy lists (now, or a first helping per
 * zone with the rest section by section on demand: deferred.c).  The zone
 * geometry here (for_each_run, zone_of) is shared with deferred.c.
 *
 * Zones: a node's RAM below 16 MiB is DMA, below 4 GiB DMA32, the rest
 * NORMAL, except its top `movable_pages`, which are MOVABLE.  A node with no
 * RAM has no populated zone; its CPUs allocate through its zonelist, which
 * starts at its nearest node with memory.
 *
 * Watermarks, as Linux computes them: min_free_kbytes = sqrt(16 * RAM in
 * KiB), clamped to [128, 262144], shared among zones in proportion to their
 * pages; low = min * 5/4, high = min * 3/2.
 *
 * Elsewhere: zonelists (zonelist.c), CPU handles' fast-path answers and
 * cpusets (cpu.c), shrinkers (reclaim.c), deferred growth (deferred.c).
 *
 * Deferred initialisation: with opts.deferred, the frame table's sections
 * are initialised only as zones need them (numem__grow_zone), after a first
 * helping per zone at boot; a 64 TiB machine then boots touching only a few
 * sections per node.  The first helping is bounded whatever the tables
 * declare: free pages up to 2 * high + 1024 but at most BOOT_HELPING_PAGES
 * (what Linux's clamped min_free_kbytes gives), and at most enough sections
 * for that plus BOOT_HELPING_SLACK, however little they yield (on a huge
 * machine a node's first sections can be all frame-table reserve, which
 * used to make boot initialise terabytes of descriptors).
 */
#include "relayout_internal.h"

#include <numem/trace.h>

/* The first helping's bounds (see the top of the file). */
#define BOOT_HELPING_PAGES (2 * (((262144u >> (NUMEM_PAGE_SHIFT - 10)) * 3) / 2) + 1024u)
#define BOOT_HELPING_SLACK 8u /* sections beyond what the pages need */

static const char *const zone_names[NUMEM_NR_ZONE_TYPES] = {"DMA", "DMA32", "Normal", "Movable"};

const char *numem_zone_name(enum numem_zone_type type)
{
	return (unsigned)type < NUMEM_NR_ZONE_TYPES ? zone_names[type] : "?";
}

#define DMA_END_PFN   ((16ull << 20) >> NUMEM_PAGE_SHIFT)
#define DMA32_END_PFN ((4ull << 30) >> NUMEM_PAGE_SHIFT)

enum numem_zone_type numem__zone_type_of(const struct numem_heap *h, numem_nid_t node, uint64_t pfn)
{
	if (pfn >= h->movable_start[node])
		return NUMEM_ZONE_MOVABLE;
	if (pfn < DMA_END_PFN)
		return NUMEM_ZONE_DMA;
	if (pfn < DMA32_END_PFN)
		return NUMEM_ZONE_DMA32;
	return NUMEM_ZONE_NORMAL;
}

/* Next pfn > pfn where the zone type may change on this node. */
uint64_t numem__zone_boundary_after(const struct numem_heap *h, numem_nid_t node, uint64_t pfn)
{
	uint64_t b = UINT64_MAX;
	if (pfn < DMA_END_PFN)
		b = DMA_END_PFN;
	else if (pfn < DMA32_END_PFN)
		b = DMA32_END_PFN;
	if (pfn < h->movable_start[node] && h->movable_start[node] < b)
		b = h->movable_start[node];
	return b;
}

static uint64_t isqrt(uint64_t v)
{
	uint64_t r = 0, bit = 1ull << 62;
	while (bit > v)
		bit >>= 2;
	while (bit) {
		if (v >= r + bit) {
			v -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

void numem__for_each_run(struct numem_heap *h, uint64_t lo, uint64_t hi, numem__run_fn fn,
                         void *arg)
{
	const struct numem_topo *t = h->topo; /* init, or the grow lock: no commit runs */
	for (uint32_t i = numem__topo_first_range(t, lo); i < t->nr_ranges; i++) {
		const struct numem_mem_range *r = &t->range[i];
		uint64_t s, e;
		if (!numem_range_pfns(r, &s, &e))
			continue;
		if (s >= hi)
			break;
		s = NUMEM_MAX(s, lo);
		e = NUMEM_MIN(e, hi);
		while (s < e) {
			uint64_t cut = NUMEM_MIN(e, numem__zone_boundary_after(h, r->node, s));
			/* Cut out reserved ranges (sorted, in pages). */
			bool res = false;
			uint64_t end = cut;
			for (uint32_t k = 0; k < h->nr_reserved; k++) {
				uint64_t rs = h->reserved[k].base, re = rs + h->reserved[k].length;
				if (re <= s || rs >= end)
					continue;
				if (rs <= s) {
					res = true;
					end = NUMEM_MIN(end, re);
				} else {
					end = NUMEM_MIN(end, rs);
				}
			}
			fn(h, r->node, s, end, res, arg);
			s = end;
		}
	}
}

struct numem_zone *numem__zone_of(struct numem_heap *h, numem_nid_t node, uint64_t pfn)
{
	return numem_heap_zone(h, node, numem__zone_type_of(h, node, pfn));
}

static void count_run(struct numem_heap *h, numem_nid_t node, uint64_t s, uint64_t e, bool res,
                      void *arg)
{
	(void)arg;
	struct numem_zone *z = numem__zone_of(h, node, s);
	if (!z->populated || s < z->start_pfn)
		z->start_pfn = s;
	if (!z->populated || e > z->end_pfn)
		z->end_pfn = e;
	z->populated = true;
	z->present_pages += e - s;
	if (res)
		z->reserved_pages += e - s;
	else
		z->deferred_pages += e - s; /* until freed */
}

static void set_watermarks(struct numem_heap *h, uint32_t min_free_kbytes)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < h->nr_zones; i++)
		total += h->zone[i].present_pages - h->zone[i].reserved_pages;
	uint64_t kb = min_free_kbytes;
	if (!kb) {
		kb = isqrt((total << (NUMEM_PAGE_SHIFT - 10)) * 16);
		kb = NUMEM_MAX(kb, 128u);
		kb = NUMEM_MIN(kb, 262144u);
	}
	uint64_t min_pages = kb >> (NUMEM_PAGE_SHIFT - 10); /* < 2^30 */
	h->min_free_pages = min_pages;
	for (uint32_t i = 0; i < h->nr_zones; i++) {
		struct numem_zone *z = &h->zone[i];
		uint64_t managed = z->present_pages - z->reserved_pages, all = total;
		/* min_pages * managed / total without overflow: a table may declare
		 * up to 2^52 pages; scaling both keeps the ratio. */
		while (managed > UINT32_MAX) {
			managed >>= 1;
			all >>= 1;
		}
		z->wmark_min = all ? min_pages * managed / all : 0;
		z->wmark_low = z->wmark_min + z->wmark_min / 4;
		z->wmark_high = z->wmark_min + z->wmark_min / 2;
	}
}

/* The top `pages` of each node's RAM form its MOVABLE zone. */
static void set_movable(struct numem_heap *h, uint64_t pages)
{
	const struct numem_topo *t = h->topo;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		h->movable_start[n] = UINT64_MAX;
	if (!pages)
		return;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		uint64_t want = NUMEM_MIN(pages, t->node[n].ram_pages);
		for (uint32_t i = t->nr_ranges; i-- > 0 && want;) {
			const struct numem_mem_range *r = &t->range[i];
			uint64_t s, e;
			if (r->node != n || !numem_range_pfns(r, &s, &e))
				continue;
			uint64_t take = NUMEM_MIN(want, e - s);
			h->movable_start[n] = e - take;
			want -= take;
		}
	}
}

/* Checked size arithmetic: each step clears *ok on overflow (and then
 * returns 0), so a chain is checked once at its end. */
static size_t sz_mul(bool *ok, size_t a, size_t b)
{
	size_t r;
	if (!numem__mul_ok(a, b, &r))
		*ok = false;
	return *ok ? r : 0;
}

static size_t sz_add(bool *ok, size_t a, size_t b)
{
	size_t r;
	if (!numem__add_ok(a, b, &r))
		*ok = false;
	return *ok ? r : 0;
}

static size_t sz_align(bool *ok, size_t v, size_t a)
{
	return sz_add(ok, v, a - 1) & ~(a - 1);
}

/* The parts of the one metadata block (see numem_heap_init), from the
 * caller's counts; false if any size overflows a size_t. */
struct meta_layout {
	size_t trace, per_cpu, zones, zonelists, reserved, cpus, online, total;
};

static bool meta_layout(const struct numem_heap *h, const struct numem_heap_opts *opts,
                        struct meta_layout *l)
{
	bool ok = true;
	l->trace = opts->trace_entries
	               ? sz_add(&ok, sizeof(struct numem_trace_ring),
	                        sz_mul(&ok, opts->trace_entries, sizeof(struct numem_trace_event)))
	               : 0;
	l->per_cpu =
	    sz_add(&ok,
	           sz_add(&ok, sz_align(&ok, sz_mul(&ok, h->nr_zones, sizeof(struct numem_pcp)), 8),
	                  sz_mul(&ok, (size_t)h->max_nodes + 1, sizeof(uint64_t[NUMEM_NR_STATS]))),
	           sz_align(&ok, l->trace, 8));
	l->per_cpu = sz_align(&ok, l->per_cpu, 64);
	l->zones = sz_align(&ok, sz_mul(&ok, h->nr_zones, sizeof(struct numem_zone)), 64);
	l->zonelists = sz_align(
	    &ok,
	    sz_mul(&ok, sz_mul(&ok, (size_t)h->max_nodes * NUMEM_NR_ZONE_TYPES, h->zonelist_len),
	           sizeof(uint16_t)),
	    64);
	l->reserved =
	    sz_align(&ok, sz_mul(&ok, opts->nr_reserved, sizeof(struct numem_ram_range)), 64);
	l->cpus = sz_align(&ok, sz_mul(&ok, h->nr_cpus, sizeof(struct numem_cpu)), 64);
	l->online = sz_align(&ok, sz_mul(&ok, h->ft->nr_sections, sizeof(uintptr_t)), 64);
	l->total = sz_add(&ok, l->zones, l->zonelists);
	l->total = sz_add(&ok, l->total, l->online);
	l->total = sz_add(&ok, l->total, l->reserved);
	l->total = sz_add(&ok, l->total, l->cpus);
	l->total = sz_add(&ok, l->total, sz_mul(&ok, h->nr_cpus, l->per_cpu));
	return ok;
}

static int cmp_range(const void *a, const void *b, void *arg)
{
	const struct numem_ram_range *x = a, *y = b;
	(void)arg;
	return x->base < y->base ? -1 : x->base > y->base;
}

enum numem_err numem_heap_init(struct numem_heap *h, const struct numem_platform *plat,
                               const struct numem_topo *topo, struct numem_frametable *ft,
                               const struct numem_heap_opts *opts, struct numem_diag *diag)
{
	static const struct numem_heap_opts defaults;
	if (!opts)
		opts = &defaults;
	if (!h || !plat || !topo || !ft || ft->topo != topo)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: heap, platform, topology and its frame table "
		                   "are required");
	if (opts->strategy != NUMEM_STRATEGY_LINUX && opts->strategy != NUMEM_STRATEGY_XEN)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: unknown strategy %u",
		                   (unsigned)opts->strategy);
	if (opts->trace_entries & (opts->trace_entries - 1))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: trace_entries %u is not a power of two",
		                   opts->trace_entries);
	if (opts->trace_entries > NUMEM_HEAP_MAX_TRACE)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: trace_entries %u above the limit %u per CPU",
		                   opts->trace_entries, NUMEM_HEAP_MAX_TRACE);
	if (opts->nr_cpus > NUMEM_HEAP_MAX_CPUS)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: nr_cpus %u above the limit %u", opts->nr_cpus,
		                   NUMEM_HEAP_MAX_CPUS);
	if (opts->max_nodes > NUMEM_MAX_NODES ||
	    (opts->max_nodes && opts->max_nodes < topo->nr_nodes))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: max_nodes %u outside [%u (the topology's "
		                   "nodes), %u (NUMEM_MAX_NODES)]",
		                   opts->max_nodes, topo->nr_nodes, (unsigned)NUMEM_MAX_NODES);
	if (opts->nr_reserved && !opts->reserved)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: %u reserved ranges but no array",
		                   opts->nr_reserved);
	for (uint32_t i = 0; i < opts->nr_reserved; i++) {
		uint64_t end;
		if (__builtin_add_overflow(opts->reserved[i].base, opts->reserved[i].length,
		                           &end) ||
		    end > UINT64_MAX - (NUMEM_PAGE_SIZE - 1))
			return numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0,
			    "numem_heap_init: reserved range %u: base 0x%llx + length "
			    "0x%llx wraps past the end of the address space",
			    i, (unsigned long long)opts->reserved[i].base,
			    (unsigned long long)opts->reserved[i].length);
	}
	memset(h, 0, sizeof(*h));
	h->plat = plat;
	h->topo = topo;
	h->ft = ft;
	h->strategy = opts->strategy;
	h->zone_order = opts->zone_order;
#ifdef NUMEM_DEBUG
	h->poison = plat->phys_to_virt != 0;
#endif
	if (opts->poison)
		h->poison = opts->poison > 0 && plat->phys_to_virt != 0;
	h->nr_cpus = opts->nr_cpus ? opts->nr_cpus : topo->nr_cpus;
	h->max_nodes = opts->max_nodes ? opts->max_nodes : topo->nr_nodes;
	h->nr_zones = h->max_nodes * NUMEM_NR_ZONE_TYPES;
	h->zonelist_len = h->nr_zones + 1;
	h->pcp_batch = opts->pcp_batch ? opts->pcp_batch : 31;
	h->pcp_high = opts->pcp_high ? opts->pcp_high : 6 * h->pcp_batch;
	h->nr_reserved = opts->nr_reserved;

	/* One metadata block: zones, zonelists, reserved copy, CPU handles;
	 * per-CPU parts (caches, counters, rings) follow each handle.  Every
	 * size is computed with overflow checks (the counts are the caller's). */
	struct meta_layout l;
	if (!meta_layout(h, opts, &l)) {
		uint32_t nr_cpus = h->nr_cpus;
		memset(h, 0, sizeof(*h));
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_init: metadata for %u CPUs, %u trace entries each "
		                   "and %u reserved ranges overflows a size_t",
		                   nr_cpus, opts->trace_entries, opts->nr_reserved);
	}
	size_t trace_bytes = l.trace, per_cpu = l.per_cpu, bytes = l.total;
	uint8_t *p = numem__meta_alloc(plat, bytes, NUMEM_NID_NONE);
	if (!p)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_heap_init: no metadata memory for %zu bytes", bytes);
	/* No memset: metadata reads as zero (platform.h), and most of the
	 * block is trace rings (up to NUMEM_HEAP_MAX_TRACE events per CPU)
	 * that cost nothing until events are written; clearing it touched
	 * every byte at boot (2 GiB for 1024 CPUs of 65536 events). */
	h->alloc_block = p;
	h->alloc_bytes = bytes;
	h->zone = (struct numem_zone *)p;
	p += l.zones;
	h->zonelist = (uint16_t *)p;
	p += l.zonelists;
	struct numem_ram_range *res = (struct numem_ram_range *)p;
	p += l.reserved;
	h->cpu = (struct numem_cpu *)p;
	p += l.cpus;
	h->online_map = (_Atomic uintptr_t *)p; /* reads as zero: no section online */
	p += l.online;

	/* Reserved ranges, in pages (rounded outward), sorted.  The ends were
	 * checked above: base + length + NUMEM_PAGE_SIZE - 1 does not wrap. */
	for (uint32_t i = 0; i < opts->nr_reserved; i++) {
		uint64_t s = opts->reserved[i].base >> NUMEM_PAGE_SHIFT;
		uint64_t e =
		    (opts->reserved[i].base + opts->reserved[i].length + NUMEM_PAGE_SIZE - 1) >>
		    NUMEM_PAGE_SHIFT;
		res[i] = (struct numem_ram_range){s, e - s};
	}
	numem__sort(res, opts->nr_reserved, sizeof(*res), cmp_range, 0);
	h->reserved = res;

	for (numem_nid_t n = 0; n < h->max_nodes; n++)
		for (unsigned t = 0; t < NUMEM_NR_ZONE_TYPES; t++) {
			struct numem_zone *z = numem_heap_zone(h, n, (enum numem_zone_type)t);
			z->node = n;
			z->type = (uint8_t)t;
		}
	set_movable(h, opts->movable_pages);
	numem__for_each_run(h, 0, UINT64_MAX, count_run, 0);
	set_watermarks(h, opts->min_free_kbytes);
	numem__build_zonelists(h);

	for (uint32_t c = 0; c < h->nr_cpus; c++) {
		struct numem_cpu *cpu = &h->cpu[c];
		cpu->heap = h;
		cpu->id = c;
		cpu->node =
		    c < topo->nr_cpus ? topo->cpu[c].node : (numem_nid_t)(c % topo->nr_nodes);
		cpu->mem_node = topo->node[cpu->node].nearest_mem;
		cpu->il_prev = NUMEM_MAX_NODES - 1; /* the first interleave takes the lowest node */
		for (numem_nid_t n = 0; n < topo->nr_nodes; n++)
			numem_nodemask_set(&cpu->allowed, n);
		cpu->pcp = (struct numem_pcp *)p;
		uint8_t *q = p + numem__align_up(h->nr_zones * sizeof(struct numem_pcp), 8);
		cpu->stat = (uint64_t(*)[NUMEM_NR_STATS])q;
		/* The row after the nodes' holds the fast path's counts. */
		cpu->fast_allocs = cpu->stat[h->max_nodes];
		q += ((size_t)h->max_nodes + 1) * sizeof(uint64_t[NUMEM_NR_STATS]);
		if (trace_bytes) {
			cpu->trace = (struct numem_trace_ring *)q;
			cpu->trace->mask = opts->trace_entries - 1;
		}
		p += per_cpu;
		numem__cpu_fast_path(cpu);
	}

	/* Give RAM to the buddy lists: all of it, or a first helping per zone. */
	if (!opts->deferred) {
		for (uint64_t s = 0; s < ft->nr_sections; s++)
			if (numem_section_state(ft, s) & NUMEM_SECTION_PRESENT)
				numem__grow_section(h, s);
	} else {
		uint64_t sec_pages = 1ull << ft->pfn_section_shift;
		for (uint32_t i = 0; i < h->nr_zones; i++) {
			struct numem_zone *z = &h->zone[i];
			uint64_t want =
			    NUMEM_MIN(2 * z->wmark_high + 1024, (uint64_t)BOOT_HELPING_PAGES);
			uint64_t budget = (want + sec_pages - 1) / sec_pages + BOOT_HELPING_SLACK;
			while (z->populated && z->free_pages < want && budget-- &&
			       numem__grow_zone(h, z))
				;
		}
	}
	return NUMEM_OK;
}

void numem_heap_release(struct numem_heap *h)
{
	if (!h || !h->plat)
		return;
	numem__relayout_release(h);
	numem__meta_free(h->plat, h->alloc_block, h->alloc_bytes);
	memset(h, 0, sizeof(*h));
}
