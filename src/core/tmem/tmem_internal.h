/*
 * tmem_internal.h - what the files of tmem/ share (core-internal).
 *
 * client.c   instance lifecycle, clients, the domain hook, control plane,
 *            statistics and listing
 * pool.c     pools: private and shared (UUID, authorisation), destroy
 * object.c   objects (per-pool hash) and their pages (radix tree)
 * store.c    the page store: where a stored page's bytes live (zero flag,
 *            a raw TMEM page, chunks of a shared compressed page); a
 *            remote tier would be one more kind handled there
 * evict.c    LRU per (client, node), eviction, the heap shrinker
 * dedup.c    identical pages stored once (opt-in, shared ephemeral pools)
 * op.c       the op entry point, put / get / flush, typed wrappers
 * save.c     save and restore of a client's persistent pages
 * verify.c   the invariant walk; the relayout subscriber (re-accounting)
 *
 * Locking: everything below is guarded by t->lock (heap.h, lock order
 * 1c) except the per-CPU areas (the CPU's own).  Metadata comes from the
 * slab, always allocated before the lock is taken (a "preload", as Linux's
 * radix_tree_preload): a slab allocation may run the heap's shrinkers,
 * tmem's own among them.  Under the lock the only heap calls are
 * NUMEM_ALLOC_NORECLAIM allocations of store pages; everything freed under
 * the lock goes into a `struct tm_bag` and is given back after unlocking.
 */
#ifndef NUMEM_TMEM_INTERNAL_H
#define NUMEM_TMEM_INTERNAL_H

#include <numem/relayout.h>
#include <numem/tmem.h>

#include "../lib/internal.h"
#include "../lib/spinlock.h"

#define TM_RADIX_SHIFT  6
#define TM_RADIX_SLOTS  (1u << TM_RADIX_SHIFT)
#define TM_RADIX_HEIGHT 6 /* 6 * 6 bits >= 32-bit indexes */
/* Nodes one insert may need: growing the root (up to height - 1 new roots
 * above the old one, on index 0's path) and a new path below the top. */
#define TM_RADIX_PRELOAD (2 * TM_RADIX_HEIGHT - 1)
/* Object hash buckets per pool: 504 at first (4032 bytes, the largest
 * kmalloc class), grown 4x when the objects outnumber them 2:1, up to what
 * one kmalloc holds (NUMEM_KMALLOC_MAX). */
#define TM_OBJ_BUCKETS     504u
#define TM_OBJ_BUCKETS_MAX ((uint32_t)(NUMEM_KMALLOC_MAX / sizeof(void *)))
#define TM_DEDUP_BUCKETS   504u
#define TM_CHUNK_SHIFT     6 /* 64-byte chunks */
#define TM_CHUNKS          (NUMEM_PAGE_SIZE >> TM_CHUNK_SHIFT)
#define TM_ZPAGE_MAGIC     0x6567617a706d74ull /* "tmpzage" */
#define TM_SHRINK_MAX      4096u               /* pages one shrink request evicts at most */
#define TM_PUT_EVICT_MAX   16u                 /* pages a put evicts at most to find memory */

enum tm_kind {
	TM_ZERO = 0,  /* all zero: no storage */
	TM_RAW = 1,   /* loc: a TMEM page's pfn */
	TM_CHUNK = 2, /* loc: pfn << 6 | first chunk; len bytes compressed */
	TM_DEDUP = 3, /* loc: a struct tm_dedup * */
};

/* Where a page's bytes are, as the store hands it out. */
struct tm_loc {
	uint64_t loc;
	uint16_t len; /* TM_CHUNK: compressed bytes */
	uint8_t kind;
	uint8_t codec; /* TM_CHUNK: enum numem_tmem_codec_id */
	numem_nid_t node;
};

struct tm_object;

