/* bench helper: binds and closes a socket N times, to measure what the
 * agent's bind hooks cost. Port 0 takes the cgroup/bind4 hook and the
 * sys_enter/exit_bind tracepoints; port P > 0 (privileged, refused) takes
 * the bind_denied path too. RATE, when given, paces the loop to about that
 * many binds a second (for finding the event rate a trace keeps up with).
 * Usage: bindloop N [PORT [RATE]] */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int port = argc > 2 ? atoi(argv[2]) : 0;
	long rate = argc > 3 ? atol(argv[3]) : 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
		if (fd < 0)
			return 1;
		(void)!bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		/* every 100 binds, sleep until the schedule catches up */
		if (rate > 0 && i % 100 == 99) {
			long long due_ns = (long long)(i + 1) * 1000000000LL / rate;
			struct timespec t = {.tv_sec = start.tv_sec + (time_t)(due_ns / 1000000000LL),
					     .tv_nsec = start.tv_nsec + (long)(due_ns % 1000000000LL)};
			if (t.tv_nsec >= 1000000000L) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000L;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		}
	}
	return 0;
}
