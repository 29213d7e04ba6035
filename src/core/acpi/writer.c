/*
 * writer.c - SRAT, SLIT, HMAT, MADT and PPTT as a firmware would publish them.
 *
 * The writers are the parsers' inverse: parse(write(x)) == x for every field
 * the parsers keep.  Entries come out in the order of their `offset` fields
 * (the order they had in a parsed table); entries built from scratch with
 * offset 0 come out processors first, then memory, then the rest.  Each
 * table carries OEM id "NUMEM " and a valid checksum, and is laid out so that
 * `iasl -d` disassembles it without complaint.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"
#include "table.h"

static uint32_t cpu_len(uint8_t type)
{
	switch (type) {
	case NUMEM_SRAT_APIC:
		return 16;
	case NUMEM_SRAT_X2APIC:
		return 24;
	case NUMEM_SRAT_GICC:
		return 18;
	default:
		return 20;
	}
}

static uint32_t other_len(const struct numem_srat_other *o)
{
	switch (o->type) {
	case NUMEM_SRAT_GIC_ITS:
		return 12;
	case NUMEM_SRAT_GENERIC_INITIATOR:
	case NUMEM_SRAT_GENERIC_PORT:
		return 32;
	default:
		return o->length < 2 ? 2 : o->length;
	}
}

static void put_cpu(uint8_t *e, const struct numem_srat_cpu *c)
{
	uint32_t len = cpu_len(c->type);
	memset(e, 0, len);
	e[0] = c->type;
	e[1] = (uint8_t)len;
	switch (c->type) {
	case NUMEM_SRAT_APIC:
		e[2] = (uint8_t)c->pxm;
		e[3] = (uint8_t)c->id;
		numem__put32(e + 4, c->enabled);
		e[8] = c->sapic_eid;
		e[9] = (uint8_t)(c->pxm >> 8);
		e[10] = (uint8_t)(c->pxm >> 16);
		e[11] = (uint8_t)(c->pxm >> 24);
		numem__put32(e + 12, c->clock_domain);
		break;
	case NUMEM_SRAT_GICC:
		numem__put32(e + 2, c->pxm);
		numem__put32(e + 6, c->id);
		numem__put32(e + 10, c->enabled);
		numem__put32(e + 14, c->clock_domain);
		break;
	default: /* x2apic and rintc share the layout */
		numem__put32(e + 4, c->pxm);
		numem__put32(e + 8, c->id);
		numem__put32(e + 12, c->enabled);
		numem__put32(e + 16, c->clock_domain);
		break;
	}
}

static void put_mem(uint8_t *e, const struct numem_srat_mem *m)
{
	memset(e, 0, 40);
	e[0] = NUMEM_SRAT_MEMORY;
	e[1] = 40;
	numem__put32(e + 2, m->pxm);
	numem__put64(e + 8, m->base);
	numem__put64(e + 16, m->length);
	numem__put32(e + 28, m->flags);
}

static void put_other(uint8_t *e, const struct numem_srat_other *o)
{
	uint32_t len = other_len(o);
	memset(e, 0, len);
	e[0] = o->type;
	e[1] = (uint8_t)len;
	if (o->type == NUMEM_SRAT_GIC_ITS) {
		numem__put32(e + 2, o->pxm);
		numem__put32(e + 8, o->its_id);
	} else if (o->type == NUMEM_SRAT_GENERIC_INITIATOR || o->type == NUMEM_SRAT_GENERIC_PORT) {
		e[3] = o->device_handle_type;
		numem__put32(e + 4, o->pxm);
		memcpy(e + 8, o->device_handle, 16);
		numem__put32(e + 24, o->enabled);
	}
}

enum numem_err numem_srat_write(const struct numem_srat *srat, void *buf, size_t cap,
                                size_t *len_out)
{
	size_t len = 48;
	for (uint32_t i = 0; i < srat->nr_cpu; i++)
		len += cpu_len(srat->cpu[i].type);
	len += 40ull * srat->nr_mem;
	for (uint32_t i = 0; i < srat->nr_other; i++)
		len += other_len(&srat->other[i]);
	if (len > 0xffffffffu)
		return NUMEM_E_RANGE;
	*len_out = len;
	if (!buf || cap < len)
		return buf ? NUMEM_E_NOSPACE : NUMEM_OK;

	uint8_t *p = buf;
	uint8_t rev = srat->header.revision ? srat->header.revision : 3;
	numem__acpi_put_header(p, "SRAT", (uint32_t)len, rev);
	numem__put32(p + 36, srat->table_revision ? srat->table_revision : 1);
	memset(p + 40, 0, 8);
	uint8_t *e = p + 48;
	/* Three-way merge on the recorded offsets keeps the table order. */
	uint32_t ic = 0, im = 0, io = 0;
	while (ic < srat->nr_cpu || im < srat->nr_mem || io < srat->nr_other) {
		uint64_t oc = ic < srat->nr_cpu ? srat->cpu[ic].offset : UINT64_MAX;
		uint64_t om = im < srat->nr_mem ? srat->mem[im].offset : UINT64_MAX;
		uint64_t oo = io < srat->nr_other ? srat->other[io].offset : UINT64_MAX;
		if (oc <= om && oc <= oo) {
			put_cpu(e, &srat->cpu[ic]);
			e += cpu_len(srat->cpu[ic++].type);
		} else if (om <= oo) {
			put_mem(e, &srat->mem[im++]);
			e += 40;
		} else {
			put_other(e, &srat->other[io]);
			e += other_len(&srat->other[io++]);
		}
	}
	numem__acpi_finish(p, len);
	return NUMEM_OK;
}

