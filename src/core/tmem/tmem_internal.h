/*
 * tmem_internal.h - what the files of tmem/ share (core-internal).
 *
 * client.c   instance lifecycle, clients, the domain hook, control plane,
 *            statistics and listing
 * pool.c     pools: private and shared (UUID, authorisation), destroy
 * arena.c    the records of pages and objects, named by 32-bit handles
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
 * 1c) except the per-CPU areas (the CPU's own).  Metadata (records from
 * the arena, tree nodes and tables from the slab) is always taken before
 * the lock (a "preload", as Linux's radix_tree_preload; the arena grows
 * with no lock held): a slab allocation may run the heap's shrinkers,
 * tmem's own among them.  Under the lock the only heap calls are
 * NUMEM_ALLOC_NORECLAIM allocations of store pages; everything freed under
 * the lock goes into a `struct tm_bag` and is given back after unlocking
 * (records straight back to the preload or their chunk).
 */
#ifndef NUMEM_TMEM_INTERNAL_H
#define NUMEM_TMEM_INTERNAL_H

#include <stddef.h>

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
/* Object hash buckets per pool (record handles): 504 at first (2016
 * bytes), grown 4x when the objects outnumber them 2:1, up to what
 * one kmalloc holds (NUMEM_KMALLOC_MAX). */
#define TM_OBJ_BUCKETS     504u
#define TM_OBJ_BUCKETS_MAX ((uint32_t)(NUMEM_KMALLOC_MAX / sizeof(uint32_t)))
#define TM_DEDUP_BUCKETS   504u
#define TM_CHUNK_SHIFT     6 /* 64-byte chunks */
#define TM_CHUNKS          (NUMEM_PAGE_SIZE >> TM_CHUNK_SHIFT)
#define TM_ZPAGE_MAGIC     0x6567617a706d74ull /* "tmpzage" */
#define TM_SHRINK_MAX      4096u               /* pages one shrink request evicts at most */
#define TM_PUT_EVICT_MAX   16u                 /* pages a put evicts at most to find memory */
/* A pool's radix metadata (nodes and leaves, which a hostile index pattern
 * makes 2.5 KB a page of) is bounded: a put that would take it past
 * TM_RADIX_PAGE_BUDGET bytes per page the pool holds (counting the new
 * one) plus TM_RADIX_SLACK (one insert's worst case: a second page at
 * the far end of the index space) is refused (docs/TMEM.md "Metadata"). */
#define TM_RADIX_PAGE_BUDGET 1024u
#define TM_RADIX_SLACK       6144u

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

/*
 * Records.  Every stored page and every object of two or more pages is a
 * record in the instance's arena (arena.c), named by a 32-bit handle (0:
 * none).  A one-page object is a single 56-byte record (TM_T_LONE, struct
 * tm_lone): the page's fields (location, LRU links, index, tick, client,
 * length, pool slot, node), the hash chain and the object id: no object, no
 * tree.  A second page turns that record, in place (same handle, same
 * chain), into an object record (TM_T_OBJ: radix root, pool, count, chain,
 * id) and its page moves to a 32-byte page record (TM_T_PAGE, struct
 * tm_page) that names the object by handle: an object's pages cost 32
 * bytes each and their leaf slot.  The first 28 bytes of every record
 * are a page's fields (an object's root, pool and count there); byte 27 is
 * the tag: type in bits 0-1 (the hash chain holds LONE and OBJ records,
 * told apart there), a page's store kind in bits 2-3 and codec in bits
 * 4-5; bit 7 is numem_tmem_verify's mark (0 otherwise).  Bytes 28-31: the
 * chain (LONE, OBJ, FREE) or a page's object; 32-55: the id (LONE, OBJ).
 */
enum tm_type {
	TM_T_FREE = 0, /* on the arena's free list or in a CPU's preload */
	TM_T_LONE = 1, /* a one-page object */
	TM_T_PAGE = 2, /* a page of an object record */
	TM_T_OBJ = 3,  /* an object of two or more pages (or fewer, after flushes) */
};
#define TM_TAG_MARK   0x80u
#define TM_REC_BYTES  56u     /* LONE and OBJ records */
#define TM_PAGE_BYTES 32u     /* PAGE records */
#define TM_LEN_MASK   0x0fffu /* tm_page.lenslot: compressed length (<= 4032) */
#define TM_SLOT_SHIFT 12      /* tm_page.lenslot: the pool's slot in its client */

