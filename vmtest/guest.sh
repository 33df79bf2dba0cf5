#!/bin/bash
# vmtest stage 2: PID 1 in the guest, run by the host's own bash from the
# shared (read-only, tmpfs-overlaid) root after vmtest/init.sh switched to it.
#
# Sets up what systemd would on a Debian host (the API filesystems, the
# cgroup layout of this cell, loopback), records `rlbpfd --probe`, runs the
# integration suite as root (it runs the containers as its unprivileged test
# users), writes the results to /vmtest-out and powers the VM off.
# From the kernel command line (see vmtest/run.sh):
#   VMTEST_REPO    the repository (same path as on the host)
#   VMTEST_PREFIX  the install of rlbpf to test (made on the host)
#   VMTEST_CGROUP  v1 (hybrid: v1 controllers + cgroup2 at
#                  /sys/fs/cgroup/unified, as systemd's legacy mode) | v2
#   VMTEST_ACCEL   kvm | tcg (QEMU's; under tcg the suite runs with
#                  T_EMULATED=1)
#   VMTEST_MODE    test | shell (a login shell on the serial console)
#   VMTEST_KDIR    build/vmtest/kernels/RELEASE (its lib/modules)
#   VMTEST_FILTER  optional case filter for tests/integration/run.sh
#                  (comma-separated); instead of VMTEST_SUITE's cases
#   VMTEST_SUITE   matrix (the cases in vmtest/matrix.cases) | full (every
#                  case, the userspace-only ones too)
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=linux
out=/vmtest-out
repo=${VMTEST_REPO:?}
prefix=${VMTEST_PREFIX:-}
layout=${VMTEST_CGROUP:-v2}
mode=${VMTEST_MODE:-test}

say() { echo "vmtest guest: $*"; }

poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}

# Whatever happens, the VM ends; the host's timeout is the last resort.
trap poweroff_now EXIT

must_mount() {
	local type=$1 src=$2 dir=$3 opts=$4
	mkdir -p "$dir"
	mount -t "$type" -o "$opts" "$src" "$dir" || {
		say "FAILED: mount -t $type -o $opts $src $dir" | tee -a "$out/setup-errors"
		return 1
	}
}

