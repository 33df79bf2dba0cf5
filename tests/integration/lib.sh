# shellcheck shell=bash
# Helpers for the integration cases (sourced by run.sh into each case's own
# bash process; see run.sh for the variables it exports).
#
# A case is a function `test_NAME` in tests/integration/t_*.sh. It runs as
# root and runs rlbpf as the test users with as_user. Assertions never stop
# the case: each failure prints one line (where, what, expected vs got) and
# marks the case failed, so one run shows every broken promise. A case that
# cannot run on this machine calls `skip "reason"` at its top level.

# Each command run as a test user is killed if it hangs this long (seconds).
# This guards against hangs only; nothing asserts on durations.
: "${T_CMD_TIMEOUT:=120}"

# shellcheck disable=SC2034 # used by the cases
T1=rlbpf-t1 # has subordinate ranges
# shellcheck disable=SC2034
T2=rlbpf-t2 # has none

# ---- accounting (files in the case's directory, read back by run.sh)

_where() {
	# The first frame outside this file: the line of the case that asserted.
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[$i]}" != "${BASH_SOURCE[0]}" ]; then
			echo "${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}"
			return
		fi
	done
	echo "?"
}

_counted() { echo . >>"$T_CASE_DIR/asserts"; }

# fail MESSAGE: records a failure and goes on.
fail() {
	_counted
	printf '    FAIL %s: %s\n' "$(_where)" "$*" | tee -a "$T_CASE_DIR/failures"
}

# pass: records an assertion that held (for checks written by hand).
pass() { _counted; }

# skip REASON: this case cannot run here; reported as skipped, never passed.
skip() {
	printf '%s\n' "$*" >"$T_CASE_DIR/skipped"
	exit 0
}

# Shows a value on one line: newlines as \n, so expected/got stay readable.
_show() {
	local s=$1
	if [ ${#s} -gt 600 ]; then s="${s:0:600}..."; fi
	s=${s//$'\n'/\\n}
	printf "'%s'" "${s//$'\t'/\\t}"
}

# assert_eq EXPECTED GOT WHAT
assert_eq() {
	if [ "$1" = "$2" ]; then pass; else fail "$3: expected $(_show "$1"), got $(_show "$2")"; fi
}

# assert_ne UNEXPECTED GOT WHAT
assert_ne() {
	if [ "$1" != "$2" ]; then pass; else fail "$3: expected anything but $(_show "$1")"; fi
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains() {
	case "$1" in
	*"$2"*) pass ;;
	*) fail "$3: expected to contain $(_show "$2"), got $(_show "$1")" ;;
	esac
}

# assert_not_contains HAYSTACK NEEDLE WHAT
assert_not_contains() {
	case "$1" in
	*"$2"*) fail "$3: expected not to contain $(_show "$2"), got $(_show "$1")" ;;
	*) pass ;;
	esac
}

# assert_match HAYSTACK ERE WHAT: some line of HAYSTACK matches the regex.
assert_match() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		pass
	else
		fail "$3: expected a line matching /$2/, got $(_show "$1")"
	fi
}

# assert_true WHAT CMD...: CMD (run as root) succeeds.
assert_true() {
	local what=$1
	shift
	if "$@"; then pass; else fail "$what: '$*' failed"; fi
}

# assert_false WHAT CMD...
assert_false() {
	local what=$1
	shift
	if "$@"; then fail "$what: '$*' succeeded"; else pass; fi
}

# ---- running things as the test users

# Where run.sh put each user's private directories.
user_runtime_dir() { echo "$T_TMP/home/$1/run"; }
user_data_dir() { echo "$T_TMP/home/$1/data"; }

