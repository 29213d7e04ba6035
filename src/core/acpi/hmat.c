/*
 * hmat.c - the Heterogeneous Memory Attribute Table (ACPI 6.3+ layout).
 *
 * Layout: the 36-byte header, 4 reserved bytes, then structures of
 * (type:2, reserved:2, length:4, body):
 *   0  Memory Proximity Domain Attributes: which initiator a memory domain
 *      is attached to (40 bytes).
 *   1  System Locality Latency and Bandwidth Information: an initiator x
 *      target matrix of 16-bit entries scaled by a 64-bit base unit
 *      (32 bytes + 4 per initiator + 4 per target + 2 per entry).
 *   2  Memory Side Cache Information (32 bytes + 2 per SMBIOS handle).
 * As for the SRAT, a first pass checks every structure's bounds, and for
 * type 1 that its counts fit its length, before anything is allocated.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"

#define HMAT_FIRST 40

/*
 * Whether a type-1 structure of slen bytes (slen >= 32) holds ni initiators
 * and nt targets: 32 + 4*ni + 4*nt + 2*ni*nt <= slen.  Each count is bounded
 * by the room left before it is multiplied, so nothing can wrap (the naive
 * 64-bit sum wraps for ni = 4294705158, nt = 2147614722).  *need gets the
 * bytes the counts need, saturated at UINT64_MAX, for the message.
 */
static bool lbi_fits(uint32_t ni, uint32_t nt, uint32_t slen, uint64_t *need)
{
	uint64_t room = slen - 32u;
	uint64_t lists = 4ull * ni + 4ull * nt; /* < 2^35 */
	uint64_t entries = (uint64_t)ni * nt;   /* < 2^64: two 32-bit factors */
	*need = entries > (UINT64_MAX - 32 - lists) / 2 ? UINT64_MAX : 32 + lists + 2 * entries;
	if (lists > room)
		return false;
	/* ni, nt <= room / 4 < 2^30 here, so 2 * entries cannot wrap */
	return entries <= (room - lists) / 2;
}

static enum numem_err hmat_scan(const uint8_t *p, uint32_t len, struct numem_hmat *h, size_t *extra,
                                struct numem_diag *diag)
{
	*extra = 0;
	for (uint32_t off = HMAT_FIRST; off < len;) {
		if (len - off < 8)
			return numem__fail(diag, NUMEM_E_ENTRY_PAST_END, "HMAT", off,
			                   "HMAT: %u stray byte(s) at offset %u, too few for a "
			                   "structure header",
			                   len - off, off);
		uint16_t type = numem__le16(p + off);
		uint32_t slen = numem__le32(p + off + 4);
		if (slen == 0)
			return numem__fail(diag, NUMEM_E_ZERO_LENGTH_ENTRY, "HMAT", off,
			                   "HMAT: structure of type %u at offset %u has length 0",
			                   type, off);
		if (slen > len - off)
			return numem__fail(
			    diag, NUMEM_E_ENTRY_PAST_END, "HMAT", off,
			    "HMAT: structure of type %u at offset %u (length %u) runs "
			    "past the table end at %u",
			    type, off, slen, len);
		const uint8_t *e = p + off;
		uint32_t need = type == NUMEM_HMAT_MPDA ? 40 : type <= NUMEM_HMAT_CACHE ? 32 : 8;
		if (slen < need)
			return numem__fail(diag, NUMEM_E_BAD_ENTRY, "HMAT", off,
			                   "HMAT: structure of type %u at offset %u has length %u, "
			                   "needs %u",
			                   type, off, slen, need);
		if (type == NUMEM_HMAT_MPDA) {
			h->nr_mpda++;
		} else if (type == NUMEM_HMAT_LBI) {
			uint32_t ni = numem__le32(e + 12), nt = numem__le32(e + 16);
			uint64_t want;
			if (!lbi_fits(ni, nt, slen, &want))
				return numem__fail(
				    diag, NUMEM_E_TRUNCATE, "HMAT", off + 12,
				    "HMAT: latency/bandwidth structure at offset %u "
				    "lists %u initiators and %u targets, needing %llu "
				    "bytes, but has length %u",
				    off, ni, nt, (unsigned long long)want, slen);
			h->nr_lbi++;
			*extra += (want - 32 + 3) & ~3ull; /* want <= slen: no wrap */
		} else if (type == NUMEM_HMAT_CACHE) {
			uint16_t ns = numem__le16(e + 30);
			if (32u + 2u * ns > slen)
				return numem__fail(
				    diag, NUMEM_E_TRUNCATE, "HMAT", off + 30,
				    "HMAT: cache structure at offset %u lists %u SMBIOS "
				    "handles but has length %u",
				    off, ns, slen);
			h->nr_cache++;
		} else {
			h->nr_unknown++;
		}
		off += slen;
	}
	return NUMEM_OK;
}

