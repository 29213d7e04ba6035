/*
 * op.c - the one entry point (numem_tmem_op) and the page operations.
 *
 * Every op struct is checked whole first (numem_tmem_op: command, fields a
 * command does not use are zero, ids in range), then the guest frame
 * (put, get) through the domain's p2m, holding the frame for the copy
 * (numem_domain_frame_access), then the state under t->lock.  Bad input
 * changes nothing.  A put that passed those checks but then fails (cap,
 * memory) has dropped the old copy at its key first: a failed put never
 * leaves older data readable.
 *
 * Put:   [no lock] preload metadata; [domain lock] map the frame, test for
 *        zero, compress into the CPU's scratch with the client's codec;
 *        [tmem lock] drop the old copy, make room (cap, max_pages), store
 *        (zero flag / dedup / chunks / raw page, NORECLAIM), link the page
 *        in the object's tree and the LRU, count it.
 * Get:   [domain lock] map the frame; [tmem lock] find, copy (or
 *        decompress) into the frame, drop it if the pool is private
 *        ephemeral (exclusive get).
 * Freed pages and metadata go back after the lock is dropped (the bag).
 */
#include "tmem_internal.h"

static int op_fail(struct numem_diag *diag, int status, const char *fmt, uint64_t a, uint64_t b)
{
	numem__fail(diag, status == NUMEM_TMEM_EFRAME ? NUMEM_E_OWNER : NUMEM_E_INVAL, 0, 0, fmt,
	            (unsigned long long)a, (unsigned long long)b);
	return status;
}

/* A page op's arguments, read once from the caller's op (or the typed
 * wrapper's): nothing is fetched twice from memory the caller may change. */
struct page_ctx {
	struct numem_tmem *t;
	struct numem_cpu *cpu;
	uint32_t caller;
	uint32_t pool_id; /* checked: below NUMEM_TMEM_MAX_POOLS */
	uint32_t index;
	uint64_t oid[3];
	uint64_t gfn;
	uint64_t out; /* FLUSH_OBJECT: pages flushed */
	struct numem_diag *diag;
	uint64_t grow; /* a put found the pool's object table too small: its serial */
};

/* Looks up the caller's client and pool under the lock. */
static inline __attribute__((always_inline)) int lookup(struct page_ctx *x, struct tm_client **c,
                                                        struct tm_pool **p)
{
	*c = numem__tm_client(x->t, x->caller);
	if (!*c)
		return op_fail(x->diag, NUMEM_TMEM_ENOCLIENT, "tmem: client %llu has no tmem state",
		               x->caller, 0);
	*p = (*c)->pool[x->pool_id];
	if (!*p)
		return op_fail(x->diag, NUMEM_TMEM_EEMPTY, "tmem: client %llu has no pool %llu",
		               x->caller, x->pool_id);
	return NUMEM_TMEM_HIT;
}

/* Store a non-zero page for a put: deduplicated in a dedup pool, else
 * compressed (clen bytes at comp) or raw.  false: no memory. */
static bool store_new(struct page_ctx *x, struct tm_pool *p, const void *src, const void *comp,
                      size_t clen, uint8_t codec, numem_nid_t home, struct tm_loc *w)
{
	struct numem_tmem *t = x->t;
	struct tm_loc s = {0};
	uint64_t h = 0;
	if (p->flags & NUMEM_TMEM_POOL_DEDUP) {
		h = numem__tm_hash(src);
		struct tm_dedup *dd = numem__tm_dedup_find(t, x->cpu, p, h, src);
		if (dd) {
			*w = (struct tm_loc){
			    .kind = TM_DEDUP, .loc = (uintptr_t)dd, .node = dd->where.node};
			return true;
		}
	}
	if (!(clen ? numem__tm_store_put(t, x->cpu, home, comp, clen, &s)
	           : numem__tm_store_put(t, x->cpu, home, src, NUMEM_PAGE_SIZE, &s)))
		return false;
	s.codec = clen ? codec : 0;
	if (p->flags & NUMEM_TMEM_POOL_DEDUP) {
		struct tm_dedup *dd = numem__tm_dedup_add(p, h, &s, &t->preload[x->cpu->id]);
		*w =
		    (struct tm_loc){.kind = TM_DEDUP, .loc = (uintptr_t)dd, .node = dd->where.node};
	} else {
		*w = s;
	}
	return true;
}

