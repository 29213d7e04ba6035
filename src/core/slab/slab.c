/*
 * slab.c - object caches over the page allocator (see numem/slab.h).
 *
 * Slab layout (16 KiB, naturally aligned):
 *   [header: magic, cache, node, pfn, list links, counts, free list head,
 *    held byte per object][objects ...]
 * A free object holds the index of the next free object of its slab in its
 * first 4 bytes.  An object's `held` byte is 1 while a user holds it and 0
 * while it is free (on the slab's free list or in a magazine), so a double
 * free is caught exactly.
 *
 * A large allocation (above the biggest class) is a block of 2^k pages,
 * k >= 2, with a small header of the same magic layout at its start; the
 * user's pointer is just past it.  The largest is a max-order block less
 * the header (NUMEM_KMALLOC_MAX); a larger size is refused before any
 * arithmetic on it.
 *
 * Page type (Linux's PageSlab): slab pages are heap blocks owned by
 * NUMEM_OWNER_SLAB, large allocations blocks owned by NUMEM_OWNER_SLAB_LARGE,
 * and the head descriptor's owner word holds the header's address.  A
 * header is in-band, where a caller can write, so numem_kfree() trusts one
 * only after the heap says that the pfn it names heads an allocated block
 * of that owner whose owner word is that very header (header_ok()); every
 * check comes before the first write.
 */
#include <numem/slab.h>

#include "../lib/internal.h"
#include "../lib/list.h"
#include "../lib/spinlock.h"

#define SLAB_MAGIC  0x534c4142u /* "SLAB" */
#define LARGE_MAGIC 0x4c415247u /* "LARG" */
#define NO_OBJ      UINT32_MAX

struct numem_slab_hdr {
	uint32_t magic;
	numem_nid_t node;
	uint16_t order; /* large allocations */
	struct numem_cache *cache;
	uint64_t pfn;
	struct numem_slab_hdr *next, *prev;
	uint32_t inuse;     /* objects not on the free list */
	uint32_t free_head; /* first free object, NO_OBJ if none */
	/* 1 while a user holds the object.  A byte each, not a bit: objects of
	 * one slab are handed out and freed on different CPUs at once, and a
	 * byte needs no atomic read-modify-write. */
	uint8_t held[NUMEM_SLAB_MAX_OBJS];
};

#define LARGE_HDR NUMEM_SLAB_LARGE_HDR
_Static_assert(sizeof(struct numem_slab_hdr) - NUMEM_SLAB_MAX_OBJS <= LARGE_HDR,
               "a large allocation's header fits before its user pointer");

static const uint16_t class_sizes[] = {16,  32,  48,  64,   96,   128,  192,  256,
                                       384, 512, 768, 1024, 1536, 2048, 3072, 4032};

static inline struct numem_slab_hdr *slab_of(const void *ptr)
{
	return (struct numem_slab_hdr *)((uintptr_t)ptr & ~(uintptr_t)(NUMEM_SLAB_BYTES - 1));
}

static inline void *obj_at(const struct numem_cache *c, struct numem_slab_hdr *h, uint32_t i)
{
	return (uint8_t *)h + c->offset + (size_t)i * c->size;
}

/*
 * An object's held byte.  A free clears it with held_claim(): with
 * NUMEM_FREE_CAS (debug builds, or the build option; see lib/internal.h)
 * an atomic exchange, so of two CPUs freeing one object at the same moment
 * exactly one sees 1 and the other gets NUMEM_E_DOUBLE_FREE; without it a
 * load and a store (two CPUs freeing one object at once is then the
 * caller's bug, as for numem_free).
 */
static inline void held_set(uint8_t *held)
{
#ifdef NUMEM_FREE_CAS
	__atomic_store_n(held, 1, __ATOMIC_RELAXED);
#else
	*held = 1;
#endif
}

static inline bool held_claim(uint8_t *held)
{
#ifdef NUMEM_FREE_CAS
	return __atomic_exchange_n(held, 0, __ATOMIC_RELAXED) != 0;
#else
	if (!*held)
		return false;
	*held = 0;
	return true;
#endif
}

static inline uint32_t *next_of(void *obj)
{
	return (uint32_t *)obj;
}

/* Index of the object at `o` (exact for the < 16 KiB offsets of a slab:
 * the reciprocal's error stays below one object). */
static inline uint32_t obj_index(const struct numem_cache *c, const struct numem_slab_hdr *hd,
                                 const void *o)
{
	uint64_t off = (uint64_t)((const uint8_t *)o - (const uint8_t *)hd - c->offset);
	return (uint32_t)((off * c->recip) >> 32);
}

