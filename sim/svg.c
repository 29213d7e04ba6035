/*
 * svg.c - the simulator's pictures: a self-contained HTML page with inline
 * SVG figures (also written as separate .svg files):
 *   memmap.svg  each node's physical address span as a bar, coloured by
 *               owner (free, host, reserved, each domain), per strategy
 *   free.svg    free memory per node over the run (solid: linux, dashed: xen)
 *   local.svg   local allocations (% of pages) over the run, per strategy
 *   tmem.svg    (scenarios with tmem frontends) pages each tmem pool holds
 *               over the run (solid: linux, dashed: xen)
 *   tmemhit.svg hit rate of each pool's gets so far, over the run
 * and, with tmem, tables of the guests' page accesses, compression, the
 * evictions of each phase and the memory tmem holds per node.
 * Every name from a scenario is XML-escaped.
 */
#include <errno.h>
#include <numem/sim.h>
#include <string.h>
#include <sys/stat.h>

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79",
                                      "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
                                      "#e6550d", "#31a354"};
static const char *const node_colour[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                          "#66a61e", "#e6ab02", "#a6761d", "#666666"};

static void esc(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static const char *owner_colour(uint8_t cls)
{
	return cls == 0   ? "#e8e8e8"
	       : cls == 1 ? "#9e9e9e"
	       : cls == 2 ? "#303030"
	                  : palette[(cls - 3) % 17];
}

static void svg_memmap(FILE *f, const struct sim_result *res)
{
	const int w = 820, bar = 18, gap = 8, left = 110;
	int h = 40 + 2 * (int)res->nr_nodes * (bar + gap) + 40 + 24 * 2;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n",
	        w, h);
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\">Physical memory by owner, per node "
	           "(left: lowest address)</text>\n");
	int y = 40;
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &res->run[s];
		fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y + 12,
		        r->strategy);
		y += 20;
		for (uint32_t n = 0; n < res->nr_nodes; n++) {
			fprintf(f, "<text x=\"10\" y=\"%d\">node %u</text>\n", y + 13, n);
			double bw = (double)(w - left - 10) / SIM_MAP_BUCKETS;
			for (uint32_t b = 0; b < SIM_MAP_BUCKETS; b++)
				fprintf(f,
				        "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
				        "fill=\"%s\"/>\n",
				        left + b * bw, y, bw + 0.05, bar,
				        owner_colour(r->map[n][b]));
			y += bar + gap;
		}
	}
	/* legend */
	int x = 10;
	const char *fixed[3] = {"free", "host", "reserved"};
	for (int i = 0; i < 3; i++, x += 90) {
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
		        owner_colour((uint8_t)i));
		fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 16, y + 11, fixed[i]);
	}
	for (uint32_t i = 0; i < res->run[0].nr_domains; i++) {
		if (x > w - 100) {
			x = 10;
			y += 20;
		}
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
		        owner_colour((uint8_t)(3 + i)));
		fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 16, y + 11);
		esc(f, res->run[0].dom[i].name);
		fprintf(f, "</text>\n");
		x += 110;
	}
	fprintf(f, "</svg>\n");
}

/* A line chart: series of (op, value) pairs. */
static void axes(FILE *f, int w, int h, const char *title, const char *ylabel, double ymax,
                 uint64_t xmax)
{
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n",
	        w, h);
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\">%s</text>\n", title);
	fprintf(f, "<line x1=\"60\" y1=\"40\" x2=\"60\" y2=\"%d\" stroke=\"black\"/>\n", h - 40);
	fprintf(f, "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", h - 40,
	        w - 20, h - 40);
	for (int i = 0; i <= 4; i++) {
		int yy = h - 40 - (h - 80) * i / 4;
		fprintf(f, "<text x=\"55\" y=\"%d\" text-anchor=\"end\">%.0f</text>\n", yy + 4,
		        ymax * i / 4);
		fprintf(f, "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", yy,
		        w - 20, yy);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">operations (%llu)</text>\n", w - 20,
	        h - 12, (unsigned long long)xmax);
	fprintf(f, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\">%s</text>\n", h / 2,
	        h / 2, ylabel);
}

