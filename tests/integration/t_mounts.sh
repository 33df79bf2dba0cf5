# shellcheck shell=bash
# The container's filesystem through the fallbacks kernels before 5.11 and
# 5.12 need: fuse-overlayfs for the root (RLBPF_OVERLAY=fuse takes it here
# too), and remounts where mount_setattr(2) is missing (strace makes the
# call fail with ENOSYS, as on those kernels).

_need_fuse_overlayfs() {
	command -v fuse-overlayfs >/dev/null || skip "fuse-overlayfs is not installed (tools/deps.sh test installs it)"
	[ -c /dev/fuse ] || skip "no /dev/fuse on this host"
	[ "$(stat -c %a /dev/fuse)" = 666 ] || skip "/dev/fuse is not usable by users here (mode $(stat -c %a /dev/fuse), not 666)"
}

# run_fuse USER ARGS...: rlbpf run with fuse-overlayfs as the root.
run_fuse() {
	local user=$1
	shift
	capture as_user "$user" RLBPF_OVERLAY=fuse "$RLBPF" run "$@"
}

# run_without_mount_setattr USER ARGS...: rlbpf run where mount_setattr(2)
# fails with ENOSYS, as on kernels before 5.12.
run_without_mount_setattr() {
	local user=$1
	shift
	command -v strace >/dev/null || skip "strace is not installed (tools/deps.sh test installs it)"
	capture strace -f -qq -o /dev/null -e trace=mount_setattr -e inject=mount_setattr:error=ENOSYS \
		setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups \
		env HOME="$T_TMP/home/$user" XDG_RUNTIME_DIR="$(user_runtime_dir "$user")" \
		XDG_DATA_HOME="$(user_data_dir "$user")" ${RLBPF_OVERLAY:+RLBPF_OVERLAY=$RLBPF_OVERLAY} \
		"$RLBPF" run "$@"
}

test_fuse_overlay_root_takes_writes_and_leaves_the_image() {
	_need_fuse_overlayfs
	local before
	before=$(snapshot "$T1")
	run_fuse "$T1" --rm busybox sh -c 'echo written >/etc/marker && cat /etc/marker && grep " / " /proc/mounts'
	assert_eq 0 "$RC" "exit status of a write to /etc on fuse-overlayfs (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^written$' "the file written in the container, read back"
	assert_match "$OUT" ' / fuse\.fuse-overlayfs ' "the container's root in /proc/mounts"
	run_fuse "$T1" --rm busybox cat /etc/marker
	assert_ne 0 "$RC" "exit status of reading the first container's file in a second one"
	assert_contains "$ERR" "No such file" "stderr of reading the first container's file in a second one"
	assert_nothing_left "$T1" "$before" "after two --rm runs on fuse-overlayfs"
}

test_fuse_overlay_keeps_ownership_and_state() {
	_need_fuse_overlayfs
	# Another user of the container's than root writes, and owns what it writes.
	run_fuse "$T1" --rm -u 1000 busybox sh -c 'echo x >/tmp/mine && stat -c %u /tmp/mine'
	assert_eq 0 "$RC" "exit status of a write as uid 1000 (stderr $(_show "$ERR"))"
	assert_eq 1000 "$OUT" "owner of uid 1000's file on fuse-overlayfs"
	local before dir
	before=$(state_dirs "$T1")
	run_fuse "$T1" --name fuse-keep busybox sh -c 'echo kept >/kept'
	assert_eq 0 "$RC" "exit status of a run without --rm (stderr $(_show "$ERR"))"
	dir=$(new_state_dir "$T1" "$before")
	assert_true "the write is in the upper layer $dir/upper" test -f "$dir/upper/kept"
	capture as_user "$T1" "$RLBPF" rm fuse-keep
	assert_eq 0 "$RC" "exit status of 'rlbpf rm fuse-keep' (stderr $(_show "$ERR"))"
	assert_eq "$before" "$(state_dirs "$T1")" "state directories after rlbpf rm"
	assert_no_processes "$T1" "after rlbpf rm"
}

test_fuse_overlay_read_only_root_and_volumes() {
	_need_fuse_overlayfs
	local dir
	dir=$(scratch_dir fuse-read-only "$T1" 0777)
	run_fuse "$T1" --rm --read-only -v "$dir:/data" busybox sh -c 'touch /data/written; touch /x'
	assert_ne 0 "$RC" "exit status of 'touch /x' with --read-only on fuse-overlayfs"
	assert_contains "$ERR" "Read-only file system" "stderr of 'touch /x' with --read-only"
	assert_true "the volume took the write" test -f "$dir/written"
	run_fuse "$T1" --rm -v "$dir:/data:ro" busybox touch /data/refused
	assert_contains "$ERR" "Read-only file system" "stderr of a write to a :ro volume"
	assert_false "a :ro volume took no write" test -e "$dir/refused"
	run_fuse "$T1" --rm busybox sh -c 'ls /proc/self/fd >/dev/null && test -c /dev/null && ls /sys/kernel >/dev/null'
	assert_eq 0 "$RC" "/proc, /dev and /sys inside on fuse-overlayfs (stderr $(_show "$ERR"))"
}