_Static_assert(sizeof(struct numem_slab_mag) % 64 == 0, "magazines of two CPUs share no line");

static inline struct numem_slab_mag *mag_of(const struct numem_cpu *cpu,
                                            const struct numem_cache *c)
{
	return &c->mag[cpu->id];
}

static void cache_setup(struct numem_cache *c, struct numem_slab *s, const char *name,
                        uint32_t size, uint32_t align)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 23 && name[i]; i++)
		c->name[i] = name[i];
	c->slab = s;
	c->index = s->nr_caches++;
	c->mag = &s->mag[(size_t)c->index * s->heap->nr_cpus];
	c->align = align;
	c->size = (uint32_t)numem__align_up(size < 4 ? 4 : size, align);
	c->offset = (uint32_t)numem__align_up(sizeof(struct numem_slab_hdr), align);
	c->per_slab = (NUMEM_SLAB_BYTES - c->offset) / c->size;
	c->recip = (uint32_t)(((1ull << 32) + c->size - 1) / c->size);
	if (c->per_slab > NUMEM_SLAB_MAX_OBJS)
		c->per_slab = NUMEM_SLAB_MAX_OBJS;
}

static uint64_t slab_shrinker(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	(void)node;
	(void)pages;
	return numem_slab_shrink(ctx, cpu);
}

enum numem_err numem_slab_init(struct numem_slab *s, struct numem_heap *heap,
                               struct numem_diag *diag)
{
	if (!heap || !heap->plat->phys_to_virt)
		return numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
		                   "numem_slab_init: the platform has no phys_to_virt: slabs need "
		                   "to reach page contents");
	memset(s, 0, sizeof(*s));
	s->heap = heap;
	if (!numem__mul_ok((size_t)heap->nr_cpus, NUMEM_SLAB_CACHES * sizeof(struct numem_slab_mag),
	                   &s->mag_bytes)) {
		s->heap = 0;
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_slab_init: %u CPUs' magazines overflow a size_t",
		                   heap->nr_cpus);
	}
	s->mag = numem__meta_alloc(heap->plat, s->mag_bytes, NUMEM_NID_NONE);
	if (!s->mag)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_slab_init: no metadata memory for %zu bytes of magazines",
		                   s->mag_bytes);
	/* Reads as zero (platform.h): a CPU's magazines are touched when it
	 * first uses them. */
	char name[24];
	for (uint32_t i = 0; i < NUMEM_ARRAY_SIZE(class_sizes); i++) {
		numem__fmt(name, sizeof(name), "kmalloc-%u", class_sizes[i]);
		cache_setup(&s->cache[s->nr_caches], s, name, class_sizes[i], 16);
	}
	s->nr_classes = s->nr_caches;
	for (uint32_t q = 0; q < 256; q++) {
		uint32_t bytes = q * 16, c = 0;
		while (c < s->nr_classes && class_sizes[c] < bytes)
			c++;
		s->class_of[q] = (uint8_t)(c < s->nr_classes ? c : 0xff);
	}
	s->shrinker = (struct numem_shrinker){.scan = slab_shrinker, .ctx = s};
	numem_heap_register_shrinker(heap, &s->shrinker);
	return NUMEM_OK;
}

struct numem_cache *numem_cache_create(struct numem_slab *s, const char *name, size_t size,
                                       size_t align, struct numem_diag *diag)
{
	if (!align)
		align = 16;
	if (!name)
		name = "(unnamed)";
	if (!size || size > class_sizes[NUMEM_ARRAY_SIZE(class_sizes) - 1] ||
	    (align & (align - 1)) || align > 4096) {
		numem__fail(
		    diag, NUMEM_E_INVAL, 0, 0,
		    "numem_cache_create: %s: size %zu must be 1..%u and align %zu a power of "
		    "two up to 4096",
		    name, size, class_sizes[NUMEM_ARRAY_SIZE(class_sizes) - 1], align);
		return 0;
	}
	if (s->nr_caches == NUMEM_SLAB_CACHES) {
		numem__fail(diag, NUMEM_E_NOSPACE, 0, 0,
		            "numem_cache_create: %s: all %u caches in use", name,
		            NUMEM_SLAB_CACHES);
		return 0;
	}
	struct numem_cache *c = &s->cache[s->nr_caches];
	cache_setup(c, s, name, (uint32_t)size, (uint32_t)align);
	if (!c->per_slab) {
		s->nr_caches--;
		numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		            "numem_cache_create: %s: size %zu with align %zu leaves no room in a "
		            "slab",
		            name, size, align);
		return 0;
	}
	return c;
}

