#include "net/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/pty.h"

#define MAX_CONNS 128      /* TCP connections at once; more wait in the backlog */
#define MAX_FLOWS 64       /* UDP clients at once */
#define FLOW_IDLE_MS 60000 /* a UDP client silent this long is forgotten */
#define PIPE_BYTES (1 << 20)

void rl_port_text(const struct rl_port *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u->%u/%s", p->host_ip[0] ? p->host_ip : "0.0.0.0", p->host_port,
		 p->ctr_port, rl_port_proto_name(p->proto));
}

int rl_port_from_arg(const char *arg, struct rl_port *p)
{
	*p = (struct rl_port){0};
	unsigned v;
	char proto[4];
	if (sscanf(arg, "%3[a-z]/%u", proto, &v) != 2 || v < 1 || v > 65535)
		return -EINVAL;
	if (strcmp(proto, "tcp") == 0)
		p->proto = IPPROTO_TCP;
	else if (strcmp(proto, "udp") == 0)
		p->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	p->ctr_port = (unsigned short)v;
	return 0;
}

static long unprivileged_port_start(void)
{
	char buf[32] = "";
	_cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_unprivileged_port_start",
				      O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

static int listen_one(const struct rl_port *p, struct rl_error *err)
{
	char text[64];
	rl_port_text(p, text, sizeof(text));
	const char *proto = rl_port_proto_name(p->proto);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
	if (p->host_ip[0])
		inet_pton(AF_INET, p->host_ip, &a.sin_addr);
	bool tcp = p->proto == IPPROTO_TCP;
	_cleanup_close_ int fd =
		socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot publish %s: cannot create a socket", text);
	int one = 1;
	/* A port just freed (TIME_WAIT) can be published again at once. */
	if (tcp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		if (e == EACCES) {
			long start = unprivileged_port_start();
			return rl_fail(err, EACCES,
				       "cannot publish host port %u/%s: ports below %ld (net.ipv4.ip_unprivileged_port_start) are reserved to root on this host; either add net.ipv4.ip_unprivileged_port_start=%u to /etc/sysctl.conf (then 'sudo sysctl -p'), have the administrator grant port %u to uid %u in rlbpfd's port policy (/etc/rlbpf/ports.conf), or publish a port >= %ld (e.g. -p %u:%u)",
				       p->host_port, proto, start, p->host_port, p->host_port,
				       (unsigned)getuid(), start,
				       start > 0 && p->host_port + 8000 > start ? p->host_port + 8000u
										 : (unsigned)start,
				       p->ctr_port);
		}
		if (e == EADDRINUSE)
			return rl_fail(err, EADDRINUSE,
				       "cannot publish host port %u/%s: %s:%u is already in use (by another program or container); choose another host port, e.g. -p %u:%u",
				       p->host_port, proto, p->host_ip[0] ? p->host_ip : "0.0.0.0",
				       p->host_port, p->host_port == 65535 ? 65534u : p->host_port + 1u,
				       p->ctr_port);
		if (e == EADDRNOTAVAIL)
			return rl_fail(err, e,
				       "cannot publish %s: %s is not an address of this host; give one of its addresses or none",
				       text, p->host_ip);
		return rl_fail_errno(err, e, "cannot publish %s", text);
	}
	if (tcp && listen(fd, 128) < 0)
		return rl_fail_errno(err, errno, "cannot publish %s: cannot listen", text);
	return RL_TAKE_FD(fd);
}

int rl_ports_listen(const struct rl_port *ports, size_t n, int *fds, struct rl_error *err)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int fd = listen_one(&ports[i], err);
		if (fd < 0) {
			for (size_t j = 0; j < i; j++)
				close(RL_TAKE_FD(fds[j]));
			return fd;
		}
		fds[i] = fd;
	}
	return 0;
}

/* ---- forwarding */

/* One direction of a TCP connection: from -> pipe -> to. */
struct dir {
	int from, to;
	int pipe[2];
	size_t queued; /* bytes in the pipe */
	size_t cap;    /* what the pipe holds */
	bool eof;      /* from has ended (or failed) */
	bool done;     /* all delivered and to shut for writing */
	bool failed;   /* a socket error: the connection is broken both ways */
};

