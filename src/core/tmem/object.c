/*
 * object.c - objects and their pages: the key (pool, 192-bit object id,
 * 32-bit index) -> stored page.
 *
 * The records of a pool's objects hang off a hash table of chains of
 * 32-bit handles (the object id mixed into a bucket index), 504 at first
 * and grown 4x by pool.c when the objects outnumber the chains 2:1.  A
 * one-page object is a single LONE record (tmem_internal.h, "Records"),
 * whatever its index: no object, no tree (56 bytes and its share of the
 * table: ~61 bytes a page).  A second page makes an OBJ record (taking the
 * lone record's place in its chain) whose pages sit in a radix tree whose
 * height grows with the largest index: height h holds indexes below
 * 2^(6h); interior levels are 64-slot nodes of pointers (512 bytes), the
 * last level 64-slot leaves of page handles (256 bytes, 4 bytes a page).
 * The lone record becomes one of its pages.  An object whose pages are
 * flushed down to one stays an object; it goes with its last page.
 * Nodes and records are taken from the caller's preload (filled before the
 * lock) and given back through the bag (nodes) or to the preload and the
 * arena's free list (records).
 *
 * All functions run with t->lock held.
 */
#include "tmem_internal.h"

static bool node_empty(const struct tm_rnode *n)
{
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (n->slot[i])
			return false;
	return true;
}

static bool leaf_empty(const struct tm_rleaf *n)
{
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (n->slot[i])
			return false;
	return true;
}

/* A node (or leaf) from a preload stack: all zero but its first word. */
static void *take(void **stack, unsigned *nr)
{
	NUMEM_DEBUG_ASSERT(0, *nr, "tmem: radix preload empty");
	void *n = stack[--*nr];
	*(void **)n = 0;
	return n;
}

static struct tm_rnode *take_node(struct tm_pool *p, struct tm_preload *pl)
{
	p->rnodes++;
	struct tm_rnode *n = take(pl->node, &pl->nr_node);
	NUMEM_DEBUG_ASSERT(0, node_empty(n), "tmem: recycled radix node %p not empty", (void *)n);
	return n;
}

static struct tm_rleaf *take_leaf(struct tm_pool *p, struct tm_preload *pl)
{
	p->rleaves++;
	struct tm_rleaf *n = take(pl->leaf, &pl->nr_leaf);
	NUMEM_DEBUG_ASSERT(0, leaf_empty(n), "tmem: recycled radix leaf %p not empty", (void *)n);
	return n;
}

/* A node or leaf into the bag (or the op's preload): its slots are all
 * zero but its first word, the bag's chain (taking it back clears it). */
static void bag_node(struct tm_pool *p, void *n, bool leaf, struct tm_bag *bag)
{
	struct tm_preload *pl = bag->pl;
	if (leaf) {
		p->rleaves--;
		if (pl && pl->nr_leaf < TM_RLEAF_PRELOAD) {
			pl->leaf[pl->nr_leaf++] = n;
			return;
		}
	} else {
		p->rnodes--;
		if (pl && pl->nr_node < TM_RADIX_PRELOAD) {
			pl->node[pl->nr_node++] = n;
			return;
		}
	}
	*(void **)n = bag->nodes;
	bag->nodes = n;
	bag->used = true;
}

/* Put page handle ph at index in a tree of height >= 1 that covers it,
 * making the nodes on its path that are missing. */
