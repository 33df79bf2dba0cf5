# shellcheck shell=bash
# Detached containers and their lifecycle: run -d, ps, inspect, logs, exec,
# top, stop, kill, wait, restart, rm; a killed supervisor; twenty at once.

# rl ARG...: `rlbpf ARG...` as the first test user, captured.
rl() { capture as_user "$T1" "$RLBPF" "$@"; }

# Every case removes what it started, so that no process is left behind.
_rm_all() {
	local ids
	ids=$(as_user "$T1" "$RLBPF" ps -aq 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || as_user "$T1" "$RLBPF" rm -f $ids >/dev/null 2>&1
}

test_run_detached_ps_inspect() {
	rl run -d --name web busybox sleep 600
	assert_eq 0 "$RC" "exit status of run -d (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^[0-9a-f]{64}$' "run -d prints the full ID"
	local id=$OUT
	rl ps
	assert_contains "$OUT" "${id:0:12}" "ps lists the container's short ID"
	assert_match "$OUT" 'Up [^ ]' "ps STATUS of a running container"
	assert_match "$OUT" 'web$' "ps NAMES column"
	assert_contains "$OUT" '"sleep 600"' "ps COMMAND column"
	rl ps -q
	assert_eq "${id:0:12}" "$OUT" "ps -q"
	rl ps --format json
	assert_eq web "$(echo "$OUT" | jq -r .Names)" "ps --format json Names"
	assert_eq running "$(echo "$OUT" | jq -r .State)" "ps --format json State"

	rl inspect web
	assert_eq 0 "$RC" "exit status of inspect (stderr $(_show "$ERR"))"
	assert_eq "$id" "$(echo "$OUT" | jq -r '.[0].Id')" "inspect Id"
	assert_eq "/web" "$(echo "$OUT" | jq -r '.[0].Name')" "inspect Name"
	assert_eq true "$(echo "$OUT" | jq -r '.[0].State.Running')" "inspect State.Running"
	assert_eq false "$(echo "$OUT" | jq -r '.[0].State.OOMKilled')" "inspect State.OOMKilled"
	assert_eq '["sleep","600"]' "$(echo "$OUT" | jq -c '.[0].Config.Cmd')" "inspect Config.Cmd"
	assert_eq busybox "$(echo "$OUT" | jq -r '.[0].Config.Image')" "inspect Config.Image"
	assert_ne null "$(echo "$OUT" | jq -r '.[0].Rlbpf.Enforcement.Memory')" "inspect Rlbpf.Enforcement.Memory"

	local pid
	pid=$(pgrep -u "$T1" -x sleep | head -n 1)
	rl inspect -f '{{.State.Pid}}' web
	assert_eq "$pid" "$OUT" "inspect -f {{.State.Pid}} is the host pid of the container's sleep"
	rl inspect -f 'name={{.Name}} running={{.State.Running}}' "${id:0:8}"
	assert_eq "name=/web running=true" "$OUT" "inspect -f with literal text, by ID prefix"
	rl inspect -f '{{json .State}}' web
	assert_eq running "$(echo "$OUT" | jq -r .Status)" "inspect -f {{json .State}} is JSON"
	_rm_all
}

test_logs() {
	rl run -d --name chatty busybox sh -c 'echo one; echo two; echo three'
	rl run -d --name grumpy busybox sh -c 'echo oops >&2'
	as_user "$T1" "$RLBPF" wait chatty grumpy >/dev/null
	rl logs chatty
	assert_eq $'one\ntwo\nthree' "$OUT" "logs stdout"
	rl logs grumpy
	assert_eq "" "$OUT" "logs of a container that wrote only to stderr: stdout"
	assert_eq "oops" "$ERR" "logs stderr"
	rl logs --tail 1 chatty
	assert_eq "three" "$OUT" "logs --tail 1"
	rl logs -t --tail 1 chatty
	assert_match "$OUT" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z three$' "logs -t"
	# -f follows until the container stops, then returns.
	rl run -d --name slow busybox sh -c 'echo start; sleep 1; echo end'
	rl logs -f slow
	assert_eq 0 "$RC" "exit status of logs -f"
	assert_eq $'start\nend' "$OUT" "logs -f until the container stops"
	_rm_all
}

test_exec() {
	rl run -d --name box busybox sleep 600
	rl exec box ps -o pid,user,args
	assert_eq 0 "$RC" "exit status of exec ps (stderr $(_show "$ERR"))"
	assert_match "$OUT" $'\n *1 root +sleep 600' "exec: pid 1 is sleep 600, owned by root"
	rl exec -u 1000 box id -u
	assert_eq 1000 "$OUT" "exec -u 1000"
	rl exec -e FOO=bar -w /tmp box sh -c 'echo $FOO; pwd'
	assert_eq $'bar\n/tmp' "$OUT" "exec -e and -w"
	rl exec box grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status
	assert_eq $'CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2' "$(echo "$OUT" | sort)" "exec gets the container's caps and seccomp filter"
	rl exec box sh -c 'exit 4'
	assert_eq 4 "$RC" "exec exit status"
	rl exec box nosuchcmd
	assert_eq 127 "$RC" "exec of a missing command"
	capture as_user "$T1" "$RLBPF" exec -i box cat <<<hello
	assert_eq hello "$OUT" "exec -i passes stdin"
	as_user "$T1" "$RLBPF" stop -t 0 box >/dev/null
	rl exec box true
	assert_eq 125 "$RC" "exec into a stopped container"
	assert_contains "$ERR" "is not running" "exec into a stopped container says so"
	_rm_all
}

test_top_shows_both_views() {
	rl run -d --name topper -u 1000 busybox sleep 600
	rl top topper
	assert_eq 0 "$RC" "exit status of top (stderr $(_show "$ERR"))"
	local start
	start=$(subid_start /etc/subuid "$T1")
	assert_match "$OUT" '^PID +CPID +USER +HUSER +TIME +COMMAND' "top header"
	assert_match "$OUT" $'\n[0-9]+ +1 +user +'"$((start + 999))"' .*sleep 600' "top: container uid 1000 is subuid-start+999 on the host"
	rl run -d --name rooted busybox sleep 600
	rl top rooted
	assert_match "$OUT" $'\n[0-9]+ +1 +root +'"$T1"' .*sleep 600' "top: container root is the invoking user"
	_rm_all
}

test_stop_kill_wait_restart_rm() {
	rl run -d --name life busybox sleep 600
	rl stop -t 1 life
	assert_eq 0 "$RC" "exit status of stop (stderr $(_show "$ERR"))"
	assert_eq life "$OUT" "stop prints the container"
	rl ps -a
	assert_match "$OUT" 'Exited \(137\)' "sleep ignores SIGTERM as PID 1, so stop kills it"
	rl inspect -f '{{.State.Status}} {{.State.ExitCode}}' life
	assert_eq "exited 137" "$OUT" "inspect after stop"
	rl restart life
	assert_eq 0 "$RC" "exit status of restart (stderr $(_show "$ERR"))"
	rl inspect -f '{{.State.Running}}' life
	assert_eq true "$OUT" "running again after restart"
	# shellcheck disable=SC2016
	rl run -d --name trapper busybox sh -c 'trap "exit 9" TERM; sleep 600 & wait'
	wait_until 100 _has_sleep 2
	rl kill -s TERM trapper
	assert_eq trapper "$OUT" "kill prints the container"
	rl wait trapper
	assert_eq 9 "$OUT" "wait prints the exit code"
	rl kill -s NOSUCH life
	assert_eq 125 "$RC" "kill with an unknown signal"
	rl rm life
	assert_eq 125 "$RC" "rm of a running container without -f"
	assert_contains "$ERR" "running" "rm of a running container says why"
	rl rm -f life
	assert_eq life "$OUT" "rm -f prints the container (stderr $(_show "$ERR"))"
	rl ps -a
	assert_not_contains "$OUT" " life" "rm -f removed it"
	rl rm trapper
	assert_eq 0 "$RC" "rm of a stopped container"
	assert_eq "" "$(state_dirs "$T1")" "no state directory left"
	_rm_all
}

_has_sleep() { [ "$(pgrep -u "$T1" -x sleep | wc -l)" -ge "$1" ]; }

test_errors() {
	userspace_only
	rl inspect nosuch
	assert_eq 125 "$RC" "inspect of an unknown container"
	assert_contains "$ERR" "no such container: nosuch" "inspect of an unknown container says so"
	for cmd in stop kill wait rm logs top restart; do
		rl "$cmd" nosuch
		assert_eq 125 "$RC" "$cmd of an unknown container"
	done
	rl exec nosuch true
	assert_eq 125 "$RC" "exec into an unknown container"
	rl run -d --name same busybox sleep 600
	rl run -d --name same busybox sleep 600
	assert_eq 125 "$RC" "a second container with the same name"
	assert_contains "$ERR" "already in use" "name conflict message"
	rl ps --bogus
	assert_eq 125 "$RC" "ps with an unknown option"
	_rm_all
}

test_supervisor_killed_takes_the_container_along() {
	local before sup
	before=$(snapshot "$T1")
	rl run -d --name victim busybox sh -c 'sleep 600 & sleep 600'
	wait_until 100 _has_sleep 2
	sup=$(as_user "$T1" "$RLBPF" inspect victim | jq -r '.[0].Rlbpf.SupervisorPid')
	assert_match "$sup" '^[0-9]+$' "inspect shows the supervisor's pid"
	kill -KILL "$sup"
	wait_until 100 _no_sleep
	assert_eq "" "$(pgrep -u "$T1" -x sleep)" "no process of the container survives its supervisor"
	rl ps -a
	assert_match "$OUT" 'Exited \(137\).*victim' "ps -a reports it exited"
	rl inspect -f '{{.State.Running}} {{.State.ExitCode}}' victim
	assert_eq "false 137" "$OUT" "inspect reports it exited"
	rl inspect -f '{{.State.Error}}' victim
	assert_contains "$OUT" "supervisor" "inspect says why"
	_rm_all
	assert_nothing_left "$T1" "$before" "after the supervisor was killed"
}

_no_sleep() { [ -z "$(pgrep -u "$T1" -x sleep)" ]; }

test_twenty_at_once() {
	userspace_only
	local i dir="$T_CASE_DIR/ids"
	mkdir -p "$dir"
	chmod 777 "$dir"
	for i in $(seq 20); do
		as_user "$T1" "$RLBPF" run -d busybox sleep 600 >"$dir/$i" 2>&1 &
	done
	wait
	assert_eq 20 "$(cat "$dir"/* | grep -cE '^[0-9a-f]{64}$')" "twenty run -d printed an ID each (got $(_show "$(cat "$dir"/*)"))"
	# (a run may also say, on a machine too slow for the agent's answer,
	# that tracing is off for it: only the IDs are counted)
	assert_eq 20 "$(cat "$dir"/* | grep -E '^[0-9a-f]{64}$' | sort -u | wc -l)" "the twenty IDs are distinct (got $(_show "$(cat "$dir"/* | sort | uniq -c)"))"
	rl ps --format json
	assert_eq 20 "$(echo "$OUT" | jq -r .Names | sort -u | wc -l)" "twenty distinct names"
	# Twenty IDs over sixteen hex digits: two share a first digit.
	local prefix
	prefix=$(cat "$dir"/* | cut -c1 | sort | uniq -d | head -n 1)
	rl inspect "$prefix"
	assert_eq 125 "$RC" "inspect by an ambiguous prefix"
	assert_contains "$ERR" "multiple containers" "an ambiguous prefix is named so"
	_rm_all
	rl ps -aq
	assert_eq "" "$OUT" "all removed"
}

# A container's supervisor holds its lock: of three restarts at once, each
# either restarts it (after stopping the one before) or says why it did not,
# and one container runs in the end, never two on one state directory.
test_concurrent_restarts_start_it_once() {
	rl run -d --name once busybox sleep 600
	as_user "$T1" "$RLBPF" stop -t 0 once >/dev/null
	local dir="$T_CASE_DIR/restarts" i
	mkdir -p "$dir"
	chmod 777 "$dir"
	for i in 1 2 3; do
		as_user "$T1" "$RLBPF" restart once >"$dir/$i" 2>&1 &
	done
	wait
	wait_until 100 _has_sleep 1
	sleep 0.5
	assert_eq 1 "$(pgrep -u "$T1" -x sleep | wc -l)" "sleep processes after three concurrent restarts"
	assert_eq 3 "$(cat "$dir"/* | grep -cE '^once$|being started or is running')" "each restart restarted it or said why not (outputs: $(_show "$(cat "$dir"/*)"))"
	_rm_all
}
