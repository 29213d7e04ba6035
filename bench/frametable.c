/*
 * frametable.c - benchmark of the sparse frame table.
 *
 *   init-256g, init-1t-holes   eager initialisation of every descriptor of a
 *                              256 GiB machine and of a 1 TiB machine spread
 *                              over 32 TiB, against memset of the same bytes
 *                              (both into fresh memory, so both pay the page
 *                              faults); ns per page descriptor
 *   lookup-seq, lookup-rand    pfn -> descriptor address over the whole 256 GiB
 *                              machine, sequential and random, for the
 *                              section-table and the vmemmap layouts
 *   lookup-rand-read           the same, reading the descriptor's flags
 *   boot-2t-deferred, boot-64t-deferred
 *                              deferred initialisation: only the section table
 *                              is written; ns per section, bytes touched
 *   heads-2t                   the write pattern of "heads only" deferral on
 *                              2 TiB: one descriptor per 4 MiB block
 * Then metadata figures: bytes per GiB of RAM, section-table bytes for a
 * 64 TiB-wide address space with 1 TiB present.
 *
 * Contract: --json prints {"bench": "frametable", "results": [...]}.
 */
#include <numem/host.h>
#include <sys/mman.h>

#include "bench.h"

#define GIB (1ull << 30)
#define TIB (1ull << 40)

struct machine {
	struct numem_host *host;
	struct numem_srat srat;
	struct numem_srat_cpu cpu[64];
	struct numem_srat_mem mem[64];
	struct numem_topo *topo;
};

/* nodes x bytes of RAM, node n at base + n * stride. */
static void machine_make(struct machine *m, uint32_t nodes, uint64_t bytes, uint64_t base,
                         uint64_t stride)
{
	memset(m, 0, sizeof(*m));
	m->host = numem_host_create();
	for (uint32_t n = 0; n < nodes; n++) {
		m->cpu[n] = (struct numem_srat_cpu){
		    .type = NUMEM_SRAT_X2APIC, .pxm = n, .id = n, .enabled = true};
		m->mem[n] = (struct numem_srat_mem){
		    .pxm = n, .base = base + n * stride, .length = bytes, .flags = 1};
	}
	m->srat =
	    (struct numem_srat){.nr_cpu = nodes, .cpu = m->cpu, .nr_mem = nodes, .mem = m->mem};
	struct numem_topo_input in = {.srat = &m->srat};
	struct numem_diag d = {0};
	if (numem_topo_build(numem_host_platform(m->host), &in, NULL, &m->topo, &d)) {
		fprintf(stderr, "topology: %s\n", d.msg);
		exit(1);
	}
}

static void machine_free(struct machine *m)
{
	numem_topo_release(m->topo);
	numem_host_destroy(m->host);
}

static void ft_init(struct machine *m, struct numem_frametable *ft, enum numem_ft_layout layout,
                    bool deferred)
{
	struct numem_frametable_opts o = {.layout = layout, .deferred = deferred};
	struct numem_diag d = {0};
	if (numem_frametable_init(numem_host_platform(m->host), m->topo, &o, ft, &d)) {
		fprintf(stderr, "frame table: %s\n", d.msg);
		exit(1);
	}
}

/* Re-initialise every section of an initialised table (memory resident). */
static void ft_reinit(struct numem_frametable *ft)
{
	for (uint64_t s = 0; s < ft->nr_sections; s++)
		ft->section_state[s] &= (uint8_t)~NUMEM_SECTION_INIT;
	ft->init_sections = 0;
	for (uint64_t s = 0; s < ft->nr_sections; s++)
		if (ft->section_state[s] & NUMEM_SECTION_PRESENT)
			numem_frametable_init_section(ft, s);
}

/*
 * Eager init vs memset, interleaved rep by rep (the order alternates so
 * neither always runs on memory the other just gave back).  "cold" is
 * into fresh memory, page faults included: that is boot.  "-warm" runs
 * again over the same, now resident, memory: the store stream alone.
 */
