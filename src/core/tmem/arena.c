/*
 * arena.c - the records of stored pages and objects (tmem_internal.h,
 * "Records"): 56 bytes (lone pages, objects) or 32 (the pages of objects),
 * in chunks of one size, named by 32-bit handles.
 *
 * A chunk is a large slab allocation (a 16 KiB block: 291 records of 56
 * bytes or 509 of 32, its class and its free count), found through a
 * directory of chunk pointers (one kmalloc, doubled when full, up to
 * NUMEM_KMALLOC_MAX / 8 chunks; a handle is the chunk's index and the
 * record's offset / 8).  Handles are what the hash chains, the LRU lists
 * and the radix leaves hold: half a pointer each, and a record has no slab
 * rounding (56 bytes would take kmalloc-64).
 *
 * Locking.  The free lists and the directory are t->lock's.  Chunks and
 * directories are allocated with no lock held (a slab allocation may run
 * the heap's shrinkers, tmem's among them), installed under the lock, and
 * what turned out not to be needed (another CPU grew it first) is freed
 * after unlocking.  A CPU takes records into its preload
 * (numem__tm_arena_fill) before a put, as it takes radix nodes; a page op
 * that frees records gives them back to its own preload first
 * (numem__tm_rec_free), so a put-get cycle does not touch the arena.
 *
 * Free records.  Each chunk keeps its own free list and count in its
 * tail, and a (node, class)'s chunks with free records are on a doubly
 * linked list (a slab's partial list): taking a record pops the first such
 * chunk's, putting one back pushes onto its own chunk's, both O(1).  A
 * chunk belongs to the node of the CPU that made it (its slab allocation
 * is that CPU's), and a CPU takes records from its own node's chunks,
 * making one there before it takes another node's (per-node arenas: a
 * page's record near the CPUs that put it, as the slab's descriptors
 * were).  A chunk whose records are all free again goes back to the slab
 * at once (into the caller's bag, freed after the unlock) unless it is the
 * only chunk of its (node, class) with free records (no allocate-free
 * flapping at a boundary); chunk 0, which holds the reserved handle 0, is
 * never wholly free.  No sweep: a shrink request or a pool destroy pays
 * O(1) a record.
 */
#include "tmem_internal.h"

static void partial_link(struct tm_arena *a, uint32_t c)
{
	struct tm_chunk_tail *tl = tm_chunk_tail(a->dir[c]);
	uint32_t *head = &a->partial[tl->node][tl->big];
	tl->prev = TM_CHUNK_NONE;
	tl->next = *head;
	if (tl->next != TM_CHUNK_NONE)
		tm_chunk_tail(a->dir[tl->next])->prev = c;
	*head = c;
}

static void partial_unlink(struct tm_arena *a, uint32_t c)
{
	struct tm_chunk_tail *tl = tm_chunk_tail(a->dir[c]);
	if (tl->prev != TM_CHUNK_NONE)
		tm_chunk_tail(a->dir[tl->prev])->next = tl->next;
	else
		a->partial[tl->node][tl->big] = tl->next;
	if (tl->next != TM_CHUNK_NONE)
		tm_chunk_tail(a->dir[tl->next])->prev = tl->prev;
}

/* Install a chunk of class big made on node in directory slot i, all its
 * records free (handle 0 kept out), on its partial list.  Lock held. */
static void chunk_install(struct numem_tmem *t, uint32_t i, uint8_t *chunk, unsigned big,
                          uint32_t node)
{
	struct tm_arena *a = &t->arena;
	a->dir[i] = chunk;
	a->chunks++;
	if (i >= a->next)
		a->next = i + 1;
	struct tm_chunk_tail *tl = tm_chunk_tail(chunk);
	*tl = (struct tm_chunk_tail){.big = big, .node = node};
	uint32_t size = tm_rec_bytes(big);
	for (uint32_t k = tm_chunk_recs(big); k-- > 0;) {
		struct tm_page *r = (struct tm_page *)(chunk + (size_t)k * size);
		memset(r, 0, size);
		uint32_t h = i << TM_H_SHIFT | k * size / 8;
		if (!h)
			continue;
		r->hnext = tl->free;
		tl->free = h;
		tl->nfree++;
	}
	a->nr_free[big] += tl->nfree;
	partial_link(a, i);
}