# as_user USER [VAR=VALUE...] CMD...
# Runs CMD as USER in a clean environment, as a user at a terminal would have
# it: HOME, PATH (with the installed rlbpf), XDG_RUNTIME_DIR (a 0700 directory
# of the user's own), plus the VAR=VALUE given. Signals are reset to their
# defaults first: a background job of this script would otherwise start with
# SIGINT ignored, and the container would inherit that.
as_user() {
	local user=$1 home
	shift
	local -a vars=()
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	[ -z "${T_OVERLAY:-}" ] || vars+=("RLBPF_OVERLAY=$T_OVERLAY")
	local gid
	IFS=: read -r _ _ _ gid _ home _ < <(getent passwd "$user")
	# where run.sh delegated a cgroup v2 tree to the user, the user's
	# processes start in its leaf, as in a systemd session
	local -a enter=()
	if [ "$user" = "$T1" ] && [ -n "${T_CGROUP2_SESSION:-}" ]; then
		# shellcheck disable=SC2016 # for the inner sh
		enter=(sh -c 'echo $$ >"$0" && exec "$@"' "$T_CGROUP2_SESSION/cgroup.procs")
	fi
	# setpriv, not runuser: the same credentials (checked: uids, gids,
	# groups, no capabilities) without a PAM session per command, which
	# costs a tenth of a second each in a TCG guest
	"${enter[@]}" setpriv --reuid="$user" --regid="$gid" --init-groups \
		env -i --default-signal \
		HOME="${home:-/}" USER="$user" LOGNAME="$user" \
		PATH="$T_PREFIX/bin:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 \
		XDG_RUNTIME_DIR="$(user_runtime_dir "$user")" \
		XDG_DATA_HOME="$(user_data_dir "$user")" \
		"${vars[@]}" timeout -k 10 "$T_CMD_TIMEOUT" "$@"
}

# capture CMD...: runs CMD (usually as_user ...), stdin from /dev/null unless
# redirected by the caller, and sets OUT, ERR (trailing newlines stripped)
# and RC. Never fails.
capture() {
	local o="$T_CASE_DIR/out" e="$T_CASE_DIR/err"
	RC=0
	"$@" >"$o" 2>"$e" || RC=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
}

# assert_exit CODE CMD...: captures CMD and checks its exit status. On a
# mismatch the failure line shows what it printed.
assert_exit() {
	local want=$1
	shift
	capture "$@"
	if [ "$RC" = "$want" ]; then
		pass
	else
		fail "exit status of '$(_cmdline "$@")': expected $want, got $RC; stdout $(_show "$OUT"), stderr $(_show "$ERR")"
	fi
}

