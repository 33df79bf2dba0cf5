#!/bin/bash
# OCI runtime conformance: runs the validation programs of opencontainers/
# runtime-tools (validation/*/*.t, shipped with their Go dependencies in
# ../shared/conformance/) against a runtime under test and against a
# reference runtime, program by program in the same run, and prints the two
# sets of counts side by side. The suite's figures depend on the host (kernel,
# cgroup layout), so only a reference measured in the same run compares.
# It reports; it does not judge: it exits 0 when the suite ran, whatever it
# found, and non-zero only when it could not run.
#
# Usage: tools/oci_conformance.sh [-j] RUNTIME [REFERENCE]     (as root)
#   RUNTIME    the runtime under test: a path, or a command in PATH
#   REFERENCE  the runtime to compare with (default: runc)
#   -j         JSON lines instead of the table: one object per program,
#              then one with the totals
# Environment:
#   OCI_CONFORMANCE_FILTER   a shell glob on the program's path, e.g.
#                            'validation/linux_cgroups_*' (default: all 58)
#   OCI_CONFORMANCE_TIMEOUT  seconds a program may run (default 120); one that
#                            runs over counts as one `not ok`
#   OCI_CONFORMANCE_TARBALL  the suite (default ../shared/conformance/
#                            runtime-tools-408c51e.tar.gz next to the repo)
#
# Needs Debian's golang-go (Go 1.19) to build the suite, once: the build is
# kept in build/conformance/runtime-tools/ and redone only when the tarball is
# newer than build/conformance/.built. Each program's TAP output goes to
# build/conformance/out/<runtime's basename>/<program>.tap (its stderr next to
# it as .stderr), so a failure can be read there.
#
# Counting: Perl's prove cannot parse the YAML blocks these programs print, so
# the raw `ok` / `not ok` lines at the start of a line are counted, and those
# with `# SKIP` are counted apart as skipped (as for the reference figures in
# ../shared/conformance/README.md). A program that times out counts as one
# `not ok` named after it (written to its .tap too). One that exits non-zero
# is not counted (most such exits are a container the runtime would not
# create: the program then prints no test), but it is named in its row and
# in a line under the totals, since it can hide hundreds of tests.
set -euo pipefail
export LC_ALL=C

me=tools/oci_conformance.sh
repo=$(cd "$(dirname "$0")/.." && pwd)
die() {
	echo "$me: $*" >&2
	exit 1
}
usage() {
	echo "usage: $me [-j] RUNTIME [REFERENCE]   (as root; REFERENCE defaults to runc)" >&2
	exit 2
}

json=0
while getopts j opt; do
	case $opt in
	j) json=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 && $# -le 2 ]] || usage

filter=${OCI_CONFORMANCE_FILTER:-*}
limit=${OCI_CONFORMANCE_TIMEOUT:-120}
tarball=${OCI_CONFORMANCE_TARBALL:-$repo/../shared/conformance/runtime-tools-408c51e.tar.gz}
[[ "$limit" =~ ^[1-9][0-9]*$ ]] || die "OCI_CONFORMANCE_TIMEOUT must be a whole number of seconds, not '$limit'"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $me ...): the suite creates containers with namespaces, cgroups and devices"
command -v go >/dev/null || die "needs Go 1.19 to build the suite: run 'apt-get install golang-go'"
[ -f "$tarball" ] || die "no suite at $tarball; set OCI_CONFORMANCE_TARBALL to runtime-tools-408c51e.tar.gz"

