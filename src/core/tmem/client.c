/*
 * client.c - a tmem instance, its clients and the control plane.
 *
 * A client per domain (id = domain id) and the host client (id 0, the
 * control plane).  Guests' clients are made on first use (an op of the
 * domain, or a control op naming it) and destroyed with their domain
 * through the domain destroy hook registered here, or by CTL_DESTROY.
 * The clients table (one pointer per possible id) and the per-CPU areas
 * (preload, two scratch pages) come from the platform at create; clients,
 * pools, tables and tree nodes from the slab, the records of pages and
 * objects from the arena (arena.c, chunks from the slab).
 *
 * Accounting: every stored page counts once in its pool's and its putting
 * client's statistics (numem__tm_account); a deduplicated copy's bytes
 * count in its pool only.  The instance's heap pages are counted by the
 * store where it takes and gives them.
 */
#include "tmem_internal.h"

const char *numem_tmem_status_name(int status)
{
	static const char *const neg[] = {"einval",   "enosys",    "eempty", "efrozen", "eperm",
	                                  "eframe",   "enoclient", "elimit", "equota",  "enomem",
	                                  "enospace", "ecorrupt",  "ebusy"};
	if (status == NUMEM_TMEM_HIT)
		return "hit";
	if (status == NUMEM_TMEM_MISS)
		return "miss";
	if (status < 0 && (size_t)-status <= NUMEM_ARRAY_SIZE(neg))
		return neg[-status - 1];
	return "unknown";
}

void numem__tm_bag_release(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_bag *bag)
{
	if (tm_bag_empty(bag)) /* a page op's usual case: its preload took all */
		return;
	struct tm_preload *spare = &t->preload[cpu->id];
	while (bag->pfns != ~0ull) {
		uint64_t pfn = bag->pfns;
		bag->pfns = *(uint64_t *)tm_virt(t, pfn);
		if (!spare->has_pfn && !bag->no_spare) {
			spare->has_pfn = true;
			spare->pfn = pfn;
			spare->pfn_node = tm_layout_node(
			    t, pfn,
			    numem_page_node(numem_pfn_to_page(t->heap->ft, numem_pfn(pfn))));
			continue;
		}
		enum numem_err e = numem_free_owned(cpu, numem_pfn(pfn), 0, NUMEM_OWNER_TMEM, 0);
		NUMEM_ASSERT(t->plat, e == NUMEM_OK, "tmem: the heap refused pfn 0x%llx: %d",
		             (unsigned long long)pfn, (int)e);
	}
	/* Radix nodes and leaves go back to the slab (a page op's bag gave
	 * this CPU's preload what it needs first; records went to the
	 * preload or the arena's free list under the lock). */
	for (void *r = bag->nodes, *n; r; r = n) {
		n = *(void **)r;
		numem_kfree(t->slab, cpu, r, 0);
	}
	for (struct tm_dedup *d = bag->dds, *n; d; d = n) {
		n = d->next;
		numem_kfree(t->slab, cpu, d, 0);
	}
	for (void *m = bag->misc, *n; m; m = n) {
		n = *(void **)m;
		numem_kfree(t->slab, cpu, m, 0);
	}
	*bag = (struct tm_bag){.pfns = ~0ull};
}

/*
 * Fill one preload slot.  The allocation may reclaim, and tmem's own
 * shrinker, running on this CPU inside it, may refill the very slot from
 * what it evicted: then the new object goes back instead of overwriting
 * (and leaking) the recycled one.
 */
#define PRELOAD_SLOT(t, cpu, slot)                                                                 \
	do {                                                                                       \
		if (!(slot)) {                                                                     \
			__typeof__(slot) p_ = numem_kmalloc((t)->slab, (cpu), sizeof(*(slot)), 0); \
			if (!p_)                                                                   \
				return false;                                                      \
			if (slot)                                                                  \
				numem_kfree((t)->slab, (cpu), p_, 0);                              \
			else                                                                       \
				(slot) = p_;                                                       \
		}                                                                                  \
	} while (0)

