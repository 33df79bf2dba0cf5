# shellcheck shell=bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# rlbpf stats: rows of real containers with values from the agent (tasks,
# CPU, memory), its formats, its errors, and whose containers a user sees.
# run.sh starts the agent for the suite; lib.sh stops and starts it.

# rl ARG...: `rlbpf ARG...` as the first test user, captured.
rl() { capture as_user "$T1" "$RLBPF" "$@"; }

# Every case removes what it started, so that no process is left behind.
_rm_all() {
	local ids
	ids=$(as_user "$T1" "$RLBPF" ps -aq 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || as_user "$T1" "$RLBPF" rm -f $ids >/dev/null 2>&1
}

HEADER_RE='^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +PIDS$'
HEADER='CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     PIDS'

# _bytes "1.977MiB": the size in bytes (rounded), -1 if it is not a size.
_bytes() {
	awk -v s="$1" 'BEGIN {
		m["B"] = 1; m["KiB"] = 1024; m["MiB"] = 1048576; m["GiB"] = 1073741824; m["TiB"] = 1099511627776
		u = s; sub(/^[0-9.]+/, "", u)
		if (!(u in m) || s !~ /^[0-9]/) { print -1; exit }
		printf "%.0f\n", (s + 0) * m[u]
	}'
}

# _above A B: A > B, as numbers with decimals.
_above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# _stat CONTAINER KEY: one value of `stats --no-stream --format json`.
_stat() { as_user "$T1" "$RLBPF" stats --no-stream --format json "$1" 2>/dev/null | jq -r ".$2"; }

