/* links: runtime/seccomp runtime/seccomp_cache runtime/caps lib/paths lib/userdb lib/error */
#include <errno.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/caps.h"
#include "runtime/seccomp.h"

#define BIT(c) (UINT64_C(1) << (c))

/* ---- helpers --------------------------------------------------------------- */

/* In a child, a failed check prints itself and makes the child exit 1; the
 * filter stays out of the test runner. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: child check failed: %s (errno %d)\n", \
				__FILE__, __LINE__, #cond, errno);             \
			return 1;                                              \
		}                                                              \
	} while (0)

#define CHILD_LOAD_FAILED 100

/* With via_pipe, the parent generates the program into a pipe after the
 * fork and the child loads it from there, as rlbpf run does. */
static int run_filtered_how(struct rl_seccomp *s, bool nnp, int (*fn)(void), bool via_pipe)
{
	int prog[2] = {-1, -1};
	if (via_pipe && pipe(prog) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0 && via_pipe) {
		const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		close(prog[1]);
		struct rl_error err = {0};
		if (rl_seccomp_load_from(prog[0], nnp, &err) < 0) {
			fprintf(stderr, "load: %s\n", err.msg);
			_exit(CHILD_LOAD_FAILED);
		}
		_exit(fn());
	}
	if (via_pipe) {
		struct rl_error err = {0};
		close(prog[0]);
		int r = rl_seccomp_export(s, prog[1], &err);
		close(prog[1]);
		if (r < 0)
			fail_msg("rl_seccomp_export failed: %s", err.msg);
	}
	if (pid == 0) {
		/* cmocka catches these and would resume the suite in the child. */
		const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		struct rl_error err = {0};
		if (rl_seccomp_load(s, nnp, &err) < 0) {
			fprintf(stderr, "load: %s\n", err.msg);
			_exit(CHILD_LOAD_FAILED);
		}
		_exit(fn());
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_filtered(struct rl_seccomp *s, bool nnp, int (*fn)(void))
{
	return run_filtered_how(s, nnp, fn, false);
}

static struct rl_seccomp *build_ok(enum rl_seccomp_mode mode, const char *path, uint64_t caps)
{
	struct rl_error err = {0};
	struct rl_seccomp *s = NULL;
	if (rl_seccomp_build(mode, path, caps, &s, &err) != 0)
		fail_msg("rl_seccomp_build failed: %s", err.msg);
	assert_non_null(s);
	return s;
}

static void write_profile(char path[static 64], const char *json)
{
	strcpy(path, "/tmp/rlbpf-test-seccomp-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(json);
	assert_int_equal(write(fd, json, len), (ssize_t)len);
	close(fd);
}

/* Builds from the JSON text and returns the error (or 0 with *out set). */
static int build_json(const char *json, uint64_t caps, struct rl_seccomp **out,
		      struct rl_error *err, char path[static 64])
{
	write_profile(path, json);
	*out = (struct rl_seccomp *)0x1;
	int r = rl_seccomp_build(RL_SECCOMP_PROFILE, path, caps, out, err);
	unlink(path);
	return r;
}

static void assert_profile_error(const char *json, const char *want_part)
{
	struct rl_error err = {0};
	struct rl_seccomp *s;
	char path[64];
	assert_int_equal(build_json(json, rl_caps_docker_default(), &s, &err, path), -EINVAL);
	assert_null(s);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "seccomp profile %s: ", path);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, want_part))
		fail_msg("got \"%s\", want \"%s...%s...\"", err.msg, prefix, want_part);
	assert_null(strchr(err.msg, '\n'));
}

/* A plain, namespace-free clone (what fork() does) must keep working. */
static int fork_works(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int status;
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 7;
}

/* clone(flags) without a new stack; returns 0 on success, else errno. */
static int try_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	waitpid((pid_t)pid, NULL, 0);
	return 0;
}

static int errno_of(long r)
{
	return r < 0 ? errno : 0;
}

/* ---- unconfined ------------------------------------------------------------ */

