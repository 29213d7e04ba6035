/*
 * numem/tmem.h - transcendent memory: a pool of otherwise idle memory that
 * guests reach through a small copy-based interface (put, get, flush), whose
 * semantics let numem take the memory back whenever the heap needs it.
 *
 * Model (docs/TMEM.md states every rule and the test that checks it).
 *
 *  Clients.  One per domain (client id = domain id, created on the
 *  domain's first tmem op) plus the host client NUMEM_TMEM_HOST (id 0),
 *  which is also the control plane: only it may issue NUMEM_TMEM_CTL_*.
 *  A client has a weight (its share of tmem when memory is short), a cap
 *  (pages it may hold at most, persistent pages included: its quota), a
 *  codec (compression off, lz4 or zstd) and a frozen bit.
 *
 *  Pools.  A client creates up to NUMEM_TMEM_MAX_POOLS pools, numbered per
 *  client (another client's pool cannot even be named).  A pool is
 *  ephemeral or persistent, private or shared; shared pools are named by a
 *  128-bit UUID that the control plane must first have authorised for the
 *  client (NUMEM_TMEM_CTL_AUTH): a client joining an unauthorised UUID
 *  gets NUMEM_TMEM_EPERM, never a private pool in its stead.  At most
 *  NUMEM_TMEM_MAX_SHARED shared pools exist at once.  Shared persistent
 *  pools are refused (NUMEM_TMEM_EINVAL).
 *
 *  Keys.  (pool, 192-bit object id, 32-bit page index).  Objects live in a
 *  per-pool hash table, pages of an object in a radix tree.
 *
 *  Semantics.  A put over an existing key replaces it; a put that fails
 *  drops whatever was stored at the key before (a failed put never leaves
 *  older data readable).  A put to an ephemeral pool may be refused when
 *  memory is short (NUMEM_TMEM_MISS: the guest keeps going).  A get from a
 *  private ephemeral pool removes the page; from a shared ephemeral or a
 *  persistent pool it does not.  A get returns the data of the last
 *  successful put at that key or misses.  Persistent pages are never
 *  dropped by numem: they stay until flushed, their pool destroyed or
 *  their client destroyed, and count against the client's cap (a put
 *  beyond it: NUMEM_TMEM_EQUOTA).  Ephemeral pages sit on an LRU per
 *  (client, node) ordered by put time (the oldest head over all lists is
 *  the global LRU); they are evicted when the heap asks (tmem's shrinker),
 *  when a client exceeds its cap or, with opts.max_pages reached, its
 *  weighted share, and when a put finds the heap empty (the oldest make
 *  way, up to 16).  Every state change happens under tmem's lock, so an
 *  object flushed or evicted is never seen half gone.
 *
 *  Guest memory.  Put and get name a guest frame; numem translates it
 *  through the domain's p2m and checks the frame is populated and held by
 *  that domain (numem_domain_frame_access), holding it in place for the
 *  copy; anything else is NUMEM_TMEM_EFRAME.  For the host client the
 *  frame is a machine pfn, which must head or lie in an allocated block of
 *  NUMEM_OWNER_HEAP.
 *
 *  Storage.  Stored bytes live in heap pages of owner NUMEM_OWNER_TMEM,
 *  taken with NUMEM_ALLOC_NORECLAIM on the client's node (its first
 *  vcpu's node; the host client: the putting CPU's), falling back by
 *  distance.  Zero pages take no storage (a flag).  A client with a codec
 *  stores compressed pages packed into shared TMEM pages (64-byte chunks);
 *  a page that does not compress below NUMEM_TMEM_COMPRESS_MAX bytes is
 *  stored raw.  A pool created with NUMEM_TMEM_POOL_DEDUP (shared
 *  ephemeral only) stores identical pages once (hash, then memcmp): see
 *  docs/TMEM.md for the cross-guest timing side channel that opens.
 *
 * Return codes of the ops: NUMEM_TMEM_HIT (1: found / stored), NUMEM_TMEM_MISS
 * (0: not found / not stored), or a negative enum numem_tmem_status; with a
 * struct numem_diag given, a negative return also fills it (what and
 * where).  Bad input changes nothing (validate, then mutate), except that
 * a failed put drops the old copy at its key, as stated above.
 *
 * Locks: one spinlock per tmem instance (tmem->lock), in heap.h's lock
 * order: taken with no core lock held or under one domain's lock (the
 * frame access); held across heap calls only for allocations with
 * NUMEM_ALLOC_NORECLAIM (which run no shrinker), never across a free, a
 * slab call or a numem_domain_* call: what an op frees under it is given
 * back after it is dropped.  tmem's shrinker takes it to pick and unlink
 * victims and drops it before giving their pages back to the heap.
 *
 * Layering: tmem depends on heap, slab and domain; domain knows nothing of
 * tmem.  numem_tmem_create() registers a domain destroy hook
 * (numem_domains_add_hook) through which numem_domain_destroy() tears a
 * domain's client down, so a destroyed domain's pools and pages always go.
 */