/* A stored page: 48 bytes (kmalloc-48). */
struct tm_page {
	struct tm_object *obj;
	struct tm_page *lru_next, *lru_prev; /* ephemeral: its (client, node) LRU */
	uint64_t loc;                        /* store handle (enum tm_kind) */
	uint32_t index;
	uint32_t tick; /* put time (LRU age; wrap-safe compare) */
	uint16_t len;
	uint8_t kind;
	uint8_t codec;
	numem_nid_t node; /* of its storage (the LRU it is on) */
	uint16_t client;  /* whose LRU and counts (the putter) */
};
_Static_assert(sizeof(struct tm_page) <= 48, "a page descriptor fits kmalloc-48");

struct tm_rnode {
	void *slot[TM_RADIX_SLOTS];
};

struct tm_pool;

/* An object: 64 bytes (kmalloc-64). */
struct tm_object {
	uint64_t oid[3];
	struct tm_object *hnext; /* hash chain; bag chain when freed */
	void *root;              /* height 0: a lone page (any index) or NULL */
	struct tm_pool *pool;
	uint32_t pages;
	uint8_t height;
	uint32_t hash; /* tm_oid_hash(oid): its chain without hashing again */
};
_Static_assert(sizeof(struct tm_object) <= 64, "an object fits kmalloc-64");

/* A deduplicated page's bytes: shared by `refs` page descriptors. */
struct tm_dedup {
	uint64_t hash;
	struct tm_dedup *next;
	struct tm_loc where;
	uint32_t refs;
};

struct tm_pool {
	uint32_t flags;
	uint16_t creator;
	uint32_t sharers;    /* clients that hold it (private: 1) */
	int32_t shared_slot; /* index in t->shared, -1 private */
	struct numem_tmem_uuid uuid;
	uint64_t objects;
	uint64_t rnodes, dedups;   /* radix nodes, dedup entries (metadata) */
	struct tm_object **bucket; /* nbuckets */
	uint32_t nbuckets;
	uint64_t serial;         /* unique per pool ever made (growth finds it again) */
	struct tm_dedup **dedup; /* TM_DEDUP_BUCKETS, DEDUP pools */
	struct numem_tmem_stats st;
};

/* An LRU list (oldest at head). */
struct tm_lru {
	struct tm_page *head, *tail;
	uint64_t n;
};

struct tm_client {
	uint16_t id;
	uint32_t weight;
	uint64_t cap;
	uint8_t codec;
	bool frozen;
	numem_nid_t node;
	struct tm_pool *pool[NUMEM_TMEM_MAX_POOLS];
	struct numem_tmem_uuid auth[NUMEM_TMEM_MAX_AUTH];
	uint32_t nr_auth;
	struct tm_client *next_active; /* list of clients (t->clients_list) */
	struct numem_tmem_stats st;
	uint64_t pages_on_node[NUMEM_MAX_NODES];
	struct tm_lru lru[NUMEM_MAX_NODES];
};

/* A compressed-store page's in-band header (its chunk 0). */
struct tm_zpage {
	uint64_t magic;
	uint64_t pfn;
	uint64_t used;                /* bit i: chunk i holds data (bit 0: this header) */
	struct tm_zpage *next, *prev; /* partial list of its node */
	numem_nid_t node;
};
_Static_assert(sizeof(struct tm_zpage) <= (1u << TM_CHUNK_SHIFT), "zpage header in chunk 0");

/* Metadata allocated before the lock, consumed under it. */
struct tm_preload {
	struct tm_page *page;
	struct tm_object *obj;
	struct tm_rnode *node[TM_RADIX_PRELOAD]; /* a stack: node[0 .. nr_node) */
	unsigned nr_node;
	struct tm_dedup *dd;
	/* A TMEM page a bag gave back, kept for this CPU's next store (not in
	 * heap_pages: it holds nothing); released with the instance. */
	bool has_pfn;
	numem_nid_t pfn_node;
	uint64_t pfn;
	/* During a put, the bag its evictions fill: a store that finds the
	 * heap empty takes a page from it. */
	struct tm_bag *reuse;
};

