/*
 * cli.c - what every subcommand shares: error messages on stderr.
 */
#include <numem/json.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "numem %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cli_fail(const char *cmd, bool json, int code, const char *msg)
{
	cli_error(cmd, "%s", msg);
	if (json) {
		json_t *o = json_pack("{s:s, s:s}", "error",
		                      code == EXIT_IO       ? "io"
		                      : code == EXIT_VERIFY ? "verification"
		                                            : "invalid",
		                      "message", msg);
		if (!o) /* not UTF-8: say so rather than print nothing */
			o = json_pack("{s:s, s:s}", "error", "invalid", "message",
			              "(a message that is not UTF-8)");
		json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	}
	return code;
}
