# shellcheck shell=bash
# The Makefile's targets as a developer uses them: an interrupted target
# stops what it started.

# Whether a QEMU guest of this tree's vmtest runs (its 9p export names
# the cell's output folder under this tree's build/vmtest/out).
_vmtest_guests() { pgrep -f "qemu-system-x86_64 .*path=$T_REPO/build/vmtest/out/" ; }

# Starts `make vmtest` (one cell) in a session of its own, as a terminal
# would run it, and waits until its guest is up; prints the session's id.
_vmtest_start() {
	local log=$1 pid
	# A command put in the background by a script ignores SIGINT; one typed
	# at a terminal does not: python3 gives make back the default.
	setsid env VMTEST_KERNELS=6.1 VMTEST_CGROUPS=v2 VMTEST_JOBS=1 python3 -c \
		'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
		make -C "$T_REPO" --no-print-directory vmtest >"$log" 2>&1 </dev/null &
	pid=$!
	# The first run fetches and unpacks the kernel; later runs boot at once.
	wait_until 6000 _vmtest_guests >/dev/null || {
		fail "make vmtest started no guest; its output: $(tail -n 5 "$log")"
		kill -KILL -- "-$pid" 2>/dev/null
		return 1
	}
	echo "$pid"
}

test_vmtest_interrupted_stops_its_guests() {
	userspace_only
	# /vmtest-out is a vmtest guest's (vmtest/init.sh): there make vmtest
	# would fetch kernels without a network and nest QEMU under emulation
	[ ! -d /vmtest-out ] || skip "inside a vmtest guest: make vmtest is the host's to run"
	command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (tools/deps.sh vmtest installs it)"
	_vmtest_guests >/dev/null && skip "another make vmtest runs guests of this tree"
	local sid sig log=$T_CASE_DIR/vmtest.log
	# ^C and a closed terminal signal the whole foreground process group;
	# a timeout around make signals make, then its group.
	for sig in INT HUP TERM; do
		sid=$(_vmtest_start "$log") || return
		[ "$sig" != TERM ] || kill -TERM "$sid"
		kill "-$sig" -- "-$sid" 2>/dev/null
		if wait_until 300 eval '! _vmtest_guests >/dev/null'; then pass; else
			fail "SIG$sig to make vmtest left QEMU running: $(_vmtest_guests | tr '\n' ' ')"
		fi
		if wait_until 300 eval '! kill -0 -- "-$sid" 2>/dev/null'; then pass; else
			fail "SIG$sig left processes of make vmtest running: $(pgrep -s "$sid" | tr '\n' ' ')"
		fi
		pkill -KILL -f "qemu-system-x86_64 .*path=$T_REPO/build/vmtest/out/" 2>/dev/null
		pkill -KILL -s "$sid" 2>/dev/null
	done
}
