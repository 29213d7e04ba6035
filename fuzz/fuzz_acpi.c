/*
 * fuzz_acpi.c - libFuzzer target for the SRAT, SLIT, HMAT, MADT and PPTT
 * parsers and everything built from a parsed table.
 *
 * Input: one selector byte (low 2 bits: 0 SRAT, 1 SLIT or a CPU table, 2
 * HMAT, 3 SRAT whose second half is a SLIT), then the table.  With low bits
 * 1, bits 4-5 choose: 0 SLIT, 1 MADT, 2 PPTT, 3 a MADT followed (at its
 * header length) by a PPTT, both then building a one-node topology whose
 * CPUs and CPU topology come from them.  The signature is forced to the
 * selected one so that the fuzzer spends its time past the header.
 * Properties checked beyond "no crash, no leak, no UB":
 *   - a rejected table allocates nothing;
 *   - an accepted SRAT builds a topology (lenient mode never fails on a
 *     valid table unless no RAM exists) whose nodes, CPUs and ranges are
 *     consistent, and a frame table when the machine is small enough;
 *   - writing a parsed table and parsing it again gives the same entries.
 *
 * Random bytes almost never produce the counts that matter (an HMAT
 * latency structure whose 2*ni*nt wraps, a SLIT count near 2^32, an SRAT
 * range of 2^46 bytes), so a custom mutator runs libFuzzer's own mutation
 * and then, half the time, walks the table's structures and patches a count
 * or size field with a boundary value (and fixes the header length so the
 * table gets past the header check).  fuzz/acpi.dict adds the signatures,
 * structure types and big little-endian counts for the generic mutations.
 */
#include <numem/host.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static void check(bool cond)
{
	if (!cond)
		abort();
}

static void check_topology(const struct numem_topo *t)
{
	uint64_t pages = 0;
	check(t->nr_nodes >= 1 && t->nr_nodes <= NUMEM_MAX_NODES);
	for (uint32_t n = 0; n < t->nr_nodes; n++) {
		pages += t->node[n].ram_pages;
		check(t->node[n].nearest_mem < t->nr_nodes);
		check(t->node[t->node[n].nearest_mem].ram_pages > 0);
		check(t->distance[n][n] == NUMEM_LOCAL_DISTANCE);
	}
	check(pages == t->total_ram_pages);
	for (uint32_t c = 0; c < t->nr_cpus; c++)
		check(t->cpu[c].node < t->nr_nodes);
	for (uint32_t i = 1; i < t->nr_ranges; i++)
		check(t->range[i - 1].end <= t->range[i].base);
}

static void srat_roundtrip(const struct numem_platform *plat, const struct numem_srat *s)
{
	size_t len;
	if (numem_srat_write(s, NULL, 0, &len) != NUMEM_OK)
		return;
	uint8_t *buf = malloc(len);
	check(numem_srat_write(s, buf, len, &len) == NUMEM_OK);
	struct numem_srat again;
	check(numem_srat_parse(buf, len, NUMEM_ACPI_STRICT, plat, &again, NULL) == NUMEM_OK);
	check(again.nr_cpu == s->nr_cpu && again.nr_mem == s->nr_mem);
	for (uint32_t i = 0; i < s->nr_cpu; i++)
		check(again.cpu[i].id == s->cpu[i].id && again.cpu[i].enabled == s->cpu[i].enabled);
	for (uint32_t i = 0; i < s->nr_mem; i++)
		check(again.mem[i].base == s->mem[i].base &&
		      again.mem[i].length == s->mem[i].length);
	numem_srat_release(plat, &again);
	free(buf);
}