/* A directory slot with no chunk: one given back (from the lowest that
 * may be, a hint), else the first never used; dir_cap if none.  Lock
 * held. */
static uint32_t free_slot(struct tm_arena *a)
{
	for (; a->hole < a->next; a->hole++)
		if (!a->dir[a->hole])
			return a->hole;
	return a->next < a->dir_cap ? a->next : a->dir_cap;
}

/* One more chunk of class big in the arena, for the CPU's node (no lock
 * held on entry or return).  false: no memory, or the directory is at its
 * largest. */
static bool arena_grow(struct numem_tmem *t, struct numem_cpu *cpu, unsigned big)
{
	tm_lock(t);
	uint32_t cap = t->arena.dir_cap;
	bool need_dir = free_slot(&t->arena) == cap;
	tm_unlock(t);
	if (need_dir && cap >= TM_ARENA_MAX_DIR)
		return false;
	uint32_t ncap = !cap ? 64 : cap > TM_ARENA_MAX_DIR / 2 ? TM_ARENA_MAX_DIR : cap * 2;
	uint8_t **nd = need_dir ? numem_kmalloc(t->slab, cpu, (size_t)ncap * sizeof(*nd), 0) : 0;
	if (need_dir && !nd)
		return false;
	uint8_t *chunk = numem_kmalloc(t->slab, cpu, TM_CHUNK_BYTES, 0);
	if (!chunk) {
		if (nd)
			numem_kfree(t->slab, cpu, nd, 0);
		return false;
	}
	uint8_t **old = 0;
	tm_lock(t);
	struct tm_arena *a = &t->arena;
	if (nd && a->dir_cap < ncap) {
		memset(nd, 0, (size_t)ncap * sizeof(*nd));
		if (a->dir_cap)
			memcpy(nd, a->dir, (size_t)a->dir_cap * sizeof(*nd));
		old = a->dir;
		a->dir = nd;
		a->dir_cap = ncap;
		nd = 0;
	}
	uint32_t i = free_slot(a);
	if (i < a->dir_cap) {
		chunk_install(t, i, chunk, big, tm_arena_node(cpu));
		chunk = 0;
	}
	tm_unlock(t);
	if (old)
		numem_kfree(t->slab, cpu, old, 0);
	if (nd)
		numem_kfree(t->slab, cpu, nd, 0);
	if (chunk) /* another CPU took the slot: the next round finds records */
		numem_kfree(t->slab, cpu, chunk, 0);
	return true;
}

/* Fill the preload's stacks short of what a put needs from the chunks of
 * node (NUMEM_MAX_NODES: any node's); the class still short, 2 if none.
 * Lock held. */
static unsigned fill_from(struct numem_tmem *t, struct tm_preload *pl, uint32_t node)
{
	struct tm_arena *a = &t->arena;
	uint32_t first = node < NUMEM_MAX_NODES ? node : 0;
	uint32_t end = node < NUMEM_MAX_NODES ? node + 1 : NUMEM_MAX_NODES;
	unsigned short_of = 2;
	for (unsigned big = 0; big < 2; big++) {
		/* (short of what a put needs: fill up, a batch for the puts to
		 * come) */
		unsigned want = pl->nr_rec[big] < tm_preload_want(big) ? TM_PRELOAD_MAX : 0;
		for (uint32_t n = first; n < end; n++)
			while (pl->nr_rec[big] < want && a->partial[n][big] != TM_CHUNK_NONE) {
				uint32_t c = a->partial[n][big];
				struct tm_chunk_tail *tl = tm_chunk_tail(a->dir[c]);
				uint32_t h = tl->free;
				tl->free = tm_pg(t, h)->hnext;
				tm_pg(t, h)->hnext = 0;
				a->nr_free[big]--;
				if (!--tl->nfree)
					partial_unlink(a, c);
				pl->rec[big][pl->nr_rec[big]++] = h;
			}
		if (pl->nr_rec[big] < tm_preload_want(big))
			short_of = big;
	}
	return short_of;
}

