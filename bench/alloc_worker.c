/*
 * alloc_worker.c - one allocator, one process: the worker that bench/alloc
 * (the driver, alloc.c) execs for every case, round and allocator.
 *
 * Built once per allocator with -DIMPL_<NAME>, linking that allocator and
 * nothing else that allocates:
 *   alloc-numem     numem_alloc/numem_free on the x445 preset (32 GB, 4
 *                   nodes); every allocation finds its CPU handle
 *                   (numem_heap_cpu) and turns the pfn into an address
 *                   through the platform's phys_to_virt, every free turns
 *                   the address back into a pfn (direct-map subtraction, as
 *                   a kernel's __pa) and finds its CPU handle again;
 *   alloc-jemalloc  aligned_alloc/free, jemalloc linked as the process's
 *                   malloc (what jemalloc's users do);
 *   alloc-mimalloc  mi_malloc_aligned/mi_free, libmimalloc linked directly;
 *   alloc-glibc     aligned_alloc/free, linked against nothing else;
 *   alloc-libnuma   numa_alloc_onnode/numa_free (an mmap/munmap per call),
 *                   numa_alloc_interleaved for interleave-order0.
 *
 * Usage: alloc-IMPL --case NAME [--small] [--n N] [--info]
 * Prints one line: "ns_per_op V ops N [KEY V]..." and exits 0; exits 2 when
 * the allocator has no equivalent for the case.
 *
 * Warm cases run the same loop once untimed first (first-touch page faults,
 * lazy initialisation, thread caches: all out of the timed loop), then
 * time it; they do not write to the memory (the address is computed and
 * kept live).  The cold cases (-cold) run in the fresh process with no
 * warm-up and write one byte to every page they get, as a user would:
 * allocation + first write, page faults included, for every allocator
 * alike (numem's pages are the host's lazily backed "physical memory").
 *
 * Timed loops are the noinline functions named timed_*; their warm-ups
 * are warm_* (bench/callgrind-alloc.sh toggles collection on timed_*).
 * order0-pair and order0-pair-2t time PARTS parts and report the median
 * part (see PARTS); the two threads of order0-pair-2t are pinned to two
 * CPUs.  Every allocator is timed the same way.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"

#if defined(IMPL_NUMEM)
#include <numem/host.h>
#include <numem/slab.h>
#define IMPL_NAME "numem"
#elif defined(IMPL_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define IMPL_NAME "jemalloc"
#elif defined(IMPL_MIMALLOC)
#include <mimalloc.h>
#define IMPL_NAME "mimalloc"
#elif defined(IMPL_GLIBC)
#include <gnu/libc-version.h>
#define IMPL_NAME "glibc"
#elif defined(IMPL_LIBNUMA)
#include <numa.h>
#define IMPL_NAME "libnuma"
#else
#error "build with -DIMPL_NUMEM, IMPL_JEMALLOC, IMPL_MIMALLOC, IMPL_GLIBC or IMPL_LIBNUMA"
#endif

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif
#define ALWAYS  __attribute__((always_inline)) inline
#define SINK(p) __asm__ volatile("" ::"r"(p) : "memory")

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * order0-pair and order0-pair-2t are timed in PARTS parts of about
 * PART_NS each (the pairs per part calibrated on a short loop first, so
 * that a part lasts as long for every allocator and an interruption of a
 * given length weighs the same on all; with --n or --small, n / PARTS
 * pairs); the figure is the median part (ns per pair), so that a part the
 * scheduler interrupts (another job's time slice, both threads stacked on
 * one CPU for a while) does not decide it.  Every allocator alike; the
 * whole run's time per pair is reported too (mean_ns).  Two threads start
 * each part together (a barrier) and are pinned to two different CPUs.
 */
#define PARTS   16
#define PART_NS 2000000.0

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- the allocator ------------------------------------------------------ */

/* Cases an allocator has no equivalent for. */
static int unsupported(const char *c);

#if defined(IMPL_NUMEM)
static struct numem_system sys;
static struct numem_slab slab;
/* The platform's direct map (a kernel's PAGE_OFFSET): __va is an add,
 * __pa a subtraction. */
