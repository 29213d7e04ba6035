/*
 * test_memmap.c - the sparse frame table, both layouts.
 */
#include "helpers.h"

DEFINE_TEST_HOST;

/* Two nodes with a PCI hole, a partial section and a 1 TiB gap. */
static struct numem_topo *holey_topo(void)
{
	struct numem_ram_range ram[] = {
	    {0, 0x9f000},                   /* partial first section */
	    {MIB, 3 * GIB + GIB / 2 - MIB}, /* up to the PCI hole */
	    {4 * GIB, 2 * GIB + 64 * MIB},  /* ends mid-section */
	    {1ull << 40, 4 * GIB},          /* after a 1 TiB hole */
	};
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 6 * GIB + 64 * MIB, 1),
	                                mem_range(1, 1ull << 40, 4 * GIB, 1)};
	struct numem_srat in = {.nr_cpu = 2, .cpu = cpus, .nr_mem = 2, .mem = mems};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	static struct numem_srat s;
	assert_int_equal(numem_srat_parse(t, len, 0, test_plat, &s, NULL), NUMEM_OK);
	free(t);
	struct numem_topo_input ti = {.srat = &s, .ram = ram, .nr_ram = 4};
	struct numem_topo *topo;
	struct numem_diag d = {0};
	assert_int_equal(numem_topo_build(test_plat, &ti, NULL, &topo, &d), NUMEM_OK);
	assert_int_equal(topo->nr_nodes, 2);
	return topo;
}

static void check_layout(enum numem_ft_layout layout)
{
	struct numem_topo *topo = holey_topo();
	struct numem_frametable ft;
	struct numem_frametable_opts o = {.layout = layout};
	struct numem_diag d = {0};
	assert_int_equal(numem_frametable_init(test_plat, topo, &o, &ft, &d), NUMEM_OK);
	assert_true(sizeof(struct numem_page) <= 32);
	assert_int_equal(ft.pfn_section_shift, 15);
	/* Sections: [0, 3.5G) = 28, [4G, 6G+64M) = 17, [1T, 1T+4G) = 32. */
	assert_int_equal(ft.present_sections, 28 + 17 + 32);
	assert_int_equal(ft.descriptor_bytes,
	                 ft.present_sections * 32768 * sizeof(struct numem_page));
	assert_int_equal(ft.init_sections, ft.present_sections);

	uint64_t checked = 0;
	for (uint32_t i = 0; i < topo->nr_ranges; i++) {
		const struct numem_mem_range *r = &topo->range[i];
		uint64_t first = (r->base + 4095) >> 12, last = r->end >> 12;
		for (uint64_t pfn = first; pfn < last; pfn += 977) {
			struct numem_page *pg = numem_frametable_lookup(&ft, numem_pfn(pfn));
			assert_non_null(pg);
			assert_int_equal(numem_page_state(pg), NUMEM_PS_RESERVED);
			assert_int_equal(numem_page_node(pg), r->node);
			assert_int_equal(numem_page_to_pfn(&ft, pg).v, pfn);
			checked++;
		}
	}
	assert_true(checked > 1000);
	/* Inside a present section, outside RAM: a HOLE descriptor. */
	struct numem_page *pg = numem_frametable_lookup(&ft, numem_pfn(0xa0));
	assert_non_null(pg);
	assert_int_equal(numem_page_state(pg), NUMEM_PS_HOLE);
	pg = numem_frametable_lookup(&ft, numem_pfn(((6 * GIB) >> 12) + 20000));
	assert_non_null(pg);
	assert_int_equal(numem_page_state(pg), NUMEM_PS_HOLE);
	/* PCI hole, the 1 TiB gap, past the end: no descriptor at all. */
	assert_null(numem_frametable_lookup(&ft, numem_pfn((3 * GIB + GIB * 3 / 4) >> 12)));
	assert_null(numem_frametable_lookup(&ft, numem_pfn((512 * GIB) >> 12)));
	assert_null(numem_frametable_lookup(&ft, numem_pfn(((1ull << 40) + 4 * GIB) >> 12)));
	assert_null(numem_frametable_lookup(&ft, numem_pfn(UINT64_MAX >> 12)));
	/* Sections in the gap cost nothing. */
	assert_true(numem_host_touched_bytes(test_host) < ft.descriptor_bytes + 64 * MIB);

	numem_frametable_release(&ft);
	numem_topo_release(topo);
}

