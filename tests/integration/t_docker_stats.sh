# shellcheck shell=bash
# docker stats and docker events, with the real docker CLI, against
# `rlbpf system service`: the agent's counters in Docker's stats document,
# and the containers' events read off the state, whoever changed it.

# shellcheck source=tests/integration/docker_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"

# _api PATH: GET PATH from the service with curl, as T1; OUT is the body,
# then the HTTP status on a line of its own.
_api() {
	capture as_user "$T1" curl -s --max-time 10 -w '\n%{http_code}' --unix-socket "$(_sock)" \
		"http://docker/v1.44$1"
}

test_docker_stats_limits_and_missing() {
	_need_agent
	_service_start
	_docker run -d --name ds-web --memory 64m --pids-limit 50 busybox sleep 600
	assert_eq 0 "$RC" "docker run -d --memory 64m --pids-limit 50 (stderr $(_show "$ERR"))"
	_docker stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' ds-web
	assert_eq 0 "$RC" "docker stats --no-stream (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^ds-web [0-9.]+(B|KiB|MiB) / 64MiB 1$' \
		"the name, the usage against --memory, one task"
	_docker stats --no-stream --format '{{.CPUPerc}} {{.MemPerc}}' ds-web
	assert_match "$OUT" '^[0-9]+\.[0-9]{2}% [0-9]+\.[0-9]{2}%$' "CPU % and MEM %"
	_api /containers/ds-web/stats?stream=0
	assert_eq 200 "$(tail -n 1 <<<"$OUT")" "GET stats?stream=0"
	local doc
	doc=$(head -n 1 <<<"$OUT")
	assert_eq "67108864 50 /ds-web" "$(jq -r '"\(.memory_stats.limit) \(.pids_stats.limit) \(.name)"' <<<"$doc")" \
		"the limits and the name in Docker's document"
	assert_eq true "$(jq '.precpu_stats.system_cpu_usage > 0 and .cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage' <<<"$doc")" \
		"stream=0 reads twice, for CPU %"
	_api '/containers/ds-web/stats?stream=0&one-shot=1'
	assert_eq "0 1" "$(head -n 1 <<<"$OUT" | jq -r '"\(.precpu_stats.system_cpu_usage) \(.pids_stats.current)"')" \
		"one-shot: one reading, no previous one"
	_api '/containers/ds-web/stats?stream=1&one-shot=1'
	assert_eq 400 "$(tail -n 1 <<<"$OUT")" "one-shot with stream"
	_docker stats --no-stream no-such-box
	assert_ne 0 "$RC" "docker stats of a missing container fails"
	assert_contains "$ERR" "No such container: no-such-box" "its message"
	_api '/containers/ds-web/stats?stream=maybe'
	assert_eq 400 "$(tail -n 1 <<<"$OUT")" "a stream that is not a boolean"
	_docker rm -f ds-web
	_service_stop
}

# _stop_client JOB: ends a client started with `as_user ... &` (the job is
# a subshell; its child, timeout, passes the signal on to the client).
_stop_client() {
	local child
	child=$(pgrep -P "$1")
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
	wait "$1" 2>/dev/null
}

_lines_at_least() { [ "$(wc -l <"$2")" -ge "$1" ]; }
_gone() { ! kill -0 "$1" 2>/dev/null; }

test_docker_stats_stream_ends_with_the_container() {
	_need_agent
	_service_start
	_docker run -d --name ds-stream busybox sleep 600
	assert_eq 0 "$RC" "docker run -d (stderr $(_show "$ERR"))"
	local out="$T_CASE_DIR/stream"
	as_user "$T1" curl -s -N --max-time 60 --unix-socket "$(_sock)" \
		"http://docker/v1.44/containers/ds-stream/stats?stream=1" >"$out" &
	local job=$!
	wait_until 100 _lines_at_least 3 "$out" ||
		fail "fewer than 3 documents in 10 s: $(_show "$(cat "$out")")"
	assert_eq true "$(sed -n 3p "$out" | jq '.precpu_stats.cpu_usage.total_usage > 0 and .pids_stats.current == 1')" \
		"a streamed document has the previous reading"
	_docker stop -t 1 ds-stream
	wait_until 100 _gone "$job" || fail "the stream went on after the container stopped"
	wait "$job" 2>/dev/null
	_docker rm ds-stream
	_service_stop
}

