/*
 * platform_host.c - the hosted struct numem_platform.
 *
 * Metadata comes from calloc for small blocks and, for large ones, from a
 * bump arena carved out of big anonymous MAP_NORESERVE reservations, so a
 * frame table for a 64 TiB machine costs address space, not memory, until
 * descriptors are written, and half a million section arrays do not become
 * half a million mappings (vm.max_map_count is 65530).  A freed arena block
 * is given back to the kernel with MADV_DONTNEED; its addresses are reused
 * only when it was the last block carved.  Every block is tracked, which
 * gives numem_host_destroy() its "free all" and the benchmarks their "bytes
 * touched" (mincore over the arena and the vmemmap reservation).
 * The vmemmap reservation is PROT_NONE until a section is populated.
 */
#include <numem/host.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct block {
	void *ptr;
	size_t bytes;
	bool mapped;
};

#define ARENA_CHUNK (1ull << 40) /* address space per reservation */
#define MAX_ARENAS  64

struct arena {
	uint8_t *base;
	size_t size, used;
};

struct numem_host {
	struct numem_platform plat;
	struct arena arena[MAX_ARENAS];
	unsigned nr_arenas;
	struct block *blocks;
	size_t nr_blocks, cap_blocks;
	FILE *log_out;
	enum numem_log_level log_level;
	void *vmap_base;
	size_t vmap_bytes;
	uint8_t *phys_base; /* simulated physical memory, or NULL */
	uint64_t phys_bytes;
	uint64_t (*sim_clock)(void *ctx); /* numem_host_set_clock */
	void *sim_clock_ctx;
	void *phys_map; /* the mapping phys_base lies in */
	size_t phys_map_bytes;
};

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static bool track(struct numem_host *h, void *ptr, size_t bytes, bool mapped)
{
	if (h->nr_blocks == h->cap_blocks) {
		size_t cap = h->cap_blocks ? h->cap_blocks * 2 : 64;
		struct block *nb = realloc(h->blocks, cap * sizeof(*nb));
		if (!nb)
			return false;
		h->blocks = nb;
		h->cap_blocks = cap;
	}
	h->blocks[h->nr_blocks++] = (struct block){ptr, bytes, mapped};
	return true;
}

static void *arena_alloc(struct numem_host *h, size_t bytes, size_t align)
{
	size_t ps = page_size();
	if (align < ps)
		align = ps;
	bytes = (bytes + ps - 1) & ~(ps - 1);
	for (unsigned i = 0; i < h->nr_arenas; i++) {
		struct arena *a = &h->arena[i];
		size_t at = (a->used + align - 1) & ~(align - 1);
		if (at <= a->size && a->size - at >= bytes) {
			a->used = at + bytes;
			return a->base + at;
		}
	}
	if (h->nr_arenas == MAX_ARENAS)
		return NULL;
	/* Ask for a large reservation; where address space is scarce (valgrind,
	 * strict overcommit) settle for less, down to the request itself. */
	size_t size = bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK;
	void *p;
	for (;;) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED)
			break;
		if (size / 2 < bytes)
			return NULL;
		size /= 2;
	}
	h->arena[h->nr_arenas++] = (struct arena){p, size, bytes};
	return p;
}

static struct arena *arena_of(struct numem_host *h, void *ptr)
{
	for (unsigned i = 0; i < h->nr_arenas; i++)
		if ((uint8_t *)ptr >= h->arena[i].base &&
		    (uint8_t *)ptr < h->arena[i].base + h->arena[i].size)
			return &h->arena[i];
	return NULL;
}

static void arena_free(struct numem_host *h, void *ptr, size_t bytes)
{
	size_t ps = page_size();
	bytes = (bytes + ps - 1) & ~(ps - 1);
	madvise(ptr, bytes, MADV_DONTNEED);
	struct arena *a = arena_of(h, ptr);
	if (a && (uint8_t *)ptr + bytes == a->base + a->used)
		a->used = (size_t)((uint8_t *)ptr - a->base);
}

static void *host_meta_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	struct numem_host *h = ctx;
	(void)nid; /* one host node: placement is the simulator's business */
	void *p;
	bool mapped = bytes >= NUMEM_HOST_MMAP_MIN || align > 64;
	if (mapped)
		p = arena_alloc(h, bytes, align);
	else if (align <= _Alignof(max_align_t))
		p = calloc(1, bytes);
	else if (posix_memalign(&p, align, bytes) == 0)
		memset(p, 0, bytes); /* the contract's alignment, not malloc's 16 */
	else
		p = NULL;
	if (!p)
		return NULL;
	if (!track(h, p, bytes, mapped)) {
		if (mapped)
			arena_free(h, p, bytes);
		else
			free(p);
		return NULL;
	}
	return p;
}

static void host_meta_free(void *ctx, void *ptr, size_t bytes)
{
	struct numem_host *h = ctx;
	for (size_t i = h->nr_blocks; i-- > 0;) {
		struct block *b = &h->blocks[i];
		if (b->ptr != ptr)
			continue;
		(void)bytes;
		if (b->mapped)
			arena_free(h, b->ptr, b->bytes);
		else
			free(b->ptr);
		/* Keep allocation order: blocks freed in reverse order (the
		 * core's teardown) are then found at the end in O(1). */
		b->ptr = NULL;
		while (h->nr_blocks && !h->blocks[h->nr_blocks - 1].ptr)
			h->nr_blocks--;
		return;
	}
	if (h->log_out)
		fprintf(h->log_out, "numem: meta_free of unknown block %p (%zu bytes)\n", ptr,
		        bytes);
}