static void bench_init(struct bench *b, const char *name, uint32_t nodes, uint64_t bytes,
                       uint64_t stride, bool with_vmemmap)
{
	double t_sec[64], t_vmm[64], t_mem[64], w_sec[64], w_mem[64];
	struct machine sizing;
	struct numem_frametable ft0;
	machine_make(&sizing, nodes, bytes, 0, stride);
	ft_init(&sizing, &ft0, NUMEM_FT_SECTIONS, true); /* deferred: sizes only */
	const uint64_t pages = sizing.topo->total_ram_pages, desc_bytes = ft0.descriptor_bytes;
	numem_frametable_release(&ft0);
	machine_free(&sizing);
	for (int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, name, rep);
		for (int k = 0; k < 3; k++) {
			int which = (k + rep) % 3; /* rotate the order */
			if (which == 2) {
				void *p = mmap(NULL, desc_bytes, PROT_READ | PROT_WRITE,
				               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
				uint64_t t0 = bench_now();
				memset(p, 0x5a, desc_bytes);
				uint64_t t1 = bench_now();
				__asm__ volatile("" ::"r"(p) : "memory");
				memset(p, 0xa5, desc_bytes);
				uint64_t t2 = bench_now();
				__asm__ volatile("" ::"r"(p) : "memory");
				munmap(p, desc_bytes);
				t_mem[rep] = (double)(t1 - t0);
				w_mem[rep] = (double)(t2 - t1);
				continue;
			}
			if (which == 1 && !with_vmemmap)
				continue;
			struct machine m;
			machine_make(&m, nodes, bytes, 0, stride);
			struct numem_frametable ft;
			uint64_t t0 = bench_now();
			ft_init(&m, &ft, which, false);
			uint64_t t1 = bench_now();
			(which ? t_vmm : t_sec)[rep] = (double)(t1 - t0);
			if (which == 0) {
				ft_reinit(&ft);
				w_sec[rep] = (double)(bench_now() - t1);
			}
			numem_frametable_release(&ft);
			machine_free(&m);
		}
	}
	bench_progress_done(b);
	char note[96], warm[64];
	snprintf(note, sizeof(note), "%llu MiB of descriptors, %.0f ms, page faults included",
	         (unsigned long long)(desc_bytes >> 20), bench_median(t_sec, b->reps) / 1e6);
	bench_add(b, name, "numem", t_sec, b->reps, (double)pages, note);
	if (with_vmemmap) {
		snprintf(note, sizeof(note), "vmemmap layout, %.0f ms",
		         bench_median(t_vmm, b->reps) / 1e6);
		bench_add(b, name, "numem-vmemmap", t_vmm, b->reps, (double)pages, note);
	}
	snprintf(note, sizeof(note), "same bytes, fresh memory, %.0f ms",
	         bench_median(t_mem, b->reps) / 1e6);
	bench_add(b, name, "memset", t_mem, b->reps, (double)pages, note);
	snprintf(warm, sizeof(warm), "%s-warm", name);
	snprintf(note, sizeof(note), "resident memory, %.0f ms",
	         bench_median(w_sec, b->reps) / 1e6);
	bench_add(b, warm, "numem", w_sec, b->reps, (double)pages, note);
	snprintf(note, sizeof(note), "resident memory, %.0f ms",
	         bench_median(w_mem, b->reps) / 1e6);
	bench_add(b, warm, "memset", w_mem, b->reps, (double)pages, note);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The lookup loops, one function each so that callgrind can count the
 * instructions of each (bench/callgrind-frametable.sh). */
#define LOOKUP_FNS(layout)                                                                         \
	__attribute__((noipa)) static void ftbench_seq_##layout(const struct numem_frametable *f,  \
	                                                        uint64_t n)                        \
	{                                                                                          \
		for (uint64_t p = 0; p < n; p++) {                                                 \
			struct numem_page *pg = numem_pfn_to_page(f, numem_pfn(p));                \
			__asm__ volatile("" ::"r"(pg));                                            \
		}                                                                                  \
	}                                                                                          \
	__attribute__((noipa)) static void ftbench_rand_##layout(const struct numem_frametable *f, \
	                                                         const uint64_t *pfns, size_t n)   \
	{                                                                                          \
		for (size_t i = 0; i < n; i++) {                                                   \
			struct numem_page *pg = numem_pfn_to_page(f, numem_pfn(pfns[i]));          \
			__asm__ volatile("" ::"r"(pg));                                            \
		}                                                                                  \
	}                                                                                          \
	__attribute__((noipa)) static uint64_t ftbench_read_##layout(                              \
	    const struct numem_frametable *f, const uint64_t *pfns, size_t n)                      \
	{                                                                                          \
		uint64_t acc = 0;                                                                  \
		for (size_t i = 0; i < n; i++)                                                     \
			acc += numem_pfn_to_page(f, numem_pfn(pfns[i]))->flags;                    \
		return acc;                                                                        \
	}
LOOKUP_FNS(sections)
LOOKUP_FNS(vmemmap)

