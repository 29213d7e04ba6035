/*
 * build.c - from the firmware view to nodes, CPUs and memory ranges.
 *
 * numem_topo_build() runs in these steps (each in its own function):
 *   1. Node ids.  Proximity domains get dense node ids in order of first
 *      appearance, in Linux's pass order: enabled processor entries, then
 *      enabled memory entries, then enabled generic initiators/ports.
 *   2. CPUs.  With a MADT: its enabled processors in MADT order, each on
 *      the node of the SRAT entry naming it, else on the first node (as
 *      Linux).  Without: each enabled SRAT processor entry, in table order.
 *      A repeated hardware id is ignored (with a warning).
 *   3. Memory.  Enabled memory entries, sorted and merged per node.  As in
 *      Linux, only ranges of different nodes that both hold RAM and overlap
 *      make the SRAT invalid; overlapping ranges without RAM are kept,
 *      flagged NUMEM_RANGE_OVERLAP, the overlapped bytes given to one of
 *      them.  RAM is the e820 list intersected with these ranges (every RAM
 *      byte must be covered), or, without an e820 list, the ranges that are
 *      neither hot-pluggable nor non-volatile.
 *   4. Validation failures (overlap, uncovered RAM, too many domains, no
 *      memory entry) are errors in strict mode; otherwise the machine
 *      becomes one node with all CPUs and RAM and the reason is recorded.
 *   5. Distances (distance.c), hiding memoryless nodes and NUMA emulation
 *      (transform.c), then per-node summaries (distance.c), then UIDs and
 *      sockets/clusters/cores/threads from the MADT and PPTT (cpu.c).
 */
#include "topo_internal.h"

/* Node id of pxm, assigning the next id when `add`.  -1: not known (or
 * would exceed NUMEM_MAX_NODES when adding). */
static int pxm_to_node(struct numem_topo *t, uint32_t pxm, bool add)
{
	for (uint32_t n = 0; n < t->nr_nodes; n++)
		if (t->node[n].pxm == pxm)
			return (int)n;
	if (!add || t->nr_nodes >= NUMEM_MAX_NODES)
		return -1;
	t->node[t->nr_nodes].pxm = pxm;
	return (int)t->nr_nodes++;
}

static bool cpu_seen(const struct numem_topo *t, uint8_t type, uint32_t id)
{
	/* APIC and x2APIC ids share one space; GICC and RINTC use UIDs. */
	bool apic = type == NUMEM_SRAT_APIC || type == NUMEM_SRAT_X2APIC;
	for (uint32_t i = 0; i < t->nr_cpus; i++) {
		bool other_apic =
		    t->cpu[i].type == NUMEM_SRAT_APIC || t->cpu[i].type == NUMEM_SRAT_X2APIC;
		if (t->cpu[i].hw_id == id && (apic == other_apic))
			return true;
	}
	return false;
}

static void add_cpu(struct numem_topo *t, uint8_t type, uint32_t id, numem_nid_t node)
{
	struct numem_cpu_desc *c = &t->cpu[t->nr_cpus++];
	c->hw_id = id;
	c->type = type;
	c->node = node;
	c->uid = c->socket = c->cluster = c->core = c->thread = NUMEM_CPU_UNKNOWN;
}

/* The SRAT type a MADT processor entry's id is compared as. */
static uint8_t madt_srat_type(uint8_t madt_type)
{
	return madt_type == NUMEM_MADT_LOCAL_APIC     ? NUMEM_SRAT_APIC
	       : madt_type == NUMEM_MADT_LOCAL_X2APIC ? NUMEM_SRAT_X2APIC
	                                              : NUMEM_SRAT_GICC;
}

/* With an MADT the CPUs are its enabled processors, in MADT order (Linux's
 * logical CPU order); the SRAT only gives their nodes, and its entries for
 * processors the MADT lacks make no CPU.  A processor no enabled SRAT entry
 * names joins the first node, as Linux leaves CPUs without affinity on node
 * 0; `srat` NULL puts every CPU there.  Disabled online-capable processors
 * are counted (possible, not present, CPUs). */