enum numem_err numem_slit_write(const struct numem_slit *slit, void *buf, size_t cap,
                                size_t *len_out)
{
	if (slit->localities > 0xffff)
		return NUMEM_E_RANGE;
	size_t n = (size_t)slit->localities;
	size_t len = 44 + n * n;
	*len_out = len;
	if (!buf || cap < len)
		return buf ? NUMEM_E_NOSPACE : NUMEM_OK;
	uint8_t *p = buf;
	numem__acpi_put_header(p, "SLIT", (uint32_t)len, 1);
	numem__put64(p + 36, n);
	if (n)
		memcpy(p + 44, slit->matrix, n * n);
	numem__acpi_finish(p, len);
	return NUMEM_OK;
}

/* Bytes of a type-1 structure, or UINT64_MAX when its counts cannot fit a
 * table: as in the parser, each count is bounded before it is multiplied
 * (the plain 64-bit sum wraps, e.g. to 88 for 4294705158 x 2147614722). */
static uint64_t lbi_len(const struct numem_hmat_lbi *l)
{
	if (l->nr_initiators >= (1u << 30) || l->nr_targets >= (1u << 30))
		return UINT64_MAX;
	return 32 + 4ull * l->nr_initiators + 4ull * l->nr_targets +
	       2ull * l->nr_initiators * l->nr_targets; /* < 2^62 */
}

enum numem_err numem_hmat_write(const struct numem_hmat *hmat, void *buf, size_t cap,
                                size_t *len_out)
{
	uint64_t len = 40 + 40ull * hmat->nr_mpda + 32ull * hmat->nr_cache; /* < 2^38 */
	for (uint32_t i = 0; i < hmat->nr_lbi && len <= 0xffffffffu; i++) {
		uint64_t sl = lbi_len(&hmat->lbi[i]);
		len = sl > 0xffffffffu ? sl : len + sl;
	}
	if (len > 0xffffffffu)
		return NUMEM_E_RANGE;
	*len_out = len;
	if (!buf || cap < len)
		return buf ? NUMEM_E_NOSPACE : NUMEM_OK;
	uint8_t *p = buf;
	memset(p, 0, len);
	numem__acpi_put_header(p, "HMAT", (uint32_t)len, 2);
	uint8_t *e = p + 40;
	for (uint32_t i = 0; i < hmat->nr_mpda; i++, e += 40) {
		const struct numem_hmat_mpda *m = &hmat->mpda[i];
		numem__put16(e, NUMEM_HMAT_MPDA);
		numem__put32(e + 4, 40);
		numem__put16(e + 8, m->flags);
		numem__put32(e + 12, m->initiator_pxm);
		numem__put32(e + 16, m->memory_pxm);
	}
	for (uint32_t i = 0; i < hmat->nr_lbi; i++) {
		const struct numem_hmat_lbi *l = &hmat->lbi[i];
		size_t sl = (size_t)lbi_len(l);
		numem__put16(e, NUMEM_HMAT_LBI);
		numem__put32(e + 4, (uint32_t)sl);
		e[8] = l->flags;
		e[9] = l->data_type;
		e[10] = l->min_transfer_size;
		numem__put32(e + 12, l->nr_initiators);
		numem__put32(e + 16, l->nr_targets);
		numem__put64(e + 24, l->base_unit);
		uint8_t *q = e + 32;
		for (uint32_t j = 0; j < l->nr_initiators; j++, q += 4)
			numem__put32(q, l->initiator_pxm[j]);
		for (uint32_t j = 0; j < l->nr_targets; j++, q += 4)
			numem__put32(q, l->target_pxm[j]);
		for (uint64_t j = 0; j < (uint64_t)l->nr_initiators * l->nr_targets; j++, q += 2)
			numem__put16(q, l->entry[j]);
		e += sl;
	}
	for (uint32_t i = 0; i < hmat->nr_cache; i++, e += 32) {
		const struct numem_hmat_cache *c = &hmat->cache[i];
		numem__put16(e, NUMEM_HMAT_CACHE);
		numem__put32(e + 4, 32);
		numem__put32(e + 8, c->memory_pxm);
		numem__put64(e + 16, c->size);
		numem__put32(e + 24, c->attributes);
	}
	numem__acpi_finish(p, len);
	return NUMEM_OK;
}

