# shellcheck shell=bash
# docker exec through rlbpf's Docker API: the real docker CLI against
# `rlbpf system service`, which runs each exec as `rlbpf exec`.

# shellcheck source=tests/integration/docker_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"

# _api METHOD PATH [BODY]: the API itself, as T1, with curl; the body's
# text into OUT, the HTTP status into CODE.
_api() {
	capture as_user "$T1" curl -s --unix-socket "$(_sock)" -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} -w '\n%{http_code}' "http://docker/v1.44$2"
	CODE=${OUT##*$'\n'}
	OUT=${OUT%$'\n'*}
}

test_docker_exec_output_stdin_user_detached() {
	local before
	before=$(snapshot "$T1")
	_service_start
	_docker run -d --name dx busybox sleep 300
	assert_eq 0 "$RC" "docker run -d (stderr $(_show "$ERR"))"
	_docker exec dx echo hi
	assert_eq 0 "$RC" "docker exec dx echo hi (stderr $(_show "$ERR"))"
	assert_eq hi "$OUT" "its output"
	_docker exec dx sh -c 'echo out; echo err >&2; exit 7'
	assert_eq 7 "$RC" "the command's exit status is docker exec's"
	assert_eq out "$OUT" "stdout on stdout"
	assert_eq err "$ERR" "stderr on stderr"
	_docker exec -i dx cat <<<data
	assert_eq 0 "$RC" "docker exec -i dx cat (stderr $(_show "$ERR"))"
	assert_eq data "$OUT" "stdin reaches the command, and its end ends cat"
	# more than any buffer on the way, both ways at once
	seq 1 300000 >"$T_CASE_DIR/big"
	_docker exec -i dx cat <"$T_CASE_DIR/big"
	assert_eq 0 "$RC" "docker exec -i dx cat of 2 MB (stderr $(_show "$ERR"))"
	assert_true "the 2 MB come back whole" cmp -s "$T_CASE_DIR/out" "$T_CASE_DIR/big"
	_docker exec -u 1000 dx id -u
	assert_eq 1000 "$OUT" "docker exec -u 1000 (stderr $(_show "$ERR"))"
	_docker exec -e GREETING=hello -w /tmp dx sh -c 'echo $GREETING $(pwd)'
	assert_eq "hello /tmp" "$OUT" "docker exec -e and -w (stderr $(_show "$ERR"))"
	_docker exec dx no-such-command
	assert_eq 127 "$RC" "a command that is not there"
	_docker exec -d dx sh -c 'echo made >/tmp/x'
	assert_eq 0 "$RC" "docker exec -d (stderr $(_show "$ERR"))"
	assert_eq "" "$OUT" "docker exec -d prints nothing"
	wait_until 50 eval '_docker exec dx cat /tmp/x; [ "$OUT" = made ]' ||
		fail "a later exec does not see the detached exec's file: $(_show "$OUT $ERR")"
	_docker stop -t 1 dx
	_docker exec dx true
	assert_ne 0 "$RC" "docker exec in a stopped container"
	assert_match "$ERR" "container [0-9a-f]{64} is not running" "Docker's message"
	_docker exec nosuch true
	assert_contains "$ERR" "No such container: nosuch" "docker exec in a missing container"
	_docker rm -f dx
	_service_stop
	assert_nothing_left "$T1" "$before" "after the execs and the service"
}

test_docker_exec_tty() {
	command -v script >/dev/null || skip "no script(1) to give docker a terminal"
	_service_start
	_docker run -d --name dxt busybox sleep 300
	assert_eq 0 "$RC" "docker run -d (stderr $(_show "$ERR"))"
	# script's terminal, of a size docker sends as ConsoleSize and resize
	capture as_user "$T1" DOCKER_HOST="unix://$(_sock)" script -qec \
		"stty rows 41 cols 99; docker exec -it dxt sh -c 'tty; stty size; exit 5'" /dev/null \
		< <(sleep 10)
	assert_eq 5 "$RC" "docker exec -it's exit status (output $(_show "$OUT"))"
	assert_contains "$OUT" "/dev/pts/" "tty inside docker exec -it"
	assert_contains "$OUT" "41 99" "the terminal's size inside"
	capture as_user "$T1" DOCKER_HOST="unix://$(_sock)" script -qec \
		"docker exec -it dxt sh -c 'read line; echo got \$line'" /dev/null < <(echo typed; sleep 10)
	assert_eq 0 "$RC" "docker exec -it with input (output $(_show "$OUT"))"
	assert_contains "$OUT" "got typed" "what is typed reaches the command through its terminal"
	_docker rm -f dxt
	_service_stop
}

test_docker_exec_api_resize_and_inspect() {
	_service_start
	_docker run -d --name dxa busybox sleep 300
	assert_eq 0 "$RC" "docker run -d (stderr $(_show "$ERR"))"
	# the size is read once the resize is done, however slow the machine
	_api POST /containers/dxa/exec '{"Cmd":["sh","-c","until [ -e /tmp/resized ]; do sleep 0.1; done; stty size >/tmp/size"],"Tty":true}'
	assert_eq 201 "$CODE" "exec create (body $(_show "$OUT"))"
	local id
	id=$(jq -r .Id <<<"$OUT")
	assert_match "$id" '^[0-9a-f]{64}$' "a 64-hex exec id"
	_api GET "/exec/$id/json"
	assert_eq 'false null sh -c true' "$(jq -r '"\(.Running) \(.ExitCode) \(.ProcessConfig.entrypoint) \(.ProcessConfig.arguments[0]) \(.ProcessConfig.tty)"' <<<"$OUT")" \
		"exec json before the start"
	_api POST "/exec/$id/start" '{"Detach":true,"Tty":true,"ConsoleSize":[10,20]}'
	assert_eq 200 "$CODE" "detached start (body $(_show "$OUT"))"
	_api POST "/exec/$id/resize?h=22&w=33"
	assert_eq 200 "$CODE" "resize (body $(_show "$OUT"))"
	_api POST "/exec/$id/start" '{"Detach":true}'
	assert_eq 409 "$CODE" "a second start"
	_docker exec dxa touch /tmp/resized
	wait_until 100 eval '_api GET "/exec/$id/json"; [ "$(jq -r .Running <<<"$OUT")" = false ]' ||
		fail "the exec did not end: $(_show "$OUT")"
	assert_eq 0 "$(jq -r .ExitCode <<<"$OUT")" "exec json after the end: ExitCode"
	_docker exec dxa cat /tmp/size
	assert_eq "22 33" "$OUT" "the size after resize, inside"
	_api POST "/exec/$id/resize?h=x&w=1"
	assert_eq 400 "$CODE" "resize with a bad h"
	_api POST "/exec/$(printf '0%.0s' {1..64})/resize?h=1&w=1"
	assert_eq 404 "$CODE" "resize of an unknown exec"
	_api POST /containers/dxa/exec '{"Cmd":[]}'
	assert_eq 400 "$CODE" "exec create without a command"
	assert_contains "$OUT" "No exec command specified" "Docker's message"
	_api POST /containers/dxa/exec '{"Cmd":["true"],"Privileged":true}'
	assert_eq 400 "$CODE" "Privileged is refused"
	_docker rm -f dxa
	_service_stop
}
