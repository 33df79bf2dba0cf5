# shellcheck shell=bash
# rlbpf system service: the real docker CLI (a client only) against the
# Docker Engine API that rlbpf serves, as the user with DOCKER_HOST set.

# shellcheck source=tests/integration/docker_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"

test_docker_version_info_ps_images() {
	_service_start
	local mode
	mode=$(stat -c '%a %U' "$(_sock)")
	assert_eq "600 $T1" "$mode" "the socket's mode and owner"
	_docker version --format '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}'
	assert_eq 0 "$RC" "docker version (stderr $(_show "$ERR"))"
	assert_eq "0.1.0 1.44 linux/amd64" "$OUT" "the server's version, API version and platform"
	_docker info --format '{{.OSType}} {{.ServerVersion}}'
	assert_eq "linux 0.1.0" "$OUT" "docker info"
	rlbpf_run "$T1" -d --name dk-web -p 18081:80 busybox sleep 60
	assert_eq 0 "$RC" "rlbpf run -d (stderr $(_show "$ERR"))"
	rlbpf_run "$T1" --name dk-done busybox sh -c 'exit 3'
	_docker ps --format '{{.Names}} {{.Image}} {{.Command}} {{.Ports}}'
	assert_eq 0 "$RC" "docker ps (stderr $(_show "$ERR"))"
	assert_eq 'dk-web busybox "sleep 60" 0.0.0.0:18081->80/tcp' "$OUT" "docker ps: running only, as rlbpf ps"
	_docker ps -a --format '{{.Names}} {{.Status}}'
	assert_match "$OUT" '^dk-done Exited \(3\) ' "docker ps -a: the exited one first (newest)"
	assert_contains "$OUT" "dk-web Up " "docker ps -a: the running one"
	_docker ps -a -q
	assert_eq "$(as_user "$T1" "$RLBPF" ps -a -q)" "$OUT" "docker ps -a -q and rlbpf ps -a -q agree"
	_docker ps -a --filter status=exited --format '{{.Names}}'
	assert_eq dk-done "$OUT" "docker ps --filter status=exited"
	_docker ps -a --filter exited=3 --filter name=done --format '{{.Names}}'
	assert_eq dk-done "$OUT" "docker ps --filter exited=3 --filter name=done"
	_docker ps -a --filter name=web --filter ancestor=busybox --format '{{.Names}}'
	assert_eq dk-web "$OUT" "docker ps --filter name=web --filter ancestor=busybox"
	_docker ps -l --format '{{.Names}}'
	assert_eq dk-done "$OUT" "docker ps -l: the newest, stopped or not"
	_docker ps --filter label=a=b
	assert_eq "1" "$RC" "docker ps --filter label"
	assert_contains "$ERR" "invalid filter 'label': docker ps here filters by id, name, status, ancestor, exited" \
		"what the filter refusal says"
	_docker images --format '{{.Repository}}:{{.Tag}}'
	assert_contains "$OUT" "busybox:latest" "docker images"
	as_user "$T1" "$RLBPF" rm -f dk-web dk-done >/dev/null
	_service_stop
}

test_docker_run_attached_and_removed() {
	local before
	before=$(snapshot "$T1")
	_service_start
	_docker run --rm busybox echo hi
	assert_eq 0 "$RC" "docker run --rm busybox echo hi (stderr $(_show "$ERR"))"
	assert_eq hi "$OUT" "its output, through attach"
	_docker run --rm busybox sh -c 'echo out; echo err >&2; exit 3'
	assert_eq 3 "$RC" "the container's exit status is docker run's"
	assert_eq out "$OUT" "stdout on stdout"
	assert_eq err "$ERR" "stderr on stderr"
	_docker run --rm busybox whoami
	assert_eq root "$OUT" "whoami inside"
	_docker ps -a -q
	assert_eq "" "$OUT" "AutoRemove: nothing left in docker ps -a"
	# the container's root is not the host's: a root-owned host file stays
	local victim=$T_CASE_DIR/root-owned
	echo keep >"$victim"
	chmod 644 "$victim"
	_docker run --rm -v /:/host busybox rm -f "/host$victim"
	assert_ne 0 "$RC" "rm of a host file under -v /:/host"
	assert_contains "$ERR" "Permission denied" "what rm says"
	assert_eq keep "$(cat "$victim")" "the host file is still there"
	_docker run --rm -p 80:80 busybox true
	assert_eq 125 "$RC" "exit status of -p 80:80"
	assert_contains "$ERR" "ports below 1024" "the privileged-port message"
	_docker ps -a -q
	assert_eq "" "$OUT" "nothing left after the refused start"
	_service_stop
	assert_nothing_left "$T1" "$before" "after the attached runs and the service"
}

