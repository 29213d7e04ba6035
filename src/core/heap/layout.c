/*
 * layout.c - memlayouts: the requests of a live relayout (relayout.h).
 * Building them (one range, stripes, a push, a new SRAT; cpu->node and
 * distance entries) and validating them against the heap's current
 * topology.  Nothing here touches the heap: a layout is the caller's until
 * numem_relayout_commit() (relayout.c) applies it.
 */
#include "relayout_internal.h"

void numem_memlayout_init(struct numem_memlayout *l, const struct numem_platform *plat)
{
	memset(l, 0, sizeof(*l));
	l->plat = plat;
}

void numem_memlayout_release(struct numem_memlayout *l)
{
	if (!l)
		return;
	numem__meta_free(l->plat, l->range, l->range_bytes);
	numem__meta_free(l->plat, l->cpu_node, l->cpu_bytes);
	numem__meta_free(l->plat, l->distance, l->distance_bytes);
	numem_memlayout_init(l, l->plat);
}

/* Room for `extra` more ranges (capacity doubles; sizes checked). */
static enum numem_err reserve(struct numem_memlayout *l, uint64_t extra, struct numem_diag *diag)
{
	uint64_t need;
	if (__builtin_add_overflow((uint64_t)l->nr, extra, &need) || need > UINT32_MAX)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "memlayout: %u ranges + %llu more is above the limit of %u",
		                   l->nr, (unsigned long long)extra, UINT32_MAX);
	if (need <= l->cap)
		return NUMEM_OK;
	uint64_t cap = l->cap ? l->cap : 16;
	while (cap < need)
		cap *= 2;
	cap = NUMEM_MIN(cap, (uint64_t)UINT32_MAX);
	size_t bytes;
	if (!numem__mul_ok((size_t)cap, sizeof(*l->range), &bytes))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "memlayout: %llu ranges overflow a size_t",
		                   (unsigned long long)cap);
	struct numem_memlayout_range *r = numem__meta_alloc(l->plat, bytes, NUMEM_NID_NONE);
	if (!r)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "memlayout: no metadata memory for %llu ranges (%zu bytes)",
		                   (unsigned long long)cap, bytes);
	if (l->nr)
		memcpy(r, l->range, (size_t)l->nr * sizeof(*r));
	numem__meta_free(l->plat, l->range, l->range_bytes);
	l->range = r;
	l->range_bytes = bytes;
	l->cap = (uint32_t)cap;
	return NUMEM_OK;
}

enum numem_err numem_memlayout_add(struct numem_memlayout *l, uint64_t start_pfn, uint64_t end_pfn,
                                   numem_nid_t node, struct numem_diag *diag)
{
	if (!l)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_memlayout_add: no layout");
	if (start_pfn >= end_pfn)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_add: range [0x%llx, 0x%llx) is empty",
		                   (unsigned long long)start_pfn, (unsigned long long)end_pfn);
	if (node == NUMEM_NID_NONE)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_add: range [0x%llx, 0x%llx): no target node",
		                   (unsigned long long)start_pfn, (unsigned long long)end_pfn);
	enum numem_err err = reserve(l, 1, diag);
	if (err)
		return err;
	/* Adjacent pieces for the same node are one range. */
	struct numem_memlayout_range *last = l->nr ? &l->range[l->nr - 1] : 0;
	if (last && last->end_pfn == start_pfn && last->node == node) {
		last->end_pfn = end_pfn;
	} else {
		l->range[l->nr++] = (struct numem_memlayout_range){start_pfn, end_pfn, node};
	}
	l->sorted = false;
	return NUMEM_OK;
}

enum numem_err numem_memlayout_declare_node(struct numem_memlayout *l, numem_nid_t node,
                                            struct numem_diag *diag)
{
	if (!l || node >= NUMEM_MAX_NODES)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_declare_node: node %u is not below "
		                   "NUMEM_MAX_NODES %u",
		                   node, (unsigned)NUMEM_MAX_NODES);
	numem_nodemask_set(&l->new_nodes, node);
	l->sorted = false;
	return NUMEM_OK;
}

/* Call fn for each run of RAM pfns of topology t inside [lo, hi). */
typedef enum numem_err (*ram_fn)(struct numem_memlayout *l, uint64_t s, uint64_t e, void *arg,
                                 struct numem_diag *diag);

