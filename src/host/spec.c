/*
 * spec.c - turning a machine description into firmware tables.
 *
 * A description (a preset, or QEMU -numa arguments) says how many CPUs and
 * how much memory each node has.  This file lays that out as a PC firmware
 * would and writes the SRAT, SLIT and HMAT for it:
 *   - CPUs get consecutive hardware ids from first_cpu_id, in node order;
 *     APIC entries for ids below 255, x2APIC entries above (as firmware
 *     must), or GICC entries for an Arm machine.
 *   - RAM is laid out node after node from address 0, skipping the legacy
 *     640 KiB - 1 MiB hole (its RAM is lost, as on a PC) and the 3.5 - 4 GiB
 *     PCI hole (its RAM is remapped above 4 GiB) when pc_holes is set; each
 *     contiguous piece is one memory affinity entry.
 *   - Hot-pluggable space follows all RAM, from the next 1 GiB boundary.
 *   - The HMAT, when asked for, attaches each memory node to itself or its
 *     nearest node with CPUs and gives access latency (10 ns per distance
 *     unit) and bandwidth (a nominal 200 GB/s scaled by 10 / distance).
 * A machine with no_srat gets only an e820-style RAM list and a CPU count.
 */
#include "host_internal.h"

#include <stdlib.h>
#include <string.h>

#define LEGACY_HOLE_START 0xa0000ull
#define LEGACY_HOLE_END   0x100000ull
#define PCI_HOLE_START    0xe0000000ull
#define PCI_HOLE_END      0x100000000ull
#define GIB               (1ull << 30)

struct layout {
	struct numem_srat_mem *mem;
	uint32_t nr_mem, cap_mem;
	struct numem_ram_range *ram;
	uint32_t nr_ram;
};

static int push_mem(struct layout *l, uint32_t pxm, uint64_t base, uint64_t len, uint32_t flags)
{
	if (l->nr_mem == l->cap_mem) {
		uint32_t cap = l->cap_mem ? 2 * l->cap_mem : 16;
		void *nm = realloc(l->mem, cap * sizeof(*l->mem));
		void *nr = realloc(l->ram, cap * sizeof(*l->ram));
		if (nm)
			l->mem = nm;
		if (nr)
			l->ram = nr;
		if (!nm || !nr)
			return -1;
		l->cap_mem = cap;
	}
	l->mem[l->nr_mem++] =
	    (struct numem_srat_mem){.pxm = pxm, .base = base, .length = len, .flags = flags};
	if ((flags & NUMEM_SRAT_MEM_ENABLED) && !(flags & NUMEM_SRAT_MEM_HOTPLUGGABLE) && len)
		l->ram[l->nr_ram++] = (struct numem_ram_range){base, len};
	return 0;
}

/* Place `bytes` of RAM from *addr on, skipping the PC holes. */
static int place_ram(struct layout *l, const struct numem_spec *spec, uint32_t pxm, uint64_t *addr,
                     uint64_t bytes)
{
	while (bytes) {
		uint64_t a = *addr, limit = UINT64_MAX;
		if (spec->pc_holes) {
			if (a >= LEGACY_HOLE_START && a < LEGACY_HOLE_END)
				a = LEGACY_HOLE_END;
			if (a >= PCI_HOLE_START && a < PCI_HOLE_END)
				a = PCI_HOLE_END;
			if (a < LEGACY_HOLE_START)
				limit = LEGACY_HOLE_START;
			else if (a < PCI_HOLE_START)
				limit = PCI_HOLE_START;
		}
		uint64_t take = bytes < limit - a ? bytes : limit - a;
		if (push_mem(l, pxm, a, take, NUMEM_SRAT_MEM_ENABLED) != 0)
			return -1;
		*addr = a + take;
		bytes -= take;
		/* The legacy hole's RAM is lost, as on a PC; the PCI hole's RAM
		 * is remapped above 4 GiB (the loop carries on there). */
		if (spec->pc_holes && *addr == LEGACY_HOLE_START) {
			uint64_t lost = LEGACY_HOLE_END - LEGACY_HOLE_START;
			bytes -= bytes < lost ? bytes : lost;
			*addr = LEGACY_HOLE_END;
		}
	}
	return 0;
}

