/*
 * verify.c - tmem's invariant walk, and the re-accounting of pages whose
 * frames moved to another node (relayout).
 *
 * Invariants (numem_tmem_verify, tmem quiescent):
 *   - every record a pool's table reaches is a lone page or an object of
 *     that pool, on the chain of its id's hash, and every handle (chains,
 *     tree leaves, LRU links, a page's object) names a record of a live
 *     arena chunk;
 *   - every page found in an object's tree names that object and is found
 *     again by its own index; every object holds as many pages as its
 *     count says (at least one);
 *   - every record is reached exactly once: by the tables and trees, the
 *     arena's free list or a CPU's preload (a mark bit in its tag, cleared
 *     at the end), and the counts of records, objects and free records are
 *     true;
 *   - the pages of each pool add up to its statistics, those of all pools
 *     to the instance's total, and each client's LRU lists hold exactly its
 *     ephemeral pages (linked both ways, the head's tick no later than now),
 *     and its per-node counts its pages on each node;
 *   - every raw page's frame is an allocated TMEM block, every chunk's
 *     zpage has its header (magic, pfn) and the chunks marked used;
 *   - the instance's heap_pages and pages_on_node count exactly the heap
 *     pages the store holds, by node: raw pages (a dedup copy's once) and
 *     zpages (each once: counted by the location that starts at its
 *     lowest used chunk), not the CPUs' spares;
 *   - each CPU's spare page is an allocated TMEM page that no stored page
 *     and no other CPU uses (store.c).
 */
#include "tmem_internal.h"

struct vctx {
	struct numem_tmem *t;
	const struct tm_pool *p;
	uint32_t oh; /* the record being walked */
	struct numem_diag *diag;
	enum numem_err err;
	uint64_t pages;
	uint64_t marked;
	uint64_t *held; /* [NUMEM_MAX_NODES]: heap pages the store holds, by node */
};

static void vfail(struct vctx *v, const struct tm_page *pg, const char *what)
{
	if (v->err)
		return;
	const uint64_t *oid = tm_oid_of(tm_rec(v->t, v->oh));
	v->err = numem__fail(v->diag, NUMEM_E_CORRUPT, 0, 0,
	                     "numem_tmem_verify: record %u (object %llx:%llx:%llx) index %u: %s",
	                     v->oh, (unsigned long long)oid[0], (unsigned long long)oid[1],
	                     (unsigned long long)oid[2], pg ? pg->index : 0, what);
}

/* Count the heap page of a checked location w (raw or chunks) once: a
 * zpage through the location at its lowest used data chunk. */
static void count_held(struct vctx *v, const struct tm_loc *w, numem_nid_t node)
{
	if (w->kind == TM_RAW) {
		v->held[node < NUMEM_MAX_NODES ? node : 0]++;
	} else if (w->kind == TM_CHUNK) {
		const struct tm_zpage *z = tm_virt(v->t, w->loc >> TM_CHUNK_SHIFT);
		if ((w->loc & (TM_CHUNKS - 1)) == (uint64_t)numem__ctz64(z->used & ~1ull))
			v->held[z->node < NUMEM_MAX_NODES ? z->node : 0]++;
	}
}

/* Mark record r as reached; false (and an error) if it already was. */
static bool vmark(struct vctx *v, struct tm_page *r, const struct tm_page *pg)
{
	if (r->tag & TM_TAG_MARK) {
		vfail(v, pg, "record reached twice");
		return false;
	}
	r->tag |= TM_TAG_MARK;
	v->marked++;
	return true;
}

