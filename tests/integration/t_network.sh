# shellcheck shell=bash
# Networking: --network none|host|slirp4netns, outbound connectivity through
# slirp4netns, ports published with -p (TCP and UDP) by the supervisor, the
# privileged-port and port-in-use refusals, and nothing left after rm -f.

rl() { capture as_user "$T1" "$RLBPF" "$@"; }

_rm_all() {
	local ids
	ids=$(as_user "$T1" "$RLBPF" ps -aq 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || as_user "$T1" "$RLBPF" rm -f $ids >/dev/null 2>&1
}

# A host port nobody is likely to use; each call a different one.
_port() { echo $((20000 + RANDOM % 20000)); }

# slirp4netns usable by the test user, or skip with why not.
_need_slirp() {
	local why
	command -v slirp4netns >/dev/null || skip "slirp4netns is not installed (tools/deps.sh test)"
	why=$(as_user "$T1" "$RLBPF" info --format json | jq -r '.network.why // empty')
	[ -z "$why" ] || skip "slirp4netns cannot be used here: $why"
}

# A directory the container serves: /www/index.html.
_www() {
	local d
	d=$(scratch_dir www "$T1" 0755)
	echo "hello from rlbpf" >"$d/index.html"
	chmod 0644 "$d/index.html"
	echo "$d"
}

_http_ok() { curl -sf --max-time 2 "http://127.0.0.1:$1/" >/dev/null; }

test_publish_tcp_detached() {
	command -v curl >/dev/null || skip "needs curl (tools/deps.sh test)"
	local port www id dir body
	port=$(_port)
	www=$(_www)
	rl run -d --name web -p "$port:80" -v "$www:/www:ro" busybox httpd -f -p 80 -h /www
	assert_eq 0 "$RC" "exit status of run -d -p $port:80 (stderr $(_show "$ERR"))"
	id=$OUT
	if wait_until 100 _http_ok "$port"; then pass; else fail "http://127.0.0.1:$port/ never answered"; fi
	body=$(curl -s --max-time 5 "http://127.0.0.1:$port/")
	assert_eq "hello from rlbpf" "$body" "the page fetched through the published port"

	rl ps
	assert_contains "$OUT" "0.0.0.0:$port->80/tcp" "ps PORTS"
	rl inspect web
	assert_eq "[{\"HostIp\":\"\",\"HostPort\":\"$port\"}]" \
		"$(echo "$OUT" | jq -c '.[0].HostConfig.PortBindings["80/tcp"]')" "inspect HostConfig.PortBindings"
	assert_eq "$port" "$(echo "$OUT" | jq -r '.[0].NetworkSettings.Ports["80/tcp"][0].HostPort')" \
		"inspect NetworkSettings.Ports"
	# Who connected is on record, with the client's address.
	dir=$(user_runtime_dir "$T1")/rlbpf/containers/$id
	assert_match "$(cat "$dir/ports.log" 2>/dev/null)" "0\.0\.0\.0:$port->80/tcp client 127\.0\.0\.1:[0-9]+ accepted" \
		"ports.log names the client"

	# Ten clients at once, each with a whole page.
	local i ok=0
	for i in $(seq 10); do
		curl -s --max-time 5 "http://127.0.0.1:$port/" >"$T_CASE_DIR/page.$i" &
	done
	wait
	for i in $(seq 10); do
		[ "$(cat "$T_CASE_DIR/page.$i")" = "hello from rlbpf" ] && ok=$((ok + 1))
	done
	assert_eq 10 "$ok" "pages served to ten concurrent clients"

	rl rm -f web
	assert_eq 0 "$RC" "rm -f (stderr $(_show "$ERR"))"
	assert_no_processes "$T1" "after rm -f of a container with a published port"
	assert_false "the port is free after rm -f" _http_ok "$port"
}

test_publish_tcp_foreground() {
	command -v curl >/dev/null || skip "needs curl (tools/deps.sh test)"
	local port www
	port=$(_port)
	www=$(_www)
	as_user "$T1" "$RLBPF" run --rm --name fg -p "127.0.0.1:$port:80" -v "$www:/www:ro" \
		busybox httpd -f -p 80 -h /www >"$T_CASE_DIR/fg.out" 2>&1 &
	local job=$!
	if wait_until 100 _http_ok "$port"; then pass; else fail "foreground: http://127.0.0.1:$port/ never answered"; fi
	as_user "$T1" "$RLBPF" kill fg >/dev/null 2>&1
	wait "$job"
	assert_eq 137 "$?" "exit status of the foreground run killed with SIGKILL"
	assert_no_processes "$T1" "after the foreground run"
}

test_publish_udp() {
	command -v socat >/dev/null || skip "needs socat (tools/deps.sh test)"
	local port
	port=$(_port)
	rl run -d --name echo -p "$port:7/udp" busybox tcpblast udpecho 7
	assert_eq 0 "$RC" "exit status of run -d -p $port:7/udp (stderr $(_show "$ERR"))"
	local got="" i
	# The echo server may take a moment to bind inside; UDP has no handshake.
	for i in $(seq 20); do
		got=$(echo "ping $i" | socat -t 1 - "UDP:127.0.0.1:$port" 2>/dev/null)
		[ -n "$got" ] && break
	done
	assert_match "$got" '^ping [0-9]+$' "the datagram echoed back through the published UDP port"
	rl ps
	assert_contains "$OUT" "0.0.0.0:$port->7/udp" "ps PORTS for UDP"
	rl rm -f echo
	assert_no_processes "$T1" "after rm -f of a container with a published UDP port"
}

test_outbound_via_slirp() {
	_need_slirp
	local port d job
	port=$(_port)
	d=$(scratch_dir hostweb root 0755)
	echo "from the host" >"$d/index.html"
	busybox httpd -f -p "127.0.0.1:$port" -h "$d" &
	job=$!
	wait_until 50 _http_ok "$port" || { kill "$job"; fail "the host's httpd did not start"; return; }

	# (Debian's static busybox wget crashes, on the host too: nc speaks HTTP.)
	rl run --rm --network slirp4netns:allow_host_loopback=true busybox \
		sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 10.0.2.2 $port"
	assert_eq 0 "$RC" "exit status of the HTTP request from the container to the host (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "200 OK" "the host's server answered the container through slirp4netns"
	assert_contains "$OUT" "from the host" "the host's page fetched from the container through slirp4netns"
	# Without allow_host_loopback the host's loopback is out of reach.
	rl run --rm --network slirp4netns busybox \
		sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 10.0.2.2 $port"
	assert_not_contains "$OUT" "from the host" "the host's loopback without allow_host_loopback"
	rl run --rm busybox cat /etc/resolv.conf
	assert_eq "nameserver 10.0.2.3" "$OUT" "resolv.conf points at slirp4netns's resolver"
	rl run --rm busybox ip -o -4 addr show tap0
	assert_contains "$OUT" "10.0.2.100" "the default network is slirp4netns: tap0 has its address"
	kill "$job"
	wait "$job" 2>/dev/null
	assert_true "no slirp4netns left" test -z "$(pgrep -u "$T1" slirp4netns)"
}

test_slirp_gone_after_rm() {
	_need_slirp
	rl run -d --name net busybox sleep 600
	assert_eq 0 "$RC" "exit status of run -d (stderr $(_show "$ERR"))"
	assert_ne "" "$(pgrep -u "$T1" -x slirp4netns)" "slirp4netns runs for the detached container"
	rl rm -f net
	assert_no_processes "$T1" "after rm -f: slirp4netns and the supervisor are gone"
}

test_privileged_port_refused() {
	local start before
	start=$(sysctl -n net.ipv4.ip_unprivileged_port_start)
	[ "$start" -gt 80 ] || skip "net.ipv4.ip_unprivileged_port_start is $start here: port 80 is not privileged"
	before=$(snapshot "$T1")
	rl run --rm --network none -p 80:80 busybox true
	# rlbpfd's port policy may grant port 80 to this user: then it works.
	[ "$RC" != 0 ] || skip "port 80 was granted to $T1 (rlbpfd's port policy)"
	assert_eq 125 "$RC" "exit status of run -p 80:80"
	assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "the refusal is one line"
	assert_contains "$ERR" "host port 80/tcp" "the refusal names the port"
	assert_contains "$ERR" "below $start (net.ipv4.ip_unprivileged_port_start)" "the refusal names the sysctl and its value"
	assert_contains "$ERR" "net.ipv4.ip_unprivileged_port_start=80 to /etc/sysctl.conf" "way out: the sysctl"
	assert_contains "$ERR" "rlbpfd's port policy" "way out: the agent's policy"
	assert_contains "$ERR" "a port >= $start" "way out: a higher port"
	assert_nothing_left "$T1" "$before" "after the refused run"
	# Detached: the same, before anything is started.
	rl run -d --network none -p 80:80 busybox sleep 600
	assert_eq 125 "$RC" "exit status of run -d -p 80:80"
	assert_nothing_left "$T1" "$before" "after the refused run -d"
}

test_port_in_use() {
	local port before
	port=$(_port)
	rl run -d --name first -p "$port:80" busybox sleep 600
	assert_eq 0 "$RC" "exit status of the first run -p $port:80 (stderr $(_show "$ERR"))"
	before=$(snapshot "$T1")
	rl run -d -p "$port:80" busybox sleep 600
	assert_eq 125 "$RC" "exit status of a second run -p $port:80"
	assert_contains "$ERR" "host port $port/tcp" "the error names the port"
	assert_contains "$ERR" "already in use" "the error says why"
	assert_eq 1 "$(printf '%s\n' "$ERR" | wc -l)" "the error is one line"
	# Only the first container's processes may remain: compare state only.
	assert_eq "$before" "$(snapshot "$T1")" "nothing new left by the refused run"
	_rm_all
	assert_no_processes "$T1" "after rm -f"
}

test_network_host() {
	local want got
	want=$(ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort | tr '\n' ' ')
	rl run --rm --network host busybox sh -c "ip -o link show | awk -F': ' '{ print \$2 }'"
	assert_eq 0 "$RC" "exit status of run --network host (stderr $(_show "$ERR"))"
	got=$(echo "$OUT" | sed 's/@.*//' | sort | tr '\n' ' ')
	assert_eq "$want" "$got" "--network host sees the host's interfaces"
	rl run --rm --network host -p 8080:80 busybox true
	assert_eq 125 "$RC" "-p with --network host is refused"
	assert_contains "$ERR" "--network host" "the refusal says why"
	# exec joins a host-network container too (its network is ours already).
	rl run -d --name hostnet --network host busybox sleep 600
	rl exec hostnet true
	assert_eq 0 "$RC" "exec into a --network host container (stderr $(_show "$ERR"))"
	_rm_all
}

test_network_none() {
	rl run --rm --network none busybox sh -c "ip -o link show | awk -F': ' '{ print \$2 }'"
	assert_eq 0 "$RC" "exit status of run --network none (stderr $(_show "$ERR"))"
	assert_eq "lo" "$OUT" "--network none has only loopback"
	assert_eq "" "$ERR" "--network none says nothing on stderr"
	rl run --rm --network bridge busybox true
	assert_eq 125 "$RC" "an unknown --network is refused"
	assert_contains "$ERR" "none, host or slirp4netns" "the refusal names the modes"
}

test_info_names_drivers() {
	rl info
	assert_match "$OUT" '^Network driver: (slirp4netns|none)' "info names the network driver"
	assert_contains "$OUT" "Port driver: builtin (rlbpf supervisor, splice)" "info names the port driver"
}

# With rlbpfd's port policy granting port 80 to the user, the same -p 80:80
# that was refused works.
test_privileged_port_granted_by_policy() {
	command -v curl >/dev/null || skip "needs curl (tools/deps.sh test)"
	[ -z "${T_AGENT_OFF-x}" ] || skip "no agent for this run: ${T_AGENT_OFF:-run.sh started none}"
	[ "$(sysctl -n net.ipv4.ip_unprivileged_port_start)" -gt 80 ] ||
		skip "port 80 is not privileged here"
	! _http_ok 80 || skip "something on this host serves port 80 already"
	[ -z "${T_PORT_POLICY_OFF:-}" ] || skip "$T_PORT_POLICY_OFF"
	policy_load "$(printf '# t_network.sh\n%s tcp 80' "$T1")" 1
	local www
	www=$(_www)
	rl run -d --name web80 -p 80:80 -v "$www:/www:ro" busybox httpd -f -p 80 -h /www
	assert_eq 0 "$RC" "exit status of run -d -p 80:80 with the grant (stderr $(_show "$ERR"))"
	if wait_until 100 _http_ok 80; then pass; else fail "http://127.0.0.1:80/ never answered"; fi
	_rm_all
	assert_no_processes "$T1" "after rm -f"
}
