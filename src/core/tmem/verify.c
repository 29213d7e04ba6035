/*
 * verify.c - tmem's invariant walk, and the re-accounting of pages whose
 * frames moved to another node (relayout).
 *
 * Invariants (numem_tmem_verify, tmem quiescent):
 *   - every page found in an object's tree has that object as its object
 *     and is found again by its own index;
 *   - every object holds as many pages as its count says and is in its
 *     pool's hash chain for its id;
 *   - the pages of each pool add up to its statistics, those of all pools
 *     to the instance's total, and each client's LRU lists hold exactly its
 *     ephemeral pages, each in put-time order as far as the ticks tell;
 *   - every raw page's frame is an allocated TMEM block, every chunk's
 *     zpage has its header (magic, pfn) and the chunks marked used;
 *   - each CPU's spare page is an allocated TMEM page that no stored page
 *     and no other CPU uses (store.c).
 */
#include "tmem_internal.h"

struct vctx {
	struct numem_tmem *t;
	const struct tm_object *o;
	struct numem_diag *diag;
	enum numem_err err;
	uint64_t pages;
};

static void vfail(struct vctx *v, const struct tm_page *pg, const char *what)
{
	if (v->err)
		return;
	v->err = numem__fail(v->diag, NUMEM_E_CORRUPT, 0, 0,
	                     "numem_tmem_verify: object %llx:%llx:%llx index %u: %s",
	                     (unsigned long long)v->o->oid[0], (unsigned long long)v->o->oid[1],
	                     (unsigned long long)v->o->oid[2], pg ? pg->index : 0, what);
}

static void vpage(void *ctx, struct tm_page *pg)
{
	struct vctx *v = ctx;
	v->pages++;
	if (pg->obj != v->o)
		return vfail(v, pg, "page names another object");
	if (numem__tm_radix_lookup(v->o, pg->index) != pg)
		return vfail(v, pg, "page not found by its own index");
	if (!v->t->client[pg->client])
		return vfail(v, pg, "page of a client that does not exist");
	struct tm_loc w = numem__tm_page_loc(pg);
	if (pg->kind == TM_DEDUP) {
		const struct tm_dedup *d = (const struct tm_dedup *)(uintptr_t)pg->loc;
		if (!d->refs)
			return vfail(v, pg, "dedup copy with no references");
		w = d->where;
	}
	if (w.kind == TM_RAW) {
		struct numem_heap_block b;
		if (numem_heap_block_of(v->t->heap, numem_pfn(w.loc), &b) != NUMEM_PS_ALLOCATED ||
		    b.owner != NUMEM_OWNER_TMEM || b.head.v != w.loc)
			return vfail(v, pg, "raw page's frame is not a TMEM block");
		if (numem__tm_store_is_spare(v->t, w.loc))
			return vfail(v, pg, "raw page's frame is a CPU's spare page");
	} else if (w.kind == TM_CHUNK) {
		const struct tm_zpage *z = tm_virt(v->t, w.loc >> TM_CHUNK_SHIFT);
		unsigned at = (unsigned)(w.loc & (TM_CHUNKS - 1));
		unsigned n = (unsigned)((w.len + 63) >> TM_CHUNK_SHIFT);
		uint64_t bits = (n == 64 ? ~0ull : (1ull << n) - 1) << at;
		if (z->magic != TM_ZPAGE_MAGIC || z->pfn != w.loc >> TM_CHUNK_SHIFT ||
		    (z->used & bits) != bits || !n || at == 0)
			return vfail(v, pg, "compressed chunks not marked in their zpage");
		if (numem__tm_store_is_spare(v->t, w.loc >> TM_CHUNK_SHIFT))
			return vfail(v, pg, "compressed page's zpage is a CPU's spare page");
	}
}

static enum numem_err verify_pool(struct numem_tmem *t, struct tm_pool *p, uint64_t *total,
                                  struct numem_diag *diag)
{
	struct vctx v = {t, 0, diag, NUMEM_OK, 0};
	uint64_t objects = 0;
	for (uint32_t b = 0; b < p->nbuckets && !v.err; b++)
		for (const struct tm_object *o = p->bucket[b]; o && !v.err; o = o->hnext) {
			objects++;
			v.o = o;
			uint64_t before = v.pages;
			if (o->pool != p)
				vfail(&v, 0, "object in another pool's table");
			else if (o->hash != tm_oid_hash(o->oid) ||
			         tm_bucket(o->hash, p->nbuckets) != b)
				vfail(&v, 0,
				      "object on another id's hash chain (or its hash stale)");
			numem__tm_radix_walk(o, vpage, &v);
			if (!v.err && (v.pages - before != o->pages || !o->pages))
				vfail(&v, 0, "object's page count differs from its tree");
		}
	if (!v.err && (objects != p->objects || v.pages != p->st.pages))
		v.err = numem__fail(
		    diag, NUMEM_E_CORRUPT, 0, 0,
		    "numem_tmem_verify: pool of client %u: %llu objects / %llu pages "
		    "found, %llu / %llu counted",
		    p->creator, (unsigned long long)objects, (unsigned long long)v.pages,
		    (unsigned long long)p->objects, (unsigned long long)p->st.pages);
	*total += v.pages;
	return v.err;
}