/*
 * RAM as QEMU's build_srat lays out a -numa machine (hw/i386/acpi-build.c):
 * nodes in order from address 0; the 640 KiB - 1 MiB hole cut out (its RAM
 * lost); RAM above the low-memory size (pc: 3 GiB once RAM reaches 3.5 GiB;
 * q35: 2 GiB once it reaches 2.75 GiB) moved above 4 GiB; empty pieces
 * left out; disabled zero entries until there are nodes + 2 memory
 * entries; then the device-memory (hot-plug) window when maxmem exceeds
 * RAM: from the first 1 GiB boundary above the RAM above 4 GiB, maxmem -
 * RAM plus 1 GiB per slot, on the last node, enabled and hot-pluggable.
 */
static int qemu_layout(struct layout *l, const struct numem_spec *spec)
{
	const struct numem_spec_qemu *q = &spec->qemu;
	uint64_t ram = q->ram;
	uint64_t low = q->q35 ? (ram >= 0xb0000000ull ? 0x80000000ull : ram)
	                      : (ram >= 0xe0000000ull ? 0xc0000000ull : ram);
	uint64_t next = 0;
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		uint32_t pxm = spec->node[n].pxm;
		uint64_t base = next, len = spec->node[n].mem_bytes;
		next = base + len;
		if (base <= LEGACY_HOLE_START && next > LEGACY_HOLE_START) {
			if (LEGACY_HOLE_START - base &&
			    push_mem(l, pxm, base, LEGACY_HOLE_START - base,
			             NUMEM_SRAT_MEM_ENABLED))
				return -1;
			if (next <= LEGACY_HOLE_END) {
				next = LEGACY_HOLE_END;
				continue;
			}
			base = LEGACY_HOLE_END;
			len = next - LEGACY_HOLE_END;
		}
		if (base <= low && next > low) {
			len -= next - low;
			if (len && push_mem(l, pxm, base, len, NUMEM_SRAT_MEM_ENABLED))
				return -1;
			base = 1ull << 32;
			len = next - low;
			next = base + len;
		}
		if (len && push_mem(l, pxm, base, len, NUMEM_SRAT_MEM_ENABLED))
			return -1;
	}
	while (l->nr_mem < spec->nr_nodes + 2)
		if (push_mem(l, 0, 0, 0, 0))
			return -1;
	if (q->maxmem > ram) {
		uint64_t above = ram > low ? ram - low : 0;
		uint64_t base = ((1ull << 32) + above + GIB - 1) & ~(GIB - 1);
		uint64_t len = q->maxmem - ram + (uint64_t)q->slots * GIB;
		if (push_mem(l, spec->node[spec->nr_nodes - 1].pxm, base, len,
		             NUMEM_SRAT_MEM_ENABLED | NUMEM_SRAT_MEM_HOTPLUGGABLE))
			return -1;
	}
	return 0;
}

static struct numem_srat_cpu cpu_entry(const struct numem_spec *spec, uint32_t id, uint32_t pxm)
{
	uint8_t type = spec->cpu_kind == NUMEM_CPU_GICC                  ? NUMEM_SRAT_GICC
	               : spec->cpu_kind == NUMEM_CPU_X2APIC || id >= 255 ? NUMEM_SRAT_X2APIC
	                                                                 : NUMEM_SRAT_APIC;
	return (struct numem_srat_cpu){.type = type, .enabled = true, .pxm = pxm, .id = id};
}

static uint32_t total_cpus(const struct numem_spec *spec)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < spec->nr_nodes; i++)
		n += spec->node[i].nr_cpus;
	return n;
}