# The programs find the runtime with exec.LookPath from the suite's
# directory, so a relative path must be made absolute first.
resolve() {
	local p
	if [[ "$1" == */* ]]; then
		[[ -f "$1" && -x "$1" ]] || die "runtime '$1' is not an executable file"
		p=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	else
		p=$(command -v "$1") || die "runtime '$1' is not in PATH; give its path"
	fi
	echo "$p"
}
rt_path=$(resolve "$1")
ref_path=$(resolve "${2:-runc}")
rt_name=$(basename "$rt_path")
ref_name=$(basename "$ref_path")
# Both runs must keep their own output, even when a runtime is compared
# with itself.
[ "$ref_name" != "$rt_name" ] || ref_name=$ref_name-reference

cache=$repo/build/conformance
src=$cache/runtime-tools
stamp=$cache/.built
mkdir -p "$cache"
# Two runs at once would share the build and the suite's fixed cgroup paths
# (/cgrouptest), and spoil each other's counts.
exec 9>"$cache/.lock"
flock -n 9 || die "another $me is running (it holds $cache/.lock); wait for it to end"

if [ ! -e "$stamp" ] || [ "$tarball" -nt "$stamp" ] || [ ! -x "$src/runtimetest" ]; then
	echo "$me: building the suite in build/conformance/ (a minute or two, once)" >&2
	rm -f "$stamp"
	rm -rf --one-file-system "$src"
	tar -xzf "$tarball" -C "$cache"
	[ -f "$src/Makefile" ] || die "$tarball does not hold runtime-tools/; give the runtime-tools tarball"
	# Offline, from the vendored modules. -buildvcs=false and COMMIT: the
	# tree sits inside rlbpf's git work tree, whose commit is not the suite's.
	if ! (cd "$src" && env GOFLAGS="-mod=vendor -buildvcs=false" GOPROXY=off \
		GOCACHE="$src/.gocache" HOME="$src" \
		make -j"$(nproc)" COMMIT=408c51e runtimetest validation-executables) >"$cache/build.log" 2>&1; then
		die "building the suite failed; see build/conformance/build.log"
	fi
	touch "$stamp"
fi
rootfs=rootfs-$(go env GOARCH).tar.gz
[ -f "$src/$rootfs" ] || die "the suite has no $rootfs for this architecture; it runs on amd64 and 386 only"

programs=()
for p in "$src"/validation/*/*.t; do
	p=${p#"$src"/}
	# shellcheck disable=SC2053 # the filter is a glob
	[[ $p == $filter ]] && programs+=("$p")
done
[ ${#programs[@]} -gt 0 ] || die "OCI_CONFORMANCE_FILTER '$filter' matches none of validation/*/*.t; try 'validation/create/*'"
mkdir -p "$cache/out/$rt_name" "$cache/out/$ref_name"

# The programs make their bundles with os.MkdirTemp, so a TMPDIR of our own
# holds every bundle of the run and nothing else. Under /tmp, as in the
# reference run, since the tests look at mounts and propagation.
tmp=$(mktemp -d /tmp/oci-conformance.XXXXXX)
chmod 755 "$tmp"

# Containers that a run leaves behind: the suite names every one with a
# UUID, so only new ids of that form are taken for ours.
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
list_ids() {
	{ "$1" list -q 2>/dev/null || true; } | grep -E "$uuid_re" | sort || true
}
# Cgroups that the suite names (cgroups.AbsCgroupPath and RelCgroupPath,
# the latter under the runtime's own cgroup, at any depth).
list_cgroups() {
	find /sys/fs/cgroup -mindepth 1 -maxdepth 10 -type d \( -name cgrouptest -o -name testdir -o -path '*/testdir/cgrouptest/container' \) 2>/dev/null | sort || true
}
cgroups_before=$(list_cgroups)

cur_pid="" cur_rt="" cur_ids="" cur_err=/dev/null
# tidy: what the program that just ended (or was stopped) left behind.
tidy() {
	local id cg mnt
	for id in $(comm -13 <(echo "$cur_ids") <(list_ids "$cur_rt")); do
		"$cur_rt" kill "$id" KILL >/dev/null 2>&1 || true
		"$cur_rt" delete --force "$id" >/dev/null 2>&1 || true
		echo "# $me: deleted leftover container $id" >>"$cur_err"
	done
	# Deepest first; rmdir leaves a cgroup that still has processes.
	for cg in $(comm -13 <(echo "$cgroups_before") <(list_cgroups) | sort -r); do
		rmdir "$cg" 2>/dev/null && echo "# $me: removed leftover cgroup $cg" >>"$cur_err"
	done
	# A container with shared root propagation leaves its /proc, /sys and
	# /dev mounted on the host, over its bundle in our TMPDIR.
	for mnt in $(findmnt -rn -o TARGET | awk -v p="$tmp/" 'index($0, p) == 1' | sort -r); do
		umount -l "$mnt" 2>/dev/null && echo "# $me: unmounted leftover $mnt" >>"$cur_err"
	done
	# --one-file-system: whatever could not be unmounted is left, not emptied.
	find "$tmp" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} + 2>/dev/null || true
	cur_rt=""
}
cleanup() {
	set +e
	if [ -n "$cur_pid" ]; then
		kill -TERM "$cur_pid" 2>/dev/null
		wait "$cur_pid" 2>/dev/null
	fi
	[ -z "$cur_rt" ] || tidy
	rmdir "$tmp" 2>/dev/null || echo "$me: left $tmp: something in it is still mounted or in use" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# run_one NAME RUNTIME PROGRAM: runs PROGRAM against RUNTIME, writes its TAP
# to out/NAME/, and sets counts to "OK NOTOK SKIPPED STATUS".
counts=""
run_one() {
	local name=$1 rt=$2 prog=$3 base rc=0 status=ran tap
	base=$(basename "$prog" .t)
	tap=$cache/out/$name/$base.tap
	cur_err=$cache/out/$name/$base.stderr
	cur_ids=$(list_ids "$rt")
	cur_rt=$rt
	# In the background, so that a signal to this script is handled at once
	# (timeout runs the program in a process group of its own, out of the
	# terminal's reach).
	(cd "$src" && exec env TMPDIR="$tmp" RUNTIME="$rt" timeout -k 5 "$limit" "./$prog") \
		</dev/null >"$tap" 2>"$cur_err" &
	cur_pid=$!
	wait "$cur_pid" || rc=$?
	cur_pid=""
	tidy
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		status=timeout
		echo "not ok - $prog timed out after $limit s" >>"$tap"
	elif [ "$rc" -ne 0 ]; then
		status="exit $rc"
		echo "# $me: $prog exited with status $rc" >>"$tap"
	fi
	[ -s "$cur_err" ] || rm -f "$cur_err"
	counts=$(awk -v st="$status" '
		/^(not )?ok([ \t]|$)/ {
			if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) s++
			else if ($0 ~ /^not ok/) n++
			else o++
		}
		END { printf "%d %d %d %s", o, n, s, st }' "$tap")
}

jstr() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}
jcounts() { # NAME OK NOTOK SKIPPED [STATUS]
	printf '{"name":%s,"ok":%d,"not_ok":%d,"skipped":%d' "$(jstr "$1")" "$2" "$3" "$4"
	[ -z "${5:-}" ] || printf ',"status":%s' "$(jstr "$5")"
	printf '}'
}

row() { printf '%-32s %6s %6s %6s   %6s %6s %6s%s\n' "${@:1:7}" "${8:+  $8}"; }
if [ "$json" -eq 0 ]; then
	printf '%-32s %-22s   %s\n' "" "$rt_name" "$ref_name"
	row program ok "not ok" skip ok "not ok" skip ""
fi
t_ok=0 t_nok=0 t_skip=0 r_ok=0 r_nok=0 r_skip=0
t_bad=() r_bad=() # programs that timed out or exited non-zero
for prog in "${programs[@]}"; do
	run_one "$rt_name" "$rt_path" "$prog"
	read -r a_ok a_nok a_skip a_st <<<"$counts"
	run_one "$ref_name" "$ref_path" "$prog"
	read -r b_ok b_nok b_skip b_st <<<"$counts"
	t_ok=$((t_ok + a_ok)) t_nok=$((t_nok + a_nok)) t_skip=$((t_skip + a_skip))
	r_ok=$((r_ok + b_ok)) r_nok=$((r_nok + b_nok)) r_skip=$((r_skip + b_skip))
	short=$(basename "$prog" .t)
	[ "$a_st" = ran ] || t_bad+=("$short")
	[ "$b_st" = ran ] || r_bad+=("$short")
	if [ "$json" -eq 1 ]; then
		printf '{"program":%s,"name":%s,"runtime":%s,"reference":%s}\n' "$(jstr "$prog")" "$(jstr "$short")" \
			"$(jcounts "$rt_name" "$a_ok" "$a_nok" "$a_skip" "$a_st")" \
			"$(jcounts "$ref_name" "$b_ok" "$b_nok" "$b_skip" "$b_st")"
	else
		note=""
		[ "$a_st" = ran ] || note="$rt_name: $a_st"
		[ "$b_st" = ran ] || note="${note:+$note, }$ref_name: $b_st"
		row "$short" "$a_ok" "$a_nok" "$a_skip" "$b_ok" "$b_nok" "$b_skip" "$note"
	fi
done
if [ "$json" -eq 1 ]; then
	printf '{"totals":{"programs":%d,"runtime":%s,"reference":%s}}\n' "${#programs[@]}" \
		"$(jcounts "$rt_name" "$t_ok" "$t_nok" "$t_skip")" "$(jcounts "$ref_name" "$r_ok" "$r_nok" "$r_skip")"
else
	printf '%s: %d ok, %d not ok, %d skipped   %s: %d ok, %d not ok, %d skipped\n' \
		"$rt_name" "$t_ok" "$t_nok" "$t_skip" "$ref_name" "$r_ok" "$r_nok" "$r_skip"
	echo "did not end normally: $rt_name ${#t_bad[@]}${t_bad[*]:+ (${t_bad[*]})}; $ref_name ${#r_bad[@]}${r_bad[*]:+ (${r_bad[*]})}"
	echo "TAP output: build/conformance/out/$rt_name/ and build/conformance/out/$ref_name/"
fi
