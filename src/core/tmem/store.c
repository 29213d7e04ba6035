/*
 * store.c - the page store: where the bytes of a stored page live.
 *
 * The one small interface (tmem_internal.h): put bytes on a node and get a
 * location back, read a location into a page, free a location, and the
 * bytes a location takes.  Kinds:
 *   TM_ZERO   nothing stored (the caller never calls put for it);
 *   TM_RAW    one heap page of owner NUMEM_OWNER_TMEM, a copy of the page;
 *   TM_CHUNK  a run of 64-byte chunks inside a shared "zpage": a heap page
 *             of owner NUMEM_OWNER_TMEM whose chunk 0 is its header (magic,
 *             pfn, a bitmap of used chunks, its node's partial list), so a
 *             page compressed to L bytes takes ceil(L / 64) chunks (zbud
 *             and zsmalloc trade the same way; this is first fit over a
 *             node's partial zpages, a bounded look at TM_ZPAGE_SCAN of
 *             them before a new zpage is taken);
 *   TM_DEDUP  handled by dedup.c over one of the above.
 * A remote tier (pages on another machine) would be one more kind here,
 * with the same four operations.
 *
 * Pages come from the heap with NUMEM_ALLOC_NORECLAIM (tmem never recurses
 * into its own shrinker), node first by the PREFERRED policy (the heap
 * falls back by distance).  Every function here runs with t->lock held;
 * pages freed go into the caller's bag (in-band chain through their first
 * word), never straight to the heap.
 */
#include "tmem_internal.h"

#define TM_ZPAGE_SCAN 8

static bool heap_page_alloc(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                            uint64_t *pfn, numem_nid_t *got);

/* A TMEM page for a store on node (NUMEM_NID_NONE or beyond: the CPU's):
 * the CPU's spare if it is on that node (inline), else the heap's.  The
 * spare's node is the layout's (a commit may have moved its range since
 * it was recorded: pfn_node is then stale). */
static inline bool heap_page(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                             uint64_t *pfn, numem_nid_t *got)
{
	struct tm_preload *pl = &t->preload[cpu->id];
	if (pl->has_pfn &&
	    (node >= tm_nr_nodes(t) || node == tm_layout_node(t, pl->pfn, pl->pfn_node))) {
		pl->has_pfn = false;
		*pfn = pl->pfn;
		*got = tm_layout_node(t, pl->pfn, pl->pfn_node);
		t->heap_pages++;
		t->pages_on_node[*got]++;
		return true;
	}
	return heap_page_alloc(t, cpu, node, pfn, got);
}

static bool heap_page_alloc(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                            uint64_t *pfn, numem_nid_t *got)
{
	struct tm_preload *pl = &t->preload[cpu->id];
	numem_pfn_t p;
	enum numem_err e;
	if (node >= tm_nr_nodes(t) || node == cpu->mem_node) {
		/* the CPU's own node: the local policy, the heap's fast path */
		e = numem_alloc_owned(cpu, 0, NUMEM_ALLOC_NORECLAIM, NULL, NUMEM_OWNER_TMEM, &p, 0);
	} else {
		struct numem_policy pol;
		numem_policy_init(&pol, NUMEM_POLICY_PREFERRED);
		pol.node = node;
		e = numem_alloc_owned(cpu, 0, NUMEM_ALLOC_NORECLAIM, &pol, NUMEM_OWNER_TMEM, &p, 0);
	}
	if (e != NUMEM_OK && pl->has_pfn) {
		/* this CPU's spare, though on another node than asked */
		pl->has_pfn = false;
		p.v = pl->pfn;
		e = NUMEM_OK;
	}
	if (e != NUMEM_OK) {
		/* a page the current put's evictions freed, not yet given back */
		struct tm_bag *bag = pl->reuse;
		if (!bag || bag->pfns == ~0ull)
			return false;
		p.v = bag->pfns;
		bag->pfns = *(uint64_t *)tm_virt(t, p.v);
		bag->nr_pfns--;
	}
	*pfn = p.v;
	*got = tm_layout_node(t, p.v, numem_page_node(numem_pfn_to_page(t->heap->ft, p)));
	t->heap_pages++;
	t->pages_on_node[*got]++;
	return true;
}