static enum numem_err for_each_ram(struct numem_memlayout *l, const struct numem_topo *t,
                                   uint64_t lo, uint64_t hi, ram_fn fn, void *arg,
                                   struct numem_diag *diag)
{
	uint32_t i = numem__topo_first_range(t, lo);
	bool any = false;
	for (; i < t->nr_ranges; i++) {
		uint64_t s, e;
		if (!numem_range_pfns(&t->range[i], &s, &e))
			continue;
		if (s >= hi)
			break;
		s = NUMEM_MAX(s, lo);
		e = NUMEM_MIN(e, hi);
		if (s >= e)
			continue;
		any = true;
		enum numem_err err = fn(l, s, e, arg, diag);
		if (err)
			return err;
	}
	if (!any)
		return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                   "memlayout: no RAM inside [0x%llx, 0x%llx)",
		                   (unsigned long long)lo, (unsigned long long)hi);
	return NUMEM_OK;
}

struct stripe {
	uint64_t origin, block;
	const numem_nid_t *nodes;
	uint32_t nr;
};

static enum numem_err stripe_run(struct numem_memlayout *l, uint64_t s, uint64_t e, void *arg,
                                 struct numem_diag *diag)
{
	const struct stripe *st = arg;
	uint64_t idx = (s - st->origin) / st->block;
	enum numem_err err = reserve(l, (e - s) / st->block + 2, diag);
	if (err)
		return err;
	while (s < e) {
		uint64_t bend = st->origin + (idx + 1) * st->block; /* checked by the caller */
		uint64_t cut = NUMEM_MIN(e, bend);
		err = numem_memlayout_add(l, s, cut, st->nodes[idx % st->nr], diag);
		if (err)
			return err;
		s = cut;
		idx++;
	}
	return NUMEM_OK;
}

enum numem_err numem_memlayout_stripe(struct numem_memlayout *l, const struct numem_heap *heap,
                                      uint64_t start_pfn, uint64_t end_pfn,
                                      const numem_nid_t *nodes, uint32_t nr, uint64_t block_pages,
                                      struct numem_diag *diag)
{
	if (!l || !heap || !nodes || !nr || nr > NUMEM_MAX_NODES || !block_pages)
		return numem__fail(
		    diag, NUMEM_E_INVAL, 0, 0,
		    "numem_memlayout_stripe: needs a layout, a heap, 1..%u nodes and "
		    "a block of at least one page (got %u nodes, block %llu)",
		    (unsigned)NUMEM_MAX_NODES, nr, (unsigned long long)block_pages);
	for (uint32_t i = 0; i < nr; i++)
		if (nodes[i] == NUMEM_NID_NONE)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "numem_memlayout_stripe: node %u of the list is "
			                   "NUMEM_NID_NONE",
			                   i);
	if (start_pfn >= end_pfn)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_stripe: span [0x%llx, 0x%llx) is empty",
		                   (unsigned long long)start_pfn, (unsigned long long)end_pfn);
	const struct numem_topo *t = numem_heap_topo(heap);
	end_pfn = NUMEM_MIN(end_pfn, t->max_pfn);
	/* Block ends (origin + k * block) stay below 2^64: the last one is at
	 * most end_pfn + block. */
	uint64_t top;
	if (__builtin_add_overflow(end_pfn, block_pages, &top))
		return numem__fail(
		    diag, NUMEM_E_INVAL, 0, 0,
		    "numem_memlayout_stripe: block of %llu pages past 0x%llx overflows",
		    (unsigned long long)block_pages, (unsigned long long)end_pfn);
	struct stripe st = {start_pfn, block_pages, nodes, nr};
	enum numem_err err = for_each_ram(l, t, start_pfn, end_pfn, stripe_run, &st, diag);
	for (uint32_t i = 0; i < nr && !err; i++) /* as push: a node beyond the machine is new */
		if (nodes[i] >= t->nr_nodes && nodes[i] < NUMEM_MAX_NODES)
			numem_nodemask_set(&l->new_nodes, nodes[i]);
	return err;
}

static enum numem_err push_run(struct numem_memlayout *l, uint64_t s, uint64_t e, void *arg,
                               struct numem_diag *diag)
{
	return numem_memlayout_add(l, s, e, *(const numem_nid_t *)arg, diag);
}

