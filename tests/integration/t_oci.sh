# shellcheck shell=bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# rlbpf-runtime as an OCI runtime: its own lifecycle as runc's callers drive
# it, then Debian's Podman (rootless, as rlbpf-t1) and containerd (as root)
# driving it, with limits kept by rlbpfd where they ask for them.

RT=$T_PREFIX/bin/rlbpf-runtime

# ---- the runtime itself, as root, on a bundle of the built-in image

# _bundle DIR ARGS-JSON: a bundle whose rootfs is the busybox image's layer
# and whose config is runc's default with process.args set.
_bundle() {
	local dir=$1 args=$2 layer
	mkdir -p "$dir/rootfs" "$dir/img"
	tar -xf "$T_PREFIX/share/rlbpf/busybox.tar" -C "$dir/img"
	layer=$(jq -r '.[0].Layers[0]' "$dir/img/manifest.json")
	tar -xf "$dir/img/$layer" -C "$dir/rootfs"
	(cd "$dir" && runc spec)
	jq --argjson a "$args" '.process.args = $a | .process.terminal = false' "$dir/config.json" >"$dir/c.json"
	mv "$dir/c.json" "$dir/config.json"
}

_rt() { capture "$RT" --root "$T_CASE_DIR/state" "$@"; }

_status() { "$RT" --root "$T_CASE_DIR/state" state "$1" 2>/dev/null | jq -r .status; }

test_runtime_lifecycle_as_runc_callers_drive_it() {
	command -v runc >/dev/null || skip "runc (for 'runc spec') is not installed"
	local b=$T_CASE_DIR/bundle
	_bundle "$b" '["sh","-c","echo out; sleep 30; true"]'
	_rt create --bundle "$b" --pid-file "$T_CASE_DIR/pid" c1 </dev/null
	assert_eq 0 "$RC" "create (stderr $(_show "$ERR"))"
	assert_eq created "$(_status c1)" "state after create"
	local pid
	pid=$(cat "$T_CASE_DIR/pid")
	assert_match "$pid" '^[0-9]+$' "the pid file: a decimal pid, no newline"
	assert_eq "$pid" "$("$RT" --root "$T_CASE_DIR/state" state c1 | jq -r .pid)" "state's pid is the pid file's"
	_rt start c1
	assert_eq 0 "$RC" "start (stderr $(_show "$ERR"))"
	assert_eq running "$(_status c1)" "state after start"
	_rt exec c1 sh -c 'echo in-exec; cat /proc/1/cmdline | tr "\0" " "'
	assert_eq "in-exec"$'\n'"sh -c echo out; sleep 30; true " "$OUT" "exec sees the container's PID 1"
	_rt exec c1 nosuch
	assert_eq 127 "$RC" "exec of a missing program"
	assert_contains "$ERR" 'executable file not found in $PATH' "runc's words for it"
	_rt delete c1
	assert_eq 1 "$RC" "delete of a running container without --force"
	assert_contains "$ERR" "is not stopped" "the refusal"
	_rt kill c1 KILL
	assert_eq 0 "$RC" "kill by signal name"
	wait_until 100 eval '[ "$(_status c1)" = stopped ]' || fail "the container did not stop"
	_rt kill c1 TERM
	assert_contains "$ERR" "container not running" "kill of a stopped container"
	_rt delete c1
	assert_eq 0 "$RC" "delete (stderr $(_show "$ERR"))"
	_rt state c1
	assert_eq 1 "$RC" "state of a deleted container"
	assert_contains "$ERR" "does not exist" "runc's words"
	_rt delete --force c1
	assert_eq "0 " "$RC $ERR" "delete --force of a missing container is quiet, as runc's"
	assert_eq "" "$(ls "$T_CASE_DIR/state")" "nothing left in the state directory"
}