/* Fill a preload's stack of radix nodes (or leaves) of `size` bytes. */
static bool fill_nodes(struct numem_tmem *t, struct numem_cpu *cpu, void **stack, unsigned *nr,
                       unsigned want, size_t size)
{
	while (*nr < want) {
		void *n = numem_kmalloc(t->slab, cpu, size, 0);
		if (!n)
			return false;
		/* (a recycled node is all zero but its first word) */
		memset(n, 0, size);
		/* the allocation's reclaim may have refilled the stack */
		if (*nr < want)
			stack[(*nr)++] = n;
		else
			numem_kfree(t->slab, cpu, n, 0);
	}
	return true;
}

bool numem__tm_preload(struct numem_tmem *t, struct numem_cpu *cpu, bool dedup)
{
	struct tm_preload *pl = &t->preload[cpu->id];
	if (pl->nr_rec[0] >= tm_preload_want(0) && pl->nr_rec[1] >= tm_preload_want(1) &&
	    pl->nr_node == TM_RADIX_PRELOAD && pl->nr_leaf == TM_RLEAF_PRELOAD &&
	    (!dedup || pl->dd))
		return true; /* full: what a put-get cycle gave back */
	if (!fill_nodes(t, cpu, pl->leaf, &pl->nr_leaf, TM_RLEAF_PRELOAD,
	                sizeof(struct tm_rleaf)) ||
	    !fill_nodes(t, cpu, pl->node, &pl->nr_node, TM_RADIX_PRELOAD, sizeof(struct tm_rnode)))
		return false;
	if (dedup)
		PRELOAD_SLOT(t, cpu, pl->dd);
	/* records last: the allocations above may have run the shrinker,
	 * which takes nothing from a preload (its bags have none) */
	return (pl->nr_rec[0] >= tm_preload_want(0) && pl->nr_rec[1] >= tm_preload_want(1)) ||
	       numem__tm_arena_fill(t, cpu);
}

static void preload_release(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_preload *pl)
{
	for (unsigned i = 0; i < pl->nr_node; i++)
		numem_kfree(t->slab, cpu, pl->node[i], 0);
	for (unsigned i = 0; i < pl->nr_leaf; i++)
		numem_kfree(t->slab, cpu, pl->leaf[i], 0);
	if (pl->dd)
		numem_kfree(t->slab, cpu, pl->dd, 0);
	if (pl->has_pfn)
		numem_free_owned(cpu, numem_pfn(pl->pfn), 0, NUMEM_OWNER_TMEM, 0);
	memset(pl, 0, sizeof(*pl));
}

static void client_init(struct numem_tmem *t, struct tm_client *c, uint16_t id, numem_nid_t node)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->weight = NUMEM_TMEM_WEIGHT_DEFAULT;
	c->cap = t->opts.default_cap;
	c->codec = (uint8_t)t->opts.default_codec;
	c->node = node;
}

static void client_install(struct numem_tmem *t, struct tm_client *c)
{
	__atomic_store_n(&t->client[c->id], c, __ATOMIC_RELEASE);
	atomic_store_explicit(&t->codec_of[c->id], c->codec, memory_order_relaxed);
	c->next_active = t->clients_list;
	t->clients_list = c;
	t->nr_clients++;
}

/*
 * The client of `id`, made if it is a live domain's and has none yet (no
 * lock held on entry or return).  Returns a status; *out is only a hint
 * (the caller looks the client up again under the lock).
 */
int numem__tm_client_make(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t id,
                          struct numem_diag *diag)
{
	if (id >= NUMEM_TMEM_MAX_CLIENTS)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "tmem: client %u is not a domain id (1..%u) nor the host (0)",
		                   id, NUMEM_OWNER_DOMAIN_MAX),
		       NUMEM_TMEM_ENOCLIENT;
	/* A hint read without the lock (the op looks again under it): a
	 * client that exists needs neither the lock nor the domain here. */
	if (__atomic_load_n(&t->client[id], __ATOMIC_ACQUIRE))
		return NUMEM_TMEM_HIT;
	struct numem_domain *dom = t->doms ? numem_domain_find(t->doms, (uint16_t)id) : 0;
	if (!dom)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "tmem: no domain %u", id),
		       NUMEM_TMEM_ENOCLIENT;
	/* The reference is held until the client is installed: a destroy of
	 * the domain meanwhile is refused (NUMEM_E_BUSY), so its hook cannot
	 * run before the install and leave a client behind for a dead id. */
	numem_nid_t node = dom->vcpu[0].node;
	struct tm_client *c = numem_kmalloc(t->slab, cpu, sizeof(*c), diag);
	if (!c) {
		numem_domain_put(dom);
		return NUMEM_TMEM_ENOMEM;
	}
	client_init(t, c, (uint16_t)id, node);
	tm_lock(t);
	if (!t->client[id]) {
		client_install(t, c);
		c = 0;
	}
	tm_unlock(t);
	numem_domain_put(dom);
	if (c)
		numem_kfree(t->slab, cpu, c, 0);
	return NUMEM_TMEM_HIT;
}