static int nearest_with_cpus(const struct numem_spec *spec, uint32_t n)
{
	int best = -1;
	for (uint32_t m = 0; m < spec->nr_nodes; m++) {
		if (!spec->node[m].nr_cpus && !spec->node[m].generic_initiator)
			continue;
		if (best < 0 || spec->distance[n][m] < spec->distance[n][best])
			best = (int)m;
	}
	return best;
}

/* HMAT: attachments plus one latency and one bandwidth matrix. */
static int build_hmat(const struct numem_spec *spec, struct numem_hmat *h, uint32_t **pool)
{
	uint32_t ni = 0, nt = 0;
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		if (spec->node[n].nr_cpus || spec->node[n].generic_initiator)
			ni++;
		if (spec->node[n].mem_bytes)
			nt++;
	}
	size_t words = 2 * (ni + nt) + (size_t)ni * nt + 16;
	*pool = calloc(words, sizeof(uint32_t));
	h->mpda = calloc(nt ? nt : 1, sizeof(*h->mpda));
	h->lbi = calloc(2, sizeof(*h->lbi));
	if (!*pool || !h->mpda || !h->lbi)
		return -1;
	uint32_t *ipxm = *pool, *tpxm = ipxm + ni;
	uint16_t *lat = (uint16_t *)(tpxm + nt);
	uint16_t *bw = lat + (size_t)ni * nt;
	uint32_t ii = 0, ti = 0;
	uint32_t inode[NUMEM_MAX_NODES], tnode[NUMEM_MAX_NODES];
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		if (spec->node[n].nr_cpus || spec->node[n].generic_initiator) {
			inode[ii] = n;
			ipxm[ii++] = spec->node[n].pxm;
		}
		if (spec->node[n].mem_bytes) {
			int att = nearest_with_cpus(spec, n);
			h->mpda[h->nr_mpda++] = (struct numem_hmat_mpda){
			    .flags = att >= 0 ? 1 : 0,
			    .initiator_pxm = att >= 0 ? spec->node[att].pxm : 0,
			    .memory_pxm = spec->node[n].pxm};
			tnode[ti] = n;
			tpxm[ti++] = spec->node[n].pxm;
		}
	}
	for (uint32_t i = 0; i < ni; i++)
		for (uint32_t t = 0; t < nt; t++) {
			uint8_t d = spec->distance[inode[i]][tnode[t]];
			lat[i * nt + t] = (uint16_t)(d * 10);               /* ns */
			bw[i * nt + t] = (uint16_t)(200000u * 10 / d / 10); /* units of 10 MB/s */
		}
	struct numem_hmat_lbi common = {
	    .nr_initiators = ni, .nr_targets = nt, .initiator_pxm = ipxm, .target_pxm = tpxm};
	h->lbi[0] = common;
	h->lbi[0].data_type = NUMEM_HMAT_ACCESS_LATENCY;
	h->lbi[0].base_unit = 1000; /* entries in ns, unit picoseconds */
	h->lbi[0].entry = lat;
	h->lbi[1] = common;
	h->lbi[1].data_type = NUMEM_HMAT_ACCESS_BANDWIDTH;
	h->lbi[1].base_unit = 10; /* MB/s */
	h->lbi[1].entry = bw;
	h->nr_lbi = 2;
	return 0;
}

