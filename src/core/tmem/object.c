/*
 * object.c - objects and their pages: the key (pool, 192-bit object id,
 * 32-bit index) -> stored page.
 *
 * Objects of a pool hang off a hash table of chains (the object id mixed
 * into a bucket index), 504 at first and grown 4x by pool.c when the
 * objects outnumber the chains 2:1.  The pages of an object sit in a
 * radix tree of 64-slot nodes (512 bytes, kmalloc-512) whose height grows
 * with the largest index: height h holds indexes below 2^(6h); height 0 is
 * a lone page held in the root itself, whatever its index (the page knows
 * it), so a one-page object costs no node (Linux's radix tree does this for
 * index 0 only).  A dense
 * object costs one node per 64 pages (8 bytes a page) plus the upper
 * levels.  Nodes are taken from the caller's preload (allocated before the
 * lock) and given back through the bag when they empty.
 *
 * All functions run with t->lock held.
 */
#include "tmem_internal.h"

static inline uint32_t bucket_of(const uint64_t oid[3], uint32_t n)
{
	uint64_t h = oid[0] * 0x9e3779b97f4a7c15ull ^ oid[1] * 0xc2b2ae3d27d4eb4full ^
	             oid[2] * 0x165667b19e3779f9ull;
	h ^= h >> 29;
	return tm_reduce(h * 0xbf58476d1ce4e5b9ull, n);
}

static inline uint64_t height_cap(unsigned h)
{
	return h >= TM_RADIX_HEIGHT ? ~0ull : 1ull << (TM_RADIX_SHIFT * h);
}

static bool node_empty(const struct tm_rnode *n)
{
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (n->slot[i])
			return false;
	return true;
}

static struct tm_rnode *take_node(struct tm_object *o, struct tm_preload *pl)
{
	o->pool->rnodes++;
	for (unsigned i = 0; i < TM_RADIX_PRELOAD; i++)
		if (pl->node[i]) {
			struct tm_rnode *n = pl->node[i];
			pl->node[i] = 0;
			n->slot[0] = 0; /* all else is zero (see bag_node) */
			NUMEM_DEBUG_ASSERT(0, node_empty(n),
			                   "tmem: recycled radix node %p not empty", (void *)n);
			return n;
		}
	return 0; /* the preload guarantees TM_RADIX_HEIGHT */
}

struct tm_object *numem__tm_obj_find(struct tm_pool *p, const uint64_t oid[3])
{
	struct tm_object *o = p->bucket[bucket_of(oid, p->nbuckets)];
	while (o && !tm_oid_eq(o->oid, oid))
		o = o->hnext;
	return o;
}

struct tm_object *numem__tm_obj_get(struct tm_pool *p, const uint64_t oid[3], struct tm_preload *pl)
{
	struct tm_object *o = numem__tm_obj_find(p, oid);
	if (o)
		return o;
	o = pl->obj;
	pl->obj = 0;
	memset(o, 0, sizeof(*o));
	memcpy(o->oid, oid, sizeof(o->oid));
	o->pool = p;
	uint32_t b = bucket_of(oid, p->nbuckets);
	o->hnext = p->bucket[b];
	p->bucket[b] = o;
	p->objects++;
	return o;
}

void numem__tm_obj_free(struct tm_object *o, struct tm_bag *bag)
{
	struct tm_pool *p = o->pool;
	struct tm_object **pp = &p->bucket[bucket_of(o->oid, p->nbuckets)];
	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	p->objects--;
	o->hnext = bag->objs;
	bag->objs = o;
}