static void add_madt_cpus(struct numem_topo *t, const struct numem_madt *madt,
                          const struct numem_srat *srat)
{
	for (uint32_t i = 0; i < madt->nr_cpu; i++) {
		const struct numem_madt_cpu *c = &madt->cpu[i];
		uint8_t type = madt_srat_type(c->type);
		if (!c->enabled) {
			t->nr_online_capable += c->online_capable;
			continue;
		}
		/* Linux skips the broadcast ids. */
		if ((c->type == NUMEM_MADT_LOCAL_APIC && c->id == 0xff) ||
		    (c->type == NUMEM_MADT_LOCAL_X2APIC && c->id == 0xffffffffu))
			continue;
		if (cpu_seen(t, type, c->id)) {
			numem__log(t->plat, NUMEM_LOG_WARN,
			           "MADT: processor id %u at offset %u appears again; ignored",
			           c->id, c->offset);
			continue;
		}
		int node = -1;
		bool apic = type != NUMEM_SRAT_GICC;
		for (uint32_t k = 0; srat && k < srat->nr_cpu && node < 0; k++) {
			const struct numem_srat_cpu *sc = &srat->cpu[k];
			bool sapic = sc->type == NUMEM_SRAT_APIC || sc->type == NUMEM_SRAT_X2APIC;
			if (sc->enabled && sc->id == c->id && sapic == apic)
				node = pxm_to_node(t, sc->pxm, false);
		}
		if (node < 0) {
			node = 0;
			t->nr_madt_cpus++;
		}
		add_cpu(t, type, c->id, (numem_nid_t)node);
	}
}

/* Step 1: node ids in Linux's pass order.  Fails only on too many domains. */
static enum numem_err assign_nodes(struct numem_topo *t, const struct numem_srat *s,
                                   struct numem_diag *diag)
{
	for (uint32_t i = 0; i < s->nr_cpu; i++)
		if (s->cpu[i].enabled && pxm_to_node(t, s->cpu[i].pxm, true) < 0)
			goto too_many;
	for (uint32_t i = 0; i < s->nr_mem; i++)
		if ((s->mem[i].flags & NUMEM_SRAT_MEM_ENABLED) && s->mem[i].length &&
		    pxm_to_node(t, s->mem[i].pxm, true) < 0)
			goto too_many;
	for (uint32_t i = 0; i < s->nr_other; i++) {
		const struct numem_srat_other *o = &s->other[i];
		if ((o->type == NUMEM_SRAT_GENERIC_INITIATOR ||
		     o->type == NUMEM_SRAT_GENERIC_PORT) &&
		    o->enabled) {
			int n = pxm_to_node(t, o->pxm, true);
			if (n < 0)
				goto too_many;
			t->node[n].generic_initiator = true;
		}
	}
	return NUMEM_OK;
too_many:
	return numem__fail(diag, NUMEM_E_TOO_MANY_NODES, "SRAT", 0,
	                   "SRAT: more than %u proximity domains (NUMEM_MAX_NODES)",
	                   (unsigned)NUMEM_MAX_NODES);
}

/* Step 2. */
static void collect_cpus(struct numem_topo *t, const struct numem_srat *s)
{
	for (uint32_t i = 0; i < s->nr_cpu; i++) {
		const struct numem_srat_cpu *c = &s->cpu[i];
		if (!c->enabled)
			continue;
		if (cpu_seen(t, c->type, c->id)) {
			numem__log(t->plat, NUMEM_LOG_WARN,
			           "SRAT: processor id %u at offset %u appears again; ignored",
			           c->id, c->offset);
			continue;
		}
		add_cpu(t, c->type, c->id, (numem_nid_t)pxm_to_node(t, c->pxm, false));
	}
}