/* Writing a parsed MADT / PPTT and parsing it again keeps the entries. */
static void cpu_tables_roundtrip(const struct numem_platform *plat, const struct numem_madt *m,
                                 const struct numem_pptt *p)
{
	size_t len;
	if (m && numem_madt_write(m, NULL, 0, &len) == NUMEM_OK) {
		uint8_t *buf = malloc(len);
		struct numem_madt again;
		check(numem_madt_write(m, buf, len, &len) == NUMEM_OK);
		check(numem_madt_parse(buf, len, NUMEM_ACPI_STRICT, plat, &again, NULL) ==
		      NUMEM_OK);
		check(again.nr_cpu == m->nr_cpu);
		for (uint32_t i = 0; i < m->nr_cpu; i++)
			check(again.cpu[i].id == m->cpu[i].id &&
			      again.cpu[i].enabled == m->cpu[i].enabled &&
			      again.cpu[i].online_capable == m->cpu[i].online_capable);
		numem_madt_release(plat, &again);
		free(buf);
	}
	if (p && numem_pptt_write(p, NULL, 0, &len) == NUMEM_OK) {
		uint8_t *buf = malloc(len);
		struct numem_pptt again;
		check(numem_pptt_write(p, buf, len, &len) == NUMEM_OK);
		check(numem_pptt_parse(buf, len, NUMEM_ACPI_STRICT, plat, &again, NULL) ==
		      NUMEM_OK);
		check(again.nr_node == p->nr_node);
		for (uint32_t i = 0; i < p->nr_node; i++)
			check(again.node[i].parent == p->node[i].parent &&
			      again.node[i].flags == p->node[i].flags);
		numem_pptt_release(plat, &again);
		free(buf);
	}
}

/* MADT, PPTT, or both: a rejected table allocates nothing; accepted ones
 * give a topology whose CPUs are on its node and whose socket/core/thread
 * figures are unknown or within the CPU count. */
static void fuzz_cpu_tables(const struct numem_platform *plat, uint8_t *t, size_t size,
                            unsigned cpu_kind, unsigned flags)
{
	struct numem_madt madt;
	struct numem_pptt pptt;
	bool has_madt = false, has_pptt = false;
	size_t pptt_at = 0;
	if (cpu_kind != 2) {
		has_madt = numem_madt_parse(t, size, flags, plat, &madt, NULL) == NUMEM_OK;
		if (!has_madt || cpu_kind == 1)
			goto out;
		pptt_at = madt.header.length;
		if (size - pptt_at >= 4)
			memcpy(t + pptt_at, "PPTT", 4);
	}
	has_pptt =
	    numem_pptt_parse(t + pptt_at, size - pptt_at, flags, plat, &pptt, NULL) == NUMEM_OK;
	for (uint32_t i = 0; has_pptt && i < pptt.nr_node; i++)
		check(pptt.node[i].parent < (int32_t)pptt.nr_node &&
		      (pptt.node[i].parent < 0) == (pptt.node[i].parent_offset == 0));
	cpu_tables_roundtrip(plat, has_madt ? &madt : NULL, has_pptt ? &pptt : NULL);
	if (cpu_kind == 3) {
		struct numem_ram_range ram = {0, 64ull << 20};
		struct numem_topo_input in = {
		    .ram = &ram, .nr_ram = 1, .madt = &madt, .pptt = has_pptt ? &pptt : NULL};
		struct numem_topo *topo;
		if (numem_topo_build(plat, &in, NULL, &topo, NULL) == NUMEM_OK) {
			check_topology(topo);
			for (uint32_t c = 0; c < topo->nr_cpus; c++) {
				const struct numem_cpu_desc *d = &topo->cpu[c];
				check(d->socket == NUMEM_CPU_UNKNOWN || d->socket < topo->nr_cpus);
				check(d->core == NUMEM_CPU_UNKNOWN || d->core < topo->nr_cpus);
				check(d->thread == NUMEM_CPU_UNKNOWN || d->thread < topo->nr_cpus);
			}
			numem_topo_release(topo);
		}
	}
out:
	if (has_pptt)
		numem_pptt_release(plat, &pptt);
	if (has_madt)
		numem_madt_release(plat, &madt);
}

/* Boundary values for 32-bit counts; the last two are the review's HMAT
 * counts whose 64-bit byte total wraps to 88. */