int numem__qemu_lb_base(const struct numem_spec_qemu *q, unsigned hier, unsigned type,
                        uint64_t *base_out, char *err, size_t errlen)
{
	bool latency = type <= NUMEM_HMAT_WRITE_LATENCY, any = false;
	uint64_t base = UINT64_MAX, bits = 0, max = 0;
	for (uint32_t k = 0; k < q->nr_lb; k++) {
		const struct numem_spec_hmat_lb *e = &q->lb[k];
		if (e->hierarchy != hier || e->data_type != type || !e->value)
			continue;
		any = true;
		max = e->value > max ? e->value : max;
		if (latency) {
			uint64_t p10 = 1, v = e->value;
			while (v % 10 == 0) {
				v /= 10;
				p10 *= 10;
			}
			base = p10 < base ? p10 : base;
		} else {
			bits |= e->value;
		}
	}
	if (!any)
		return 0;
	if (!latency)
		base = bits & -bits;
	if (max / base >= UINT16_MAX) {
		snprintf(
		    err, errlen,
		    "-numa hmat-lb: %s %s values up to %llu over a base unit of %llu do not fit "
		    "16-bit entries",
		    hier ? "cache" : "memory", latency ? "latency" : "bandwidth",
		    (unsigned long long)max, (unsigned long long)base);
		return -1;
	}
	if (!latency && base < (1u << 20)) {
		snprintf(err, errlen,
		         "-numa hmat-lb: bandwidth granularity %llu bytes/s is below 1 MiB/s (the "
		         "HMAT counts MB/s)",
		         (unsigned long long)base);
		return -1;
	}
	*base_out = base;
	return 1;
}

/*
 * The HMAT QEMU writes for -numa hmat-lb / hmat-cache (hw/acpi/hmat.c):
 * a proximity-domain-attributes structure per node (initiator valid when
 * the node has CPUs or initiator=); per hierarchy and data type given, a
 * latency/bandwidth structure with the nodes that have CPUs as initiators
 * and every node as a target, entries of 0 where nothing was given; each
 * hmat-cache as a memory-side cache structure, total levels being the
 * levels given for its node.  Entry base units as QEMU computes them:
 * latency: the smallest power of ten dividing every value (ns), written in
 * ps; bandwidth: the lowest bit set in any value (bytes/s), written in
 * MB/s; every entry value / base must fit 16 bits.
 */
static int write_qemu_hmat(const struct numem_spec *spec, struct numem_machine_src *src, char *err,
                           size_t errlen)
{
	const struct numem_spec_qemu *q = &spec->qemu;
	uint32_t nn = spec->nr_nodes, ni = 0;
	uint32_t ipxm[NUMEM_MAX_NODES], tpxm[NUMEM_MAX_NODES];
	int iidx[NUMEM_MAX_NODES]; /* node index -> initiator column */
	for (uint32_t n = 0; n < nn; n++) {
		tpxm[n] = spec->node[n].pxm;
		iidx[n] = -1;
		if (spec->node[n].nr_cpus) {
			iidx[n] = (int)ni;
			ipxm[ni++] = spec->node[n].pxm;
		}
	}
	struct numem_hmat_mpda mpda[NUMEM_MAX_NODES];
	struct numem_hmat_lbi lbi[4 * 6];
	struct numem_hmat_cache cache[NUMEM_SPEC_MAX_HMAT_CACHE];
	struct numem_hmat h = {.mpda = mpda, .lbi = lbi, .cache = cache};
	/* the entry matrices of up to 4 hierarchies x 6 data types */
	uint16_t(*entries)[NUMEM_MAX_NODES * NUMEM_MAX_NODES] = calloc(4 * 6, sizeof(*entries));
	if (!entries) {
		snprintf(err, errlen, "%s: out of memory for its HMAT", spec->name);
		return -1;
	}
	int rc = -1;
	for (uint32_t n = 0; n < nn; n++) {
		const struct numem_spec_node *nd = &spec->node[n];
		bool valid = nd->nr_cpus || nd->has_initiator;
		mpda[h.nr_mpda++] = (struct numem_hmat_mpda){
		    .flags = valid ? 1 : 0,
		    .initiator_pxm = nd->nr_cpus         ? nd->pxm
		                     : nd->has_initiator ? nd->initiator_pxm
		                                         : 0,
		    .memory_pxm = nd->pxm};
	}
	for (unsigned hier = 0; hier < 4; hier++)
		for (unsigned type = 0; type < 6; type++) {
			bool latency = type <= NUMEM_HMAT_WRITE_LATENCY;
			uint64_t base;
			int has = numem__qemu_lb_base(q, hier, type, &base, err, errlen);
			if (has < 0)
				goto out;
			if (!has)
				continue;
			uint32_t at = h.nr_lbi++;
			uint16_t *ent = entries[at];
			memset(ent, 0, sizeof(entries[at]));
			for (uint32_t k = 0; k < q->nr_lb; k++) {
				const struct numem_spec_hmat_lb *e = &q->lb[k];
				if (e->hierarchy != hier || e->data_type != type)
					continue;
				int in = -1, tn = -1;
				for (uint32_t n = 0; n < nn; n++) {
					if (spec->node[n].pxm == e->initiator_pxm)
						in = iidx[n];
					if (spec->node[n].pxm == e->target_pxm)
						tn = (int)n;
				}
				if (in >= 0 && tn >= 0)
					ent[(uint32_t)in * nn + (uint32_t)tn] =
					    (uint16_t)(e->value / base);
			}
			lbi[at] =
			    (struct numem_hmat_lbi){.flags = (uint8_t)hier,
			                            .data_type = (uint8_t)type,
			                            .nr_initiators = ni,
			                            .nr_targets = nn,
			                            .base_unit = latency ? base * 1000 : base >> 20,
			                            .initiator_pxm = ipxm,
			                            .target_pxm = tpxm,
			                            .entry = ent};
		}
	for (uint32_t n = 0; n < nn; n++) {
		uint32_t levels = 0;
		for (uint32_t k = 0; k < q->nr_cache; k++)
			levels += q->cache[k].node_pxm == spec->node[n].pxm;
		for (uint32_t lv = 1; lv <= levels; lv++)
			for (uint32_t k = 0; k < q->nr_cache; k++) {
				const struct numem_spec_hmat_cache *c = &q->cache[k];
				if (c->node_pxm != spec->node[n].pxm || c->level != lv)
					continue;
				cache[h.nr_cache++] = (struct numem_hmat_cache){
				    .memory_pxm = c->node_pxm,
				    .size = c->size,
				    .attributes = levels | (uint32_t)c->level << 4 |
				                  (uint32_t)c->associativity << 8 |
				                  (uint32_t)c->policy << 12 |
				                  (uint32_t)c->line << 16};
			}
	}
	if (numem__write_hmat(&h, &src->hmat, &src->hmat_len) != 0) {
		snprintf(err, errlen, "%s: cannot write its HMAT", spec->name);
		goto out;
	}
	rc = 0;
out:
	free(entries);
	return rc;
}

