/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli/client.h - the CLI's client of the control API: HTTP/1.1 with JSON
 * bodies over bulwarkd's Unix socket, one request per connection, on a
 * plain blocking socket.
 */
#ifndef BW_CLI_CLIENT_H
#define BW_CLI_CLIENT_H

#include <stddef.h>

#include <jansson.h>

/* The socket used by every call (set by main from -s / BULWARK_SOCKET). */
extern const char *cli_socket;

/* Default socket path. */
#define CLI_DEFAULT_SOCKET "/run/bulwark/bulwark.sock"

/* Largest body bulwarkd reads (BW_API_MAX_BODY in core/api.h). */
#define CLI_MAX_BODY (16u * 1024 * 1024)

/* Flags of cli_request(). */
#define CLI_QUIET 0x1 /* print nothing; the caller reports errors */

/*
 * Send a request and read the reply. body may be NULL and is not stolen.
 * On return *reply (if reply is not NULL) holds the parsed reply body, or
 * NULL when there was none. Returns the HTTP status, or a negative errno
 * when the daemon cannot be reached (-ENOENT, -ECONNREFUSED, ...), times
 * out (-ETIMEDOUT) or sends something that is not HTTP (-EPROTO). Unless
 * CLI_QUIET, every failure is printed to stderr: the daemon's "error"
 * message for an error status, "cannot reach bulwarkd at ..." otherwise.
 */
int cli_request(const char *method, const char *path, json_t *body,
		json_t **reply, int flags);

/* cli_request() without flags. */
int cli_call(const char *method, const char *path, json_t *body,
	     json_t **reply);

/*
 * Same with a raw body (e.g. a YAML policy file) and its content type.
 */
int cli_call_raw(const char *method, const char *path, const char *ctype,
		 const char *data, size_t len, json_t **reply);

/*
 * GET path and call line() for each NDJSON line of the reply, until the
 * daemon ends the stream or line() returns non-zero (then that value is
 * returned). Returns 0 at the end of the stream, the HTTP status (>= 300)
 * of an error reply (printed), or a negative errno (printed).
 */
int cli_stream(const char *path, int (*line)(json_t *obj, void *arg),
	       void *arg);

/* Seconds a call may take before it gives up (0 = no limit; default 300). */
void cli_set_timeout(unsigned seconds);

/* Print "bulwark: cannot reach bulwarkd at SOCKET: ERR (is it running? ...)". */
void cli_print_unreachable(int err);

/* The "error" member of an error reply, or NULL. */
const char *cli_error_message(json_t *reply);

/*
 * A request path of any length (vasprintf; out of memory exits). The
 * caller frees it. No CLI request is built in a fixed-size buffer.
 */
char *cli_pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* BW_CLI_CLIENT_H */