/* What an operation freed under the lock: given back after unlocking. */
struct tm_bag {
	uint64_t pfns; /* chain through the pages' first word (~0: end) */
	uint64_t nr_pfns;
	struct tm_page *pages;  /* chain through ->obj */
	struct tm_object *objs; /* chain through ->hnext */
	struct tm_rnode *nodes; /* chain through ->slot[0] */
	struct tm_dedup *dds;   /* chain through ->next */
	void *misc;             /* pools' tables etc.: chain through the first word */
	bool no_spare;          /* give every page back (the shrinker) */
	/* Something went onto a chain above (set by every push; a store
	 * that reuses the bag's pages may empty it again): the release has
	 * work only then. */
	bool used;
	/* A page op's bag: the op's CPU's preload, which takes back under
	 * the lock what its next put needs (a descriptor, an object, radix
	 * nodes, a spare TMEM page) instead of the chains above; NULL: all
	 * goes through the chains. */
	struct tm_preload *pl;
};

/* Nothing to give back (one flag: a page op's usual case, its preload
 * took all). */
static inline bool tm_bag_empty(const struct tm_bag *bag)
{
	return !bag->used;
}

struct numem_tmem {
	_Atomic int lock;
	struct numem_heap *heap;
	struct numem_slab *slab;
	struct numem_domains *doms;
	const struct numem_platform *plat;
	struct numem_tmem_opts opts;
	struct numem_shrinker shrinker;
	struct numem_domain_hook hook;
	struct numem_relayout_notifier relayout; /* registered at create (verify.c) */
	/* A relayout commit was seen by the subscriber (__atomic: the bag
	 * release reads it unlocked).  false: every heap page's head names its
	 * node. */
	bool relaid;
	struct tm_client **client; /* [NUMEM_TMEM_MAX_CLIENTS] */
	/* Each client's codec, readable without the lock (a put compresses
	 * before it takes the lock); written with the client's. */
	_Atomic uint8_t codec_of[NUMEM_TMEM_MAX_CLIENTS];
	struct tm_client *clients_list;
	uint32_t nr_clients;
	struct tm_pool *shared[NUMEM_TMEM_MAX_SHARED];
	uint32_t nr_shared;
	uint32_t tick;
	uint64_t pool_serial;
	uint64_t heap_pages;
	uint64_t pages_on_node[NUMEM_MAX_NODES]; /* heap pages held */
	uint64_t total_pages;                    /* stored pages (all clients) */
	struct tm_zpage *partial[NUMEM_MAX_NODES];
	struct numem_tmem_stats st; /* of clients destroyed: kept for the totals */
	uint64_t shrinker_calls, shrinker_freed, max_evict_batch;
	uint32_t nr_cpus;
	struct tm_preload *preload; /* [nr_cpus] */
	uint8_t *scratch;           /* [nr_cpus][2 * 4096] */
	size_t meta_bytes;          /* of client[], preload[], scratch */
	void *meta;
};

/* A page op's bag (see tm_bag.pl). */
static inline struct tm_bag tm_op_bag(struct numem_tmem *t, const struct numem_cpu *cpu)
{
	return (struct tm_bag){.pfns = ~0ull, .pl = &t->preload[cpu->id]};
}

static inline void tm_lock(struct numem_tmem *t)
{
	numem__lock(&t->lock);
}

static inline void tm_unlock(struct numem_tmem *t)
{
	numem__unlock(&t->lock);
}

/* The address of a heap page tmem holds or has just checked (its store
 * pages, a caller's frame): one add with the platform's direct map, else
 * its phys_to_virt (NULL: not backed). */
static inline void *tm_virt(const struct numem_tmem *t, uint64_t pfn)
{
	return numem_phys_to_virt(t->plat, numem_pfn_to_paddr(numem_pfn(pfn)));
}

/* A raw page's copy (put: frame -> store; get: store -> frame): the
 * embedder's routine if it gave one (numem_tmem_opts.copy_page). */
