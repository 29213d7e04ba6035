/*
 * table_write.c - write a machine's SRAT, SLIT, HMAT, MADT or PPTT into a malloc'd
 * buffer (the core's writers size first, then write).  Used by every
 * machine source that turns a description into firmware tables: QEMU-style
 * specs, presets, sysfs, and emulated machines.
 */
#include "host_internal.h"

#include <stdlib.h>

static int write_alloc(enum numem_err (*wr)(const void *, void *, size_t, size_t *),
                       const void *tbl, uint8_t **out, size_t *len)
{
	if (wr(tbl, NULL, 0, len) != NUMEM_OK)
		return -1;
	*out = malloc(*len);
	if (!*out)
		return -1;
	return wr(tbl, *out, *len, len) == NUMEM_OK ? 0 : -1;
}

/* Adapters so one helper writes all three kinds. */
static enum numem_err w_srat(const void *t, void *b, size_t c, size_t *l)
{
	return numem_srat_write(t, b, c, l);
}
static enum numem_err w_slit(const void *t, void *b, size_t c, size_t *l)
{
	return numem_slit_write(t, b, c, l);
}
static enum numem_err w_hmat(const void *t, void *b, size_t c, size_t *l)
{
	return numem_hmat_write(t, b, c, l);
}

static enum numem_err w_madt(const void *t, void *b, size_t c, size_t *l)
{
	return numem_madt_write(t, b, c, l);
}

int numem__write_madt(const struct numem_madt *m, uint8_t **out, size_t *len)
{
	return write_alloc(w_madt, m, out, len);
}

static enum numem_err w_pptt(const void *t, void *b, size_t c, size_t *l)
{
	return numem_pptt_write(t, b, c, l);
}

int numem__write_pptt(const struct numem_pptt *p, uint8_t **out, size_t *len)
{
	return write_alloc(w_pptt, p, out, len);
}

int numem__write_srat(const struct numem_srat *s, uint8_t **out, size_t *len)
{
	return write_alloc(w_srat, s, out, len);
}
int numem__write_slit(const struct numem_slit *s, uint8_t **out, size_t *len)
{
	return write_alloc(w_slit, s, out, len);
}
int numem__write_hmat(const struct numem_hmat *h, uint8_t **out, size_t *len)
{
	return write_alloc(w_hmat, h, out, len);
}