enum numem_err numem_memlayout_push(struct numem_memlayout *l, const struct numem_heap *heap,
                                    uint64_t start_pfn, uint64_t end_pfn, numem_nid_t node,
                                    struct numem_diag *diag)
{
	if (!l || !heap || node == NUMEM_NID_NONE || start_pfn >= end_pfn)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_push: needs a layout, a heap, a node and a "
		                   "non-empty span (node %u, [0x%llx, 0x%llx))",
		                   node, (unsigned long long)start_pfn,
		                   (unsigned long long)end_pfn);
	const struct numem_topo *t = numem_heap_topo(heap);
	if (node >= t->nr_nodes && node < NUMEM_MAX_NODES)
		numem_nodemask_set(&l->new_nodes, node);
	return for_each_ram(l, t, start_pfn, NUMEM_MIN(end_pfn, t->max_pfn), push_run, &node, diag);
}

/* The optional arrays, allocated on first use. */
static enum numem_err want_cpu_map(struct numem_memlayout *l, const struct numem_topo *t,
                                   struct numem_diag *diag)
{
	if (l->cpu_node)
		return NUMEM_OK;
	size_t bytes = (size_t)t->nr_cpus * sizeof(numem_nid_t);
	l->cpu_node = numem__meta_alloc(l->plat, bytes ? bytes : 1, NUMEM_NID_NONE);
	if (!l->cpu_node)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "memlayout: no metadata memory for a map of %u CPUs",
		                   t->nr_cpus);
	l->cpu_bytes = bytes ? bytes : 1;
	l->nr_cpu_nodes = t->nr_cpus;
	for (uint32_t c = 0; c < t->nr_cpus; c++)
		l->cpu_node[c] = NUMEM_NID_NONE;
	return NUMEM_OK;
}

enum numem_err numem_memlayout_set_cpu_node(struct numem_memlayout *l,
                                            const struct numem_heap *heap, uint32_t cpu,
                                            numem_nid_t node, struct numem_diag *diag)
{
	if (!l || !heap)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_set_cpu_node: no layout or heap");
	const struct numem_topo *t = numem_heap_topo(heap);
	if (cpu >= t->nr_cpus)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_set_cpu_node: cpu %u is not a CPU of this "
		                   "machine (%u CPUs)",
		                   cpu, t->nr_cpus);
	if (node >= heap->max_nodes)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_set_cpu_node: cpu %u: node %u is not below "
		                   "max_nodes %u",
		                   cpu, node, heap->max_nodes);
	enum numem_err err = want_cpu_map(l, t, diag);
	if (err)
		return err;
	l->cpu_node[cpu] = node;
	l->sorted = false;
	return NUMEM_OK;
}

enum numem_err numem_memlayout_set_distance(struct numem_memlayout *l,
                                            const struct numem_heap *heap, numem_nid_t from,
                                            numem_nid_t to, uint8_t distance,
                                            struct numem_diag *diag)
{
	if (!l || !heap)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_set_distance: no layout or heap");
	if (from >= heap->max_nodes || to >= heap->max_nodes)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_set_distance: %u -> %u: a node not below "
		                   "max_nodes %u",
		                   from, to, heap->max_nodes);
	if ((from == to) != (distance == NUMEM_LOCAL_DISTANCE) || distance < NUMEM_LOCAL_DISTANCE)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_set_distance: %u -> %u = %u: a node is at %u "
		                   "from itself and more (11..254, or 255 unreachable) from "
		                   "others",
		                   from, to, distance, NUMEM_LOCAL_DISTANCE);
	if (!l->distance) {
		size_t dim = heap->max_nodes, bytes = dim * dim;
		l->distance = numem__meta_alloc(l->plat, bytes, NUMEM_NID_NONE);
		if (!l->distance)
			return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
			                   "memlayout: no metadata memory for a %zu x %zu distance "
			                   "matrix",
			                   dim, dim);
		l->distance_bytes = bytes;
		l->distance_dim = (uint32_t)dim;
		/* 0 = keep the current value (memory reads as zero). */
	}
	l->distance[(size_t)from * l->distance_dim + to] = distance;
	l->sorted = false;
	return NUMEM_OK;
}