# _docker_tty CMD...: `docker CMD...` at a real terminal (script(1)) of 33
# rows and 101 columns; its stdin (the keys typed) stays open 3 s more.
_docker_tty() {
	local line
	printf -v line '%q ' docker "$@"
	capture as_user "$T1" DOCKER_HOST="unix://$(_sock)" TERM=xterm \
		script -qec "stty rows 33 cols 101; $line" /dev/null < <(cat; sleep 3)
}

test_docker_run_stdin_tty_entrypoint() {
	_service_start
	local input=$T_CASE_DIR/input
	printf 'data\nmore\n' >"$input"
	chmod 644 "$input"
	_docker run -i --rm busybox cat <"$input"
	assert_eq 0 "$RC" "docker run -i (stderr $(_show "$ERR"))"
	assert_eq "data
more" "$OUT" "stdin reaches the container, and its end ends cat"
	_docker run -i --rm busybox sh -c 'wc -l; exit 6' <"$input"
	assert_eq "2/6" "$OUT/$RC" "wc -l of the piped lines, and the exit code"
	_docker_tty run -it --rm busybox sh -c 'tty; stty size; exit 4' </dev/null
	assert_eq 4 "$RC" "docker run -it: the exit code (output $(_show "$OUT"))"
	assert_contains "$OUT" "/dev/pts/0" "docker run -it: the command has a terminal"
	assert_contains "$OUT" "33 101" "docker run -it: of the client's size from the start"
	_docker_tty run -it --rm busybox sh < <(printf 'echo typed-$((6*7))\nexit 5\n')
	assert_eq 5 "$RC" "docker run -it sh: exit 5 typed (output $(_show "$OUT"))"
	assert_contains "$OUT" "typed-42" "docker run -it sh: the typed command ran"
	_docker run --rm --entrypoint echo busybox from the entrypoint
	assert_eq "from the entrypoint" "$OUT" "docker run --entrypoint"
	_docker run --rm --entrypoint "" busybox echo none
	assert_eq "none" "$OUT" "docker run --entrypoint '' clears it"
	# a detached terminal resized through the API, as the CLI does on SIGWINCH
	_docker run -d -t --name dk-tty busybox sh -c 'while :; do stty size; sleep 0.1; done'
	assert_eq 0 "$RC" "docker run -d -t (stderr $(_show "$ERR"))"
	local code
	code=$(as_user "$T1" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$(_sock)" \
		-X POST 'http://d/v1.44/containers/dk-tty/resize?h=12&w=34')
	assert_eq 200 "$code" "POST /containers/dk-tty/resize"
	wait_until 50 eval '_docker logs dk-tty; [[ $OUT == *"12 34"* ]]' ||
		fail "the terminal's new size is not seen: $(_show "$OUT")"
	code=$(as_user "$T1" curl -s -o /dev/null -w '%{http_code}' --unix-socket "$(_sock)" \
		-X POST 'http://d/v1.44/containers/dk-tty/resize?h=x&w=34')
	assert_eq 400 "$code" "resize with a bad height"
	_docker rm -f dk-tty
	_service_stop
}

test_docker_detached_logs_stop_kill_rm() {
	_service_start
	_docker run -d --name dk-httpd -p 18082:80 busybox httpd -f -p 80
	assert_eq 0 "$RC" "docker run -d (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^[0-9a-f]{64}$' "docker run -d prints the id"
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --retry 20 --retry-connrefused --retry-delay 0 \
		--max-time 5 http://127.0.0.1:18082/)
	assert_eq 404 "$code" "busybox httpd answers through the published port"
	_docker stop -t 1 dk-httpd
	assert_eq 0 "$RC" "docker stop (stderr $(_show "$ERR"))"
	_docker inspect -f '{{.State.Status}}' dk-httpd
	assert_eq exited "$OUT" "docker inspect after stop"
	_docker rm dk-httpd
	assert_eq 0 "$RC" "docker rm"
	_docker run -d --name dk-sig busybox sh -c 'trap "echo got usr1" USR1; echo ready; while true; do sleep 0.1; done'
	wait_until 50 eval 'as_user "$T1" "$RLBPF" logs dk-sig 2>/dev/null | grep -q ready'
	_docker kill -s USR1 dk-sig
	assert_eq 0 "$RC" "docker kill -s USR1"
	wait_until 50 eval 'as_user "$T1" "$RLBPF" logs dk-sig 2>/dev/null | grep -q "got usr1"' ||
		fail "the trap did not run: $(_show "$(as_user "$T1" "$RLBPF" logs dk-sig 2>&1)")"
	_docker rm -f dk-sig
	assert_eq 0 "$RC" "docker rm -f of a running container"
	_docker run -d --name dk-logs busybox sh -c 'for i in 1 2 3; do echo line $i; echo err $i >&2; sleep 0.2; done'
	_docker logs -f dk-logs
	assert_eq 0 "$RC" "docker logs -f ends with the container"
	assert_eq "line 1
line 2
line 3" "$OUT" "docker logs -f: stdout"
	assert_eq "err 1
err 2
err 3" "$ERR" "docker logs -f: stderr"
	# the last two lines of both streams, as Docker's tail counts them
	_docker logs --tail 2 dk-logs
	assert_eq "line 3/err 3" "$OUT/$ERR" "docker logs --tail 2"
	_docker logs -t dk-logs
	assert_match "$OUT" '^20[0-9-]+T[0-9:.]+Z line 1' "docker logs -t"
	_docker rm dk-logs
	_service_stop
}

test_docker_memory_cap_oomkilled() {
	_need_mem_cap
	_service_start
	_docker run -d --name dk-hog --memory 32m busybox hog -r 500000 -n 20 -p 50
	assert_eq 0 "$RC" "docker run -d --memory 32m (stderr $(_show "$ERR"))"
	_docker wait dk-hog
	assert_eq 137 "$OUT" "docker wait: the hog was killed at its cap"
	_docker inspect -f '{{.State.OOMKilled}} {{.HostConfig.Memory}}' dk-hog
	assert_eq "true 33554432" "$OUT" "docker inspect: OOMKilled and the cap"
	_docker rm dk-hog
	_service_stop
}

test_docker_tag_rmi_restart_top() {
	_service_start
	rlbpf_run "$T1" --rm busybox true # the built-in image, in the store
	_docker tag busybox dk-box:v2
	assert_eq 0 "$RC" "docker tag (stderr $(_show "$ERR"))"
	_docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	assert_match "$OUT" "dk-box:v2 $(as_user "$T1" "$RLBPF" images -q busybox)" "the new tag names busybox's image"
	_docker rmi dk-box:v2
	assert_eq "Untagged: dk-box:v2" "$OUT" "docker rmi of a second tag untags it"
	_docker rmi dk-none:1
	assert_eq 1 "$RC" "docker rmi of nothing"
	assert_contains "$ERR" "no such image" "the message"
	_docker run -d --name dk-rs busybox sleep 60
	local pid1 pid2
	pid1=$(as_user "$T1" "$RLBPF" inspect -f '{{.State.Pid}}' dk-rs)
	_docker restart -t 1 dk-rs
	assert_eq 0 "$RC" "docker restart (stderr $(_show "$ERR"))"
	pid2=$(as_user "$T1" "$RLBPF" inspect -f '{{.State.Pid}} {{.State.Status}}' dk-rs)
	assert_ne "$pid1 running" "$pid2" "a new init after the restart"
	assert_match "$pid2" ' running$' "running after the restart"
	_docker top dk-rs
	assert_eq 0 "$RC" "docker top (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^PID +CPID +USER +HUSER +TIME +COMMAND' "docker top's titles: rlbpf top's"
	assert_match "$OUT" "
[0-9]+ +1 +root +$T1 +[0-9:]+ +sleep 60" "PID 1 inside is root inside and $T1 outside"
	_docker rm -f dk-rs
	_service_stop
}

test_docker_what_is_not_served_says_so() {
	_service_start
	_docker run --rm --privileged busybox true
	assert_eq 125 "$RC" "docker run --privileged's exit status"
	assert_contains "$ERR" "--privileged is not for rootless containers" "the refusal names what"
	_docker volume ls
	assert_ne 0 "$RC" "docker volume ls"
	assert_contains "$ERR" "does not serve GET /volumes yet" "the refusal names the route"
	_service_stop
}

# _api METHOD PATH [curl args...]: the HTTP status into $STATUS, the body
# into $BODY
_api() {
	local method=$1 path=$2 out
	shift 2
	out=$(as_user "$T1" curl -s --path-as-is -w '\n%{http_code}' --unix-socket "$(_sock)" \
		-X "$method" "$@" "http://d$path")
	STATUS=${out##*$'\n'}
	BODY=${out%$'\n'*}
}

test_docker_api_refuses_bad_requests() {
	_service_start
	head -c 2000000 /dev/zero | tr '\0' x >"$T_CASE_DIR/big"
	chmod 644 "$T_CASE_DIR/big"
	_api POST /v1.44/containers/create -H 'Content-Type: application/json' --data-binary @"$T_CASE_DIR/big"
	assert_eq 413 "$STATUS" "a create body over 1 MiB"
	_api POST /v1.44/containers/create -H 'Content-Type: application/json' -d '{'
	assert_eq 400 "$STATUS" "a create body that is not JSON"
	assert_contains "$BODY" '"message":"the body is not a JSON object' "its message"
	_api POST /v1.44/containers/create -d '{"Image":"busybox","Cmd":"ls"}'
	assert_eq "400 {\"message\":\"Cmd: an array of strings is needed\"}" "$STATUS $BODY" \
		"a Cmd that is not an array"
	_api GET '/v1.44/containers/..%2F..%2F..%2Fetc/json'
	assert_eq 501 "$STATUS" "a ref with slashes is no container's path"
	_api GET '/v1.44/containers/../../etc/passwd'
	assert_eq 501 "$STATUS" "a path that climbs is not served"
	_api GET '/v1.44/containers/../json'
	assert_eq "404 {\"message\":\"No such container: ..\"}" "$STATUS $BODY" "the ref .. is only a name"
	_api GET /_ping -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' y)"
	[ "$STATUS" != 200 ] || fail "headers over the connection's 64 KiB were served"
	# 70 connections at once: at most 64 are taken (a thread each); the
	# service serves again once they are gone
	local pid
	pid=$(pgrep -u "$T1" -f rlbpf-api | head -n 1)
	as_user "$T1" python3 - "$(_sock)" "$pid" >"$T_CASE_DIR/conns" 2>&1 <<'PY'
import os, socket, sys, time
held = []
for _ in range(70):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
time.sleep(1)
print(len(os.listdir(f"/proc/{sys.argv[2]}/task")))
PY
	local threads
	threads=$(cat "$T_CASE_DIR/conns")
	[[ $threads =~ ^[0-9]+$ ]] && [ "$threads" -le 67 ] && [ "$threads" -ge 60 ] ||
		fail "threads with 70 connections open: $(_show "$threads") (expected 64 and the service's own three)"
	_api GET /_ping
	assert_eq "200 OK" "$STATUS $BODY" "the service serves after them"
	_service_stop
}

test_docker_other_users_cannot_connect() {
	_service_start
	capture as_user "$T2" DOCKER_HOST="unix://$(_sock)" docker ps
	assert_eq 1 "$RC" "exit status of another user's docker ps"
	assert_contains "$ERR" "permission denied" "another user is refused at the socket"
	_service_stop
}

test_docker_service_bad_arguments() {
	userspace_only
	capture as_user "$T1" "$RLBPF" system service --timeout soon
	assert_eq 125 "$RC" "exit status of a bad --timeout"
	assert_contains "$ERR" "invalid --timeout 'soon'" "the message for a bad --timeout"
	capture as_user "$T1" "$RLBPF" system service tcp://0.0.0.0:2375
	assert_eq 125 "$RC" "exit status of a TCP address"
	assert_contains "$ERR" "only unix sockets are served" "the message for a TCP address"
	capture as_user "$T1" "$RLBPF" system frobnicate
	assert_eq 125 "$RC" "exit status of an unknown subcommand"
	assert_false "nothing left listening" test -e "$(_sock)"
}