struct conn {
	int client, server;
	bool connecting, dead;
	unsigned wake; /* WAKE_UP / WAKE_DOWN: which directions had events */
	struct dir up, down; /* client -> server, server -> client */
	size_t lst;          /* the listener it came from */
	char peer[64];
};

struct flow {
	int sock;      /* connected to 127.0.0.1:CTRPORT inside the container */
	size_t lst;    /* the listener it came from */
	struct sockaddr_in client;
	long long last; /* ms, last traffic */
};

enum { WAKE_UP = 1, WAKE_DOWN = 2 };

enum slot_kind { SLOT_LISTENER, SLOT_CLIENT, SLOT_SERVER, SLOT_FLOW };
struct slot {
	enum slot_kind kind;
	size_t i;
};

struct rl_portfwd {
	int userns_fd, netns_fd, logfd;
	size_t n;
	struct rl_port *ports;
	int *fds;
	struct conn *conns[MAX_CONNS];
	struct flow flows[MAX_FLOWS];
	size_t n_flows;
	struct slot slots[RL_POLL_HOOK_MAX];
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void addr_text(const struct sockaddr_in *a, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
}

/* One line per event in STATE/ports.log, so that who connected is on record. */
static void log_line(struct rl_portfwd *pf, const struct rl_port *p, const char *peer,
		     const char *what)
{
	if (pf->logfd < 0)
		return;
	char stamp[32], line[256];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char port[64];
	rl_port_text(p, port, sizeof(port));
	int len = snprintf(line, sizeof(line), "%s %s client %s %s\n", stamp, port, peer, what);
	if (len > 0)
		(void)!write(pf->logfd, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
}

/* A socket of the container's network namespace: a short-lived child
 * enters its user and network namespaces (a process cannot go back, so
 * not us), makes the socket and hands it over. */
static int netns_socket(struct rl_portfwd *pf, int type)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -errno;
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(sp[0]);
		close(sp[1]);
		return -e;
	}
	if (child == 0) {
		if (setns(pf->userns_fd, CLONE_NEWUSER) < 0 || setns(pf->netns_fd, CLONE_NEWNET) < 0)
			_exit(1);
		int s = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		_exit(s < 0 || rl_fd_send(sp[1], s) < 0 ? 1 : 0);
	}
	close(sp[1]);
	int fd = rl_fd_recv(sp[0]);
	close(sp[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return fd;
}

static int connect_inside(struct rl_portfwd *pf, int type, unsigned short port)
{
	int fd = netns_socket(pf, type);
	if (fd < 0)
		return fd;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int dir_init(struct dir *d, int from, int to)
{
	*d = (struct dir){.from = from, .to = to, .pipe = {-1, -1}};
	if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	/* A larger pipe moves more per splice. It may be refused (the user's
	 * pipe-user-pages-soft is spent): then the pipe holds what it holds. */
	fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_BYTES);
	int cap = fcntl(d->pipe[1], F_GETPIPE_SZ);
	d->cap = cap > 0 ? (size_t)cap : 4096;
	return 0;
}

static void conn_free(struct conn *c)
{
	int fds[] = {c->client, c->server, c->up.pipe[0], c->up.pipe[1], c->down.pipe[0],
		     c->down.pipe[1]};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(c);
}

static void accept_tcp(struct rl_portfwd *pf, size_t l)
{
	size_t slot = 0;
	while (slot < MAX_CONNS && pf->conns[slot])
		slot++;
	if (slot == MAX_CONNS)
		return;
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	int client = accept4(pf->fds[l], (struct sockaddr *)&peer, &plen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (client < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(client);
		return;
	}
	*c = (struct conn){.client = client, .server = -1, .up.pipe = {-1, -1},
			   .down.pipe = {-1, -1}, .lst = l};
	addr_text(&peer, c->peer, sizeof(c->peer));
	int server = connect_inside(pf, SOCK_STREAM, pf->ports[l].ctr_port);
	if (server < 0) {
		char why[128];
		snprintf(why, sizeof(why), "refused: cannot connect inside the container: %s",
			 strerror(-server));
		log_line(pf, &pf->ports[l], c->peer, why);
		conn_free(c);
		return;
	}
	c->server = server;
	c->connecting = true;
	if (dir_init(&c->up, client, server) < 0 || dir_init(&c->down, server, client) < 0) {
		log_line(pf, &pf->ports[l], c->peer, "refused: out of pipes");
		conn_free(c);
		return;
	}
	log_line(pf, &pf->ports[l], c->peer, "accepted");
	pf->conns[slot] = c;
}

/* Moves what can move now; never blocks. A short splice means the source
 * is drained (or the destination full): then poll says when to go on,
 * instead of one more system call that would find nothing. */
static void dir_step(struct dir *d)
{
	while (!d->done) {
		bool again = false;
		if (!d->eof && d->queued < d->cap) {
			size_t want = d->cap - d->queued;
			ssize_t n = splice(d->from, NULL, d->pipe[1], NULL, want,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->queued += (size_t)n;
				again = (size_t)n == want;
			} else if (n == 0) {
				d->eof = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				d->eof = d->failed = true;
			}
		}
		if (d->queued > 0) {
			size_t want = d->queued;
			ssize_t n = splice(d->pipe[0], NULL, d->to, NULL, want,
					   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				d->queued -= (size_t)n;
				again = again || ((size_t)n == want && !d->eof);
				if ((size_t)n < want)
					again = false;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* The receiver is gone: nothing more can arrive. */
				d->eof = d->failed = true;
				d->queued = 0;
			}
		}
		if (d->eof && d->queued == 0) {
			/* A half-close travels on: the other side sees EOF. */
			shutdown(d->to, SHUT_WR);
			d->done = true;
		}
		if (!again)
			break;
	}
}

/* Only the directions that had events move: a splice that would find
 * nothing costs a system call per wake-up. */
static void conn_step(struct rl_portfwd *pf, struct conn *c)
{
	if (c->connecting) {
		int e = 0;
		socklen_t elen = sizeof(e);
		struct pollfd p = {.fd = c->server, .events = POLLOUT};
		if (poll(&p, 1, 0) != 1)
			return;
		getsockopt(c->server, SOL_SOCKET, SO_ERROR, &e, &elen);
		if (e) {
			/* Nothing listens in the container: the client sees a reset,
			 * as it would connecting to a closed port. */
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(c->client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			char why[128];
			snprintf(why, sizeof(why), "reset: the container's port %u: %s",
				 pf->ports[c->lst].ctr_port, strerror(e));
			log_line(pf, &pf->ports[c->lst], c->peer, why);
			c->dead = true;
			return;
		}
		c->connecting = false;
		c->wake = WAKE_UP | WAKE_DOWN;
	}
	if (c->wake & WAKE_UP)
		dir_step(&c->up);
	if (c->wake & WAKE_DOWN)
		dir_step(&c->down);
	c->wake = 0;
	/* A reset or an error ends it all (the peer that is left sees the
	 * close); otherwise each side's end travels on as a half-close. An
	 * errored socket stays readable for poll, so this also keeps the loop
	 * from spinning on it. */
	if ((c->up.done && c->down.done) || c->up.failed || c->down.failed)
		c->dead = true;
}

static struct flow *flow_for(struct rl_portfwd *pf, size_t l, const struct sockaddr_in *client)
{
	for (size_t i = 0; i < pf->n_flows; i++) {
		struct flow *f = &pf->flows[i];
		if (f->lst == l && f->client.sin_addr.s_addr == client->sin_addr.s_addr &&
		    f->client.sin_port == client->sin_port)
			return f;
	}
	if (pf->n_flows == MAX_FLOWS)
		return NULL;
	char peer[64];
	addr_text(client, peer, sizeof(peer));
	int sock = connect_inside(pf, SOCK_DGRAM, pf->ports[l].ctr_port);
	if (sock < 0) {
		log_line(pf, &pf->ports[l], peer, "refused: cannot reach the container");
		return NULL;
	}
	log_line(pf, &pf->ports[l], peer, "new udp client");
	struct flow *f = &pf->flows[pf->n_flows++];
	*f = (struct flow){.sock = sock, .lst = l, .client = *client, .last = now_ms()};
	return f;
}

static void udp_in(struct rl_portfwd *pf, size_t l)
{
	static char buf[65536];
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in client;
		socklen_t clen = sizeof(client);
		ssize_t n = recvfrom(pf->fds[l], buf, sizeof(buf), 0, (struct sockaddr *)&client,
				     &clen);
		if (n < 0)
			return;
		struct flow *f = flow_for(pf, l, &client);
		if (!f)
			continue;
		f->last = now_ms();
		(void)!send(f->sock, buf, (size_t)n, MSG_DONTWAIT);
	}
}

static void udp_out(struct rl_portfwd *pf, struct flow *f)
{
	static char buf[65536];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(f->sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		f->last = now_ms();
		(void)!sendto(pf->fds[f->lst], buf, (size_t)n, MSG_DONTWAIT,
			      (struct sockaddr *)&f->client, sizeof(f->client));
	}
}

static void flows_expire(struct rl_portfwd *pf)
{
	long long now = now_ms();
	for (size_t i = 0; i < pf->n_flows;) {
		if (now - pf->flows[i].last >= FLOW_IDLE_MS) {
			close(pf->flows[i].sock);
			pf->flows[i] = pf->flows[--pf->n_flows];
		} else {
			i++;
		}
	}
}

static size_t hook_fill(void *ctx, struct pollfd *p, size_t max)
{
	struct rl_portfwd *pf = ctx;
	size_t k = 0, open_conns = 0;
	for (size_t i = 0; i < MAX_CONNS; i++) {
		struct conn *c = pf->conns[i];
		if (!c || k + 2 > max)
			continue;
		open_conns++;
		short ce = 0, se = 0;
		if (c->connecting) {
			se = POLLOUT;
		} else {
			if (!c->up.eof && c->up.queued < c->up.cap)
				ce |= POLLIN;
			if (c->down.queued)
				ce |= POLLOUT;
			if (!c->down.eof && c->down.queued < c->down.cap)
				se |= POLLIN;
			if (c->up.queued)
				se |= POLLOUT;
		}
		p[k] = (struct pollfd){.fd = c->client, .events = ce};
		pf->slots[k++] = (struct slot){SLOT_CLIENT, i};
		p[k] = (struct pollfd){.fd = c->server, .events = se};
		pf->slots[k++] = (struct slot){SLOT_SERVER, i};
	}
	for (size_t i = 0; i < pf->n_flows && k < max; i++) {
		p[k] = (struct pollfd){.fd = pf->flows[i].sock, .events = POLLIN};
		pf->slots[k++] = (struct slot){SLOT_FLOW, i};
	}
	for (size_t i = 0; i < pf->n && k < max; i++) {
		/* With every connection slot taken, clients wait in the backlog. */
		bool tcp = pf->ports[i].proto == IPPROTO_TCP;
		p[k] = (struct pollfd){.fd = tcp && open_conns == MAX_CONNS ? -1 : pf->fds[i],
				       .events = POLLIN};
		pf->slots[k++] = (struct slot){SLOT_LISTENER, i};
	}
	return k;
}

static void hook_handle(void *ctx, struct pollfd *p, size_t n)
{
	struct rl_portfwd *pf = ctx;
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		struct slot s = pf->slots[k];
		switch (s.kind) {
		case SLOT_CLIENT:
		case SLOT_SERVER: {
			struct conn *c = pf->conns[s.i];
			if (!c)
				break;
			/* Readable client or writable server: upward; the reverse:
			 * downward; errors and hang-ups: both, to find out. */
			short in = p[k].revents & (POLLIN | POLLERR | POLLHUP);
			short out = p[k].revents & (POLLOUT | POLLERR | POLLHUP);
			bool client = s.kind == SLOT_CLIENT;
			if ((client && in) || (!client && out))
				c->wake |= WAKE_UP;
			if ((client && out) || (!client && in))
				c->wake |= WAKE_DOWN;
			break;
		}
		case SLOT_FLOW:
			if (s.i < pf->n_flows)
				udp_out(pf, &pf->flows[s.i]);
			break;
		case SLOT_LISTENER:
			if (pf->ports[s.i].proto == IPPROTO_TCP)
				accept_tcp(pf, s.i);
			else
				udp_in(pf, s.i);
			break;
		}
	}
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (pf->conns[i] && !pf->conns[i]->dead && (pf->conns[i]->wake || pf->conns[i]->connecting))
			conn_step(pf, pf->conns[i]);
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (pf->conns[i] && pf->conns[i]->dead) {
			conn_free(pf->conns[i]);
			pf->conns[i] = NULL;
		}
	flows_expire(pf);
}

static int hook_timeout(void *ctx)
{
	struct rl_portfwd *pf = ctx;
	if (!pf->n_flows)
		return -1;
	long long now = now_ms(), next = FLOW_IDLE_MS;
	for (size_t i = 0; i < pf->n_flows; i++) {
		long long left = pf->flows[i].last + FLOW_IDLE_MS - now;
		if (left < next)
			next = left;
	}
	return next < 0 ? 0 : (int)next + 1;
}

struct rl_poll_hook rl_portfwd_hook(struct rl_portfwd *pf)
{
	return (struct rl_poll_hook){.ctx = pf, .fill = hook_fill, .handle = hook_handle,
				     .timeout = hook_timeout};
}

int rl_portfwd_new(int userns_fd, int netns_fd, int logfd, const struct rl_port *ports,
		   const int *fds, size_t n, struct rl_portfwd **out, struct rl_error *err)
{
	*out = NULL;
	struct rl_portfwd *pf = calloc(1, sizeof(*pf));
	if (!pf || !(pf->ports = calloc(n + 1, sizeof(*ports))) ||
	    !(pf->fds = calloc(n + 1, sizeof(int)))) {
		if (pf) {
			free(pf->ports);
			free(pf->fds);
			free(pf);
		}
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		if (netns_fd >= 0)
			close(netns_fd);
		if (userns_fd >= 0)
			close(userns_fd);
		if (logfd >= 0)
			close(logfd);
		return rl_fail(err, ENOMEM, "out of memory for the published ports");
	}
	pf->netns_fd = netns_fd;
	pf->userns_fd = userns_fd;
	pf->logfd = logfd;
	memcpy(pf->ports, ports, n * sizeof(*ports));
	memcpy(pf->fds, fds, n * sizeof(int));
	pf->n = n;
	/* The host side as bound (the monitor is told only the container's). */
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_in a;
		socklen_t alen = sizeof(a);
		if (getsockname(fds[i], (struct sockaddr *)&a, &alen) == 0 && a.sin_family == AF_INET) {
			pf->ports[i].host_port = ntohs(a.sin_port);
			pf->ports[i].host_ip[0] = '\0';
			if (a.sin_addr.s_addr != htonl(INADDR_ANY))
				inet_ntop(AF_INET, &a.sin_addr, pf->ports[i].host_ip,
					  sizeof(pf->ports[i].host_ip));
		}
	}
	if (pf->netns_fd < 0 || pf->userns_fd < 0) {
		rl_portfwd_free(pf);
		return rl_fail(err, EBADF, "no network or user namespace to publish ports into");
	}
	/* Each connection holds six fds; make room for them all. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	*out = pf;
	return 0;
}

void rl_portfwd_free(struct rl_portfwd *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (pf->conns[i])
			conn_free(pf->conns[i]);
	for (size_t i = 0; i < pf->n_flows; i++)
		close(pf->flows[i].sock);
	for (size_t i = 0; pf->fds && i < pf->n; i++)
		if (pf->fds[i] >= 0)
			close(pf->fds[i]);
	if (pf->netns_fd >= 0)
		close(pf->netns_fd);
	if (pf->userns_fd >= 0)
		close(pf->userns_fd);
	if (pf->logfd >= 0)
		close(pf->logfd);
	free(pf->ports);
	free(pf->fds);
	free(pf);
}