static uintptr_t direct_map;
static _Thread_local uint32_t my_cpu;
static struct numem_policy interleave;

static void impl_init(const char *c)
{
	if (!strcmp(c, "boot-64t"))
		return;
	struct numem_diag d = {0};
	const char *layout = getenv("NUMEM_BENCH_LAYOUT");
	struct numem_system_opts so = {.back_memory = true};
	if (layout && !strcmp(layout, "vmemmap"))
		so.ft.layout = NUMEM_FT_VMEMMAP;
	if (numem_system_boot_preset(&sys, "x445", &so, &d)) {
		fprintf(stderr, "alloc-numem: boot: %s\n", d.msg);
		exit(1);
	}
	if (numem_slab_init(&slab, &sys.heap, &d)) {
		fprintf(stderr, "alloc-numem: slab: %s\n", d.msg);
		exit(1);
	}
	if (!sys.heap.plat->direct_map) {
		fprintf(stderr, "alloc-numem: the platform has no direct map\n");
		exit(1);
	}
	direct_map = (uintptr_t)sys.heap.plat->direct_map;
	numem_policy_init(&interleave, NUMEM_POLICY_INTERLEAVE);
	for (uint32_t n = 0; n < sys.m.topo->nr_nodes; n++)
		if (sys.m.topo->node[n].ram_pages)
			numem_nodemask_set(&interleave.nodes, (numem_nid_t)n);
}

static void impl_fini(void)
{
	if (!sys.has_heap)
		return;
	numem_slab_release(&slab);
	struct numem_diag d = {0};
	if (numem_heap_verify(&sys.heap, &d)) {
		fprintf(stderr, "alloc-numem: verify after the case: %s\n", d.msg);
		exit(1);
	}
	numem_system_shutdown(&sys);
}

static void impl_thread(uint32_t cpu)
{
	my_cpu = cpu;
}

static ALWAYS void *pg_alloc_pol(unsigned order, struct numem_policy *pol)
{
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, my_cpu);
	numem_pfn_t pfn;
	if (numem_alloc(cpu, order, 0, pol, &pfn, NULL))
		return NULL;
	return (void *)(direct_map + (pfn.v << NUMEM_PAGE_SHIFT));
}

static ALWAYS void *pg_alloc(unsigned order)
{
	return pg_alloc_pol(order, NULL);
}

static ALWAYS void pg_free(void *p, unsigned order)
{
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, my_cpu);
	if (numem_free(cpu, numem_pfn(((uintptr_t)p - direct_map) >> NUMEM_PAGE_SHIFT), order,
	               NULL))
		abort();
}

static ALWAYS void *pg_alloc_interleave(void)
{
	return pg_alloc_pol(0, &interleave);
}

static ALWAYS void pg_free_interleave(void *p)
{
	pg_free(p, 0);
}

static ALWAYS void *obj_alloc(void)
{
	return numem_kmalloc(&slab, numem_heap_cpu(&sys.heap, my_cpu), 64, NULL);
}

static ALWAYS void obj_free(void *p)
{
	if (numem_kfree(&slab, numem_heap_cpu(&sys.heap, my_cpu), p, NULL))
		abort();
}

static int unsupported(const char *c)
{
	(void)c;
	return 0;
}

static void impl_info(void)
{
	printf("numem: numem_alloc/numem_free (x445 preset, CPU handle and the platform's "
	       "direct map per call), numem_kmalloc/numem_kfree\n");
}

#else /* the peers: size and alignment 4 KiB << order */

static void impl_fini(void)
{
}

static void impl_thread(uint32_t cpu)
{
	(void)cpu;
}

#if defined(IMPL_LIBNUMA)
static void impl_init(const char *c)
{
	(void)c;
	if (numa_available() < 0) {
		fprintf(stderr, "alloc-libnuma: numa_available() < 0\n");
		exit(3);
	}
}

static ALWAYS void *pg_alloc(unsigned order)
{
	return numa_alloc_onnode(4096ul << order, 0);
}

static ALWAYS void pg_free(void *p, unsigned order)
{
	numa_free(p, 4096ul << order);
}

static ALWAYS void *pg_alloc_interleave(void)
{
	return numa_alloc_interleaved(4096);
}