static int put_locked(struct page_ctx *x, const void *src, bool zero, const void *comp, size_t clen,
                      uint8_t codec, struct tm_bag *bag)
{
	struct numem_tmem *t = x->t;
	struct tm_client *c;
	struct tm_pool *p;
	int r = lookup(x, &c, &p);
	if (r < 0)
		return r;
	if (c->frozen)
		return op_fail(x->diag, NUMEM_TMEM_EFROZEN, "tmem PUT: client %llu is frozen",
		               x->caller, 0);
	bool pers = p->flags & NUMEM_TMEM_POOL_PERSISTENT;
	c->st.puts++;
	p->st.puts++;
	/* The old copy goes first, whatever happens next. */
	uint32_t hash = tm_oid_hash(x->oid), oh = 0, h = 0;
	void *o = numem__tm_obj_find(t, p, x->oid, hash, &oh);
	h = oh;
	struct tm_page *old = numem__tm_lookup(t, o, x->index, &h);
	if (old) {
		if (o == old || ((struct tm_object *)o)->pages == 1)
			o = 0; /* the drop frees it */
		numem__tm_key_drop(t, h, old, hash, bag);
	}
	/* The radix nodes a page of an object takes are charged to its pool:
	 * bounded per page it holds (a sparse index pattern is refused). */
	if (o && numem__tm_radix_over(t, p, o, x->index)) {
		c->st.puts_failed++;
		p->st.puts_failed++;
		if (pers)
			return op_fail(
			    x->diag, NUMEM_TMEM_EQUOTA,
			    "tmem PUT: index %llu would take pool %llu's radix nodes past "
			    "1 KiB per stored page",
			    x->index, x->pool_id);
		return NUMEM_TMEM_MISS;
	}
	/* Room: the client's cap (its own ephemeral pages make way), then the
	 * instance's limit (the client most above its weighted share).  An
	 * eviction may free the object o: found again for the link. */
	bool evicted = false;
	if (c->cap && c->st.pages >= c->cap) {
		numem__tm_evict(t, c, NUMEM_NID_NONE, c->st.pages - c->cap + 1, bag);
		evicted = true;
	}
	if (c->cap && c->st.pages >= c->cap) {
		c->st.puts_failed++;
		p->st.puts_failed++;
		if (pers)
			return op_fail(x->diag, NUMEM_TMEM_EQUOTA,
			               "tmem PUT: client %llu holds its cap of %llu pages",
			               x->caller, c->cap);
		return NUMEM_TMEM_MISS;
	}
	if (t->opts.max_pages && t->total_pages >= t->opts.max_pages) {
		struct tm_client *v = numem__tm_over_share(t);
		if (v)
			evicted |= numem__tm_evict(t, v, NUMEM_NID_NONE, 1, bag) != 0;
	}
	numem_nid_t home = c->node < tm_nr_nodes(t) ? c->node : x->cpu->mem_node;
	struct tm_loc w = {.kind = TM_ZERO, .node = home};
	bool stored = !(t->opts.max_pages && t->total_pages >= t->opts.max_pages);
	if (stored && !zero) {
		/* No heap page: the oldest ephemeral pages (this node's first)
		 * make way, their pages reused from the bag (a bounded number:
		 * compressed evictions may free no whole page). */
		struct tm_preload *pl = &t->preload[x->cpu->id];
		pl->reuse = bag;
		for (unsigned k = 0;
		     !(stored = store_new(x, p, src, comp, clen, codec, home, &w)) &&
		     k < TM_PUT_EVICT_MAX;
		     k++) {
			evicted = true;
			if (!numem__tm_evict(t, 0, home, 1, bag) &&
			    !numem__tm_evict(t, 0, NUMEM_NID_NONE, 1, bag))
				break;
		}
		pl->reuse = 0;
	}
	if (!stored) {
		c->st.puts_failed++;
		p->st.puts_failed++;
		if (pers)
			return op_fail(x->diag, NUMEM_TMEM_ENOMEM,
			               "tmem PUT: no memory for a persistent page of client %llu "
			               "(node %llu first)",
			               x->caller, home);
		return NUMEM_TMEM_MISS;
	}
	if (evicted)
		o = numem__tm_obj_find(t, p, x->oid, hash, &oh);
	numem__tm_page_link(t, x->cpu, c, p, x->pool_id, o, oh, x->oid, hash, x->index, &w);
	if (p->objects > 2ull * p->nbuckets && p->nbuckets < TM_OBJ_BUCKETS_MAX)
		x->grow = p->serial;
	c->st.puts_stored++;
	p->st.puts_stored++;
	return NUMEM_TMEM_HIT;
}

