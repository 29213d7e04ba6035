/*
 * owner.c - who holds an allocated block, and the operations that change a
 * block's shape or holder without freeing it: splitting (Linux's
 * split_page()) and handing over.
 *
 * The owner lives in the head descriptor (NUMEM_PG_OWNER_*).  Each
 * operation here checks, before it writes anything, that the named owner
 * holds an allocated block of exactly that order at that pfn
 * (numem__check_allocated, shared with numem_free), so a caller can only
 * reshape or give away what it holds.  The caller holds the block, so no
 * other CPU writes these descriptors; a CPU merging a neighbouring free
 * block reads them (relaxed) and sees allocated heads, which never merge.
 */
#include "heap_internal.h"

const char *numem_owner_name(uint16_t owner, char *buf, size_t cap)
{
	switch (owner) {
	case NUMEM_OWNER_HEAP:
		return "the heap's user (owner 0)";
	case NUMEM_OWNER_SLAB:
		return "the slab allocator";
	case NUMEM_OWNER_SLAB_LARGE:
		return "a slab large allocation";
	case NUMEM_OWNER_TMEM:
		return "tmem";
	default:
		break;
	}
	if (owner <= NUMEM_OWNER_DOMAIN_MAX)
		numem__fmt(buf, cap, "domain %u", owner);
	else
		numem__fmt(buf, cap, "reserved owner 0x%x", owner);
	return buf;
}

enum numem_err numem_heap_split(struct numem_heap *h, numem_pfn_t pfn, unsigned order,
                                unsigned new_order, uint16_t owner, struct numem_diag *diag)
{
	enum numem_err err;
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_heap_split", pfn, order, owner, &err, diag);
	if (!pg)
		return err;
	if (new_order >= order)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_split: pfn 0x%llx: new order %u is not below the "
		                   "block's order %u",
		                   (unsigned long long)pfn.v, new_order, order);
	uint64_t f = numem__pg_flags(pg);
	const uint64_t shape = NUMEM__PG_STATE_BITS | NUMEM__PG_OWNER_BITS |
	                       NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT |
	                       NUMEM_PG_ZONE_MASK << NUMEM_PG_ZONE_SHIFT |
	                       NUMEM_PG_NODE_MASK << NUMEM_PG_NODE_SHIFT;
	/* The new heads take the block's state, owner, zone and node and the
	 * smaller order; each keeps its own section bits and poison mark. */
	uint64_t head = (f & shape & ~(NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT)) |
	                (uint64_t)new_order << NUMEM_PG_ORDER_SHIFT;
	uint64_t step = 1ull << new_order, n = 1ull << order;
	for (uint64_t i = step; i < n; i += step) {
		struct numem_page *sub = numem_pfn_to_page(h->ft, numem_pfn(pfn.v + i));
		sub->private = pg->private;
		numem__pg_store(sub, (numem__pg_flags(sub) & ~shape) | head);
	}
	numem__pg_store(pg, (f & ~shape) | head);
	return NUMEM_OK;
}

enum numem_err numem_heap_set_owner(struct numem_heap *h, numem_pfn_t pfn, unsigned order,
                                    uint16_t from, uint16_t to, struct numem_diag *diag)
{
	if (!numem_owner_valid(to))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_heap_set_owner: pfn 0x%llx: new owner 0x%x is nobody's: "
		                   "neither the heap (0), a domain (1..0x%x) nor a core layer "
		                   "(>= 0x%x)",
		                   (unsigned long long)pfn.v, to, NUMEM_OWNER_DOMAIN_MAX,
		                   NUMEM_OWNER_SLAB);
	enum numem_err err;
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_heap_set_owner", pfn, order, from, &err, diag);
	if (!pg)
		return err;
	numem__pg_set_state_owner(pg, NUMEM_PS_ALLOCATED, to);
	return NUMEM_OK;
}

enum numem_page_state numem_heap_block_of(const struct numem_heap *h, numem_pfn_t pfn,
                                          struct numem_heap_block *out)
{
	memset(out, 0, sizeof(*out));
	enum numem_page_state where = NUMEM_PS_HOLE;
	struct numem_page *pg = h ? numem__lookup_online(h->ft, pfn, &where) : 0;
	if (!pg)
		return where;
	uint64_t head = pfn.v;
	enum numem_page_state st = numem__pg_state(pg);
	if (st == NUMEM_PS_FREE_TAIL || st == NUMEM_PS_ALLOC_TAIL || st == NUMEM_PS_RESERVED) {
		/* A tail: the head is pfn rounded down to some order, whose
		 * order reaches pfn. */
		for (unsigned o = 1; o <= NUMEM_MAX_ORDER; o++) {
			uint64_t hpfn = pfn.v & ~((1ull << o) - 1);
			struct numem_page *hp = numem_frametable_lookup(h->ft, numem_pfn(hpfn));
			if (!hp)
				break;
			enum numem_page_state hs = numem__pg_state(hp);
			if ((hs == NUMEM_PS_FREE || hs == NUMEM_PS_PCP ||
			     hs == NUMEM_PS_ALLOCATED) &&
			    numem__pg_order(hp) >= o) {
				pg = hp;
				st = hs;
				head = hpfn;
				break;
			}
		}
	}
	if (st != NUMEM_PS_FREE && st != NUMEM_PS_PCP && st != NUMEM_PS_ALLOCATED)
		return st;
	uint64_t f = numem__pg_flags(pg);
	out->head = numem_pfn(head);
	out->order = (unsigned)((f >> NUMEM_PG_ORDER_SHIFT) & NUMEM_PG_ORDER_MASK);
	if (st == NUMEM_PS_ALLOCATED) {
		out->owner = (uint16_t)((f >> NUMEM_PG_OWNER_SHIFT) & NUMEM_PG_OWNER_MASK);
		out->private = __atomic_load_n(&pg->private, __ATOMIC_RELAXED);
	}
	return st;
}

enum numem_err numem_heap_set_private(struct numem_heap *h, numem_pfn_t pfn, unsigned order,
                                      uint16_t owner, uint64_t value, struct numem_diag *diag)
{
	enum numem_err err;
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_heap_set_private", pfn, order, owner, &err, diag);
	if (!pg)
		return err;
	__atomic_store_n(&pg->private, value, __ATOMIC_RELAXED);
	return NUMEM_OK;
}