#ifndef NUMEM_TMEM_H
#define NUMEM_TMEM_H

#include <numem/domain.h>
#include <numem/heap.h>
#include <numem/slab.h>
#include <numem/types.h>

/* ---- Limits and ids ----------------------------------------------------- */

#define NUMEM_TMEM_ABI_VERSION 1u
#define NUMEM_TMEM_HOST        0u  /* the host client; also the control plane */
#define NUMEM_TMEM_MAX_POOLS   16u /* pools per client (ids 0..15) */
#define NUMEM_TMEM_MAX_SHARED  64u /* shared pools in all */
#define NUMEM_TMEM_MAX_AUTH    16u /* authorised UUIDs per client */
#define NUMEM_TMEM_MAX_CLIENTS (NUMEM_OWNER_DOMAIN_MAX + 1u) /* host + every domain id */
/* A compressed page larger than this is stored raw (63 of a page's 64
 * chunks: the first holds the page's header). */
#define NUMEM_TMEM_COMPRESS_MAX   4032u
#define NUMEM_TMEM_WEIGHT_DEFAULT 100u

/* A 128-bit UUID naming a shared pool (bytes in the caller's order). */
struct numem_tmem_uuid {
	uint64_t lo, hi;
};

/* A 192-bit object id. */
struct numem_tmem_oid {
	uint64_t w[3];
};

/* Pool flags (NEW_POOL's `flags`). */
#define NUMEM_TMEM_POOL_PERSISTENT 0x1u /* else ephemeral */
#define NUMEM_TMEM_POOL_SHARED     0x2u /* joined by uuid; ephemeral only */
#define NUMEM_TMEM_POOL_DEDUP      0x4u /* identical pages once; shared ephemeral only */
/* Bits 8..15: log2(page size) - 12; only 0 (4 KiB) is supported. */
#define NUMEM_TMEM_POOL_PAGESHIFT_SHIFT 8
#define NUMEM_TMEM_POOL_PAGESHIFT_MASK  0xffu
#define NUMEM_TMEM_POOL_FLAGS_ALL                                                                  \
	(NUMEM_TMEM_POOL_PERSISTENT | NUMEM_TMEM_POOL_SHARED | NUMEM_TMEM_POOL_DEDUP |             \
	 (NUMEM_TMEM_POOL_PAGESHIFT_MASK << NUMEM_TMEM_POOL_PAGESHIFT_SHIFT))

/* Codecs: a client's compression setting, an index into opts.codec[]. */
enum numem_tmem_codec_id {
	NUMEM_TMEM_CODEC_NONE = 0,
	NUMEM_TMEM_CODEC_LZ4 = 1,
	NUMEM_TMEM_CODEC_ZSTD = 2,
	NUMEM_TMEM_NR_CODECS = 3,
};

/* ---- Return codes ------------------------------------------------------- */