static int put_frame(void *ctx, numem_pfn_t pfn)
{
	struct page_ctx *x = ctx;
	struct numem_tmem *t = x->t;
	const uint8_t *src = tm_virt(t, pfn.v);
	if (!src)
		return op_fail(x->diag, NUMEM_TMEM_EFRAME, "tmem PUT: frame 0x%llx has no mapping",
		               pfn.v, 0);
	bool zero = numem__tm_page_zero(src);
	uint8_t codec = atomic_load_explicit(&t->codec_of[x->caller], memory_order_relaxed);
	uint8_t *comp = tm_scratch(t, x->cpu);
	/* codec 0 (off, the default): no call */
	size_t clen = zero || !codec ? 0 : numem__tm_compress(t, x->cpu, codec, src);
	struct tm_bag bag = tm_op_bag(t, x->cpu);
	tm_lock(t);
	int r = put_locked(x, src, zero, comp, clen, codec, &bag);
	tm_unlock(t);
	tm_bag_done(t, x->cpu, &bag);
	return r;
}

static int get_frame(void *ctx, numem_pfn_t pfn)
{
	struct page_ctx *x = ctx;
	struct numem_tmem *t = x->t;
	uint8_t *dst = tm_virt(t, pfn.v);
	if (!dst)
		return op_fail(x->diag, NUMEM_TMEM_EFRAME, "tmem GET: frame 0x%llx has no mapping",
		               pfn.v, 0);
	struct tm_bag bag = tm_op_bag(t, x->cpu);
	uint8_t *comp = 0;
	struct tm_loc cw = {0};
	tm_lock(t);
	struct tm_client *c;
	struct tm_pool *p;
	int r = lookup(x, &c, &p);
	if (r >= 0) {
		c->st.gets++;
		p->st.gets++;
		uint32_t h = 0, hash = tm_oid_hash(x->oid);
		void *o = numem__tm_obj_find(t, p, x->oid, hash, &h);
		struct tm_page *pg = numem__tm_lookup(t, o, x->index, &h);
		if (!pg) {
			c->st.misses++;
			p->st.misses++;
			r = NUMEM_TMEM_MISS;
		} else {
			struct tm_loc w = numem__tm_page_loc(pg);
			if (w.kind == TM_DEDUP)
				w = ((const struct tm_dedup *)(uintptr_t)w.loc)->where;
			if (w.kind == TM_CHUNK) {
				/* the compressed bytes to this CPU's scratch: the
				 * decompression runs after the lock is dropped */
				comp = tm_scratch(t, x->cpu) + NUMEM_PAGE_SIZE;
				memcpy(comp, numem__tm_store_chunk(t, &w), w.len);
				cw = w;
			} else if (w.kind == TM_RAW) {
				tm_copy_page(t, dst, tm_virt(t, w.loc));
			} else {
				numem__tm_store_read(t, x->cpu, &w, dst); /* zero */
			}
			c->st.hits++;
			p->st.hits++;
			r = NUMEM_TMEM_HIT;
			if (!(p->flags & (NUMEM_TMEM_POOL_PERSISTENT | NUMEM_TMEM_POOL_SHARED)))
				numem__tm_key_drop(t, h, pg, hash, &bag);
		}
	}
	tm_unlock(t);
	tm_bag_done(t, x->cpu, &bag);
	if (comp) {
		const struct numem_tmem_codec *cd = t->opts.codec[cw.codec];
		if (cd->decompress(cd->ctx, x->cpu->id, comp, cw.len, dst))
			r = op_fail(
			    x->diag, NUMEM_TMEM_ECORRUPT,
			    "tmem GET: the stored page at index %llu of client %llu does not "
			    "decompress",
			    x->index, x->caller);
	}
	return r;
}

