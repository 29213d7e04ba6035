/*
 * srat.c - the System Resource Affinity Table.
 *
 * Layout: the 36-byte header, a 4-byte table revision, 8 reserved bytes, then
 * subtables of (type:1, length:1, body).  Parsing is two passes over the
 * bytes: the first validates every subtable's bounds and minimum length and
 * counts entries by kind; the second, after the single metadata allocation
 * succeeded, decodes.  So a malformed table is rejected before anything is
 * allocated, and the error names the byte offset of the offending subtable.
 *
 * Unknown subtable types are legal (ACPI grows) and are kept as "other" with
 * their length.  Known types shorter than their defined size are rejected:
 * decoding them would read another subtable's bytes.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"

#define SRAT_FIRST_ENTRY 48

/* Minimum subtable lengths by type (0 = unknown, no minimum beyond 2). */
static const uint8_t srat_min_len[] = {
    [NUMEM_SRAT_APIC] = 16,         [NUMEM_SRAT_MEMORY] = 40,  [NUMEM_SRAT_X2APIC] = 24,
    [NUMEM_SRAT_GICC] = 18,         [NUMEM_SRAT_GIC_ITS] = 12, [NUMEM_SRAT_GENERIC_INITIATOR] = 32,
    [NUMEM_SRAT_GENERIC_PORT] = 32, [NUMEM_SRAT_RINTC] = 20,
};

static const char *const srat_type_name[] = {
    "Processor Local APIC/SAPIC Affinity",
    "Memory Affinity",
    "Processor Local x2APIC Affinity",
    "GICC Affinity",
    "GIC ITS Affinity",
    "Generic Initiator Affinity",
    "Generic Port Affinity",
    "RINTC Affinity",
};

static bool is_cpu_type(uint8_t type)
{
	return type == NUMEM_SRAT_APIC || type == NUMEM_SRAT_X2APIC || type == NUMEM_SRAT_GICC ||
	       type == NUMEM_SRAT_RINTC;
}

/* Pass 1: bounds and counts. */
static enum numem_err srat_scan(const uint8_t *p, uint32_t len, struct numem_srat *s,
                                struct numem_diag *diag)
{
	uint32_t off = SRAT_FIRST_ENTRY;
	s->nr_cpu = s->nr_mem = s->nr_other = 0;
	while (off < len) {
		if (len - off < 2)
			return numem__fail(diag, NUMEM_E_ENTRY_PAST_END, "SRAT", off,
			                   "SRAT: %u stray byte(s) at offset %u, too few for a "
			                   "subtable header",
			                   len - off, off);
		uint8_t type = p[off], elen = p[off + 1];
		if (elen == 0)
			return numem__fail(diag, NUMEM_E_ZERO_LENGTH_ENTRY, "SRAT", off,
			                   "SRAT: subtable of type %u at offset %u has length 0",
			                   type, off);
		if (elen > len - off)
			return numem__fail(
			    diag, NUMEM_E_ENTRY_PAST_END, "SRAT", off,
			    "SRAT: subtable of type %u at offset %u (length %u) runs "
			    "past the table end at %u",
			    type, off, elen, len);
		if (type < NUMEM_ARRAY_SIZE(srat_min_len) && elen < srat_min_len[type])
			return numem__fail(diag, NUMEM_E_BAD_ENTRY, "SRAT", off,
			                   "SRAT: %s subtable at offset %u has length %u, needs %u",
			                   srat_type_name[type], off, elen, srat_min_len[type]);
		if (is_cpu_type(type))
			s->nr_cpu++;
		else if (type == NUMEM_SRAT_MEMORY)
			s->nr_mem++;
		else
			s->nr_other++;
		off += elen;
	}
	return NUMEM_OK;
}

static void decode_cpu(const uint8_t *e, uint8_t revision, struct numem_srat_cpu *c)
{
	c->type = e[0];
	switch (e[0]) {
	case NUMEM_SRAT_APIC:
		c->pxm = e[2];
		if (revision >= 2)
			c->pxm |=
			    (uint32_t)e[9] << 8 | (uint32_t)e[10] << 16 | (uint32_t)e[11] << 24;
		c->id = e[3];
		c->enabled = numem__le32(e + 4) & 1;
		c->sapic_eid = e[8];
		c->clock_domain = numem__le32(e + 12);
		break;
	case NUMEM_SRAT_X2APIC:
		c->pxm = numem__le32(e + 4);
		c->id = numem__le32(e + 8);
		c->enabled = numem__le32(e + 12) & 1;
		c->clock_domain = numem__le32(e + 16);
		break;
	case NUMEM_SRAT_GICC:
		c->pxm = numem__le32(e + 2);
		c->id = numem__le32(e + 6);
		c->enabled = numem__le32(e + 10) & 1;
		c->clock_domain = numem__le32(e + 14);
		break;
	default: /* NUMEM_SRAT_RINTC */
		c->pxm = numem__le32(e + 4);
		c->id = numem__le32(e + 8);
		c->enabled = numem__le32(e + 12) & 1;
		c->clock_domain = numem__le32(e + 16);
		break;
	}
}

