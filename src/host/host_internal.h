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
/* The entry base unit QEMU computes for the hmat-lb entries of one
 * hierarchy and data type (latency: ns; bandwidth: bytes/s): 1 with
 * *base set, 0 when none is given, -1 with a message when the values do not
 * fit 16-bit entries over one base or bandwidth is finer than 1 MiB/s. */
int numem__qemu_lb_base(const struct numem_spec_qemu *q, unsigned hier, unsigned type,
                        uint64_t *base, char *err, size_t errlen);

#endif
