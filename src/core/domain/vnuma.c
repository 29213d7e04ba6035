/*
 * vnuma.c - the guest's own SRAT and SLIT for its virtual NUMA layout,
 * written with the core's table writers into caller buffers.
 */
#include "domain_internal.h"

enum numem_err numem_domain_vnuma_tables(const struct numem_domain *dom, void *srat,
                                         size_t srat_cap, size_t *srat_len, void *slit,
                                         size_t slit_cap, size_t *slit_len)
{
	if (!dom->nr_vnodes)
		return NUMEM_E_INVAL;
	/* Entries in scratch metadata, not on the stack (7 KiB). */
	const struct numem_platform *plat = dom->mgr->heap->plat;
	struct scratch {
		struct numem_srat_cpu cpus[NUMEM_MAX_VCPUS];
		struct numem_srat_mem mems[NUMEM_MAX_VNODES];
		uint8_t m[NUMEM_MAX_VNODES * NUMEM_MAX_VNODES];
	} *sc = numem__meta_alloc(plat, sizeof(*sc), NUMEM_NID_NONE);
	if (!sc)
		return NUMEM_E_NOMEM;
	struct numem_srat_cpu *cpus = sc->cpus;
	struct numem_srat_mem *mems = sc->mems;
	for (uint32_t i = 0; i < dom->nr_vcpus; i++)
		cpus[i] =
		    (struct numem_srat_cpu){.type = i < 255 ? NUMEM_SRAT_APIC : NUMEM_SRAT_X2APIC,
		                            .enabled = true,
		                            .pxm = dom->vcpu[i].vnode,
		                            .id = i};
	for (uint32_t v = 0; v < dom->nr_vnodes; v++)
		mems[v] = (struct numem_srat_mem){.pxm = v,
		                                  .base = dom->vnode_start[v] << NUMEM_PAGE_SHIFT,
		                                  .length = dom->vnode[v].pages << NUMEM_PAGE_SHIFT,
		                                  .flags = NUMEM_SRAT_MEM_ENABLED};
	struct numem_srat s = {.header.revision = 3,
	                       .table_revision = 1,
	                       .nr_cpu = dom->nr_vcpus,
	                       .cpu = cpus,
	                       .nr_mem = dom->nr_vnodes,
	                       .mem = mems};
	enum numem_err e = numem_srat_write(&s, srat, srat_cap, srat_len);
	if (e) {
		numem__meta_free(plat, sc, sizeof(*sc));
		return e;
	}
	uint8_t *m = sc->m;
	uint32_t n = dom->nr_vnodes;
	for (uint32_t a = 0; a < n; a++)
		for (uint32_t b = 0; b < n; b++) {
			uint8_t d = dom->vnode[a].distance[b];
			m[a * n + b] = d        ? d
			               : a == b ? NUMEM_LOCAL_DISTANCE
			                        : NUMEM_REMOTE_DISTANCE;
		}
	struct numem_slit sl = {.localities = n, .matrix = m};
	e = numem_slit_write(&sl, slit, slit_cap, slit_len);
	numem__meta_free(plat, sc, sizeof(*sc));
	return e;
}
