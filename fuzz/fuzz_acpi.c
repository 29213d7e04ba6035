/*
 * fuzz_acpi.c - libFuzzer target for the SRAT, SLIT and HMAT parsers and
 * everything built from a parsed table.
 *
 * Input: one selector byte (low 2 bits: 0 SRAT, 1 SLIT, 2 HMAT, 3 SRAT whose
 * second half is a SLIT), then the table.  The signature is forced to the
 * selected one so that the fuzzer spends its time past the header.
 * Properties checked beyond "no crash, no leak, no UB":
 *   - a rejected table allocates nothing;
 *   - an accepted SRAT builds a topology (lenient mode never fails on a
 *     valid table unless no RAM exists) whose nodes, CPUs and ranges are
 *     consistent, and a frame table when the machine is small enough;
 *   - writing a parsed table and parsing it again gives the same entries.
 */
#include <numem/host.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned kind = data[0] & 3;
	size -= 1;
	uint8_t *t = malloc(size ? size : 1);
	memcpy(t, data + 1, size);
	static const char *const sig[] = {"SRAT", "SLIT", "HMAT", "SRAT"};
	if (size >= 4)
		memcpy(t, sig[kind], 4);
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
