# shellcheck shell=bash
# What the t_docker*.sh cases share: `rlbpf system service` as T1, and the
# docker CLI (a client only) pointed at it with DOCKER_HOST.

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