void numem__tm_client_destroy_locked(struct numem_tmem *t, struct tm_client *c, struct tm_bag *bag)
{
	/* Its pages in shared pools others still hold go first (ephemeral:
	 * dropping them is allowed); then its pools. */
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
		if (c->pool[i])
			numem__tm_pool_leave_locked(t, c, i, bag);
	/* keep its op counters in the instance's totals */
	t->st.puts += c->st.puts;
	t->st.puts_stored += c->st.puts_stored;
	t->st.puts_failed += c->st.puts_failed;
	t->st.gets += c->st.gets;
	t->st.hits += c->st.hits;
	t->st.misses += c->st.misses;
	t->st.flushes += c->st.flushes;
	t->st.flush_objects += c->st.flush_objects;
	t->st.evictions += c->st.evictions;
	struct tm_client **pp = &t->clients_list;
	while (*pp != c)
		pp = &(*pp)->next_active;
	*pp = c->next_active;
	__atomic_store_n(&t->client[c->id], (struct tm_client *)0, __ATOMIC_RELEASE);
	t->nr_clients--;
	*(void **)c = bag->misc;
	bag->misc = c;
	bag->used = true;
}

int numem_tmem_client_destroy(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                              struct numem_diag *diag)
{
	if (client == NUMEM_TMEM_HOST)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "tmem: the host client is the control plane: it goes only with "
		                   "numem_tmem_release"),
		       NUMEM_TMEM_EPERM;
	struct tm_bag bag = {.pfns = ~0ull};
	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, client);
	if (c)
		numem__tm_client_destroy_locked(t, c, &bag);
	tm_unlock(t);
	numem__tm_bag_release(t, cpu, &bag);
	if (!c)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "tmem: client %u has no tmem state",
		                   client),
		       NUMEM_TMEM_ENOCLIENT;
	return NUMEM_TMEM_HIT;
}

/* The heap's shrinker (a static function: its address needs no GOT entry
 * in the freestanding core). */
static uint64_t shrink_scan(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	return numem__tm_shrink_scan(ctx, cpu, node, pages);
}

static void domain_destroyed(void *ctx, struct numem_cpu *cpu, uint16_t id)
{
	numem_tmem_client_destroy(ctx, cpu, id, 0);
}

