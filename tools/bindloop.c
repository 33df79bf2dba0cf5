/* bench helper: binds and closes a socket N times, to measure what the
 * agent's bind hooks cost. Port 0 takes the cgroup/bind4 hook and the
 * sys_enter/exit_bind tracepoints; port P > 0 (privileged, refused) takes
 * the bind_denied path too. Usage: bindloop N [PORT] */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int port = argc > 2 ? atoi(argv[2]) : 0;
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
		if (fd < 0)
			return 1;
		(void)!bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
	return 0;
}