static ALWAYS void pg_free_interleave(void *p)
{
	numa_free(p, 4096);
}

static ALWAYS void *obj_alloc(void)
{
	abort();
}

static ALWAYS void obj_free(void *p)
{
	(void)p;
}

static int unsupported(const char *c)
{
	return !strcmp(c, "obj64-pair") || !strcmp(c, "boot-64t");
}

static void impl_info(void)
{
	printf("libnuma (API version %d): numa_alloc_onnode(size, 0)/numa_free, "
	       "numa_alloc_interleaved/numa_free\n",
	       LIBNUMA_API_VERSION);
}

#else /* jemalloc, mimalloc, glibc */

static void impl_init(const char *c)
{
	(void)c;
}

#if defined(IMPL_MIMALLOC)
#define PEER_ALIGNED(size, align) mi_malloc_aligned(size, align)
#define PEER_FREE(p)              mi_free(p)
#define PEER_MALLOC(size)         mi_malloc(size)
#else
#define PEER_ALIGNED(size, align) aligned_alloc(align, size)
#define PEER_FREE(p)              free(p)
#define PEER_MALLOC(size)         malloc(size)
#endif

static ALWAYS void *pg_alloc(unsigned order)
{
	return PEER_ALIGNED(4096ul << order, 4096ul << order);
}

static ALWAYS void pg_free(void *p, unsigned order)
{
	(void)order;
	PEER_FREE(p);
}

static ALWAYS void *pg_alloc_interleave(void)
{
	abort();
}

static ALWAYS void pg_free_interleave(void *p)
{
	(void)p;
}

static ALWAYS void *obj_alloc(void)
{
	return PEER_MALLOC(64);
}

static ALWAYS void obj_free(void *p)
{
	PEER_FREE(p);
}

static int unsupported(const char *c)
{
	return !strcmp(c, "interleave-order0") || !strcmp(c, "boot-64t");
}

static void impl_info(void)
{
#if defined(IMPL_JEMALLOC)
	const char *v = "?";
	size_t len = sizeof(v);
	mallctl("version", &v, &len, NULL, 0);
	printf("jemalloc %s: aligned_alloc/free (the process's malloc), malloc(64)/free\n", v);
#elif defined(IMPL_MIMALLOC)
	int v = mi_version();
	printf("mimalloc %d.%d.%d: mi_malloc_aligned/mi_free, mi_malloc(64)/mi_free\n", v / 100,
	       v / 10 % 10, v % 10);
#else
	printf("glibc %s: aligned_alloc/free, malloc(64)/free\n", gnu_get_libc_version());
#endif
}
#endif
#endif

/* ---- the loops ---------------------------------------------------------- */

static ALWAYS void pairs_body(unsigned order, long n, int touch)
{
	for (long i = 0; i < n; i++) {
		void *p = pg_alloc(order);
		if (!p)
			abort();
		if (touch)
			*(volatile char *)p = 1;
		SINK(p);
		pg_free(p, order);
	}
}

NOINLINE static void warm_pairs(unsigned order, long n)
{
	pairs_body(order, n, 0);
}

NOINLINE static void timed_pairs(unsigned order, long n)
{
	pairs_body(order, n, 0);
}

NOINLINE static void timed_pairs_touch(unsigned order, long n)
{
	pairs_body(order, n, 1);
}

static ALWAYS void interleave_body(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = pg_alloc_interleave();
		if (!p)
			abort();
		SINK(p);
		pg_free_interleave(p);
	}
}

NOINLINE static void warm_interleave(long n)
{
	interleave_body(n);
}

NOINLINE static void timed_interleave(long n)
{
	interleave_body(n);
}

static ALWAYS void obj_body(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = obj_alloc();
		if (!p)
			abort();
		SINK(p);
		obj_free(p);
	}
}

NOINLINE static void warm_obj(long n)
{
	obj_body(n);
}

NOINLINE static void timed_obj(long n)
{
	obj_body(n);
}

#define BATCH 65536
static uint32_t perm[BATCH];
static void *blk[BATCH];