/* The common case of a host frame, inline: pfn heads an allocated block of
 * the heap's users (numem_heap_block_of's answer for a head, read the way
 * numem_heap_holds reads it); anything else (a tail, not allocated, not
 * online) takes numem_heap_block_of, which decides. */
static inline bool host_frame_head(const struct numem_heap *h, uint64_t pfn)
{
	uintptr_t base = numem__online_base(h->online_map, h->ft, numem_pfn(pfn));
	if (!base)
		return false;
	const struct numem_page *pg = numem__online_page(base, numem_pfn(pfn));
	uint64_t f = __atomic_load_n(&pg->flags, __ATOMIC_RELAXED);
	const uint64_t mask = NUMEM_PG_STATE_MASK << NUMEM_PG_STATE_SHIFT |
	                      NUMEM_PG_OWNER_MASK << NUMEM_PG_OWNER_SHIFT;
	return (f & mask) == ((uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |
	                      (uint64_t)NUMEM_OWNER_HEAP << NUMEM_PG_OWNER_SHIFT);
}

/* Run fn on the caller's frame gfn: a guest's through its p2m (held by
 * the domain's lock), the host's as a pfn of a heap user's block. */
static inline __attribute__((always_inline)) int with_frame(struct page_ctx *x,
                                                            int (*fn)(void *ctx, numem_pfn_t pfn))
{
	struct numem_tmem *t = x->t;
	uint64_t gfn = x->gfn;
	if (x->caller == NUMEM_TMEM_HOST) {
		if (host_frame_head(t->heap, gfn))
			return fn(x, numem_pfn(gfn));
		struct numem_heap_block b;
		uint16_t owner = NUMEM_OWNER_TMEM;
		if (numem_heap_block_of(t->heap, numem_pfn(gfn), &b) == NUMEM_PS_ALLOCATED)
			owner = b.owner;
		if (owner != NUMEM_OWNER_HEAP)
			return op_fail(
			    x->diag, NUMEM_TMEM_EFRAME,
			    "tmem: host frame 0x%llx is not in a block of the heap's users "
			    "(owner %llu)",
			    gfn, owner);
		return fn(x, numem_pfn(gfn));
	}
	struct numem_domain *dom = t->doms ? numem_domain_find(t->doms, (uint16_t)x->caller) : 0;
	if (!dom)
		return op_fail(x->diag, NUMEM_TMEM_ENOCLIENT, "tmem: no domain %llu", x->caller, 0);
	int ret = NUMEM_TMEM_EFRAME;
	struct numem_diag tmp;
	enum numem_err e = numem_domain_frame_access(dom, gfn, fn, x, &ret, &tmp);
	numem_domain_put(dom);
	if (e)
		return op_fail(x->diag, NUMEM_TMEM_EFRAME,
		               "tmem: guest frame 0x%llx is not domain %llu's: rejected", gfn,
		               x->caller);
	return ret;
}

static int flush(struct page_ctx *x, bool object)
{
	struct numem_tmem *t = x->t;
	struct tm_bag bag = tm_op_bag(t, x->cpu);
	tm_lock(t);
	struct tm_client *c;
	struct tm_pool *p;
	int r = lookup(x, &c, &p);
	if (r >= 0) {
		uint32_t h = 0, hash = tm_oid_hash(x->oid);
		void *o = numem__tm_obj_find(t, p, x->oid, hash, &h);
		r = NUMEM_TMEM_MISS;
		if (object) {
			c->st.flush_objects++;
			p->st.flush_objects++;
			if (o) {
				x->out = numem__tm_obj_drop(t, p, h, o, &bag);
				r = NUMEM_TMEM_HIT;
			}
		} else {
			c->st.flushes++;
			p->st.flushes++;
			struct tm_page *pg = numem__tm_lookup(t, o, x->index, &h);
			if (pg) {
				numem__tm_key_drop(t, h, pg, hash, &bag);
				r = NUMEM_TMEM_HIT;
			}
		}
	}
	tm_unlock(t);
	tm_bag_done(t, x->cpu, &bag);
	return r;
}

/* Which fields each command uses (others must be zero). */
#define F_POOL  0x01u
#define F_OID   0x02u
#define F_INDEX 0x04u
#define F_FLAGS 0x08u
#define F_GFN   0x10u
#define F_UUID  0x20u
#define F_CTL   0x40u /* client, arg */

static uint32_t fields_of(uint32_t cmd)
{
	switch (cmd) {
	case NUMEM_TMEM_NEW_POOL:
		return F_FLAGS | F_UUID;
	case NUMEM_TMEM_DESTROY_POOL:
		return F_POOL;
	case NUMEM_TMEM_PUT_PAGE:
	case NUMEM_TMEM_GET_PAGE:
		return F_POOL | F_OID | F_INDEX | F_GFN;
	case NUMEM_TMEM_FLUSH_PAGE:
		return F_POOL | F_OID | F_INDEX;
	case NUMEM_TMEM_FLUSH_OBJECT:
		return F_POOL | F_OID;
	case NUMEM_TMEM_CTL_AUTH:
		return F_CTL | F_UUID;
	case NUMEM_TMEM_CTL_WEIGHT:
	case NUMEM_TMEM_CTL_CAP:
	case NUMEM_TMEM_CTL_COMPRESS:
	case NUMEM_TMEM_CTL_FREEZE:
	case NUMEM_TMEM_CTL_THAW:
	case NUMEM_TMEM_CTL_FLUSH:
	case NUMEM_TMEM_CTL_FREEABLE:
	case NUMEM_TMEM_CTL_DESTROY:
		return F_CTL;
	default:
		return 0;
	}
}

static int run_op(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                  struct numem_tmem_op *op, uint32_t f, struct numem_diag *diag);
static int check_op(const struct numem_tmem_op *op, uint32_t caller, struct numem_diag *diag);

int numem_tmem_op(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                  struct numem_tmem_op *op, struct numem_diag *diag)
{
	if (!t || !cpu || !op || cpu->heap != t->heap || cpu->id >= t->nr_cpus)
		return op_fail(diag, NUMEM_TMEM_EINVAL,
		               "numem_tmem_op: a tmem instance, an op and a CPU of its heap are "
		               "required (cpu %llu of %llu)",
		               cpu ? cpu->id : 0, t ? t->nr_cpus : 0);
	/* One fetch of the caller's op: the checks and the run see the same
	 * values whatever the caller's memory does meanwhile. */
	struct numem_tmem_op o = *op;
	int r = check_op(&o, caller, diag);
	if (r)
		return r;
	r = run_op(t, cpu, caller, &o, fields_of(o.cmd), diag);
	op->out = o.out;
	op->pool_id = o.pool_id; /* NEW_POOL's answer (else unchanged) */
	return r;
}

/* The checks of an op's fields and its caller (0: it may run). */
static int check_op(const struct numem_tmem_op *op, uint32_t caller, struct numem_diag *diag)
{
	uint32_t f = fields_of(op->cmd);
	if (!f)
		return op_fail(diag, NUMEM_TMEM_ENOSYS, "numem_tmem_op: unknown command %llu",
		               op->cmd, 0);
	const char *bad = 0, *want = "0";
	if (!(f & F_POOL) && op->pool_id)
		bad = "pool_id";
	else if ((f & F_POOL) && op->pool_id >= NUMEM_TMEM_MAX_POOLS)
		bad = "pool_id", want = "below 16";
	else if (!(f & F_OID) && (op->oid[0] | op->oid[1] | op->oid[2]))
		bad = "oid";
	else if (!(f & F_INDEX) && op->index)
		bad = "index";
	else if (!(f & F_FLAGS) && op->flags)
		bad = "flags";
	else if (!(f & F_GFN) && op->gfn)
		bad = "gfn";
	else if (!(f & F_UUID) && (op->uuid[0] | op->uuid[1]))
		bad = "uuid";
	else if (!(f & F_CTL) && (op->client | op->arg))
		bad = "client/arg";
	else if (op->pad || op->reserved)
		bad = "pad/reserved";
	if (bad) {
		numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		            "numem_tmem_op: command %u: field %s must be %s (caller %u)", op->cmd,
		            bad, want, caller);
		return NUMEM_TMEM_EINVAL;
	}
	if (caller >= NUMEM_TMEM_MAX_CLIENTS)
		return op_fail(
		    diag, NUMEM_TMEM_ENOCLIENT,
		    "numem_tmem_op: caller %llu is neither the host nor a domain id (max "
		    "%llu)",
		    caller, NUMEM_OWNER_DOMAIN_MAX);
	return 0;
}