static inline void bag_pfn(struct numem_tmem *t, uint64_t pfn, numem_nid_t node, struct tm_bag *bag)
{
	t->heap_pages--;
	t->pages_on_node[node]--;
	struct tm_preload *pl = bag->pl;
	if (pl && !pl->has_pfn && !bag->no_spare) {
		/* this CPU's spare (the next store's page, no heap call) */
		pl->has_pfn = true;
		pl->pfn = pfn;
		pl->pfn_node = node;
		return;
	}
	uint64_t *w = tm_virt(t, pfn);
	*w = bag->pfns;
	bag->pfns = pfn;
	bag->nr_pfns++;
	bag->used = true;
}

/* First fit of n contiguous free chunks in a used-bitmap; -1 if none. */
static int fit(uint64_t used, unsigned n)
{
	uint64_t want = n == 64 ? ~0ull : (1ull << n) - 1;
	for (unsigned i = 1; i + n <= TM_CHUNKS; i++) {
		if (!((used >> i) & want))
			return (int)i;
		/* skip past the lowest used chunk in the window */
		uint64_t hit = (used >> i) & want;
		i += numem__ctz64(hit);
	}
	return -1;
}

void numem__tm_zpage_unlist(struct numem_tmem *t, struct tm_zpage *z)
{
	if (z->prev)
		z->prev->next = z->next;
	else
		t->partial[z->node] = z->next;
	if (z->next)
		z->next->prev = z->prev;
	z->next = z->prev = 0;
}

void numem__tm_zpage_list(struct numem_tmem *t, struct tm_zpage *z)
{
	z->prev = 0;
	z->next = t->partial[z->node];
	if (z->next)
		z->next->prev = z;
	t->partial[z->node] = z;
}

static bool chunk_put(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                      const void *data, size_t len, struct tm_loc *out)
{
	unsigned n = (unsigned)((len + (1u << TM_CHUNK_SHIFT) - 1) >> TM_CHUNK_SHIFT);
	numem_nid_t nd = node < tm_nr_nodes(t) ? node : cpu->mem_node;
	struct tm_zpage *z = t->partial[nd];
	int at = -1;
	for (unsigned k = 0; z && k < TM_ZPAGE_SCAN; z = z->next, k++)
		if ((at = fit(z->used, n)) >= 0)
			break;
	if (at < 0) {
		uint64_t pfn;
		numem_nid_t got;
		if (!heap_page(t, cpu, nd, &pfn, &got))
			return false;
		z = tm_virt(t, pfn);
		z->magic = TM_ZPAGE_MAGIC;
		z->pfn = pfn;
		z->used = 1;
		z->node = got;
		numem__tm_zpage_list(t, z);
		at = 1;
	}
	uint64_t bits = (n == 64 ? ~0ull : (1ull << n) - 1) << at;
	z->used |= bits;
	if (z->used == ~0ull)
		numem__tm_zpage_unlist(t, z);
	memcpy((uint8_t *)z + ((size_t)at << TM_CHUNK_SHIFT), data, len);
	out->kind = TM_CHUNK;
	out->loc = z->pfn << TM_CHUNK_SHIFT | (uint64_t)at;
	out->len = (uint16_t)len;
	out->node = z->node;
	return true;
}

bool numem__tm_store_put(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                         const void *data, size_t len, struct tm_loc *out)
{
	if (len < NUMEM_PAGE_SIZE)
		return chunk_put(t, cpu, node, data, len, out);
	uint64_t pfn;
	numem_nid_t got;
	if (!heap_page(t, cpu, node, &pfn, &got))
		return false;
	tm_copy_page(t, tm_virt(t, pfn), data);
	out->kind = TM_RAW;
	out->loc = pfn;
	out->len = 0;
	out->codec = 0;
	out->node = got;
	return true;
}

bool numem__tm_store_read(struct numem_tmem *t, struct numem_cpu *cpu, const struct tm_loc *where,
                          void *dst)
{
	switch (where->kind) {
	case TM_ZERO:
		memset(dst, 0, NUMEM_PAGE_SIZE);
		return true;
	case TM_RAW:
		tm_copy_page(t, dst, tm_virt(t, where->loc));
		return true;
	case TM_CHUNK: {
		const uint8_t *z = tm_virt(t, where->loc >> TM_CHUNK_SHIFT);
		const struct numem_tmem_codec *c =
		    where->codec < NUMEM_TMEM_NR_CODECS ? t->opts.codec[where->codec] : 0;
		if (!c)
			return false;
		return c->decompress(c->ctx, cpu->id,
		                     z + ((where->loc & (TM_CHUNKS - 1)) << TM_CHUNK_SHIFT),
		                     where->len, dst) == 0;
	}
	case TM_DEDUP: {
		const struct tm_dedup *dd = (const struct tm_dedup *)(uintptr_t)where->loc;
		return numem__tm_store_read(t, cpu, &dd->where, dst);
	}
	}
	return false;
}

