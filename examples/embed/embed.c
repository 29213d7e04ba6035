/*
 * embed.c - numem embedded the way a kernel or hypervisor does it: no libc,
 * no loader, no heap.  A static buffer stands for the machine's RAM, another
 * for boot metadata; the topology comes from SRAT and SLIT bytes (tables.h);
 * the core is libnumem.a as built for the target.
 *
 * Built with -nostdlib -static -ffreestanding: the program brings its own
 * _start, memcpy/memset/memmove/memcmp, and a Linux write/exit system call
 * (x86-64 or i386) for its output.  It parses the tables, builds the
 * topology (and releases the parsed tables, which the topology no longer
 * needs), the frame table and the heap through the public API, allocates
 * pages on every CPU and checks they are local and usable, frees them, runs
 * numem_heap_verify (checking that its scratch metadata came back), tears
 * everything down and checks all metadata came back.  Exit status 0 only if
 * all of that held; 1 and a message otherwise; 2 if the core panicked.
 */
#include <numem/acpi.h>
#include <numem/heap.h>
#include <numem/memmap.h>
#include <numem/platform.h>
#include <numem/topo.h>

#include "tables.h"

/* ---- what libc would give -------------------------------------------- */

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int embed_main(void);

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s)
		while (n--)
			*d++ = *s++;
	else
		while (n--)
			d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n--; x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "	xor %rbp, %rbp\n"
        "	and $-16, %rsp\n"
        "	call embed_main\n"
        "	mov %eax, %edi\n"
        "	mov $60, %eax\n" /* exit */
        "	syscall\n"
        "	hlt\n");

static void sys_write(const char *s, size_t n)
{
	long ret;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "0"(1L), "D"(2L), "S"(s), "d"(n)
	                 : "rcx", "r11", "memory");
	(void)ret;
}

static void sys_exit(int code)
{
	__asm__ volatile("syscall" : : "a"(60L), "D"((long)code) : "rcx", "r11", "memory");
	__builtin_unreachable();
}
#elif defined(__i386__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "	xor %ebp, %ebp\n"
        "	and $-16, %esp\n"
        "	call embed_main\n"
        "	mov %eax, %ebx\n"
        "	mov $1, %eax\n" /* exit */
        "	int $0x80\n"
        "	hlt\n");

static void sys_write(const char *s, size_t n)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "0"(4L), "b"(2L), "c"(s), "d"(n) : "memory");
	(void)ret;
}

static void sys_exit(int code)
{
	__asm__ volatile("int $0x80" : : "a"(1L), "b"((long)code) : "memory");
	__builtin_unreachable();
}
#else
#error "embed.c: x86-64 or i386 Linux only (for its output and exit)"
#endif

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sys_write(s, slen(s));
}

/* Decimal, enough for the counters shown. */
static void say_u(uint64_t v)
{
	char b[24];
	int i = 23;
	b[i] = 0;
	do {
		/* v % 10 and v / 10 on a 32-bit target call __umoddi3/__udivdi3,
		 * which libnumem.a provides there (lib/arith.c). */
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	say(b + i);
}

/* ---- the machine ------------------------------------------------------- */

#define RAM_BYTES  (32u << 20) /* what the SRAT describes: [0, 32 MiB) */
#define META_BYTES (2u << 20)  /* boot metadata arena */

static uint8_t ram[RAM_BYTES] __attribute__((aligned(4096)));
static uint8_t meta[META_BYTES] __attribute__((aligned(4096)));

/*
 * Metadata: a bump allocator that can undo its most recent allocations,
 * which is all the core's run-time scratch (verify, emulation, vNUMA tables)
 * needs: each is freed before the call that allocated it returns.  Blocks
 * freed out of order are only counted (a real embedder keeps a free list).
 */
static struct {
	size_t top;      /* bytes of the arena handed out */
	size_t high;     /* highest top so far: above it the arena is still zero */
	size_t live;     /* bytes allocated and not freed */
	uint32_t allocs; /* meta_alloc calls */
	uint32_t frees;  /* meta_free calls */
	uint32_t panics; /* panic hook calls */
	int fails;       /* checks that failed */
} st;

static void *meta_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	(void)ctx;
	(void)nid;
	size_t at = (st.top + align - 1) & ~(align - 1);
	size_t size = (bytes + 63) & ~(size_t)63;
	if (at > META_BYTES || size > META_BYTES - at)
		return 0;
	if (at < st.high) /* reused: must read as zero again */
		memset(meta + at, 0, size < st.high - at ? size : st.high - at);
	st.top = at + size;
	if (st.top > st.high)
		st.high = st.top;
	st.live += bytes;
	st.allocs++;
	return meta + at;
}