/* A page op (client made, arguments checked). */
static inline __attribute__((always_inline)) int page_cmd(struct page_ctx *x, uint32_t cmd)
{
	struct numem_tmem *t = x->t;
	switch (cmd) {
	case NUMEM_TMEM_PUT_PAGE:
		if (!tm_preload_full(&t->preload[x->cpu->id]) &&
		    !numem__tm_preload(t, x->cpu, true)) {
			/* no metadata: the put fails, and the old copy goes */
			flush(x, false);
			return op_fail(x->diag, NUMEM_TMEM_ENOMEM,
			               "tmem PUT: no memory for metadata (client %llu, pool %llu)",
			               x->caller, x->pool_id);
		}
		{
			int r = with_frame(x, put_frame);
			if (x->grow) /* outside every lock: the table comes from the slab */
				numem__tm_pool_grow(t, x->cpu, x->caller, x->pool_id, x->grow);
			return r;
		}
	case NUMEM_TMEM_GET_PAGE:
		return with_frame(x, get_frame);
	case NUMEM_TMEM_FLUSH_PAGE:
		return flush(x, false);
	default: /* NUMEM_TMEM_FLUSH_OBJECT */
		return flush(x, true);
	}
}

/* An op that passed numem_tmem_op's checks (f: its fields_of). */
static int run_op(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                  struct numem_tmem_op *op, uint32_t f, struct numem_diag *diag)
{
	op->out = 0;
	if (f & F_CTL) {
		if (caller != NUMEM_TMEM_HOST)
			return op_fail(
			    diag, NUMEM_TMEM_EPERM,
			    "numem_tmem_op: control op %llu from domain %llu: only the host "
			    "(the control plane) may",
			    op->cmd, caller);
		return numem__tm_ctl(t, cpu, op, diag);
	}
	if (caller != NUMEM_TMEM_HOST) {
		int r = numem__tm_client_make(t, cpu, caller, diag);
		if (r < 0)
			return r;
	}
	if (op->cmd == NUMEM_TMEM_NEW_POOL)
		return numem__tm_new_pool(t, cpu, caller, op, diag);
	if (op->cmd == NUMEM_TMEM_DESTROY_POOL)
		return numem__tm_destroy_pool(t, cpu, caller, op, diag);
	struct page_ctx x = {.t = t,
	                     .cpu = cpu,
	                     .caller = caller,
	                     .pool_id = op->pool_id,
	                     .index = op->index,
	                     .oid = {op->oid[0], op->oid[1], op->oid[2]},
	                     .gfn = op->gfn,
	                     .diag = diag};
	int r = page_cmd(&x, op->cmd);
	op->out = x.out;
	return r;
}