/* MADT processor structure sizes as written: local APIC 8, x2APIC 16, GICC
 * 80 (the ACPI 6.0 layout, with the efficiency class; what iasl's MADT
 * template of this generation writes). */
static uint32_t madt_cpu_len(uint8_t type)
{
	return type == NUMEM_MADT_LOCAL_APIC ? 8 : type == NUMEM_MADT_LOCAL_X2APIC ? 16 : 80;
}

enum numem_err numem_madt_write(const struct numem_madt *madt, void *buf, size_t cap,
                                size_t *len_out)
{
	size_t len = 44;
	for (uint32_t i = 0; i < madt->nr_cpu; i++) {
		uint8_t type = madt->cpu[i].type;
		if (type != NUMEM_MADT_LOCAL_APIC && type != NUMEM_MADT_LOCAL_X2APIC &&
		    type != NUMEM_MADT_GICC)
			return NUMEM_E_INVAL;
		len += madt_cpu_len(type);
	}
	if (len > UINT32_MAX)
		return NUMEM_E_INVAL;
	*len_out = len;
	if (!buf)
		return NUMEM_OK;
	if (cap < len)
		return NUMEM_E_NOSPACE;
	uint8_t *p = buf;
	numem__acpi_put_header(p, "APIC", (uint32_t)len, 5);
	numem__put32(p + 36, madt->local_apic_address);
	numem__put32(p + 40, madt->flags);
	size_t off = 44;
	for (uint32_t i = 0; i < madt->nr_cpu; i++) {
		const struct numem_madt_cpu *c = &madt->cpu[i];
		uint8_t *e = p + off;
		uint32_t elen = madt_cpu_len(c->type);
		uint32_t flags = c->enabled ? NUMEM_MADT_ENABLED : 0;
		memset(e, 0, elen);
		e[0] = c->type;
		e[1] = (uint8_t)elen;
		switch (c->type) {
		case NUMEM_MADT_LOCAL_APIC:
			if (c->online_capable)
				flags |= NUMEM_MADT_APIC_ONLINE_CAPABLE;
			e[2] = (uint8_t)c->uid;
			e[3] = (uint8_t)c->id;
			numem__put32(e + 4, flags);
			break;
		case NUMEM_MADT_LOCAL_X2APIC:
			if (c->online_capable)
				flags |= NUMEM_MADT_APIC_ONLINE_CAPABLE;
			numem__put32(e + 4, c->id);
			numem__put32(e + 8, flags);
			numem__put32(e + 12, c->uid);
			break;
		default: /* NUMEM_MADT_GICC */
			if (c->online_capable)
				flags |= NUMEM_MADT_GICC_ONLINE_CAPABLE;
			numem__put32(e + 4, c->uid); /* CPU interface number */
			numem__put32(e + 8, c->uid);
			numem__put32(e + 12, flags);
			numem__put32(e + 68, (uint32_t)c->mpidr);
			numem__put32(e + 72, (uint32_t)(c->mpidr >> 32));
			break;
		}
		off += elen;
	}
	numem__acpi_finish(p, len);
	return NUMEM_OK;
}

enum numem_err numem_pptt_write(const struct numem_pptt *pptt, void *buf, size_t cap,
                                size_t *len_out)
{
	if (pptt->nr_node > (UINT32_MAX - 36) / 20)
		return NUMEM_E_INVAL;
	for (uint32_t i = 0; i < pptt->nr_node; i++)
		if (pptt->node[i].parent >= (int32_t)pptt->nr_node ||
		    pptt->node[i].parent == (int32_t)i)
			return NUMEM_E_INVAL;
	size_t len = 36 + (size_t)pptt->nr_node * 20;
	*len_out = len;
	if (!buf)
		return NUMEM_OK;
	if (cap < len)
		return NUMEM_E_NOSPACE;
	uint8_t *p = buf;
	numem__acpi_put_header(p, "PPTT", (uint32_t)len, 2);
	for (uint32_t i = 0; i < pptt->nr_node; i++) {
		const struct numem_pptt_node *n = &pptt->node[i];
		uint8_t *e = p + 36 + 20 * (size_t)i;
		memset(e, 0, 20);
		e[0] = NUMEM_PPTT_PROCESSOR;
		e[1] = 20;
		numem__put32(e + 4, n->flags);
		numem__put32(e + 8, n->parent < 0 ? 0 : 36 + 20 * (uint32_t)n->parent);
		numem__put32(e + 12, n->acpi_id);
	}
	numem__acpi_finish(p, len);
	return NUMEM_OK;
}