static void bench_lookup(struct bench *b)
{
	const uint64_t per_node = b->small ? GIB : 64 * GIB;
	struct machine m;
	machine_make(&m, 4, per_node, 0, per_node);
	struct numem_frametable ft[2];
	ft_init(&m, &ft[0], NUMEM_FT_SECTIONS, false);
	/* The vmemmap layout needs its own host (one reservation each). */
	struct machine m2;
	machine_make(&m2, 4, per_node, 0, per_node);
	ft_init(&m2, &ft[1], NUMEM_FT_VMEMMAP, false);
	const uint64_t npages = m.topo->total_ram_pages;
	const size_t nrand = b->small ? 1u << 20 : 1u << 24;
	uint64_t *pfns = malloc(nrand * sizeof(*pfns)), seed = 88172645463325252ull;
	for (size_t i = 0; i < nrand; i++)
		pfns[i] = xorshift(&seed) % npages;
	static const char *const impl[2] = {"sections", "vmemmap"};
	double seq[2][64] = {{0}}, rnd[2][64] = {{0}}, rdr[2][64] = {{0}};
	/* NUMEM_BENCH_LAYOUT=0|1 runs one layout only (for callgrind). */
	const char *env = getenv("NUMEM_BENCH_LAYOUT");
	const int only_layout = env ? atoi(env) : -1;
	uint64_t acc = 0;
	for (int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, "lookup", rep);
		for (int k = 0; k < 2; k++) {
			int l = (k + rep) % 2; /* alternate which layout goes first */
			if (only_layout >= 0 && l != only_layout)
				continue;
			const struct numem_frametable *f = &ft[l];
			uint64_t t0 = bench_now();
			l ? ftbench_seq_vmemmap(f, npages) : ftbench_seq_sections(f, npages);
			uint64_t t1 = bench_now();
			l ? ftbench_rand_vmemmap(f, pfns, nrand)
			  : ftbench_rand_sections(f, pfns, nrand);
			uint64_t t2 = bench_now();
			acc += l ? ftbench_read_vmemmap(f, pfns, nrand)
			         : ftbench_read_sections(f, pfns, nrand);
			uint64_t t3 = bench_now();
			seq[l][rep] = (double)(t1 - t0);
			rnd[l][rep] = (double)(t2 - t1);
			rdr[l][rep] = (double)(t3 - t2);
		}
	}
	bench_progress_done(b);
	__asm__ volatile("" ::"r"(acc));
	char note[96];
	for (int l = 0; l < 2; l++) {
		snprintf(note, sizeof(note), "all %lluM pfns, address only",
		         (unsigned long long)(npages >> 20));
		bench_add(b, "lookup-seq", impl[l], seq[l], b->reps, (double)npages, note);
	}
	for (int l = 0; l < 2; l++) {
		snprintf(note, sizeof(note), "%zuM random pfns, address only", nrand >> 20);
		bench_add(b, "lookup-rand", impl[l], rnd[l], b->reps, (double)nrand, note);
	}
	for (int l = 0; l < 2; l++) {
		snprintf(note, sizeof(note), "%zuM random pfns, reads the descriptor", nrand >> 20);
		bench_add(b, "lookup-rand-read", impl[l], rdr[l], b->reps, (double)nrand, note);
	}
	free(pfns);
	numem_frametable_release(&ft[0]);
	numem_frametable_release(&ft[1]);
	machine_free(&m);
	machine_free(&m2);
}

struct boot_figures {
	uint64_t touched, table_bytes, sections, descriptor_bytes;
};

static void bench_boot(struct bench *b, const char *name, uint32_t nodes, uint64_t bytes,
                       uint64_t base, uint64_t stride, enum numem_ft_layout layout,
                       struct boot_figures *fig)
{
	double t[64];
	for (int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, name, rep);
		struct machine m;
		machine_make(&m, nodes, bytes, base, stride);
		uint64_t before = numem_host_touched_bytes(m.host);
		struct numem_frametable ft;
		uint64_t t0 = bench_now();
		ft_init(&m, &ft, layout, true);
		uint64_t t1 = bench_now();
		t[rep] = (double)(t1 - t0);
		fig->touched = numem_host_touched_bytes(m.host) - before;
		fig->table_bytes = ft.table_bytes;
		fig->sections = ft.present_sections;
		fig->descriptor_bytes = ft.descriptor_bytes;
		numem_frametable_release(&ft);
		machine_free(&m);
	}
	bench_progress_done(b);
	char note[96];
	snprintf(note, sizeof(note), "%.1f ms, %llu KiB touched, %llu present sections",
	         bench_median(t, b->reps) / 1e6, (unsigned long long)(fig->touched >> 10),
	         (unsigned long long)fig->sections);
	bench_add(b, name, layout == NUMEM_FT_VMEMMAP ? "numem-vmemmap" : "numem", t, b->reps,
	          (double)fig->sections, note);
}