enum numem_err numem_tmem_create(struct numem_heap *heap, struct numem_slab *slab,
                                 struct numem_domains *doms, const struct numem_tmem_opts *opts,
                                 struct numem_tmem **out, struct numem_diag *diag)
{
	const char *fn = "numem_tmem_create";
	*out = 0;
	if (!heap || !slab || slab->heap != heap || (doms && doms->heap != heap))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "%s: a heap, its slab (and its domains) are required", fn);
	if (!heap->plat->phys_to_virt)
		return numem__fail(
		    diag, NUMEM_E_UNSUPPORTED, 0, 0,
		    "%s: the platform has no phys_to_virt: tmem copies page contents", fn);
	struct numem_tmem_opts o = opts ? *opts : (struct numem_tmem_opts){0};
	if ((unsigned)o.default_codec >= NUMEM_TMEM_NR_CODECS ||
	    (o.default_codec && !o.codec[o.default_codec]))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "%s: default codec %u is not one of the codecs given", fn,
		                   (unsigned)o.default_codec);
	for (unsigned i = 1; i < NUMEM_TMEM_NR_CODECS; i++)
		if (o.codec[i] && (!o.codec[i]->compress || !o.codec[i]->decompress))
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "%s: codec %u lacks compress or decompress", fn, i);
	size_t head = numem__align_up(sizeof(struct numem_tmem), 64);
	size_t clients = numem__align_up(NUMEM_TMEM_MAX_CLIENTS * sizeof(struct tm_client *), 64);
	size_t pre, scr, total;
	if (!numem__mul_ok(heap->nr_cpus, sizeof(struct tm_preload), &pre) ||
	    !numem__mul_ok(heap->nr_cpus, 2 * NUMEM_PAGE_SIZE, &scr) ||
	    !numem__add_ok(head + clients, numem__align_up(pre, 64), &total) ||
	    !numem__add_ok(total, scr, &total))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "%s: %u CPUs: metadata size overflows", fn, heap->nr_cpus);
	uint8_t *m = numem__meta_alloc(heap->plat, total, NUMEM_NID_NONE);
	if (!m)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "%s: the platform gave no %zu bytes of metadata", fn, total);
	struct numem_tmem *t = (struct numem_tmem *)m;
	memset(t, 0, sizeof(*t));
	t->heap = heap;
	t->slab = slab;
	t->doms = doms;
	t->plat = heap->plat;
	t->opts = o;
	t->client = (struct tm_client **)(m + head);
	t->preload = (struct tm_preload *)(m + head + clients);
	t->scratch = m + head + clients + numem__align_up(pre, 64);
	t->nr_cpus = heap->nr_cpus;
	for (uint32_t n = 0; n < NUMEM_MAX_NODES; n++)
		t->arena.partial[n][0] = t->arena.partial[n][1] = TM_CHUNK_NONE;
	t->meta = m;
	t->meta_bytes = total;
	atomic_init(&t->lock, 0);
	if (!numem__tm_relayout_subscribe(t)) {
		numem__meta_free(heap->plat, m, total);
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "%s: no metadata for the heap's relayout state (tmem "
		                   "subscribes to relayouts)",
		                   fn);
	}
	struct numem_cpu *cpu0 = &heap->cpu[0];
	struct tm_client *host = numem_kmalloc(slab, cpu0, sizeof(*host), diag);
	if (!host) {
		numem__tm_relayout_unsubscribe(t);
		numem__meta_free(heap->plat, m, total);
		return NUMEM_E_NOMEM;
	}
	client_init(t, host, NUMEM_TMEM_HOST, NUMEM_NID_NONE);
	client_install(t, host);
	t->shrinker.scan = shrink_scan;
	t->shrinker.ctx = t;
	numem_heap_register_shrinker(heap, &t->shrinker);
	if (doms) {
		t->hook.destroy = domain_destroyed;
		t->hook.ctx = t;
		numem_domains_add_hook(doms, &t->hook);
	}
	*out = t;
	return NUMEM_OK;
}

void numem_tmem_release(struct numem_tmem *t, struct numem_cpu *cpu)
{
	if (!t)
		return;
	if (t->doms)
		numem_domains_remove_hook(t->doms, &t->hook);
	numem__tm_relayout_unsubscribe(t); /* waits for a commit in progress */
	numem_heap_unregister_shrinker(t->heap, &t->shrinker);
	while (t->clients_list) {
		struct tm_bag bag = {.pfns = ~0ull};
		tm_lock(t);
		numem__tm_client_destroy_locked(t, t->clients_list, &bag);
		tm_unlock(t);
		numem__tm_bag_release(t, cpu, &bag);
	}
	for (uint32_t i = 0; i < t->nr_cpus; i++)
		preload_release(t, cpu, &t->preload[i]);
	numem__tm_arena_release(t, cpu); /* (the preloads' records were in it) */
	numem__meta_free(t->plat, t->meta, t->meta_bytes);
}

/* ---- control plane ---- */

static int ctl_fail(struct numem_diag *diag, int status, const char *fmt, uint64_t a, uint64_t b)
{
	numem__fail(diag, NUMEM_E_INVAL, 0, 0, fmt, (unsigned long long)a, (unsigned long long)b);
	return status;
}

static int ctl_fail1(struct numem_diag *diag, int status, const char *fmt, uint64_t a)
{
	numem__fail(diag, NUMEM_E_INVAL, 0, 0, fmt, (unsigned long long)a);
	return status;
}

uint64_t numem__tm_freeable(struct numem_tmem *t, struct tm_client *only)
{
	uint64_t n = 0;
	for (struct tm_client *c = only ? only : t->clients_list; c; c = only ? 0 : c->next_active)
		n += c->st.pages_ephemeral;
	return n;
}