static int cmp_range(const void *a, const void *b, void *arg)
{
	const struct numem_mem_range *x = a, *y = b;
	(void)arg;
	if (x->base != y->base)
		return x->base < y->base ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (int)x->node - (int)y->node;
}

void numem__topo_sort_ranges(struct numem_topo *t)
{
	numem__sort(t->range, t->nr_ranges, sizeof(*t->range), cmp_range, 0);
}

/* Private range bits while the SRAT's ranges are collected (cleared before
 * collect_srat_ranges returns). */
#define RANGE_HOLDS_RAM 0x80u /* the range holds RAM (Linux: overlaps memblock.memory) */
#define RANGE_CONTESTED 0x40u /* overlaps a range of another node */

static bool spans_meet(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

/* Linux sets aside the SRAT ranges that hold no RAM before its overlap check
 * (numa_cleanup_meminfo).  RAM is the e820 list when given, else the union
 * of the SRAT ranges that are neither hot-pluggable nor non-volatile. */
static void mark_ram_holders(struct numem_topo *t, const struct numem_topo_input *in)
{
	for (uint32_t k = 0; k < t->nr_ranges; k++) {
		struct numem_mem_range *r = &t->range[k];
		bool holds = false;
		if (in->ram) {
			for (uint32_t i = 0; i < in->nr_ram && !holds; i++)
				holds = in->ram[i].length &&
				        spans_meet(r->base, r->end, in->ram[i].base,
				                   in->ram[i].base + in->ram[i].length);
		} else {
			for (uint32_t i = 0; i < t->nr_ranges && !holds; i++) {
				const struct numem_mem_range *q = &t->range[i];
				holds =
				    !(q->flags & (NUMEM_RANGE_HOTPLUG | NUMEM_RANGE_NONVOLATILE)) &&
				    spans_meet(r->base, r->end, q->base, q->end);
			}
		}
		if (holds)
			r->flags |= RANGE_HOLDS_RAM;
	}
}

/* Which of two ranges covering the same bytes keeps them: one holding RAM,
 * else the shorter (the more specific description, e.g. an NVDIMM inside
 * QEMU's hot-plug window), else the lower node id. */
static bool range_wins(const struct numem_mem_range *a, const struct numem_mem_range *b)
{
	if ((a->flags ^ b->flags) & RANGE_HOLDS_RAM)
		return a->flags & RANGE_HOLDS_RAM;
	if (a->end - a->base != b->end - b->base)
		return a->end - a->base < b->end - b->base;
	return a->node < b->node;
}

/* Overlapping ranges of different nodes, none of them both holding RAM:
 * cut the address space at every range boundary and give each piece to the
 * range that wins it; adjacent pieces of one range join again.  The ranges
 * move to the top of the array (capacity: 5 per SRAT entry, the pieces are
 * at most 2 per range). */
static void paint_ranges(struct numem_topo *t)
{
	uint32_t n = t->nr_ranges;
	struct numem_mem_range *src = t->range + t->range_cap - n;
	memmove(src, t->range, n * sizeof(*src));
	t->nr_ranges = 0;
	uint64_t pos = src[0].base; /* sorted: the lowest base */
	for (;;) {
		bool found = false;
		uint64_t next = 0;
		for (uint32_t k = 0; k < n; k++) {
			if (src[k].base > pos && (!found || src[k].base < next))
				next = src[k].base, found = true;
			if (src[k].end > pos && (!found || src[k].end < next))
				next = src[k].end, found = true;
		}
		if (!found)
			break;
		int64_t w = -1;
		for (uint32_t k = 0; k < n; k++)
			if (src[k].base <= pos && src[k].end >= next &&
			    (w < 0 || range_wins(&src[k], &src[w])))
				w = k;
		if (w >= 0) {
			struct numem_mem_range *last =
			    t->nr_ranges ? &t->range[t->nr_ranges - 1] : NULL;
			if (last && last->end == pos && last->node == src[w].node &&
			    last->flags == src[w].flags)
				last->end = next;
			else
				numem__topo_add_range(t, pos, next, src[w].node, src[w].flags);
		}
		pos = next;
	}
}

/* Step 3a: the SRAT's enabled ranges, sorted and merged per node.  Overlap
 * follows Linux: only ranges of different nodes that both hold RAM make the
 * SRAT invalid; overlapping ranges without RAM (hot-plug windows, NVDIMMs)
 * are kept, flagged NUMEM_RANGE_OVERLAP. */
static enum numem_err collect_srat_ranges(struct numem_topo *t, const struct numem_srat *s,
                                          const struct numem_topo_input *in,
                                          struct numem_diag *diag)
{
	for (uint32_t i = 0; i < s->nr_mem; i++) {
		const struct numem_srat_mem *m = &s->mem[i];
		if (!(m->flags & NUMEM_SRAT_MEM_ENABLED) || !m->length)
			continue;
		uint64_t end;
		if (__builtin_add_overflow(m->base, m->length, &end))
			return numem__fail(diag, NUMEM_E_OVERLAP, "SRAT", m->offset,
			                   "SRAT: memory range at offset %u (base 0x%llx length "
			                   "0x%llx) wraps past the top of the address space",
			                   m->offset, (unsigned long long)m->base,
			                   (unsigned long long)m->length);
		uint8_t flags = 0;
		if (m->flags & NUMEM_SRAT_MEM_HOTPLUGGABLE)
			flags |= NUMEM_RANGE_HOTPLUG;
		if (m->flags & NUMEM_SRAT_MEM_NONVOLATILE)
			flags |= NUMEM_RANGE_NONVOLATILE;
		numem__topo_add_range(t, m->base, end, (numem_nid_t)pxm_to_node(t, m->pxm, false),
		                      flags);
	}
	if (!t->nr_ranges)
		return numem__fail(diag, NUMEM_E_NO_MEMORY, "SRAT", 0,
		                   "SRAT: no enabled memory affinity entry");
	numem__topo_sort_ranges(t);
	mark_ram_holders(t, in);
	bool contested = false;
	for (uint32_t i = 0; i < t->nr_ranges; i++)
		for (uint32_t j = i + 1; j < t->nr_ranges && t->range[j].base < t->range[i].end;
		     j++) {
			struct numem_mem_range *a = &t->range[i], *b = &t->range[j];
			if (a->node == b->node)
				continue;
			if (a->flags & b->flags & RANGE_HOLDS_RAM)
				return numem__fail(
				    diag, NUMEM_E_OVERLAP, "SRAT", 0,
				    "SRAT: memory [0x%llx-0x%llx) of domain %u overlaps "
				    "[0x%llx-0x%llx) of domain %u",
				    (unsigned long long)b->base, (unsigned long long)b->end,
				    t->node[b->node].pxm, (unsigned long long)a->base,
				    (unsigned long long)a->end, t->node[a->node].pxm);
			a->flags |= RANGE_CONTESTED;
			b->flags |= RANGE_CONTESTED;
			contested = true;
		}
	if (contested) {
		paint_ranges(t);
	} else {
		uint32_t out = 0;
		for (uint32_t i = 0; i < t->nr_ranges; i++) {
			struct numem_mem_range *r = &t->range[i];
			if (out) {
				struct numem_mem_range *prev = &t->range[out - 1];
				/* Same node, overlapping or touching with the same
				 * flags: merge.  Overlapping with different flags: RAM
				 * wins. */
				if (r->node == prev->node &&
				    (r->base < prev->end ||
				     (r->base == prev->end && r->flags == prev->flags))) {
					prev->end = NUMEM_MAX(prev->end, r->end);
					prev->flags &= r->flags;
					continue;
				}
			}
			t->range[out++] = *r;
		}
		t->nr_ranges = out;
	}
	for (uint32_t i = 0; i < t->nr_ranges; i++) {
		uint8_t f = t->range[i].flags;
		if (f & RANGE_CONTESTED)
			f |= NUMEM_RANGE_OVERLAP;
		t->range[i].flags = f & ~(RANGE_HOLDS_RAM | RANGE_CONTESTED);
	}
	return NUMEM_OK;
}

/* Step 3b without e820: RAM is what is neither hot-pluggable nor NV. */
static void mark_ram_from_srat(struct numem_topo *t)
{
	for (uint32_t i = 0; i < t->nr_ranges; i++)
		if (!(t->range[i].flags & (NUMEM_RANGE_HOTPLUG | NUMEM_RANGE_NONVOLATILE)))
			t->range[i].flags |= NUMEM_RANGE_RAM;
}

/* Step 3b with e820: RAM = e820 ∩ SRAT ranges; uncovered RAM is invalid.
 * SRAT ranges with no RAM in them stay as non-RAM ranges only when
 * hot-pluggable or non-volatile (they describe where memory may appear). */
static enum numem_err intersect_e820(struct numem_topo *t, const struct numem_topo_input *in,
                                     struct numem_diag *diag)
{
	uint32_t nsrat = t->nr_ranges;
	/* The SRAT ranges move to the top of the array; results go below. */
	struct numem_mem_range *srat = t->range + t->range_cap - nsrat;
	memmove(srat, t->range, nsrat * sizeof(*srat));
	t->nr_ranges = 0;
	for (uint32_t i = 0; i < in->nr_ram; i++) {
		uint64_t base = in->ram[i].base, end;
		if (__builtin_add_overflow(base, in->ram[i].length, &end))
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "RAM range %u (base 0x%llx) wraps past the top of the "
			                   "address space",
			                   i, (unsigned long long)base);
		uint64_t covered = 0;
		for (uint32_t j = 0; j < nsrat; j++) {
			uint64_t lo = NUMEM_MAX(base, srat[j].base);
			uint64_t hi = NUMEM_MIN(end, srat[j].end);
			if (lo >= hi)
				continue;
			covered += hi - lo;
			numem__topo_add_range(t, lo, hi, srat[j].node,
			                      (uint8_t)(srat[j].flags | NUMEM_RANGE_RAM));
		}
		if (covered != end - base)
			return numem__fail(
			    diag, NUMEM_E_UNCOVERED, "SRAT", 0,
			    "RAM [0x%llx-0x%llx) is only %llu of %llu bytes covered by "
			    "SRAT memory ranges",
			    (unsigned long long)base, (unsigned long long)end,
			    (unsigned long long)covered, (unsigned long long)(end - base));
	}
	numem__topo_sort_ranges(t);
	uint32_t nram = t->nr_ranges;
	for (uint32_t j = 0; j < nsrat; j++) {
		if (!(srat[j].flags & (NUMEM_RANGE_HOTPLUG | NUMEM_RANGE_NONVOLATILE)))
			continue;
		/* Keep the parts of a hot-plug/NV range that are not RAM. */
		uint64_t pos = srat[j].base;
		struct numem_mem_range r = srat[j];
		for (uint32_t k = 0; k < nram && pos < r.end; k++) {
			const struct numem_mem_range *ram = &t->range[k];
			if (ram->end <= pos || ram->base >= r.end)
				continue;
			if (ram->base > pos)
				numem__topo_add_range(t, pos, ram->base, r.node, r.flags);
			pos = NUMEM_MAX(pos, ram->end);
		}
		if (pos < r.end)
			numem__topo_add_range(t, pos, r.end, r.node, r.flags);
	}
	numem__topo_sort_ranges(t);
	return NUMEM_OK;
}