static ALWAYS void batch_body(int touch)
{
	for (int i = 0; i < BATCH; i++) {
		if (!(blk[i] = pg_alloc(0)))
			abort();
		if (touch)
			*(volatile char *)blk[i] = 1;
	}
	for (int i = 0; i < BATCH; i++)
		pg_free(blk[perm[i]], 0);
}

NOINLINE static void warm_batch(void)
{
	batch_body(0);
}

NOINLINE static void timed_batch(void)
{
	batch_body(0);
}

NOINLINE static void timed_batch_touch(void)
{
	batch_body(1);
}

/* mixed-orders: the simulator's churn mix (sim/engine.c pick_order: 70%
 * order 0, 20% orders 1-3, 10% order 9) over a table of slots: each step
 * picks a slot; an empty slot gets a block of a random order, a full one
 * is freed.  The same sequence for every allocator. */
#define MIX_SLOTS 1024
struct mix_step {
	uint16_t slot;
	uint8_t order;
};
static struct mix_step *mix;
static void *mix_blk[MIX_SLOTS];
static uint8_t mix_order[MIX_SLOTS];

static void mix_build(long n)
{
	mix = malloc(sizeof(*mix) * (size_t)n);
	if (!mix)
		abort();
	uint64_t s = 7;
	for (long i = 0; i < n; i++) {
		uint64_t r = rng(&s) % 100;
		mix[i].slot = (uint16_t)(rng(&s) % MIX_SLOTS);
		mix[i].order = (uint8_t)(r < 70 ? 0 : r < 90 ? 1 + r % 3 : 9);
	}
}

static ALWAYS void mix_body(long n)
{
	for (long i = 0; i < n; i++) {
		unsigned k = mix[i].slot;
		if (mix_blk[k]) {
			pg_free(mix_blk[k], mix_order[k]);
			mix_blk[k] = NULL;
		} else {
			if (!(mix_blk[k] = pg_alloc(mix[i].order)))
				abort();
			mix_order[k] = mix[i].order;
		}
	}
}

static void mix_drain(void)
{
	for (unsigned k = 0; k < MIX_SLOTS; k++)
		if (mix_blk[k]) {
			pg_free(mix_blk[k], mix_order[k]);
			mix_blk[k] = NULL;
		}
}

NOINLINE static void warm_mix(long n)
{
	mix_body(n);
}

NOINLINE static void timed_mix(long n)
{
	mix_body(n);
}

/* ---- two threads -------------------------------------------------------- */

struct targ {
	_Alignas(64) uint32_t cpu; /* numem's CPU handle for the thread */
	int host_cpu;              /* pinned there (-1: not pinned) */
	long per;                  /* pairs per part */
	pthread_barrier_t *start;
	uint64_t ns[PARTS];
	int same_cpu; /* parts that began on the other thread's CPU */
};

static _Atomic int part_cpu[PARTS][2];

static void *pair_thread(void *a)
{
	struct targ *t = a;
	int me = t->cpu != 0;
	bench_pin_to(t->host_cpu);
	impl_thread(t->cpu);
	warm_pairs(0, t->per * PARTS / 4);
	for (int k = 0; k < PARTS; k++) {
		pthread_barrier_wait(t->start);
		atomic_store(&part_cpu[k][me], sched_getcpu());
		uint64_t t0 = now_ns();
		timed_pairs(0, t->per);
		t->ns[k] = now_ns() - t0;
	}
	return NULL;
}

/* Both threads start each part together; a part's figure is the wall time
 * of the slower thread divided by the pairs of one thread (ns per pair per
 * thread); the median part is the case's figure, *mean the whole time
 * (sum of the parts' slower threads) per pair. */