test_runtime_pauses_resumes_and_updates_the_cgroups_it_made() {
	command -v runc >/dev/null || skip "runc (for 'runc spec') is not installed"
	local b=$T_CASE_DIR/bundle cg=/rlbpf-it-$$-pause/c1 n1 n2
	# the init's loop forks nothing (read -t on a fifo of its own for the
	# pause between counts; made anew, as c2 below runs in the same root
	# and an error of its init would land in a later command's stderr): under --pids-limit 4 below, a fork of its own
	# that failed would end it. While /quiet exists it writes nothing: a
	# page cache page charged while the hog killed at 32 MiB is still being
	# freed makes the kernel's OOM killer take the init next.
	_bundle "$b" '["sh","-c","rm -f /f; mkfifo /f; exec 3<>/f; i=0; while true; do i=$((i+1)); [ -e /quiet ] || echo $i >/n; read -t 0.05 x <&3; done"]'
	jq --arg cg "$cg" '.root.readonly = false | .linux.cgroupsPath = $cg' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	_rt run -d --bundle "$b" c1 </dev/null
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	_rt exec c1 hog -r 500000 -n 20 -p 20
	assert_eq 0 "$RC" "a hog of 80 MiB runs to its end before any limit"
	_rt pause c1
	assert_eq 0 "$RC" "pause (stderr $(_show "$ERR"))"
	assert_eq paused "$(_status c1)" "state after pause"
	n1=$(cat "$b/rootfs/n")
	sleep 0.3
	n2=$(cat "$b/rootfs/n")
	assert_eq "$n1" "$n2" "a paused container makes no progress"
	_rt exec c1 true
	assert_contains "$ERR" "cannot exec in a paused container" "exec into a paused container"
	_rt delete c1
	assert_contains "$ERR" "not stopped: paused" "delete of a paused container without --force"
	_rt resume c1
	assert_eq 0 "$RC" "resume (stderr $(_show "$ERR"))"
	assert_eq running "$(_status c1)" "state after resume"
	wait_until 100 eval '[ "$(cat "$b/rootfs/n")" != "$n2" ]' || fail "the container did not go on after resume"
	_rt update --memory 32m --pids-limit 4 c1
	assert_eq 0 "$RC" "update (stderr $(_show "$ERR"))"
	touch "$b/rootfs/quiet"
	_rt exec c1 hog -r 500000 -n 20 -p 20
	assert_eq 137 "$RC" "the same hog is killed once update set --memory 32m"
	rm -f "$b/rootfs/quiet"
	_rt exec c1 sh -c 'for i in 1 2 3 4 5 6; do sleep 1 & done; wait'
	assert_contains "$ERR" "can't fork" "update --pids-limit 4 holds"
	_rt update --resources - c1 <<<'{"pids": {"limit": 64}}'
	assert_eq 0 "$RC" "update --resources - (stderr $(_show "$ERR"))"
	_rt exec c1 sh -c 'for i in 1 2 3 4 5 6; do sleep 1 & done; wait; echo forked'
	assert_eq forked "$OUT" "the limit from stdin replaced the flag's"
	_rt update --memory 1x c1
	assert_contains "$ERR" "invalid --memory '1x'" "a bad size is refused in one line"
	_rt pause c1
	_rt delete --force c1
	assert_eq 0 "$RC" "delete --force of a paused container (stderr $(_show "$ERR"))"
	assert_true "its v1 cgroup is gone" test ! -e "/sys/fs/cgroup/pids$cg"
	assert_true "its v2 cgroup is gone" test ! -e "/sys/fs/cgroup$cg"
	local d
	for d in /sys/fs/cgroup/*/rlbpf-it-$$-pause /sys/fs/cgroup/rlbpf-it-$$-pause; do
		[ -d "$d" ] && rmdir "$d"
	done
	# without cgroups of its own there is nothing to freeze
	jq 'del(.linux.cgroupsPath) | .linux.resources = {}' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	_rt run -d --bundle "$b" c2 </dev/null
	_rt pause c2
	assert_eq 1 "$RC" "pause of a container without a cgroup of its own"
	assert_contains "$ERR" "no freezer cgroup of its own" "the refusal says why"
	_rt update --pids-limit 5 c2
	assert_contains "$ERR" "no cgroups of its own" "so does update's"
	_rt delete --force c2
	assert_eq "" "$(ls "$T_CASE_DIR/state")" "nothing left in the state directory"
}

test_runtime_refuses_what_it_cannot_honour() {
	command -v runc >/dev/null || skip "runc (for 'runc spec') is not installed"
	local b=$T_CASE_DIR/bundle
	_bundle "$b" '["true"]'
	jq '.linux.namespaces += [{"type": "time"}]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	_rt create --bundle "$b" bad1 </dev/null
	assert_eq 1 "$RC" "create with an unknown namespace type"
	assert_contains "$ERR" "linux.namespaces: unknown type time" "the message names the field"
	jq '.linux.namespaces -= [{"type": "time"}] | .process.apparmorProfile = "x"' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	_rt create --bundle "$b" bad2 </dev/null
	assert_contains "$ERR" "apparmorProfile" "an LSM profile is refused, not dropped"
	_rt create --bundle "$b" 'bad/id' </dev/null
	assert_contains "$ERR" "invalid container id" "an id with a slash"
	_rt --systemd-cgroup list
	assert_eq 1 "$RC" "--systemd-cgroup is refused clearly"
	assert_eq "" "$(ls "$T_CASE_DIR/state")" "nothing left in the state directory"
	assert_eq "" "$(pgrep -f "$T_CASE_DIR/bundle" || true)" "no process left"
}

# ---- rootless Podman, as rlbpf-t1

# A home for Podman as rlbpf-t1 with rlbpf-runtime as its runtime, by name,
# so that it is given --log-format=json; cgroupfs, no systemd. The file is
# in HOME's .config, not in XDG_CONFIG_HOME: conmon runs Podman's cleanup
# with HOME alone, and a cleanup that cannot find the runtime leaves
# `podman run` waiting out its 20 s conmon timeout.
_podman_home() {
	local home=$T_TMP/home/$T1/podman
	if [ ! -f "$home/.config/containers/containers.conf" ]; then
		install -d -o "$T1" "$home" "$home/.config" "$home/.config/containers"
		cat >"$home/.config/containers/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "rlbpf-runtime"
runtime_supports_json = ["crun", "runc", "rlbpf-runtime"]
runtime_supports_nocgroups = ["crun", "rlbpf-runtime"]

[engine.runtimes]
rlbpf-runtime = ["$RT"]
EOF
		chown "$T1" "$home/.config/containers/containers.conf"
	fi
	echo "$home"
}

# _podman ARG...: podman as rlbpf-t1.
_podman() { as_user "$T1" HOME="$(_podman_home)" podman "$@"; }

# Podman keeps a pause process for its user namespace: catatonit where it
# is installed (podman only recommends it), else podman's own, named
# "podman pause". The suite's later cases expect nothing of the user's
# left running.
_podman_done() {
	_podman rm -a -f -t 0 >/dev/null 2>&1
	pkill -KILL -u "$T1" -x 'catatonit|podman pause' 2>/dev/null || true
}

_need_podman() {
	command -v podman >/dev/null || skip "podman is not installed (tools/deps.sh test installs it)"
	command -v conmon >/dev/null || skip "conmon is not installed"
	_podman image exists localhost/busybox 2>/dev/null ||
		_podman load -i "$T_PREFIX/share/rlbpf/busybox.tar" >/dev/null 2>&1 ||
		fail "podman load of the built-in image failed"
}

test_podman_runs_containers_through_it() {
	_need_podman
	capture _podman run --rm localhost/busybox echo hello
	assert_eq "0 hello" "$RC $OUT" "podman run --rm (stderr $(_show "$ERR"))"
	local c
	for c in 0 1 3; do
		capture _podman run --rm localhost/busybox sh -c "exit $c"
		assert_eq "$c" "$RC" "exit code $c"
	done
	capture _podman run --rm localhost/busybox /nonexistent
	assert_eq 127 "$RC" "a missing program"
	capture _podman run --rm localhost/busybox /etc/passwd
	assert_eq 126 "$RC" "a file that cannot be executed"
	capture _podman run --rm --no-such-flag localhost/busybox true
	assert_eq 125 "$RC" "podman's own error"
	capture _podman run --rm -v /:/host localhost/busybox sh -c 'whoami; rm /host/usr/bin/sh && echo removed'
	assert_eq root "$(head -n 1 <<<"$OUT")" "whoami inside"
	assert_contains "$ERR" "Permission denied" "the host's files stay the host's"
	assert_true "/usr/bin/sh is intact" [ -e /usr/bin/sh ]
	_podman_done
}

test_podman_detached_exec_logs_signals_stop_restart() {
	_need_podman
	capture _podman run -d --name pd localhost/busybox sh -c 'trap "echo got-usr1" USR1; echo started; while true; do sleep 0.1; done'
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	capture _podman exec pd sh -c 'echo exec-ok $(id -u)'
	assert_eq "exec-ok 0" "$OUT" "exec"
	local pid
	pid=$(_podman inspect -f '{{.State.Pid}}' pd)
	assert_eq "$T1" "$(ps -o user= -p "$pid")" "the container's init belongs to the user on the host"
	capture _podman kill -s USR1 pd
	assert_eq 0 "$RC" "kill -s USR1"
	wait_until 50 eval '[[ "$(_podman logs pd 2>&1)" == *got-usr1* ]]' || fail "the trap did not run: $(_podman logs pd 2>&1)"
	capture _podman stop -t 1 pd
	assert_eq 0 "$RC" "stop"
	assert_match "$(_podman ps -a --format '{{.Names}} {{.Status}}')" 'pd Exited' "ps -a after stop"
	capture _podman restart -t 1 pd
	assert_eq 0 "$RC" "restart (stderr $(_show "$ERR"))"
	assert_match "$(_podman ps --format '{{.Names}} {{.Status}}')" 'pd Up' "ps after restart"
	capture _podman rm -f -t 1 pd
	assert_eq 0 "$RC" "rm -f"
	assert_eq "" "$(_podman ps -aq)" "no container left"
	_podman_done
}

test_podman_terminal_and_published_port() {
	_need_podman
	# Podman's pause process made first, outside the terminal
	_podman version >/dev/null 2>&1
	# a real terminal for podman -it, from script(1); its stdin stays open
	# (an EOF at once would reach the container's terminal as ^D)
	capture as_user "$T1" HOME="$(_podman_home)" \
		script -qec "podman run --rm -it localhost/busybox sh -c 'tty; echo done'" /dev/null < <(sleep 20)
	assert_contains "$OUT" "/dev/pts/0" "run -it gets a terminal of its own (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "done" "and runs to the end"
	local port=18480
	capture _podman run -d --name web -p "$port:8080" localhost/busybox sh -c 'mkdir -p /w && echo hi-from-web >/w/index.html && exec httpd -f -p 8080 -h /w'
	assert_eq 0 "$RC" "run -d -p (stderr $(_show "$ERR"))"
	wait_until 100 eval "curl -sf -m 2 http://127.0.0.1:$port/index.html >/dev/null" || true
	assert_eq hi-from-web "$(curl -s -m 5 "http://127.0.0.1:$port/index.html")" "the published port answers curl"
	_podman_done
}

test_podman_annotation_memory_limit_is_kept_by_the_agent() {
	_need_agent
	_need_podman
	[ -n "${T_AGENT_MEM_CGROUP:-}" ] || skip "rlbpfd has no memory controller here"
	trace_start "$T1" --events oom
	capture _podman run --name hogp --annotation io.rlbpf.memory=32m localhost/busybox hog -r 500000 -n 20 -p 50
	assert_eq 137 "$RC" "the hog past 32m ends as Docker's would"
	local rows
	rows=$(grep -c '^row' <<<"$OUT")
	assert_true "about 8 rows before the kill, got $rows" [ "$rows" -ge 7 -a "$rows" -le 8 ]
	wait_event '.event == "oom_kill" and .enforcer == "agent-cgroup"' "the container's oom_kill in rlbpf trace"
	trace_stop "$T1"
	assert_eq true "$(_podman inspect -f '{{.State.OOMKilled}}' hogp)" "podman inspect shows OOMKilled"
	_podman_done
}

# ---- containerd, as root, with its own state, socket and image store

_containerd() {
	command -v containerd >/dev/null || skip "containerd is not installed (tools/deps.sh test installs it)"
	local d=$T_CASE_DIR/containerd
	mkdir -p "$d"
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$d/sock"
EOF
	containerd --config "$d/config.toml" >"$d/log" 2>&1 &
	CONTAINERD_PID=$!
	wait_until 100 test -S "$d/sock" || fail "containerd did not start: $(tail -n 3 "$d/log")"
	CTR=(ctr --address "$d/sock")
	"${CTR[@]}" image import "$T_PREFIX/share/rlbpf/busybox.tar" >/dev/null || fail "ctr image import failed"
}

_containerd_stop() {
	kill "$CONTAINERD_PID" 2>/dev/null
	wait "$CONTAINERD_PID" 2>/dev/null
	# the shims are containerd's children no more; they go with their tasks
	pkill -f "containerd-shim-runc-v2 .*$T_CASE_DIR" 2>/dev/null || true
}

test_containerd_runs_containers_through_it_with_a_memory_limit() {
	_need_agent
	_containerd
	local img=docker.io/library/busybox:latest
	capture "${CTR[@]}" run --rm --runc-binary "$RT" "$img" c1 sh -c 'echo hello; id -u'
	assert_eq "0 hello"$'\n'"0" "$RC $OUT" "ctr run (stderr $(_show "$ERR"))"
	capture "${CTR[@]}" run --rm --runc-binary "$RT" --memory-limit 33554432 "$img" c2 hog -r 500000 -n 20 -p 20
	assert_eq 137 "$RC" "the hog past --memory-limit 32 MiB is killed"
	assert_true "it got as far as the limit lets it" grep -q '^row 7' <<<"$OUT"
	capture "${CTR[@]}" run -d --runc-binary "$RT" --memory-limit 33554432 "$img" c3 sleep 60
	assert_eq 0 "$RC" "ctr run -d (stderr $(_show "$ERR"))"
	capture "${CTR[@]}" task pause c3
	assert_eq 0 "$RC" "task pause (stderr $(_show "$ERR"))"
	assert_match "$("${CTR[@]}" task ls)" 'c3 +[0-9]+ +PAUSED' "task ls after pause"
	capture "${CTR[@]}" task resume c3
	assert_eq 0 "$RC" "task resume (stderr $(_show "$ERR"))"
	assert_match "$("${CTR[@]}" task ls)" 'c3 +[0-9]+ +RUNNING' "task ls after resume"
	capture "${CTR[@]}" task exec --exec-id e1 c3 sh -c 'hog -r 500000 -n 20 -p 20; echo "hog: $?"'
	assert_contains "$OUT" "hog: 137" "a hog started with exec is held by the same limit"
	capture "${CTR[@]}" task kill -s KILL c3
	assert_eq 0 "$RC" "task kill"
	wait_until 100 eval '[[ "$("${CTR[@]}" task ls 2>/dev/null)" == *STOPPED* ]]' || fail "c3 did not stop"
	capture "${CTR[@]}" task delete c3
	assert_eq 0 "$RC" "task delete (stderr $(_show "$ERR"))"
	capture "${CTR[@]}" container delete c3
	assert_eq 0 "$RC" "container delete"
	_containerd_stop
}