/* A stored page: the whole of a PAGE record, the head of a LONE one. */
struct tm_page {
	uint64_t loc;                /* store handle (enum tm_kind) */
	uint32_t lru_next, lru_prev; /* ephemeral: its (client, node) LRU */
	uint32_t index;
	uint16_t tick;    /* put time, low 16 bits (tm_lru.head_tick has the rest) */
	uint16_t client;  /* whose LRU and counts (the putter) */
	uint16_t lenslot; /* TM_CHUNK length | pool slot (LONE) << 12 */
	uint8_t node;     /* of its storage (the LRU it is on) */
	uint8_t tag;
	union {
		uint32_t hnext; /* LONE: hash chain; FREE: free list */
		uint32_t obj;   /* PAGE: its object record's handle */
	};
};
_Static_assert(sizeof(struct tm_page) == TM_PAGE_BYTES, "a page record is 32 bytes");
_Static_assert(NUMEM_MAX_NODES <= 256 && NUMEM_TMEM_MAX_CLIENTS <= 65536 &&
                   NUMEM_TMEM_MAX_POOLS <= 16 && NUMEM_TMEM_COMPRESS_MAX <= TM_LEN_MASK &&
                   NUMEM_TMEM_NR_CODECS <= 4 && TM_DEDUP <= 3,
               "a page record's narrow fields hold node, client, slot, length, and the "
               "tag's codec and store kind (2 bits each)");

/* A one-page object. */
struct tm_lone {
	struct tm_page pg;
	uint64_t oid[3];
};
_Static_assert(sizeof(struct tm_lone) == TM_REC_BYTES, "a lone record is 56 bytes");

struct tm_pool;

/* An object of more than one page (or fewer, after flushes). */
struct tm_object {
	/* 8 bytes each on every target, so that the record has the lone
	 * record's size and offsets with 32-bit pointers too */
	union {
		void *root; /* radix tree of height >= 1 */
		uint64_t root_bits;
	};
	union {
		struct tm_pool *pool;
		uint64_t pool_bits;
	};
	uint32_t pages;
	uint8_t height;
	uint8_t pad[6];
	uint8_t tag; /* TM_T_OBJ */
	uint32_t hnext;
	uint64_t oid[3];
};
_Static_assert(sizeof(struct tm_object) == TM_REC_BYTES, "an object record is 56 bytes");
_Static_assert(offsetof(struct tm_object, hnext) == offsetof(struct tm_lone, pg.hnext) &&
                   offsetof(struct tm_object, tag) == offsetof(struct tm_lone, pg.tag) &&
                   offsetof(struct tm_object, oid) == offsetof(struct tm_lone, oid),
               "lone and object records share the chain link, the tag and the id");

/* The id of a LONE or OBJ record. */
static inline uint64_t *tm_oid_of(void *rec)
{
	return ((struct tm_lone *)rec)->oid;
}

static inline unsigned tm_type(const void *rec)
{
	return ((const struct tm_page *)rec)->tag & 3u;
}

static inline unsigned tm_kind(const struct tm_page *pg)
{
	return (pg->tag >> 2) & 3u;
}

static inline unsigned tm_codec(const struct tm_page *pg)
{
	return (pg->tag >> 4) & 3u;
}

static inline unsigned tm_len(const struct tm_page *pg)
{
	return pg->lenslot & TM_LEN_MASK;
}

static inline unsigned tm_slot(const struct tm_page *pg)
{
	return pg->lenslot >> TM_SLOT_SHIFT;
}

/* Radix nodes: interior levels hold pointers to nodes (512 bytes, as
 * kmalloc-512), the last level page handles (256 bytes). */
struct tm_rnode {
	void *slot[TM_RADIX_SLOTS];
};
struct tm_rleaf {
	uint32_t slot[TM_RADIX_SLOTS];
};