static inline void tm_copy_page(const struct numem_tmem *t, void *dst, const void *src)
{
	if (t->opts.copy_page)
		t->opts.copy_page(dst, src);
	else
		memcpy(dst, src, NUMEM_PAGE_SIZE);
}

/* The node a heap page of tmem's counts on: `head` (its head's node bits,
 * or the spare's as recorded) until a relayout committed; after one, the
 * layout's, since a page allocated on a range a commit moved keeps its old
 * node bits until it is freed, and then goes to the new node.  A page
 * taken before the subscriber's walk is re-accounted by it. */
static inline numem_nid_t tm_layout_node(const struct numem_tmem *t, uint64_t pfn, numem_nid_t head)
{
	if (__builtin_expect(!__atomic_load_n(&t->relaid, __ATOMIC_ACQUIRE), 1))
		return head;
	numem_nid_t n = numem_topo_pfn_to_node(numem_heap_topo(t->heap), numem_pfn(pfn));
	return n != NUMEM_NID_NONE ? n : head;
}

/* The heap's node count now (a relayout may bring nodes online; the
 * topology pointer is what numem_heap_topo() loads, inline for the put
 * path). */
static inline uint32_t tm_nr_nodes(const struct numem_tmem *t)
{
	return __atomic_load_n(&t->heap->topo, __ATOMIC_ACQUIRE)->nr_nodes;
}

/* Subscribe to the heap's relayouts (create; false: no metadata for the
 * heap's relayout state) and unsubscribe (release). */
bool numem__tm_relayout_subscribe(struct numem_tmem *t);
void numem__tm_relayout_unsubscribe(struct numem_tmem *t);

static inline uint8_t *tm_scratch(const struct numem_tmem *t, const struct numem_cpu *cpu)
{
	return t->scratch + (size_t)cpu->id * 2 * NUMEM_PAGE_SIZE;
}

/* A hash reduced to [0, n) by multiply-shift (n need not be a power of 2). */
static inline uint32_t tm_reduce(uint64_t h, uint32_t n)
{
	return (uint32_t)(((h >> 32) * n) >> 32);
}

static inline bool tm_oid_eq(const uint64_t a[3], const uint64_t b[3])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

static inline bool tm_uuid_eq(const struct numem_tmem_uuid *a, const struct numem_tmem_uuid *b)
{
	return a->lo == b->lo && a->hi == b->hi;
}