enum numem_tmem_status {
	NUMEM_TMEM_HIT = 1,        /* found (get) / stored (put) / done */
	NUMEM_TMEM_MISS = 0,       /* not found / not stored (ephemeral, memory short) */
	NUMEM_TMEM_EINVAL = -1,    /* a field of the op is outside its range (diag names it) */
	NUMEM_TMEM_ENOSYS = -2,    /* unknown command */
	NUMEM_TMEM_EEMPTY = -3,    /* no pool at that id for this client (an empty slot) */
	NUMEM_TMEM_EFROZEN = -4,   /* the client is frozen: no put, no new pool */
	NUMEM_TMEM_EPERM = -5,     /* not allowed: a control op from a guest, an
				    * unauthorised shared UUID */
	NUMEM_TMEM_EFRAME = -6,    /* the frame is not the caller's (p2m / owner check) */
	NUMEM_TMEM_ENOCLIENT = -7, /* no such domain / client */
	NUMEM_TMEM_ELIMIT = -8,    /* too many pools, shared pools or authorisations */
	NUMEM_TMEM_EQUOTA = -9,    /* persistent put beyond the client's cap */
	NUMEM_TMEM_ENOMEM = -10,   /* metadata could not be allocated (nothing changed
				    * but the dropped old copy) */
	NUMEM_TMEM_ENOSPACE = -11, /* an output buffer is too small (save, list) */
	NUMEM_TMEM_ECORRUPT = -12, /* a restore stream or a stored page is corrupt */
	NUMEM_TMEM_EBUSY = -13,    /* restore into a client that has persistent pages */
};

/* Stable short name ("hit", "miss", "einval", "efrozen", ...). */
const char *numem_tmem_status_name(int status);

/* ---- The op struct: the one entry point's stable ABI ---------------------
 *
 * 96 bytes, little-endian fields at fixed offsets (docs/FORMATS.md, "tmem
 * op"); every field not used by a command must be 0 (checked: EINVAL), so
 * that later versions can give them meaning.
 */
enum numem_tmem_cmd {
	/* guest ops (any client on its own pools) */
	NUMEM_TMEM_NEW_POOL = 1,     /* flags, uuid (shared) -> pool_id */
	NUMEM_TMEM_DESTROY_POOL = 2, /* pool_id */
	NUMEM_TMEM_PUT_PAGE = 3,     /* pool_id, oid, index, gfn */
	NUMEM_TMEM_GET_PAGE = 4,     /* pool_id, oid, index, gfn */
	NUMEM_TMEM_FLUSH_PAGE = 5,   /* pool_id, oid, index */
	NUMEM_TMEM_FLUSH_OBJECT = 6, /* pool_id, oid; out = pages flushed */
	/* control ops (the host client only); `client` names the target */
	NUMEM_TMEM_CTL_AUTH = 16,     /* uuid; arg 1 authorise, 0 revoke */
	NUMEM_TMEM_CTL_WEIGHT = 17,   /* arg: weight 1..10000 */
	NUMEM_TMEM_CTL_CAP = 18,      /* arg: pages, 0 = no cap */
	NUMEM_TMEM_CTL_COMPRESS = 19, /* arg: enum numem_tmem_codec_id */
	NUMEM_TMEM_CTL_FREEZE = 20,   /* */
	NUMEM_TMEM_CTL_THAW = 21,     /* */
	NUMEM_TMEM_CTL_FLUSH = 22,    /* arg: ephemeral pages to evict; out = evicted */
	NUMEM_TMEM_CTL_FREEABLE = 23, /* out = pages (all clients with client = ~0u) */
	NUMEM_TMEM_CTL_DESTROY = 24,  /* destroy the client, pools and pages */
};

#define NUMEM_TMEM_ALL_CLIENTS 0xffffffffu /* CTL_FLUSH, CTL_FREEABLE: every client */

struct numem_tmem_op {
	uint32_t cmd;      /*  0: enum numem_tmem_cmd */
	uint32_t pool_id;  /*  4: the caller's pool (NEW_POOL: set on return) */
	uint64_t oid[3];   /*  8: object id (PUT, GET, FLUSH_*) */
	uint32_t index;    /* 32: page index (PUT, GET, FLUSH_PAGE) */
	uint32_t flags;    /* 36: NEW_POOL: NUMEM_TMEM_POOL_*; else 0 */
	uint64_t gfn;      /* 40: PUT reads / GET writes this guest frame */
	uint64_t uuid[2];  /* 48: NEW_POOL shared, CTL_AUTH: lo, hi */
	uint32_t client;   /* 64: control ops: the target client */
	uint32_t pad;      /* 68: 0 */
	uint64_t arg;      /* 72: control ops: the value */
	uint64_t out;      /* 80: set on return (FLUSH_OBJECT, CTL_FLUSH, CTL_FREEABLE) */
	uint64_t reserved; /* 88: 0 */
};