static void meta_free(void *ctx, void *ptr, size_t bytes)
{
	(void)ctx;
	size_t at = (size_t)((uint8_t *)ptr - meta);
	size_t size = (bytes + 63) & ~(size_t)63;
	if (at + size == st.top)
		st.top = at; /* the most recent block: undo it */
	st.live -= bytes;
	st.frees++;
}

static void *phys_to_virt(void *ctx, numem_paddr_t pa)
{
	(void)ctx;
	return pa.v < RAM_BYTES ? ram + (size_t)pa.v : 0;
}

static void plat_log(void *ctx, enum numem_log_level level, const char *line)
{
	(void)ctx;
	if (level <= NUMEM_LOG_WARN) {
		say("embed: numem: ");
		say(line);
		say("\n");
	}
}

static void plat_panic(void *ctx, const char *line)
{
	(void)ctx;
	st.panics++;
	say("embed: panic: ");
	say(line);
	say("\n");
	sys_exit(2);
}

static const struct numem_platform plat = {
    .meta_alloc = meta_alloc,
    .meta_free = meta_free,
    .phys_to_virt = phys_to_virt,
    .log = plat_log,
    .panic = plat_panic,
};

/* ---- the run ----------------------------------------------------------- */

static void check(bool ok, const char *what, const struct numem_diag *d)
{
	if (ok)
		return;
	st.fails++;
	say("embed: FAILED: ");
	say(what);
	if (d && d->msg[0]) {
		say(": ");
		say(d->msg);
	}
	say("\n");
}

/* The core's structures live in static storage: nothing to allocate. */
static struct numem_srat srat;
static struct numem_slit slit;
static struct numem_frametable ft;
static struct numem_heap heap;
static struct numem_diag diag;

#define PAGES_PER_CPU 64

static numem_pfn_t held[4][PAGES_PER_CPU];
static unsigned held_order[4][PAGES_PER_CPU];