test_read_only_volumes_without_mount_setattr() {
	local dir
	dir=$(scratch_dir no-setattr "$T1" 0777)
	mkdir -p "$dir/sub"
	run_without_mount_setattr "$T1" --rm -v "$dir:/data:ro" busybox sh -c \
		'touch /data/refused; touch /data/sub/refused; grep -E " /data | /proc/sys " /proc/self/mountinfo'
	assert_contains "$ERR" "Read-only file system" "stderr of a write to a :ro volume"
	assert_false "a :ro volume took no write" test -e "$dir/refused"
	assert_match "$OUT" ' /data ro,' "the :ro volume in mountinfo"
	assert_match "$OUT" ' /proc/sys ro,' "/proc/sys in mountinfo"
	run_without_mount_setattr "$T1" --rm --read-only busybox touch /x
	assert_contains "$ERR" "Read-only file system" "stderr of 'touch /x' with --read-only"
}

test_network_host_sys_without_mount_setattr() {
	# --network host keeps the host's /sys, made read-only mount by mount;
	# one the user cannot walk to (tracefs below debugfs, mode 0700) is out
	# of the container's reach too, and is left as it is.
	if ! mountpoint -q /sys/kernel/debug; then
		mount -t debugfs debugfs /sys/kernel/debug || skip "cannot mount debugfs on /sys/kernel/debug"
		trap 'umount -R /sys/kernel/debug' EXIT
	fi
	[ "$(stat -c %a /sys/kernel/debug)" = 700 ] || skip "/sys/kernel/debug is not mode 0700 here"
	# the kernel mounts tracefs there on first use: a mount below 0700
	ls /sys/kernel/debug/tracing >/dev/null 2>&1
	mountpoint -q /sys/kernel/debug/tracing || skip "no tracefs below /sys/kernel/debug here"
	run_without_mount_setattr "$T1" --rm --network host busybox sh -c \
		'cat /sys/class/net/lo/operstate; grep " /sys " /proc/self/mountinfo; ls /sys/kernel/debug'
	assert_eq 1 "$RC" "exit status: ls cannot open debugfs (stderr $(_show "$ERR"))"
	assert_contains "$ERR" "Permission denied" "debugfs refused inside as outside"
	assert_match "$OUT" ' /sys ro,' "the host's /sys, read-only"
	assert_match "$OUT" '^unknown$' "lo's state read through it"
}

test_read_only_volume_below_a_volume_without_mount_setattr() {
	# A read-only bind of a tree with a mount in it: each mount below is
	# remounted, keeping the flags the host's mounts lock (nosuid, nodev).
	local out
	run_without_mount_setattr "$T1" --rm -v /dev:/hostdev:ro busybox sh -c \
		'grep -E " /hostdev(/[a-z]+)? " /proc/self/mountinfo'
	assert_eq 0 "$RC" "exit status of a :ro volume with mounts below it (stderr $(_show "$ERR"))"
	# Of mounts stacked on one point only the last is seen.
	out=$(printf '%s\n' "$OUT" | awk '{ro[$5] = substr($6, 1, 2)} END {for (p in ro) print p, ro[p]}')
	assert_match "$out" '^/hostdev ro$' "the :ro volume"
	assert_match "$out" '^/hostdev/(pts|shm|mqueue) ro$' "a mount below the :ro volume"
	assert_not_contains "$out" " rw" "mounts of the :ro volume left writable"
}

test_info_names_the_root_mount() {
	capture as_user "$T1" "$RLBPF" info
	assert_eq 0 "$RC" "exit status of rlbpf info (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^Container Root: (overlayfs|fuse-overlayfs|none) \(' "rlbpf info's container root line"
	if command -v fuse-overlayfs >/dev/null && [ "$(stat -c %a /dev/fuse 2>/dev/null)" = 666 ]; then
		capture as_user "$T1" RLBPF_OVERLAY=fuse "$RLBPF" info
		assert_match "$OUT" '^Container Root: fuse-overlayfs \(.*RLBPF_OVERLAY=fuse\)$' \
			"rlbpf info's container root line with RLBPF_OVERLAY=fuse"
	fi
	capture as_user "$T1" "$RLBPF" info --format json
	assert_match "$(printf '%s' "$OUT" | jq -r .overlay.root_mount)" '^(overlayfs|fuse-overlayfs|none)$' \
		"overlay.root_mount in rlbpf info --format json"
}