static void unconfined_is_null(void **state)
{
	(void)state;
	struct rl_error err = {0};
	struct rl_seccomp *s = (struct rl_seccomp *)0x1;
	assert_int_equal(rl_seccomp_build(RL_SECCOMP_UNCONFINED, NULL, 0, &s, &err), 0);
	assert_null(s);
	assert_int_equal(rl_seccomp_load(NULL, true, &err), 0);
	rl_seccomp_free(NULL);
}

/* ---- the default profile --------------------------------------------------- */

static int default_blocks_child(void)
{
	errno = 0;
	CHECK(syscall(SYS_getpid) == getpid());
	CHECK(fork_works());
	CHECK(errno_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING,
			       0)) == EPERM);
	CHECK(errno_of(syscall(SYS_add_key, "user", "rlbpf-test", "x", 1,
			       KEY_SPEC_PROCESS_KEYRING)) == EPERM);
	CHECK(errno_of(syscall(SYS_request_key, "user", "rlbpf-test", NULL, 0)) == EPERM);
	CHECK(errno_of(unshare(CLONE_NEWUSER)) == EPERM);
	CHECK(errno_of(unshare(CLONE_NEWUTS)) == EPERM);
	CHECK(errno_of(setns(0, 0)) == EPERM);
	CHECK(try_clone(CLONE_NEWNS) == EPERM);
	CHECK(try_clone(CLONE_NEWUSER) == EPERM);
	CHECK(try_clone(CLONE_NEWCGROUP) == EPERM);
	CHECK(try_clone(CLONE_NEWNET | CLONE_NEWPID) == EPERM);
	CHECK(errno_of(syscall(SYS_clone3, NULL, 0)) == ENOSYS);
	/* Harmless without the filter: each would fail with another errno. */
	CHECK(errno_of(mount("none", "/proc/self/rlbpf-no-such-dir", "tmpfs", 0, NULL)) ==
	      EPERM);
	CHECK(errno_of(syscall(SYS_reboot, 0, 0, 0, NULL)) == EPERM);
	CHECK(errno_of(syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0)) == EPERM);
	CHECK(errno_of(syscall(SYS_settimeofday, NULL, NULL)) == EPERM);
	CHECK(errno_of(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)) == EPERM);
	CHECK(errno_of(syscall(SYS_bpf, -1, NULL, 0)) == EPERM);
	CHECK(errno_of(syscall(SYS_init_module, NULL, 0, "")) == EPERM);
	/* Everything else is still allowed. */
	char buf[256];
	CHECK(getcwd(buf, sizeof(buf)) != NULL);
	CHECK(syscall(SYS_getppid) > 0);
	return 0;
}

static void default_blocks_what_docker_blocks(void **state)
{
	(void)state;
	struct rl_seccomp *s = build_ok(RL_SECCOMP_DEFAULT, NULL, rl_caps_docker_default());
	assert_int_equal(run_filtered(s, true, default_blocks_child), 0);
	rl_seccomp_free(s);
}

static void exported_program_filters_the_same(void **state)
{
	(void)state;
	struct rl_seccomp *s = build_ok(RL_SECCOMP_DEFAULT, NULL, rl_caps_docker_default());
	assert_int_equal(run_filtered_how(s, true, default_blocks_child, true), 0);
	rl_seccomp_free(s);
}

static void load_from_refuses_an_empty_program(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	struct rl_error err = {0};
	/* Fails before loading anything: safe in the test runner itself. */
	assert_int_equal(rl_seccomp_load_from(p[0], true, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad program"));
	close(p[0]);
}

static int sys_admin_child(void)
{
	/* Not the filter's ENOSYS: the kernel's EINVAL for a NULL clone_args. */
	CHECK(errno_of(syscall(SYS_clone3, NULL, 0)) != ENOSYS);
	CHECK(errno_of(mount("none", "/proc/self/rlbpf-no-such-dir", "tmpfs", 0, NULL)) !=
	      EPERM);
	if (geteuid() == 0) {
		CHECK(unshare(CLONE_NEWUTS) == 0);
		CHECK(try_clone(CLONE_NEWNS) == 0);
	}
	/* Keys stay blocked whatever the caps, as in Docker. */
	CHECK(errno_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING,
			       0)) == EPERM);
	CHECK(errno_of(syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0)) == EPERM);
	return 0;
}