enum numem_err numem_memlayout_from_srat(struct numem_memlayout *l, const struct numem_heap *heap,
                                         const struct numem_srat *srat,
                                         const struct numem_slit *slit, struct numem_diag *diag)
{
	if (!l || !heap || !srat)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_from_srat: needs a layout, a heap and an SRAT");
	const struct numem_topo *t = numem_heap_topo(heap);
	/* pxm -> node: the current nodes' pxms, then new ids in table order. */
	uint32_t pxm[NUMEM_MAX_NODES];
	uint32_t nr = t->nr_nodes;
	for (uint32_t n = 0; n < nr; n++)
		pxm[n] = t->node[n].pxm;
	enum numem_err err = NUMEM_OK;
	for (uint32_t i = 0; i < srat->nr_mem + srat->nr_cpu && !err; i++) {
		uint32_t p;
		bool is_mem = i < srat->nr_mem;
		if (is_mem) {
			const struct numem_srat_mem *m = &srat->mem[i];
			if (!(m->flags & NUMEM_SRAT_MEM_ENABLED) ||
			    (m->flags & (NUMEM_SRAT_MEM_HOTPLUGGABLE | NUMEM_SRAT_MEM_NONVOLATILE)))
				continue;
			p = m->pxm;
		} else {
			const struct numem_srat_cpu *c = &srat->cpu[i - srat->nr_mem];
			if (!c->enabled)
				continue;
			p = c->pxm;
		}
		uint32_t n = 0;
		while (n < nr && pxm[n] != p)
			n++;
		if (n == nr) {
			if (nr >= heap->max_nodes)
				return numem__fail(
				    diag, NUMEM_E_TOO_MANY_NODES, "SRAT",
				    is_mem ? srat->mem[i].offset
				           : srat->cpu[i - srat->nr_mem].offset,
				    "numem_memlayout_from_srat: proximity domain %u would be node "
				    "%u, above max_nodes %u",
				    p, nr, heap->max_nodes);
			pxm[nr++] = p;
			numem_nodemask_set(&l->new_nodes, (numem_nid_t)n);
		}
		if (is_mem) {
			const struct numem_srat_mem *m = &srat->mem[i];
			uint64_t end;
			if (__builtin_add_overflow(m->base, m->length, &end))
				return numem__fail(diag, NUMEM_E_INVAL, "SRAT", m->offset,
				                   "numem_memlayout_from_srat: memory entry base "
				                   "0x%llx + length 0x%llx wraps",
				                   (unsigned long long)m->base,
				                   (unsigned long long)m->length);
			uint64_t s = (m->base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
			uint64_t e = NUMEM_MIN(end >> NUMEM_PAGE_SHIFT, t->max_pfn);
			if (s < e) {
				err = for_each_ram(l, t, s, e, push_run,
				                   &(numem_nid_t){(numem_nid_t)n}, diag);
				if (err == NUMEM_E_RANGE) /* an entry over no RAM: nothing moves */
					err = NUMEM_OK;
			}
		} else {
			const struct numem_srat_cpu *c = &srat->cpu[i - srat->nr_mem];
			for (uint32_t k = 0; k < t->nr_cpus && !err; k++)
				if (t->cpu[k].hw_id == c->id && t->cpu[k].type == c->type)
					err = numem_memlayout_set_cpu_node(l, heap, k,
					                                   (numem_nid_t)n, diag);
		}
	}
	if (err || !slit)
		return err;
	for (uint32_t a = 0; a < nr && !err; a++)
		for (uint32_t b = 0; b < nr && !err; b++) {
			/* Localities are proximity domains (Linux's reading). */
			if (pxm[a] >= slit->localities || pxm[b] >= slit->localities)
				continue;
			uint8_t d = numem_slit_distance(slit, pxm[a], pxm[b]);
			if ((a == b) != (d == NUMEM_LOCAL_DISTANCE) || d < NUMEM_LOCAL_DISTANCE)
				continue; /* an invalid entry keeps the current distance */
			err = numem_memlayout_set_distance(l, heap, (numem_nid_t)a, (numem_nid_t)b,
			                                   d, diag);
		}
	return err;
}

static int cmp_lrange(const void *a, const void *b, void *arg)
{
	const struct numem_memlayout_range *x = a, *y = b;
	(void)arg;
	return x->start_pfn < y->start_pfn ? -1 : x->start_pfn > y->start_pfn;
}

/* Is the node a target the heap can take: known, or declared new? */
static bool node_ok(const struct numem_heap *h, const struct numem_topo *t,
                    const struct numem_memlayout *l, numem_nid_t n)
{
	return n < h->max_nodes && (n < t->nr_nodes || numem_nodemask_test(&l->new_nodes, n));
}

/* Is [s, e) covered by RAM ranges of t without a gap? */
static bool inside_ram(const struct numem_topo *t, uint64_t s, uint64_t e)
{
	uint32_t i = numem__topo_first_range(t, s);
	for (; i < t->nr_ranges && s < e; i++) {
		uint64_t rs, re;
		if (!numem_range_pfns(&t->range[i], &rs, &re))
			continue;
		if (rs > s)
			return false;
		if (re > s)
			s = re;
	}
	return s >= e;
}

enum numem_err numem_memlayout_validate(const struct numem_heap *h, struct numem_memlayout *l,
                                        struct numem_diag *diag)
{
	if (!h || !l)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_memlayout_validate: no heap or layout");
	const struct numem_topo *t = numem_heap_topo(h);
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		if (numem_nodemask_test(&l->new_nodes, n) && (n < t->nr_nodes || n >= h->max_nodes))
			return numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0, "memlayout: node %u declared new, but %s", n,
			    n < t->nr_nodes ? "it is a node of this machine"
			                    : "it is not below the heap's max_nodes");
	bool sorted = true;
	for (uint32_t i = 0; i < l->nr; i++) {
		const struct numem_memlayout_range *r = &l->range[i];
		if (r->start_pfn >= r->end_pfn)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "memlayout: range %u [0x%llx, 0x%llx) is empty", i,
			                   (unsigned long long)r->start_pfn,
			                   (unsigned long long)r->end_pfn);
		if (!node_ok(h, t, l, r->node))
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "memlayout: range %u [0x%llx, 0x%llx): node %u is %s", i,
			                   (unsigned long long)r->start_pfn,
			                   (unsigned long long)r->end_pfn, r->node,
			                   r->node >= h->max_nodes
			                       ? "not below the heap's max_nodes"
			                       : "not a node of this machine and not declared new");
		if (!inside_ram(t, r->start_pfn, r->end_pfn))
			return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
			                   "memlayout: range %u [0x%llx, 0x%llx) is not inside RAM "
			                   "(a hole, or past max_pfn 0x%llx)",
			                   i, (unsigned long long)r->start_pfn,
			                   (unsigned long long)r->end_pfn,
			                   (unsigned long long)t->max_pfn);
		if (i && r->start_pfn < l->range[i - 1].start_pfn)
			sorted = false;
	}
	if (!sorted)
		numem__sort(l->range, l->nr, sizeof(*l->range), cmp_lrange, 0);
	for (uint32_t i = 1; i < l->nr; i++)
		if (l->range[i].start_pfn < l->range[i - 1].end_pfn)
			return numem__fail(
			    diag, NUMEM_E_OVERLAP, 0, 0,
			    "memlayout: ranges [0x%llx, 0x%llx) -> node %u and "
			    "[0x%llx, 0x%llx) -> node %u overlap",
			    (unsigned long long)l->range[i - 1].start_pfn,
			    (unsigned long long)l->range[i - 1].end_pfn, l->range[i - 1].node,
			    (unsigned long long)l->range[i].start_pfn,
			    (unsigned long long)l->range[i].end_pfn, l->range[i].node);
	/* A new node needs memory or CPUs from this request: one with CPUs
	 * only comes online memoryless (its zonelists fall back by distance,
	 * as Linux's memoryless nodes; real SRATs have CPU-only domains). */
	numem_nodemask_t got = {{0}};
	for (uint32_t i = 0; i < l->nr; i++)
		numem_nodemask_set(&got, l->range[i].node);
	for (uint32_t c = 0; c < l->nr_cpu_nodes; c++) {
		numem_nid_t n = l->cpu_node[c];
		if (c >= t->nr_cpus && n != NUMEM_NID_NONE)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "memlayout: cpu %u is not a CPU of this machine", c);
		if (n != NUMEM_NID_NONE && !node_ok(h, t, l, n))
			return numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0,
			    "memlayout: cpu %u: node %u is not a node of this machine "
			    "and not declared new",
			    c, n);
		if (n != NUMEM_NID_NONE)
			numem_nodemask_set(&got, n);
	}
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		if (numem_nodemask_test(&l->new_nodes, n) && !numem_nodemask_test(&got, n))
			return numem__fail(
			    diag, NUMEM_E_NO_MEMORY, 0, 0,
			    "memlayout: node %u is declared new but no range gives it "
			    "memory and no CPU is placed on it",
			    n);
	if (l->distance && l->distance_dim != h->max_nodes)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "memlayout: distance matrix of %u nodes, the heap has max_nodes "
		                   "%u",
		                   l->distance_dim, h->max_nodes);
	l->sorted = true;
	return NUMEM_OK;
}
