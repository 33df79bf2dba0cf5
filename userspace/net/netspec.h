/* What a container's network is asked to be: its mode and its published
 * ports, as `run` parses them and the network code carries them out. */
#pragma once

enum rl_net_mode {
	RL_NET_DEFAULT, /* not given: slirp4netns when usable, else none (see network.h) */
	RL_NET_NONE,    /* a network namespace with loopback only */
	RL_NET_HOST,    /* the host's network namespace */
	RL_NET_SLIRP,   /* loopback plus tap0 served by slirp4netns */
};

/* -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] */
struct rl_port {
	char host_ip[16]; /* dotted IPv4, "" for all addresses */
	unsigned short host_port, ctr_port;
	int proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

/* "tcp" or "udp" (inline: the static monitor links no option parser) */
static inline const char *rl_port_proto_name(int proto)
{
	return proto == 17 /* IPPROTO_UDP */ ? "udp" : "tcp";
}