/* Widen the span of addresses slabs have had (rare: new blocks only). */
static void note_span(struct numem_slab *s, const void *block, size_t bytes)
{
	uintptr_t lo = (uintptr_t)block, hi = lo + bytes;
	uintptr_t cur = atomic_load(&s->lo);
	while ((cur == 0 || lo < cur) && !atomic_compare_exchange_weak(&s->lo, &cur, lo))
		;
	cur = atomic_load(&s->hi);
	while (hi > cur && !atomic_compare_exchange_weak(&s->hi, &cur, hi))
		;
}

/*
 * The address of a block just allocated for `owner`, recorded in its head
 * descriptor's owner word.  A block the platform cannot map (phys_to_virt
 * gives NULL) or whose word cannot be set goes back to the heap: NULL with
 * diag filled.
 */
static void *map_block(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order, uint16_t owner,
                       struct numem_diag *diag)
{
	struct numem_heap *h = cpu->heap;
	void *v = h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(pfn));
	enum numem_err err =
	    v ? numem_heap_set_private(h, pfn, order, owner, (uintptr_t)v, diag)
	      : numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
	                    "slab: pfn 0x%llx (order %u) has no mapping (phys_to_virt gave NULL)",
	                    (unsigned long long)pfn.v, order);
	if (err) {
		numem_free_owned(cpu, pfn, order, owner, 0);
		return 0;
	}
	return v;
}

/* A fresh slab from the heap on the CPU's node (falling back as the heap
 * does).  Called with no lock held. */
static struct numem_slab_hdr *slab_new(struct numem_cpu *cpu, struct numem_cache *c,
                                       struct numem_diag *diag)
{
	struct numem_heap *h = cpu->heap;
	numem_pfn_t pfn;
	if (numem_alloc_owned(cpu, NUMEM_SLAB_ORDER, 0, NULL, NUMEM_OWNER_SLAB, &pfn, diag) !=
	    NUMEM_OK)
		return 0;
	struct numem_slab_hdr *hd = map_block(cpu, pfn, NUMEM_SLAB_ORDER, NUMEM_OWNER_SLAB, diag);
	if (!hd)
		return 0;
	memset(hd, 0, sizeof(*hd));
	hd->magic = SLAB_MAGIC;
	hd->cache = c;
	hd->pfn = pfn.v;
	hd->node = numem_page_node(numem_pfn_to_page(h->ft, pfn));
	hd->free_head = 0;
	note_span(c->slab, hd, NUMEM_SLAB_BYTES);
	for (uint32_t i = 0; i < c->per_slab; i++)
		*next_of(obj_at(c, hd, i)) = i + 1 < c->per_slab ? i + 1 : NO_OBJ;
	return hd;
}

/* Fill the magazine to half from the CPU's node. */
static bool refill(struct numem_slab *s, struct numem_cpu *cpu, struct numem_cache *c,
                   struct numem_slab_mag *m, struct numem_diag *diag)
{
	struct numem_cache_node *cn = &c->node[cpu->mem_node];
	uint32_t want = NUMEM_SLAB_MAG / 2;
	for (int attempt = 0; attempt < 2 && m->n < want; attempt++) {
		numem__lock(&cn->lock);
		while (m->n < want) {
			struct numem_slab_hdr *hd = cn->partial ? cn->partial : cn->empty;
			if (!hd)
				break;
			if (hd == cn->empty) {
				numem__list_del(&cn->empty, hd);
				cn->nr_empty--;
				numem__list_add(&cn->partial, hd);
			}
			while (m->n < want && hd->free_head != NO_OBJ) {
				void *o = obj_at(c, hd, hd->free_head);
				hd->free_head = *next_of(o);
				hd->inuse++;
				cn->objs_in_slabs++;
				m->obj[m->n++] = o;
			}
			if (hd->free_head == NO_OBJ) {
				numem__list_del(&cn->partial, hd);
				numem__list_add(&cn->full, hd);
			}
		}
		c->allocs_slow++;
		numem__unlock(&cn->lock);
		if (m->n || attempt)
			break;
		struct numem_slab_hdr *hd = slab_new(cpu, c, diag);
		if (!hd)
			return false;
		cn = &c->node[hd->node];
		numem__lock(&cn->lock);
		numem__list_add(&cn->partial, hd);
		cn->nr_slabs++;
		c->slabs_created++;
		numem__unlock(&cn->lock);
	}
	(void)s;
	return m->n > 0;
}

