/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin-xdp's commands, the same on stdin (-i) and on the --control socket: show stats, show
 * flows [port N] [json], clear stats, help, quit. The control socket is a Unix stream socket
 * served from the loader's main loop (a few clients at once, one command per line, answers in
 * order); a client that half-closes gets the answer to its last line, even one without a newline,
 * and then the connection is closed, so `printf 'show flows json\n' | nc -U PATH` is a snapshot
 * of the flow map taken while the program keeps running.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "synfin_xdp.h"

/* A client that reads none of its answers blocks the loop at most this long per write. */
#define SEND_TIMEOUT_S 2

static const char help[] = "commands: show stats | show flows [port <N>] [json] | clear stats | "
                           "help | quit\n";

/* `show flows [port N] [json]`: the words after "flows". @return 0, or -1 (message on @p out). */
static int
flows_args(char *rest, int *port, bool *json, FILE *out)
{
	char *save = NULL;

	for (char *w = strtok_r(rest, " \t\r\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(w, "json") == 0) {
			*json = true;
		} else if (strcmp(w, "port") == 0) {
			char *v = strtok_r(NULL, " \t\r\n", &save), *end;
			unsigned long p;

			errno = 0;
			p = v != NULL ? strtoul(v, &end, 10) : 0;
			if (v == NULL || errno != 0 || *end != '\0' || p > 65535) {
				fprintf(out, "show flows: port takes a number in 0..65535\n");
				return -1;
			}
			*port = (int)p;
		} else {
			fprintf(out, "show flows: unknown argument '%s' (port <N>, json)\n", w);
			return -1;
		}
	}
	return 0;
}

int
sx_command(struct sx *sx, const char *line, FILE *out)
{
	char buf[SX_LINE_MAX], *save = NULL, *w1, *w2;

	snprintf(buf, sizeof(buf), "%s", line);
	w1 = strtok_r(buf, " \t\r\n", &save);
	if (w1 == NULL)
		return 0;
	w2 = strtok_r(NULL, " \t\r\n", &save);
	if (strcmp(w1, "quit") == 0 && w2 == NULL)
		return 1;
	if (strcmp(w1, "show") == 0 && w2 != NULL && strcmp(w2, "stats") == 0) {
		sx_show_stats(sx, out);
	} else if (strcmp(w1, "show") == 0 && w2 != NULL && strcmp(w2, "flows") == 0) {
		int port = -1;
		bool json = false;

		if (flows_args(save, &port, &json, out) == 0) {
			if (json)
				sx_flows_json(sx, out, port, NULL);
			else
				sx_show_flows(sx, out, port);
		}
	} else if (strcmp(w1, "clear") == 0 && w2 != NULL && strcmp(w2, "stats") == 0) {
		sx_stats_sum(sx, &sx->base, NULL, NULL);
	} else if (strcmp(w1, "help") == 0) {
		fputs(help, out);
	} else {
		fprintf(out, "%s: unknown command; %s", w1, help);
	}
	fflush(out);
	return 0;
}

int
sx_control_open(struct sx *sx)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, err;

	for (unsigned int i = 0; i < SX_CLIENTS_MAX; i++)
		sx->client[i].fd = -1;
	if (strlen(sx->control) >= sizeof(a.sun_path)) {
		fprintf(stderr, "synfin-xdp: --control %s: path longer than %zu bytes\n",
		        sx->control, sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, sx->control, strlen(sx->control) + 1);
	/* a socket left by a run that did not end cleanly is replaced; any other file is not */
	if (lstat(sx->control, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "synfin-xdp: --control %s: exists and is not a socket\n",
			        sx->control);
			return -EEXIST;
		}
		unlink(sx->control);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "synfin-xdp: --control: socket: %s\n", strerror(errno));
		return err;
	}
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (err != 0 || listen(fd, SX_CLIENTS_MAX) != 0) {
		err = -errno;
		fprintf(stderr, "synfin-xdp: --control %s: %s\n", sx->control, strerror(errno));
		close(fd);
		return err;
	}
	sx->ctl_fd = fd;
	return 0;
}

static void
client_close(struct sx_client *c)
{
	if (c->out != NULL)
		fclose(c->out);
	close(c->fd);
	c->out = NULL;
	c->fd = -1;
	c->len = 0;
}

static void
client_accept(struct sx *sx)
{
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
	int fd = accept4(sx->ctl_fd, NULL, NULL, SOCK_CLOEXEC), dfd;
	struct sx_client *c = NULL;

	if (fd < 0)
		return;
	for (unsigned int i = 0; i < SX_CLIENTS_MAX && c == NULL; i++)
		if (sx->client[i].fd < 0)
			c = &sx->client[i];
	if (c == NULL) {
		static const char busy[] = "synfin-xdp: too many control clients\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing more to tell it */
		}
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	dfd = dup(fd);
	c->out = dfd >= 0 ? fdopen(dfd, "w") : NULL;
	if (c->out == NULL) {
		if (dfd >= 0)
			close(dfd);
		close(fd);
		return;
	}
	c->fd = fd;
	c->len = 0;
}

/* Run the complete lines in @p c's buffer (and at @p eof the rest). @return 1 on quit. */
static int
client_lines(struct sx *sx, struct sx_client *c, bool eof)
{
	size_t start = 0;
	int q = 0;

	for (size_t i = 0; i < c->len && !q; i++) {
		if (c->buf[i] != '\n')
			continue;
		c->buf[i] = '\0';
		q = sx_command(sx, c->buf + start, c->out);
		start = i + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	if (!q && eof && c->len > 0) {
		c->buf[c->len] = '\0';
		q = sx_command(sx, c->buf, c->out);
		c->len = 0;
	}
	return q;
}

unsigned int
sx_control_pollfds(const struct sx *sx, struct pollfd *p)
{
	unsigned int n = 0;

	if (sx->ctl_fd < 0)
		return 0;
	p[n++] = (struct pollfd){.fd = sx->ctl_fd, .events = POLLIN};
	for (unsigned int i = 0; i < SX_CLIENTS_MAX; i++)
		if (sx->client[i].fd >= 0)
			p[n++] = (struct pollfd){.fd = sx->client[i].fd, .events = POLLIN};
	return n;
}

int
sx_control_serve(struct sx *sx, const struct pollfd *p, unsigned int n)
{
	int q = 0;

	for (unsigned int k = 1; k < n && !q; k++) {
		struct sx_client *c = NULL;
		ssize_t r;

		if (p[k].revents == 0)
			continue;
		for (unsigned int i = 0; i < SX_CLIENTS_MAX; i++)
			if (sx->client[i].fd == p[k].fd)
				c = &sx->client[i];
		if (c == NULL)
			continue;
		/* room for the terminating NUL client_lines() may write */
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) {
			c->len += (size_t)r;
			q = client_lines(sx, c, false);
			if (c->len == sizeof(c->buf) - 1) {
				fprintf(c->out, "synfin-xdp: command line longer than %d bytes\n",
				        SX_LINE_MAX - 2);
				client_close(c);
			}
		} else {
			q = client_lines(sx, c, true);
			client_close(c);
		}
	}
	if (n > 0 && (p[0].revents & POLLIN))
		client_accept(sx);
	return q;
}

void
sx_control_close(struct sx *sx)
{
	if (sx->ctl_fd < 0)
		return;
	for (unsigned int i = 0; i < SX_CLIENTS_MAX; i++)
		if (sx->client[i].fd >= 0)
			client_close(&sx->client[i]);
	close(sx->ctl_fd);
	sx->ctl_fd = -1;
	unlink(sx->control);
}