/*
 * The arena: chunks of records of one size (56 bytes: LONE and OBJ, the
 * "big" class; 32: PAGE), each a large slab allocation (a 16 KiB block
 * less its header: the records, then its tail: class, free records and
 * their list, node, links on its (node, class) list of chunks with free
 * records),
 * found through a directory of chunk pointers; handle h is the record at
 * byte 8 * (h & TM_H_MASK) of chunk h >> TM_H_SHIFT (a shift, a load and
 * an add to reach it).  Handle 0 (chunk 0's first record) is never handed
 * out.  Free records chain through hnext within their chunk (t->lock).
 */
#define TM_CHUNK_BYTES   (4u * NUMEM_PAGE_SIZE - NUMEM_SLAB_LARGE_HDR)
#define TM_CHUNK_TAIL    24u
#define TM_CHUNK_NONE    0xffffffffu
#define TM_H_SHIFT       11u
#define TM_H_MASK        ((1u << TM_H_SHIFT) - 1)
#define TM_ARENA_MAX_DIR ((uint32_t)(NUMEM_KMALLOC_MAX / sizeof(void *)))
_Static_assert(TM_REC_BYTES % 8 == 0 && TM_PAGE_BYTES % 8 == 0 &&
                   (TM_CHUNK_BYTES - TM_CHUNK_TAIL) / 8 <= TM_H_MASK + 1 &&
                   (uint64_t)TM_ARENA_MAX_DIR << TM_H_SHIFT <= 0xffffffffull,
               "a handle holds a chunk index and a record's offset / 8");
#define TM_RLEAF_PRELOAD 2u /* a second page: two paths, a leaf each */

/* Record sizes, and how many a put may need: a lone record, or two page
 * records (a second page: the lone page moves out of the new object).  A
 * preload holds up to TM_PRELOAD_MAX of each (filled to that, so a stream
 * of puts takes the lock for records once in 15 or so). */
static inline uint32_t tm_rec_bytes(unsigned big)
{
	return big ? TM_REC_BYTES : TM_PAGE_BYTES;
}
/* The node whose chunks a CPU's records come from. */
static inline uint32_t tm_arena_node(const struct numem_cpu *cpu)
{
	return cpu->mem_node < NUMEM_MAX_NODES ? cpu->mem_node : 0;
}
static inline uint32_t tm_chunk_recs(unsigned big)
{
	return (TM_CHUNK_BYTES - TM_CHUNK_TAIL) / tm_rec_bytes(big);
}
#define TM_PRELOAD_MAX 16u
static inline unsigned tm_preload_want(unsigned big)
{
	return big ? 1u : 2u;
}

struct tm_chunk_tail {
	uint32_t big;        /* its class */
	uint32_t nfree;      /* free records (on `free`) */
	uint32_t free;       /* their list (0: none) */
	uint32_t next, prev; /* chunk indexes on its partial list (NONE: end) */
	uint32_t node;       /* of the CPU that made it: its partial list's */
};

struct tm_arena {
	uint8_t **dir; /* [dir_cap]: chunk pointers (NULL: given back or never made) */
	uint32_t dir_cap;
	uint32_t chunks; /* chunk pointers set */
	uint32_t next;   /* dir slots below this were used at least once */
	uint32_t hole;   /* no slot below this (and below next) is empty */
	/* [node][big]: chunks with free records (NONE: none) */
	uint32_t partial[NUMEM_MAX_NODES][2];
	uint64_t nr_free[2]; /* [big]: free records in all */
};

/* A deduplicated page's bytes: shared by `refs` page records. */
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
	uint64_t objects;                 /* LONE and OBJ records in the table */
	uint64_t rnodes, rleaves, dedups; /* radix nodes, leaves, dedup entries (metadata) */
	uint32_t *bucket;                 /* nbuckets record handles */
	uint32_t nbuckets;
	uint64_t serial;         /* unique per pool ever made (growth finds it again) */
	struct tm_dedup **dedup; /* TM_DEDUP_BUCKETS, DEDUP pools */
	struct numem_tmem_stats st;
};

/* An LRU list (oldest at head) of page handles.  head_tick is the head's
 * full put time: a record keeps the low 16 bits, and the next head's is
 * rebuilt from the old head's (ticks only grow along a list).  64 bits,
 * as t->tick: a 32-bit clock wraps after 2^31 puts (minutes), and a head
 * that old would read as newer than every other. */
