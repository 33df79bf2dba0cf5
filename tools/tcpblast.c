/* tcpblast: a tiny static network tool for rlbpf's tests and bench, built
 * into the busybox image (whose nc has no UDP and which has no iperf3).
 *
 *   tcpblast sink PORT             accept TCP clients one after another on
 *                                  0.0.0.0:PORT, read each to EOF, answer
 *                                  with the byte count
 *   tcpblast send HOST PORT SECS   write for SECS seconds, half-close, wait
 *                                  for the count, print "BYTES SECONDS GBIT/S"
 *   tcpblast udpecho PORT          echo UDP datagrams on 0.0.0.0:PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];

static int bound(int type, int port)
{
	int fd = socket(AF_INET, type, 0), one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("tcpblast: bind");
		exit(1);
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __attribute__((noreturn)) void sink(int port)
{
	int l = bound(SOCK_STREAM, port);
	if (listen(l, 16) < 0) {
		perror("tcpblast: listen");
		exit(1);
	}
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		unsigned long long total = 0;
		ssize_t n;
		while ((n = read(c, buf, sizeof(buf))) > 0)
			total += (unsigned long long)n;
		dprintf(c, "%llu\n", total);
		close(c);
	}
}

static int send_for(const char *host, int port, double secs)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return perror("tcpblast: connect"), 1;
	memset(buf, 'x', sizeof(buf));
	double t0 = now(), t;
	unsigned long long sent = 0;
	while ((t = now()) - t0 < secs) {
		ssize_t n = write(fd, buf, 256 * 1024);
		if (n <= 0)
			return perror("tcpblast: write"), 1;
		sent += (unsigned long long)n;
	}
	shutdown(fd, SHUT_WR);
	char reply[64] = "";
	ssize_t n = read(fd, reply, sizeof(reply) - 1);
	double end = now();
	unsigned long long got = n > 0 ? strtoull(reply, NULL, 10) : 0;
	if (got != sent) {
		fprintf(stderr, "tcpblast: sent %llu bytes, the sink counted %llu\n", sent, got);
		return 1;
	}
	printf("%llu %.3f %.2f\n", got, end - t0, (double)got * 8 / (end - t0) / 1e9);
	return 0;
}

static __attribute__((noreturn)) void udpecho(int port)
{
	int fd = bound(SOCK_DGRAM, port);
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		sink(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return send_for(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 3 && strcmp(argv[1], "udpecho") == 0)
		udpecho(atoi(argv[2]));
	fputs("usage: tcpblast sink PORT | send HOST PORT SECS | udpecho PORT\n", stderr);
	return 2;
}
