/* libFuzzer target for the agent protocol's decoder: the bytes a hostile
 * client can send. Decodes frame after frame as the agent does, and checks
 * that whatever is accepted is well formed (terminated strings, sizes in
 * range), so a decoder that lets garbage through fails here too, not only
 * one that crashes. Build and run: make fuzz (FUZZ_SECONDS=N). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rl_msg m;
	size_t off = 0;

	while (off < size) {
		int n = rl_proto_decode(data + off, size - off, &m);
		if (n <= 0)
			break;
		if ((size_t)n > size - off || m.hdr.len > RL_PROTO_MAX_PAYLOAD)
			abort();
		switch (m.hdr.type) {
		case RL_MSG_REGISTER:
			if (!memchr(m.u.reg.name, 0, sizeof(m.u.reg.name)) ||
			    !rl_proto_valid_id(m.u.reg.id))
				abort();
			break;
		case RL_MSG_SUBSCRIBE:
			if (m.u.sub.n_ids > RL_SUB_MAX_IDS)
				abort();
			break;
		case RL_MSG_EVENT:
			if (m.u.event.ev.hdr.size > sizeof(struct rl_event) ||
			    !rl_event_name(m.u.event.ev.hdr.type))
				abort();
			break;
		}
		off += (size_t)n;
	}
	return 0;
}