struct tm_lru {
	uint32_t head, tail;
	uint64_t head_tick;
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
	uint32_t rec[2][TM_PRELOAD_MAX]; /* free records of [big] (stacks) */
	unsigned nr_rec[2];
	void *node[TM_RADIX_PRELOAD]; /* struct tm_rnode: a stack node[0 .. nr_node) */
	unsigned nr_node;
	void *leaf[TM_RLEAF_PRELOAD]; /* struct tm_rleaf */
	unsigned nr_leaf;
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
	void *nodes;          /* radix nodes and leaves: chain through the first word */
	struct tm_dedup *dds; /* chain through ->next */
	void *misc;           /* pools' tables etc.: chain through the first word */
	bool no_spare;        /* give every page back (the shrinker) */
	/* Something went onto a chain above (set by every push; a store
	 * that reuses the bag's pages may empty it again): the release has
	 * work only then. */
	bool used;
	/* A page op's bag: the op's CPU's preload, which takes back under
	 * the lock what its next put needs (records, radix nodes, a spare
	 * TMEM page) instead of the arena's free list and the chains above;
	 * NULL: all goes through those. */
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
	uint64_t tick; /* puts ever (never wraps) */
	struct tm_arena arena;
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
 * embedder's routine if it gave one (numem_tmem_opts.copy_page), only for
 * what its contract names, two page-aligned pointers.  A save writes
 * into the caller's stream and a restore reads out of it (records at
 * byte 32), a dedup compare reads into a scratch page aligned to 64:
 * those take memcpy. */