bool numem__tm_arena_fill(struct numem_tmem *t, struct numem_cpu *cpu)
{
	struct tm_preload *pl = &t->preload[cpu->id];
	for (unsigned round = 0; round < 64; round++) {
		tm_lock(t);
		unsigned short_of = fill_from(t, pl, tm_arena_node(cpu));
		tm_unlock(t);
		if (short_of == 2)
			return true;
		if (arena_grow(t, cpu, short_of))
			continue;
		/* no chunk for this node: records of any node's */
		tm_lock(t);
		short_of = fill_from(t, pl, NUMEM_MAX_NODES);
		tm_unlock(t);
		return short_of == 2;
	}
	return false; /* other CPUs took every chunk this one made: give up */
}

void numem__tm_arena_put(struct numem_tmem *t, uint32_t h, unsigned big, struct tm_bag *bag)
{
	struct tm_arena *a = &t->arena;
	uint32_t c = h >> TM_H_SHIFT;
	uint8_t *chunk = a->dir[c];
	struct tm_chunk_tail *tl = tm_chunk_tail(chunk);
	tm_pg(t, h)->hnext = tl->free;
	tl->free = h;
	a->nr_free[big]++;
	if (++tl->nfree == 1)
		partial_link(a, c);
	if (tl->nfree < tm_chunk_recs(big) ||
	    (a->partial[tl->node][big] == c && tl->next == TM_CHUNK_NONE))
		return;
	/* wholly free, and another chunk of its node and class has free
	 * records */
	partial_unlink(a, c);
	a->nr_free[big] -= tl->nfree;
	a->dir[c] = 0;
	a->chunks--;
	if (c < a->hole)
		a->hole = c;
	*(void **)chunk = bag->misc;
	bag->misc = chunk;
	bag->used = true;
}

void numem__tm_arena_release(struct numem_tmem *t, struct numem_cpu *cpu)
{
	struct tm_arena *a = &t->arena;
	for (uint32_t i = 0; i < a->dir_cap; i++)
		if (a->dir[i])
			numem_kfree(t->slab, cpu, a->dir[i], 0);
	if (a->dir)
		numem_kfree(t->slab, cpu, a->dir, 0);
	memset(a, 0, sizeof(*a));
	for (uint32_t n = 0; n < NUMEM_MAX_NODES; n++)
		a->partial[n][0] = a->partial[n][1] = TM_CHUNK_NONE;
}

uint64_t numem__tm_arena_bytes(const struct numem_tmem *t)
{
	/* a chunk is a 16 KiB block; the directory its kmalloc size */
	return (uint64_t)t->arena.chunks * 4 * NUMEM_PAGE_SIZE +
	       (uint64_t)t->arena.dir_cap * sizeof(void *);
}

static enum numem_err afail(struct numem_diag *diag, const char *what, uint32_t h)
{
	return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0, "numem_tmem_verify: arena record %u: %s", h,
	                   what);
}

/* Mark a free record of class big; an error if out of range, not free or
 * marked. */
static enum numem_err mark_free(struct numem_tmem *t, uint32_t h, unsigned big,
                                struct numem_diag *diag)
{
	if (!tm_rec_ok(t, h, big))
		return afail(
		    diag,
		    "free handle out of range (or of a chunk given back, or of the other size)", h);
	struct tm_page *r = tm_pg(t, h);
	if (r->tag & TM_TAG_MARK)
		return afail(diag, "on two lists (free twice, or free and in use)", h);
	if (tm_type(r) != TM_T_FREE)
		return afail(diag, "on the free list but not free", h);
	r->tag |= TM_TAG_MARK;
	return NUMEM_OK;
}

