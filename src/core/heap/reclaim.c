/*
 * reclaim.c - shrinkers: the heap asks other layers for pages when a
 * request falls below the low watermark.
 *
 * The list is guarded by the shrinker lock, which is a leaf in the lock
 * order (heap.h) and is never held while a shrinker runs: each running
 * scan pins its shrinker with a count (`running`, under the lock) that
 * numem_heap_unregister_shrinker() waits on.  So a scan may take its own
 * locks and allocate (NORECLAIM), several CPUs may scan at once, and
 * registering or unregistering never waits for a scan of another shrinker.
 */
#include "heap_internal.h"

#include <numem/trace.h>

/*
 * Ask the shrinkers for `pages` pages, in list order, until they gave
 * enough.  The list is read under the shrinker lock, but each scan runs
 * with no lock held: the shrinker is pinned by its `running` count, which
 * numem_heap_unregister_shrinker() waits on.  A shrinker unregistered while
 * it ran ends the round (its `next` may be gone).  Returns whether any ran.
 */
bool numem__run_shrinkers(struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	struct numem_heap *h = cpu->heap;
	bool ran = false;
	numem__lock(&h->shrinker_lock);
	struct numem_shrinker *s = h->shrinkers;
	while (s) {
		s->running++;
		numem__unlock(&h->shrinker_lock);
		uint64_t got = s->scan(s->ctx, cpu, node, pages);
		ran = true;
		numem__trace(cpu, NUMEM_EV_SHRINK, node, pages, got);
		numem__lock(&h->shrinker_lock);
		s->calls++;
		s->freed += got;
		struct numem_shrinker *next = s->linked ? s->next : 0;
		s->running--; /* s may be freed from here on */
		if (got >= pages)
			break;
		pages -= got;
		s = next;
	}
	numem__unlock(&h->shrinker_lock);
	return ran;
}

void numem_heap_register_shrinker(struct numem_heap *h, struct numem_shrinker *s)
{
	numem__lock(&h->shrinker_lock);
	bool known = false;
	for (struct numem_shrinker *t = h->shrinkers; t && !known; t = t->next)
		known = t == s;
	if (!known) {
		s->next = h->shrinkers;
		s->linked = true;
		s->running = 0;
		h->shrinkers = s;
	}
	numem__unlock(&h->shrinker_lock);
}

void numem_heap_unregister_shrinker(struct numem_heap *h, struct numem_shrinker *s)
{
	numem__lock(&h->shrinker_lock);
	for (struct numem_shrinker **pp = &h->shrinkers; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			s->linked = false;
			break;
		}
	/* Wait for scans that started before it left the list. */
	while (s->running) {
		numem__unlock(&h->shrinker_lock);
		numem__cpu_relax();
		numem__lock(&h->shrinker_lock);
	}
	numem__unlock(&h->shrinker_lock);
}