static void polyline(FILE *f, int w, int h, const struct sim_run *r, double ymax, uint64_t xmax,
                     int node, const char *colour, bool dashed)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", colour,
	        dashed ? " stroke-dasharray=\"5,3\"" : "");
	for (uint32_t i = 0; i < r->nr_samples; i++) {
		const struct sim_sample *s = &r->sample[i];
		double v = node < 0 ? s->local_pct : (double)(s->free_pages[node] >> 8);
		double x = 60 + (double)(w - 80) * (double)s->op / (double)(xmax ? xmax : 1);
		double y = (h - 40) - (h - 80) * (ymax > 0 ? v / ymax : 0);
		fprintf(f, "%.1f,%.1f ", x, y);
	}
	fprintf(f, "\"/>\n");
}

static void svg_free(FILE *f, const struct sim_result *res)
{
	const int w = 820, h = 320;
	double ymax = 0;
	for (uint32_t n = 0; n < res->nr_nodes; n++)
		ymax = (double)(res->node_pages[n] >> 8) > ymax ? (double)(res->node_pages[n] >> 8)
		                                                : ymax;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	axes(f, w, h, "Free memory per node (solid: linux, dashed: xen)", "MiB", ymax, xmax);
	for (int s = 0; s < 2; s++)
		for (uint32_t n = 0; n < res->nr_nodes; n++)
			polyline(f, w, h, &res->run[s], ymax, xmax, (int)n, node_colour[n % 8],
			         s == 1);
	for (uint32_t n = 0; n < res->nr_nodes && n < 16; n++)
		fprintf(f, "<text x=\"%u\" y=\"34\" fill=\"%s\">node %u</text>\n", 70 + 70 * n,
		        node_colour[n % 8], n);
	fprintf(f, "</svg>\n");
}

static void svg_local(FILE *f, const struct sim_result *res)
{
	const int w = 820, h = 260;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	axes(f, w, h, "Local allocations, % of pages so far", "%", 100, xmax);
	polyline(f, w, h, &res->run[0], 100, xmax, -1, "#1f77b4", false);
	polyline(f, w, h, &res->run[1], 100, xmax, -1, "#d62728", true);
	fprintf(f, "<text x=\"70\" y=\"34\" fill=\"#1f77b4\">linux %.2f%%</text>\n",
	        res->run[0].local_pct);
	fprintf(f, "<text x=\"200\" y=\"34\" fill=\"#d62728\">xen %.2f%%</text>\n",
	        res->run[1].local_pct);
	fprintf(f, "</svg>\n");
}

/* The pools the samples follow (as report.c's "sampled_pools"). */
static uint32_t tmem_pools(const struct sim_run *r, uint32_t *slot)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < r->tmem.nr_guests; k++)
		for (uint32_t kind = 0; kind < 2; kind++)
			if (r->tmem.guest[k].pool[kind] != ~0u)
				slot[n++] = (uint32_t)r->tmem.guest_dom[k] * 2 + kind;
	return n;
}

static double tmem_value(const struct sim_sample *s, uint32_t slot, bool hit_rate)
{
	if (!hit_rate)
		return (double)s->tmem_pages[slot] / 256.0; /* MiB */
	return s->tmem_gets[slot] ? 100.0 * (double)s->tmem_hits[slot] / (double)s->tmem_gets[slot]
	                          : 0.0;
}