static double two_threads(long per, double *mean, int *pinned, int *same_cpu)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	static struct targ ta[2];
	pthread_t tid[2];
	for (int i = 0; i < 2; i++) {
		/* numem: CPUs 0 and 8, nodes 0 and 1 of the x445. */
		ta[i] = (struct targ){.cpu = (uint32_t)i * 8,
		                      .host_cpu = bench_host_cpu(i),
		                      .per = per,
		                      .start = &start};
		pthread_create(&tid[i], NULL, pair_thread, &ta[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	double part[PARTS], total = 0;
	*same_cpu = 0;
	for (int k = 0; k < PARTS; k++) {
		uint64_t ns = ta[0].ns[k] > ta[1].ns[k] ? ta[0].ns[k] : ta[1].ns[k];
		total += (double)ns;
		part[k] = (double)ns / (double)per;
		*same_cpu += atomic_load(&part_cpu[k][0]) == atomic_load(&part_cpu[k][1]);
	}
	*mean = total / (double)(per * PARTS);
	*pinned = ta[0].host_cpu >= 0;
	return median_of(part, PARTS);
}

/* Pairs per part: n / PARTS when the caller fixed n (deterministic, for
 * callgrind), else as many as last about PART_NS on this thread. */
static long pairs_per_part(long n, bool fixed)
{
	if (fixed)
		return n / PARTS > 0 ? n / PARTS : 1;
	warm_pairs(0, 100000);
	double est = 1e9; /* the fastest of five short loops: a noisy one would shorten the parts */
	for (int k = 0; k < 5; k++) {
		uint64_t t0 = now_ns();
		warm_pairs(0, 10000);
		double e = (double)(now_ns() - t0) / 10000;
		est = e < est ? e : est;
	}
	long per = (long)(PART_NS / (est > 0.1 ? est : 0.1));
	return per < 100 ? 100 : per;
}

/* One thread: the same parts, the median part. */
static double one_thread(unsigned order, long per, double *mean)
{
	double part[PARTS], total = 0;
	for (int k = 0; k < PARTS; k++) {
		uint64_t t0 = now_ns();
		timed_pairs(order, per);
		double ns = (double)(now_ns() - t0);
		total += ns;
		part[k] = ns / (double)per;
	}
	*mean = total / (double)(per * PARTS);
	return median_of(part, PARTS);
}

/* remote-free-2t: a single-producer single-consumer ring.  The producer
 * allocates order-0 pages and pushes them, the consumer pops and frees
 * them on its own CPU (numem: CPU 0 allocates, CPU 1 of the same node
 * frees through its own handle). */
#define RING 1024
static struct {
	_Alignas(64) _Atomic uint64_t head; /* written by the producer */
	_Alignas(64) _Atomic uint64_t tail; /* written by the consumer */
	_Alignas(64) void *slot[RING];
} ring;

/* Spin a little, then yield: on a loaded 2-CPU machine the other side may
 * not be running at all. */
static ALWAYS void spin_wait(unsigned spin)
{
	if (spin < 256)
		CPU_RELAX();
	else
		sched_yield();
}

struct rarg {
	long n;
	pthread_barrier_t *start;
};

static ALWAYS void producer_body(long n)
{
	uint64_t head = atomic_load_explicit(&ring.head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&ring.tail, memory_order_acquire);
	for (long i = 0; i < n; i++) {
		void *p = pg_alloc(0);
		if (!p)
			abort();
		for (unsigned spin = 0; head - tail == RING; spin++) {
			spin_wait(spin);
			tail = atomic_load_explicit(&ring.tail, memory_order_acquire);
		}
		ring.slot[head % RING] = p;
		atomic_store_explicit(&ring.head, ++head, memory_order_release);
	}
}

static ALWAYS void consumer_body(long n)
{
	uint64_t tail = atomic_load_explicit(&ring.tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&ring.head, memory_order_acquire);
	for (long i = 0; i < n; i++) {
		for (unsigned spin = 0; tail == head; spin++) {
			spin_wait(spin);
			head = atomic_load_explicit(&ring.head, memory_order_acquire);
		}
		void *p = ring.slot[tail % RING];
		atomic_store_explicit(&ring.tail, ++tail, memory_order_release);
		pg_free(p, 0);
	}
}

NOINLINE static void timed_producer(long n)
{
	producer_body(n);
}

NOINLINE static void timed_consumer(long n)
{
	consumer_body(n);
}

static void *producer_thread(void *a)
{
	struct rarg *r = a;
	impl_thread(0);
	pthread_barrier_wait(r->start);
	timed_producer(r->n);
	return NULL;
}

static void *consumer_thread(void *a)
{
	struct rarg *r = a;
	impl_thread(1);
	pthread_barrier_wait(r->start);
	timed_consumer(r->n);
	return NULL;
}

/* Wall time from the start barrier until both are done, per pair. */
static double remote_free(long n)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 3);
	struct rarg r = {n, &start};
	pthread_t p, c;
	pthread_create(&c, NULL, consumer_thread, &r);
	pthread_create(&p, NULL, producer_thread, &r);
	pthread_barrier_wait(&start);
	uint64_t t0 = now_ns();
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	return (double)(now_ns() - t0) / (double)n;
}