static void vpage(void *ctx, uint32_t h, struct tm_page *pg)
{
	struct vctx *v = ctx;
	struct numem_tmem *t = v->t;
	v->pages++;
	if (v->err || !vmark(v, pg, pg))
		return;
	uint32_t at = v->oh;
	if (tm_type(pg) == TM_T_PAGE && pg->obj != v->oh)
		return vfail(v, pg, "page names another object");
	if (tm_type(pg) != (h == v->oh ? TM_T_LONE : TM_T_PAGE))
		return vfail(v, pg, "record of the wrong type in a tree or chain");
	if (numem__tm_lookup(t, tm_rec(t, v->oh), pg->index, &at) != pg || at != h)
		return vfail(v, pg, "page not found by its own index");
	if (!t->client[pg->client])
		return vfail(v, pg, "page of a client that does not exist");
	if (tm_type(pg) == TM_T_LONE && tm_page_pool(t, pg) != v->p)
		return vfail(v, pg, "lone page's client slot names another pool");
	if (pg->node >= NUMEM_MAX_NODES)
		return vfail(v, pg, "page's node out of range");
	bool eph = !(v->p->flags & NUMEM_TMEM_POOL_PERSISTENT);
	if ((pg->lru_next && !tm_rec_ok(t, pg->lru_next, 0) && !tm_rec_ok(t, pg->lru_next, 1)) ||
	    (pg->lru_prev && !tm_rec_ok(t, pg->lru_prev, 0) && !tm_rec_ok(t, pg->lru_prev, 1)) ||
	    (!eph && (pg->lru_next || pg->lru_prev)))
		return vfail(v, pg, "LRU link out of range (or on a persistent page)");
	struct tm_loc w = numem__tm_page_loc(pg);
	if (tm_kind(pg) == TM_DEDUP) {
		const struct tm_dedup *d = (const struct tm_dedup *)(uintptr_t)pg->loc;
		if (!d->refs)
			return vfail(v, pg, "dedup copy with no references");
		w = d->where;
	}
	if (w.kind == TM_RAW) {
		struct numem_heap_block b;
		if (numem_heap_block_of(t->heap, numem_pfn(w.loc), &b) != NUMEM_PS_ALLOCATED ||
		    b.owner != NUMEM_OWNER_TMEM || b.head.v != w.loc)
			return vfail(v, pg, "raw page's frame is not a TMEM block");
		if (numem__tm_store_is_spare(v->t, w.loc))
			return vfail(v, pg, "raw page's frame is a CPU's spare page");
	} else if (w.kind == TM_CHUNK) {
		const struct tm_zpage *z = tm_virt(t, w.loc >> TM_CHUNK_SHIFT);
		unsigned first = (unsigned)(w.loc & (TM_CHUNKS - 1));
		unsigned n = (unsigned)((w.len + 63) >> TM_CHUNK_SHIFT);
		uint64_t bits = (n == 64 ? ~0ull : (1ull << n) - 1) << first;
		if (z->magic != TM_ZPAGE_MAGIC || z->pfn != w.loc >> TM_CHUNK_SHIFT ||
		    (z->used & bits) != bits || !n || first == 0)
			return vfail(v, pg, "compressed chunks not marked in their zpage");
		if (numem__tm_store_is_spare(v->t, w.loc >> TM_CHUNK_SHIFT))
			return vfail(v, pg, "compressed page's zpage is a CPU's spare page");
	}
	if (tm_kind(pg) != TM_DEDUP) /* (a dedup copy: once, by verify_dedup) */
		count_held(v, &w, pg->node);
}

/* The dedup copies of p (each checked through a page that refers to it):
 * their heap pages, once each. */
static void verify_dedup(struct vctx *v, const struct tm_pool *p)
{
	for (uint32_t b = 0; p->dedup && b < TM_DEDUP_BUCKETS && !v->err; b++)
		for (const struct tm_dedup *dd = p->dedup[b]; dd; dd = dd->next) {
			if (dd->where.kind == TM_CHUNK &&
			    ((const struct tm_zpage *)tm_virt(v->t,
			                                      dd->where.loc >> TM_CHUNK_SHIFT))
			            ->magic != TM_ZPAGE_MAGIC)
				return vfail(v, 0, "dedup copy's zpage has no header");
			count_held(v, &dd->where, dd->where.node);
		}
}

/* The nodes of a tree: interior slots hold nodes, leaves live handles. */
static void vnodes(struct vctx *v, const void *n, unsigned h, uint64_t *nodes, uint64_t *leaves)
{
	if (v->err)
		return;
	if (h == 1) {
		const struct tm_rleaf *l = n;
		(*leaves)++;
		for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
			if (l->slot[i] && !tm_rec_ok(v->t, l->slot[i], 0))
				return vfail(v, 0, "radix leaf holds a handle out of range");
		return;
	}
	const struct tm_rnode *r = n;
	(*nodes)++;
	for (unsigned i = 0; i < TM_RADIX_SLOTS; i++)
		if (r->slot[i])
			vnodes(v, r->slot[i], h - 1, nodes, leaves);
}

