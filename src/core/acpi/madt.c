/*
 * madt.c - the Multiple APIC Description Table (signature "APIC").
 *
 * Layout (ACPI 6.5, 5.2.12): the 36-byte header, the 4-byte local interrupt
 * controller address, 4 bytes of flags, then interrupt controller structures
 * of (type:1, length:1, body).  numem decodes the processor structures:
 *   type 0   Processor Local APIC   8 bytes: UID:1 @2, APIC id:1 @3, flags:4 @4
 *   type 9   Processor Local x2APIC 16 bytes: x2APIC id:4 @4, flags:4 @8, UID:4 @12
 *   type 0xB GIC CPU Interface      UID:4 @8, flags:4 @12, MPIDR:8 @68; 76 bytes
 *            in ACPI 5.1, 80 in 6.0, 82 from 6.3
 * Flags: Enabled is bit 0 everywhere; Online Capable is bit 1 for the APIC
 * types and bit 3 for GICC.  Every other structure (I/O APIC, overrides,
 * NMI sources, GIC distributor, ...) is bounds-checked and counted.
 *
 * Two passes as in srat.c: validate and count, allocate once, decode.  A
 * processor structure shorter than its type's size is rejected (decoding it
 * would read the next structure's bytes); the error names the offset.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"

#define MADT_FIRST_ENTRY 44

static uint8_t madt_min_len(uint8_t type)
{
	switch (type) {
	case NUMEM_MADT_LOCAL_APIC:
		return 8;
	case NUMEM_MADT_LOCAL_X2APIC:
		return 16;
	case NUMEM_MADT_GICC:
		return 76;
	default:
		return 2;
	}
}

static const char *madt_type_name(uint8_t type)
{
	switch (type) {
	case NUMEM_MADT_LOCAL_APIC:
		return "Processor Local APIC";
	case NUMEM_MADT_LOCAL_X2APIC:
		return "Processor Local x2APIC";
	default:
		return "GIC CPU Interface";
	}
}

static bool madt_is_cpu(uint8_t type)
{
	return type == NUMEM_MADT_LOCAL_APIC || type == NUMEM_MADT_LOCAL_X2APIC ||
	       type == NUMEM_MADT_GICC;
}

/* Pass 1: bounds and counts. */
static enum numem_err madt_scan(const uint8_t *p, uint32_t len, struct numem_madt *m,
                                struct numem_diag *diag)
{
	for (uint32_t off = MADT_FIRST_ENTRY; off < len;) {
		if (len - off < 2)
			return numem__fail(diag, NUMEM_E_ENTRY_PAST_END, "APIC", off,
			                   "MADT: %u stray byte(s) at offset %u, too few for a "
			                   "structure header",
			                   len - off, off);
		uint8_t type = p[off], elen = p[off + 1];
		if (elen == 0)
			return numem__fail(diag, NUMEM_E_ZERO_LENGTH_ENTRY, "APIC", off,
			                   "MADT: structure of type %u at offset %u has length 0",
			                   type, off);
		if (elen > len - off)
			return numem__fail(diag, NUMEM_E_ENTRY_PAST_END, "APIC", off,
			                   "MADT: structure of type %u at offset %u (length %u) "
			                   "runs past the table end at %u",
			                   type, off, elen, len);
		if (elen < madt_min_len(type))
			return numem__fail(
			    diag, NUMEM_E_BAD_ENTRY, "APIC", off,
			    "MADT: %s structure at offset %u has length %u, needs %u",
			    madt_type_name(type), off, elen, madt_min_len(type));
		if (madt_is_cpu(type))
			m->nr_cpu++;
		else
			m->nr_other++;
		off += elen;
	}
	return NUMEM_OK;
}

static void madt_decode_cpu(const uint8_t *e, struct numem_madt_cpu *c)
{
	uint32_t flags;
	c->type = e[0];
	switch (e[0]) {
	case NUMEM_MADT_LOCAL_APIC:
		c->uid = e[2];
		c->id = e[3];
		flags = numem__le32(e + 4);
		c->online_capable = flags & NUMEM_MADT_APIC_ONLINE_CAPABLE;
		break;
	case NUMEM_MADT_LOCAL_X2APIC:
		c->id = numem__le32(e + 4);
		flags = numem__le32(e + 8);
		c->uid = numem__le32(e + 12);
		c->online_capable = flags & NUMEM_MADT_APIC_ONLINE_CAPABLE;
		break;
	default: /* NUMEM_MADT_GICC */
		c->uid = numem__le32(e + 8);
		c->id = c->uid;
		flags = numem__le32(e + 12);
		c->mpidr = numem__le64(e + 68);
		c->online_capable = flags & NUMEM_MADT_GICC_ONLINE_CAPABLE;
		break;
	}
	c->enabled = flags & NUMEM_MADT_ENABLED;
	if (c->enabled)
		c->online_capable = false; /* the bit only means something when disabled */
}

enum numem_err numem_madt_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_madt *out,
                                struct numem_diag *diag)
{
	struct numem_madt m;
	memset(&m, 0, sizeof(m));
	enum numem_err err =
	    numem_acpi_check_header(table, len, "APIC", flags, &m.header, &m.checksum_ok, diag);
	if (err)
		return err;
	const uint8_t *p = table;
	uint32_t tlen = m.header.length;
	if (tlen < MADT_FIRST_ENTRY)
		return numem__fail(diag, NUMEM_E_TRUNCATE, "APIC", 4,
		                   "MADT: length %u leaves no room for the 8 bytes after the "
		                   "header (needs %u)",
		                   tlen, MADT_FIRST_ENTRY);
	m.local_apic_address = numem__le32(p + 36);
	m.flags = numem__le32(p + 40);
	err = madt_scan(p, tlen, &m, diag);
	if (err)
		return err;
	m.alloc_bytes = (size_t)m.nr_cpu * sizeof(*m.cpu);
	if (m.nr_cpu) {
		m.cpu = numem__meta_alloc(plat, m.alloc_bytes, NUMEM_NID_NONE);
		if (!m.cpu)
			return numem__fail(diag, NUMEM_E_NOMEM, "APIC", 0,
			                   "MADT: no metadata memory for %u processor entries",
			                   m.nr_cpu);
		memset(m.cpu, 0, m.alloc_bytes);
	}
	uint32_t n = 0;
	for (uint32_t off = MADT_FIRST_ENTRY; off < tlen; off += p[off + 1]) {
		if (!madt_is_cpu(p[off]))
			continue;
		madt_decode_cpu(p + off, &m.cpu[n]);
		m.cpu[n++].offset = off;
	}
	*out = m;
	return NUMEM_OK;
}

void numem_madt_release(const struct numem_platform *plat, struct numem_madt *madt)
{
	if (!madt)
		return;
	numem__meta_free(plat, madt->cpu, madt->alloc_bytes);
	memset(madt, 0, sizeof(*madt));
}