# The command line without the as_user plumbing, for messages.
_cmdline() {
	local s="$*"
	s=${s/#as_user /}
	s=${s//$RLBPF/rlbpf}
	echo "$s"
}

# rlbpf_run USER ARG...: `rlbpf run ARG...` as USER, captured.
rlbpf_run() {
	local user=$1
	shift
	capture as_user "$user" "$RLBPF" run "$@"
}

# ---- what the test users have and own

# subid_start FILE USER: the first id of USER's range in FILE.
subid_start() {
	local uid
	uid=$(id -u "$2")
	awk -F: -v n="$2" -v u="$uid" 'NF == 3 && ($1 == n || $1 == u) { print $2; exit }' "$1"
}

# user_pids USER: processes running as USER or as one of USER's subordinate
# uids (container users other than root show up as those on the host).
# Run after every case: bash builtins only, since each program started costs
# a tenth of a second in a vmtest guest under TCG.
declare -gA _user_uid_range=()
user_pids() {
	local range=${_user_uid_range[$1]:-} uid start count
	if [ -z "$range" ]; then
		uid=$(id -u "$1")
		start=$(subid_start /etc/subuid "$1")
		count=$(awk -F: -v n="$1" -v u="$uid" 'NF == 3 && ($1 == n || $1 == u) { print $3; exit }' /etc/subuid)
		range="$uid ${start:-0} ${count:-0}"
		_user_uid_range[$1]=$range
	fi
	read -r uid start count <<<"$range"
	local status line state euid pid
	for status in /proc/[0-9]*/status; do
		state="" euid=""
		while read -r line; do
			case $line in
			State:*) state=${line#State:} ;;
			Uid:*)
				read -r _ euid _ <<<"${line#Uid:}"
				break
				;;
			esac
		done 2>/dev/null <"$status"
		# Zombies have ended; only their parent's reaping is left to happen.
		[ -n "$euid" ] || continue
		case $state in *Z*) continue ;; esac
		if [ "$euid" = "$uid" ] || { [ "$euid" -ge "$start" ] && [ "$euid" -lt $((start + count)) ]; }; then
			pid=${status#/proc/}
			echo "${pid%/status}"
		fi
	done
}

# describe_pids PID...: one line each, for failure messages.
describe_pids() {
	[ $# -gt 0 ] || return 0
	ps -o pid=,uid=,args= -p "$(echo "$@" | tr ' ' ',')" 2>/dev/null | tr '\n' ';'
}

# kill_user_procs USER: SIGKILL everything of USER's (and its sub-ids').
kill_user_procs() {
	local pids
	pids=$(user_pids "$1")
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

# wait_until TRIES CMD...: polls CMD every 0.1 s, at most TRIES times. A guard
# against hangs, not a measure of speed: callers give generous counts.
wait_until() {
	local tries=$1
	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

_no_user_pids() { [ -z "$(user_pids "$1")" ]; }

# assert_no_processes USER WHAT: nothing of USER's runs any more. A process
# that is still on its way out gets a few seconds to go.
assert_no_processes() {
	if wait_until 100 _no_user_pids "$1"; then
		pass
	else
		# shellcheck disable=SC2046
		fail "$2: processes of $1 left behind: $(describe_pids $(user_pids "$1"))"
	fi
}

# The container state directories of USER, one per line, sorted.
state_dirs() {
	local d
	d="$(user_runtime_dir "$1")/rlbpf/containers"
	[ -d "$d" ] || return 0
	find "$d" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
}

# snapshot USER: what rlbpf may leave behind for USER, to compare before and
# after a run: state directories, and files of the user's in /tmp and
# /dev/shm.
snapshot() {
	local uid
	uid=$(id -u "$1")
	state_dirs "$1" | sed 's/^/state /'
	find /tmp /dev/shm -mindepth 1 -maxdepth 1 -uid "$uid" -printf 'tmp %p\n' 2>/dev/null | sort
}

# assert_nothing_left USER BEFORE WHAT: no new state, temporary files or
# processes since snapshot BEFORE was taken.
assert_nothing_left() {
	local now
	now=$(snapshot "$1")
	if [ "$now" = "$2" ]; then
		pass
	else
		fail "$3: left behind: $(_show "$(comm -13 <(echo "$2") <(echo "$now"))")"
	fi
	assert_no_processes "$1" "$3"
}

# new_state_dir USER BEFORE: the one state directory that is not in BEFORE
# (a state_dirs listing), as a full path; empty when none.
new_state_dir() {
	local name
	name=$(comm -13 <(echo "$2") <(state_dirs "$1") | grep -v '^$' | head -n 1)
	[ -z "$name" ] || echo "$(user_runtime_dir "$1")/rlbpf/containers/$name"
}

# scratch_dir NAME OWNER MODE: a fresh directory under the run's tmp.
scratch_dir() {
	local d="$T_TMP/scratch/$1"
	mkdir -p "$d"
	chown "$2" "$d"
	chmod "$3" "$d"
	echo "$d"
}

# ---- the agent (run.sh starts it for the suite) and `rlbpf trace`

_need_agent() {
	[ -z "${T_AGENT_OFF:-}" ] || skip "no agent: $T_AGENT_OFF"
	command -v jq >/dev/null || skip "jq is needed to read the JSON events"
}

# For cases that need rlbpfd's memory cap (or a delegated cgroup).
# _need_ebpf_cap: for a case that asks for the eBPF cap itself
# (--memory-enforce ebpf), whoever keeps caps by default.
_need_ebpf_cap() {
	_need_agent
	[ -z "${T_MEM_CAP_OFF:-}" ] || skip "$T_MEM_CAP_OFF"
}

_need_mem_cap() {
	_need_agent
	# only the eBPF cap can be missing: a cgroup's holds where there is one
	[ -z "${T_MEM_CAP_OFF:-}" ] || [ "$(memory_enforcer "${1:-$T1}")" != ebpf ] ||
		skip "$T_MEM_CAP_OFF"
}

# trace_start USER ARG...: `rlbpf trace --json ARG...` as USER in the
# background, into $T_CASE_DIR/trace.out (stderr trace.err). Waits until the
# agent has the subscription (a second is plenty; nothing asserts on time).
trace_start() {
	local user=$1
	shift
	as_user "$user" "$RLBPF" trace --json "$@" >"$T_CASE_DIR/trace.out" 2>"$T_CASE_DIR/trace.err" &
	TRACE_JOB=$!
	sleep 1
}

# The rlbpf process of the trace (under setpriv, env and timeout).
_trace_pid() { pgrep -n -u "$1" -f "$RLBPF trace"; }

# trace_stop USER: Ctrl-C for the trace; it must end by itself, status 0.
trace_stop() {
	local pid rc=0
	pid=$(_trace_pid "$1")
	[ -n "$pid" ] && kill -INT "$pid"
	wait "$TRACE_JOB" || rc=$?
	assert_eq 0 "$rc" "exit status of rlbpf trace after Ctrl-C (stderr $(_show "$(cat "$T_CASE_DIR/trace.err")"))"
}

# events JQ-FILTER: the trace's events that match, one compact object a line.
events() { jq -c "select($1)" "$T_CASE_DIR/trace.out" 2>/dev/null; }
_has_event() { [ -n "$(events "$1")" ]; }
# wait_event JQ-FILTER WHAT: waits (generously) for such an event.
wait_event() {
	if wait_until 100 _has_event "$1"; then
		pass
	else
		fail "$2: no event matching '$1' in the trace: $(_show "$(cat "$T_CASE_DIR/trace.out")") (stderr $(_show "$(cat "$T_CASE_DIR/trace.err")"))"
	fi
}

# Raw protocol client, for what `rlbpf` itself would never send, readable
# by the test users; `raw USER CMD ARG...` runs it as USER.
_raw_client() {
	cat >"$T_CASE_DIR/raw.py" <<'PY'
import os, socket, struct, sys
SOCK = "/run/rlbpf/rlbpfd.sock"
def hdr(t, l, seq=1, magic=0x50424c52, ver=1):
    return struct.pack("<IHHII", magic, ver, t, l, seq)
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5); s.connect(SOCK); return s
def reply(s):
    b = b""
    while len(b) < 16:
        c = s.recv(4096)
        if not c: return None
        b += c
    _, _, t, l, _ = struct.unpack("<IHHII", b[:16])
    while len(b) < 16 + l:
        c = s.recv(4096)
        if not c: return None
        b += c
    if t == 0x83:  # STATS_REPLY: id, name, owner uid, ...
        return 0, b[16 + 72:16 + 200].split(b"\0")[0].decode()
    return struct.unpack("<i", b[16:20])[0], b[32:16 + l].split(b"\0")[0].decode()
def ident(x): return x.encode().ljust(72, b"\0")
def register(pid, ino, cid, name="x"):
    return struct.pack("<IIQ", pid, 0, ino) + ident(cid) + name.encode().ljust(128, b"\0") + struct.pack("<QII", 0, 0, 0)
def ask(t, payload):
    s = conn(); s.sendall(hdr(t, len(payload)) + payload); r = reply(s); s.close(); return r
cmd = sys.argv[1]
if cmd == "register":
    print(*ask(1, register(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
elif cmd == "subscribe":
    print(*ask(2, struct.pack("<IIII", 0, 0, 1, 0) + ident(sys.argv[2])))
elif cmd == "stats":
    print(*ask(3, ident(sys.argv[2])))
elif cmd == "join":
    # JOIN ID PID ("self": this very process)
    pid = os.getpid() if sys.argv[3] == "self" else int(sys.argv[3])
    print(*ask(4, struct.pack("<II", pid, 0) + ident(sys.argv[2])))
elif cmd == "idmap":
    # IDMAP PID u:INNER:OUTER:COUNT... g:INNER:OUTER:COUNT...
    lines = {"u": [], "g": []}
    for spec in sys.argv[3:]:
        k, a, b, c = spec.split(":"); lines[k].append((int(a), int(b), int(c)))
    def block(ls): return b"".join(struct.pack("<III", *l) for l in ls) + b"\0" * 12 * (5 - len(ls))
    print(*ask(5, struct.pack("<IIII", int(sys.argv[2]), len(lines["u"]), len(lines["g"]), 0) + block(lines["u"]) + block(lines["g"])))
elif cmd == "slowsub":
    # subscribes to everything of the caller's, then never reads again
    import time
    s = conn(); s.sendall(hdr(2, 16) + struct.pack("<IIII", 0, 0, 0, 0)); print(*reply(s), flush=True)
    time.sleep(float(sys.argv[2])); s.close()
elif cmd == "hold":
    # N connections the agent has answered on, kept open for SECONDS
    import time
    held = []
    for i in range(int(sys.argv[2])):
        s = conn(); s.sendall(hdr(3, 72) + ident("0" * 64)); r = reply(s)
        if r is None or r[0] == -16: break  # -EBUSY
        held.append(s)
    print("held", len(held), flush=True)
    time.sleep(float(sys.argv[3]))
elif cmd == "hostile":
    bad = [hdr(1, 10, magic=0xdeadbeef) + b"x" * 10, hdr(1, 10, ver=9), hdr(1, 0xffffffff),
           hdr(1, 5) + b"12345", hdr(0x82, 0), hdr(2, 16) + struct.pack("<IIII", 0, 0, 99, 0),
           hdr(1, 232) + b"\xff" * 232, b"\0" * 16, os.urandom(4096)]
    for b in bad:
        s = conn()
        try:
            s.sendall(b); r = reply(s)
            if r is not None and r[0] >= 0: print("accepted:", b[:24].hex(), r); sys.exit(1)
        except (ConnectionError, socket.timeout): pass
        s.close()
    # half a frame, then silence; and a crowd of idle connections
    half = conn(); half.sendall(hdr(1, 232) + b"\0" * 100)
    crowd = []
    for i in range(300):
        try: crowd.append(conn())
        except OSError: break
    for c in crowd: c.close()
    half.close()
    print("ok")
PY
	chmod 644 "$T_CASE_DIR/raw.py"
	chmod 755 "$T_CASE_DIR"
}

raw() { as_user "$1" /usr/bin/python3 "$T_CASE_DIR/raw.py" "${@:2}"; }

# policy_load TEXT GRANTS: TEXT (lines, without the last newline) as
# /etc/rlbpf/ports.conf for this case, and the agent made to reload it;
# passes once it has logged a load of GRANTS grants. The host's own file
# comes back when the case ends, however it ends.
_policy_backup=""
_policy_restore() {
	if [ -n "$_policy_backup" ]; then
		mv "$_policy_backup" /etc/rlbpf/ports.conf
	else
		rm -f /etc/rlbpf/ports.conf
		rmdir /etc/rlbpf 2>/dev/null
	fi
	kill -HUP "$(cat "$T_AGENT_PIDFILE")" 2>/dev/null
}
policy_load() {
	local loaded
	mkdir -p /etc/rlbpf
	if [ -e /etc/rlbpf/ports.conf ]; then
		_policy_backup=$T_CASE_DIR/ports.conf.orig
		cp -p /etc/rlbpf/ports.conf "$_policy_backup"
	fi
	# The case is a process of its own: EXIT covers failures and skips too.
	trap _policy_restore EXIT
	printf '%s\n' "$1" >/etc/rlbpf/ports.conf
	loaded=$(grep -c "port policy: $2 grants" "$T_AGENT_LOG")
	kill -HUP "$(cat "$T_AGENT_PIDFILE")"
	if wait_until 100 eval '[ "$(grep -c "port policy: '"$2"' grants" "$T_AGENT_LOG")" -gt "$loaded" ]'; then
		pass
	else
		fail "the agent did not load the policy: $(_show "$(tail -n 5 "$T_AGENT_LOG")")"
	fi
}

# memory_enforcer USER: what keeps a --memory cap of USER's here: cgroup2
# where run.sh delegated a cgroup v2 tree to the user, else agent-cgroup
# where rlbpfd can make memory cgroups, else ebpf (rlbpfd's eBPF cap).
memory_enforcer() {
	if [ "$1" = "$T1" ] && [ -n "${T_CGROUP2_SESSION:-}" ]; then
		echo cgroup2
	elif [ -n "${T_AGENT_MEM_CGROUP:-}" ]; then
		echo agent-cgroup
	else
		echo ebpf
	fi
}

# agent_stop: SIGTERM to the suite's agent; its pinned programs stay.
agent_stop() {
	local old
	old=$(cat "$T_AGENT_PIDFILE")
	kill -TERM "$old"
	wait_until 100 eval '! kill -0 '"$old"' 2>/dev/null' || fail "the agent did not stop on SIGTERM"
}

# agent_start: the agent again, as run.sh started it; waits until it serves.
agent_start() {
	local serving
	serving=$(grep -c '^rlbpfd: serving' "$T_AGENT_LOG")
	setsid "$T_PREFIX/bin/rlbpfd" --foreground >>"$T_AGENT_LOG" 2>&1 </dev/null &
	echo $! >"$T_AGENT_PIDFILE"
	wait_until 100 eval '[ "$(grep -c "^rlbpfd: serving" "$T_AGENT_LOG")" -gt '"$serving"' ]' ||
		fail "the agent did not come back: $(_show "$(tail -n 5 "$T_AGENT_LOG")")"
}

# userspace_only: for a case that exercises only rlbpf's own parsing and
# messages, which no kernel or cgroup layout changes. A vmtest cell (where
# each command costs a hundred times more under TCG) skips it; the native
# suite, the matrix's host row, runs it.
userspace_only() {
	[ -z "${T_VM_CELL:-}" ] || skip "userspace only: the native suite (host row) runs it"
}


# rootfs_with: tools/rootfs_with.sh
# shellcheck source=tools/rootfs_with.sh
. "${BASH_SOURCE[0]%/*}/../../tools/rootfs_with.sh"