# Tasks (threads included) in the PID namespace of the container whose PID 1
# is host pid $1, as the host counts them: what PIDS must say.
_tasks_in_pidns() {
	local ns p n=0
	ns=$(readlink "/proc/$1/ns/pid") || return 1
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ]; then
			n=$((n + $(find "$p/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)))
		fi
	done
	echo "$n"
}

_has_sleeps() { [ "$(pgrep -u "$T1" -x sleep | wc -l)" -ge "$1" ]; }

test_stats_no_stream_shows_a_running_container() {
	_need_agent
	rl run -d --name st-web busybox sleep 600
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	local id=$OUT
	rl run -d --name st-gone busybox true
	as_user "$T1" "$RLBPF" wait st-gone >/dev/null

	rl stats --no-stream
	assert_eq 0 "$RC" "exit status of stats --no-stream (stderr $(_show "$ERR"))"
	assert_eq "" "$ERR" "stderr of stats --no-stream"
	assert_match "$(head -n 1 <<<"$OUT")" "$HEADER_RE" "the header"
	assert_match "$OUT" "^${id:0:12} +st-web +[0-9]+\.[0-9]{2}% +[0-9.]+(B|KiB|MiB) / [0-9.]+(MiB|GiB|TiB) +[0-9]+\.[0-9]{2}% +[0-9]+\$" "the container's row"
	assert_eq 2 "$(wc -l <<<"$OUT")" "lines: the header and the running container only"
	assert_not_contains "$OUT" "st-gone" "an exited container"

	# no --memory: the limit is the host's memory, as Docker shows it
	local host
	host=$(awk '/^MemTotal:/ { v = $2 * 1024; u = "B"
		split("KiB MiB GiB TiB", us, " ")
		for (i = 1; v >= 1024 && i <= 4; i++) { v /= 1024; u = us[i] }
		printf "%.4g%s\n", v, u; exit }' /proc/meminfo)
	assert_match "$OUT" "^${id:0:12} .* / ${host//./\\.} " "LIMIT is the host's memory ($host)"

	if as_user "$T1" "$RLBPF" run --help 2>&1 | grep -q -- '--memory'; then
		rl run -d --name st-capped --memory 64m busybox sleep 600
		assert_eq 0 "$RC" "run -d --memory 64m (stderr $(_show "$ERR"))"
		rl stats --no-stream --format '{{.MemUsage}} {{.MemPerc}}' st-capped
		assert_match "$OUT" '^[0-9.]+(B|KiB|MiB) / 64MiB [0-9]+\.[0-9]{2}%$' "LIMIT of a container with --memory 64m"
	fi

	rl stats --no-stream st-web
	assert_match "$OUT" "^${id:0:12} +st-web " "stats NAME"
	rl stats --no-stream "${id:0:7}"
	assert_match "$OUT" "^${id:0:12} +st-web " "stats by ID prefix"
	rl stats --no-stream --no-trunc st-web
	assert_match "$OUT" "^$id +st-web " "stats --no-trunc shows the full ID"
	_rm_all
}

test_stats_pids_counts_every_task() {
	_need_agent
	rl run -d --name st-pids busybox sh -c 'sleep 600 & sleep 600 & wait'
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	rl run -d --init --name st-pids-init busybox sh -c 'sleep 600 & sleep 600 & wait'
	assert_eq 0 "$RC" "run -d --init (stderr $(_show "$ERR"))"
	wait_until 100 _has_sleeps 4 || fail "the sleeps did not start"

	local pid host
	pid=$(as_user "$T1" "$RLBPF" inspect -f '{{.State.Pid}}' st-pids)
	host=$(_tasks_in_pidns "$pid")
	# sh and its two sleeps; with --init, the init too
	assert_eq 3 "$host" "tasks of sh -c 'sleep 600 & sleep 600 & wait' on the host"
	assert_eq "$host" "$(_stat st-pids PIDs)" "PIDS of st-pids"
	pid=$(as_user "$T1" "$RLBPF" inspect -f '{{.State.Pid}}' st-pids-init)
	host=$(_tasks_in_pidns "$pid")
	assert_eq 4 "$host" "tasks of the same under --init on the host"
	assert_eq "$host" "$(_stat st-pids-init PIDs)" "PIDS of st-pids-init"
	_rm_all
}

test_stats_cpu_percent_of_a_busy_loop() {
	_need_agent
	rl run -d --name st-busy busybox sh -c 'while :; do :; done'
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	rl run -d --name st-idle busybox sleep 600
	rl stats --no-stream --format '{{.Name}} {{.CPUPerc}}' st-busy st-idle
	assert_eq 0 "$RC" "exit status (stderr $(_show "$ERR"))"
	local busy idle
	busy=$(awk '$1 == "st-busy" { sub(/%$/, "", $2); print $2 }' <<<"$OUT")
	idle=$(awk '$1 == "st-idle" { sub(/%$/, "", $2); print $2 }' <<<"$OUT")
	# a core spinning: near 100 on any machine, whatever its speed
	if _above "$busy" 20; then pass; else fail "CPU % of a busy loop: expected above 20, got $(_show "$OUT")"; fi
	if _above "$busy" "$idle"; then pass; else fail "CPU % of a busy loop above a sleeping one: got $(_show "$OUT")"; fi
	_rm_all
}

_has_a_row() { as_user "$T1" "$RLBPF" logs "$1" 2>/dev/null | grep -q '^row 1:'; }

# _mem_usage_grows [RUN-OPTION...]: MEM USAGE and MEM % of a hog against
# the same program holding one value.
_mem_usage_grows() {
	_need_agent
	# one row of 500000 uint64 (3.8 MiB) at once, the next ones 100 s later;
	# beside it the same program holding one value, so that only what the
	# hog allocated differs
	rl run -d --name st-hog "$@" busybox hog -r 500000 -n 4 -p 100000
	assert_eq 0 "$RC" "run -d hog (stderr $(_show "$ERR"))"
	rl run -d --name st-nohog "$@" busybox hog -r 1 -n 2 -p 100000
	assert_eq 0 "$RC" "run -d hog -r 1 (stderr $(_show "$ERR"))"
	local c
	for c in st-hog st-nohog; do
		wait_until 300 _has_a_row "$c" || fail "$c did not allocate its first row: $(_show "$(as_user "$T1" "$RLBPF" logs "$c" 2>&1)")"
	done
	local hog nohog
	hog=$(_stat st-hog MemUsage)
	nohog=$(_stat st-nohog MemUsage)
	assert_match "$hog" '^[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]iB$' "MEM USAGE / LIMIT of the hog"
	local h n
	h=$(_bytes "${hog%% / *}")
	n=$(_bytes "${nohog%% / *}")
	if [ "$h" -ge 0 ] && [ "$n" -ge 0 ] && [ $((h - n)) -ge $((3 << 20)) ]; then
		pass
	else
		fail "MEM USAGE of a hog holding 3.8 MiB against one holding 8 bytes: expected at least 3 MiB more, got $(_show "$hog") and $(_show "$nohog")"
	fi
	local perc
	perc=$(_stat st-hog MemPerc)
	if _above "${perc%\%}" 0; then pass; else fail "MEM % of the hog: expected above 0, got $(_show "$perc")"; fi
	_rm_all
}

test_stats_mem_usage_grows_with_a_hog() {
	_mem_usage_grows
}

# Under --memory the count is a cgroup's: rlbpfd's, or on a cgroup v2 host
# that delegates one to the user, the container's own.
test_stats_mem_usage_grows_with_a_hog_under_a_limit() {
	_mem_usage_grows --memory 256m
}

test_stats_format_json_and_templates() {
	userspace_only
	_need_agent
	rl run -d --name st-json busybox sleep 600
	local id=$OUT
	rl stats --no-stream --format json
	assert_eq 0 "$RC" "exit status of --format json (stderr $(_show "$ERR"))"
	assert_eq 1 "$(wc -l <<<"$OUT")" "one line per container"
	assert_eq '["BlockIO","CPUPerc","Container","ID","MemPerc","MemUsage","Name","NetIO","PIDs"]' \
		"$(jq -c 'keys' <<<"$OUT" 2>&1)" "Docker's keys"
	assert_eq "st-json ${id:0:12} ${id:0:12}" "$(jq -r '"\(.Name) \(.ID) \(.Container)"' <<<"$OUT")" "Name, ID and Container"
	assert_match "$(jq -r .CPUPerc <<<"$OUT")" '^[0-9]+\.[0-9]{2}%$' "CPUPerc"
	assert_match "$(jq -r .MemPerc <<<"$OUT")" '^[0-9]+\.[0-9]{2}%$' "MemPerc"
	assert_match "$(jq -r .PIDs <<<"$OUT")" '^[0-9]+$' "PIDs"
	# named: Container is the name as given, as in Docker
	rl stats --no-stream --format json st-json
	assert_eq st-json "$(jq -r .Container <<<"$OUT")" "Container of a named container"

	rl stats --no-stream --format '{{.Name}} {{.MemUsage}}'
	assert_match "$OUT" '^st-json [0-9.]+[KMG]?i?B / [0-9.]+[KMGT]iB$' "a Go template"
	rl stats --no-stream --format 'table {{.Name}}\t{{.PIDs}}'
	assert_match "$OUT" $'^NAME +PIDS\nst-json +[0-9]+$' "a table template"
	rl stats --no-stream --format '{{.Name'
	assert_eq 125 "$RC" "a bad template"
	assert_contains "$ERR" "template" "a bad template says so"
	_rm_all
}

test_stats_errors() {
	userspace_only
	_need_agent
	local before
	rl stats --no-stream nosuch
	assert_eq 1 "$RC" "stats of an unknown container"
	assert_contains "$ERR" "rlbpf stats: no such container: nosuch" "it says so"
	assert_eq 1 "$(wc -l <<<"$ERR")" "one line on stderr"
	assert_eq "" "$OUT" "nothing on stdout"
	rl stats nosuch
	assert_eq 1 "$RC" "streaming stats of an unknown container"
	rl stats --bogus
	assert_eq 125 "$RC" "an unknown option"
	assert_contains "$ERR" "unknown option '--bogus'" "an unknown option says so"
	rl run -d --name st-done busybox true
	as_user "$T1" "$RLBPF" wait st-done >/dev/null
	before=$(snapshot "$T1")
	rl stats --no-stream st-done
	assert_eq 1 "$RC" "stats of a stopped container"
	assert_contains "$ERR" "st-done is not running" "a stopped container says so"
	assert_nothing_left "$T1" "$before" "after stats' errors"
	_rm_all
}

test_stats_other_users_containers_are_invisible() {
	_need_agent
	rl run -d --name st-mine busybox sleep 600
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	local id=$OUT
	capture as_user "$T2" "$RLBPF" stats --no-stream
	assert_eq 0 "$RC" "$T2's stats (stderr $(_show "$ERR"))"
	assert_eq "$HEADER" "$OUT" "$T2 sees none of $T1's containers"
	for ref in st-mine "${id:0:12}" "$id"; do
		capture as_user "$T2" "$RLBPF" stats --no-stream "$ref"
		assert_eq 1 "$RC" "$T2's stats of $T1's container as $ref"
		assert_contains "$ERR" "no such container" "$T2 is told there is no such container"
	done
	_rm_all
}

test_stats_no_containers_prints_the_header() {
	_need_agent
	rl stats --no-stream
	assert_eq 0 "$RC" "exit status (stderr $(_show "$ERR"))"
	assert_eq "$HEADER" "$OUT" "stats --no-stream with no container"
	rl stats --no-stream --format json
	assert_eq "" "$OUT" "--format json with no container"
}

# The rlbpf process of a stats stream (under setpriv, env and timeout).
_stats_pid() { pgrep -n -u "$T1" -f "$RLBPF stats"; }
_tables() { grep -c '^CONTAINER ID' "$T_CASE_DIR/stream.out" 2>/dev/null; }
_has_tables() { [ "$(_tables)" -ge "$1" ]; }
# The last whole table of the stream: the one a later header closed.
_last_table() {
	awk '/^CONTAINER ID/ { prev = cur; cur = "" } { cur = cur $0 "\n" } END { printf "%s", prev }' "$T_CASE_DIR/stream.out"
}
_last_table_has() { grep -q " $1 " <<<"$(_last_table)"; }
_last_table_lacks() { _last_table_has st-stream && ! _last_table_has "$1"; }

test_stats_stream_until_ctrl_c_or_the_end() {
	userspace_only
	_need_agent
	rl run -d --name st-stream busybox sleep 600
	# not a terminal: tables one after another, nothing to redraw
	as_user "$T1" "$RLBPF" stats >"$T_CASE_DIR/stream.out" 2>"$T_CASE_DIR/stream.err" &
	local job=$! rc=0
	wait_until 300 _has_tables 2 || fail "fewer than 2 tables: $(_show "$(cat "$T_CASE_DIR/stream.out")")"
	# one started meanwhile joins the table, and leaves it when it stops
	rl run -d --name st-late busybox sleep 600
	if wait_until 300 _last_table_has st-late; then pass; else
		fail "a container started during the stream did not join it: $(_show "$(_last_table)")"
	fi
	as_user "$T1" "$RLBPF" stop -t 0 st-late >/dev/null
	if wait_until 300 _last_table_lacks st-late; then pass; else
		fail "a container that stopped stayed in the stream: $(_show "$(_last_table)")"
	fi
	kill -INT "$(_stats_pid)"
	wait "$job" || rc=$?
	assert_eq 0 "$rc" "exit status after Ctrl-C (stderr $(_show "$(cat "$T_CASE_DIR/stream.err")"))"
	assert_eq 0 "$(grep -c $'\033' "$T_CASE_DIR/stream.out")" "escape sequences when stdout is not a terminal"
	assert_eq "$(_tables)" "$(grep -c ' st-stream ' "$T_CASE_DIR/stream.out")" "the container in every table"

	# named: it ends when the container does, its last row "--"
	as_user "$T1" "$RLBPF" stats st-stream >"$T_CASE_DIR/stream.out" 2>"$T_CASE_DIR/stream.err" &
	job=$!
	wait_until 300 _has_tables 1 || fail "no table: $(_show "$(cat "$T_CASE_DIR/stream.out")")"
	as_user "$T1" "$RLBPF" stop -t 0 st-stream >/dev/null
	if wait_until 300 eval '! kill -0 '"$job"' 2>/dev/null'; then pass; else
		fail "stats of a named container went on after it stopped"
		kill -INT "$(_stats_pid)"
	fi
	rc=0
	wait "$job" || rc=$?
	assert_eq 0 "$rc" "exit status when the named container stopped (stderr $(_show "$(cat "$T_CASE_DIR/stream.err")"))"
	assert_match "$(tail -n 1 "$T_CASE_DIR/stream.out")" ' st-stream +-- +-- / -- +-- +--$' "its last row"
	_rm_all
}

test_stats_without_the_agent_and_untracked_containers() {
	_need_agent
	rl run -d --name st-tracked busybox sleep 600
	local tracked=$OUT
	agent_stop
	trap agent_start EXIT # whatever happens, the suite gets its agent back
	rl stats --no-stream
	assert_eq 1 "$RC" "stats without the agent"
	assert_contains "$ERR" "sudo rlbpfd" "stats without the agent says how to start it"
	assert_contains "$ERR" "not running" "stats without the agent says why"
	assert_eq 1 "$(wc -l <<<"$ERR")" "one line on stderr"
	rl run -d --name st-untracked busybox sleep 600
	assert_eq 0 "$RC" "run -d without the agent (stderr $(_show "$ERR"))"
	local untracked=$OUT
	trap - EXIT
	agent_start

	rl stats --no-stream
	assert_eq 0 "$RC" "stats with an untracked container (stderr $(_show "$ERR"))"
	assert_match "$OUT" "^${untracked:0:12} +st-untracked +-- +-- / -- +-- +--\$" "the untracked container's row"
	assert_match "$OUT" "^${tracked:0:12} +st-tracked +[0-9.]+% " "the tracked one's row, after the agent's restart"
	assert_eq 1 "$(grep -c 'st-untracked' <<<"$ERR")" "said once on stderr"
	assert_contains "$ERR" "not tracked" "what is said"
	_rm_all
}