static void sys_admin_relaxes_namespaces_and_mounts(void **state)
{
	(void)state;
	struct rl_seccomp *s = build_ok(RL_SECCOMP_DEFAULT, NULL,
					rl_caps_docker_default() | BIT(CAP_SYS_ADMIN));
	assert_int_equal(run_filtered(s, true, sys_admin_child), 0);
	rl_seccomp_free(s);
}

static int ptrace_time_child(void)
{
	if (geteuid() == 0)
		CHECK(syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0) == 0);
	CHECK(errno_of(syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0)) != EPERM ||
	      geteuid() != 0);
	if (geteuid() == 0)
		CHECK(syscall(SYS_settimeofday, NULL, NULL) == 0);
	CHECK(errno_of(unshare(CLONE_NEWUTS)) == EPERM);
	return 0;
}

static void other_caps_relax_their_groups(void **state)
{
	(void)state;
	struct rl_seccomp *s = build_ok(RL_SECCOMP_DEFAULT, NULL,
					BIT(CAP_SYS_PTRACE) | BIT(CAP_SYS_TIME));
	assert_int_equal(run_filtered(s, true, ptrace_time_child), 0);
	rl_seccomp_free(s);
}

static int nnp_set_child(void)
{
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	return 0;
}

static int nnp_unset_child(void)
{
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	CHECK(errno_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING,
			       0)) == EPERM);
	return 0;
}

static int load_without_caps_or_nnp_child(void)
{
	struct rl_error err = {0};
	struct rl_seccomp *s = NULL;
	CHECK(rl_seccomp_build(RL_SECCOMP_DEFAULT, NULL, 0, &s, &err) == 0);
	CHECK(rl_caps_set_final(0, 1000, &err) == 0);
	int r = rl_seccomp_load(s, false, &err);
	CHECK(r == -EACCES);
	CHECK(strstr(err.msg, "CAP_SYS_ADMIN") != NULL);
	CHECK(rl_seccomp_load(s, true, &err) == 0);
	rl_seccomp_free(s);
	return 0;
}

static void no_new_privs_is_the_callers_choice(void **state)
{
	(void)state;
	struct rl_seccomp *s = build_ok(RL_SECCOMP_DEFAULT, NULL, rl_caps_docker_default());
	assert_int_equal(run_filtered(s, true, nnp_set_child), 0);
	if (geteuid() == 0) {
		/* Root holds CAP_SYS_ADMIN, which is what loading without
		 * no_new_privs requires... */
		assert_int_equal(run_filtered(s, false, nnp_unset_child), 0);
		/* ...and without it the load fails with a hint. */
		assert_int_equal(run_filtered(NULL, true, load_without_caps_or_nnp_child), 0);
	}
	rl_seccomp_free(s);
}

/* ---- JSON profiles ----------------------------------------------------------- */

static int json_rules_child(void)
{
	char buf[256];
	CHECK(syscall(SYS_getcwd, buf, sizeof(buf)) == -1 && errno == 42);
	CHECK(syscall(SYS_getpid) == getpid());
	/* Conditions: only dup(12345) is refused. */
	CHECK(errno_of(dup(12345)) == 43);
	int fd = dup(0);
	CHECK(fd >= 0);
	close(fd);
	/* Two conditions on one argument are ORed, as runc does. */
	CHECK(errno_of(dup(23456)) == 44);
	CHECK(errno_of(dup(23457)) == 44);
	CHECK(errno_of(dup(23458)) == EBADF);
	/* A masked comparison: "value" is the mask, "valueTwo" the result. */
	CHECK(errno_of(syscall(SYS_umask, 0777)) == 45);
	CHECK(errno_of(syscall(SYS_umask, 022)) == 0);
	/* The rule with "name" instead of "names". */
	CHECK(errno_of(syscall(SYS_sched_yield)) == 46);
	/* No errnoRet: EPERM, as runc does. */
	CHECK(errno_of(syscall(SYS_getppid)) == EPERM);
	return 0;
}

