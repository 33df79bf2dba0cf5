/* A user's name and home by uid. rlbpf is linked statically, and a static
 * glibc must not load NSS modules: getpwuid() of a uid missing from
 * /etc/passwd, with nsswitch.conf naming another source (systemd, ldap,
 * sss), loads that module and crashes. So /etc/passwd is read here, and a
 * uid not in it is asked of getent(1), a dynamic program, once per process
 * (the answer, or its absence, is kept). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* 0 with the name (and home, when home is not NULL), or -ENOENT. */
int rl_userdb_lookup(uid_t uid, char *name, size_t name_len, char *home, size_t home_len);
