#!/bin/bash
# make bench: start-to-exit time of `rlbpf run --rm busybox /bin/true`
# against bubblewrap and rootless runc on the same rootfs, all measured in
# this run as the same unprivileged user, printed as ratios; then TCP
# throughput through a published port (-p) against plain host loopback.
#
# Usage (as root, from the repository): tools/bench.sh
# Environment: BENCH_RUNS (default 200) iterations per command.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-200}
user=rlbpf-t1        # with subordinate ranges: maps written by newuidmap/newgidmap
single_user=rlbpf-t2 # without: a single-id map, as bwrap makes

die() {
	echo "tools/bench.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it measures as the unprivileged user $user (try 'sudo make bench')"
for tool in hyperfine bwrap runc; do
	command -v "$tool" >/dev/null || die "needs $tool (run 'tools/deps.sh bench')"
done

tmp=$(mktemp -d /tmp/rlbpf-bench.XXXXXX)
chmod 755 "$tmp"
cleanup() {
	[ -z "${agent_pid:-}" ] || agent_stop
	pkill -KILL -u "$user" 2>/dev/null || true
	pkill -KILL -u "$single_user" 2>/dev/null || true
	umount "$tmp/run" "$tmp/run2" 2>/dev/null || true
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
# interrupted: cleanup (EXIT) still stops what the bench started
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

make -C "$repo" --no-print-directory install PREFIX="$tmp/prefix" >/dev/null
"$repo/tools/testusers.sh" create
# A login session's runtime directory is a tmpfs (/run/user/UID); give each
# user one, so that container state lives where it would in real use.
home_for() {
	local who=$1 home=$2 run=$3
	install -d -m 0700 -o "$who" "$home"
	install -d "$run"
	mount -t tmpfs -o "mode=0700,uid=$(id -u "$who"),gid=$(id -g "$who"),size=64m" rlbpf-bench "$run"
}
home_for "$user" "$tmp/home" "$tmp/run"
home_for "$single_user" "$tmp/home2" "$tmp/run2"
as_user() {
	runuser -u "$user" -- env -i HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
as_single_user() {
	runuser -u "$single_user" -- env -i HOME="$tmp/home2" XDG_RUNTIME_DIR="$tmp/run2" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
rlbpf=$tmp/prefix/bin/rlbpf

# The busybox image unpacked by rlbpf is the one rootfs all three run.
as_user "$rlbpf" run --rm --network none busybox true
rootfs=$(ls -d "$tmp"/home/.local/share/rlbpf/images/[0-9a-f]*/rootfs | head -n 1)

# Rootless runc needs an OCI bundle: its own rootless spec, our rootfs.
bundle=$tmp/home/bundle
as_user mkdir -p "$bundle"
as_user sh -c "cd '$bundle' && runc spec --rootless"
as_user sed -i -e "s|\"path\": \"rootfs\"|\"path\": \"$rootfs\"|" \
	-e 's|"terminal": true|"terminal": false|' -e 's|"sh"|"/bin/true"|' "$bundle/config.json"

# hyperfine in ten rounds, the commands alternating within each, so that a
# drift in the machine's speed (another job, the clock) weighs on every
# command alike; the times of all rounds are pooled into one CSV with
# hyperfine's own columns (command,mean,stddev,median,...).
# Usage: rounds AS_USER CSV hyperfine's -n NAME CMD pairs...
rounds() {
	local who=$1 out=$2 i per=$(((runs + 9) / 10))
	shift 2
	for i in $(seq 10); do
		"$who" hyperfine -N --style none --warmup 3 --runs "$per" --export-json "$out.$i.json" "$@" \
			>/dev/null 2>&1 || die "hyperfine failed in round $i: $*"
	done
	python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
times = {}
for i in range(1, 11):
    for r in json.load(open(f"{out}.{i}.json"))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
with open(out, "w") as f:
    f.write("command,mean,stddev,median\n")
    for name, t in times.items():
        f.write(f"{name},{statistics.mean(t)},{statistics.stdev(t)},{statistics.median(t)}\n")
PY
}

csv=$tmp/home/times.csv
csv2=$tmp/home2/times.csv
# --network none: bwrap --unshare-all and runc's spec have no network either,
# and slirp4netns (the default when /dev/net/tun is usable) would be measured
# with rlbpf alone.
bwrap_cmd="bwrap --unshare-all --uid 0 --gid 0 --bind $rootfs / --proc /proc --dev /dev /bin/true"
rounds as_user "$csv" \
	-n rlbpf "$rlbpf run --rm --network none busybox /bin/true" \
	-n bwrap "$bwrap_cmd" \
	-n runc "runc --root $tmp/run/runc run --bundle $bundle bench" >/dev/null
# The same pair for a user without subordinate ranges: no setuid helpers.
chmod 755 "$tmp/home" "$tmp/home/.local" "$tmp/home/.local/share" "$tmp/home/.local/share/rlbpf" \
	"$tmp/home/.local/share/rlbpf/images" "$(dirname "$rootfs")"
as_single_user "$rlbpf" run --rm --network none busybox true 2>/dev/null
rounds as_single_user "$csv2" \
	-n rlbpf "$rlbpf run --rm --network none busybox /bin/true" -n bwrap "$bwrap_cmd"

echo
echo "start-to-exit of /bin/true in a busybox container, median of $runs runs (ten alternating rounds):"
awk -F, 'NR > 1 { med[$1] = $4 * 1000 }
	END {
		printf "  %-6s %7.2f ms\n", "rlbpf", med["rlbpf"]
		printf "  %-6s %7.2f ms   rlbpf/bwrap = %.2fx (goal: at most 1.3x)\n", "bwrap", med["bwrap"], med["rlbpf"] / med["bwrap"]
		printf "  %-6s %7.2f ms   rlbpf/runc  = %.2fx\n", "runc", med["runc"], med["rlbpf"] / med["runc"]
	}' "$csv"
echo "the same for a user without subordinate ranges (single-id map, as bwrap makes):"
awk -F, 'NR > 1 { med[$1] = $4 * 1000 }
	END {
		printf "  %-6s %7.2f ms\n", "rlbpf", med["rlbpf"]
		printf "  %-6s %7.2f ms   rlbpf/bwrap = %.2fx\n", "bwrap", med["bwrap"], med["rlbpf"] / med["bwrap"]
	}' "$csv2"

# The user with ranges again, with rlbpfd running: it writes the maps
# (IDMAP), so no setuid newuidmap or newgidmap is forked; the start also
# registers the container with it, as every start does where it runs.
if [ -S /run/rlbpf/rlbpfd.sock ] && pgrep -x rlbpfd >/dev/null; then
	echo "with rlbpfd: not measured: an rlbpfd is already running"
else
	prefix=$tmp/prefix work=$tmp
	. "$repo/tools/bench_agent_ctl.sh"
	agent_start
	csv3=$tmp/home/times3.csv
	rounds as_user "$csv3" \
		-n rlbpf "$rlbpf run --rm --network none busybox /bin/true" -n bwrap "$bwrap_cmd"
	# the user without ranges under the agent too: what registering costs
	csv4=$tmp/home2/times4.csv
	rounds as_single_user "$csv4" \
		-n rlbpf "$rlbpf run --rm --network none busybox /bin/true"
	agent_stop
	echo "the user with ranges, rlbpfd running (maps written by the agent, no setuid helper):"
	awk -F, 'NR > 1 { med[$1] = $4 * 1000 }
		END {
			printf "  %-6s %7.2f ms\n", "rlbpf", med["rlbpf"]
			printf "  %-6s %7.2f ms   rlbpf/bwrap = %.2fx (goal: at most 1.1x)\n", "bwrap", med["bwrap"], med["rlbpf"] / med["bwrap"]
		}' "$csv3"
	awk -F, 'NR > 1 { med[$1] = $4 * 1000 }
		END { printf "  (the user without ranges, rlbpfd running: %.2f ms; the rest is what registering with it costs)\n", med["rlbpf"] }' "$csv4"
fi

# Detached containers: 50 x (run -d, then rm -f), against rootless runc's
# own detached run and delete on the same rootfs; and what each container's
# supervisor keeps resident while it waits.
detached() {
	local n=50 i ids=() t0 t1 t2 rss=0 pid
	t0=$(date +%s%N)
	for i in $(seq $n); do
		ids+=("$(as_user "$rlbpf" run -d --network none busybox sleep 600)")
	done
	t1=$(date +%s%N)
	for i in "${ids[@]}"; do
		pid=$(as_user "$rlbpf" inspect -f '{{.Rlbpf.SupervisorPid}}' "$i")
		rss=$((rss + $(ps -o rss= -p "$pid")))
	done
	t2=$(date +%s%N)
	for i in "${ids[@]}"; do
		as_user "$rlbpf" rm -f "$i" >/dev/null
	done
	local t3
	t3=$(date +%s%N)
	echo "$(((t1 - t0) / n / 1000)) $(((t3 - t2) / n / 1000)) $((rss / n))"
}
runc_detached() {
	local n=50 i t0 t1 t2
	as_user sed -i -e 's|"/bin/true"|"sleep", "600"|' "$bundle/config.json"
	t0=$(date +%s%N)
	for i in $(seq $n); do
		as_user runc --root "$tmp/run/runc" run -d --bundle "$bundle" "c$i" >/dev/null
	done
	t1=$(date +%s%N)
	for i in $(seq $n); do
		as_user runc --root "$tmp/run/runc" delete -f "c$i"
	done
	t2=$(date +%s%N)
	echo "$(((t1 - t0) / n / 1000)) $(((t2 - t1) / n / 1000))"
}
read -r run_us rm_us rss_kib < <(detached)
read -r runc_run_us runc_rm_us < <(runc_detached)
echo "detached containers, mean of 50 (each as one CLI call, as a user would):"
awk -v a="$run_us" -v b="$runc_run_us" -v c="$rm_us" -v d="$runc_rm_us" -v m="$rss_kib" 'BEGIN {
	printf "  run -d  rlbpf %7.2f ms   runc run -d %7.2f ms   ratio %.2fx\n", a / 1000, b / 1000, a / b
	printf "  rm -f   rlbpf %7.2f ms   runc delete %7.2f ms   ratio %.2fx\n", c / 1000, d / 1000, c / d
	printf "  supervisor resident memory per container: %d KiB (goal: under 1024 KiB)\n", m
}'

# TCP throughput through a published port: tcpblast (tools/tcpblast.c, in the
# busybox image) sinks in a detached container published with -p, the host's
# tcpblast sends to it for 5 s; then the same pair on plain host loopback.
# --network none: the port driver (the supervisor, splice) is what is
# measured, not slirp4netns. Median of 3 runs each, in this one run.
blast=$repo/build/bin/tcpblast
[ -x "$blast" ] || die "no $blast; 'make all' builds it"
blast_port=$((30000 + RANDOM % 10000))
host_port=$((blast_port + 1))
id=$(as_user "$rlbpf" run -d --network none -p "127.0.0.1:$blast_port:5001" busybox tcpblast sink 5001)
"$blast" sink "$host_port" &
host_sink=$!
# The container's sink listens a moment after run -d returns: until then the
# supervisor resets connections. Wait for it (bounded).
for _ in $(seq 100); do
	"$blast" send 127.0.0.1 "$blast_port" 1 >/dev/null 2>&1 && break
	sleep 0.1
done
# Alternated, so that whatever else the machine does weighs on both alike.
pub=() lo=()
for i in 1 2 3; do
	pub+=("$("$blast" send 127.0.0.1 "$blast_port" 5 | awk '{ print $3 }')")
	lo+=("$("$blast" send 127.0.0.1 "$host_port" 5 | awk '{ print $3 }')")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
published=$(median "${pub[@]}")
loopback=$(median "${lo[@]}")
kill "$host_sink"
as_user "$rlbpf" rm -f "$id" >/dev/null
iperf=""
if command -v iperf3 >/dev/null; then
	# iperf3's own figure for the same loopback, to show tcpblast is no bottleneck.
	iperf3 -s -1 -p "$host_port" >/dev/null 2>&1 &
	sleep 0.3
	iperf=$(iperf3 -c 127.0.0.1 -p "$host_port" -t 5 -f g 2>/dev/null |
		awk '/receiver/ { print $(NF-2) }')
fi
echo "TCP throughput, median of 3 x 5 s (tcpblast):"
awk -v p="$published" -v l="$loopback" -v i="$iperf" 'BEGIN {
	printf "  published port (-p, supervisor splice)  %6.2f Gbit/s\n", p
	printf "  plain host loopback                     %6.2f Gbit/s   ratio %.0f%% (goal: at least 50%%)\n", l, 100 * p / l
	if (i != "") printf "  (iperf3 on the same loopback            %6.2f Gbit/s)\n", i
}'

# The agent: rlbpfd's overhead on fork+exec and bind loops in a container,
# with and without it, and the highest event rate `rlbpf trace` keeps up with.
"$repo/tools/bench_agent.sh" "$tmp/prefix" "$user"

# Memory caps: how far past a 32 MiB cap a hog gets under rlbpf --memory,
# the kernel's cgroup v1 limit and a 100 ms /proc poller, how soon it dies,
# and what the accounting costs per page fault.
"$repo/tools/bench_mem.sh" "$tmp/prefix" "$user"

# Limits kept by rlbpfd's cgroups: the peak each enforcer reports for the
# hog, a forking shell and Redis against the kernel's own, and what making
# the cgroups adds to a start.
"$repo/tools/bench_limits.sh" "$tmp/prefix" "$user"

# rlbpf-runtime under the engines that drive it, against runc driven the
# same way: rootless podman run --rm, and ctr run --rm as root.
"$repo/tools/bench_oci.sh" "$tmp/prefix" "$user"

# rlbpf pull from a local registry: a 4-layer image into a cold store,
# against skopeo copy of the same image, and with two layers already there.
"$repo/tools/bench_pull.sh" "$tmp/prefix" "$user"

# The Docker API: docker run --rm through rlbpf system service against
# rlbpf run --rm, as the same user.
"$repo/tools/bench_api.sh" "$tmp/prefix" "$user"