static void test_sections_layout(void **state)
{
	(void)state;
	check_layout(NUMEM_FT_SECTIONS);
}

static void test_vmemmap_layout(void **state)
{
	(void)state;
	check_layout(NUMEM_FT_VMEMMAP);
}

static void test_deferred_init(void **state)
{
	(void)state;
	struct numem_topo *topo = holey_topo();
	struct numem_frametable ft;
	struct numem_frametable_opts o = {.layout = NUMEM_FT_SECTIONS, .deferred = true};
	assert_int_equal(numem_frametable_init(test_plat, topo, &o, &ft, NULL), NUMEM_OK);
	assert_int_equal(ft.init_sections, 0);
	uint64_t touched = numem_host_touched_bytes(test_host);
	assert_true(touched < 4 * MIB); /* nothing but tables */
	uint64_t sec = numem_pfn_to_section(&ft, numem_pfn((1ull << 40) >> 12));
	struct numem_page *pg = numem_frametable_lookup(&ft, numem_pfn((1ull << 40) >> 12));
	assert_non_null(pg);
	assert_int_equal(numem_page_state(pg), NUMEM_PS_UNINIT);
	assert_int_equal(numem_frametable_init_section(&ft, sec), NUMEM_OK);
	assert_int_equal(numem_page_state(pg), NUMEM_PS_RESERVED);
	assert_int_equal(numem_page_node(pg), 1);
	assert_int_equal(ft.init_sections, 1);
	assert_int_equal(numem_frametable_init_section(&ft, sec), NUMEM_OK); /* idempotent */
	assert_int_equal(ft.init_sections, 1);
	assert_int_equal(numem_host_touched_bytes(test_host) - touched,
	                 32768 * sizeof(struct numem_page));
	/* A section with no RAM cannot be initialised. */
	assert_int_equal(numem_frametable_init_section(&ft, 100), NUMEM_E_RANGE);
	assert_int_equal(numem_frametable_init_section(&ft, ft.nr_sections), NUMEM_E_RANGE);
	numem_frametable_release(&ft);
	numem_topo_release(topo);
}

static void test_bad_options(void **state)
{
	(void)state;
	struct numem_topo *topo = holey_topo();
	struct numem_frametable ft;
	struct numem_diag d = {0};
	struct numem_frametable_opts o = {.section_shift = 16};
	assert_int_equal(numem_frametable_init(test_plat, topo, &o, &ft, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "section_shift"));
	o.section_shift = 0;
	o.layout = (enum numem_ft_layout)7;
	assert_int_equal(numem_frametable_init(test_plat, topo, &o, &ft, &d), NUMEM_E_INVAL);
	/* A platform without vmap services cannot have a vmemmap. */
	struct numem_platform p = *test_plat;
	p.vmap_reserve = NULL;
	o.layout = NUMEM_FT_VMEMMAP;
	uint64_t before = numem_host_meta_bytes(test_host);
	assert_int_equal(numem_frametable_init(&p, topo, &o, &ft, &d), NUMEM_E_UNSUPPORTED);
	assert_int_equal(numem_host_meta_bytes(test_host), before);
	numem_topo_release(topo);
}

static void test_release_returns_everything(void **state)
{
	(void)state;
	uint64_t before = numem_host_meta_bytes(test_host);
	struct numem_topo *topo = holey_topo();
	struct numem_frametable ft;
	assert_int_equal(numem_frametable_init(test_plat, topo, NULL, &ft, NULL), NUMEM_OK);
	numem_frametable_release(&ft);
	numem_topo_release(topo);
	/* The SRAT parsed by holey_topo() stays (static); the rest is gone. */
	assert_true(numem_host_meta_bytes(test_host) - before < 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    HOST_TEST(test_sections_layout),
	    HOST_TEST(test_vmemmap_layout),
	    HOST_TEST(test_deferred_init),
	    HOST_TEST(test_bad_options),
	    HOST_TEST(test_release_returns_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