# ---- the API filesystems (/proc, /sys, /dev came from stage 1)
must_mount devpts devpts /dev/pts gid=5,mode=620,ptmxmode=666,nosuid,noexec
must_mount tmpfs shm /dev/shm mode=1777,nosuid,nodev
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
# The tree under test (with the build, kernels and prefix in it) may live
# under /tmp or /run, a CI clone say, which get fresh tmpfs mounts here:
# keep it visible at its own path.
kept=""
case $repo in
/tmp/* | /run/*)
	mkdir -p /vmtest-repo && mount --bind "$repo" /vmtest-repo && kept=1 ||
		say "cannot keep $repo visible" | tee -a "$out/setup-errors"
	;;
esac
must_mount tmpfs run /run mode=0755,nosuid,nodev
# /tmp is the cell's scratch disk where vmtest/run.sh gave one, as on a
# host: a file there is page cache, which a memory cgroup reclaims, where
# a tmpfs's pages are shmem (and the guest's RAM).
if [ -b /dev/vda ] && must_mount ext4 /dev/vda /tmp nosuid,nodev; then
	chmod 1777 /tmp
else
	must_mount tmpfs tmp /tmp mode=1777,nosuid,nodev
fi
if [ -n "$kept" ]; then
	mkdir -p "$repo" && mount --bind /vmtest-repo "$repo" ||
		say "cannot mount $repo again" | tee -a "$out/setup-errors"
fi
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
must_mount bpf bpf /sys/fs/bpf mode=0700,nosuid,nodev,noexec
mkdir -p /run/lock /var/tmp

# This kernel's modules (the host's /lib/modules has only the host's), so
# that modprobe and the kernel's on-demand loading find them.
rel=$(uname -r)
if [ -n "${VMTEST_KDIR:-}" ] && [ -d "$VMTEST_KDIR/lib/modules/$rel" ]; then
	mkdir -p "/lib/modules/$rel"
	mount --bind "$VMTEST_KDIR/lib/modules/$rel" "/lib/modules/$rel" ||
		say "cannot mount the modules of $rel; on-demand module loading will fail"
fi
# The static nodes systemd-tmpfiles makes from `kmod static-nodes`
# (/dev/net/tun, /dev/fuse, ...); opening one loads its module.
kmod static-nodes --format=tmpfiles 2>/dev/null |
	while read -r type path mode _ _ _ arg; do
		[ -e "$path" ] && continue
		# Its directories (d /dev/net, on kernels where no node in it
		# exists yet) come from the mkdir below.
		[ "$type" = d ] && continue
		mkdir -p "${path%/*}"
		mknod -m "$mode" "$path" "${type%!}" "${arg%%:*}" "${arg##*:}" || say "cannot make $path"
	done
# udev's rule on Debian: anyone may mount FUSE (fuse-overlayfs, where the
# kernel's overlayfs refuses a user namespace)
[ -c /dev/fuse ] && chmod 0666 /dev/fuse

# ---- the cgroup layout of this cell, as systemd would mount it
case $layout in
v1)
	must_mount tmpfs cgroup /sys/fs/cgroup mode=0755,nosuid,nodev,noexec
	# cgroup2 first: systemd's hybrid mode keeps its own tree there.
	must_mount cgroup2 cgroup2 /sys/fs/cgroup/unified nsdelegate,nosuid,nodev,noexec
	must_mount cgroup systemd /sys/fs/cgroup/systemd none,name=systemd,nosuid,nodev,noexec
	# Every controller the kernel has, co-mounted as systemd does.
	ctrls=$(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups)
	for group in cpu,cpuacct net_cls,net_prio $ctrls; do
		case $group in
		cpu | cpuacct | net_cls | net_prio) continue ;;
		esac
		# Only the controllers this kernel has.
		want=""
		for c in ${group//,/ }; do
			grep -qw "$c" <<<"$ctrls" && want=$want${want:+,}$c
		done
		[ -n "$want" ] || continue
		mkdir -p "/sys/fs/cgroup/$want"
		# Listed in /proc/cgroups yet not mountable as v1: 6.12 as Debian
		# builds it has no CONFIG_MEMCG_V1 nor CONFIG_CPUSETS_V1. A hybrid
		# host with that kernel lacks them too; noted, not an error.
		if ! mount -t cgroup -o "$want,nosuid,nodev,noexec" cgroup "/sys/fs/cgroup/$want" 2>/dev/null; then
			rmdir "/sys/fs/cgroup/$want"
			v1_missing="${v1_missing:-}${v1_missing:+ }$want"
			continue
		fi
		if [ "$want" != "${want%%,*}" ]; then
			for c in ${want//,/ }; do ln -sfn "$want" "/sys/fs/cgroup/$c"; done
		fi
	done
	;;
v2)
	must_mount cgroup2 cgroup2 /sys/fs/cgroup nsdelegate,nosuid,nodev,noexec
	# systemd enables the controllers in the root's subtree_control.
	for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
	done
	;;
*)
	say "FAILED: unknown VMTEST_CGROUP '$layout'" | tee -a "$out/setup-errors"
	;;
esac

hostname "vmtest-$layout" 2>/dev/null || true
ip link set lo up 2>/dev/null || say "cannot bring up lo"

{
	echo "kernel=$(uname -r)"
	echo "cgroup=$layout"
	echo "cgroup_fs=$(stat -f -c %T /sys/fs/cgroup)"
	echo "unified_fs=$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || echo none)"
	echo "tmp_fs=$(stat -f -c %T /tmp)"
	echo "v1_missing=${v1_missing:-}"
} >"$out/guest.env"
say "kernel $(uname -r), cgroup layout $layout ($(stat -f -c %T /sys/fs/cgroup) at /sys/fs/cgroup)"

if [ "$mode" = shell ]; then
	say "shell: the suite is in $repo/tests/integration/run.sh; RLBPF_TEST_PREFIX=$prefix; exit powers off"
	cd "$repo" || true
	export RLBPF_TEST_PREFIX=$prefix
	# A controlling terminal, so that ^C and job control work.
	setsid --ctty --wait bash -l <>/dev/ttyS0 >&0 2>&1
	exit 0
fi

# ---- the agent's view of this kernel
say "rlbpfd --probe"
"$prefix/bin/rlbpfd" --probe >"$out/probe.txt" 2>&1
echo $? >"$out/probe.rc"
cat "$out/probe.txt"
# The whole object, as the agent loads it: the verifier's log when this
# kernel refuses a program (the suite only sees the agent's last lines).
"$prefix/bin/rlbpfd" --list >"$out/list.txt" 2>&1 || say "rlbpfd --list failed: see list.txt"

# ---- the suite. Its output goes both to the console (the serial log) and
# to suite.log, which the host parses. Run as a child so that this PID 1
# stays free to reap the orphans the cases leave to it.
filters=()
vm_cell=1
# full: the userspace-only cases too, of the filter's cases or of all
[ "${VMTEST_SUITE:-matrix}" = full ] && vm_cell=""
if [ -n "${VMTEST_FILTER:-}" ]; then
	IFS=, read -r -a filters <<<"$VMTEST_FILTER"
elif [ "${VMTEST_SUITE:-matrix}" = full ]; then
	:
else
	mapfile -t filters < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$repo/vmtest/matrix.cases")
	[ ${#filters[@]} -gt 0 ] || say "FAILED: no case in vmtest/matrix.cases" | tee -a "$out/setup-errors"
fi
cd "$repo" || exit 1
start=$(date +%s)
head -n1 /proc/stat >"$out/stat.before"
emulated=""
[ "${VMTEST_ACCEL:-}" = tcg ] && emulated=1
(T_VM_CELL=$vm_cell T_EMULATED=$emulated RLBPF_TEST_PREFIX=$prefix tests/integration/run.sh "${filters[@]}" 2>&1 </dev/null |
	tee "$out/suite.log"
	exit "${PIPESTATUS[0]}") &
wait $!
rc=$?
echo "$rc" >"$out/suite.rc"
head -n1 /proc/stat >"$out/stat.after"
echo $(($(date +%s) - start)) >"$out/suite.seconds"
say "suite exited with status $rc after $(cat "$out/suite.seconds")s"
