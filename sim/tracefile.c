/*
 * tracefile.c - the binary trace file and its decoder (the xentrace_format
 * idea): a 32-byte header ("NUMEMTRC", version 1, record size 32, CPUs,
 * nodes, 8 reserved bytes), then numem_trace_event records as written by
 * the rings, little-endian.
 */
#include <numem/sim.h>
#include <numem/trace.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct trace_header {
	char magic[8];
	uint32_t version, record_size, nr_cpus, nr_nodes;
	char tag[8]; /* the run: "linux", "xen", "stress" (was reserved, zero) */
};

int sim_trace_write_header(FILE *f, uint32_t nr_cpus, uint32_t nr_nodes, const char *tag)
{
	struct trace_header h = {.version = 1,
	                         .record_size = sizeof(struct numem_trace_event),
	                         .nr_cpus = nr_cpus,
	                         .nr_nodes = nr_nodes};
	memcpy(h.magic, SIM_TRACE_MAGIC, 8);
	if (tag)
		memcpy(h.tag, tag, strlen(tag) < sizeof(h.tag) ? strlen(tag) : sizeof(h.tag));
	return fwrite(&h, sizeof(h), 1, f) == 1 ? 0 : -1;
}

#define TRACER_BUF 4096

int sim_tracer_open(struct sim_tracer *t, FILE *f, struct numem_heap *heap, uint32_t nr_nodes,
                    const char *tag)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->heap = heap;
	t->buf = calloc(TRACER_BUF, sizeof(*t->buf));
	t->lost_seen = calloc(heap->nr_cpus ? heap->nr_cpus : 1, sizeof(*t->lost_seen));
	if (!t->buf || !t->lost_seen) {
		free(t->buf);
		free(t->lost_seen);
		t->buf = NULL;
		t->lost_seen = NULL;
		return -1;
	}
	if (sim_trace_write_header(f, heap->nr_cpus, nr_nodes, tag))
		t->io_error = true;
	atomic_store(&heap->tracing, true);
	return 0;
}

void sim_tracer_drain(struct sim_tracer *t)
{
	if (!t->buf)
		return;
	struct numem_heap *h = t->heap;
	for (uint32_t c = 0; c < h->nr_cpus; c++) {
		struct numem_trace_ring *r = h->cpu[c].trace;
		if (!r)
			continue;
		uint32_t n;
		uint64_t last_ts = 0;
		while ((n = numem_trace_drain(r, t->buf, TRACER_BUF)) > 0) {
			if (fwrite(t->buf, sizeof(*t->buf), n, t->f) != n)
				t->io_error = true;
			t->events += n;
			last_ts = t->buf[n - 1].ts;
		}
		if (r->lost > t->lost_seen[c]) { /* only the drainer touches lost */
			uint64_t lost = r->lost - t->lost_seen[c];
			struct numem_trace_event e = {.ts = last_ts,
			                              .cpu = (uint16_t)c,
			                              .event = NUMEM_EV_LOST,
			                              .a = (uint32_t)lost,
			                              .a_hi = (uint32_t)(lost >> 32)};
			if (fwrite(&e, sizeof(e), 1, t->f) != 1)
				t->io_error = true;
			t->lost += lost;
			t->lost_seen[c] = r->lost;
		}
	}
}

void sim_tracer_close(struct sim_tracer *t)
{
	sim_tracer_drain(t);
	if (t->heap)
		atomic_store(&t->heap->tracing, false);
	free(t->buf);
	free(t->lost_seen);
	t->buf = NULL;
	t->lost_seen = NULL;
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
	/* The counters the 2006 Xen NUMA patch added to xentrace, as numastat
	 * names them: hit = allocated on the node it was meant for; miss =
	 * allocated on this node though another was meant; foreign = meant for
	 * this node, allocated elsewhere.  Per allocation, not per page. */
	static uint64_t hit[NUMEM_MAX_NODES], miss[NUMEM_MAX_NODES], foreign[NUMEM_MAX_NODES];
	memset(hit, 0, sizeof(hit));
	memset(miss, 0, sizeof(miss));
	memset(foreign, 0, sizeof(foreign));
	uint64_t lost = 0, lost_records = 0;
	char tag[9] = "";
	memcpy(tag, h.tag, 8);
	for (int i = 0; tag[i]; i++)
		if (tag[i] < 0x20 || tag[i] > 0x7e)
			tag[i] = '?';
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
		if (e.event == NUMEM_EV_ALLOC) {
			unsigned got = (unsigned)(e.c & 0xffff),
			         want = (unsigned)(e.c >> 16 & 0xffff);
			if (got < h.nr_nodes && want < h.nr_nodes) {
				if (got == want) {
					hit[got]++;
				} else {
					miss[got]++;
					foreign[want]++;
				}
			}
		} else if (e.event == NUMEM_EV_LOST) {
			lost += a;
			lost_records++;
		}
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
		case NUMEM_EV_LOST:
			fprintf(out, "%llu records overwritten before they were read\n",
			        (unsigned long long)a);
			break;
		default:
			fprintf(out, "a 0x%llx b %u c %llu\n", (unsigned long long)a, e.b,
			        (unsigned long long)e.c);
		}
	}
	if (ferror(in)) {
		snprintf(err, errlen, "read error after record %llu", (unsigned long long)n);
		return -2;
	}
	long at = ftell(in); /* -1 on a pipe: no way to tell */
	if (at >= 0 && at != (long)(sizeof(h) + n * sizeof(e)))
		fprintf(stderr,
		        "numem trace: warning: a partial record after record %llu ignored (a "
		        "truncated file?)\n",
		        (unsigned long long)n);
	if (summary) {
		fprintf(out, "%llu events, %u cpus, %u nodes%s%s\n",
		        (unsigned long long)(n - lost_records), h.nr_cpus, h.nr_nodes,
		        tag[0] ? ", run " : "", tag);
		fprintf(out, "lost: %llu records overwritten before they were read%s\n",
		        (unsigned long long)lost,
		        lost ? " (counts below are short by as many)" : "");
		fprintf(out, "%-11s", "event");
		for (uint32_t nd = 0; nd < h.nr_nodes; nd++)
			fprintf(out, " %11s%u", "node", nd);
		fprintf(out, " %12s\n", "no node");
		for (unsigned ev = 1; ev < NUMEM_EV_COUNT; ev++) {
			if (ev == NUMEM_EV_LOST) /* its own line above */
				continue;
			fprintf(out, "%-11s", numem_trace_event_name(ev));
			for (uint32_t nd = 0; nd < h.nr_nodes; nd++)
				fprintf(out, " %12llu", (unsigned long long)count[ev][nd]);
			fprintf(out, " %12llu\n", (unsigned long long)count[ev][NUMEM_MAX_NODES]);
		}
		const char *const rn[3] = {"numa_hit", "numa_miss", "numa_foreign"};
		const uint64_t *rv[3] = {hit, miss, foreign};
		fprintf(out, "allocations by intended node (per allocation, as numastat):\n");
		for (int k = 0; k < 3; k++) {
			fprintf(out, "%-11s", rn[k]);
			for (uint32_t nd = 0; nd < h.nr_nodes; nd++)
				fprintf(out, " %12llu", (unsigned long long)rv[k][nd]);
			fprintf(out, "\n");
		}
	} else if (lost) {
		fprintf(out, "lost: %llu records overwritten before they were read\n",
		        (unsigned long long)lost);
	}
	return 0;
}
