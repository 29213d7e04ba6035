/*
 * alloc.c - benchmark of the page allocator against general allocators
 * asked for page-aligned memory, in one run.
 *
 *   order0-pair      alloc + free of one 4 KiB page, back to back
 *   batch64k-random  64K single pages allocated, then freed in random order
 *   order9-pair      alloc + free of one 2 MiB block (order 9)
 *   order0-pair-2t   order0-pair on two threads at once (ns per pair per thread)
 *   obj64-pair       alloc + free of a 64-byte object: numem's slab allocator
 *                    (numem_kmalloc) against malloc(64) of jemalloc and mimalloc
 *
 * Peers: jemalloc (mallocx with MALLOCX_ALIGN), mimalloc (mi_malloc_aligned),
 * glibc (its own __libc_memalign/__libc_free), libnuma (numa_alloc_onnode,
 * an mmap per call).  jemalloc is linked in (its static TLS rules out
 * dlopen), so it is this process's malloc; glibc's allocator is reached
 * through its __libc_ entry points; mimalloc and libnuma are loaded with
 * dlopen(RTLD_LOCAL) and called through their own APIs.  No one
 * touches the memory: this measures the allocators' bookkeeping, which is
 * numem's whole job.  numem runs on the x445 preset (32 GB, 4 nodes) from
 * CPU 0 (node 0) through the per-CPU cache.
 *
 * Contract: --json prints {"bench": "alloc", "results": [...]}, ns_per_op is
 * ns per pair (per thread for -2t) or per page for batch64k-random.
 */
#include <dlfcn.h>
#include <numem/host.h>
#include <numem/slab.h>
#include <pthread.h>

#include "bench.h"

#define MALLOCX_ALIGN(a) ((int)__builtin_ctzll(a))

struct peer {
	const char *name;
	void *(*alloc)(size_t size, size_t align);
	void (*release)(void *p, size_t size);
};

void *mallocx(size_t size, int flags);
void dallocx(void *ptr, int flags);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *ptr);
static void *(*mi_malloc_aligned)(size_t, size_t);
static void *(*mi_malloc)(size_t);
static void (*mi_free)(void *);
static void *(*numa_alloc_onnode)(size_t, int);
static void (*numa_free)(void *, size_t);
static int (*numa_available)(void);

static void *je_alloc(size_t s, size_t a)
{
	return mallocx(s, MALLOCX_ALIGN(a));
}
static void je_release(void *p, size_t s)
{
	(void)s;
	dallocx(p, 0);
}
static void *mi_alloc(size_t s, size_t a)
{
	return mi_malloc_aligned(s, a);
}
static void mi_release(void *p, size_t s)
{
	(void)s;
	mi_free(p);
}
static void *glibc_alloc(size_t s, size_t a)
{
	return __libc_memalign(a, s);
}
static void glibc_release(void *p, size_t s)
{
	(void)s;
	__libc_free(p);
}
static void *numa_alloc(size_t s, size_t a)
{
	(void)a;
	return numa_alloc_onnode(s, 0);
}
static void numa_release(void *p, size_t s)
{
	numa_free(p, s);
}