enum numem_err numem_tmem_verify(struct numem_tmem *t, struct numem_diag *diag)
{
	enum numem_err e = NUMEM_OK;
	uint64_t total = 0;
	tm_lock(t);
	for (struct tm_client *c = t->clients_list; c && !e; c = c->next_active) {
		for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS && !e; i++)
			if (c->pool[i] && c->pool[i]->shared_slot < 0)
				e = verify_pool(t, c->pool[i], &total, diag);
		uint64_t lru = 0;
		for (uint32_t n = 0; n < NUMEM_MAX_NODES && !e; n++) {
			uint64_t k = 0;
			for (const struct tm_page *pg = c->lru[n].head; pg; pg = pg->lru_next, k++)
				if (pg->client != c->id || pg->node != n ||
				    (pg->obj->pool->flags & NUMEM_TMEM_POOL_PERSISTENT))
					e = numem__fail(
					    diag, NUMEM_E_CORRUPT, 0, 0,
					    "numem_tmem_verify: client %u node %u LRU holds "
					    "a page of client %u node %u (or persistent)",
					    c->id, n, pg->client, pg->node);
			if (!e && k != c->lru[n].n)
				e = numem__fail(
				    diag, NUMEM_E_CORRUPT, 0, 0,
				    "numem_tmem_verify: client %u node %u LRU: %llu pages, "
				    "counted %llu",
				    c->id, n, (unsigned long long)k,
				    (unsigned long long)c->lru[n].n);
			lru += k;
		}
		if (!e && lru != c->st.pages_ephemeral)
			e = numem__fail(
			    diag, NUMEM_E_CORRUPT, 0, 0,
			    "numem_tmem_verify: client %u: %llu pages on its LRUs, %llu "
			    "ephemeral counted",
			    c->id, (unsigned long long)lru,
			    (unsigned long long)c->st.pages_ephemeral);
	}
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_SHARED && !e; i++)
		if (t->shared[i])
			e = verify_pool(t, t->shared[i], &total, diag);
	if (!e)
		e = numem__tm_store_verify_spares(t, diag);
	if (!e && total != t->total_pages)
		e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                "numem_tmem_verify: %llu pages in the pools, %llu counted",
		                (unsigned long long)total, (unsigned long long)t->total_pages);
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

static void reaccount(void *ctx, struct tm_page *pg)
{
	struct rctx *r = ctx;
	struct numem_tmem *t = r->t;
	struct tm_loc *w = 0, own = numem__tm_page_loc(pg);
	w = pg->kind == TM_DEDUP ? &((struct tm_dedup *)(uintptr_t)pg->loc)->where : &own;
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
	if (pg->kind == TM_DEDUP)
		w->node = node;
	if (pg->node == node)
		return;
	struct tm_pool *p = pg->obj->pool;
	struct tm_client *c = t->client[pg->client];
	bool eph = !(p->flags & NUMEM_TMEM_POOL_PERSISTENT);
	if (eph)
		numem__tm_lru_del(c, pg);
	c->pages_on_node[pg->node]--;
	pg->node = node;
	c->pages_on_node[pg->node]++;
	if (eph)
		numem__tm_lru_add(c, pg);
}

/* Every stored page, once (tmem lock held). */
static void reaccount_all(struct rctx *r)
{
	struct numem_tmem *t = r->t;
	for (struct tm_client *c = t->clients_list; c; c = c->next_active)
		for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
			if (c->pool[i] && c->pool[i]->shared_slot < 0)
				for (uint32_t b = 0; b < c->pool[i]->nbuckets; b++)
					for (struct tm_object *o = c->pool[i]->bucket[b]; o;
					     o = o->hnext)
						numem__tm_radix_walk(o, reaccount, r);
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_SHARED; i++)
		if (t->shared[i])
			for (uint32_t b = 0; b < t->shared[i]->nbuckets; b++)
				for (struct tm_object *o = t->shared[i]->bucket[b]; o; o = o->hnext)
					numem__tm_radix_walk(o, reaccount, r);
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
