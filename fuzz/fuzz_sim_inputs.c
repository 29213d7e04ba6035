/*
 * fuzz_sim_inputs.c - libFuzzer target for the simulator's input parsers:
 * scenarios in JSON and in xl.cfg-like text, and trace files.  The first
 * byte selects the parser.  An accepted scenario must hold only values the
 * engine can take (counts within their arrays, names terminated).
 */
#include <numem/sim.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static struct sim_scenario sc;
	char err[256];
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
	case 1: {
		int rc = data[0] % 3 == 0 ? sim_scenario_from_json(&sc, text, err, sizeof(err))
		                          : sim_scenario_from_xlcfg(&sc, text, err, sizeof(err));
		if (rc == 0) {
			check(sc.nr_domains <= SIM_MAX_DOMAINS && sc.nr_phases <= SIM_MAX_PHASES);
			check(sc.nr_phases > 0);
			/* both parsers end in the shared validation */
			check(sim_scenario_validate(&sc, err, sizeof(err)) == 0);
			for (uint32_t i = 0; i < sc.nr_domains; i++) {
				check(memchr(sc.domain[i].name, 0, sizeof(sc.domain[i].name)) !=
				      NULL);
				check(sc.domain[i].nr_vnodes <= NUMEM_MAX_VNODES);
			}
			for (uint32_t i = 0; i < sc.nr_phases; i++) {
				const struct sim_phase *p = &sc.phase[i];
				check(memchr(p->file, 0, sizeof(p->file)) != NULL);
				/* a relayout's node list fits its array and names nodes */
				check(p->nr_nodes <= SIM_RELAYOUT_MAX_NODES);
				for (uint32_t k = 0; k < p->nr_nodes; k++)
					check(p->nodes[k] < NUMEM_MAX_NODES);
				check(p->kind != SIM_RELAYOUT || (p->domain[0] && p->nr_nodes &&
				                                  (p->stripe || p->nr_nodes == 1)));
			}
		} else {
			check(err[0] != '\0');
		}
		break;
	}
	default: {
		FILE *in = fmemopen((void *)(data + 1), size - 1, "rb");
		FILE *out = fopen("/dev/null", "w");
		if (in && out)
			sim_trace_decode(in, out, data[0] & 4, err, sizeof(err));
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		break;
	}
	}
	free(text);
	return 0;
}