static void svg_tmem_chart(FILE *f, const struct sim_result *res, bool hit_rate)
{
	const int w = 820, h = 300;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	uint32_t slot[SIM_TMEM_POOLS], ns = tmem_pools(&res->run[0], slot);
	double ymax = hit_rate ? 100 : 1;
	for (int r = 0; r < 2 && !hit_rate; r++)
		for (uint32_t i = 0; i < res->run[r].nr_samples; i++)
			for (uint32_t k = 0; k < ns; k++) {
				double v = tmem_value(&res->run[r].sample[i], slot[k], false);
				ymax = v > ymax ? v : ymax;
			}
	axes(f, w, h,
	     hit_rate ? "tmem hit rate of each pool's gets so far (solid: linux, dashed: xen)"
	              : "Memory each tmem pool holds (solid: linux, dashed: xen)",
	     hit_rate ? "%" : "MiB", ymax, xmax);
	for (int r = 0; r < 2; r++)
		for (uint32_t k = 0; k < ns; k++) {
			const struct sim_run *run = &res->run[r];
			fprintf(f,
			        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s "
			        "points=\"",
			        palette[k % 17], r ? " stroke-dasharray=\"5,3\"" : "");
			for (uint32_t i = 0; i < run->nr_samples; i++) {
				const struct sim_sample *s = &run->sample[i];
				double x = 60 + (double)(w - 80) * (double)s->op /
				                    (double)(xmax ? xmax : 1);
				double y =
				    (h - 40) - (h - 80) * tmem_value(s, slot[k], hit_rate) / ymax;
				fprintf(f, "%.1f,%.1f ", x, y);
			}
			fprintf(f, "\"/>\n");
		}
	for (uint32_t k = 0; k < ns && k < 8; k++) {
		fprintf(f, "<text x=\"%u\" y=\"34\" fill=\"%s\">", 70 + 92 * k, palette[k % 17]);
		esc(f, res->sc.domain[slot[k] / 2].name);
		fprintf(f, " %s</text>\n", slot[k] % 2 ? "pers." : "eph.");
	}
	fprintf(f, "</svg>\n");
}

static void svg_tmem(FILE *f, const struct sim_result *res)
{
	svg_tmem_chart(f, res, false);
}

static void svg_tmem_hit(FILE *f, const struct sim_result *res)
{
	svg_tmem_chart(f, res, true);
}