static void json_profile_blocks_with_errno(void **state)
{
	(void)state;
	char path[64];
	write_profile(path,
		      "{\n"
		      "  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n"
		      "  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\",\n"
		      "                    \"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_NO_SUCH\"],\n"
		      "  \"syscalls\": [\n"
		      "    {\"names\": [\"getcwd\", \"no_such_syscall\", \"stime\"],\n"
		      "     \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42},\n"
		      "    {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 43,\n"
		      "     \"args\": [{\"index\": 0, \"value\": 12345, \"op\": \"SCMP_CMP_EQ\"}]},\n"
		      "    {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 44,\n"
		      "     \"args\": [{\"index\": 0, \"value\": 23456, \"op\": \"SCMP_CMP_EQ\"},\n"
		      "              {\"index\": 0, \"value\": 23457, \"op\": \"SCMP_CMP_EQ\"}]},\n"
		      "    {\"names\": [\"umask\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 45,\n"
		      "     \"args\": [{\"index\": 0, \"value\": 448, \"valueTwo\": 448,\n"
		      "                \"op\": \"SCMP_CMP_MASKED_EQ\"}]},\n"
		      "    {\"name\": \"sched_yield\", \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 46},\n"
		      "    {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"},\n"
		      "    {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
		      "     \"comment\": \"same as the default action: skipped\"}\n"
		      "  ]\n"
		      "}\n");
	struct rl_seccomp *s = build_ok(RL_SECCOMP_PROFILE, path, rl_caps_docker_default());
	unlink(path);
	assert_int_equal(run_filtered(s, true, json_rules_child), 0);
	rl_seccomp_free(s);
}

static const char caps_profile[] =
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
	" {\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 50,\n"
	"  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
	" {\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 51,\n"
	"  \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
	" {\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 52,\n"
	"  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_NO_SUCH\"]}},\n"
	" {\"names\": [\"getegid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 53,\n"
	"  \"includes\": {\"minKernel\": \"99.0\"}},\n"
	" {\"names\": [\"geteuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 54,\n"
	"  \"includes\": {\"minKernel\": \"3.0\"}}\n"
	"]}\n";

static int caps_default_child(void)
{
	CHECK(errno_of(syscall(SYS_getppid)) == 0);
	CHECK(errno_of(syscall(SYS_getuid)) == 51);
	CHECK(errno_of(syscall(SYS_getgid)) == 0);
	CHECK(errno_of(syscall(SYS_getegid)) == 0);
	CHECK(errno_of(syscall(SYS_geteuid)) == 54);
	return 0;
}

static int caps_admin_child(void)
{
	CHECK(errno_of(syscall(SYS_getppid)) == 50);
	CHECK(errno_of(syscall(SYS_getuid)) == 0);
	/* Docker includes an entry only when every listed cap is held. */
	CHECK(errno_of(syscall(SYS_getgid)) == 0);
	return 0;
}

static void json_includes_and_excludes_caps(void **state)
{
	(void)state;
	char path[64];
	write_profile(path, caps_profile);
	struct rl_seccomp *plain = build_ok(RL_SECCOMP_PROFILE, path, rl_caps_docker_default());
	struct rl_seccomp *admin = build_ok(RL_SECCOMP_PROFILE, path,
					    rl_caps_docker_default() | BIT(CAP_SYS_ADMIN));
	unlink(path);
	assert_int_equal(run_filtered(plain, true, caps_default_child), 0);
	assert_int_equal(run_filtered(admin, true, caps_admin_child), 0);
	rl_seccomp_free(plain);
	rl_seccomp_free(admin);
}