int numem_machine_src_spec(struct numem_machine_src *src, const struct numem_spec *spec, char *err,
                           size_t errlen)
{
	memset(src, 0, sizeof(*src));
	snprintf(src->name, sizeof(src->name), "%s", spec->name);
	snprintf(src->origin, sizeof(src->origin), "spec");
	src->cpus_per_socket = spec->cpus_per_socket;
	struct layout l = {0};
	uint64_t addr = 0;
	int rc = 0;
	if (spec->qemu_layout && !spec->no_srat) {
		rc = qemu_layout(&l, spec);
		goto laid_out;
	}
	for (uint32_t n = 0; n < spec->nr_nodes && !rc; n++)
		rc = place_ram(&l, spec, spec->node[n].pxm, &addr, spec->node[n].mem_bytes);
	addr = (addr + GIB - 1) & ~(GIB - 1);
	for (uint32_t n = 0; n < spec->nr_nodes && !rc; n++) {
		uint64_t hp = spec->node[n].hotplug_bytes;
		if (hp) {
			rc = push_mem(&l, spec->node[n].pxm, addr, hp,
			              NUMEM_SRAT_MEM_ENABLED | NUMEM_SRAT_MEM_HOTPLUGGABLE);
			addr += hp;
		}
	}
laid_out:;
	uint32_t ncpu = total_cpus(spec);
	struct numem_srat_cpu *cpus = calloc(ncpu ? ncpu : 1, sizeof(*cpus));
	struct numem_srat_other *others = calloc(spec->nr_nodes, sizeof(*others));
	if (rc || !cpus || !others) {
		snprintf(err, errlen, "%s: out of memory laying out the machine", spec->name);
		rc = -1;
		goto out;
	}
	if (spec->no_srat) {
		src->ram = l.ram;
		src->nr_ram = l.nr_ram;
		l.ram = NULL;
		src->nr_cpus = ncpu;
		snprintf(src->origin, sizeof(src->origin), "preset-nosrat");
		goto out;
	}
	uint32_t c = 0, nother = 0;
	if (spec->explicit_cpus) {
		/* As QEMU does: entries in CPU index order, each with its node. */
		for (uint32_t id = 0; id < NUMEM_SPEC_MAX_CPUS && c < ncpu; id++)
			for (uint32_t n = 0; n < spec->nr_nodes; n++)
				if (spec->node[n].cpumask[id / 64] >> (id % 64) & 1)
					cpus[c++] =
					    cpu_entry(spec,
					              spec->cpu_ids_given ? spec->cpu_id[id]
					                                  : spec->first_cpu_id + id,
					              spec->node[n].pxm);
	} else {
		for (uint32_t n = 0; n < spec->nr_nodes; n++)
			for (uint32_t i = 0; i < spec->node[n].nr_cpus; i++, c++)
				cpus[c] =
				    cpu_entry(spec, spec->first_cpu_id + c, spec->node[n].pxm);
	}
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		if (spec->node[n].generic_initiator) {
			struct numem_srat_other *o = &others[nother++];
			o->type = NUMEM_SRAT_GENERIC_INITIATOR;
			o->pxm = spec->node[n].pxm;
			o->enabled = true;
			o->device_handle_type = 1; /* PCI: segment 0, bus n+0x10 */
			o->device_handle[2] = (uint8_t)(0x10 + n);
		}
	}
	struct numem_srat srat = {.header.revision = 3,
	                          .table_revision = 1,
	                          .nr_cpu = ncpu,
	                          .cpu = cpus,
	                          .nr_mem = l.nr_mem,
	                          .mem = l.mem,
	                          .nr_other = nother,
	                          .other = others};
	if (numem__write_srat(&srat, &src->srat, &src->srat_len) != 0) {
		snprintf(err, errlen, "%s: cannot write its SRAT", spec->name);
		rc = -1;
		goto out;
	}
	if (spec->has_slit) {
		uint32_t nl = 0;
		for (uint32_t n = 0; n < spec->nr_nodes; n++)
			if (spec->node[n].pxm + 1 > nl)
				nl = spec->node[n].pxm + 1;
		uint8_t *matrix = malloc((size_t)nl * nl);
		if (!matrix) {
			rc = -1;
			goto out;
		}
		for (uint32_t i = 0; i < nl; i++)
			for (uint32_t j = 0; j < nl; j++)
				matrix[i * nl + j] = i == j ? 10 : 20;
		for (uint32_t i = 0; i < spec->nr_nodes; i++)
			for (uint32_t j = 0; j < spec->nr_nodes; j++)
				matrix[spec->node[i].pxm * nl + spec->node[j].pxm] =
				    spec->distance[i][j];
		struct numem_slit slit = {.localities = nl, .matrix = matrix};
		rc = numem__write_slit(&slit, &src->slit, &src->slit_len);
		free(matrix);
	}
	if (!rc && spec->qemu_hmat) {
		rc = write_qemu_hmat(spec, src, err, errlen);
		if (rc)
			goto out;
	} else if (!rc && spec->hmat) {
		struct numem_hmat h = {0};
		uint32_t *pool = NULL;
		rc = build_hmat(spec, &h, &pool);
		if (!rc)
			rc = numem__write_hmat(&h, &src->hmat, &src->hmat_len);
		free(pool);
		free(h.mpda);
		free(h.lbi);
	}
	if (rc)
		snprintf(err, errlen, "%s: cannot write its tables", spec->name);
out:
	free(cpus);
	free(others);
	free(l.mem);
	free(l.ram);
	if (rc)
		numem_machine_src_free(src);
	return rc;
}