/* Overlap check for e820 input: the embedder's list must be disjoint. */
/* RAM ranges numem_topo_build accepts (a firmware map has a few hundred). */
#define NUMEM_TOPO_MAX_RAM (1u << 20)

static enum numem_err check_e820(const struct numem_topo_input *in, struct numem_diag *diag)
{
	/* range_cap below is 5 per RAM range in 32 bits: bound the count before
	 * multiplying, and each range's end before comparing ends. */
	if (in->nr_ram > NUMEM_TOPO_MAX_RAM)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_topo_build: %u RAM ranges, at most %u", in->nr_ram,
		                   (unsigned)NUMEM_TOPO_MAX_RAM);
	for (uint32_t i = 0; i < in->nr_ram; i++)
		if (in->ram[i].length > UINT64_MAX - in->ram[i].base)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "RAM range %u at 0x%llx, length 0x%llx, wraps past the "
			                   "top of the address space",
			                   i, (unsigned long long)in->ram[i].base,
			                   (unsigned long long)in->ram[i].length);
	for (uint32_t i = 0; i < in->nr_ram; i++)
		for (uint32_t j = i + 1; j < in->nr_ram; j++) {
			uint64_t a0 = in->ram[i].base, a1 = a0 + in->ram[i].length;
			uint64_t b0 = in->ram[j].base, b1 = b0 + in->ram[j].length;
			if (a0 < b1 && b0 < a1 && in->ram[i].length && in->ram[j].length)
				return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
				                   "RAM ranges %u and %u overlap at 0x%llx", i, j,
				                   (unsigned long long)NUMEM_MAX(a0, b0));
		}
	return NUMEM_OK;
}