#if defined(__x86_64__)
/* The shape of Docker's own default.json: an allow-list with archMap and
 * per-arch clone rules. Honouring "arches" matters: s390's rule tests
 * argument 1, and applied on x86_64 it would let namespaced clones through
 * whenever the stack argument is 0. The allow-list also has what the
 * child itself needs to exit, sanitizers included (ASan calls sigaltstack
 * before _exit). */
static const char docker_like_profile[] =
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,\n"
	" \"archMap\": [\n"
	"  {\"architecture\": \"SCMP_ARCH_X86_64\",\n"
	"   \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},\n"
	"  {\"architecture\": \"SCMP_ARCH_S390X\", \"subArchitectures\": [\"SCMP_ARCH_S390\"]}],\n"
	" \"syscalls\": [\n"
	"  {\"names\": [\"exit\", \"exit_group\", \"getpid\", \"write\", \"futex\",\n"
	"              \"rt_sigreturn\", \"brk\", \"mmap\", \"munmap\", \"sigaltstack\"],\n"
	"   \"action\": \"SCMP_ACT_ALLOW\"},\n"
	"  {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
	"   \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0,\n"
	"             \"op\": \"SCMP_CMP_MASKED_EQ\"}],\n"
	"   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"], \"arches\": [\"s390\", \"s390x\"]}},\n"
	"  {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
	"   \"args\": [{\"index\": 1, \"value\": 2114060288, \"valueTwo\": 0,\n"
	"             \"op\": \"SCMP_CMP_MASKED_EQ\"}],\n"
	"   \"includes\": {\"arches\": [\"s390\", \"s390x\"]},\n"
	"   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
	"  {\"names\": [\"clone3\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38,\n"
	"   \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
	"  {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
	"   \"includes\": {\"arches\": [\"amd64\", \"x32\"]}},\n"
	"  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\",\n"
	"   \"includes\": {\"minKernel\": \"4.8\"}}\n"
	" ]}\n";

static int docker_like_child(void)
{
	CHECK(syscall(SYS_getpid) == getpid());
	CHECK(errno_of(syscall(SYS_getppid)) == EPERM);
	CHECK(try_clone(CLONE_NEWNS) == EPERM);
	CHECK(errno_of(syscall(SYS_clone3, NULL, 0)) == ENOSYS);
	return 0;
}

static void json_docker_shaped_profile(void **state)
{
	(void)state;
	char path[64];
	write_profile(path, docker_like_profile);
	struct rl_seccomp *s = build_ok(RL_SECCOMP_PROFILE, path, rl_caps_docker_default());
	unlink(path);
	assert_int_equal(run_filtered(s, true, docker_like_child), 0);
	rl_seccomp_free(s);
}
#endif

/* ---- JSON profile errors -------------------------------------------------- */

static void json_not_valid(void **state)
{
	(void)state;
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [ }\n",
			     "not valid JSON: ");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [ }\n",
			     " at line 2 column ");
	assert_profile_error("", "not valid JSON: ");
}

static void json_missing_or_unreadable_file(void **state)
{
	(void)state;
	struct rl_error err = {0};
	struct rl_seccomp *s = (struct rl_seccomp *)0x1;
	assert_int_equal(rl_seccomp_build(RL_SECCOMP_PROFILE, "/nonexistent/rlbpf.json", 0, &s,
					  &err),
			 -ENOENT);
	assert_null(s);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "seccomp profile /nonexistent/rlbpf.json: "));
	assert_non_null(strstr(err.msg, "No such file or directory"));

	assert_int_equal(rl_seccomp_build(RL_SECCOMP_PROFILE, "/tmp", 0, &s, &err), -EISDIR);
	assert_non_null(strstr(err.msg, "seccomp profile /tmp: not a regular file"));

	assert_int_equal(rl_seccomp_build(RL_SECCOMP_PROFILE, NULL, 0, &s, &err), -EINVAL);
	assert_int_equal(rl_seccomp_build((enum rl_seccomp_mode)42, NULL, 0, &s, &err),
			 -EINVAL);
}