static void place(struct tm_object *o, uint32_t index, uint32_t ph, struct tm_preload *pl)
{
	void **slot = &o->root;
	for (unsigned h = o->height; h > 1; h--) {
		if (!*slot)
			*slot = take_node(o->pool, pl);
		slot =
		    &((struct tm_rnode *)*slot)->slot[(index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	}
	if (!*slot)
		*slot = take_leaf(o->pool, pl);
	((struct tm_rleaf *)*slot)->slot[index & 63] = ph;
}

static void radix_insert(struct tm_object *o, uint32_t index, uint32_t ph, struct tm_preload *pl)
{
	o->pages++;
	while (index >= tm_height_cap(o->height)) {
		struct tm_rnode *n = take_node(o->pool, pl);
		n->slot[0] = o->root;
		o->root = n;
		o->height++;
	}
	place(o, index, ph, pl);
}

/* Clear the page at index (present) from o's tree; emptied nodes into the
 * bag (all of the path when it was the last page). */
static void radix_remove(struct tm_object *o, uint32_t index, struct tm_bag *bag)
{
	struct tm_rnode *path[TM_RADIX_HEIGHT];
	void **slot = &o->root;
	unsigned depth = 0;
	for (unsigned h = o->height; h > 1; h--) {
		struct tm_rnode *n = *slot;
		path[depth++] = n;
		slot = &n->slot[(index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	}
	struct tm_rleaf *leaf = *slot;
	leaf->slot[index & 63] = 0;
	if (!--o->pages) {
		/* the last page: the path holds nothing else */
		bag_node(o->pool, leaf, true, bag);
		while (depth > 0) {
			depth--;
			uint32_t shift = TM_RADIX_SHIFT * (uint32_t)(o->height - 1 - depth);
			path[depth]->slot[(index >> shift) & 63] = 0;
			bag_node(o->pool, path[depth], false, bag);
		}
		o->root = 0;
		return;
	}
	if (!leaf_empty(leaf))
		return;
	*slot = 0; /* (not the root: o still has pages) */
	bag_node(o->pool, leaf, true, bag);
	while (depth > 0 && node_empty(path[depth - 1])) {
		struct tm_rnode *n = path[--depth];
		if (depth == 0) {
			o->root = 0;
		} else {
			uint32_t shift = TM_RADIX_SHIFT * (uint32_t)(o->height - depth);
			path[depth - 1]->slot[(index >> shift) & 63] = 0;
		}
		bag_node(o->pool, n, false, bag);
	}
}

static void walk(const struct numem_tmem *t, void *n, unsigned h,
                 void (*fn)(void *ctx, uint32_t h, struct tm_page *pg), void *ctx)
{
	if (h == 1) {
		const struct tm_rleaf *l = n;
		for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
			if (l->slot[i])
				fn(ctx, l->slot[i], tm_pg(t, l->slot[i]));
		return;
	}
	struct tm_rnode *r = n;
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (r->slot[i])
			walk(t, r->slot[i], h - 1, fn, ctx);
}

void numem__tm_radix_walk(const struct numem_tmem *t, uint32_t oh,
                          void (*fn)(void *ctx, uint32_t h, struct tm_page *pg), void *ctx)
{
	void *o = tm_rec(t, oh);
	if (tm_type(o) == TM_T_LONE) {
		fn(ctx, oh, o);
		return;
	}
	const struct tm_object *ob = o;
	if (ob->root)
		walk(t, ob->root, ob->height, fn, ctx);
}

/* (hash: the page's object id's, if `known`) */
static inline __attribute__((always_inline)) void page_drop(struct numem_tmem *t, uint32_t h,
                                                            struct tm_page *pg, bool known,
                                                            uint32_t hash, struct tm_bag *bag)
{
	if (tm_type(pg) == TM_T_LONE) {
		struct tm_pool *p = t->client[pg->client]->pool[tm_slot(pg)];
		numem__tm_unhash(t, p, h, known ? hash : tm_oid_hash(tm_oid_of(pg)));
		numem__tm_page_release(t, p, h, pg, 1, bag);
		return;
	}
	uint32_t oh = pg->obj;
	struct tm_object *o = tm_rec(t, oh);
	struct tm_pool *p = o->pool;
	radix_remove(o, pg->index, bag);
	numem__tm_page_release(t, p, h, pg, 0, bag);
	if (!o->pages) {
		numem__tm_unhash(t, p, oh, known ? hash : tm_oid_hash(o->oid));
		numem__tm_rec_free(t, oh, 1, bag);
	}
}

void numem__tm_page_drop(struct numem_tmem *t, uint32_t h, struct tm_page *pg, struct tm_bag *bag)
{
	page_drop(t, h, pg, false, 0, bag);
}

void numem__tm_obj_page_drop(struct numem_tmem *t, uint32_t h, struct tm_page *pg, uint32_t hash,
                             struct tm_bag *bag)
{
	page_drop(t, h, pg, true, hash, bag);
}

struct drop_ctx {
	struct numem_tmem *t;
	struct tm_pool *p;
	struct tm_bag *bag;
};

static void drop_one(void *ctx, uint32_t h, struct tm_page *pg)
{
	struct drop_ctx *d = ctx;
	numem__tm_page_release(d->t, d->p, h, pg, 0, d->bag);
}

static void free_nodes(struct tm_pool *p, void *n, unsigned h, struct tm_bag *bag)
{
	if (h == 1) {
		memset(n, 0, sizeof(struct tm_rleaf));
		bag_node(p, n, true, bag);
		return;
	}
	struct tm_rnode *r = n;
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (r->slot[i]) {
			free_nodes(p, r->slot[i], h - 1, bag);
			r->slot[i] = 0;
		}
	bag_node(p, r, false, bag);
}

uint64_t numem__tm_obj_drop(struct numem_tmem *t, struct tm_pool *p, uint32_t oh, void *o,
                            struct tm_bag *bag)
{
	if (tm_type(o) == TM_T_LONE) {
		numem__tm_page_drop(t, oh, o, bag);
		return 1;
	}
	struct tm_object *ob = o;
	uint64_t n = ob->pages;
	struct drop_ctx d = {t, p, bag};
	numem__tm_radix_walk(t, oh, drop_one, &d);
	if (ob->root)
		free_nodes(p, ob->root, ob->height, bag);
	ob->root = 0;
	ob->pages = 0;
	numem__tm_unhash(t, p, oh, tm_oid_hash(ob->oid));
	numem__tm_rec_free(t, oh, 1, bag);
	return n;
}

void numem__tm_obj_rehash(struct numem_tmem *t, struct tm_pool *p, uint32_t *nb, uint32_t n)
{
	for (uint32_t i = 0; i < p->nbuckets; i++)
		for (uint32_t h = p->bucket[i], next; h; h = next) {
			struct tm_page *r = tm_pg(t, h); /* (LONE or OBJ: the same chain link) */
			next = r->hnext;
			uint32_t b = tm_bucket(tm_oid_hash(tm_oid_of(r)), n);
			r->hnext = nb[b];
			nb[b] = h;
		}
	p->bucket = nb;
	p->nbuckets = n;
}

/* Bytes of the nodes from depth k down to the leaf of a tree of height h
 * (the path below a missing node). */
static uint64_t path_bytes(unsigned h, unsigned k)
{
	return (uint64_t)(h - 1 - k) * sizeof(struct tm_rnode) + sizeof(struct tm_rleaf);
}

/* Bytes of nodes and leaves a new page at index of record o takes: what
 * to_object and radix_insert will take from the preload. */
static uint64_t radix_need(const void *o, uint32_t index)
{
	if (tm_type(o) == TM_T_LONE) {
		/* two paths: the lone page's, and index's below where they part */
		uint32_t a = ((const struct tm_page *)o)->index;
		unsigned h = 1;
		while (NUMEM_MAX(a, index) >= tm_height_cap(h))
			h++;
		for (unsigned k = 1; k < h; k++)
			if (a >> (TM_RADIX_SHIFT * (h - k)) != index >> (TM_RADIX_SHIFT * (h - k)))
				return path_bytes(h, 0) + path_bytes(h, k);
		return path_bytes(h, 0);
	}
	const struct tm_object *ob = o;
	unsigned h = ob->height;
	while (index >= tm_height_cap(h))
		h++;
	/* g new roots above the old one, a chain through their slot 0 */
	unsigned g = h - ob->height;
	uint64_t need = (uint64_t)g * sizeof(struct tm_rnode);
	const void *n = ob->root;
	for (unsigned k = 0; k + 1 < h; k++) {
		unsigned digit = (index >> (TM_RADIX_SHIFT * (h - 1 - k))) & 63;
		if (k < g) {
			if (digit)
				return need + path_bytes(h, k + 1);
			continue; /* down the chain (to the old root at depth g) */
		}
		n = ((const struct tm_rnode *)n)->slot[digit];
		if (!n)
			return need + path_bytes(h, k + 1);
	}
	return need;
}

bool numem__tm_radix_over(const struct numem_tmem *t, const struct tm_pool *p, const void *o,
                          uint32_t index)
{
	(void)t;
	uint64_t need = radix_need(o, index);
	return need &&
	       tm_radix_bytes(p) + need > TM_RADIX_PAGE_BUDGET * (p->st.pages + 1) + TM_RADIX_SLACK;
}

/* The lone record lh of p becomes, in place (its chain and id kept), an
 * object tall enough for its page and `index`; the page moves to a page
 * record of the preload (its LRU neighbours relinked).  lh is the
 * object's handle now. */
static void to_object(struct numem_tmem *t, struct tm_pool *p, struct tm_page *lone, uint32_t lh,
                      uint32_t index, struct tm_preload *pl)
{
	uint32_t ph = numem__tm_rec_take(pl, 0);
	struct tm_page *pg = tm_pg(t, ph);
	*pg = *lone;
	pg->lenslot &= TM_LEN_MASK;
	pg->tag = (uint8_t)((pg->tag & ~3u) | TM_T_PAGE);
	pg->obj = lh;
	if (!(p->flags & NUMEM_TMEM_POOL_PERSISTENT)) {
		struct tm_lru *l = &t->client[pg->client]->lru[pg->node];
		if (pg->lru_prev)
			tm_pg(t, pg->lru_prev)->lru_next = ph;
		else
			l->head = ph;
		if (pg->lru_next)
			tm_pg(t, pg->lru_next)->lru_prev = ph;
		else
			l->tail = ph;
	}
	uint32_t top = NUMEM_MAX(pg->index, index);
	unsigned h = 1;
	while (top >= tm_height_cap(h))
		h++;
	struct tm_object *o = (struct tm_object *)lone;
	/* (hnext, tag and oid are where the lone record had them) */
	o->root = 0;
	o->pool = p;
	o->pages = 0;
	o->height = (uint8_t)h;
	memset(o->pad, 0, sizeof(o->pad));
	o->tag = TM_T_OBJ;
	radix_insert(o, pg->index, ph, pl);
}

void numem__tm_page_link_obj(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_client *c,
                             struct tm_pool *p, void *o, uint32_t oh, uint32_t hash, uint32_t index,
                             const struct tm_loc *w)
{
	(void)hash;
	struct tm_preload *pl = &t->preload[cpu->id];
#ifdef NUMEM_DEBUG
	uint64_t need = radix_need(o, index), before = tm_radix_bytes(p);
#endif
	if (tm_type(o) == TM_T_LONE)
		to_object(t, p, o, oh, index, pl);
	uint32_t h = numem__tm_rec_take(pl, 0);
	struct tm_page *pg = tm_pg(t, h);
	*pg = (struct tm_page){.loc = w->loc,
	                       .index = index,
	                       .tick = (uint16_t)++t->tick,
	                       .client = c->id,
	                       .lenslot = w->len,
	                       .node = (uint8_t)w->node,
	                       .tag = (uint8_t)(w->kind << 2 | w->codec << 4 | TM_T_PAGE)};
	pg->obj = oh;
	radix_insert(tm_rec(t, oh), index, h, pl);
#ifdef NUMEM_DEBUG
	NUMEM_DEBUG_ASSERT(0, tm_radix_bytes(p) - before == need,
	                   "tmem: index %u took %llu radix bytes, %llu foreseen", index,
	                   (unsigned long long)(tm_radix_bytes(p) - before),
	                   (unsigned long long)need);
#endif
	if (!(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
		numem__tm_lru_add(t, c, h, pg);
	numem__tm_account(t, p, pg, 1);
}