/* ---- boot-64t ----------------------------------------------------------- */

#if defined(IMPL_NUMEM)
static uint64_t statm_resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t maxrss_bytes(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_maxrss * 1024;
}

/* The whole system boot of a 64 TiB two-node machine, as `numem dump
 * --numa node,cpus=0-63,mem=32T --numa node,cpus=64-127,mem=32T` does it
 * (tools/numem/boot.c: deferred frame table, metadata reserved out of each
 * node's RAM).  Timed: numem_system_boot (tables parsed, topology, frame
 * table, heap); the tables are generated from the spec before. */
static void boot_64t(void)
{
	static const char *const args[] = {"node,cpus=0-63,mem=32T", "node,cpus=64-127,mem=32T"};
	struct numem_spec *spec = calloc(1, sizeof(*spec));
	char err[256];
	struct numem_machine_src src;
	if (!spec)
		abort();
	for (int i = 0; i < 2; i++)
		if (numem_spec_add_numa_arg(spec, args[i], err, sizeof(err))) {
			fprintf(stderr, "alloc-numem: %s\n", err);
			exit(1);
		}
	if (numem_spec_finish(spec, err, sizeof(err)) ||
	    numem_machine_src_spec(&src, spec, err, sizeof(err))) {
		fprintf(stderr, "alloc-numem: %s\n", err);
		exit(1);
	}
	free(spec);
	struct numem_system_opts o = {0};
	o.heap.deferred = true;
	o.reserve_metadata = true;
	struct numem_diag d = {0};
	uint64_t rss0 = statm_resident_bytes(), max0 = maxrss_bytes();
	uint64_t t0 = now_ns();
	if (numem_system_boot(&sys, &src, &o, &d) != NUMEM_OK) {
		fprintf(stderr, "alloc-numem: boot-64t: %s\n", d.msg);
		exit(1);
	}
	uint64_t t1 = now_ns();
	uint64_t rss1 = statm_resident_bytes(), max1 = maxrss_bytes();
	uint64_t touched = numem_host_touched_bytes(sys.m.host);
	uint64_t meta = numem_host_meta_bytes(sys.m.host);
	uint64_t t2 = now_ns();
	numem_system_shutdown(&sys);
	uint64_t t3 = now_ns();
	printf("ns_per_op %.1f ops 1 boot_ms %.2f rss_mib %.1f maxrss_delta_mib %.1f "
	       "touched_mib %.1f meta_mib %.1f shutdown_ms %.2f\n",
	       (double)(t1 - t0), (double)(t1 - t0) / 1e6, (double)(rss1 - rss0) / 1048576.0,
	       (double)(max1 - max0) / 1048576.0, (double)touched / 1048576.0,
	       (double)meta / 1048576.0, (double)(t3 - t2) / 1e6);
}
#endif

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	printf("usage: alloc-" IMPL_NAME " --case NAME [--small] [--n N] | --info\n"
	       "cases: order0-pair order0-pair-cold batch64k-random batch64k-random-cold\n"
	       "       order9-pair order0-pair-2t obj64-pair remote-free-2t mixed-orders\n"
	       "       interleave-order0 boot-64t\n"
	       "prints \"ns_per_op V ops N ...\"; exit 2: no equivalent for the case\n");
}

int main(int argc, char **argv)
{
	const char *c = NULL;
	bool small = false;
	long n_arg = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--case") && i + 1 < argc)
			c = argv[++i];
		else if (!strcmp(argv[i], "--small"))
			small = true;
		else if (!strcmp(argv[i], "--n") && i + 1 < argc)
			n_arg = atol(argv[++i]);
		else if (!strcmp(argv[i], "--info")) {
			impl_info();
			return 0;
		} else {
			usage();
			return !strcmp(argv[i], "--help") ? 0 : 1;
		}
	}
	if (!c) {
		usage();
		return 1;
	}
	if (unsupported(c))
		return 2;