enum numem_err numem_hmat_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_hmat *out,
                                struct numem_diag *diag)
{
	struct numem_hmat h;
	memset(&h, 0, sizeof(h));
	enum numem_err err =
	    numem_acpi_check_header(table, len, "HMAT", flags, &h.header, &h.checksum_ok, diag);
	if (err)
		return err;
	const uint8_t *p = table;
	uint32_t tlen = h.header.length;
	if (tlen < HMAT_FIRST)
		return numem__fail(diag, NUMEM_E_TRUNCATE, "HMAT", 4,
		                   "HMAT: length %u leaves no room for the 4 reserved bytes", tlen);
	size_t extra;
	err = hmat_scan(p, tlen, &h, &extra, diag);
	if (err)
		return err;

	size_t bytes = h.nr_mpda * sizeof(struct numem_hmat_mpda) +
	               h.nr_lbi * sizeof(struct numem_hmat_lbi) +
	               h.nr_cache * sizeof(struct numem_hmat_cache) + extra;
	uint8_t *block = 0;
	if (bytes) {
		block = numem__meta_alloc(plat, bytes, NUMEM_NID_NONE);
		if (!block)
			return numem__fail(diag, NUMEM_E_NOMEM, "HMAT", 0,
			                   "HMAT: no metadata memory for %zu bytes", bytes);
		memset(block, 0, bytes);
	}
	h.alloc_bytes = bytes;
	/* One block: lbi, mpda, cache structs, then the lbi arrays.  The lbi
	 * pointer always holds the block (numem_hmat_release frees it). */
	uint8_t *arrays = block;
	h.lbi = (struct numem_hmat_lbi *)block;
	if (block) {
		arrays += h.nr_lbi * sizeof(struct numem_hmat_lbi);
		h.mpda = (struct numem_hmat_mpda *)arrays;
		arrays += h.nr_mpda * sizeof(struct numem_hmat_mpda);
		h.cache = (struct numem_hmat_cache *)arrays;
		arrays += h.nr_cache * sizeof(struct numem_hmat_cache);
	}

	uint32_t nm = 0, nl = 0, nc = 0;
	for (uint32_t off = HMAT_FIRST; off < tlen; off += numem__le32(p + off + 4)) {
		const uint8_t *e = p + off;
		switch (numem__le16(e)) {
		case NUMEM_HMAT_MPDA: {
			struct numem_hmat_mpda *m = &h.mpda[nm++];
			m->flags = numem__le16(e + 8);
			m->initiator_pxm = numem__le32(e + 12);
			m->memory_pxm = numem__le32(e + 16);
			m->offset = off;
			break;
		}
		case NUMEM_HMAT_LBI: {
			struct numem_hmat_lbi *l = &h.lbi[nl++];
			l->flags = e[8];
			l->data_type = e[9];
			l->min_transfer_size = e[10];
			l->nr_initiators = numem__le32(e + 12);
			l->nr_targets = numem__le32(e + 16);
			l->base_unit = numem__le64(e + 24);
			l->offset = off;
			/* Arrays: 4-byte pxm lists first, then the 2-byte entries, so
			 * each stays naturally aligned. */
			const uint8_t *q = e + 32;
			l->initiator_pxm = (uint32_t *)arrays;
			for (uint32_t i = 0; i < l->nr_initiators; i++, q += 4)
				l->initiator_pxm[i] = numem__le32(q);
			arrays += 4ull * l->nr_initiators;
			l->target_pxm = (uint32_t *)arrays;
			for (uint32_t i = 0; i < l->nr_targets; i++, q += 4)
				l->target_pxm[i] = numem__le32(q);
			arrays += 4ull * l->nr_targets;
			l->entry = (uint16_t *)arrays;
			uint64_t ne = (uint64_t)l->nr_initiators * l->nr_targets;
			for (uint64_t i = 0; i < ne; i++, q += 2)
				l->entry[i] = numem__le16(q);
			arrays += 2 * ne;
			/* keep the next lbi's uint32 arrays aligned */
			arrays = (uint8_t *)numem__align_up((size_t)arrays, 4);
			break;
		}
		case NUMEM_HMAT_CACHE: {
			struct numem_hmat_cache *c = &h.cache[nc++];
			c->memory_pxm = numem__le32(e + 8);
			c->size = numem__le64(e + 16);
			c->attributes = numem__le32(e + 24);
			c->nr_smbios = numem__le16(e + 30);
			c->offset = off;
			break;
		}
		default:
			break;
		}
	}
	*out = h;
	return NUMEM_OK;
}

void numem_hmat_release(const struct numem_platform *plat, struct numem_hmat *hmat)
{
	if (!hmat)
		return;
	numem__meta_free(plat, hmat->lbi, hmat->alloc_bytes);
	memset(hmat, 0, sizeof(*hmat));
}