_Static_assert(sizeof(struct numem_tmem_op) == 96, "tmem op ABI: 96 bytes");
_Static_assert(offsetof(struct numem_tmem_op, gfn) == 40 &&
                   offsetof(struct numem_tmem_op, client) == 64 &&
                   offsetof(struct numem_tmem_op, reserved) == 88,
               "tmem op ABI: field offsets (docs/FORMATS.md)");

struct numem_tmem;

/*
 * The one entry point: run `op` on behalf of client `caller` (a domain id,
 * or NUMEM_TMEM_HOST) on CPU `cpu`.  Returns an enum numem_tmem_status.
 * Every field is checked before anything changes; garbage (an unknown
 * cmd, a pool id out of range, flags or reserved bits set, a frame the
 * caller does not own) gets its negative code and the diag names the
 * field and its value.  A guest's first op creates its client (its
 * domain must exist: else ENOCLIENT).
 */
int numem_tmem_op(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                  struct numem_tmem_op *op, struct numem_diag *diag);

/* Typed wrappers (each builds an op and calls numem_tmem_op). */
int numem_tmem_new_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                        uint32_t flags, const struct numem_tmem_uuid *uuid, uint32_t *pool_id,
                        struct numem_diag *diag);
int numem_tmem_destroy_pool(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                            uint32_t pool_id, struct numem_diag *diag);
int numem_tmem_put(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller, uint32_t pool_id,
                   const struct numem_tmem_oid *oid, uint32_t index, uint64_t gfn,
                   struct numem_diag *diag);
int numem_tmem_get(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller, uint32_t pool_id,
                   const struct numem_tmem_oid *oid, uint32_t index, uint64_t gfn,
                   struct numem_diag *diag);
int numem_tmem_flush_page(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                          uint32_t pool_id, const struct numem_tmem_oid *oid, uint32_t index,
                          struct numem_diag *diag);
/* *flushed (may be NULL): pages the object held. */
int numem_tmem_flush_object(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t caller,
                            uint32_t pool_id, const struct numem_tmem_oid *oid, uint64_t *flushed,
                            struct numem_diag *diag);

/* Control plane (caller NUMEM_TMEM_HOST; each is one CTL_* op). */
int numem_tmem_ctl(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t cmd, uint32_t client,
                   uint64_t arg, uint64_t *out, struct numem_diag *diag);
int numem_tmem_authorise(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                         const struct numem_tmem_uuid *uuid, bool allow, struct numem_diag *diag);

/* ---- Codecs ------------------------------------------------------------- */

/*
 * A compressor, given at numem_tmem_create (the hosted build's lz4 and
 * zstd: numem_host_tmem_codec_create in host.h).  compress runs with no
 * tmem lock held (a put: under the guest's domain lock); decompress runs
 * with no lock for a get, under tmem's lock for save and dedup compares.
 * `cpu` is the calling CPU's id (< the heap's nr_cpus): per-CPU state may
 * be kept by it, as two CPUs may call at once.
 *  compress    4096 bytes at src into dst (cap bytes): the compressed
 *              length, or 0 when it does not fit (the page is stored raw).
 *  decompress  len bytes at src into exactly 4096 bytes at dst: 0, or -1
 *              for input that does not decompress to exactly a page.
 */
struct numem_tmem_codec {
	const char *name; /* "lz4", "zstd" */
	size_t (*compress)(void *ctx, uint32_t cpu, const void *src, void *dst, size_t cap);
	int (*decompress)(void *ctx, uint32_t cpu, const void *src, size_t len, void *dst);
	void *ctx;
};

/* ---- Lifecycle ---------------------------------------------------------- */