static void *sym(void *lib, const char *name)
{
	void *p = lib ? dlsym(lib, name) : NULL;
	if (!p) {
		fprintf(stderr, "alloc bench: %s not found: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

static int load_peers(struct peer *peers)
{
	void *mi = dlopen("libmimalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	void *nu = dlopen("libnuma.so.1", RTLD_NOW | RTLD_LOCAL);
	mi_malloc_aligned = sym(mi, "mi_malloc_aligned");
	mi_free = sym(mi, "mi_free");
	mi_malloc = sym(mi, "mi_malloc");
	numa_alloc_onnode = sym(nu, "numa_alloc_onnode");
	numa_free = sym(nu, "numa_free");
	numa_available = sym(nu, "numa_available");
	int n = 0;
	peers[n++] = (struct peer){"jemalloc", je_alloc, je_release};
	peers[n++] = (struct peer){"mimalloc", mi_alloc, mi_release};
	peers[n++] = (struct peer){"glibc", glibc_alloc, glibc_release};
	if (numa_available() >= 0)
		peers[n++] = (struct peer){"libnuma", numa_alloc, numa_release};
	return n;
}

static struct numem_system sys;
static struct numem_slab slab;

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- one measurement each -------------------------------------------- */

__attribute__((noipa)) static double numem_pairs(struct numem_cpu *cpu, unsigned order, long n)
{
	uint64_t t0 = bench_now();
	for (long i = 0; i < n; i++) {
		numem_pfn_t pfn;
		if (numem_alloc(cpu, order, 0, NULL, &pfn, NULL) ||
		    numem_free(cpu, pfn, order, NULL))
			abort();
	}
	return (double)(bench_now() - t0);
}

__attribute__((noipa)) static double peer_pairs(const struct peer *p, size_t size, long n)
{
	uint64_t t0 = bench_now();
	for (long i = 0; i < n; i++) {
		void *m = p->alloc(size, size);
		if (!m)
			abort();
		__asm__ volatile("" ::"r"(m));
		p->release(m, size);
	}
	return (double)(bench_now() - t0);
}

#define BATCH 65536
static uint32_t perm[BATCH];

__attribute__((noipa)) static double numem_batch(struct numem_cpu *cpu)
{
	static numem_pfn_t pfn[BATCH];
	uint64_t t0 = bench_now();
	for (int i = 0; i < BATCH; i++)
		if (numem_alloc(cpu, 0, 0, NULL, &pfn[i], NULL))
			abort();
	for (int i = 0; i < BATCH; i++)
		if (numem_free(cpu, pfn[perm[i]], 0, NULL))
			abort();
	return (double)(bench_now() - t0);
}

__attribute__((noipa)) static double peer_batch(const struct peer *p)
{
	static void *m[BATCH];
	uint64_t t0 = bench_now();
	for (int i = 0; i < BATCH; i++)
		if (!(m[i] = p->alloc(4096, 4096)))
			abort();
	for (int i = 0; i < BATCH; i++)
		p->release(m[perm[i]], 4096);
	return (double)(bench_now() - t0);
}

__attribute__((noipa)) static double numem_obj_pairs(struct numem_cpu *cpu, long n)
{
	uint64_t t0 = bench_now();
	for (long i = 0; i < n; i++) {
		void *o = numem_kmalloc(&slab, cpu, 64, NULL);
		__asm__ volatile("" ::"r"(o));
		if (numem_kfree(&slab, cpu, o, NULL))
			abort();
	}
	return (double)(bench_now() - t0);
}

__attribute__((noipa)) static double je_obj_pairs(long n)
{
	uint64_t t0 = bench_now();
	for (long i = 0; i < n; i++) {
		void *o = mallocx(64, 0);
		__asm__ volatile("" ::"r"(o));
		dallocx(o, 0);
	}
	return (double)(bench_now() - t0);
}

__attribute__((noipa)) static double mi_obj_pairs(long n)
{
	uint64_t t0 = bench_now();
	for (long i = 0; i < n; i++) {
		void *o = mi_malloc(64);
		__asm__ volatile("" ::"r"(o));
		mi_free(o);
	}
	return (double)(bench_now() - t0);
}

/* ---- two threads -------------------------------------------------------- */

struct thread_arg {
	const struct peer *peer; /* NULL: numem */
	struct numem_cpu *cpu;
	long n;
	double ns;
	pthread_barrier_t *start;
};

static void *pair_thread(void *a)
{
	struct thread_arg *t = a;
	pthread_barrier_wait(t->start);
	t->ns = t->peer ? peer_pairs(t->peer, 4096, t->n) : numem_pairs(t->cpu, 0, t->n);
	return NULL;
}

/* The machine's own limit: a loop touching only a thread's registers,
 * about as long per step as an order-0 pair. */
__attribute__((noipa)) static double private_loop(long n)
{
	uint64_t t0 = bench_now(), x = 1;
	for (long i = 0; i < n * 8; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" ::"r"(x));
	}
	return (double)(bench_now() - t0);
}

static void *private_thread(void *a)
{
	struct thread_arg *t = a;
	pthread_barrier_wait(t->start);
	t->ns = private_loop(t->n);
	return NULL;
}

/* Scaling of private work: 2 x (one thread's time) / (two threads' time). */
static double private_scaling(long n)
{
	double one = private_loop(n);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	struct thread_arg ta[2];
	pthread_t tid[2];
	for (int i = 0; i < 2; i++) {
		ta[i] = (struct thread_arg){NULL, NULL, n, 0, &start};
		pthread_create(&tid[i], NULL, private_thread, &ta[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	double two = ta[0].ns > ta[1].ns ? ta[0].ns : ta[1].ns;
	return 2 * one / two;
}

static double two_threads(const struct peer *p, long n)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	struct thread_arg ta[2];
	pthread_t tid[2];
	for (int i = 0; i < 2; i++) {
		/* CPUs 0 and 8: nodes 0 and 1 of the x445. */
		ta[i] = (struct thread_arg){p, numem_heap_cpu(&sys.heap, (uint32_t)i * 8), n, 0,
		                            &start};
		pthread_create(&tid[i], NULL, pair_thread, &ta[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	return ta[0].ns > ta[1].ns ? ta[0].ns : ta[1].ns; /* wall time of the pair */
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "alloc"};
	bench_args(&b, argc, argv, 7);
	struct peer peers[4];
	int np = load_peers(peers);
	struct numem_diag d = {0};
	/* NUMEM_BENCH_LAYOUT=vmemmap: the virtually contiguous frame table. */
	const char *layout = getenv("NUMEM_BENCH_LAYOUT");
	struct numem_system_opts so = {.back_memory = true};
	if (layout && !strcmp(layout, "vmemmap"))
		so.ft.layout = NUMEM_FT_VMEMMAP;
	if (numem_system_boot_preset(&sys, "x445", &so, &d)) {
		fprintf(stderr, "boot: %s\n", d.msg);
		return 1;
	}
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	if (numem_slab_init(&slab, &sys.heap, &d)) {
		fprintf(stderr, "slab: %s\n", d.msg);
		return 1;
	}
	uint64_t seed = 42;
	for (uint32_t i = 0; i < BATCH; i++)
		perm[i] = i;
	for (uint32_t i = BATCH - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rng(&seed) % (i + 1)), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	const long n0 = b.small ? 100000 : 2000000, n9 = b.small ? 20000 : 200000;
	const long nnuma = b.small ? 2000 : 50000; /* libnuma mmaps: slow */
	double s[4][5][64];                        /* case, impl (numem + 4 peers), rep */
	double obj[3][64];                         /* numem, jemalloc, mimalloc */
	const long nobj = b.small ? 200000 : 5000000;
	for (int rep = 0; rep < b.reps; rep++) {
		bench_progress(&b, "alloc", rep);
		for (int k = 0; k <= np; k++) {
			int impl = (k + rep) % (np + 1); /* rotate the order */
			const struct peer *p = impl ? &peers[impl - 1] : NULL;
			long m0 = p && !strcmp(p->name, "libnuma") ? nnuma : n0;
			if (bench_want(&b, "order0-pair") &&
			    !(bench_want(&b, "order0-pair-2t") && b.filter &&
			      !strcmp(b.filter, "order0-pair-2t")))
				s[0][impl][rep] =
				    (p ? peer_pairs(p, 4096, m0) : numem_pairs(cpu, 0, m0)) / m0;
			if (bench_want(&b, "batch64k-random"))
				s[1][impl][rep] = (p ? peer_batch(p) : numem_batch(cpu)) / BATCH;
			if (bench_want(&b, "order9-pair")) {
				long m9 = p && !strcmp(p->name, "libnuma") ? nnuma / 10 : n9;
				s[2][impl][rep] =
				    (p ? peer_pairs(p, 2 << 20, m9) : numem_pairs(cpu, 9, m9)) / m9;
			}
			if (bench_want(&b, "order0-pair-2t"))
				s[3][impl][rep] = two_threads(p, m0) / m0;
		}
		if (bench_want(&b, "obj64-pair"))
			for (int k = 0; k < 3; k++) {
				int impl = (k + rep) % 3;
				obj[impl][rep] = (impl == 0   ? numem_obj_pairs(cpu, nobj)
				                  : impl == 1 ? je_obj_pairs(nobj)
				                              : mi_obj_pairs(nobj)) /
				                 nobj;
			}
	}
	bench_progress_done(&b);
	static const char *const cases[4] = {"order0-pair", "batch64k-random", "order9-pair",
	                                     "order0-pair-2t"};
	for (int c = 0; c < 4; c++) {
		if (!bench_want(&b, cases[c]) ||
		    (c == 0 && b.filter && !strcmp(b.filter, "order0-pair-2t")))
			continue;
		for (int impl = 0; impl <= np; impl++)
			bench_add(&b, cases[c], impl ? peers[impl - 1].name : "numem", s[c][impl],
			          b.reps, 1, NULL);
	}
	if (bench_want(&b, "obj64-pair")) {
		bench_add(&b, "obj64-pair", "numem", obj[0], b.reps, 1, "numem_kmalloc(64)");
		bench_add(&b, "obj64-pair", "jemalloc", obj[1], b.reps, 1, "malloc(64)");
		bench_add(&b, "obj64-pair", "mimalloc", obj[2], b.reps, 1, "malloc(64)");
	}
	bench_print(&b, "numem");
	if (!b.json) {
		const struct bench_result *one = bench_find(&b, "order0-pair", "numem");
		const struct bench_result *two = bench_find(&b, "order0-pair-2t", "numem");
		if (one && two) {
			double lim[64];
			for (int r = 0; r < b.reps; r++)
				lim[r] = private_scaling(b.small ? 100000 : 2000000);
			printf("\nnumem two-thread scaling: %.2fx the throughput of one thread "
			       "(this machine's limit, private work on two threads: %.2fx)\n",
			       2 * one->ns_per_op / two->ns_per_op, bench_median(lim, b.reps));
		}
		printf("ratio column: peer time / numem time (above 1: numem is faster)\n");
	}
	numem_slab_release(&slab);
	if (numem_heap_verify(&sys.heap, &d)) {
		fprintf(stderr, "verify after the benchmark: %s\n", d.msg);
		return 1;
	}
	numem_system_shutdown(&sys);
	return 0;
}
