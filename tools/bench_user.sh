# shellcheck shell=bash disable=SC2154,SC2034 # work, repo, die: the caller's; the rest: for it
# The unprivileged side shared by tools/bench_mem.sh and tools/bench_limits.sh,
# sourced once $repo, $work and die() exist:
#   bench_user_args "$@"   PREFIX and USER from the arguments, or the build
#                          installed into $work/prefix and rlbpf-t1;
#   then prefix, user, uid, gid, the user's directories in $work, and asu:
#   the command prefix that runs a command as the user (setpriv and env
#   exec, so $! of "${asu[@]}" CMD & is CMD itself, which a signal reaches);
#   $work/stats.py ID      a container's peak memory as rlbpfd counted it
#                          (rss_peak_bytes of STATS, the raw protocol, as the
#                          README's Protocol section describes it);
#   $work/incg CG CMD...   CMD in the cgroup CG (the kernel's reference).
# cg_remove CG: a cgroup set by hand, gone: whatever still runs in it
# (Ctrl-C between a workload's start and its end) is killed first.
cg_remove() {
	[ -d "$1" ] || return 0
	xargs -r kill -KILL <"$1/cgroup.procs" 2>/dev/null || true
	for _ in $(seq 50); do rmdir "$1" 2>/dev/null && break; sleep 0.1; done
}

bench_user_args() {
	if [ $# -ge 1 ]; then
		prefix=$1
		user=${2:?"usage: $0 [PREFIX USER]"}
	else
		prefix=$work/prefix
		user="rlbpf-t1"
		make -C "$repo" --no-print-directory install PREFIX="$prefix" >/dev/null
		"$repo/tools/testusers.sh" create
	fi
	[ -x "$prefix/bin/rlbpfd" ] || die "no $prefix/bin/rlbpfd"
	uid=$(id -u "$user") gid=$(id -g "$user")
	install -d -m 0700 -o "$user" "$work/run" "$work/data" "$work/home"
	asu=(setpriv --reuid="$uid" --regid="$gid" --init-groups -- env -i HOME="$work/home"
		PATH="$prefix/bin:/usr/bin:/bin" XDG_RUNTIME_DIR="$work/run" XDG_DATA_HOME="$work/data")

	cat >"$work/stats.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5)
s.connect("/run/rlbpf/rlbpfd.sock")
s.sendall(struct.pack("<IHHII", 0x50424c52, 1, 3, 72, 1) + sys.argv[1].encode().ljust(72, b"\0"))
b = b""
while len(b) < 16 or len(b) < 16 + struct.unpack("<I", b[8:12])[0]:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("stats: the agent closed the connection")
    b += chunk
if struct.unpack("<H", b[6:8])[0] != 0x83:
    sys.exit("stats: " + b[32:].split(b"\0")[0].decode())
print(struct.unpack("<Q", b[16 + 240:16 + 248])[0])  # rss_peak_bytes
PY
	chmod 644 "$work/stats.py"
	cat >"$work/incg" <<'SH'
#!/bin/sh
echo $$ >"$1/cgroup.procs" || exit 125
shift
exec "$@"
SH
	chmod 755 "$work/incg"
}