/* ---- typed wrappers ---- */

static void set_oid(struct numem_tmem_op *op, const struct numem_tmem_oid *oid)
{
	if (oid) {
		op->oid[0] = oid->w[0];
		op->oid[1] = oid->w[1];
		op->oid[2] = oid->w[2];
	}
}

int numem_tmem_new_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                        uint32_t flags, const struct numem_tmem_uuid *uuid, uint32_t *pool_id,
                        struct numem_diag *diag)
{
	struct numem_tmem_op op = {.cmd = NUMEM_TMEM_NEW_POOL, .flags = flags};
	if (uuid) {
		op.uuid[0] = uuid->lo;
		op.uuid[1] = uuid->hi;
	}
	int r = numem_tmem_op(t, cpu, caller, &op, diag);
	if (r >= 0 && pool_id)
		*pool_id = op.pool_id;
	return r;
}

int numem_tmem_destroy_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                            uint32_t pool_id, struct numem_diag *diag)
{
	struct numem_tmem_op op = {.cmd = NUMEM_TMEM_DESTROY_POOL, .pool_id = pool_id};
	return numem_tmem_op(t, cpu, caller, &op, diag);
}

/* A page op (put, get, flush page) as the entry point runs it.  The op
 * built here has only the command's own fields set, so what numem_tmem_op
 * would check reduces to the arguments, the pool id's range and the
 * caller's: when those pass, the op runs straight away; anything else
 * goes through numem_tmem_op, which finds the error and words it. */