static enum numem_err verify_pool(struct numem_tmem *t, struct tm_pool *p, uint64_t *total,
                                  uint64_t *marked, uint64_t *held, struct numem_diag *diag)
{
	struct vctx v = {t, p, 0, diag, NUMEM_OK, 0, 0, held};
	uint64_t objects = 0, nodes = 0, leaves = 0;
	for (uint32_t b = 0; b < p->nbuckets && !v.err; b++)
		for (uint32_t h = p->bucket[b]; h && !v.err; h = tm_pg(t, h)->hnext) {
			objects++;
			if (!tm_rec_ok(t, h, 1)) {
				v.err =
				    numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
				                "numem_tmem_verify: pool of client %u: chain %u "
				                "holds handle %u, out of range",
				                p->creator, b, h);
				break;
			}
			v.oh = h;
			struct tm_page *r = tm_pg(t, h);
			uint64_t before = v.pages;
			unsigned type = tm_type(r);
			if (type != TM_T_LONE && type != TM_T_OBJ) {
				vfail(&v, 0, "a chain holds a record that is no object");
				break;
			}
			if (tm_bucket(tm_oid_hash(tm_oid_of(r)), p->nbuckets) != b)
				vfail(&v, 0, "record on another id's hash chain");
			if (type == TM_T_LONE) {
				vpage(&v, h, r);
				continue;
			}
			struct tm_object *o = (struct tm_object *)r;
			if (!vmark(&v, r, 0))
				break;
			if (o->pool != p)
				vfail(&v, 0, "object in another pool's table");
			else if (!o->root || !o->height || o->height > TM_RADIX_HEIGHT)
				vfail(&v, 0, "object with no tree (or too tall a one)");
			if (v.err)
				break;
			vnodes(&v, o->root, o->height, &nodes, &leaves);
			if (!v.err)
				numem__tm_radix_walk(t, h, vpage, &v);
			if (!v.err && (v.pages - before != o->pages || !o->pages))
				vfail(&v, 0, "object's page count differs from its tree");
		}
	verify_dedup(&v, p);
	if (!v.err && (objects != p->objects || v.pages != p->st.pages || nodes != p->rnodes ||
	               leaves != p->rleaves))
		v.err = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                    "numem_tmem_verify: pool of client %u: %llu objects / %llu "
		                    "pages / %llu + %llu radix nodes found, %llu / %llu / %llu + "
		                    "%llu counted",
		                    p->creator, (unsigned long long)objects,
		                    (unsigned long long)v.pages, (unsigned long long)nodes,
		                    (unsigned long long)leaves, (unsigned long long)p->objects,
		                    (unsigned long long)p->st.pages, (unsigned long long)p->rnodes,
		                    (unsigned long long)p->rleaves);
	*total += v.pages;
	*marked += v.marked;
	return v.err;
}

/* Client c's LRU on node n: linked both ways, its pages, counted. */
static enum numem_err verify_lru(struct numem_tmem *t, struct tm_client *c, uint32_t n, uint64_t *k,
                                 struct numem_diag *diag)
{
	const struct tm_lru *l = &c->lru[n];
	uint32_t prev = 0;
	*k = 0;
	for (uint32_t h = l->head; h; prev = h, h = tm_pg(t, h)->lru_next, ++*k) {
		const struct tm_page *pg =
		    tm_rec_ok(t, h, 0) || tm_rec_ok(t, h, 1) ? tm_pg(t, h) : 0;
		if (!pg || *k >= t->total_pages || pg->lru_prev != prev ||
		    (tm_type(pg) != TM_T_LONE && tm_type(pg) != TM_T_PAGE) || pg->client != c->id ||
		    pg->node != n || (tm_page_pool(t, pg)->flags & NUMEM_TMEM_POOL_PERSISTENT))
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "numem_tmem_verify: client %u node %u LRU: record %u is "
			                   "out of range, not a page, mislinked, another client's "
			                   "or node's, or persistent",
			                   c->id, n, h);
	}
	if (prev != l->tail || *k != l->n || (l->head && l->head_tick > t->tick))
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "numem_tmem_verify: client %u node %u LRU: %llu pages (tail "
		                   "%u), counted %llu (tail %u), or its head tick is ahead",
		                   c->id, n, (unsigned long long)*k, prev, (unsigned long long)l->n,
		                   l->tail);
	return NUMEM_OK;
}

static void count_node(void *ctx, uint32_t h, struct tm_page *pg)
{
	(void)h;
	((uint64_t *)ctx)[pg->node]++;
}

/* Client c's pages on each node as its pages_on_node counts them: its
 * ephemeral pages are its LRUs' (lru[n]: the walked counts), its
 * persistent ones those of its own persistent pools (private: all
 * c's).  The relayout re-accounting moves them. */
