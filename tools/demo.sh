#!/bin/bash
# make demo: rlbpf's main job, end to end. As root it runs the containers as
# the unprivileged user rlbpf-t1 (made by tools/testusers.sh, with
# subordinate ranges) and also shows what the agent side probes; as any other
# user it runs them as that user.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/rlbpf-demo.XXXXXX)
chmod 755 "$tmp"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then
	user=rlbpf-t1
	"$repo/tools/testusers.sh" create
	make -C "$repo" --no-print-directory install PREFIX="$tmp/prefix" >/dev/null
	rlbpf=$tmp/prefix/bin/rlbpf
	install -d -m 0700 -o "$user" "$tmp/home"
	as_user() {
		runuser -u "$user" -- env -i HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/home" \
			TERM="${TERM:-dumb}" PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
	}
else
	user=$(id -un)
	rlbpf=$repo/build/bin/rlbpf
	as_user() { "$@"; }
fi
agent_pid=""
agent_mounted=()
# A background job of a script ignores SIGINT, and runuser does not pass
# SIGTERM on: end the user's trace itself.
stop_trace() {
	pkill -TERM -u "$user" -f "$rlbpf trace" 2>/dev/null || true
	wait "$trace_pid" 2>/dev/null || true
}
finish() {
	pkill -KILL -u "$user" -x sleep 2>/dev/null || true
	if [ -n "$agent_pid" ]; then
		kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
		"$tmp/prefix/bin/rlbpfd" --unload >/dev/null 2>&1 || true
		for m in "${agent_mounted[@]}"; do
			mountpoint -q "$m" && umount "$m"
		done
	fi
	rm -rf --one-file-system "$tmp"
}
trap finish EXIT

step "rootless prerequisites for $user"
show "rlbpf setup"
as_user "$rlbpf" setup || true

step "a container as $user: root inside, $user outside"
show "rlbpf run --rm busybox sh -c 'id; hostname; ps -o pid,user,args'"
as_user "$rlbpf" run --rm busybox sh -c 'id; hostname; ps -o pid,user,args'

step "uid translation: container root is $user on the host"
show "rlbpf run --rm busybox sleep 5 &   then on the host: ps -o user,pid,args -C sleep"
as_user "$rlbpf" run --rm busybox sleep 5 &
for _ in $(seq 50); do pgrep -u "$user" -x sleep >/dev/null && break; sleep 0.1; done
ps -o user,pid,args -p "$(pgrep -u "$user" -x sleep | head -n 1)"
pkill -TERM -u "$user" -x rlbpf || true
wait || true

step "a file made by container uid 1000 belongs to subuid-start+999 on the host"
install -d -m 0777 -o "$user" "$tmp/vol"
show "rlbpf run --rm -u 1000 -v $tmp/vol:/data busybox touch /data/by-uid-1000"
as_user "$rlbpf" run --rm -u 1000 -v "$tmp/vol:/data" busybox touch /data/by-uid-1000
show "stat -c '%u %n' $tmp/vol/by-uid-1000    ($(grep "^$user:" /etc/subuid | head -n 1))"
stat -c '%u %n' "$tmp/vol/by-uid-1000"
rm -f "$tmp/vol/by-uid-1000" 2>/dev/null || true

step "the host stays out of reach: container root cannot delete a host file"
show "rlbpf run --rm -v /:/host busybox rm /host/usr/bin/sh"
as_user "$rlbpf" run --rm -v /:/host busybox rm /host/usr/bin/sh || echo "(exit $?; /usr/bin/sh is still there: $(ls /usr/bin/sh))"

step "exit codes as Docker"
for cmd in true false nosuchcmd /etc/passwd; do
	set +e
	as_user "$rlbpf" run --rm busybox $cmd 2>/dev/null
	printf '%-14s -> exit %d\n' "$cmd" $?
	set -e
done

step "what this host lets rlbpf do, and what it cannot keep"
show "rlbpf info"
as_user "$rlbpf" info
if [ "$(id -u)" -eq 0 ]; then
	step "the agent side: BPF features of this kernel"
	show "rlbpfd --probe"
	"$tmp/prefix/bin/rlbpfd" --probe

	# The agent, as an administrator would run it, and the uid translations of
	# a real container as its owner sees them through `rlbpf trace`.
	if [ -S /run/rlbpf/rlbpfd.sock ]; then
		echo "(an rlbpfd already runs here: the trace step uses it)"
	else
		for m in /sys/fs/bpf /sys/kernel/tracing /run/rlbpf/cgroup2; do
			mountpoint -q "$m" 2>/dev/null || agent_mounted+=("$m")
		done
		setsid "$tmp/prefix/bin/rlbpfd" --foreground >"$tmp/agent.log" 2>&1 </dev/null &
		agent_pid=$!
		for _ in $(seq 100); do grep -q '^rlbpfd: serving' "$tmp/agent.log" && break; sleep 0.1; done
	fi
	step "rlbpf trace: what container uids really are on the host"
	show "rlbpf trace --events exec,setuid,exit &   rlbpf run --rm busybox sh -c 'sleep 1; su -s /bin/sh nobody -c id'"
	as_user "$rlbpf" trace --events exec,setuid,exit >"$tmp/trace.out" 2>&1 &
	trace_pid=$!
	sleep 1
	# The pause lets `run` register the container before the su happens.
	as_user "$rlbpf" run --rm --network none busybox sh -c 'sleep 1; su -s /bin/sh nobody -c id'

	sleep 1
	stop_trace
	cat "$tmp/trace.out"

	step "--memory on cgroup v1: a shell that forks while holding 20 MB fits in 64m, as the kernel counts it"
	show "rlbpf run --rm --memory 64m busybox sh -c 'x=\$(head -c 20000000 /dev/zero | tr \"\\0\" a); for i in 1 2 3; do ( sleep 2; true ) & done; wait; echo survived'"
	as_user "$rlbpf" run --rm --network none --memory 64m busybox sh -c \
		'x=$(head -c 20000000 /dev/zero | tr "\0" a); for i in 1 2 3; do ( sleep 2; true ) & done; wait; echo survived'

	step "--memory on cgroup v1: the hog dies at its cap, by the kernel's OOM killer in rlbpfd's cgroup"
	show "rlbpf trace --events mem,oom &   rlbpf run -d --name hog --memory 32m busybox hog -r 500000 -n 20 -p 50"
	as_user "$rlbpf" trace --events mem,oom >"$tmp/trace-mem.out" 2>&1 &
	trace_pid=$!
	sleep 1
	as_user "$rlbpf" run -d --name hog --network none --memory 32m busybox hog -r 500000 -n 20 -p 50 >/dev/null
	for _ in $(seq 100); do
		[ "$(as_user "$rlbpf" inspect -f '{{.State.Status}}' hog)" = exited ] && break
		sleep 0.1
	done
	sleep 0.5
	stop_trace
	show "rlbpf logs hog | tail -n 2"
	as_user "$rlbpf" logs hog | tail -n 2
	show "rlbpf inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.Rlbpf.Enforcement.Memory}}' hog"
	as_user "$rlbpf" inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.Rlbpf.Enforcement.Memory}}' hog
	cat "$tmp/trace-mem.out"
	as_user "$rlbpf" rm hog >/dev/null
fi