/* Put one free object back on its slab (node cache lock held).  Returns the
 * slab if it became empty and should go back to the heap. */
static struct numem_slab_hdr *put_back(struct numem_cache *c, struct numem_cache_node *cn,
                                       struct numem_slab_hdr *hd, void *o)
{
	numem__lock_assert_held(0, &cn->lock);
	uint32_t i = obj_index(c, hd, o);
	bool was_full = hd->free_head == NO_OBJ;
	*next_of(o) = hd->free_head;
	hd->free_head = i;
	hd->inuse--;
	cn->objs_in_slabs--;
	if (was_full) {
		numem__list_del(&cn->full, hd);
		numem__list_add(&cn->partial, hd);
	}
	if (hd->inuse == 0) {
		numem__list_del(&cn->partial, hd);
		if (cn->nr_empty < NUMEM_SLAB_KEEP) {
			numem__list_add(&cn->empty, hd);
			cn->nr_empty++;
		} else {
			cn->nr_slabs--;
			c->slabs_freed++;
			return hd;
		}
	}
	return 0;
}

static void slab_give_back(struct numem_cpu *cpu, struct numem_slab_hdr *hd)
{
	hd->magic = 0;
	numem_free_owned(cpu, numem_pfn(hd->pfn), NUMEM_SLAB_ORDER, NUMEM_OWNER_SLAB, 0);
}

/* Flush `count` objects of a magazine back to their slabs. */
static void flush(struct numem_cpu *cpu, struct numem_cache *c, struct numem_slab_mag *m,
                  uint32_t count)
{
	while (count--) {
		void *o = m->obj[--m->n];
		struct numem_slab_hdr *hd = slab_of(o);
		struct numem_cache_node *cn = &c->node[hd->node];
		numem__lock(&cn->lock);
		struct numem_slab_hdr *gone = put_back(c, cn, hd, o);
		c->frees_slow++;
		numem__unlock(&cn->lock);
		if (gone)
			slab_give_back(cpu, gone);
	}
}

/* Take the top object of a magazine that holds one; mark it held. */
static inline __attribute__((always_inline)) void *mag_pop(struct numem_cache *c,
                                                           struct numem_slab_mag *m)
{
	void *o = m->obj[--m->n];
	struct numem_slab_hdr *hd = slab_of(o);
	held_set(&hd->held[obj_index(c, hd, o)]);
	return o;
}

/* An allocation the fast path could not serve: bad arguments, or an empty
 * magazine to refill from the slabs. */
__attribute__((noinline)) static void *
cache_alloc_slow(struct numem_cpu *cpu, struct numem_cache *c, struct numem_diag *diag)
{
	if (!cpu || !c) {
		numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_cache_alloc: no cpu or cache");
		return 0;
	}
	struct numem_slab *s = c->slab;
	struct numem_slab_mag *m = mag_of(cpu, c);
	if (m->n == 0 && !refill(s, cpu, c, m, diag))
		return 0;
	return mag_pop(c, m);
}

/* The fast path (numem_cache_alloc and numem_kmalloc's size classes): pop
 * the CPU's magazine. */
static inline __attribute__((always_inline)) void *
cache_alloc_fast(struct numem_cpu *cpu, struct numem_cache *c, struct numem_diag *diag)
{
	if (__builtin_expect(cpu != 0 && c != 0, 1)) {
		struct numem_slab_mag *m = mag_of(cpu, c);
		if (__builtin_expect(m->n != 0, 1))
			return mag_pop(c, m);
	}
	return cache_alloc_slow(cpu, c, diag);
}

void *numem_cache_alloc(struct numem_cpu *cpu, struct numem_cache *c, struct numem_diag *diag)
{
	return cache_alloc_fast(cpu, c, diag);
}

__attribute__((noinline)) static void *large_alloc(struct numem_slab *s, struct numem_cpu *cpu,
                                                   size_t size, struct numem_diag *diag)
{
	/* size <= NUMEM_KMALLOC_MAX (numem_kmalloc checked): no overflow. */
	size_t bytes = size + LARGE_HDR;
	unsigned order = NUMEM_SLAB_ORDER;
	while (((size_t)NUMEM_PAGE_SIZE << order) < bytes)
		order++;
	numem_pfn_t pfn;
	if (numem_alloc_owned(cpu, order, 0, NULL, NUMEM_OWNER_SLAB_LARGE, &pfn, diag) != NUMEM_OK)
		return 0;
	struct numem_slab_hdr *hd = map_block(cpu, pfn, order, NUMEM_OWNER_SLAB_LARGE, diag);
	if (!hd)
		return 0;
	note_span(s, hd, NUMEM_PAGE_SIZE << order);
	hd->magic = LARGE_MAGIC;
	hd->order = (uint16_t)order;
	hd->pfn = pfn.v;
	atomic_fetch_add(&s->large_blocks, 1);
	return (uint8_t *)hd + LARGE_HDR;
}

