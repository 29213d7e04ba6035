/*
 * numem/json.h - JSON views of the firmware tables and the topology
 * (hosted; built on jansson).
 *
 * numem_json_srat() and numem_json_slit() follow exactly the schema of the
 * ACPI corpus (shared/acpi-corpus/README.md): entries in table order,
 * disabled ones included, addresses as lowercase "0x..." strings.
 */
#ifndef NUMEM_JSON_H
#define NUMEM_JSON_H

#include <jansson.h>
#include <numem/acpi.h>
#include <numem/topo.h>

json_t *numem_json_srat(const struct numem_srat *srat);
json_t *numem_json_slit(const struct numem_slit *slit); /* json null for NULL */
json_t *numem_json_hmat(const struct numem_hmat *hmat);
json_t *numem_json_topology(const struct numem_topo *topo, const uint64_t *free_pages);
/* {"error": name, "error_table": "SRAT", "error_offset": N, "message": "..."} */
json_t *numem_json_error(const struct numem_diag *diag);
/* "0x1f" */
json_t *numem_json_hex(uint64_t v);

#endif