static void json_bad_fields_name_the_field(void **state)
{
	(void)state;
	assert_profile_error("[]", "the top level must be a JSON object");
	assert_profile_error("{}", "defaultAction: missing; set it to one of SCMP_ACT_ALLOW");
	assert_profile_error("{\"defaultAction\": 1}", "defaultAction: must be a string");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_NOPE\"}",
			     "defaultAction: unknown action \"SCMP_ACT_NOPE\"; use one of");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}",
			     "defaultErrnoRet: must be an integer from 0 to 65535");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
			     "syscalls: must be an array");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\"},\n"
			     " {\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_FOO\"}]}",
			     "syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
			     "syscalls[0].action: SCMP_ACT_NOTIFY needs a seccomp agent");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"getcwd\"]}]}",
			     "syscalls[0].action: missing");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"getcwd\", 7], \"action\": \"SCMP_ACT_ERRNO\"}]}",
			     "syscalls[0].names[1]: must be a string");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": \"getcwd\", \"action\": \"SCMP_ACT_ERRNO\"}]}",
			     "syscalls[0].names: must be an array");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"action\": \"SCMP_ACT_ERRNO\"}]}",
			     "syscalls[0].names: missing");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"name\": \"dup\", \"names\": [\"getcwd\"], "
			     "\"action\": \"SCMP_ACT_ERRNO\"}]}",
			     "syscalls[0]: both \"name\" and \"names\" are set");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_ERRNO\", "
			     "\"errnoRet\": \"EPERM\"}]}",
			     "syscalls[0].errnoRet: must be an integer");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [\n"
			     "  {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_FOO\"}]}]}",
			     "syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\"");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [\n"
			     "  {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},\n"
			     "  {\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
			     "syscalls[0].args[1].index: must be an integer from 0 to 5");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [\n"
			     "  {\"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
			     "syscalls[0].args[0].index: missing");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			     " {\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\",\n"
			     "  \"includes\": {\"caps\": \"CAP_SYS_ADMIN\"}}]}",
			     "syscalls[0].includes.caps: must be an array");
	assert_profile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n"
			     " \"architectures\": [\"SCMP_ARCH_X86_64\", 3]}",
			     "architectures[1]: must be a string");
}

static void json_excluded_entries_are_still_validated(void **state)
{
	(void)state;
	const char *json = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [\n"
			   " {\"names\": [\"getcwd\"], \"action\": \"SCMP_ACT_BOGUS\",\n"
			   "  \"excludes\": {\"caps\": [\"CAP_CHOWN\"]}}]}";
	struct rl_error err = {0};
	struct rl_seccomp *s;
	char path[64];
	assert_int_equal(build_json(json, rl_caps_docker_default(), &s, &err, path), -EINVAL);
	assert_non_null(strstr(err.msg, "syscalls[0].action: unknown action"));
	assert_int_equal(build_json(json, 0, &s, &err, path), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unconfined_is_null),
		cmocka_unit_test(default_blocks_what_docker_blocks),
		cmocka_unit_test(exported_program_filters_the_same),
		cmocka_unit_test(load_from_refuses_an_empty_program),
		cmocka_unit_test(sys_admin_relaxes_namespaces_and_mounts),
		cmocka_unit_test(other_caps_relax_their_groups),
		cmocka_unit_test(no_new_privs_is_the_callers_choice),
		cmocka_unit_test(json_profile_blocks_with_errno),
		cmocka_unit_test(json_includes_and_excludes_caps),
#if defined(__x86_64__)
		cmocka_unit_test(json_docker_shaped_profile),
#endif
		cmocka_unit_test(json_not_valid),
		cmocka_unit_test(json_missing_or_unreadable_file),
		cmocka_unit_test(json_bad_fields_name_the_field),
		cmocka_unit_test(json_excluded_entries_are_still_validated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