struct tm_page *numem__tm_radix_lookup(const struct tm_object *o, uint32_t index)
{
	if (!o->height) { /* a lone page (any index) or nothing */
		struct tm_page *lone = o->root;
		return lone && lone->index == index ? lone : 0;
	}
	if (index >= height_cap(o->height))
		return 0;
	void *n = o->root;
	for (unsigned h = o->height; h > 0 && n; h--)
		n = ((struct tm_rnode *)n)->slot[(index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	return n;
}

/* Put pg at its index in a tree of height >= 1 that covers it, making the
 * nodes on its path that are missing. */
static void place(struct tm_object *o, struct tm_page *pg, struct tm_preload *pl)
{
	void **slot = &o->root;
	for (unsigned h = o->height; h > 0; h--) {
		if (!*slot)
			*slot = take_node(o, pl);
		slot = &((struct tm_rnode *)*slot)
		            ->slot[(pg->index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	}
	*slot = pg;
}

void numem__tm_radix_insert(struct tm_object *o, struct tm_page *pg, struct tm_preload *pl)
{
	uint32_t index = pg->index;
	o->pages++;
	if (!o->root) { /* the first page sits in the root, whatever its index */
		o->height = 0;
		o->root = pg;
		return;
	}
	if (!o->height) {
		/* a second page: a tree just tall enough for both (its two paths
		 * take at most 2 * height - 1 nodes: the preload's count) */
		struct tm_page *lone = o->root;
		uint32_t top = NUMEM_MAX(lone->index, index);
		unsigned h = 1;
		while (top >= height_cap(h))
			h++;
		o->root = 0;
		o->height = (uint8_t)h;
		place(o, lone, pl);
	}
	while (index >= height_cap(o->height)) {
		struct tm_rnode *n = take_node(o, pl);
		n->slot[0] = o->root;
		o->root = n;
		o->height++;
	}
	place(o, pg, pl);
}

/* A node into the bag: its slots are all zero but slot[0], the bag's
 * chain (the preload takes it back with only that slot to clear). */
static void bag_node(struct tm_object *o, struct tm_rnode *n, struct tm_bag *bag)
{
	o->pool->rnodes--;
	n->slot[0] = bag->nodes;
	bag->nodes = n;
}

void numem__tm_radix_remove(struct tm_object *o, uint32_t index, struct tm_bag *bag)
{
	struct tm_rnode *path[TM_RADIX_HEIGHT];
	void **slot = &o->root;
	unsigned depth = 0;
	for (unsigned h = o->height; h > 0; h--) {
		struct tm_rnode *n = *slot;
		path[depth++] = n;
		slot = &n->slot[(index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	}
	*slot = 0;
	if (!--o->pages) {
		/* the last page: every node on its path is empty once the slot
		 * leading down from it is cleared (bag_node's contract) */
		while (depth > 0) {
			depth--;
			uint32_t shift = TM_RADIX_SHIFT * (uint32_t)(o->height - 1 - depth);
			path[depth]->slot[(index >> shift) & 63] = 0;
			bag_node(o, path[depth], bag);
		}
		o->root = 0;
		o->height = 0;
		return;
	}
	/* Free the nodes that emptied, bottom up. */
	while (depth > 0 && node_empty(path[depth - 1])) {
		struct tm_rnode *n = path[--depth];
		if (depth == 0) {
			o->root = 0;
			o->height = 0;
		} else {
			uint32_t shift = TM_RADIX_SHIFT * (uint32_t)(o->height - depth);
			path[depth - 1]->slot[(index >> shift) & 63] = 0;
		}
		bag_node(o, n, bag);
	}
}

static void walk(void *n, unsigned h, void (*fn)(void *ctx, struct tm_page *pg), void *ctx)
{
	if (!h) {
		fn(ctx, n);
		return;
	}
	struct tm_rnode *r = n;
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (r->slot[i])
			walk(r->slot[i], h - 1, fn, ctx);
}

void numem__tm_radix_walk(const struct tm_object *o, void (*fn)(void *ctx, struct tm_page *pg),
                          void *ctx)
{
	if (o->root)
		walk(o->root, o->height, fn, ctx);
}

/* Everything of a page but its tree slot. */
static void page_release(struct numem_tmem *t, struct tm_page *pg, struct tm_bag *bag)
{
	struct tm_pool *p = pg->obj->pool;
	struct tm_client *c = t->client[pg->client];
	if (!(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
		numem__tm_lru_del(t, c, pg);
	numem__tm_account(t, p, pg, -1);
	if (pg->kind == TM_DEDUP) {
		numem__tm_dedup_put(t, p, (struct tm_dedup *)(uintptr_t)pg->loc, bag);
	} else {
		struct tm_loc w = numem__tm_page_loc(pg);
		numem__tm_store_free(t, &w, bag);
	}
	pg->obj = (struct tm_object *)bag->pages;
	bag->pages = pg;
}

void numem__tm_page_drop(struct numem_tmem *t, struct tm_page *pg, struct tm_bag *bag)
{
	struct tm_object *o = pg->obj;
	numem__tm_radix_remove(o, pg->index, bag);
	page_release(t, pg, bag);
	if (!o->pages)
		numem__tm_obj_free(o, bag);
}

struct drop_ctx {
	struct numem_tmem *t;
	struct tm_bag *bag;
};

static void drop_one(void *ctx, struct tm_page *pg)
{
	struct drop_ctx *d = ctx;
	page_release(d->t, pg, d->bag);
}

static void free_nodes(struct tm_object *o, void *n, unsigned h, struct tm_bag *bag)
{
	if (!h)
		return;
	struct tm_rnode *r = n;
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (r->slot[i]) {
			free_nodes(o, r->slot[i], h - 1, bag);
			r->slot[i] = 0;
		}
	bag_node(o, r, bag);
}

uint64_t numem__tm_obj_drop(struct numem_tmem *t, struct tm_object *o, struct tm_bag *bag)
{
	uint64_t n = o->pages;
	struct drop_ctx d = {t, bag};
	numem__tm_radix_walk(o, drop_one, &d);
	if (o->root)
		free_nodes(o, o->root, o->height, bag);
	o->root = 0;
	o->height = 0;
	o->pages = 0;
	numem__tm_obj_free(o, bag);
	return n;
}

void numem__tm_obj_rehash(struct tm_pool *p, struct tm_object **nb, uint32_t n)
{
	for (uint32_t i = 0; i < p->nbuckets; i++)
		for (struct tm_object *o = p->bucket[i], *next; o; o = next) {
			next = o->hnext;
			uint32_t b = bucket_of(o->oid, n);
			o->hnext = nb[b];
			nb[b] = o;
		}
	p->bucket = nb;
	p->nbuckets = n;
}

struct tm_page *numem__tm_page_link(struct numem_tmem *t, struct numem_cpu *cpu,
                                    struct tm_client *c, struct tm_pool *p, const uint64_t oid[3],
                                    uint32_t index, const struct tm_loc *w)
{
	struct tm_preload *pl = &t->preload[cpu->id];
	struct tm_page *pg = pl->page;
	pl->page = 0;
	*pg = (struct tm_page){.index = index,
	                       .tick = ++t->tick,
	                       .loc = w->loc,
	                       .len = w->len,
	                       .kind = w->kind,
	                       .codec = w->codec,
	                       .node = w->node,
	                       .client = c->id};
	pg->obj = numem__tm_obj_get(p, oid, pl);
	numem__tm_radix_insert(pg->obj, pg, pl);
	if (!(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
		numem__tm_lru_add(t, c, pg);
	numem__tm_account(t, p, pg, 1);
	return pg;
}
