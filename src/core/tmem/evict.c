/*
 * evict.c - ephemeral pages' LRU and eviction.
 *
 * Each client keeps one LRU list per node (oldest first) of its ephemeral
 * pages whose storage is on that node (zero pages: the node they were put
 * from).  Every page carries the low 16 bits of its put time and each list
 * its head's full 64-bit tick (rebuilt forward as heads go: ticks only grow
 * along a list; the clock never wraps), so the global LRU order is the
 * order of the lists' heads:
 * the oldest ephemeral page on a node is the oldest head among the
 * clients' lists for that node.  Three evictors use it:
 *   - the heap's shrinker (numem__tm_shrink_scan): the globally oldest
 *     pages, on the node the heap is short of first, then any node;
 *   - a client at its cap: its own oldest pages;
 *   - opts.max_pages reached: the oldest pages of the client most above its
 *     weighted share (pages / weight largest).
 * A page is evicted whole under the lock (tree, LRU, counts, storage): no
 * reader sees a half-evicted page or object.
 *
 * Bound: one shrink request for N pages evicts at most TM_SHRINK_MAX
 * pages, in rounds under the lock of min(64, N - heap pages freed so far)
 * pages, each round costing O(clients with ephemeral pages) to pick the
 * oldest head plus O(1) per page; between rounds the lock is dropped and
 * the round's pages go back to the heap.  An evicted page frees at most
 * one heap page (a raw one; a zero, compressed or dedup page may free
 * none), so a request for N evicts N pages when the oldest are raw, and
 * more only while evictions free no whole page (never past
 * TM_SHRINK_MAX).
 */
#include "tmem_internal.h"

/* The oldest head over the clients' lists (c given: that client's only),
 * on `node` or any node: its handle, 0 if none. */
static uint32_t oldest(struct numem_tmem *t, struct tm_client *only, numem_nid_t node)
{
	uint32_t best = 0;
	uint64_t best_tick = 0;
	uint32_t nr_nodes = tm_nr_nodes(t);
	for (struct tm_client *c = only ? only : t->clients_list; c;
	     c = only ? 0 : c->next_active) {
		if (!c->st.pages_ephemeral)
			continue;
		for (uint32_t n = 0; n < nr_nodes; n++) {
			if (node != NUMEM_NID_NONE && n != node)
				continue;
			const struct tm_lru *l = &c->lru[n];
			if (l->head && (!best || l->head_tick < best_tick)) {
				best = l->head;
				best_tick = l->head_tick;
			}
		}
	}
	return best;
}

uint64_t numem__tm_evict(struct numem_tmem *t, struct tm_client *c, numem_nid_t node, uint64_t n,
                         struct tm_bag *bag)
{
	uint64_t done = 0;
	while (done < n) {
		uint32_t h = oldest(t, c, node);
		if (!h)
			break;
		struct tm_page *pg = tm_pg(t, h);
		struct tm_client *owner = t->client[pg->client];
		struct tm_pool *p = tm_page_pool(t, pg);
		p->st.evictions++;
		owner->st.evictions++;
		numem__tm_page_drop(t, h, pg, bag);
		done++;
	}
	return done;
}

struct tm_client *numem__tm_over_share(struct numem_tmem *t)
{
	struct tm_client *best = 0;
	for (struct tm_client *c = t->clients_list; c; c = c->next_active) {
		if (!c->st.pages_ephemeral)
			continue;
		/* pages / weight, compared as cross products */
		if (!best || c->st.pages * best->weight > best->st.pages * c->weight)
			best = c;
	}
	return best;
}

uint64_t numem__tm_shrink_scan(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	struct numem_tmem *t = ctx;
	uint64_t freed = 0, evicted = 0;
	numem_nid_t where = node;
	while (freed < pages && evicted < TM_SHRINK_MAX) {
		struct tm_bag bag = {.pfns = ~0ull, .no_spare = true};
		tm_lock(t);
		/* no more than the pages still wanted: a page evicted frees at
		 * most one heap page */
		uint64_t want = NUMEM_MIN(NUMEM_MIN(64, TM_SHRINK_MAX - evicted), pages - freed);
		uint64_t round = numem__tm_evict(t, 0, where, want, &bag);
		if (!round && where != NUMEM_NID_NONE) {
			where = NUMEM_NID_NONE; /* the node has none left: any node */
			round = numem__tm_evict(t, 0, where, want, &bag);
		}
		evicted += round;
		tm_unlock(t);
		freed += bag.nr_pfns;
		numem__tm_bag_release(t, cpu, &bag);
		if (!round)
			break;
	}
	tm_lock(t);
	t->shrinker_calls++;
	t->shrinker_freed += freed;
	if (evicted > t->max_evict_batch)
		t->max_evict_batch = evicted;
	tm_unlock(t);
	return freed;
}

uint64_t numem_tmem_shrink(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                           uint64_t pages)
{
	return numem__tm_shrink_scan(t, cpu, node, pages);
}
