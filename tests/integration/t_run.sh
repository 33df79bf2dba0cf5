# shellcheck shell=bash
# What the issue asks `rlbpf run` to show first: container root is the
# caller, not the host's root.

# /usr/bin/sh on usrmerged Debian (a symlink to dash), else /bin/sh.
_host_sh() {
	if [ -e /usr/bin/sh ] || [ -L /usr/bin/sh ]; then echo /usr/bin/sh; else echo /bin/sh; fi
}

_exists() { [ -e "$1" ] || [ -L "$1" ]; }

test_whoami_is_root_inside() {
	rlbpf_run "$T1" --rm -v /:/host busybox whoami
	assert_eq 0 "$RC" "exit status of 'rlbpf run -v /:/host busybox whoami' (stderr $(_show "$ERR"))"
	assert_eq root "$OUT" "whoami inside the container"
}

test_container_root_cannot_touch_host_files() {
	local victim
	victim=$(_host_sh)
	# Removing it needs write access to its root-owned directory, which the
	# unprivileged test user must not have; were it otherwise, a broken
	# rlbpf could really delete the host's shell.
	if runuser -u "$T1" -- test -w "$(dirname "$victim")"; then
		skip "$T1 can write to $(dirname "$victim") on this host"
	fi
	rlbpf_run "$T1" --rm -v /:/host busybox rm "/host$victim"
	assert_ne 0 "$RC" "exit status of 'rm /host$victim' inside"
	assert_contains "$OUT$ERR" "Permission denied" "output of 'rm /host$victim' inside"
	assert_true "$victim still exists on the host" _exists "$victim"
}

# The host pid of the container's `sleep`, once it runs.
_sleep_pid() { pgrep -u "$T1" -x sleep | head -n 1; }
_sleep_running() { [ -n "$(_sleep_pid)" ]; }
# Stop waiting for the sleep as soon as rlbpf has given up.
_started_or_gone() { _sleep_running || ! kill -0 "$1" 2>/dev/null; }

test_pid1_is_root_inside_and_the_user_outside() {
	command -v nsenter >/dev/null || skip "nsenter (util-linux) is not installed"
	local before pid job rc=0
	before=$(snapshot "$T1")
	# Long enough never to end by itself while we look: the case kills it.
	as_user "$T1" "$RLBPF" run --rm busybox sleep 600 >"$T_CASE_DIR/bg.log" 2>&1 &
	job=$!
	wait_until 600 _started_or_gone "$job"
	if ! _sleep_running; then
		fail "the container's sleep never showed up on the host; rlbpf said: $(_show "$(cat "$T_CASE_DIR/bg.log")")"
		kill_user_procs "$T1"
		wait "$job"
		return
	fi
	pid=$(_sleep_pid)

	assert_eq "$(id -u "$T1")" "$(ps -o uid= -p "$pid" | tr -d ' ')" "host owner (uid) of the container's sleep"

	# Look from inside: join the container's namespaces (as its root) and
	# run its own ps against its own /proc. Joining the mount namespace
	# lands in the container's root; no -r: where that root is
	# fuse-overlayfs, only the container's own user may open it, so the
	# host's root cannot follow /proc/PID/root before joining.
	local inside
	inside=$(nsenter -t "$pid" -U -m -p /bin/sh -c 'ps -o pid,user,args' 2>&1)
	assert_match "$inside" '^ *1 +root +sleep 600 *$' "pid 1 as ps shows it inside the container"

	# SIGKILL from the host (the only signal pid 1 cannot refuse) ends the
	# container; rlbpf reports it as Docker does, 128+9.
	kill -KILL "$pid"
	wait "$job" || rc=$?
	assert_eq 137 "$rc" "exit status of rlbpf when the container's pid 1 is SIGKILLed"
	assert_nothing_left "$T1" "$before" "after the killed --rm container"
}

test_volume_files_belong_to_subordinate_ids() {
	local ustart gstart dir
	ustart=$(subid_start /etc/subuid "$T1")
	gstart=$(subid_start /etc/subgid "$T1")
	if [ -z "$ustart" ] || [ -z "$gstart" ]; then
		fail "$T1 has no range in /etc/subuid or /etc/subgid (tools/testusers.sh create should have given one)"
		return
	fi
	dir=$(scratch_dir volume-owner "$T1" 0777)

	rlbpf_run "$T1" --rm -u 1000 -v "$dir:/data" busybox touch /data/f
	assert_eq 0 "$RC" "exit status of 'rlbpf run -u 1000 -v DIR:/data busybox touch /data/f' (stderr $(_show "$ERR"))"
	assert_eq "$((ustart + 999))" "$(stat -c %u "$dir/f" 2>&1)" "host uid of a file made by container uid 1000 (subuid start $ustart + 999)"

	rlbpf_run "$T1" --rm -u 1000:1000 -v "$dir:/data" busybox touch /data/g
	assert_eq "$((ustart + 999)):$((gstart + 999))" "$(stat -c %u:%g "$dir/g" 2>&1)" "host uid:gid of a file made by container 1000:1000"

	rlbpf_run "$T1" --rm -v "$dir:/data" busybox touch /data/r
	assert_eq "$(id -u "$T1"):$(id -g "$T1")" "$(stat -c %u:%g "$dir/r" 2>&1)" "host uid:gid of a file made by container root"
}

test_rootfs_dir_is_not_modified() {
	local tar=$T_PREFIX/share/rlbpf/busybox.tar rootfs
	[ -r "$tar" ] || { fail "no image at $tar"; return; }
	rootfs=$(scratch_dir rootfs "$T1" 0755)
	# The built-in image is a `docker save` archive with one layer.
	if ! tar -xOf "$tar" --wildcards '*/layer.tar' |
		runuser -u "$T1" -- tar -x -C "$rootfs" --no-same-owner 2>"$T_CASE_DIR/tar.err"; then
		fail "cannot unpack $tar as $T1: $(cat "$T_CASE_DIR/tar.err")"
		return
	fi
	[ -e "$rootfs/bin/ls" ] || [ -L "$rootfs/bin/ls" ] || { fail "the image has no /bin/ls"; return; }

	rlbpf_run "$T1" --rm "$rootfs" sh -c 'echo new > /newfile && rm /bin/ls && echo changed'
	assert_eq 0 "$RC" "exit status of writes to / of a ROOTFS-DIR container (stderr $(_show "$ERR"))"
	assert_eq changed "$OUT" "output of the writes inside"
	assert_false "/newfile appeared in the rootfs on the host" test -e "$rootfs/newfile"
	assert_true "/bin/ls is still in the rootfs on the host" _exists "$rootfs/bin/ls"
}