static enum numem_err verify_on_node(struct numem_tmem *t, struct tm_client *c,
                                     const uint64_t lru[NUMEM_MAX_NODES], uint64_t *pers,
                                     struct numem_diag *diag)
{
	memset(pers, 0, NUMEM_MAX_NODES * sizeof(*pers));
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++) {
		const struct tm_pool *p = c->pool[i];
		if (!p || p->shared_slot >= 0 || !(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
			continue;
		for (uint32_t b = 0; b < p->nbuckets; b++)
			for (uint32_t h = p->bucket[b]; h; h = tm_pg(t, h)->hnext)
				numem__tm_radix_walk(t, h, count_node, pers);
	}
	for (uint32_t n = 0; n < NUMEM_MAX_NODES; n++)
		if (c->pages_on_node[n] != lru[n] + pers[n])
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "numem_tmem_verify: client %u node %u: %llu ephemeral "
			                   "and %llu persistent pages there, pages_on_node counts "
			                   "%llu",
			                   c->id, n, (unsigned long long)lru[n],
			                   (unsigned long long)pers[n],
			                   (unsigned long long)c->pages_on_node[n]);
	return NUMEM_OK;
}

/* The instance's heap-page counts against what the store holds (held,
 * by node). */
static enum numem_err verify_held(const struct numem_tmem *t, const uint64_t *held,
                                  struct numem_diag *diag)
{
	uint64_t sum = 0;
	for (uint32_t n = 0; n < NUMEM_MAX_NODES; n++) {
		sum += held[n];
		if (held[n] != t->pages_on_node[n])
			return numem__fail(
			    diag, NUMEM_E_CORRUPT, 0, 0,
			    "numem_tmem_verify: the instance's heap pages on node %u: "
			    "%llu hold stored pages, pages_on_node counts %llu",
			    n, (unsigned long long)held[n],
			    (unsigned long long)t->pages_on_node[n]);
	}
	if (sum != t->heap_pages)
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "numem_tmem_verify: the instance's heap pages: %llu hold stored "
		                   "pages, heap_pages counts %llu",
		                   (unsigned long long)sum, (unsigned long long)t->heap_pages);
	return NUMEM_OK;
}

enum numem_err numem_tmem_verify(struct numem_tmem *t, struct numem_diag *diag)
{
	uint64_t k[NUMEM_MAX_NODES], pers[NUMEM_MAX_NODES];
	enum numem_err e = NUMEM_OK;
	uint64_t total = 0, marked = 0;
	memset(pers, 0, sizeof(pers)); /* first the heap pages held, by node */
	tm_lock(t);
	for (struct tm_client *c = t->clients_list; c && !e; c = c->next_active) {
		for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS && !e; i++)
			if (c->pool[i] && c->pool[i]->shared_slot < 0)
				e = verify_pool(t, c->pool[i], &total, &marked, pers, diag);
	}
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_SHARED && !e; i++)
		if (t->shared[i])
			e = verify_pool(t, t->shared[i], &total, &marked, pers, diag);
	if (!e && total != t->total_pages)
		e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                "numem_tmem_verify: %llu pages in the pools, %llu counted",
		                (unsigned long long)total, (unsigned long long)t->total_pages);
	if (!e)
		e = verify_held(t, pers, diag);
	/* the LRUs after the pools: every handle on them was range-checked
	 * through a tree or chain, or is caught here */
	for (struct tm_client *c = t->clients_list; c && !e; c = c->next_active) {
		uint64_t lru = 0;
		for (uint32_t n = 0; n < NUMEM_MAX_NODES && !e; n++) {
			e = verify_lru(t, c, n, &k[n], diag);
			lru += k[n];
		}
		if (!e && lru != c->st.pages_ephemeral)
			e = numem__fail(
			    diag, NUMEM_E_CORRUPT, 0, 0,
			    "numem_tmem_verify: client %u: %llu pages on its LRUs, %llu "
			    "ephemeral counted",
			    c->id, (unsigned long long)lru,
			    (unsigned long long)c->st.pages_ephemeral);
		if (!e)
			e = verify_on_node(t, c, k, pers, diag);
	}
	if (!e)
		e = numem__tm_store_verify_spares(t, diag);
	e = numem__tm_arena_verify(t, marked, e, diag);
	tm_unlock(t);
	return e;
}

/* ---- relayout ---- */

/* What moved: the change list of a commit (ev), or [first, end) to `node`
 * (numem_tmem_relayout_reaccount). */
struct rctx {
	struct numem_tmem *t;
	const struct numem_relayout_event *ev;
	uint64_t first, end;
	numem_nid_t node;
};

/* The node pfn now belongs to, or NUMEM_NID_NONE when it did not move. */
static numem_nid_t moved_to(const struct rctx *r, uint64_t pfn)
{
	if (r->ev) {
		const struct numem_relayout_change *c =
		    numem_relayout_event_find(r->ev, numem_pfn(pfn));
		return c ? c->new_node : NUMEM_NID_NONE;
	}
	return pfn >= r->first && pfn < r->end ? r->node : NUMEM_NID_NONE;
}