static void decode_mem(const uint8_t *e, uint8_t revision, struct numem_srat_mem *m)
{
	m->pxm = revision >= 2 ? numem__le32(e + 2) : e[2];
	m->base = numem__le64(e + 8);
	m->length = numem__le64(e + 16);
	m->flags = numem__le32(e + 28) & 0x7;
}

static void decode_other(const uint8_t *e, struct numem_srat_other *o)
{
	o->type = e[0];
	o->length = e[1];
	switch (e[0]) {
	case NUMEM_SRAT_GIC_ITS:
		o->pxm = numem__le32(e + 2);
		o->its_id = numem__le32(e + 8);
		o->enabled = true;
		break;
	case NUMEM_SRAT_GENERIC_INITIATOR:
	case NUMEM_SRAT_GENERIC_PORT:
		o->device_handle_type = e[3];
		o->pxm = numem__le32(e + 4);
		memcpy(o->device_handle, e + 8, 16);
		o->enabled = numem__le32(e + 24) & 1;
		break;
	default:
		break;
	}
}

enum numem_err numem_srat_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_srat *out,
                                struct numem_diag *diag)
{
	struct numem_srat s;
	memset(&s, 0, sizeof(s));
	enum numem_err err =
	    numem_acpi_check_header(table, len, "SRAT", flags, &s.header, &s.checksum_ok, diag);
	if (err)
		return err;
	const uint8_t *p = table;
	uint32_t tlen = s.header.length;
	if (tlen < SRAT_FIRST_ENTRY)
		return numem__fail(diag, NUMEM_E_TRUNCATE, "SRAT", 4,
		                   "SRAT: length %u leaves no room for the 12 bytes after the "
		                   "header (needs %u)",
		                   tlen, SRAT_FIRST_ENTRY);
	s.table_revision = numem__le32(p + 36);
	err = srat_scan(p, tlen, &s, diag);
	if (err)
		return err;

	size_t bytes = (size_t)s.nr_cpu * sizeof(struct numem_srat_cpu) +
	               (size_t)s.nr_mem * sizeof(struct numem_srat_mem) +
	               (size_t)s.nr_other * sizeof(struct numem_srat_other);
	uint8_t *block = 0;
	if (bytes) {
		block = numem__meta_alloc(plat, bytes, NUMEM_NID_NONE);
		if (!block)
			return numem__fail(diag, NUMEM_E_NOMEM, "SRAT", 0,
			                   "SRAT: no metadata memory for %zu bytes of entries",
			                   bytes);
		memset(block, 0, bytes);
	}
	s.alloc_bytes = bytes;
	if (block) { /* one block: cpu entries, then memory, then the rest */
		uint8_t *at = block;
		s.cpu = s.nr_cpu ? (struct numem_srat_cpu *)at : 0;
		at += s.nr_cpu * sizeof(struct numem_srat_cpu);
		s.mem = s.nr_mem ? (struct numem_srat_mem *)at : 0;
		at += s.nr_mem * sizeof(struct numem_srat_mem);
		s.other = s.nr_other ? (struct numem_srat_other *)at : 0;
	}

	uint32_t nc = 0, nm = 0, no = 0;
	for (uint32_t off = SRAT_FIRST_ENTRY; off < tlen; off += p[off + 1]) {
		const uint8_t *e = p + off;
		if (is_cpu_type(e[0])) {
			decode_cpu(e, s.header.revision, &s.cpu[nc]);
			s.cpu[nc++].offset = off;
		} else if (e[0] == NUMEM_SRAT_MEMORY) {
			decode_mem(e, s.header.revision, &s.mem[nm]);
			s.mem[nm++].offset = off;
		} else {
			decode_other(e, &s.other[no]);
			s.other[no++].offset = off;
		}
	}
	*out = s;
	return NUMEM_OK;
}

void numem_srat_release(const struct numem_platform *plat, struct numem_srat *srat)
{
	if (!srat)
		return;
	void *block = srat->cpu   ? (void *)srat->cpu
	              : srat->mem ? (void *)srat->mem
	                          : (void *)srat->other;
	numem__meta_free(plat, block, srat->alloc_bytes);
	memset(srat, 0, sizeof(*srat));
}