enum numem_err numem__tm_arena_verify(struct numem_tmem *t, uint64_t marked, enum numem_err e,
                                      struct numem_diag *diag)
{
	struct tm_arena *a = &t->arena;
	uint64_t n = 0, chunks = 0, on_partial = 0, with_free = 0;
	/* the partial lists: each chunk of its class, its free list as long as
	 * its count, every record on it free, of it, reached once */
	uint64_t listed[2] = {0, 0};
	for (uint32_t node = 0; node < NUMEM_MAX_NODES && !e; node++)
		for (unsigned big = 0; big < 2 && !e; big++) {
			uint32_t prev = TM_CHUNK_NONE;
			for (uint32_t c = a->partial[node][big]; c != TM_CHUNK_NONE && !e;) {
				if (c >= a->dir_cap || !a->dir[c] || on_partial >= a->chunks) {
					e = afail(diag, "partial list names no chunk (or loops)",
					          c << TM_H_SHIFT);
					break;
				}
				struct tm_chunk_tail *tl = tm_chunk_tail(a->dir[c]);
				on_partial++;
				if (tl->big != big || tl->node != node || tl->prev != prev ||
				    !tl->nfree) {
					e = afail(
					    diag,
					    "chunk on the wrong partial list, mislinked or full",
					    c << TM_H_SHIFT);
					break;
				}
				uint32_t m = 0;
				for (uint32_t h = tl->free; h && !e && m <= tl->nfree; m++) {
					if (h >> TM_H_SHIFT != c)
						e = afail(diag, "free list leaves its chunk", h);
					else
						e = mark_free(t, h, big, diag);
					if (!e)
						h = tm_pg(t, h)->hnext;
				}
				if (!e && m != tl->nfree)
					e = afail(
					    diag,
					    "chunk's free list longer or shorter than its count",
					    c << TM_H_SHIFT);
				listed[big] += m;
				prev = c;
				c = tl->next;
			}
		}
	for (unsigned big = 0; big < 2 && !e; big++)
		if (listed[big] != a->nr_free[big])
			e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                "numem_tmem_verify: arena free lists of class %u hold %llu "
			                "records, %llu counted",
			                big, (unsigned long long)listed[big],
			                (unsigned long long)a->nr_free[big]);
	n = listed[0] + listed[1];
	bool checks = !e;
	for (uint32_t c = 0; c < t->nr_cpus && !e; c++)
		for (unsigned big = 0; big < 2; big++)
			for (unsigned i = 0; i < t->preload[c].nr_rec[big] && !e; i++, n++)
				e = mark_free(t, t->preload[c].rec[big][i], big, diag);
	/* every record (but handle 0) marked exactly once; marks cleared */
	uint64_t seen = 0;
	for (uint32_t i = 0; i < a->dir_cap; i++) {
		uint8_t *c = a->dir[i];
		if (!c)
			continue;
		chunks++;
		unsigned big = tm_chunk_tail(c)->big;
		with_free += tm_chunk_tail(c)->nfree != 0;
		if (big > 1) {
			if (!e)
				e = afail(diag, "a chunk of no class", i << TM_H_SHIFT);
			continue;
		}
		uint32_t size = tm_rec_bytes(big);
		for (uint32_t k = 0; k < tm_chunk_recs(big); k++) {
			struct tm_page *r = (struct tm_page *)(c + (size_t)k * size);
			uint32_t h = i << TM_H_SHIFT | k * size / 8;
			if (r->tag & TM_TAG_MARK) {
				r->tag &= (uint8_t)~TM_TAG_MARK;
				seen++;
			} else if (h && !e && checks) {
				e = afail(diag, "on no list (leaked, or a page no walk reaches)",
				          h);
			}
		}
	}
	if (!e && (chunks != a->chunks || with_free != on_partial))
		e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                "numem_tmem_verify: %llu arena chunks (%llu with free records, "
		                "%llu on the partial lists), %u counted",
		                (unsigned long long)chunks, (unsigned long long)with_free,
		                (unsigned long long)on_partial, a->chunks);
	if (!e && seen != marked + n)
		e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                "numem_tmem_verify: %llu records marked, %llu in use and %llu "
		                "free",
		                (unsigned long long)seen, (unsigned long long)marked,
		                (unsigned long long)n);
	return e;
}