static void move_zpage(struct numem_tmem *t, uint64_t pfn, numem_nid_t node)
{
	struct tm_zpage *z = tm_virt(t, pfn);
	if (z->node == node)
		return;
	bool listed = z->used != ~0ull;
	if (listed)
		numem__tm_zpage_unlist(t, z);
	t->pages_on_node[z->node]--;
	t->pages_on_node[node]++;
	z->node = node;
	if (listed)
		numem__tm_zpage_list(t, z);
}

static void reaccount(void *ctx, uint32_t h, struct tm_page *pg)
{
	struct rctx *r = ctx;
	struct numem_tmem *t = r->t;
	struct tm_loc *w = 0, own = numem__tm_page_loc(pg);
	w = tm_kind(pg) == TM_DEDUP ? &((struct tm_dedup *)(uintptr_t)pg->loc)->where : &own;
	if (w->kind != TM_RAW && w->kind != TM_CHUNK)
		return;
	uint64_t pfn = w->kind == TM_RAW ? w->loc : w->loc >> TM_CHUNK_SHIFT;
	numem_nid_t node = moved_to(r, pfn);
	if (node == NUMEM_NID_NONE)
		return;
	if (w->kind == TM_CHUNK) {
		move_zpage(t, pfn, node);
	} else if (w->node != node) {
		t->pages_on_node[w->node]--;
		t->pages_on_node[node]++;
	}
	if (tm_kind(pg) == TM_DEDUP)
		w->node = node;
	if (pg->node == node)
		return;
	struct tm_pool *p = tm_page_pool(t, pg);
	struct tm_client *c = t->client[pg->client];
	bool eph = !(p->flags & NUMEM_TMEM_POOL_PERSISTENT);
	if (eph)
		numem__tm_lru_del(t, c, pg);
	c->pages_on_node[pg->node]--;
	pg->node = (uint8_t)node;
	c->pages_on_node[pg->node]++;
	if (eph)
		numem__tm_lru_add(t, c, h, pg);
}

static void reaccount_pool(struct numem_tmem *t, struct tm_pool *p, struct rctx *r)
{
	for (uint32_t b = 0; b < p->nbuckets; b++)
		for (uint32_t h = p->bucket[b]; h; h = tm_pg(t, h)->hnext)
			numem__tm_radix_walk(t, h, reaccount, r);
}

/* Every stored page, once (tmem lock held). */
static void reaccount_all(struct rctx *r)
{
	struct numem_tmem *t = r->t;
	for (struct tm_client *c = t->clients_list; c; c = c->next_active)
		for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
			if (c->pool[i] && c->pool[i]->shared_slot < 0)
				reaccount_pool(t, c->pool[i], r);
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_SHARED; i++)
		if (t->shared[i])
			reaccount_pool(t, t->shared[i], r);
}

void numem_tmem_relayout_reaccount(struct numem_tmem *t, numem_pfn_t first, uint64_t nr,
                                   numem_nid_t node)
{
	if (node >= tm_nr_nodes(t) || !nr)
		return;
	struct rctx r = {t, 0, first.v, first.v + nr, node};
	if (r.end < r.first)
		r.end = ~0ull;
	tm_lock(t);
	reaccount_all(&r);
	tm_unlock(t);
}

/* The notifier: after a commit, one walk over the stored pages, each
 * looked up in the change list (binary search).  Runs under the commit
 * mutex (heap.h: commit mutex -> tmem lock); frees nothing. */
static void relayout_notify(void *ctx, struct numem_heap *heap,
                            const struct numem_relayout_event *ev)
{
	(void)heap;
	struct numem_tmem *t = ctx;
	if (ev->phase != NUMEM_RELAYOUT_AFTER || !ev->nr_changes)
		return;
	struct rctx r = {t, ev, 0, 0, NUMEM_NID_NONE};
	tm_lock(t);
	/* From here on new pages count on the layout's node (tm_layout_node);
	 * the walk fixes those taken before. */
	__atomic_store_n(&t->relaid, true, __ATOMIC_RELEASE);
	reaccount_all(&r);
	tm_unlock(t);
}

bool numem__tm_relayout_subscribe(struct numem_tmem *t)
{
	t->relayout = (struct numem_relayout_notifier){.call = relayout_notify, .ctx = t};
	numem_relayout_register(t->heap, &t->relayout);
	return t->relayout.linked;
}

void numem__tm_relayout_unsubscribe(struct numem_tmem *t)
{
	numem_relayout_unregister(t->heap, &t->relayout);
}
