/*
 * host_internal.h - shared by the hosted files; not installed.
 */
#ifndef NUMEM_HOST_INTERNAL_H
#define NUMEM_HOST_INTERNAL_H

#include <numem/host.h>

/* Write a table into a malloc'd buffer. 0 on success. */
int numem__write_srat(const struct numem_srat *s, uint8_t **out, size_t *len);
int numem__write_slit(const struct numem_slit *s, uint8_t **out, size_t *len);
int numem__write_hmat(const struct numem_hmat *h, uint8_t **out, size_t *len);
int numem__write_madt(const struct numem_madt *m, uint8_t **out, size_t *len);
int numem__write_pptt(const struct numem_pptt *p, uint8_t **out, size_t *len);

#endif
