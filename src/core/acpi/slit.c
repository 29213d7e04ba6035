/*
 * slit.c - the System Locality Information Table.
 *
 * Layout: the 36-byte header, an 8-byte locality count N, then N*N one-byte
 * distances, row i holding the distances from locality i.  10 is local, 0xff
 * unreachable.  Bytes after the matrix are ignored (some firmware pads the
 * table).  The count is 64 bits wide, so N*N is checked against the table
 * length without overflow before anything is read.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"

#define SLIT_MATRIX 44

enum numem_err numem_slit_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_slit *out,
                                struct numem_diag *diag)
{
	struct numem_slit s;
	memset(&s, 0, sizeof(s));
	enum numem_err err =
	    numem_acpi_check_header(table, len, "SLIT", flags, &s.header, &s.checksum_ok, diag);
	if (err)
		return err;
	const uint8_t *p = table;
	uint32_t tlen = s.header.length;
	if (tlen < SLIT_MATRIX)
		return numem__fail(diag, NUMEM_E_TRUNCATE, "SLIT", 36,
		                   "SLIT: length %u has no room for the 8-byte locality count",
		                   tlen);
	uint64_t n = numem__le64(p + 36);
	uint64_t room = tlen - SLIT_MATRIX;
	if (n > room || (n && n * n > room))
		return numem__fail(
		    diag, NUMEM_E_TRUNCATE, "SLIT", 36,
		    "SLIT: %llu localities need %llu matrix bytes, the table has %llu",
		    (unsigned long long)n,
		    n > 0xffffffffull ? (unsigned long long)-1 : (unsigned long long)(n * n),
		    (unsigned long long)room);
	s.localities = n;
	s.alloc_bytes = (size_t)(n * n);
	if (n) {
		s.matrix = numem__meta_alloc(plat, s.alloc_bytes, NUMEM_NID_NONE);
		if (!s.matrix)
			return numem__fail(diag, NUMEM_E_NOMEM, "SLIT", 0,
			                   "SLIT: no metadata memory for a %llu x %llu matrix",
			                   (unsigned long long)n, (unsigned long long)n);
		memcpy(s.matrix, p + SLIT_MATRIX, s.alloc_bytes);
	}
	*out = s;
	return NUMEM_OK;
}

void numem_slit_release(const struct numem_platform *plat, struct numem_slit *slit)
{
	if (!slit)
		return;
	numem__meta_free(plat, slit->matrix, slit->alloc_bytes);
	memset(slit, 0, sizeof(*slit));
}