int embed_main(void)
{
	struct numem_topo *topo = 0;
	check(!numem_srat_parse(embed_srat, sizeof(embed_srat), NUMEM_ACPI_STRICT, &plat, &srat,
	                        &diag),
	      "SRAT", &diag);
	check(!numem_slit_parse(embed_slit, sizeof(embed_slit), NUMEM_ACPI_STRICT, &plat, &slit,
	                        &diag),
	      "SLIT", &diag);
	if (st.fails)
		return 1;
	struct numem_topo_input in = {.srat = &srat, .slit = &slit};
	struct numem_topo_opts topts = {.flags = NUMEM_TOPO_STRICT};
	check(!numem_topo_build(&plat, &in, &topts, &topo, &diag), "topology", &diag);
	if (st.fails)
		return 1;
	/* The topology copied what it needs: the parsed tables can go. */
	numem_srat_release(&plat, &srat);
	numem_slit_release(&plat, &slit);
	check(topo->nr_nodes == 2 && topo->nr_cpus == 4 && topo->distance[0][1] == 21,
	      "2 nodes, 4 CPUs, distance 21", 0);

	/* Sizes the platform gets are size_t: on a 32-bit target a 1 TiB
	 * section's descriptors (2^28 of 24 bytes, 6 GiB) cannot be asked
	 * for, and the frame table says so instead of truncating the size. */
	struct numem_frametable plan;
	struct numem_frametable_opts huge = {.layout = NUMEM_FT_SECTIONS, .section_shift = 40};
	enum numem_err pe = numem_frametable_plan(topo, &huge, &plan, 0, &diag);
	check(sizeof(size_t) < 8 ? pe == NUMEM_E_RANGE : pe == NUMEM_OK,
	      sizeof(size_t) < 8 ? "1 TiB sections refused on a 32-bit target"
	                         : "1 TiB sections planned on a 64-bit target",
	      &diag);
	diag.msg[0] = '\0';

	/* 4 MiB sections: 1024 descriptors (32 KiB) each, not 1 MiB. */
	struct numem_frametable_opts fopts = {.layout = NUMEM_FT_SECTIONS, .section_shift = 22};
	check(!numem_frametable_init(&plat, topo, &fopts, &ft, &diag), "frame table", &diag);
	if (st.fails)
		return 1;
	/* Keep the first MiB (real mode, firmware) out of the heap. */
	static const struct numem_ram_range low = {0, 1u << 20};
	struct numem_heap_opts hopts = {.reserved = &low, .nr_reserved = 1, .poison = 1};
	check(!numem_heap_init(&heap, &plat, topo, &ft, &hopts, &diag), "heap", &diag);
	if (st.fails)
		return 1;
	uint64_t free0 = numem_heap_node_free(&heap, 0), free1 = numem_heap_node_free(&heap, 1);
	say("embed: 2 nodes, ");
	say_u(topo->nr_cpus);
	say(" CPUs, ");
	say_u(free0 + free1);
	say(" free pages, ");
	say_u(st.high);
	say(" bytes of metadata\n");

	/* Each CPU takes pages of orders 0..3; they must be on its node. */
	for (uint32_t c = 0; c < 4; c++) {
		struct numem_cpu *cpu = numem_heap_cpu(&heap, c);
		for (unsigned i = 0; i < PAGES_PER_CPU; i++) {
			unsigned order = i % 4;
			numem_pfn_t pfn;
			if (numem_alloc(cpu, order, NUMEM_ALLOC_ZERO, 0, &pfn, &diag)) {
				check(false, "alloc", &diag);
				return 1;
			}
			check(numem_topo_pfn_to_node(topo, pfn) == numem_topo_cpu_to_node(topo, c),
			      "page on the CPU's node", 0);
			uint8_t *p = phys_to_virt(0, numem_paddr(pfn.v << NUMEM_PAGE_SHIFT));
			check(p && p[0] == 0 && p[(4096u << order) - 1] == 0, "zeroed page", 0);
			memset(p, (int)(c + 1), 4096u << order);
			held[c][i] = pfn;
			held_order[c][i] = order;
		}
	}
	for (uint32_t c = 0; c < 4; c++)
		for (unsigned i = 0; i < PAGES_PER_CPU; i++) {
			uint8_t *p = phys_to_virt(0, numem_paddr(held[c][i].v << NUMEM_PAGE_SHIFT));
			check(p[0] == c + 1, "page contents kept", 0);
			check(!numem_free(numem_heap_cpu(&heap, c), held[c][i], held_order[c][i],
			                  &diag),
			      "free", &diag);
		}
	/* A double free is refused with an error, not a crash. */
	check(numem_free(numem_heap_cpu(&heap, 0), held[0][0], held_order[0][0], &diag) != NUMEM_OK,
	      "double free refused", 0);

	numem_heap_drain_all(&heap);
	check(numem_heap_node_free(&heap, 0) == free0 && numem_heap_node_free(&heap, 1) == free1,
	      "every page back", 0);
	size_t live = st.live, top = st.top;
	check(!numem_heap_verify(&heap, &diag), "verify", &diag);
	check(st.live == live && st.top == top, "verify gave its scratch back", 0);

	numem_heap_release(&heap);
	numem_frametable_release(&ft);
	numem_topo_release(topo);
	check(st.live == 0, "all metadata given back", 0);
	check(st.panics == 0, "no panic", 0);
	say("embed: ");
	say_u(st.allocs);
	say(" meta_alloc, ");
	say_u(st.frees);
	say(" meta_free; ");
	say(st.fails ? "FAILED\n" : "ok\n");
	return st.fails ? 1 : 0;
}