static const uint32_t fuzz_acpi_counts32[] = {
    0,          1,          2,          0xff,       0x100,      0xffff,      0x10000,    0x3fffffff,
    0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 4294705158u, 2147614722u};
#define FUZZ_ACPI_NCOUNTS (sizeof(fuzz_acpi_counts32) / sizeof(fuzz_acpi_counts32[0]))

static uint32_t fuzz_acpi_rand(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

static void fuzz_acpi_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fuzz_acpi_put64(uint8_t *p, uint64_t v)
{
	fuzz_acpi_put32(p, (uint32_t)v);
	fuzz_acpi_put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t fuzz_acpi_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A big or boundary 64-bit size: 2^k or 2^k - 1 for k in 12..63. */
static uint64_t fuzz_acpi_size64(uint32_t *st)
{
	uint64_t v = 1ull << (12 + fuzz_acpi_rand(st) % 52);
	return fuzz_acpi_rand(st) & 1 ? v - 1 : v;
}

/*
 * Structure-aware step: find the i-th structure of the selected table and
 * patch its count or size field.  Offsets are those of the parsers
 * (src/core/acpi): HMAT type 1 counts at +12/+16, type 2 handle count at
 * +30; SLIT count at 36; SRAT memory affinity base/length at +8/+16.
 */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	uint32_t st = seed;
	if (size < 1 + 48 || fuzz_acpi_rand(&st) % 2)
		return size;
	uint8_t *t = data + 1;
	uint32_t len = (uint32_t)(size - 1);
	unsigned kind = data[0] & 3;
	if (fuzz_acpi_rand(&st) % 4)
		fuzz_acpi_put32(t + 4, len);
	uint32_t pick = fuzz_acpi_rand(&st);
	if (kind == 1) {
		uint64_t n = fuzz_acpi_rand(&st) % 2 ? fuzz_acpi_counts32[pick % FUZZ_ACPI_NCOUNTS]
		                                     : fuzz_acpi_size64(&st);
		fuzz_acpi_put64(t + 36, n);
		return size;
	}
	/* Walk the structures; patch the (pick % count)-th matching one. */
	uint32_t first = kind == 2 ? 40 : 48, hdr = kind == 2 ? 8 : 2, seen = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t want = pass ? pick % (seen ? seen : 1) : 0, n = 0;
		for (uint32_t off = first; off + hdr <= len;) {
			uint32_t slen = kind == 2 ? fuzz_acpi_le32(t + off + 4) : t[off + 1];
			unsigned type = t[off];
			if (slen == 0 || slen > len - off)
				break;
			bool hit = kind == 2
			               ? (type == 1 && slen >= 20) || (type == 2 && slen >= 32)
			               : type == 1 && slen >= 24;
			if (hit && pass && n == want) {
				uint32_t v =
				    fuzz_acpi_counts32[fuzz_acpi_rand(&st) % FUZZ_ACPI_NCOUNTS];
				if (kind == 2 && type == 1) {
					/* one count, the other, or both; and maybe stretch the
					 * structure to the table's end so a wrapped byte total
					 * has room to pass a broken check */
					unsigned m = fuzz_acpi_rand(&st) % 3;
					if (m != 1)
						fuzz_acpi_put32(t + off + 12, v);
					if (m != 0)
						fuzz_acpi_put32(
						    t + off + 16,
						    fuzz_acpi_counts32[fuzz_acpi_rand(&st) %
						                       FUZZ_ACPI_NCOUNTS]);
					if (fuzz_acpi_rand(&st) % 2)
						fuzz_acpi_put32(t + off + 4, len - off);
				} else if (kind == 2)
					t[off + 30] = (uint8_t)v, t[off + 31] = (uint8_t)(v >> 8);
				else
					fuzz_acpi_put64(t + off +
					                    (fuzz_acpi_rand(&st) % 3 ? 16 : 8),
					                fuzz_acpi_size64(&st));
				return size;
			}
			n += hit;
			off += slen;
		}
		seen = n;
		if (!seen)
			break;
	}
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned kind = data[0] & 3;
	size -= 1;
	uint8_t *t = malloc(size ? size : 1);
	memcpy(t, data + 1, size);
	static const char *const sig[] = {"SRAT", "SLIT", "HMAT", "SRAT"};
	unsigned cpu_kind = kind == 1 ? (data[0] >> 4) & 3 : 0;
	if (size >= 4)
		memcpy(t, cpu_kind == 2 ? "PPTT" : cpu_kind ? "APIC" : sig[kind], 4);
	struct numem_host *h = numem_host_create();
	numem_host_set_log(h, NULL, NUMEM_LOG_ERROR);
	const struct numem_platform *plat = numem_host_platform(h);
	struct numem_diag d;
	uint64_t before = numem_host_meta_bytes(h);

	size_t srat_len = kind == 3 ? size / 2 : size;
	if (kind == 0 || kind == 3) {
		struct numem_srat s;
		if (numem_srat_parse(t, srat_len, data[0] & 4 ? NUMEM_ACPI_STRICT : 0, plat, &s,
		                     &d) != NUMEM_OK) {
			check(numem_host_meta_bytes(h) == before);
		} else {
			srat_roundtrip(plat, &s);
			struct numem_slit sl;
			bool has_slit = false;
			if (kind == 3 && size - srat_len >= 4) {
				memcpy(t + srat_len, "SLIT", 4);
				has_slit = numem_slit_parse(t + srat_len, size - srat_len, 0, plat,
				                            &sl, NULL) == NUMEM_OK;
			}
			struct numem_topo_input in = {.srat = &s, .slit = has_slit ? &sl : NULL};
			struct numem_topo_opts o = {
			    .flags = data[0] & 8 ? NUMEM_TOPO_HIDE_MEMORYLESS : 0,
			    .emulate_nodes = (data[0] >> 4) & 7};
			struct numem_topo *topo;
			if (numem_topo_build(plat, &in, &o, &topo, &d) == NUMEM_OK) {
				check_topology(topo);
				struct numem_frametable ft;
				struct numem_frametable_opts fo = {.layout = data[0] >> 7,
				                                   .deferred = true};
				if (topo->max_pfn < (1ull << 26) &&
				    numem_frametable_init(plat, topo, &fo, &ft, &d) == NUMEM_OK) {
					for (uint32_t i = 0; i < topo->nr_ranges; i++) {
						uint64_t pfn = topo->range[i].base >> 12;
						if (numem_frametable_lookup(&ft, numem_pfn(pfn)))
							numem_frametable_init_section(
							    &ft, numem_pfn_to_section(
							             &ft, numem_pfn(pfn)));
					}
					numem_frametable_release(&ft);
				}
				numem_topo_release(topo);
			}
			if (has_slit)
				numem_slit_release(plat, &sl);
			numem_srat_release(plat, &s);
		}
	} else if (kind == 1 && cpu_kind) {
		fuzz_cpu_tables(plat, t, size, cpu_kind, data[0] & 4 ? NUMEM_ACPI_STRICT : 0);
	} else if (kind == 1) {
		struct numem_slit s;
		if (numem_slit_parse(t, size, 0, plat, &s, &d) == NUMEM_OK)
			numem_slit_release(plat, &s);
		else
			check(numem_host_meta_bytes(h) == before);
	} else {
		struct numem_hmat s;
		if (numem_hmat_parse(t, size, 0, plat, &s, &d) == NUMEM_OK) {
			size_t len;
			check(numem_hmat_write(&s, NULL, 0, &len) == NUMEM_OK);
			numem_hmat_release(plat, &s);
		} else {
			check(numem_host_meta_bytes(h) == before);
		}
	}
	check(numem_host_meta_bytes(h) == before); /* everything released */
	numem_host_destroy(h);
	free(t);
	return 0;
}