static inline __attribute__((always_inline)) int
page_op(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller, uint32_t cmd,
        uint32_t pool_id, const struct numem_tmem_oid *oid, uint32_t index, uint64_t gfn,
        struct numem_diag *diag)
{
	if (t && cpu && cpu->heap == t->heap && cpu->id < t->nr_cpus &&
	    pool_id < NUMEM_TMEM_MAX_POOLS && caller < NUMEM_TMEM_MAX_CLIENTS) {
		if (caller != NUMEM_TMEM_HOST) {
			int r = numem__tm_client_make(t, cpu, caller, diag);
			if (r < 0)
				return r;
		}
		struct page_ctx x = {.t = t,
		                     .cpu = cpu,
		                     .caller = caller,
		                     .pool_id = pool_id,
		                     .index = index,
		                     .gfn = gfn,
		                     .diag = diag};
		if (oid) {
			x.oid[0] = oid->w[0];
			x.oid[1] = oid->w[1];
			x.oid[2] = oid->w[2];
		}
		return page_cmd(&x, cmd);
	}
	struct numem_tmem_op op = {.cmd = cmd, .pool_id = pool_id, .index = index, .gfn = gfn};
	set_oid(&op, oid);
	return numem_tmem_op(t, cpu, caller, &op, diag);
}

int numem_tmem_put(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller, uint32_t pool_id,
                   const struct numem_tmem_oid *oid, uint32_t index, uint64_t gfn,
                   struct numem_diag *diag)
{
	return page_op(t, cpu, caller, NUMEM_TMEM_PUT_PAGE, pool_id, oid, index, gfn, diag);
}

int numem_tmem_get(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller, uint32_t pool_id,
                   const struct numem_tmem_oid *oid, uint32_t index, uint64_t gfn,
                   struct numem_diag *diag)
{
	return page_op(t, cpu, caller, NUMEM_TMEM_GET_PAGE, pool_id, oid, index, gfn, diag);
}

int numem_tmem_flush_page(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                          uint32_t pool_id, const struct numem_tmem_oid *oid, uint32_t index,
                          struct numem_diag *diag)
{
	return page_op(t, cpu, caller, NUMEM_TMEM_FLUSH_PAGE, pool_id, oid, index, 0, diag);
}

int numem_tmem_flush_object(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                            uint32_t pool_id, const struct numem_tmem_oid *oid, uint64_t *flushed,
                            struct numem_diag *diag)
{
	struct numem_tmem_op op = {.cmd = NUMEM_TMEM_FLUSH_OBJECT, .pool_id = pool_id};
	set_oid(&op, oid);
	int r = numem_tmem_op(t, cpu, caller, &op, diag);
	if (flushed)
		*flushed = op.out;
	return r;
}

int numem_tmem_ctl(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t cmd, uint32_t client,
                   uint64_t arg, uint64_t *out, struct numem_diag *diag)
{
	struct numem_tmem_op op = {.cmd = cmd, .client = client, .arg = arg};
	if (cmd == NUMEM_TMEM_CTL_AUTH || !(fields_of(cmd) & F_CTL))
		return op_fail(
		    diag, NUMEM_TMEM_EINVAL,
		    "numem_tmem_ctl: command %llu is not a control op taking an argument "
		    "(CTL_AUTH: numem_tmem_authorise)",
		    cmd, 0);
	int r = numem_tmem_op(t, cpu, NUMEM_TMEM_HOST, &op, diag);
	if (out)
		*out = op.out;
	return r;
}

int numem_tmem_authorise(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                         const struct numem_tmem_uuid *uuid, bool allow, struct numem_diag *diag)
{
	struct numem_tmem_op op = {.cmd = NUMEM_TMEM_CTL_AUTH,
	                           .client = client,
	                           .arg = allow,
	                           .uuid = {uuid ? uuid->lo : 0, uuid ? uuid->hi : 0}};
	return numem_tmem_op(t, cpu, NUMEM_TMEM_HOST, &op, diag);
}
