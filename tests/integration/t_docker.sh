# shellcheck shell=bash
# rlbpf system service: the real docker CLI (a client only) against the
# Docker Engine API that rlbpf serves, as the user with DOCKER_HOST set.

_sock() { echo "$(user_runtime_dir "$T1")/rlbpf.sock"; }
_docker() { capture as_user "$T1" DOCKER_HOST="unix://$(_sock)" docker "$@"; }

# _service_start: `rlbpf system service` as T1, in the background, until
# its socket answers.
_service_start() {
	command -v docker >/dev/null || skip "no docker CLI on the PATH"
	as_user "$T1" "$RLBPF" system service >"$T_CASE_DIR/service.log" 2>&1 &
	SERVICE_JOB=$!
	wait_until 50 test -S "$(_sock)" || fail "no socket: $(_show "$(cat "$T_CASE_DIR/service.log")")"
}

_service_stop() {
	pkill -TERM -u "$T1" -f rlbpf-api || true
	wait "$SERVICE_JOB" 2>/dev/null || true
	assert_false "the socket is gone after the service" test -e "$(_sock)"
}

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
	_docker images --format '{{.Repository}}:{{.Tag}}'
	assert_contains "$OUT" "busybox:latest" "docker images"
	as_user "$T1" "$RLBPF" rm -f dk-web dk-done >/dev/null
	_service_stop
}

test_docker_what_is_not_served_says_so() {
	_service_start
	_docker run --rm busybox true
	assert_eq 125 "$RC" "docker run's exit status"
	assert_contains "$ERR" "does not serve POST /containers/create yet" "the refusal names the route"
	assert_not_contains "$ERR" "Unable to find image" "not taken for a missing image (no pull)"
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
