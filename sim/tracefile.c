/*
 * tracefile.c - the binary trace file and its decoder (the xentrace_format
 * idea): a 32-byte header ("NUMEMTRC", version 1, record size 32, CPUs,
 * nodes, 8 reserved bytes), then numem_trace_event records as written by
 * the rings, little-endian.
 */
#include <numem/sim.h>
#include <numem/trace.h>
#include <string.h>

struct trace_header {
	char magic[8];
	uint32_t version, record_size, nr_cpus, nr_nodes;
	uint64_t reserved;
};

int sim_trace_write_header(FILE *f, uint32_t nr_cpus, uint32_t nr_nodes)
{
	struct trace_header h = {.version = 1,
	                         .record_size = sizeof(struct numem_trace_event),
	                         .nr_cpus = nr_cpus,
	                         .nr_nodes = nr_nodes};
	memcpy(h.magic, SIM_TRACE_MAGIC, 8);
	return fwrite(&h, sizeof(h), 1, f) == 1 ? 0 : -1;
}

/* The node an event is about (or -1). */
static int event_node(const struct numem_trace_event *e)
{
	switch (e->event) {
	case NUMEM_EV_ALLOC:
		return (int)(e->c & 0xffff);
	case NUMEM_EV_ALLOC_FAIL:
		return (int)e->c;
	case NUMEM_EV_FALLBACK:
		return (int)e->b;
	case NUMEM_EV_FREE:
		return (int)e->c;
	case NUMEM_EV_SHRINK:
		return (int)e->a;
	default:
		return -1;
	}
}

int sim_trace_decode(FILE *in, FILE *out, bool summary, char *err, size_t errlen)
{
	struct trace_header h;
	if (fread(&h, sizeof(h), 1, in) != 1 || memcmp(h.magic, SIM_TRACE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a numem trace file (no NUMEMTRC header)");
		return -1;
	}
	if (h.version != 1 || h.record_size != sizeof(struct numem_trace_event) ||
	    h.nr_nodes > NUMEM_MAX_NODES) {
		snprintf(err, errlen, "trace version %u, record size %u, %u nodes: not supported",
		         h.version, h.record_size, h.nr_nodes);
		return -1;
	}
	uint64_t count[NUMEM_EV_COUNT][NUMEM_MAX_NODES + 1];
	memset(count, 0, sizeof(count));
	struct numem_trace_event e;
	uint64_t n = 0;
	while (fread(&e, sizeof(e), 1, in) == 1) {
		n++;
		if (e.event >= NUMEM_EV_COUNT) {
			snprintf(err, errlen, "record %llu: unknown event %u",
			         (unsigned long long)n, e.event);
			return -1;
		}
		uint64_t a = (uint64_t)e.a_hi << 32 | e.a;
		int node = event_node(&e);
		count[e.event][node >= 0 && node < (int)h.nr_nodes ? node : NUMEM_MAX_NODES]++;
		if (summary)
			continue;
		fprintf(out, "%10llu cpu%-3u %-10s ", (unsigned long long)e.ts, e.cpu,
		        numem_trace_event_name(e.event));
		switch (e.event) {
		case NUMEM_EV_ALLOC:
			fprintf(out, "pfn 0x%llx order %u node %u (intended %u)\n",
			        (unsigned long long)a, e.b, (unsigned)(e.c & 0xffff),
			        (unsigned)(e.c >> 16));
			break;
		case NUMEM_EV_FREE:
			fprintf(out, "pfn 0x%llx order %u node %llu\n", (unsigned long long)a, e.b,
			        (unsigned long long)e.c);
			break;
		case NUMEM_EV_ALLOC_FAIL:
			fprintf(out, "order %llu flags 0x%x intended node %llu\n",
			        (unsigned long long)a, e.b, (unsigned long long)e.c);
			break;
		case NUMEM_EV_FALLBACK:
			fprintf(out, "zone %llu node %u step %llu\n", (unsigned long long)a, e.b,
			        (unsigned long long)e.c);
			break;
		case NUMEM_EV_PCP_REFILL:
		case NUMEM_EV_PCP_DRAIN:
			fprintf(out, "zone %llu order %u blocks %llu\n", (unsigned long long)a, e.b,
			        (unsigned long long)e.c);
			break;
		case NUMEM_EV_SHRINK:
			fprintf(out, "node %llu asked %u freed %llu\n", (unsigned long long)a, e.b,
			        (unsigned long long)e.c);
			break;
		default:
			fprintf(out, "a 0x%llx b %u c %llu\n", (unsigned long long)a, e.b,
			        (unsigned long long)e.c);
		}
	}
	if (summary) {
		fprintf(out, "%llu events, %u cpus, %u nodes\n%-11s", (unsigned long long)n,
		        h.nr_cpus, h.nr_nodes, "event");
		for (uint32_t nd = 0; nd < h.nr_nodes; nd++)
			fprintf(out, " %11s%u", "node", nd);
		fprintf(out, " %12s\n", "no node");
		for (unsigned ev = 1; ev < NUMEM_EV_COUNT; ev++) {
			fprintf(out, "%-11s", numem_trace_event_name(ev));
			for (uint32_t nd = 0; nd < h.nr_nodes; nd++)
				fprintf(out, " %12llu", (unsigned long long)count[ev][nd]);
			fprintf(out, " %12llu\n", (unsigned long long)count[ev][NUMEM_MAX_NODES]);
		}
	}
	return 0;
}