/* The tables of the tmem section of index.html. */
static void html_tmem(FILE *f, const struct sim_result *res)
{
	for (int r = 0; r < 2; r++) {
		const struct sim_tmem_result *t = &res->run[r].tmem;
		fprintf(
		    f,
		    "<h3>%s: guests (compression %s)</h3>\n<table><tr><th>guest</th>"
		    "<th>frontend</th><th>accesses</th><th>faults</th><th>tmem hits (disk reads "
		    "avoided)</th><th>disk reads</th><th>hit rate</th><th>puts</th><th>refused</th>"
		    "</tr>\n",
		    res->run[r].strategy, t->codec);
		for (uint32_t k = 0; k < t->nr_guests; k++) {
			const struct sim_tmem_guest *g = &t->guest[k];
			fprintf(f, "<tr><td>");
			esc(f, g->name);
			fprintf(
			    f,
			    "</td><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
			    "<td>%.2f%%</td><td>%llu</td><td>%llu</td></tr>\n",
			    sim_tmem_frontend_name(g->frontend), (unsigned long long)g->accesses,
			    (unsigned long long)g->faults, (unsigned long long)g->tmem_hits,
			    (unsigned long long)g->disk_reads,
			    g->faults ? 100.0 * (double)g->tmem_hits / (double)g->faults : 0.0,
			    (unsigned long long)g->puts, (unsigned long long)g->puts_refused);
		}
		const struct numem_tmem_info *in = &t->info;
		fprintf(
		    f,
		    "</table>\n<p>Now: %llu pages (%llu ephemeral, %llu persistent) in %llu heap "
		    "pages; compression %.2f bytes stored per byte held; %llu evictions, %llu "
		    "pages given to the heap by %llu shrinker calls.</p>\n",
		    (unsigned long long)in->stats.pages,
		    (unsigned long long)in->stats.pages_ephemeral,
		    (unsigned long long)in->stats.pages_persistent,
		    (unsigned long long)in->heap_pages,
		    in->stats.bytes_used
		        ? (double)in->stats.bytes_stored / (double)in->stats.bytes_used
		        : 0.0,
		    (unsigned long long)in->stats.evictions, (unsigned long long)in->shrinker_freed,
		    (unsigned long long)in->shrinker_calls);
		fprintf(f, "<table><tr><th>phase</th><th>evicted</th><th>shrinker freed</th>");
		for (uint32_t n = 0; n < res->nr_nodes; n++)
			fprintf(f, "<th>node %u MiB</th>", n);
		fprintf(f, "</tr>\n");
		static const char *const kinds[] = {"boot",    "churn",  "balloon", "pressure",
		                                    "destroy", "replay", "tmem"};
		for (uint32_t i = 0; i < res->sc.nr_phases && i < SIM_MAX_PHASES; i++) {
			unsigned kind = (unsigned)res->sc.phase[i].kind;
			fprintf(f, "<tr><td>%u %s</td><td>%llu</td><td>%llu</td>", i + 1,
			        kind < 7 ? kinds[kind] : "?",
			        (unsigned long long)t->phase_evictions[i],
			        (unsigned long long)t->phase_shrinker_freed[i]);
			for (uint32_t n = 0; n < res->nr_nodes; n++)
				fprintf(f, "<td>%.1f</td>",
				        (double)t->phase_pages_on_node[i][n] / 256.0);
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

typedef void (*figure_fn)(FILE *, const struct sim_result *);

int sim_report_html(const struct sim_result *res, const char *dir, char *err, size_t errlen)
{
	int me = numem_mkdir_p(dir);
	if (me) {
		snprintf(err, errlen, "%s: %s", dir, strerror(me));
		return -1;
	}
	static const char *const names[5] = {"memmap.svg", "free.svg", "local.svg", "tmem.svg",
	                                     "tmemhit.svg"};
	const figure_fn figs[5] = {svg_memmap, svg_free, svg_local, svg_tmem, svg_tmem_hit};
	bool tmem = res->run[0].tmem.enabled && !res->run[0].tmem.baseline;
	int nfig = tmem ? 5 : 3;
	char path[4096];
	for (int i = 0; i < nfig; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
		figs[i](f, res);
		if (fclose(f) != 0) {
			snprintf(err, errlen, "%s: write failed", path);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/index.html", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	           "<title>numem sim: ");
	esc(f, res->sc.name);
	fprintf(f, "</title>\n<style>body{font-family:sans-serif;margin:20px;max-width:880px}"
	           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
	           "text-align:right}</style></head><body>\n<h1>numem sim: ");
	esc(f, res->sc.name);
	fprintf(f, "</h1>\n<p>Machine ");
	esc(f, res->machine_name);
	fprintf(f, ": %u nodes, %u CPUs; seed %llu.</p>\n", res->nr_nodes, res->nr_cpus,
	        (unsigned long long)res->sc.seed);
	fprintf(f, "<table><tr><th>strategy</th><th>operations</th><th>local allocations</th>"
	           "<th>checks</th></tr>\n");
	for (int s = 0; s < 2; s++) {
		fprintf(f, "<tr><td>%s</td><td>%llu</td><td>%.2f%%</td><td>", res->run[s].strategy,
		        (unsigned long long)res->run[s].ops, res->run[s].local_pct);
		esc(f, res->run[s].error[0] ? res->run[s].error : "verified");
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n");
	static const char *const titles[5] = {"Address space", "Free memory", "Locality",
	                                      "Transcendent memory (tmem)", "tmem hit rate"};
	for (int i = 0; i < nfig; i++) {
		fprintf(f, "<h2>%s</h2>\n", titles[i]);
		figs[i](f, res);
		if (i == 3)
			html_tmem(f, res);
	}
	fprintf(f, "</body></html>\n");
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return -1;
	}
	return 0;
}
