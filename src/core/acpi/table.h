/*
 * table.h - helpers shared by the ACPI parsers and writers (core-internal).
 */
#ifndef NUMEM_CORE_ACPI_TABLE_H
#define NUMEM_CORE_ACPI_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Sum of bytes modulo 256. */
uint8_t numem__acpi_checksum(const uint8_t *p, size_t len);

/* Write a standard header (OEM "NUMEM ", creator "NUMM"), checksum 0. */
void numem__acpi_put_header(uint8_t *p, const char *sig, uint32_t len, uint8_t revision);

/* Set the checksum byte so that the first len bytes sum to zero. */
void numem__acpi_finish(uint8_t *p, size_t len);

#endif