static void *host_vmap_reserve(void *ctx, size_t bytes)
{
	struct numem_host *h = ctx;
	if (h->vmap_base)
		return NULL; /* one reservation at a time is all the core needs */
	void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	h->vmap_base = p;
	h->vmap_bytes = bytes;
	return p;
}

static int host_vmap_populate(void *ctx, void *addr, size_t bytes, numem_nid_t nid)
{
	(void)ctx;
	(void)nid;
	return mprotect(addr, bytes, PROT_READ | PROT_WRITE) == 0 ? 0 : -1;
}

static void host_vmap_release(void *ctx, void *addr, size_t bytes)
{
	struct numem_host *h = ctx;
	munmap(addr, bytes);
	if (addr == h->vmap_base) {
		h->vmap_base = NULL;
		h->vmap_bytes = 0;
	}
}

static void *host_phys_to_virt(void *ctx, numem_paddr_t pa)
{
	struct numem_host *h = ctx;
	return pa.v < h->phys_bytes ? h->phys_base + pa.v : NULL;
}

int numem_host_back_physmem(struct numem_host *h, uint64_t bytes)
{
	/* Aligned to a max-order block (4 MiB), so that naturally aligned
	 * physical blocks are naturally aligned virtually too (the slab
	 * allocator relies on it, as on a kernel's direct map). */
	const uint64_t align = 4ull << 20;
	if (h->phys_base)
		return -1;
	void *p = mmap(NULL, bytes + align, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	h->phys_map = p;
	h->phys_map_bytes = bytes + align;
	h->phys_base = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	h->phys_bytes = bytes;
	h->plat.phys_to_virt = host_phys_to_virt;
	h->plat.direct_map = h->phys_base; /* host_phys_to_virt is that add */
	return 0;
}

static void host_log(void *ctx, enum numem_log_level level, const char *line)
{
	struct numem_host *h = ctx;
	static const char *const names[] = {"error", "warning", "info", "debug"};
	if (h->log_out && level <= h->log_level)
		fprintf(h->log_out, "numem: %s: %s\n", names[level], line);
}

uint64_t numem_host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t host_clock(void *ctx)
{
	struct numem_host *h = ctx;
	return h->sim_clock ? h->sim_clock(h->sim_clock_ctx) : numem_host_now_ns();
}

void numem_host_set_clock(struct numem_host *h, uint64_t (*clock)(void *ctx), void *ctx)
{
	/* The core calls clock_ns(plat->ctx): a simulated clock reads its own
	 * state through the host's ctx slot for it. */
	h->sim_clock = clock;
	h->sim_clock_ctx = ctx;
}

struct numem_host *numem_host_create(void)
{
	struct numem_host *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->plat = (struct numem_platform){
	    .ctx = h,
	    .meta_alloc = host_meta_alloc,
	    .meta_free = host_meta_free,
	    .vmap_reserve = host_vmap_reserve,
	    .vmap_populate = host_vmap_populate,
	    .vmap_release = host_vmap_release,
	    .log = host_log,
	    .clock_ns = host_clock,
	};
	h->log_out = stderr;
	h->log_level = NUMEM_LOG_WARN;
	return h;
}

void numem_host_destroy(struct numem_host *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nr_blocks; i++)
		if (h->blocks[i].ptr && !h->blocks[i].mapped)
			free(h->blocks[i].ptr);
	for (unsigned i = 0; i < h->nr_arenas; i++)
		munmap(h->arena[i].base, h->arena[i].size);
	if (h->vmap_base)
		munmap(h->vmap_base, h->vmap_bytes);
	if (h->phys_map)
		munmap(h->phys_map, h->phys_map_bytes);
	free(h->blocks);
	free(h);
}

const struct numem_platform *numem_host_platform(struct numem_host *h)
{
	return &h->plat;
}

void numem_host_set_log(struct numem_host *h, FILE *out, enum numem_log_level level)
{
	h->log_out = out;
	h->log_level = level;
}

uint64_t numem_host_meta_bytes(const struct numem_host *h)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < h->nr_blocks; i++)
		sum += h->blocks[i].ptr ? h->blocks[i].bytes : 0;
	return sum + h->vmap_bytes;
}

static uint64_t resident(void *ptr, size_t bytes)
{
	size_t ps = page_size();
	uintptr_t start = (uintptr_t)ptr & ~(ps - 1);
	size_t len = ((uintptr_t)ptr + bytes - start + ps - 1) & ~(ps - 1);
	size_t pages = len / ps;
	uint64_t count = 0;
	unsigned char vec[4096];
	for (size_t done = 0; done < pages;) {
		size_t n = pages - done < sizeof(vec) ? pages - done : sizeof(vec);
		if (mincore((void *)(start + done * ps), n * ps, vec) != 0)
			return 0;
		for (size_t i = 0; i < n; i++)
			count += vec[i] & 1;
		done += n;
	}
	return count * ps;
}

uint64_t numem_host_touched_bytes(const struct numem_host *h)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < h->nr_blocks; i++)
		if (h->blocks[i].ptr && !h->blocks[i].mapped)
			sum += h->blocks[i].bytes;
	for (unsigned i = 0; i < h->nr_arenas; i++)
		sum += resident(h->arena[i].base, h->arena[i].used);
	if (h->vmap_base) /* PROT_NONE parts are not resident, as they should not be */
		sum += resident(h->vmap_base, h->vmap_bytes);
	return sum;
}