void *numem_kmalloc(struct numem_slab *s, struct numem_cpu *cpu, size_t size,
                    struct numem_diag *diag)
{
	/* Below 256 * 16 - 15 bytes, (size + 15) / 16 < 256 cannot wrap. */
	if (__builtin_expect(size < 256 * 16 - 15, 1)) {
		uint8_t c = s->class_of[(size + 15) / 16];
		if (c != 0xff)
			return cache_alloc_fast(cpu, &s->cache[c], diag);
	}
	if (size > NUMEM_KMALLOC_MAX) {
		numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		            "numem_kmalloc: %zu bytes is more than the largest allocation, %zu "
		            "(a max-order block of %zu bytes less the %u-byte header)",
		            size, (size_t)NUMEM_KMALLOC_MAX,
		            (size_t)NUMEM_PAGE_SIZE << NUMEM_MAX_ORDER, LARGE_HDR);
		return 0;
	}
	return large_alloc(s, cpu, size, diag);
}

/* A full magazine: flush half of it to the slabs, then push. */
__attribute__((noinline)) static enum numem_err
flush_push(struct numem_cpu *cpu, struct numem_cache *c, struct numem_slab_mag *m, void *ptr)
{
	flush(cpu, c, m, NUMEM_SLAB_MAG / 2);
	m->obj[m->n++] = ptr;
	return NUMEM_OK;
}

/* Put a freed object (held byte already cleared) into the CPU's magazine;
 * the flush of a full one is out of line, so the push needs no frame. */
static inline __attribute__((always_inline)) enum numem_err
mag_push(struct numem_cpu *cpu, struct numem_cache *c, void *ptr)
{
	struct numem_slab_mag *m = mag_of(cpu, c);
	if (__builtin_expect(m->n == NUMEM_SLAB_MAG, 0))
		return flush_push(cpu, c, m, ptr);
	m->obj[m->n++] = ptr;
	return NUMEM_OK;
}

/*
 * May the in-band header `hd` be trusted?  Only when the heap says that the
 * pfn it names heads an allocated block held by `owner` (of the slab order
 * for a slab) whose owner word is `hd` itself: a header a caller forged
 * inside its own memory names either a pfn that is not such a head or one
 * whose word is another address.  Reads only; diag says what failed.
 */
static inline __attribute__((always_inline)) bool
header_ok(struct numem_slab *s, const struct numem_slab_hdr *hd, uint16_t owner, unsigned *order)
{
	return numem_heap_holds(s->heap, numem_pfn(hd->pfn), owner, (uintptr_t)hd, order) &&
	       (owner == NUMEM_OWNER_SLAB ? *order == NUMEM_SLAB_ORDER
	                                  : *order >= NUMEM_SLAB_ORDER);
}

/* header_ok() said no: ask the heap in full, to say what the pfn is. */
__attribute__((noinline, cold)) static enum numem_err
header_refused(struct numem_slab *s, const void *ptr, const struct numem_slab_hdr *hd,
               uint16_t owner, struct numem_diag *diag)
{
	uint64_t pfn = hd->pfn;
	struct numem_heap_block b;
	enum numem_page_state st = numem_heap_block_of(s->heap, numem_pfn(pfn), &b);
	const char *what = owner == NUMEM_OWNER_SLAB ? "slab" : "large allocation";
	if ((st == NUMEM_PS_FREE || st == NUMEM_PS_PCP) && b.head.v == pfn)
		return numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "numem_kfree: %p: the %s at pfn 0x%llx is already free", ptr,
		                   what, (unsigned long long)pfn);
	return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
	                   "numem_kfree: %p: forged or stale header at %p: pfn 0x%llx heads "
	                   "no %s block with it (state %u, order %u, owner 0x%x); nothing "
	                   "freed",
	                   ptr, (const void *)hd, (unsigned long long)pfn, what, (unsigned)st,
	                   b.order, b.owner);
}