/* Steps 1-3 for a machine with an SRAT.  Errors here are validation
 * failures: the caller turns them into the single-node fallback. */
static enum numem_err build_numa(struct numem_topo *t, const struct numem_topo_input *in,
                                 struct numem_diag *diag)
{
	const struct numem_srat *s = in->srat;
	enum numem_err err = assign_nodes(t, s, diag);
	if (err)
		return err;
	if (in->madt)
		add_madt_cpus(t, in->madt, s);
	else
		collect_cpus(t, s);
	err = collect_srat_ranges(t, s, in, diag);
	if (err)
		return err;
	if (in->ram)
		return intersect_e820(t, in, diag);
	mark_ram_from_srat(t);
	return NUMEM_OK;
}

/* One node holding every CPU and all RAM. */
static enum numem_err build_single(struct numem_topo *t, const struct numem_topo_input *in,
                                   struct numem_diag *diag)
{
	t->nr_nodes = 1;
	memset(&t->node[0], 0, sizeof(t->node[0]));
	t->nr_cpus = 0;
	t->nr_madt_cpus = t->nr_online_capable = 0;
	t->nr_ranges = 0;
	if (in->madt) {
		add_madt_cpus(t, in->madt, NULL);
		t->nr_madt_cpus = 0; /* one node: every CPU is on it anyway */
	} else if (in->srat && in->srat->nr_cpu) {
		for (uint32_t i = 0; i < in->srat->nr_cpu; i++) {
			const struct numem_srat_cpu *c = &in->srat->cpu[i];
			if (c->enabled && !cpu_seen(t, c->type, c->id))
				add_cpu(t, c->type, c->id, 0);
		}
	} else {
		for (uint32_t i = 0; i < in->nr_cpus; i++)
			add_cpu(t, NUMEM_SRAT_APIC, in->cpu_ids ? in->cpu_ids[i] : i, 0);
	}
	if (in->ram) {
		for (uint32_t i = 0; i < in->nr_ram; i++)
			if (in->ram[i].length)
				numem__topo_add_range(t, in->ram[i].base,
				                      in->ram[i].base + in->ram[i].length, 0,
				                      NUMEM_RANGE_RAM);
	} else if (in->srat) {
		for (uint32_t i = 0; i < in->srat->nr_mem; i++) {
			const struct numem_srat_mem *m = &in->srat->mem[i];
			uint64_t end;
			if (!(m->flags & NUMEM_SRAT_MEM_ENABLED) || !m->length ||
			    (m->flags &
			     (NUMEM_SRAT_MEM_HOTPLUGGABLE | NUMEM_SRAT_MEM_NONVOLATILE)) ||
			    __builtin_add_overflow(m->base, m->length, &end))
				continue;
			numem__topo_add_range(t, m->base, end, 0, NUMEM_RANGE_RAM);
		}
	}
	numem__topo_sort_ranges(t);
	/* Merge overlaps (an invalid SRAT may have them). */
	uint32_t out = 0;
	for (uint32_t i = 0; i < t->nr_ranges; i++) {
		if (out && t->range[i].base <= t->range[out - 1].end) {
			t->range[out - 1].end = NUMEM_MAX(t->range[out - 1].end, t->range[i].end);
			continue;
		}
		t->range[out++] = t->range[i];
	}
	t->nr_ranges = out;
	if (!t->nr_ranges)
		return numem__fail(diag, NUMEM_E_NO_MEMORY, 0, 0,
		                   "no RAM: neither a RAM map nor usable SRAT memory ranges");
	if (!t->nr_cpus)
		add_cpu(t, NUMEM_SRAT_APIC, 0, 0);
	return NUMEM_OK;
}

