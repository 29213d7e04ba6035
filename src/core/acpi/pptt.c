/*
 * pptt.c - the Processor Properties Topology Table.
 *
 * Layout (ACPI 6.5, 5.2.30): the 36-byte header, then structures of
 * (type:1, length:1, body).  numem decodes type 0, the Processor Hierarchy
 * Node: reserved:2 @2, flags:4 @4, parent:4 @8 (byte offset of the parent
 * node from the start of the table, 0 for a root), ACPI processor id:4 @12,
 * number of private resources:4 @16, then that many 4-byte offsets (the
 * node's caches).  Cache (type 1) and ID (type 2) structures are
 * bounds-checked and counted.
 *
 * Validation, in order:
 *   1. pass 1 (no memory yet): every structure inside the table, length > 0,
 *      a hierarchy node at least 20 bytes and long enough for its private
 *      resource count (the count is 32 bits: compared by division, no
 *      overflow), every private resource offset inside the table;
 *   2. one allocation, decode;
 *   3. parents: 0 or the offset of another hierarchy node (binary search on
 *      the decoded offsets, which are ascending), and no cycle (a walk up from
 *      any node ends within nr_node steps).  On failure the array is freed
 *      before returning, so a rejected table leaves nothing allocated.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"

#define PPTT_FIRST_ENTRY 36
#define PPTT_NODE_LEN    20

static enum numem_err pptt_scan(const uint8_t *p, uint32_t len, struct numem_pptt *t,
                                struct numem_diag *diag)
{
	for (uint32_t off = PPTT_FIRST_ENTRY; off < len;) {
		if (len - off < 2)
			return numem__fail(diag, NUMEM_E_ENTRY_PAST_END, "PPTT", off,
			                   "PPTT: %u stray byte(s) at offset %u, too few for a "
			                   "structure header",
			                   len - off, off);
		uint8_t type = p[off], elen = p[off + 1];
		if (elen == 0)
			return numem__fail(diag, NUMEM_E_ZERO_LENGTH_ENTRY, "PPTT", off,
			                   "PPTT: structure of type %u at offset %u has length 0",
			                   type, off);
		if (elen > len - off)
			return numem__fail(diag, NUMEM_E_ENTRY_PAST_END, "PPTT", off,
			                   "PPTT: structure of type %u at offset %u (length %u) "
			                   "runs past the table end at %u",
			                   type, off, elen, len);
		if (type == NUMEM_PPTT_PROCESSOR) {
			if (elen < PPTT_NODE_LEN)
				return numem__fail(
				    diag, NUMEM_E_BAD_ENTRY, "PPTT", off,
				    "PPTT: Processor Hierarchy Node at offset %u has "
				    "length %u, needs %u",
				    off, elen, PPTT_NODE_LEN);
			uint32_t nr = numem__le32(p + off + 16);
			if (nr > (uint32_t)(elen - PPTT_NODE_LEN) / 4)
				return numem__fail(
				    diag, NUMEM_E_BAD_ENTRY, "PPTT", off + 16,
				    "PPTT: Processor Hierarchy Node at offset %u lists "
				    "%u private resources, its length %u holds %u",
				    off, nr, elen, (elen - PPTT_NODE_LEN) / 4);
			for (uint32_t i = 0; i < nr; i++) {
				uint32_t ref = numem__le32(p + off + PPTT_NODE_LEN + 4 * i);
				if (ref < PPTT_FIRST_ENTRY || ref > len - 2)
					return numem__fail(
					    diag, NUMEM_E_BAD_ENTRY, "PPTT",
					    off + PPTT_NODE_LEN + 4 * i,
					    "PPTT: private resource %u of the node at offset %u "
					    "points at %u, outside the structures [%u, %u)",
					    i, off, ref, PPTT_FIRST_ENTRY, len);
			}
			t->nr_node++;
		} else if (type == NUMEM_PPTT_CACHE) {
			t->nr_cache++;
		} else {
			t->nr_other++;
		}
		off += elen;
	}
	return NUMEM_OK;
}

/* Index of the node at byte offset off, or -1 (nodes are in ascending order). */
static int32_t pptt_find(const struct numem_pptt *t, uint32_t off)
{
	uint32_t lo = 0, hi = t->nr_node;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->node[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nr_node && t->node[lo].offset == off ? (int32_t)lo : -1;
}

/* Step 3: resolve parents and refuse cycles. */
static enum numem_err pptt_link(struct numem_pptt *t, struct numem_diag *diag)
{
	for (uint32_t i = 0; i < t->nr_node; i++) {
		struct numem_pptt_node *n = &t->node[i];
		n->parent = -1;
		if (!n->parent_offset)
			continue;
		n->parent = pptt_find(t, n->parent_offset);
		if (n->parent < 0 || (uint32_t)n->parent == i)
			return numem__fail(diag, NUMEM_E_BAD_ENTRY, "PPTT", n->offset + 8,
			                   "PPTT: the node at offset %u names parent %u, which is "
			                   "%s",
			                   n->offset, n->parent_offset,
			                   n->parent < 0 ? "not a Processor Hierarchy Node"
			                                 : "the node itself");
		t->node[n->parent].is_parent = true;
	}
	for (uint32_t i = 0; i < t->nr_node; i++) {
		int32_t at = (int32_t)i;
		uint32_t steps = 0;
		while (at >= 0 && steps <= t->nr_node) {
			at = t->node[at].parent;
			steps++;
		}
		if (at >= 0)
			return numem__fail(diag, NUMEM_E_BAD_ENTRY, "PPTT", t->node[i].offset + 8,
			                   "PPTT: following parents from the node at offset %u "
			                   "never reaches a root (a cycle)",
			                   t->node[i].offset);
	}
	return NUMEM_OK;
}

enum numem_err numem_pptt_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_pptt *out,
                                struct numem_diag *diag)
{
	struct numem_pptt t;
	memset(&t, 0, sizeof(t));
	enum numem_err err =
	    numem_acpi_check_header(table, len, "PPTT", flags, &t.header, &t.checksum_ok, diag);
	if (err)
		return err;
	const uint8_t *p = table;
	uint32_t tlen = t.header.length;
	err = pptt_scan(p, tlen, &t, diag);
	if (err)
		return err;
	t.alloc_bytes = (size_t)t.nr_node * sizeof(*t.node);
	if (t.nr_node) {
		t.node = numem__meta_alloc(plat, t.alloc_bytes, NUMEM_NID_NONE);
		if (!t.node)
			return numem__fail(diag, NUMEM_E_NOMEM, "PPTT", 0,
			                   "PPTT: no metadata memory for %u hierarchy nodes",
			                   t.nr_node);
		memset(t.node, 0, t.alloc_bytes);
	}
	uint32_t n = 0;
	for (uint32_t off = PPTT_FIRST_ENTRY; off < tlen; off += p[off + 1]) {
		if (p[off] != NUMEM_PPTT_PROCESSOR)
			continue;
		struct numem_pptt_node *nd = &t.node[n++];
		nd->flags = numem__le32(p + off + 4);
		nd->parent_offset = numem__le32(p + off + 8);
		nd->acpi_id = numem__le32(p + off + 12);
		nd->nr_private = numem__le32(p + off + 16);
		nd->offset = off;
	}
	err = pptt_link(&t, diag);
	if (err) {
		numem__meta_free(plat, t.node, t.alloc_bytes);
		return err;
	}
	*out = t;
	return NUMEM_OK;
}

void numem_pptt_release(const struct numem_platform *plat, struct numem_pptt *pptt)
{
	if (!pptt)
		return;
	numem__meta_free(plat, pptt->node, pptt->alloc_bytes);
	memset(pptt, 0, sizeof(*pptt));
}