/* A large allocation: every check (reads only), then the claim: the magic
 * word goes from LARGE_MAGIC to 0 in one compare-and-swap, so of two CPUs
 * freeing one block at once exactly one goes on (the other gets
 * NUMEM_E_DOUBLE_FREE), then the counter and the heap's free.  Once the
 * block is claimed nothing is written to it again: if the heap refuses
 * (someone freed the block behind the slab's back) the block is not ours
 * to write, and the error says so.  (The old code put the magic back
 * after a refused free, into a page the winner of a racing free had
 * already given back.) */
static enum numem_err large_free(struct numem_slab *s, struct numem_cpu *cpu, void *ptr,
                                 struct numem_slab_hdr *hd, struct numem_diag *diag)
{
	if ((uint8_t *)ptr != (uint8_t *)hd + LARGE_HDR)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_kfree: %p points inside a large allocation (it starts "
		                   "at %p)",
		                   ptr, (void *)((uint8_t *)hd + LARGE_HDR));
	unsigned order; /* the heap's, not the header's */
	if (!header_ok(s, hd, NUMEM_OWNER_SLAB_LARGE, &order))
		return header_refused(s, ptr, hd, NUMEM_OWNER_SLAB_LARGE, diag);
	numem_pfn_t pfn = numem_pfn(hd->pfn);
	uint32_t magic = LARGE_MAGIC;
	if (!__atomic_compare_exchange_n(&hd->magic, &magic, 0, false, __ATOMIC_RELAXED,
	                                 __ATOMIC_RELAXED))
		return numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "numem_kfree: %p: the large allocation at pfn 0x%llx was freed "
		                   "by another CPU at the same moment",
		                   ptr, (unsigned long long)pfn.v);
	atomic_fetch_sub(&s->large_blocks, 1);
	return numem_free_owned(cpu, pfn, order, NUMEM_OWNER_SLAB_LARGE, diag);
}

/* Every free the fast path does not finish: a NULL pointer, a large
 * allocation, a magazine to flush, and every error, checked again in order
 * to say which (the fast path wrote nothing before it gave up). */
__attribute__((noinline)) static enum numem_err
kfree_slow(struct numem_slab *s, struct numem_cpu *cpu, void *ptr, struct numem_diag *diag)
{
	if (!ptr)
		return NUMEM_OK;
	if (__builtin_expect(!cpu, 0))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_kfree: %p: no cpu", ptr);
	if ((uintptr_t)ptr < atomic_load_explicit(&s->lo, memory_order_relaxed) ||
	    (uintptr_t)ptr >= atomic_load_explicit(&s->hi, memory_order_relaxed))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_kfree: %p lies outside every slab this allocator made",
		                   ptr);
	struct numem_slab_hdr *hd = slab_of(ptr);
	/* Atomic: a racing free of the same large block claims this word. */
	uint32_t magic = (uint8_t *)ptr - (uint8_t *)hd < (ptrdiff_t)LARGE_HDR
	                     ? 0
	                     : __atomic_load_n(&hd->magic, __ATOMIC_RELAXED);
	if (magic != SLAB_MAGIC && magic != LARGE_MAGIC)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_kfree: %p is not an object of a slab or a large "
		                   "allocation",
		                   ptr);
	if (magic == LARGE_MAGIC)
		return large_free(s, cpu, ptr, hd, diag);
	unsigned order;
	if (__builtin_expect(!header_ok(s, hd, NUMEM_OWNER_SLAB, &order), 0))
		return header_refused(s, ptr, hd, NUMEM_OWNER_SLAB, diag);
	struct numem_cache *c = hd->cache;
	if (c < s->cache || c >= s->cache + s->nr_caches)
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "numem_kfree: %p: slab header names no cache of this allocator",
		                   ptr);
	uint32_t off = (uint32_t)((uint8_t *)ptr - (uint8_t *)hd);
	uint32_t i = off < c->offset ? UINT32_MAX : obj_index(c, hd, ptr);
	if (i >= c->per_slab || c->offset + i * c->size != off)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_kfree: %p is not at the start of an object of %s", ptr,
		                   c->name);
	if (!held_claim(&hd->held[i]))
		return numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "numem_kfree: object %p of %s is already free", ptr, c->name);
	return mag_push(cpu, c, ptr);
}

/*
 * The fast path: the same checks as kfree_slow, as one chain of tests with
 * no message (any failure goes to kfree_slow, which explains), in the same
 * order: the pointer inside the slabs' span, a slab's magic at its 16 KiB
 * boundary, the header confirmed by the heap's descriptor (header_ok), its
 * cache one of ours, the pointer at the start of an object, the held byte
 * claimed last (the one write, which a failing claim does not make).
 */