static void topo_free(const struct numem_platform *plat, struct numem_topo *t)
{
	numem__meta_free(plat, t->cpumask,
	                 (size_t)t->cpumask_words * sizeof(uint64_t) * NUMEM_MAX_NODES);
	numem__meta_free(plat, t->cpu, (size_t)t->cpu_cap * sizeof(*t->cpu));
	numem__meta_free(plat, t->range, (size_t)t->range_cap * sizeof(*t->range));
	numem__meta_free(plat, t, sizeof(*t));
}

enum numem_err numem_topo_build(const struct numem_platform *plat,
                                const struct numem_topo_input *in,
                                const struct numem_topo_opts *opts, struct numem_topo **out,
                                struct numem_diag *diag)
{
	static const struct numem_topo_opts no_opts;
	if (!opts)
		opts = &no_opts;
	if (!in || !out)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_topo_build: no input");
	if (in->nr_ram && !in->ram)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_topo_build: nr_ram %u with no RAM array", in->nr_ram);
	if (opts->emulate_nodes > NUMEM_MAX_NODES)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "NUMA emulation: %u nodes requested, at most %u",
		                   opts->emulate_nodes, (unsigned)NUMEM_MAX_NODES);
	enum numem_err err = in->ram ? check_e820(in, diag) : NUMEM_OK;
	if (err)
		return err;

	uint32_t srat_cpus = in->srat ? in->srat->nr_cpu : 0;
	uint32_t srat_mems = in->srat ? in->srat->nr_mem : 0;
	/* e820 ∩ SRAT gives at most nr_ram + nr_mem pieces, plus the kept
	 * non-RAM parts, plus the SRAT copy at the top, plus emulation cuts. */
	uint64_t range_cap = 5ull * srat_mems + 5ull * in->nr_ram + 2ull * opts->emulate_nodes + 8;
	if (range_cap > UINT32_MAX / sizeof(struct numem_mem_range)) {
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_topo_build: %u SRAT memory entries and %u RAM ranges "
		                   "need %llu ranges, too many",
		                   srat_mems, in->nr_ram, (unsigned long long)range_cap);
	}

	struct numem_topo *t = numem__meta_alloc(plat, sizeof(*t), NUMEM_NID_NONE);
	if (!t)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0, "no metadata memory for topology");
	memset(t, 0, sizeof(*t));
	t->plat = plat;
	uint64_t cpu_cap =
	    (uint64_t)NUMEM_MAX(srat_cpus, in->nr_cpus) + (in->madt ? in->madt->nr_cpu : 0) + 1;
	if (cpu_cap > UINT32_MAX / sizeof(struct numem_cpu_desc))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_topo_build: too many CPUs");
	t->cpu_cap = (uint32_t)cpu_cap;
	t->range_cap = (uint32_t)range_cap;
	t->cpu = numem__meta_alloc(plat, (size_t)t->cpu_cap * sizeof(*t->cpu), NUMEM_NID_NONE);
	t->range =
	    numem__meta_alloc(plat, (size_t)t->range_cap * sizeof(*t->range), NUMEM_NID_NONE);
	if (!t->cpu || !t->range) {
		topo_free(plat, t);
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "no metadata memory for %u CPUs and %u ranges", t->cpu_cap,
		                   t->range_cap);
	}

	struct numem_diag why = {0};
	bool use_srat = in->srat && !(opts->flags & NUMEM_TOPO_NUMA_OFF);
	err = use_srat ? build_numa(t, in, &why) : NUMEM_E_NO_MEMORY;
	if (use_srat && err == NUMEM_OK) {
		t->have_srat = true;
	} else {
		if (use_srat && ((opts->flags & NUMEM_TOPO_STRICT) || err == NUMEM_E_INVAL)) {
			if (diag)
				*diag = why;
			topo_free(plat, t);
			return err;
		}
		if (use_srat) {
			t->fallback_reason = why.code;
			t->single_node = NUMEM_SINGLE_INVALID;
			numem__fmt(t->fallback_msg, sizeof(t->fallback_msg),
			           "NUMA turned off, one node: %s", why.msg);
		} else {
			bool off = opts->flags & NUMEM_TOPO_NUMA_OFF;
			t->fallback_reason = NUMEM_E_NO_MEMORY;
			t->single_node = off ? NUMEM_SINGLE_NUMA_OFF : NUMEM_SINGLE_NO_SRAT;
			numem__fmt(t->fallback_msg, sizeof(t->fallback_msg), "%s",
			           off && in->srat ? "NUMA turned off by option, one node"
			           : off ? "NUMA turned off by option (and no SRAT), one node"
			                 : "no SRAT, one node");
		}
		numem__log(plat, NUMEM_LOG_WARN, "%s", t->fallback_msg);
		err = build_single(t, in, diag);
		if (err) {
			topo_free(plat, t);
			return err;
		}
	}

	for (uint32_t i = 0; i < t->nr_ranges; i++)
		t->nr_overlap_ranges += !!(t->range[i].flags & NUMEM_RANGE_OVERLAP);
	numem__topo_distances(t, t->have_srat ? in->slit : 0);
	if (opts->flags & NUMEM_TOPO_HIDE_MEMORYLESS)
		numem__topo_hide_memoryless(t);
	if (opts->emulate_nodes) {
		err = numem__topo_emulate(t, opts->emulate_nodes, diag);
		if (err) {
			topo_free(plat, t);
			return err;
		}
	}
	err = numem__topo_finalize(t, diag);
	if (err) {
		topo_free(plat, t);
		return err;
	}
	numem__topo_cpu_topology(t, in->madt, in->pptt);
	*out = t;
	return NUMEM_OK;
}

enum numem_err numem_topo_refresh(struct numem_topo *t, struct numem_diag *diag)
{
	return numem__topo_finalize(t, diag);
}

void numem_topo_release(struct numem_topo *topo)
{
	if (topo)
		topo_free(topo->plat, topo);
}

int64_t numem_topo_find_range(const struct numem_topo *t, numem_paddr_t pa)
{
	uint32_t lo = 0, hi = t->nr_ranges;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->range[mid].end <= pa.v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nr_ranges && t->range[lo].base <= pa.v)
		return lo;
	return -1;
}

numem_nid_t numem_topo_pfn_to_node(const struct numem_topo *t, numem_pfn_t pfn)
{
	int64_t i = numem_topo_find_range(t, numem_pfn_to_paddr(pfn));
	return i < 0 ? NUMEM_NID_NONE : t->range[i].node;
}
