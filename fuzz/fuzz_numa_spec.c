/*
 * fuzz_numa_spec.c - libFuzzer target for QEMU -numa descriptions: each
 * input line is one -numa argument, or with a prefix "-m ", "-smp " or
 * "-object " QEMU's machine option of that name; a description that is
 * accepted must turn into tables that numem parses (strictly) into a
 * topology.
 */
#include <numem/host.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char err[256];
	bool ok = true;
	for (char *line = strtok(text, "\n"); line && ok; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "-m ", 3))
			ok = numem_spec_set_mem(&spec, line + 3, err, sizeof(err)) == 0;
		else if (!strncmp(line, "-smp ", 5))
			ok = numem_spec_set_smp(&spec, line + 5, err, sizeof(err)) == 0;
		else if (!strncmp(line, "-object ", 8))
			ok = numem_spec_add_object(&spec, line + 8, err, sizeof(err)) == 0;
		else
			ok = numem_spec_add_numa_arg(&spec, line, err, sizeof(err)) == 0;
	}
	free(text);
	if (!ok || numem_spec_finish(&spec, err, sizeof(err)) != 0)
		return 0;
	uint64_t total = 0;
	for (uint32_t n = 0; n < spec.nr_nodes; n++)
		total += spec.node[n].mem_bytes;
	total += spec.qemu.maxmem + (uint64_t)spec.qemu.slots * (1ull << 30);
	if (total > (1ull << 46))
		return 0; /* keep the frame table out of it: layout only */
	struct numem_machine_src src;
	if (numem_machine_src_spec(&src, &spec, err, sizeof(err)) != 0)
		return 0;
	struct numem_machine m;
	struct numem_diag d;
	struct numem_machine_opts o = {.acpi_flags = NUMEM_ACPI_STRICT};
	if (numem_machine_load(&m, &src, &o, &d) != NUMEM_OK)
		abort(); /* our own tables must always parse */
	numem_machine_unload(&m);
	return 0;
}