struct numem_tmem_opts {
	/* Pages tmem may hold at most over all clients (0: no limit but the
	 * heap's): when reached, a put evicts ephemeral pages of the client
	 * most above its weighted share first. */
	uint64_t max_pages;
	/* Default cap of a new client in pages (0: none). */
	uint64_t default_cap;
	/* Default codec of a new client (its codec must be given). */
	enum numem_tmem_codec_id default_codec;
	/* Codecs by id (index 0 unused); NULL entries are unavailable. */
	const struct numem_tmem_codec *codec[NUMEM_TMEM_NR_CODECS];
	/* Optional: copies one 4096-byte page from src to dst, both
	 * 4096-aligned and not overlapping: a raw page's put (frame -> store)
	 * and get (store -> frame), run under tmem's lock; tmem never calls
	 * it with a pointer that is not 4096-aligned (a save's or restore's
	 * page in the caller's stream takes memcpy).  NULL: memcpy.
	 * For a routine faster than the C library's memcpy for this one case
	 * (the hosted build's: numem_host_tmem_copy_page in host.h; a kernel:
	 * its copy_page). */
	void (*copy_page)(void *dst, const void *src);
};

/*
 * Set up tmem over a heap (with phys_to_virt), a slab (metadata) and the
 * domain manager (may be NULL: host client only).  Registers tmem's
 * shrinker with the heap and a destroy hook with the domains.  Metadata of
 * the instance (clients table, per-CPU scratch) comes from the platform;
 * the host client's record from the slab through CPU 0's handle, so no
 * other thread may be using that handle meanwhile (a CPU handle serves one
 * thread at a time: call it at boot or from CPU 0).
 * NUMEM_E_INVAL / NUMEM_E_UNSUPPORTED / NUMEM_E_NOMEM with diag.
 */
enum numem_err numem_tmem_create(struct numem_heap *heap, struct numem_slab *slab,
                                 struct numem_domains *doms, const struct numem_tmem_opts *opts,
                                 struct numem_tmem **out, struct numem_diag *diag);
/* Destroy every client (all pages back to the heap), unregister, free. */
void numem_tmem_release(struct numem_tmem *t, struct numem_cpu *cpu);

/* Destroy one client, its pools (leaving shared ones) and its pages; the
 * domain hook calls it.  ENOCLIENT when there is none; EPERM for the host
 * client (the control plane goes only with numem_tmem_release). */
int numem_tmem_client_destroy(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                              struct numem_diag *diag);

/* Give back up to `pages` ephemeral pages (as the shrinker does: on `node`
 * first, NUMEM_NID_NONE: any); returns heap pages freed. */
uint64_t numem_tmem_shrink(struct numem_tmem *t, struct numem_cpu *cpu, numem_nid_t node,
                           uint64_t pages);

/*
 * Relayout (include/numem/relayout.h): the pfns [first, first + nr) now
 * belong to node `node`.  Re-accounts tmem pages stored there (per-node
 * counts, which (client, node) LRU they sit on); the data stays where it
 * is.  numem_tmem_create() subscribes the instance to the heap's relayout
 * notifier, which does the same for every change of a commit in one walk
 * (and numem_tmem_release() unsubscribes): callers need this only for a
 * layout change the heap did not commit itself.
 */
void numem_tmem_relayout_reaccount(struct numem_tmem *t, numem_pfn_t first, uint64_t nr,
                                   numem_nid_t node);

/* ---- Statistics and listing --------------------------------------------- */

struct numem_tmem_stats {
	uint64_t puts, puts_stored, puts_failed; /* put ops; stored; refused or failed */
	uint64_t gets, hits, misses;             /* get ops; found; not found */
	uint64_t flushes, flush_objects;         /* flush-page and flush-object ops */
	uint64_t evictions;                      /* ephemeral pages dropped by numem */
	uint64_t pages;                          /* stored now (ephemeral + persistent) */
	uint64_t pages_ephemeral, pages_persistent;
	uint64_t zero_pages;       /* stored now as a flag */
	uint64_t dedup_pages;      /* stored now as references to an identical page */
	uint64_t compressed_pages; /* stored now compressed */
	uint64_t bytes_stored;     /* logical bytes stored now (pages * 4096) */
	uint64_t bytes_used;       /* bytes of TMEM pages holding them (chunks, raw pages) */
};