enum numem_err numem_kfree(struct numem_slab *s, struct numem_cpu *cpu, void *ptr,
                           struct numem_diag *diag)
{
	struct numem_slab_hdr *hd = slab_of(ptr);
	uint32_t off = (uint32_t)((uint8_t *)ptr - (uint8_t *)hd);
	unsigned order;
	if (__builtin_expect(
	        cpu != 0 && (uintptr_t)ptr >= atomic_load_explicit(&s->lo, memory_order_relaxed) &&
	            (uintptr_t)ptr < atomic_load_explicit(&s->hi, memory_order_relaxed) &&
	            off >= LARGE_HDR &&
	            __atomic_load_n(&hd->magic, __ATOMIC_RELAXED) == SLAB_MAGIC &&
	            header_ok(s, hd, NUMEM_OWNER_SLAB, &order),
	        1)) {
		struct numem_cache *c = hd->cache;
		uint32_t i;
		if (c >= s->cache && c < s->cache + s->nr_caches && off >= c->offset &&
		    (i = obj_index(c, hd, ptr)) < c->per_slab && c->offset + i * c->size == off &&
		    held_claim(&hd->held[i]))
			return mag_push(cpu, c, ptr);
	}
	return kfree_slow(s, cpu, ptr, diag);
}

void numem_slab_drain_cpu(struct numem_slab *s, struct numem_cpu *cpu)
{
	for (uint32_t i = 0; i < s->nr_caches; i++) {
		struct numem_slab_mag *m = mag_of(cpu, &s->cache[i]);
		flush(cpu, &s->cache[i], m, m->n);
	}
}

uint64_t numem_slab_shrink(struct numem_slab *s, struct numem_cpu *cpu)
{
	uint64_t pages = 0;
	for (uint32_t i = 0; i < s->nr_caches; i++) {
		struct numem_cache *c = &s->cache[i];
		for (numem_nid_t n = 0; n < s->heap->topo->nr_nodes; n++) {
			struct numem_cache_node *cn = &c->node[n];
			for (;;) {
				numem__lock(&cn->lock);
				struct numem_slab_hdr *hd = cn->empty;
				if (hd) {
					numem__list_del(&cn->empty, hd);
					cn->nr_empty--;
					cn->nr_slabs--;
					c->slabs_freed++;
				}
				numem__unlock(&cn->lock);
				if (!hd)
					break;
				slab_give_back(cpu, hd);
				pages += 1u << NUMEM_SLAB_ORDER;
			}
		}
	}
	return pages;
}

void numem_slab_release(struct numem_slab *s)
{
	if (!s->heap)
		return;
	numem_heap_unregister_shrinker(s->heap, &s->shrinker);
	for (uint32_t c = 0; c < s->heap->nr_cpus; c++)
		numem_slab_drain_cpu(s, &s->heap->cpu[c]);
	numem_slab_shrink(s, &s->heap->cpu[0]);
	numem__meta_free(s->heap->plat, s->mag, s->mag_bytes);
	memset(s, 0, sizeof(*s));
}

void numem_slab_cache_info(const struct numem_slab *s, const struct numem_cache *c,
                           struct numem_slab_info *out)
{
	memset(out, 0, sizeof(*out));
	for (numem_nid_t n = 0; n < s->heap->topo->nr_nodes; n++) {
		out->num_slabs += c->node[n].nr_slabs;
		out->active_slabs += c->node[n].nr_slabs - c->node[n].nr_empty;
		out->active_objs += c->node[n].objs_in_slabs;
	}
	for (uint32_t cpu = 0; cpu < s->heap->nr_cpus; cpu++)
		out->active_objs -= c->mag[cpu].n;
	out->num_objs = out->num_slabs * c->per_slab;
	out->objsize = c->size;
	out->objperslab = c->per_slab;
	out->pagesperslab = 1u << NUMEM_SLAB_ORDER;
}

#define FAIL(...) numem__fail(diag, NUMEM_E_CORRUPT, 0, 0, __VA_ARGS__)