/* Write one head descriptor per max-order (1024-page) block. */
static void bench_heads(struct bench *b, struct boot_figures *fig)
{
	double t[64];
	for (int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, "heads-2t", rep);
		struct machine m;
		machine_make(&m, 16, 128 * GIB, 0, 128 * GIB);
		struct numem_frametable ft;
		uint64_t t0 = bench_now();
		ft_init(&m, &ft, NUMEM_FT_SECTIONS, true);
		for (uint64_t pfn = 0; pfn < m.topo->max_pfn; pfn += 1024) {
			struct numem_page *pg = numem_pfn_to_page(&ft, numem_pfn(pfn));
			pg->flags = (uint64_t)NUMEM_PS_FREE | 10u << NUMEM_PG_ORDER_SHIFT |
			            numem_pfn_to_section(&ft, numem_pfn(pfn))
			                << NUMEM_PG_SECTION_SHIFT;
		}
		uint64_t t1 = bench_now();
		t[rep] = (double)(t1 - t0);
		fig->touched = numem_host_touched_bytes(m.host);
		numem_frametable_release(&ft);
		machine_free(&m);
	}
	bench_progress_done(b);
	char note[96];
	snprintf(note, sizeof(note), "%.0f ms, %llu MiB touched (of 16384 MiB)",
	         bench_median(t, b->reps) / 1e6, (unsigned long long)(fig->touched >> 20));
	bench_add(b, "heads-2t", "numem", t, b->reps, (double)(2 * TIB >> 22), note);
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "frametable"};
	bench_args(&b, argc, argv, 5);
	if (bench_want(&b, "init-256g"))
		bench_init(&b, "init-256g", 4, 64 * GIB, 64 * GIB, true);
	if (bench_want(&b, "init-1t-holes"))
		bench_init(&b, "init-1t-holes", 8, 128 * GIB, 4 * TIB, false);
	if (bench_want(&b, "lookup"))
		bench_lookup(&b);
	struct boot_figures f2t = {0}, f64t = {0}, f64tv = {0}, fwide = {0}, fheads = {0};
	if (bench_want(&b, "boot-2t"))
		bench_boot(&b, "boot-2t-deferred", 16, 128 * GIB, 0, 128 * GIB, NUMEM_FT_SECTIONS,
		           &f2t);
	if (bench_want(&b, "boot-64t")) {
		bench_boot(&b, "boot-64t-deferred", 64, TIB, 0, TIB, NUMEM_FT_SECTIONS, &f64t);
		bench_boot(&b, "boot-64t-deferred", 64, TIB, 0, TIB, NUMEM_FT_VMEMMAP, &f64tv);
	}
	if (bench_want(&b, "heads-2t"))
		bench_heads(&b, &fheads);
	/* 1 TiB present in a 64 TiB-wide space: 8 x 128 GiB, the last ending at 64 TiB. */
	if (bench_want(&b, "boot-1t-in-64t"))
		bench_boot(&b, "boot-1t-in-64t", 8, 128 * GIB, 8 * TIB - 128 * GIB, 8 * TIB,
		           NUMEM_FT_SECTIONS, &fwide);
	bench_print(&b, "memset");
	if (b.json || b.filter)
		return 0;
	const double per_gib = 32.0 * (GIB >> 12);
	printf("\nmetadata: descriptor %zu bytes = %.0f KiB per GiB of RAM (%.2f%%); section "
	       "table %.1f bytes per GiB (128 MiB sections, 11 bytes each)\n",
	       sizeof(struct numem_page), per_gib / 1024, 100.0 * per_gib / GIB, 8 * 11.0);
	printf("64 TiB-wide address space, 1 TiB present: section table %llu KiB, touched at boot "
	       "%llu KiB (%llu sections present)\n",
	       (unsigned long long)(fwide.table_bytes >> 10),
	       (unsigned long long)(fwide.touched >> 10), (unsigned long long)fwide.sections);
	printf("deferred boot: 2 TiB touches %llu KiB; 64 TiB touches %llu KiB (sections) / %llu "
	       "KiB (vmemmap) of a %llu GiB frame table\n",
	       (unsigned long long)(f2t.touched >> 10), (unsigned long long)(f64t.touched >> 10),
	       (unsigned long long)(f64tv.touched >> 10),
	       (unsigned long long)(f64t.descriptor_bytes >> 30));
	return 0;
}