static inline void tm_copy_page(const struct numem_tmem *t, void *dst, const void *src)
{
	if (t->opts.copy_page && !(((uintptr_t)dst | (uintptr_t)src) & (NUMEM_PAGE_SIZE - 1)))
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

/* The record of handle h (a live chunk's: the caller knows it is). */
static inline void *tm_rec(const struct numem_tmem *t, uint32_t h)
{
	return t->arena.dir[h >> TM_H_SHIFT] + (size_t)(h & TM_H_MASK) * 8u;
}

static inline struct tm_page *tm_pg(const struct numem_tmem *t, uint32_t h)
{
	return (struct tm_page *)tm_rec(t, h);
}

_Static_assert(sizeof(struct tm_chunk_tail) <= TM_CHUNK_TAIL, "a chunk's tail fits");
static inline struct tm_chunk_tail *tm_chunk_tail(uint8_t *chunk)
{
	return (struct tm_chunk_tail *)(chunk + TM_CHUNK_BYTES - TM_CHUNK_TAIL);
}

/* h names a record of a live chunk (numem_tmem_verify's range check), of
 * class big. */
static inline bool tm_rec_ok(const struct numem_tmem *t, uint32_t h, unsigned big)
{
	uint32_t k = (h & TM_H_MASK) * 8u, c = h >> TM_H_SHIFT;
	return h && c < t->arena.dir_cap && t->arena.dir[c] &&
	       tm_chunk_tail(t->arena.dir[c])->big == big && k % tm_rec_bytes(big) == 0 &&
	       k / tm_rec_bytes(big) < tm_chunk_recs(big);
}

/* The pool a page is in: a lone page's through its putter's slot (a
 * putter holds the pool while its pages are there), an object page's
 * through its object. */
static inline struct tm_pool *tm_page_pool(const struct numem_tmem *t, const struct tm_page *pg)
{
	if (tm_type(pg) == TM_T_LONE)
		return t->client[pg->client]->pool[tm_slot(pg)];
	return ((const struct tm_object *)tm_rec(t, pg->obj))->pool;
}

/* Count a page in (dir 1) or out (-1) of its pool's, its putting
 * client's and the instance's tallies. */
static inline __attribute__((always_inline)) void
numem__tm_account(struct numem_tmem *t, struct tm_pool *pool, const struct tm_page *pg, int dir)
{
	struct tm_client *c = t->client[pg->client];
	unsigned kind = tm_kind(pg);
	uint64_t bytes = kind == TM_RAW     ? NUMEM_PAGE_SIZE
	                 : kind == TM_CHUNK ? (uint64_t)(tm_len(pg) + 63u) & ~63ull
	                                    : 0;
	bool pers = pool->flags & NUMEM_TMEM_POOL_PERSISTENT;
	uint64_t d = (uint64_t)(int64_t)dir;
	numem__tm_stats_page(&pool->st, d, pers, kind, bytes);
	numem__tm_stats_page(&c->st, d, pers, kind, bytes);
	c->pages_on_node[pg->node] += d;
	t->total_pages += d;
}

/* The latest full tick at or before `now` whose low 16 bits are t16. */
static inline uint64_t tm_full_tick(uint64_t now, uint16_t t16)
{
	return now - (uint16_t)((uint16_t)now - t16);
}

/* An ephemeral page (handle h) onto / off its (client, node) LRU, newest
 * at tail. */
static inline void numem__tm_lru_add(struct numem_tmem *t, struct tm_client *c, uint32_t h,
                                     struct tm_page *pg)
{
	struct tm_lru *l = &c->lru[pg->node];
	pg->lru_next = 0;
	pg->lru_prev = l->tail;
	if (l->tail) {
		tm_pg(t, l->tail)->lru_next = h;
	} else {
		l->head = h;
		l->head_tick = tm_full_tick(t->tick, pg->tick);
	}
	l->tail = h;
	l->n++;
}

static inline void numem__tm_lru_del(struct numem_tmem *t, struct tm_client *c, struct tm_page *pg)
{
	struct tm_lru *l = &c->lru[pg->node];
	if (pg->lru_prev) {
		tm_pg(t, pg->lru_prev)->lru_next = pg->lru_next;
	} else {
		l->head = pg->lru_next;
		if (pg->lru_next) {
			/* the next head's full tick: forward from this one's (a
			 * gap of 2^16 puts or more in one list reads short) */
			uint64_t nt =
			    l->head_tick + (uint16_t)(tm_pg(t, pg->lru_next)->tick - pg->tick);
			l->head_tick = nt > t->tick ? t->tick : nt;
		}
	}
	if (pg->lru_next)
		tm_pg(t, pg->lru_next)->lru_prev = pg->lru_prev;
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

/* The record (LONE or OBJ) of object oid (hash: tm_oid_hash(oid)) in p,
 * its handle in *hp; NULL if none. */
static inline void *numem__tm_obj_find(const struct numem_tmem *t, const struct tm_pool *p,
                                       const uint64_t oid[3], uint32_t hash, uint32_t *hp)
{
	uint32_t h = p->bucket[tm_bucket(hash, p->nbuckets)];
	while (h) {
		struct tm_lone *r = tm_rec(t, h); /* oid and hnext: the same in both */
		if (tm_oid_eq(r->oid, oid)) {
			*hp = h;
			return r;
		}
		h = r->pg.hnext;
	}
	return 0;
}

/* The page at index of record o (from numem__tm_obj_find, NULL: none),
 * *hp: o's handle on entry, the page's on a hit. */
static inline struct tm_page *numem__tm_lookup(const struct numem_tmem *t, void *o, uint32_t index,
                                               uint32_t *hp)
{
	if (!o)
		return 0;
	if (tm_type(o) == TM_T_LONE) {
		struct tm_page *lone = o;
		return lone->index == index ? lone : 0;
	}
	const struct tm_object *ob = o;
	if (index >= tm_height_cap(ob->height))
		return 0;
	void *n = ob->root;
	for (unsigned h = ob->height; h > 1 && n; h--)
		n = ((struct tm_rnode *)n)->slot[(index >> (TM_RADIX_SHIFT * (h - 1))) & 63];
	if (!n)
		return 0;
	uint32_t ph = ((const struct tm_rleaf *)n)->slot[index & 63];
	if (!ph)
		return 0;
	*hp = ph;
	return tm_pg(t, ph);
}

/* ---- arena.c ---- */
/* Fill this CPU's preload with records (no lock held; may allocate a
 * chunk and grow the directory).  false: no memory. */
bool numem__tm_arena_fill(struct numem_tmem *t, struct numem_cpu *cpu);
/* Record h (of class big) onto its chunk's free list; a chunk wholly
 * free goes back (into bag->misc) unless it is its class's only one with
 * free records.  Lock held. */
void numem__tm_arena_put(struct numem_tmem *t, uint32_t h, unsigned big, struct tm_bag *bag);
/* Record h (of class big) is free: to the op's preload if it has room,
 * else its chunk (numem__tm_arena_put).  Lock held. */
static inline void numem__tm_rec_free(struct numem_tmem *t, uint32_t h, unsigned big,
                                      struct tm_bag *bag)
{
	struct tm_page *r = tm_pg(t, h);
	r->tag = TM_T_FREE;
	struct tm_preload *pl = bag->pl;
	if (pl && pl->nr_rec[big] < TM_PRELOAD_MAX) {
		pl->rec[big][pl->nr_rec[big]++] = h;
		return;
	}
	numem__tm_arena_put(t, h, big, bag);
}
/* A record of class big from the CPU's preload (the caller filled it). */
static inline uint32_t numem__tm_rec_take(struct tm_preload *pl, unsigned big)
{
	return pl->rec[big][--pl->nr_rec[big]];
}
void numem__tm_arena_release(struct numem_tmem *t, struct numem_cpu *cpu);
/* Bytes of chunks and directory. */
uint64_t numem__tm_arena_bytes(const struct numem_tmem *t);
/* The free list and the preloads: every record free or reached by the
 * walk (`marked` of them) exactly once.  Clears the marks whatever e (an
 * error the walk found: no more checks); returns the first error. */
enum numem_err numem__tm_arena_verify(struct numem_tmem *t, uint64_t marked, enum numem_err e,
                                      struct numem_diag *diag);

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
	return pl->nr_rec[0] >= tm_preload_want(0) && pl->nr_rec[1] >= tm_preload_want(1) &&
	       pl->nr_node == TM_RADIX_PRELOAD && pl->nr_leaf == TM_RLEAF_PRELOAD && pl->dd;
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
/* Client c lets go of its pool in `slot` (cleared here): a private pool
 * and a shared one nobody else holds are freed whole; otherwise only the
 * pages c put there are dropped.  Lock held. */
void numem__tm_pool_leave_locked(struct numem_tmem *t, struct tm_client *c, uint32_t slot,
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
	return (struct tm_loc){.loc = pg->loc,
	                       .len = (uint16_t)tm_len(pg),
	                       .kind = (uint8_t)tm_kind(pg),
	                       .codec = (uint8_t)tm_codec(pg),
	                       .node = pg->node};
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

/* ---- object.c (lock held) ---- */
/* Bytes of p's radix nodes and leaves. */
static inline uint64_t tm_radix_bytes(const struct tm_pool *p)
{
	return p->rnodes * sizeof(struct tm_rnode) + p->rleaves * sizeof(struct tm_rleaf);
}
/* A new page at index of record o (LONE or OBJ, in p) would take p's
 * radix metadata past its bound (TM_RADIX_PAGE_BUDGET). */
bool numem__tm_radix_over(const struct numem_tmem *t, const struct tm_pool *p, const void *o,
                          uint32_t index);
/* Call fn on every page of record o (handle oh: LONE or OBJ), in index
 * order (fn may not change the tree). */
void numem__tm_radix_walk(const struct numem_tmem *t, uint32_t oh,
                          void (*fn)(void *ctx, uint32_t h, struct tm_page *pg), void *ctx);
/* Move every record into the zeroed table nb of n chains (which becomes
 * the pool's; the caller frees the old one). */
void numem__tm_obj_rehash(struct numem_tmem *t, struct tm_pool *p, uint32_t *nb, uint32_t n);
/* numem__tm_page_link's case of an object that has a record already. */
void numem__tm_page_link_obj(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_client *c,
                             struct tm_pool *p, void *o, uint32_t oh, uint32_t hash, uint32_t index,
                             const struct tm_loc *w);
/* A new page at (oid, index) of p (the pool in slot `slot` of c), put by
 * c, stored at w: a record from the CPU's preload; o (handle oh) the
 * record oid has (NULL: none yet, the page is a lone record, inline here);
 * on c's LRU if ephemeral, counted.  The key must be free. */
static inline __attribute__((always_inline)) void
numem__tm_page_link(struct numem_tmem *t, struct numem_cpu *cpu, struct tm_client *c,
                    struct tm_pool *p, uint32_t slot, void *o, uint32_t oh, const uint64_t oid[3],
                    uint32_t hash, uint32_t index, const struct tm_loc *w)
{
	if (o) {
		numem__tm_page_link_obj(t, cpu, c, p, o, oh, hash, index, w);
		return;
	}
	uint32_t h = numem__tm_rec_take(&t->preload[cpu->id], 1);
	struct tm_lone *lone = tm_rec(t, h);
	struct tm_page *pg = &lone->pg;
	uint32_t b = tm_bucket(hash, p->nbuckets);
	*lone = (struct tm_lone){.pg = {.loc = w->loc,
	                                .hnext = p->bucket[b],
	                                .index = index,
	                                .tick = (uint16_t)++t->tick,
	                                .client = c->id,
	                                .lenslot = (uint16_t)(w->len | slot << TM_SLOT_SHIFT),
	                                .node = (uint8_t)w->node,
	                                .tag = (uint8_t)(w->kind << 2 | w->codec << 4 | TM_T_LONE)},
	                         .oid = {oid[0], oid[1], oid[2]}};
	p->bucket[b] = h;
	p->objects++;
	if (!(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
		numem__tm_lru_add(t, c, h, pg);
	numem__tm_account(t, p, pg, 1);
}
/* Remove one page (handle h) entirely: tree or chain, LRU, accounting,
 * storage (bag). */
void numem__tm_page_drop(struct numem_tmem *t, uint32_t h, struct tm_page *pg, struct tm_bag *bag);
/* Take record h (LONE or OBJ, of hash chain `hash`) off p's table. */
static inline __attribute__((always_inline)) void
numem__tm_unhash(struct numem_tmem *t, struct tm_pool *p, uint32_t h, uint32_t hash)
{
	uint32_t *pp = &p->bucket[tm_bucket(hash, p->nbuckets)];
	while (*pp != h)
		pp = &tm_pg(t, *pp)->hnext; /* (LONE and OBJ: the same offset) */
	*pp = tm_pg(t, h)->hnext;
	p->objects--;
}
/* Everything of a page of p but its tree slot or chain link: LRU, counts,
 * storage, the record (big: a lone one). */
static inline __attribute__((always_inline)) void
numem__tm_page_release(struct numem_tmem *t, struct tm_pool *p, uint32_t h, struct tm_page *pg,
                       unsigned big, struct tm_bag *bag)
{
	if (!(p->flags & NUMEM_TMEM_POOL_PERSISTENT))
		numem__tm_lru_del(t, t->client[pg->client], pg);
	numem__tm_account(t, p, pg, -1);
	if (tm_kind(pg) == TM_DEDUP) {
		numem__tm_dedup_put(t, p, (struct tm_dedup *)(uintptr_t)pg->loc, bag);
	} else {
		struct tm_loc w = numem__tm_page_loc(pg);
		numem__tm_store_free(t, &w, bag);
	}
	numem__tm_rec_free(t, h, big, bag);
}
/* numem__tm_key_drop's case of a page of an object record. */
void numem__tm_obj_page_drop(struct numem_tmem *t, uint32_t h, struct tm_page *pg, uint32_t hash,
                             struct tm_bag *bag);
/* numem__tm_page_drop for a page found by its key (hash: tm_oid_hash of
 * its object id); a lone page's inline. */
static inline __attribute__((always_inline)) void numem__tm_key_drop(struct numem_tmem *t,
                                                                     uint32_t h, struct tm_page *pg,
                                                                     uint32_t hash,
                                                                     struct tm_bag *bag)
{
	if (tm_type(pg) != TM_T_LONE) {
		numem__tm_obj_page_drop(t, h, pg, hash, bag);
		return;
	}
	struct tm_pool *p = t->client[pg->client]->pool[tm_slot(pg)];
	numem__tm_unhash(t, p, h, hash);
	numem__tm_page_release(t, p, h, pg, 1, bag);
}
/* Drop every page of record o (handle oh, in p) and the record. */
uint64_t numem__tm_obj_drop(struct numem_tmem *t, struct tm_pool *p, uint32_t oh, void *o,
                            struct tm_bag *bag);

#endif /* NUMEM_TMEM_INTERNAL_H */