#if defined(IMPL_LIBNUMA)
	/* An mmap + munmap per call: fewer of them. */
	const long n0 = small ? 2000 : 50000, n9 = small ? 500 : 5000,
	           nmix = small ? 20000 : 200000;
#else
	const long n0 = small ? 100000 : 2000000, n9 = small ? 20000 : 200000,
	           nmix = small ? 20000 : 1000000;
#endif
#define N(def) (n_arg > 0 ? n_arg : (def))
	impl_init(c);
	impl_thread(0);
	double ns;
	long ops;
	uint64_t t0;
	char extra[96] = "";
	if (!strcmp(c, "order0-pair")) {
		long per = pairs_per_part(N(n0), n_arg > 0 || small);
		double mean;
		ops = per * PARTS;
		warm_pairs(0, ops);
		ns = one_thread(0, per, &mean);
		snprintf(extra, sizeof(extra), " mean_ns %.4f", mean);
	} else if (!strcmp(c, "order0-pair-cold")) {
		ops = N(1000);
		t0 = now_ns();
		timed_pairs_touch(0, ops);
		ns = (double)(now_ns() - t0) / (double)ops;
	} else if (!strcmp(c, "order9-pair")) {
		ops = N(n9);
		warm_pairs(9, ops);
		t0 = now_ns();
		timed_pairs(9, ops);
		ns = (double)(now_ns() - t0) / (double)ops;
	} else if (!strcmp(c, "batch64k-random") || !strcmp(c, "batch64k-random-cold")) {
		uint64_t s = 42;
		for (uint32_t i = 0; i < BATCH; i++)
			perm[i] = i;
		for (uint32_t i = BATCH - 1; i > 0; i--) {
			uint32_t j = (uint32_t)(rng(&s) % (i + 1)), t = perm[i];
			perm[i] = perm[j];
			perm[j] = t;
		}
		ops = BATCH;
		if (!strcmp(c, "batch64k-random")) {
			warm_batch();
			t0 = now_ns();
			timed_batch();
		} else {
			t0 = now_ns();
			timed_batch_touch();
		}
		ns = (double)(now_ns() - t0) / (double)ops;
	} else if (!strcmp(c, "order0-pair-2t")) {
		long per = pairs_per_part(N(n0), n_arg > 0 || small);
		double mean;
		int pinned, same_cpu;
		ops = per * PARTS;
		ns = two_threads(per, &mean, &pinned, &same_cpu);
		snprintf(extra, sizeof(extra), " mean_ns %.4f pinned %d same_cpu_parts %d", mean,
		         pinned, same_cpu);
	} else if (!strcmp(c, "obj64-pair")) {
		ops = N(small ? 200000 : 5000000);
		warm_obj(ops);
		t0 = now_ns();
		timed_obj(ops);
		ns = (double)(now_ns() - t0) / (double)ops;
	} else if (!strcmp(c, "remote-free-2t")) {
		ops = N(n0 / 4);
		remote_free(ops / 4); /* warm-up */
		ns = remote_free(ops);
	} else if (!strcmp(c, "mixed-orders")) {
		ops = N(nmix);
		mix_build(ops);
		warm_mix(ops);
		mix_drain();
		t0 = now_ns();
		timed_mix(ops);
		ns = (double)(now_ns() - t0) / (double)ops;
		mix_drain();
		free(mix);
	} else if (!strcmp(c, "interleave-order0")) {
		ops = N(n0);
		warm_interleave(ops);
		t0 = now_ns();
		timed_interleave(ops);
		ns = (double)(now_ns() - t0) / (double)ops;
	} else if (!strcmp(c, "boot-64t")) {
#if defined(IMPL_NUMEM)
		boot_64t();
		return 0;
#else
		return 2;
#endif
	} else {
		fprintf(stderr, "alloc-" IMPL_NAME ": unknown case '%s'\n", c);
		return 1;
	}
	printf("ns_per_op %.4f ops %ld%s\n", ns, ops, extra);
	fflush(stdout);
	impl_fini();
	return 0;
}