int numem__tm_ctl(struct numem_tmem *t, struct numem_cpu *cpu, struct numem_tmem_op *op,
                  struct numem_diag *diag)
{
	uint32_t cmd = op->cmd;
	bool all = op->client == NUMEM_TMEM_ALL_CLIENTS;
	if (all && cmd != NUMEM_TMEM_CTL_FLUSH && cmd != NUMEM_TMEM_CTL_FREEABLE)
		return ctl_fail1(diag, NUMEM_TMEM_EINVAL,
		                 "tmem control op %llu: client ~0 (all) only for CTL_FLUSH and "
		                 "CTL_FREEABLE",
		                 cmd);
	/* range checks of the argument, before anything changes */
	if (cmd == NUMEM_TMEM_CTL_WEIGHT && (op->arg < 1 || op->arg > 10000))
		return ctl_fail(diag, NUMEM_TMEM_EINVAL,
		                "tmem CTL_WEIGHT: weight %llu outside 1..%llu", op->arg, 10000);
	if (cmd == NUMEM_TMEM_CTL_COMPRESS &&
	    (op->arg >= NUMEM_TMEM_NR_CODECS || (op->arg && !t->opts.codec[op->arg])))
		return ctl_fail(
		    diag, NUMEM_TMEM_EINVAL,
		    "tmem CTL_COMPRESS: codec %llu is not available (codecs 0..%llu given "
		    "at create)",
		    op->arg, NUMEM_TMEM_NR_CODECS - 1);
	if (cmd == NUMEM_TMEM_CTL_AUTH && op->arg > 1)
		return ctl_fail1(diag, NUMEM_TMEM_EINVAL, "tmem CTL_AUTH: arg %llu is not 0 or 1",
		                 op->arg);
	if (cmd != NUMEM_TMEM_CTL_AUTH && (op->uuid[0] || op->uuid[1]))
		return ctl_fail1(diag, NUMEM_TMEM_EINVAL, "tmem control op %llu: uuid must be 0",
		                 cmd);
	if (!all) {
		if (cmd == NUMEM_TMEM_CTL_DESTROY)
			return numem_tmem_client_destroy(t, cpu, op->client, diag);
		int r = numem__tm_client_make(t, cpu, op->client, diag);
		if (r < 0)
			return r;
	}
	struct tm_bag bag = {.pfns = ~0ull};
	int ret = NUMEM_TMEM_HIT;
	tm_lock(t);
	struct tm_client *c = all ? 0 : numem__tm_client(t, op->client);
	if (!all && !c) {
		tm_unlock(t);
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "tmem: client %u went away",
		                   op->client),
		       NUMEM_TMEM_ENOCLIENT;
	}
	switch (cmd) {
	case NUMEM_TMEM_CTL_AUTH: {
		struct numem_tmem_uuid u = {op->uuid[0], op->uuid[1]};
		uint32_t i = 0;
		while (i < c->nr_auth && !tm_uuid_eq(&c->auth[i], &u))
			i++;
		if (op->arg && i == c->nr_auth) {
			if (c->nr_auth == NUMEM_TMEM_MAX_AUTH) {
				ret = ctl_fail(
				    diag, NUMEM_TMEM_ELIMIT,
				    "tmem CTL_AUTH: client %llu already has %llu authorised "
				    "UUIDs",
				    op->client, NUMEM_TMEM_MAX_AUTH);
				break;
			}
			c->auth[c->nr_auth++] = u;
		} else if (!op->arg && i < c->nr_auth) {
			c->auth[i] = c->auth[--c->nr_auth];
		}
		break;
	}
	case NUMEM_TMEM_CTL_WEIGHT:
		c->weight = (uint32_t)op->arg;
		break;
	case NUMEM_TMEM_CTL_CAP:
		c->cap = op->arg;
		if (c->cap && c->st.pages > c->cap)
			numem__tm_evict(t, c, NUMEM_NID_NONE, c->st.pages - c->cap, &bag);
		break;
	case NUMEM_TMEM_CTL_COMPRESS:
		c->codec = (uint8_t)op->arg;
		atomic_store_explicit(&t->codec_of[c->id], c->codec, memory_order_relaxed);
		break;
	case NUMEM_TMEM_CTL_FREEZE:
		c->frozen = true;
		break;
	case NUMEM_TMEM_CTL_THAW:
		c->frozen = false;
		break;
	case NUMEM_TMEM_CTL_FLUSH:
		op->out = numem__tm_evict(t, c, NUMEM_NID_NONE, op->arg, &bag);
		break;
	case NUMEM_TMEM_CTL_FREEABLE:
		op->out = numem__tm_freeable(t, c);
		break;
	default:
		ret = ctl_fail1(diag, NUMEM_TMEM_ENOSYS, "tmem: unknown command %llu", cmd);
	}
	tm_unlock(t);
	numem__tm_bag_release(t, cpu, &bag);
	return ret;
}

