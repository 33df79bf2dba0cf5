# shellcheck shell=bash
# A real multi-process server from Debian's archive under a memory cap:
# Redis, whose BGSAVE forks a child that shares the whole dataset with its
# parent, copy-on-write, while clients keep writing. A cap comfortably above
# its real use must never kill it; a cap below it must end it as Docker
# would (137, OOMKilled).

rl() { capture as_user "$T1" "$RLBPF" "$@"; }

_redis_rootfs() {
	command -v redis-check-rdb >/dev/null || skip "no redis-check-rdb (tools/deps.sh test installs redis-tools)"
	local dir=$T_TMP/scratch/redis-rootfs
	[ -d "$dir" ] || {
		rootfs_redis "$dir" >/dev/null
		# a rootfs directory is the user's own, as one unpacked by hand
		chown -R "$T1:" "$dir"
	}
	echo "$dir"
}

_redis() { as_user "$T1" "$RLBPF" exec "$1" redis-cli "${@:2}" 2>&1; }

_redis_up() { [ "$(_redis "$1" ping)" = PONG ]; }

# Peak of the container's memory as the kernel counts it; where cgroup v2
# keeps no peak (memory.peak came in 5.19), its use now: the dataset is
# still held at the end, so that must be past 100 MB as well.
_peak() {
	local cg
	# rlbpfd's (rlbpf/ID), or the user's delegated one (rlbpf-SHORTID)
	for cg in $(find /sys/fs/cgroup -maxdepth 8 -type d \( -path "*/rlbpf/$1" -o -name "rlbpf-${1:0:12}" \) 2>/dev/null); do
		cat "$cg/memory.max_usage_in_bytes" 2>/dev/null && return
		cat "$cg/memory.peak" 2>/dev/null && return
		cat "$cg/memory.current" 2>/dev/null && return
	done
}

# _redis_under_load ENFORCER [RUN-OPTION...]: Redis with 100 MB of data,
# a snapshot (fork) while clients write, under --memory 256m; it must live.
_redis_under_load() {
	local enforcer=$1 rootfs id
	shift
	rootfs=$(_redis_rootfs)
	rl run -d --name redis --memory 256m "$@" --network none "$rootfs" redis-server \
		--save '' --appendonly no --dir /tmp --protected-mode no --enable-debug-command yes
	assert_eq 0 "$RC" "run -d redis (stderr $(_show "$ERR"))"
	[ "$RC" = 0 ] || return 0
	wait_until 100 _redis_up redis || fail "redis did not answer: $(as_user "$T1" "$RLBPF" logs redis 2>&1 | tail -n 3)"
	id=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' redis)
	_redis redis debug populate 600000 key 100 >/dev/null
	assert_eq 600000 "$(_redis redis dbsize)" "the dataset is loaded"
	_redis redis bgsave >/dev/null
	capture as_user "$T1" "$RLBPF" exec redis redis-benchmark -q -n 50000 -c 8 -t set,get -d 100 -r 600000
	assert_eq 0 "$RC" "redis-benchmark under the cap (stderr $(_show "$ERR"))"
	_redis redis bgsave >/dev/null
	wait_until 300 eval '[ "$(_redis redis info persistence | grep -o "rdb_bgsave_in_progress:0")" ]'
	assert_contains "$(_redis redis info persistence)" "rdb_last_bgsave_status:ok" "the snapshot's child finished"
	assert_true "redis still answers" _redis_up redis
	rl inspect -f '{{.State.Status}} {{.State.OOMKilled}} {{.Rlbpf.Enforcement.Memory}}' redis
	assert_eq "running false $enforcer" "$OUT" "redis runs on, never OOM-killed"
	if [ "$enforcer" != ebpf ]; then
		local peak
		peak=$(_peak "$id")
		assert_true "the kernel counted its peak past 100 MB and under the cap: $peak" \
			[ "${peak:-0}" -gt 100000000 -a "${peak:-0}" -le 268435456 ]
	fi
	rl rm -f redis
}

test_redis_snapshot_under_load_survives_a_cap_above_its_use() {
	_need_agent
	[ "$(memory_enforcer "$T1")" != ebpf ] || skip "the eBPF cap's own case follows"
	_redis_under_load "$(memory_enforcer "$T1")"
}

test_redis_snapshot_under_load_survives_the_ebpf_cap() {
	_need_ebpf_cap
	# the copies the snapshot's writes make are counted, each page once
	_redis_under_load ebpf --memory-enforce ebpf
}

# On a fuse-overlayfs root the binaries' pages are the FUSE mount's own page
# cache, charged to the container: under a cap below its use the kernel
# reclaims them and faults them back through the server for as long as that
# frees anything, and the OOM kill comes after this thrash (30 to 80 s
# natively, more than the case's 600 s under TCG), not in the seconds
# overlayfs takes.
_fuse_root() { as_user "$T1" "$RLBPF" info 2>/dev/null | grep -q "^Container Root: fuse-overlayfs"; }

_redis_killed_below_use() {
	local rootfs tries=100
	if _fuse_root; then
		[ -z "${T_EMULATED:-}" ] || skip "fuse-overlayfs root under emulation: the thrash before the OOM kill (30 to 80 s natively) outlasts the case's bound; T_OVERLAY=fuse runs it natively"
		tries=3000
	fi
	rootfs=$(_redis_rootfs)
	rl run -d --name redis-small --memory 48m "$@" --network none "$rootfs" redis-server \
		--save '' --appendonly no --dir /tmp --protected-mode no --enable-debug-command yes
	assert_eq 0 "$RC" "run -d redis (stderr $(_show "$ERR"))"
	[ "$RC" = 0 ] || return 0
	wait_until 100 _redis_up redis-small || fail "redis did not answer"
	_redis redis-small debug populate 600000 key 100 >/dev/null
	wait_until "$tries" eval '[ "$(as_user "$T1" "$RLBPF" inspect -f "{{.State.Status}}" redis-small)" = exited ]' ||
		fail "redis holding 100 MB outlived --memory 48m"
	rl inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' redis-small
	assert_eq "137 true" "$OUT" "redis past its cap: 137 and OOMKilled, as Docker"
	rl rm -f redis-small
}

test_redis_is_oom_killed_below_its_real_use() {
	_need_agent
	_redis_killed_below_use
}

test_redis_is_killed_below_its_real_use_by_the_ebpf_cap() {
	_need_ebpf_cap
	_redis_killed_below_use --memory-enforce ebpf
}
