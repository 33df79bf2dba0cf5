#!/bin/bash
# The unprivileged users the integration suite runs containers as:
#   rlbpf-t1  has /etc/subuid and /etc/subgid ranges (the normal rootless case)
#   rlbpf-t2  has none (the single-id fallback)
#
# Usage: tools/testusers.sh create|remove     (as root)
#   create  idempotent; makes the users that are missing and fixes their ranges.
#   remove  deletes only the users that `create` itself made (listed in
#           /var/lib/rlbpf-tests/created-users); a user that already existed
#           is left alone.
#
# Nothing of the host's is touched besides these two users' own lines: ranges
# are added and removed with usermod, by the user's name, never by editing the
# files.
set -euo pipefail

USERS=(rlbpf-t1 rlbpf-t2)
STATE_DIR=/var/lib/rlbpf-tests
MARKER=$STATE_DIR/created-users
RANGE_COUNT=65536

die() {
	echo "tools/testusers.sh: $*" >&2
	exit 1
}

# "START COUNT" for each line of FILE owned by NAME (or, numerically, UID).
ranges_of() {
	local file=$1 name=$2 uid=$3
	[ -r "$file" ] || return 0
	awk -F: -v n="$name" -v u="$uid" 'NF == 3 && ($1 == n || $1 == u) { print $2, $3 }' "$file"
}

# The first id past every range in both files, so a new range overlaps none.
first_free_id() {
	local min
	min=$(awk '$1 == "SUB_UID_MIN" { print $2 }' /etc/login.defs 2>/dev/null || true)
	cat /etc/subuid /etc/subgid 2>/dev/null |
		awk -F: -v min="${min:-100000}" '
			BEGIN { end = min + 0 }
			NF == 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && $2 + $3 > end { end = $2 + $3 }
			END { printf "%d\n", end }'
}

create_user() {
	local name=$1
	getent passwd "$name" >/dev/null && return 0
	# nologin: the suite runs commands with runuser -u, nobody logs in.
	useradd --create-home --shell /usr/sbin/nologin --comment "rlbpf integration tests" "$name"
	mkdir -p "$STATE_DIR"
	grep -qxF "$name" "$MARKER" 2>/dev/null || echo "$name" >>"$MARKER"
}

# rlbpf-t1 needs a range in both files; useradd usually gives one (Debian's
# login.defs has SUB_UID_COUNT), but not when the files did not exist.
give_ranges() {
	local name=$1 uid start
	uid=$(id -u "$name")
	if [ -z "$(ranges_of /etc/subuid "$name" "$uid")" ] ||
		[ -z "$(ranges_of /etc/subgid "$name" "$uid")" ]; then
		start=$(first_free_id)
		local last=$((start + RANGE_COUNT - 1))
		[ -n "$(ranges_of /etc/subuid "$name" "$uid")" ] ||
			usermod --add-subuids "$start-$last" "$name"
		[ -n "$(ranges_of /etc/subgid "$name" "$uid")" ] ||
			usermod --add-subgids "$start-$last" "$name"
	fi
	if [ -z "$(ranges_of /etc/subuid "$name" "$uid")" ] || [ -z "$(ranges_of /etc/subgid "$name" "$uid")" ]; then
		die "could not give $name a range in /etc/subuid and /etc/subgid"
	fi
}

# rlbpf-t2 must have none: drop the ones useradd gave it, its own lines only.
take_ranges() {
	local name=$1 uid start count
	uid=$(id -u "$name")
	while read -r start count; do
		usermod --del-subuids "$start-$((start + count - 1))" "$name"
	done < <(awk -F: -v n="$name" 'NF == 3 && $1 == n { print $2, $3 }' /etc/subuid 2>/dev/null)
	while read -r start count; do
		usermod --del-subgids "$start-$((start + count - 1))" "$name"
	done < <(awk -F: -v n="$name" 'NF == 3 && $1 == n { print $2, $3 }' /etc/subgid 2>/dev/null)
	# A line keyed by the numeric uid (left by some earlier user with that
	# uid) also counts for newuidmap; it is not ours to delete.
	if [ -n "$(ranges_of /etc/subuid "$name" "$uid")$(ranges_of /etc/subgid "$name" "$uid")" ]; then
		die "$name (uid $uid) still has a range through a numeric line in /etc/subuid or /etc/subgid; remove that line or pick another uid"
	fi
}

create() {
	for name in "${USERS[@]}"; do
		create_user "$name"
	done
	give_ranges rlbpf-t1
	take_ranges rlbpf-t2
}

remove() {
	[ -f "$MARKER" ] || return 0
	local name
	while read -r name; do
		# The marker only ever names our users; trust it no further.
		case " ${USERS[*]} " in *" $name "*) ;; *) continue ;; esac
		getent passwd "$name" >/dev/null || continue
		pkill -KILL -u "$name" 2>/dev/null || true
		# userdel drops the user's named subuid/subgid lines itself.
		userdel --remove "$name" 2>/dev/null || userdel "$name"
	done <"$MARKER"
	rm -f "$MARKER"
	rmdir "$STATE_DIR" 2>/dev/null || true
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it adds users)"
case "${1:-}" in
create) create ;;
remove) remove ;;
*) die "usage: tools/testusers.sh create|remove" ;;
esac