/* ---- statistics and listing ---- */

static void stats_add(struct numem_tmem_stats *a, const struct numem_tmem_stats *b)
{
	const uint64_t *s = (const uint64_t *)b;
	uint64_t *d = (uint64_t *)a;
	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

/* A pool's own metadata (its records are in the arena, counted once). */
static uint64_t pool_meta(const struct tm_pool *p)
{
	return p->rnodes * sizeof(struct tm_rnode) + p->rleaves * sizeof(struct tm_rleaf) +
	       p->dedups * 64 + (uint64_t)p->nbuckets * sizeof(uint32_t) + (p->dedup ? 4096 : 0) +
	       256;
}

void numem_tmem_info(struct numem_tmem *t, struct numem_tmem_info *out)
{
	memset(out, 0, sizeof(*out));
	tm_lock(t);
	out->nr_clients = t->nr_clients;
	out->nr_shared = t->nr_shared;
	out->heap_pages = t->heap_pages;
	memcpy(out->pages_on_node, t->pages_on_node, sizeof(out->pages_on_node));
	out->stats = t->st;
	out->metadata_bytes = numem__tm_arena_bytes(t);
	for (struct tm_client *c = t->clients_list; c; c = c->next_active) {
		stats_add(&out->stats, &c->st);
		out->metadata_bytes += sizeof(*c);
		for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
			if (c->pool[i] && c->pool[i]->shared_slot < 0)
				out->metadata_bytes += pool_meta(c->pool[i]);
	}
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_SHARED; i++)
		if (t->shared[i])
			out->metadata_bytes += pool_meta(t->shared[i]);
	out->shrinker_calls = t->shrinker_calls;
	out->shrinker_freed = t->shrinker_freed;
	out->max_evict_batch = t->max_evict_batch;
	tm_unlock(t);
}

static void client_info(const struct tm_client *c, struct numem_tmem_client_info *o)
{
	memset(o, 0, sizeof(*o));
	o->client = c->id;
	o->weight = c->weight;
	o->cap = c->cap;
	o->codec = (enum numem_tmem_codec_id)c->codec;
	o->frozen = c->frozen;
	o->node = c->node;
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
		if (c->pool[i]) {
			o->nr_pools++;
			o->radix_bytes += tm_radix_bytes(c->pool[i]);
		}
	o->stats = c->st;
	memcpy(o->pages_on_node, c->pages_on_node, sizeof(o->pages_on_node));
}

uint32_t numem_tmem_list_clients(struct numem_tmem *t, struct numem_tmem_client_info *out,
                                 uint32_t cap)
{
	uint32_t n = 0;
	tm_lock(t);
	for (uint32_t id = 0; id < NUMEM_TMEM_MAX_CLIENTS && n < t->nr_clients; id++) {
		if (!t->client[id])
			continue;
		if (n < cap)
			client_info(t->client[id], &out[n]);
		n++;
	}
	tm_unlock(t);
	return n;
}

int numem_tmem_list_pools(struct numem_tmem *t, uint32_t client, struct numem_tmem_pool_info *out,
                          uint32_t cap)
{
	tm_lock(t);
	struct tm_client *c = numem__tm_client(t, client);
	if (!c) {
		tm_unlock(t);
		return NUMEM_TMEM_ENOCLIENT;
	}
	int n = 0;
	for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++) {
		const struct tm_pool *p = c->pool[i];
		if (!p)
			continue;
		if ((uint32_t)n < cap) {
			struct numem_tmem_pool_info *o = &out[n];
			memset(o, 0, sizeof(*o));
			o->client = client;
			o->pool_id = i;
			o->flags = p->flags;
			o->uuid = p->uuid;
			o->sharers = p->sharers;
			o->objects = p->objects;
			o->radix_bytes = tm_radix_bytes(p);
			o->stats = p->st;
		}
		n++;
	}
	tm_unlock(t);
	return n;
}
