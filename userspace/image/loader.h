/* The image loader of the rlbpf-unpack helper, run inside the user
 * namespace: reads a `docker save` archive or an OCI image layout (a
 * directory, or a tar of one), checks every blob against its digest, and
 * unpacks each image it holds into a directory of the store. */
#pragma once
#include <sys/types.h>

#include "lib/error.h"

/* INPUT is a tar (docker-archive or oci-archive, maybe compressed) or an OCI
 * layout directory; OUTDIR an empty directory of the caller's. Writes, in
 * OUTDIR:
 *   .input/                  the archive, unpacked (when INPUT is a file)
 *   img-N/rootfs/            the root filesystem, layers applied
 *   img-N/config.json        the image config, byte for byte (its sha256
 *                            is the image ID)
 *   img-N/image.json         {"Size": bytes of the rootfs's files}
 *   result.json              {"images": [{"dir": "img-N", "id": "sha256:..",
 *                            "tags": ["name:tag" as the archive says]}]}
 * Nothing outside OUTDIR. On failure err says why in one line, and OUTDIR
 * holds a partial result for the caller to remove. */
int rl_image_load_into(const char *input, const char *outdir, struct rl_error *err);

/* The same for a layout that rlbpf-pull (process fetcher) is still
 * filling: each layer is waited for until its blob appears (it is linked
 * in once checked), so that unpacking overlaps the download. The wait ends
 * with an error when the fetcher leaves LAYOUT/.failed or dies. */
int rl_image_load_fetched(const char *input, const char *outdir, pid_t fetcher,
			  struct rl_error *err);