struct numem_tmem_pool_info {
	uint32_t client, pool_id, flags;
	struct numem_tmem_uuid uuid; /* shared pools */
	uint32_t sharers;            /* clients that joined (shared) */
	uint64_t objects;
	/* bytes of its objects' radix nodes and leaves: the metadata its
	 * puts are charged (at most 1 KiB per page it holds plus 6 KiB,
	 * docs/TMEM.md "Metadata") */
	uint64_t radix_bytes;
	struct numem_tmem_stats stats;
};

struct numem_tmem_client_info {
	uint32_t client;
	uint32_t weight;
	uint64_t cap; /* pages, 0: none */
	enum numem_tmem_codec_id codec;
	bool frozen;
	numem_nid_t node; /* where its pages go first */
	uint32_t nr_pools;
	uint64_t radix_bytes; /* of the pools it holds (a shared pool's whole) */
	struct numem_tmem_stats stats;
	uint64_t pages_on_node[NUMEM_MAX_NODES];
};

struct numem_tmem_info {
	uint32_t nr_clients, nr_shared;
	uint64_t heap_pages;     /* TMEM-owned heap pages held now (data) */
	uint64_t metadata_bytes; /* slab bytes of objects, page descriptors, tree nodes */
	uint64_t pages_on_node[NUMEM_MAX_NODES]; /* heap pages held, by node */
	struct numem_tmem_stats stats;           /* over all clients */
	uint64_t shrinker_calls, shrinker_freed;
	uint64_t max_evict_batch; /* the most pages one shrink request evicted */
};

/* Totals.  Consistent (taken under the lock). */
void numem_tmem_info(struct numem_tmem *t, struct numem_tmem_info *out);
/* Clients in id order into out[0..cap); returns how many exist (more than
 * cap: the rest left out). */
uint32_t numem_tmem_list_clients(struct numem_tmem *t, struct numem_tmem_client_info *out,
                                 uint32_t cap);
/* One client's pools in id order; returns how many it has, or a negative
 * status (ENOCLIENT). */
int numem_tmem_list_pools(struct numem_tmem *t, uint32_t client, struct numem_tmem_pool_info *out,
                          uint32_t cap);

/* ---- Save / restore (migration) ----------------------------------------- */

/*
 * Save every persistent page of `client` into buf (format: docs/FORMATS.md,
 * "tmem save stream"): *len is set to the bytes needed; with buf NULL or
 * cap too small nothing is written and NUMEM_TMEM_ENOSPACE returned (buf
 * NULL: NUMEM_TMEM_HIT with *len, to size a buffer).  Freeze the client
 * first for a consistent image.  Returns NUMEM_TMEM_HIT.
 */
int numem_tmem_save(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client, void *buf,
                    size_t cap, size_t *len, struct numem_diag *diag);
/*
 * Recreate a saved client's persistent pools (same ids) and pages, byte
 * for byte, in `client` (created if needed; it must hold no pool at those
 * ids: EBUSY).  The stream is checked whole before anything is created
 * (ECORRUPT with the byte offset).  Pages are stored under the client's
 * current codec; the cap is not applied (nothing of a migrating guest is
 * lost).  ENOMEM part-way destroys what the restore created.
 */
int numem_tmem_restore(struct numem_tmem *t, struct numem_cpu *cpu, uint32_t client,
                       const void *buf, size_t len, struct numem_diag *diag);

/*
 * The invariant walk: every page in exactly one object tree and on the LRU
 * it should be, counts equal the pages stored, every stored pfn a TMEM
 * block, chunk maps agree with the pages pointing into them.  Needs tmem
 * quiescent.  NUMEM_E_CORRUPT naming the pool, object and index.
 */
enum numem_err numem_tmem_verify(struct numem_tmem *t, struct numem_diag *diag);

#endif /* NUMEM_TMEM_H */
