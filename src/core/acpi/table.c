/*
 * table.c - the ACPI system description table header and checksum.
 *
 * Every parser starts here: a table is accepted only if its header fits in
 * the bytes given, its declared length is at least a header and at most the
 * bytes given, its signature is the expected one, and (in strict mode) its
 * bytes sum to zero modulo 256.  Bytes past the declared length are ignored,
 * as firmware tables are often dumped with padding.
 */
#include <numem/acpi.h>

#include "../lib/internal.h"
#include "table.h"

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)src[i];
	dst[n] = '\0';
}

enum numem_err numem_acpi_check_header(const void *table, size_t len, const char *sig,
                                       unsigned flags, struct numem_acpi_header *hdr,
                                       bool *checksum_ok, struct numem_diag *diag)
{
	const uint8_t *p = table;
	if (!table)
		return numem__fail(diag, NUMEM_E_INVAL, sig, 0, "%s: no table given", sig);
	if (len < NUMEM_ACPI_HEADER_LEN)
		return numem__fail(diag, NUMEM_E_TRUNCATE, sig, (uint32_t)len,
		                   "%s: only %zu bytes, a table header needs %u", sig, len,
		                   NUMEM_ACPI_HEADER_LEN);
	if (memcmp(p, sig, 4) != 0)
		return numem__fail(diag, NUMEM_E_SIGNATURE, sig, 0,
		                   "%s: signature is \"%c%c%c%c\", expected \"%s\"", sig, p[0],
		                   p[1], p[2], p[3], sig);
	uint32_t tlen = numem__le32(p + 4);
	if (tlen < NUMEM_ACPI_HEADER_LEN)
		return numem__fail(diag, NUMEM_E_TRUNCATE, sig, 4,
		                   "%s: header length %u is shorter than the header itself (%u)",
		                   sig, tlen, NUMEM_ACPI_HEADER_LEN);
	if (tlen > len)
		return numem__fail(diag, NUMEM_E_TRUNCATE, sig, 4,
		                   "%s: header length %u is larger than the %zu bytes given", sig,
		                   tlen, len);
	uint8_t sum = 0;
	for (uint32_t i = 0; i < tlen; i++)
		sum = (uint8_t)(sum + p[i]);
	if (sum != 0 && (flags & NUMEM_ACPI_STRICT))
		return numem__fail(diag, NUMEM_E_CHECKSUM, sig, 9,
		                   "%s: checksum byte 0x%02x leaves a sum of 0x%02x, not 0", sig,
		                   p[9], sum);
	if (checksum_ok)
		*checksum_ok = sum == 0;
	if (hdr) {
		copy_str(hdr->signature, p, 4);
		hdr->length = tlen;
		hdr->revision = p[8];
		hdr->checksum = p[9];
		copy_str(hdr->oem_id, p + 10, 6);
		copy_str(hdr->oem_table_id, p + 16, 8);
		hdr->oem_revision = numem__le32(p + 24);
		copy_str(hdr->creator_id, p + 28, 4);
		hdr->creator_revision = numem__le32(p + 32);
	}
	return NUMEM_OK;
}

uint8_t numem__acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

void numem__acpi_put_header(uint8_t *p, const char *sig, uint32_t len, uint8_t revision)
{
	static const char oem_id[6] = {'N', 'U', 'M', 'E', 'M', ' '};
	static const char oem_table[8] = {'N', 'U', 'M', 'E', 'M', 'T', 'B', 'L'};
	memcpy(p, sig, 4);
	numem__put32(p + 4, len);
	p[8] = revision;
	p[9] = 0;
	memcpy(p + 10, oem_id, 6);
	memcpy(p + 16, oem_table, 8);
	numem__put32(p + 24, 1);
	memcpy(p + 28, "NUMM", 4);
	numem__put32(p + 32, 1);
}

void numem__acpi_finish(uint8_t *p, size_t len)
{
	p[9] = 0;
	p[9] = (uint8_t)(0 - numem__acpi_checksum(p, len));
}