static inline bool numem__tm_page_zero(const void *page)
{
	const uint64_t *w = page;
	for (size_t i = 0; i < NUMEM_PAGE_SIZE / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	return true;
}

/* ---- inline: the page ops' hot helpers (lock held) ---- */

static inline struct tm_client *numem__tm_client(struct numem_tmem *t, uint32_t id)
{
	return id < NUMEM_TMEM_MAX_CLIENTS ? t->client[id] : 0;
}

/* One page in (d = 1) or out (d = -1, as an unsigned wrap) of a stats
 * struct: straight-line adds (a raw page, the common kind, has no counter
 * of its own). */
static inline void numem__tm_stats_page(struct numem_tmem_stats *s, uint64_t d, bool pers,
                                        unsigned kind, uint64_t bytes)
{
	s->pages += d;
	if (pers)
		s->pages_persistent += d;
	else
		s->pages_ephemeral += d;
	if (kind != TM_RAW) { /* raw, the common kind: one test */
		if (kind == TM_ZERO)
			s->zero_pages += d;
		else if (kind == TM_CHUNK)
			s->compressed_pages += d;
		else
			s->dedup_pages += d;
	}
	s->bytes_stored += d * NUMEM_PAGE_SIZE;
	s->bytes_used += d * bytes;
}

/* Count a page in (dir 1) or out (-1) of its pool's, its putting
 * client's and the instance's tallies. */
static inline void numem__tm_account(struct numem_tmem *t, struct tm_pool *pool,
                                     const struct tm_page *pg, int dir)
{
	struct tm_client *c = t->client[pg->client];
	uint64_t bytes = pg->kind == TM_RAW     ? NUMEM_PAGE_SIZE
	                 : pg->kind == TM_CHUNK ? (uint64_t)(pg->len + 63u) & ~63ull
	                                        : 0;
	bool pers = pool->flags & NUMEM_TMEM_POOL_PERSISTENT;
	uint64_t d = (uint64_t)(int64_t)dir;
	numem__tm_stats_page(&pool->st, d, pers, pg->kind & 3u, bytes);
	numem__tm_stats_page(&c->st, d, pers, pg->kind & 3u, bytes);
	c->pages_on_node[pg->node] += d;
	t->total_pages += d;
}

/* An ephemeral page onto / off its (client, node) LRU, newest at tail. */
static inline void numem__tm_lru_add(struct tm_client *c, struct tm_page *pg)
{
	struct tm_lru *l = &c->lru[pg->node];
	pg->lru_next = 0;
	pg->lru_prev = l->tail;
	if (l->tail)
		l->tail->lru_next = pg;
	else
		l->head = pg;
	l->tail = pg;
	l->n++;
}

static inline void numem__tm_lru_del(struct tm_client *c, struct tm_page *pg)
{
	struct tm_lru *l = &c->lru[pg->node];
	if (pg->lru_prev)
		pg->lru_prev->lru_next = pg->lru_next;
	else
		l->head = pg->lru_next;
	if (pg->lru_next)
		pg->lru_next->lru_prev = pg->lru_prev;
	else
		l->tail = pg->lru_prev;
	pg->lru_next = pg->lru_prev = 0;
	l->n--;
}

/* An object id's hash (the 192 bits mixed by multiplies; the high half,
 * which is what tm_reduce uses), and its chain among n. */
static inline uint32_t tm_oid_hash(const uint64_t oid[3])
{
	uint64_t h = oid[0] * 0x9e3779b97f4a7c15ull ^ oid[1] * 0xc2b2ae3d27d4eb4full ^
	             oid[2] * 0x165667b19e3779f9ull;
	h ^= h >> 29;
	return (uint32_t)((h * 0xbf58476d1ce4e5b9ull) >> 32);
}

static inline uint32_t tm_bucket(uint32_t hash, uint32_t n)
{
	return (uint32_t)(((uint64_t)hash * n) >> 32);
}

/* Indexes a radix tree of height h holds: below this. */
static inline uint64_t tm_height_cap(unsigned h)
{
	return h >= TM_RADIX_HEIGHT ? ~0ull : 1ull << (TM_RADIX_SHIFT * h);
}

/* The object oid (hash: tm_oid_hash(oid)) of p, or NULL. */
static inline struct tm_object *numem__tm_obj_find(struct tm_pool *p, const uint64_t oid[3],
                                                   uint32_t hash)
{
	struct tm_object *o = p->bucket[tm_bucket(hash, p->nbuckets)];
	while (o && !tm_oid_eq(o->oid, oid))
		o = o->hnext;
	return o;
}

static inline struct tm_page *numem__tm_radix_lookup(const struct tm_object *o, uint32_t index)
{
	if (!o->height) { /* a lone page (any index) or nothing */
		struct tm_page *lone = o->root;
		return lone && lone->index == index ? lone : 0;
	}
	if (index >= tm_height_cap(o->height))
		return 0;
	void *n = o->root;
	for (unsigned h = o->height; h > 0 && n; h--)
		n = ((struct tm_rnode *)n)->slot[(index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	return n;
}

/* ---- client.c ---- */
/* Destroy a client with the lock held; frees into bag. */
void numem__tm_client_destroy_locked(struct numem_tmem *t, struct tm_client *c, struct tm_bag *bag);
/* Give back what a bag holds (no lock held). */
void numem__tm_bag_release(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_bag *bag);
/* Make sure this CPU's preload is full (no lock held).  false: no memory. */
bool numem__tm_preload(struct numem_tmem *t, struct numem_cpu *cpu, bool dedup);

/* A put's preload has all it may need (a dedup entry included). */
static inline bool tm_preload_full(const struct tm_preload *pl)
{
	return pl->page && pl->obj && pl->nr_node == TM_RADIX_PRELOAD && pl->dd;
}

/* The end of a page op: the bag given back if the preload did not take
 * everything (no lock held). */
static inline void tm_bag_done(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_bag *bag)
{
	if (!tm_bag_empty(bag))
		numem__tm_bag_release(t, cpu, bag);
}

/* Make the client of id if it is a live domain's and has none (no lock
 * held); a status. */
int numem__tm_client_make(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t id,
                          struct numem_diag *diag);
/* Ephemeral pages of one client (NULL: all). */
uint64_t numem__tm_freeable(struct numem_tmem *t, struct tm_client *only);
/* A control op (caller already checked to be the host). */
int numem__tm_ctl(struct numem_tmem *t, struct numem_cpu *cpu, struct numem_tmem_op *op,
                  struct numem_diag *diag);

/* ---- pool.c ---- */
/* Client c lets go of pool p (its slot already cleared): a private pool
 * and a shared one nobody else holds are freed whole; otherwise only the
 * pages c put there are dropped.  Lock held. */
void numem__tm_pool_leave_locked(struct numem_tmem *t, struct tm_client *c, struct tm_pool *p,
                                 struct tm_bag *bag);
int numem__tm_new_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                       struct numem_tmem_op *op, struct numem_diag *diag);
/* Grow the object table of the caller's pool `id` if it is still the pool
 * `serial` and still needs it (no lock held: the table is allocated
 * outside the lock). */
void numem__tm_pool_grow(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client, uint32_t id,
                         uint64_t serial);
/* A private persistent pool at exactly `id` of client (restore); *serial
 * names it (EBUSY if the slot is taken). */
int numem__tm_pool_make_at(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                           uint32_t id, uint64_t *serial, struct numem_diag *diag);
/* Destroy client's pool `id` if it is still the pool `serial` (a failed
 * restore's undo: never a pool someone else made in that slot since). */
void numem__tm_pool_unmake(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                           uint32_t id, uint64_t serial);
/* Client's pool `id` if it is still the pool `serial`, else NULL.  Lock
 * held. */
struct tm_pool *numem__tm_pool_again(struct numem_tmem *t, uint32_t client, uint32_t id,
                                     uint64_t serial);
int numem__tm_destroy_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                           struct numem_tmem_op *op, struct numem_diag *diag);

/* ---- object.c (lock held) ---- */
/* Insert a page (the index must be absent); nodes from pl. */
void numem__tm_radix_insert(struct tm_object *o, struct tm_page *pg, struct tm_preload *pl);
/* Remove the page at index (must be present); empty nodes into bag. */
void numem__tm_radix_remove(struct tm_object *o, uint32_t index, struct tm_bag *bag);
/* Call fn on every page of the object, in index order (fn may not change
 * the tree). */
void numem__tm_radix_walk(const struct tm_object *o, void (*fn)(void *ctx, struct tm_page *pg),
                          void *ctx);
/* Move every object into the zeroed table nb of n chains (which becomes
 * the pool's; the caller frees the old one). */
void numem__tm_obj_rehash(struct tm_pool *p, struct tm_object **nb, uint32_t n);
/* A new page at (oid, index) of p, put by c, stored at w: a descriptor
 * from the CPU's preload, in object o's tree (o NULL: oid has no object
 * yet, made here), on c's LRU if ephemeral, counted.  The key must be
 * free. */
struct tm_page *numem__tm_page_link(struct numem_tmem *t, struct numem_cpu *cpu,
                                    struct tm_client *c, struct tm_pool *p, struct tm_object *o,
                                    const uint64_t oid[3], uint32_t hash, uint32_t index,
                                    const struct tm_loc *w);
/* Remove one page entirely: tree, LRU, accounting, storage (bag). */
void numem__tm_page_drop(struct numem_tmem *t, struct tm_page *pg, struct tm_bag *bag);
/* Drop every page of an object and the object. */
uint64_t numem__tm_obj_drop(struct numem_tmem *t, struct tm_object *o, struct tm_bag *bag);

/* ---- store.c (lock held) ---- */
/* Store `len` bytes of data (len == NUMEM_PAGE_SIZE: raw) on node;
 * false when the heap has no page (NORECLAIM). */
bool numem__tm_store_put(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                         const void *data, size_t len, struct tm_loc *out);
/* Read a stored page into dst (4096 bytes); false for a corrupt page. */
bool numem__tm_store_read(struct numem_tmem *t, struct numem_cpu *cpu, const struct tm_loc *where,
                          void *dst);
void numem__tm_store_free(struct numem_tmem *t, const struct tm_loc *where, struct tm_bag *bag);
/* The compressed bytes of a TM_CHUNK location (where->len of them). */
const void *numem__tm_store_chunk(const struct numem_tmem *t, const struct tm_loc *where);
/* Compress a page with codec id `codec` into the CPU's scratch page: the
 * compressed length, or 0 (no codec, or it does not fit
 * NUMEM_TMEM_COMPRESS_MAX: store it raw).  No lock needed. */
size_t numem__tm_compress(const struct numem_tmem *t, const struct numem_cpu *cpu, uint8_t codec,
                          const void *src);
/* The node lists of partially used zpages (lock held). */
void numem__tm_zpage_unlist(struct numem_tmem *t, struct tm_zpage *z);
void numem__tm_zpage_list(struct numem_tmem *t, struct tm_zpage *z);
/* A CPU's spare page (tm_preload.pfn) is pfn (verify: no stored page may
 * use one). */
bool numem__tm_store_is_spare(const struct numem_tmem *t, uint64_t pfn);
/* Every CPU's spare page is an allocated TMEM page held by that CPU alone
 * (lock held; whether a stored page uses it: numem__tm_store_is_spare). */
enum numem_err numem__tm_store_verify_spares(const struct numem_tmem *t, struct numem_diag *diag);
/* Bytes of TMEM pages a location takes (bytes_used). */
uint64_t numem__tm_store_bytes(const struct tm_loc *where);
static inline struct tm_loc numem__tm_page_loc(const struct tm_page *pg)
{
	return (struct tm_loc){
	    .loc = pg->loc, .len = pg->len, .kind = pg->kind, .codec = pg->codec, .node = pg->node};
}

/* ---- evict.c (lock held) ---- */
/* Evict up to n ephemeral pages of client c (NULL: by global age) on node
 * (NUMEM_NID_NONE: any); returns pages evicted. */
uint64_t numem__tm_evict(struct numem_tmem *t, struct tm_client *c, numem_nid_t node, uint64_t n,
                         struct tm_bag *bag);
/* The client most above its weighted share with ephemeral pages, or NULL. */
struct tm_client *numem__tm_over_share(struct numem_tmem *t);
uint64_t numem__tm_shrink_scan(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages);

/* ---- dedup.c (lock held) ---- */
uint64_t numem__tm_hash(const void *page);
/* Find a stored identical page; on a hit refs++ and *out set. */
struct tm_dedup *numem__tm_dedup_find(struct numem_tmem *t, struct numem_cpu *cpu,
                                      struct tm_pool *p, uint64_t hash, const void *page);
struct tm_dedup *numem__tm_dedup_add(struct tm_pool *p, uint64_t hash, const struct tm_loc *where,
                                     struct tm_preload *pl);
void numem__tm_dedup_put(struct numem_tmem *t, struct tm_pool *p, struct tm_dedup *dd,
                         struct tm_bag *bag);

#endif /* NUMEM_TMEM_INTERNAL_H */