test_docker_stats_without_the_agent_and_untracked() {
	_need_agent
	_service_start
	_docker run -d --name ds-tracked busybox sleep 600
	agent_stop
	trap agent_start EXIT # whatever happens, the suite gets its agent back
	_docker stats --no-stream ds-tracked
	assert_eq 1 "$RC" "docker stats without the agent"
	assert_contains "$ERR" "cannot reach rlbpfd" "says what is missing"
	rlbpf_run "$T1" -d --name ds-untracked busybox sleep 600
	assert_eq 0 "$RC" "rlbpf run -d without the agent (stderr $(_show "$ERR"))"
	trap - EXIT
	agent_start
	_docker stats --no-stream ds-untracked
	assert_eq 1 "$RC" "docker stats of a container the agent does not track"
	assert_contains "$ERR" "'rlbpf restart ds-untracked' registers it" "says what to do"
	_docker stats --no-stream --format '{{.Name}} {{.PIDs}}' ds-tracked
	assert_eq "ds-tracked 1" "$OUT" "the tracked one, after the agent's restart (stderr $(_show "$ERR"))"
	_docker rm -f ds-tracked ds-untracked
	_service_stop
}

# _actions NAME SINCE UNTIL: what docker events lists for NAME, one action a line.
_actions() {
	_docker events --since "$2" --until "$3" --filter "container=$1" --format '{{.Action}}'
}

test_docker_events_of_docker_and_rlbpf_containers() {
	_service_start
	local start until
	start=$(date +%s)
	_docker run --name ev-docker busybox sh -c 'exit 3'
	assert_eq 3 "$RC" "docker run (stderr $(_show "$ERR"))"
	_docker rm ev-docker
	assert_eq 0 "$RC" "docker rm"
	rlbpf_run "$T1" --name ev-rlbpf busybox true
	as_user "$T1" "$RLBPF" rm ev-rlbpf >/dev/null
	until=$(($(date +%s) + 1))
	_actions ev-docker "$start" "$until"
	assert_eq 0 "$RC" "docker events --since --until (stderr $(_show "$ERR"))"
	assert_eq "$(printf 'create\nstart\ndie\ndestroy')" "$OUT" "a container made, run and removed by docker"
	_actions ev-rlbpf "$start" "$until"
	assert_eq "$(printf 'create\nstart\ndie\ndestroy')" "$OUT" "one made, run and removed by rlbpf"
	_docker events --since "$start" --until "$until" --filter event=die \
		--format '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}} {{.Actor.Attributes.image}}'
	assert_eq "$(printf 'ev-docker 3 busybox\nev-rlbpf 0 busybox')" "$OUT" "die: the exit codes and the image"
	_docker events --since "$start" --until "$start" --filter container=ev-docker
	assert_eq "" "$OUT" "an until in the past ends the list"
	_service_stop
}

test_docker_events_live() {
	_service_start
	_docker ps -q # the service watches from its first request on
	local out="$T_CASE_DIR/live"
	# since: the events from here on, even those before the request arrives
	as_user "$T1" DOCKER_HOST="unix://$(_sock)" docker events --since "$(date +%s)" \
		--filter container=ev-live --format '{{.Action}} {{.Actor.Attributes.name}}' >"$out" 2>&1 &
	local job=$!
	rlbpf_run "$T1" -d --name ev-live busybox sleep 600
	wait_until 100 grep -q '^start ev-live$' "$out" ||
		fail "no start event while listening: $(_show "$(cat "$out")")"
	as_user "$T1" "$RLBPF" rm -f ev-live >/dev/null
	wait_until 100 grep -q '^destroy ev-live$' "$out" ||
		fail "no destroy event while listening: $(_show "$(cat "$out")")"
	assert_eq "$(printf 'create ev-live\nstart ev-live\ndie ev-live\ndestroy ev-live')" "$(cat "$out")" \
		"the events as they come"
	_stop_client "$job"
	_service_stop
}

test_docker_events_bad_filters() {
	_service_start
	_api '/events?filters=%7Bnot-json'
	assert_eq 400 "$(tail -n 1 <<<"$OUT")" "filters that are not JSON"
	assert_contains "$(head -n 1 <<<"$OUT" | jq -r .message)" "filters: a JSON object" "its message"
	_docker events --filter colour=blue
	assert_ne 0 "$RC" "an unknown filter"
	assert_contains "$ERR" "invalid filter 'colour'" "the CLI shows the message"
	_api '/events?since=yesterday'
	assert_eq 400 "$(tail -n 1 <<<"$OUT")" "a since that is not a time"
	_service_stop
}