const void *numem__tm_store_chunk(const struct numem_tmem *t, const struct tm_loc *where)
{
	const uint8_t *z = tm_virt(t, where->loc >> TM_CHUNK_SHIFT);
	return z + ((where->loc & (TM_CHUNKS - 1)) << TM_CHUNK_SHIFT);
}

void numem__tm_store_free(struct numem_tmem *t, const struct tm_loc *where, struct tm_bag *bag)
{
	if (where->kind == TM_RAW) {
		bag_pfn(t, where->loc, where->node, bag);
	} else if (where->kind == TM_CHUNK) {
		struct tm_zpage *z = tm_virt(t, where->loc >> TM_CHUNK_SHIFT);
		unsigned at = (unsigned)(where->loc & (TM_CHUNKS - 1));
		unsigned n =
		    (unsigned)((where->len + (1u << TM_CHUNK_SHIFT) - 1) >> TM_CHUNK_SHIFT);
		NUMEM_ASSERT(t->plat, z->magic == TM_ZPAGE_MAGIC && z->pfn == where->loc >> 6,
		             "zpage at pfn 0x%llx: bad header (magic 0x%llx)",
		             (unsigned long long)(where->loc >> 6), (unsigned long long)z->magic);
		bool was_full = z->used == ~0ull;
		z->used &= ~((n == 64 ? ~0ull : (1ull << n) - 1) << at);
		if (z->used == 1) {
			if (!was_full)
				numem__tm_zpage_unlist(t, z);
			z->magic = 0;
			bag_pfn(t, z->pfn, z->node, bag);
		} else if (was_full) {
			numem__tm_zpage_list(t, z);
		}
	}
}

bool numem__tm_store_is_spare(const struct numem_tmem *t, uint64_t pfn)
{
	for (uint32_t i = 0; i < t->nr_cpus; i++)
		if (t->preload[i].has_pfn && t->preload[i].pfn == pfn)
			return true;
	return false;
}

enum numem_err numem__tm_store_verify_spares(const struct numem_tmem *t, struct numem_diag *diag)
{
	for (uint32_t i = 0; i < t->nr_cpus; i++) {
		const struct tm_preload *pl = &t->preload[i];
		if (!pl->has_pfn)
			continue;
		struct numem_heap_block b;
		const char *bad = 0;
		if (numem_heap_block_of(t->heap, numem_pfn(pl->pfn), &b) != NUMEM_PS_ALLOCATED ||
		    b.owner != NUMEM_OWNER_TMEM || b.head.v != pl->pfn || b.order)
			bad = "is not an allocated TMEM page";
		else if (pl->pfn_node >= NUMEM_MAX_NODES)
			bad = "has no node";
		for (uint32_t j = i + 1; j < t->nr_cpus && !bad; j++)
			if (t->preload[j].has_pfn && t->preload[j].pfn == pl->pfn)
				bad = "is another CPU's spare too";
		if (bad)
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "numem_tmem_verify: CPU %u's spare page 0x%llx %s", i,
			                   (unsigned long long)pl->pfn, bad);
	}
	return NUMEM_OK;
}

uint64_t numem__tm_store_bytes(const struct tm_loc *where)
{
	switch (where->kind) {
	case TM_RAW:
		return NUMEM_PAGE_SIZE;
	case TM_CHUNK:
		return (uint64_t)((where->len + (1u << TM_CHUNK_SHIFT) - 1) >> TM_CHUNK_SHIFT)
		       << TM_CHUNK_SHIFT;
	default:
		return 0;
	}
}

size_t numem__tm_compress(const struct numem_tmem *t, const struct numem_cpu *cpu, uint8_t codec,
                          const void *src)
{
	const struct numem_tmem_codec *cd =
	    codec && codec < NUMEM_TMEM_NR_CODECS ? t->opts.codec[codec] : 0;
	if (!cd)
		return 0;
	size_t n = cd->compress(cd->ctx, cpu->id, src, tm_scratch(t, cpu), NUMEM_TMEM_COMPRESS_MAX);
	return n <= NUMEM_TMEM_COMPRESS_MAX ? n : 0;
}