static enum numem_err verify_slab(const struct numem_cache *c, struct numem_slab_hdr *hd,
                                  numem_nid_t node, uint64_t *in_mags_or_users,
                                  struct numem_diag *diag)
{
	if (hd->magic != SLAB_MAGIC || hd->cache != c || hd->node != node)
		return FAIL("slab_verify: %s: slab %p has magic 0x%x cache %p node %u, expected "
		            "0x%x %p %u",
		            c->name, (void *)hd, hd->magic, (void *)hd->cache, hd->node, SLAB_MAGIC,
		            (const void *)c, node);
	struct numem_heap_block b;
	if (numem_heap_block_of(c->slab->heap, numem_pfn(hd->pfn), &b) != NUMEM_PS_ALLOCATED ||
	    b.head.v != hd->pfn || b.order != NUMEM_SLAB_ORDER || b.owner != NUMEM_OWNER_SLAB ||
	    b.private != (uintptr_t)hd)
		return FAIL("slab_verify: %s: slab %p names pfn 0x%llx, which the heap does not "
		            "hold for the slab with this header (head 0x%llx order %u owner 0x%x)",
		            c->name, (void *)hd, (unsigned long long)hd->pfn,
		            (unsigned long long)b.head.v, b.order, b.owner);
	uint32_t free = 0;
	uint64_t seen[NUMEM_SLAB_MAX_OBJS / 64] = {0};
	for (uint32_t i = hd->free_head; i != NO_OBJ; i = *next_of(obj_at(c, hd, i))) {
		if (i >= c->per_slab || (seen[i / 64] >> (i % 64) & 1))
			return FAIL("slab_verify: %s: slab %p free list breaks at object %u",
			            c->name, (void *)hd, i);
		if (hd->held[i])
			return FAIL("slab_verify: %s: object %u of slab %p is on the free list but "
			            "marked handed out",
			            c->name, i, (void *)hd);
		seen[i / 64] |= 1ull << (i % 64);
		free++;
	}
	if (hd->inuse != c->per_slab - free)
		return FAIL("slab_verify: %s: slab %p counts %u in use, its free list says %u",
		            c->name, (void *)hd, hd->inuse, c->per_slab - free);
	*in_mags_or_users += hd->inuse;
	return NUMEM_OK;
}

enum numem_err numem_slab_verify(struct numem_slab *s, struct numem_diag *diag)
{
	for (uint32_t ci = 0; ci < s->nr_caches; ci++) {
		struct numem_cache *c = &s->cache[ci];
		uint64_t out = 0, handed = 0, in_mags = 0;
		for (numem_nid_t n = 0; n < s->heap->topo->nr_nodes; n++) {
			struct numem_cache_node *cn = &c->node[n];
			uint64_t slabs = 0, before = out, empties = 0;
			struct numem_slab_hdr *lists[3] = {cn->partial, cn->full, cn->empty};
			for (int l = 0; l < 3; l++)
				for (struct numem_slab_hdr *hd = lists[l]; hd; hd = hd->next) {
					enum numem_err e = verify_slab(c, hd, n, &out, diag);
					if (e)
						return e;
					if ((l == 1 && hd->free_head != NO_OBJ) ||
					    (l == 2 && hd->inuse) ||
					    (l == 0 && (!hd->inuse || hd->free_head == NO_OBJ)))
						return FAIL("slab_verify: %s: slab %p with %u in "
						            "use is on the wrong list",
						            c->name, (void *)hd, hd->inuse);
					for (uint32_t k = 0; k < c->per_slab; k++)
						handed += hd->held[k];
					slabs++;
					empties += l == 2;
				}
			if (slabs != cn->nr_slabs || empties != cn->nr_empty ||
			    out - before != cn->objs_in_slabs)
				return FAIL("slab_verify: %s node %u: lists hold %llu slabs (%llu "
				            "empty, %llu objects out), counters say %llu (%llu, "
				            "%llu)",
				            c->name, n, (unsigned long long)slabs,
				            (unsigned long long)empties,
				            (unsigned long long)(out - before),
				            (unsigned long long)cn->nr_slabs,
				            (unsigned long long)cn->nr_empty,
				            (unsigned long long)cn->objs_in_slabs);
		}
		for (uint32_t cpu = 0; cpu < s->heap->nr_cpus; cpu++) {
			struct numem_slab_mag *m = &c->mag[cpu];
			for (uint32_t k = 0; k < m->n; k++) {
				struct numem_slab_hdr *hd = slab_of(m->obj[k]);
				uint32_t i = obj_index(c, hd, m->obj[k]);
				if (hd->magic != SLAB_MAGIC || hd->cache != c || hd->held[i])
					return FAIL("slab_verify: %s: cpu %u magazine holds %p, "
					            "not a free object of this cache",
					            c->name, cpu, m->obj[k]);
			}
			in_mags += m->n;
		}
		if (handed + in_mags != out)
			return FAIL(
			    "slab_verify: %s: %llu objects out of slabs, but %llu handed out "
			    "+ %llu in magazines",
			    c->name, (unsigned long long)out, (unsigned long long)handed,
			    (unsigned long long)in_mags);
	}
	return NUMEM_OK;
}
