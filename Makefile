# rlbpf: one entry point. See README.md.
PREFIX  ?= /usr/local
DESTDIR ?=
B       := build

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote userspace -Ibpf -I$(B)/bpf
DEPFLAGS = -MMD -MP -MF $(@:%.o=%.d)
# rlbpf starts on every `run`, so it is linked statically, glibc too: every
# page a dynamic libc and its relocations dirty is copied on write after the
# container's clone, 1.4 ms of each start here (make bench: 1.14x bwrap
# dynamic, 1.00x static). A static glibc must not load NSS modules, so
# rlbpf looks users up through lib/userdb, never getpwuid.
# libarchive (with its compression libraries) is loaded only by the
# rlbpf-unpack helper.
BPF_LIBS    := -lbpf -lelf -lz
RLBPF_LIBS  := -Wl,-Bstatic -lseccomp -ljansson -lcap $(BPF_LIBS) -Wl,-Bdynamic
RLBPF_STATIC_LIBS := -lseccomp -ljansson -lcap $(BPF_LIBS)
RLBPFD_LIBS := $(BPF_LIBS)
UNPACK_LIBS := -larchive -lcrypto -ljansson
TEST_LIBS   := -lseccomp -ljansson -lcap -larchive -lcrypto $(BPF_LIBS) -lcmocka
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Modules by folder (see README, Layout). Each program lists what it links;
# tests/check_layers.sh checks the link maps against the folders each may use.
COMMON  := lib/error lib/paths lib/userdb lib/bpf_features lib/cgroup_mounts lib/subid
# The unprivileged CLI.
RLBPF   := cli/cli cli/run cli/exec cli/ps cli/inspect cli/logs cli/lifecycle cli/top cli/stats \
	   cli/trace cli/images cli/pull cli/info cli/setup cli/system \
	   supervise/supervise supervise/detach supervise/state supervise/status supervise/logfile \
	   supervise/trace_register supervise/inspect_doc supervise/attach_socket supervise/state_watch \
	   supervise/stats_sample \
	   image/image image/store image/reference \
	   runtime/run_opts runtime/idmap runtime/mounts runtime/mountinfo runtime/fuse_overlay runtime/passwd runtime/caps runtime/seccomp \
	   runtime/seccomp_cache \
	   runtime/container runtime/init runtime/userns_exec runtime/resource_limits runtime/cgroup2 \
	   runtime/host_probe runtime/container_file \
	   net/network net/portfwd \
	   proto/agent_client proto/agent_proto proto/trace_fmt \
	   lib/fsutil lib/pty lib/spawn lib/humantime lib/template lib/memsize lib/signame lib/envv lib/boolopt lib/printable
# The privileged agent: agent/, proto/ and lib/ only.
RLBPFD  := agent/rlbpfd agent/server agent/programs agent/registry agent/policy agent/cgroups agent/idmap_writer \
	   proto/agent_proto
UNPACK  := image/rlbpf_unpack image/loader image/unpack lib/error
# Registries: libcurl and TLS in a helper of their own, off rlbpf's start.
PULL    := image/rlbpf_pull image/registry image/auth image/reference lib/boolopt lib/error lib/paths lib/userdb
PULL_LIBS := -lcurl -lcrypto -ljansson
# The Docker Engine API, served by `rlbpf system service` through this
# helper: libmicrohttpd stays out of rlbpf's static start.
API     := api/server api/system api/containers api/images api/lifecycle api/create_args api/attach api/rlbpf_cmd \
	   api/logs api/log_reader api/request api/exec api/exec_run \
	   api/stats api/events api/container_event api/filters api/json_lines \
	   supervise/state supervise/status supervise/logfile supervise/inspect_doc supervise/attach_socket \
	   supervise/state_watch supervise/stats_sample runtime/cgroup2 lib/cgroup_mounts \
	   image/store image/reference runtime/userns_exec runtime/idmap lib/subid lib/spawn lib/pty \
	   proto/agent_client proto/agent_proto lib/fsutil lib/humantime lib/error lib/paths lib/userdb
API     += api/image_pull api/image_load api/image_inspect api/image_registry api/image_progress \
	   api/image_spawn
API_LIBS := -lmicrohttpd -ljansson -lpthread
# The OCI runtime, runc's command line: oci/ over runtime/, proto/ and lib/.
OCI     := oci/main oci/spec oci/state oci/process oci/rootfs oci/hooks oci/lifecycle oci/agent oci/oom_watch oci/cgroups oci/console \
	   oci/commands oci/control oci/exec supervise/status runtime/seccomp runtime/seccomp_cache runtime/caps \
	   proto/agent_client proto/agent_proto lib/fsutil lib/pty lib/signame lib/memsize lib/envv lib/humantime

COMMON_O := $(COMMON:%=$(B)/obj/%.o)
RLBPF_O  := $(RLBPF:%=$(B)/obj/%.o)
RLBPFD_O := $(RLBPFD:%=$(B)/obj/%.o)
UNPACK_O := $(UNPACK:%=$(B)/obj/%.o)
PULL_O   := $(PULL:%=$(B)/obj/%.o)
API_O    := $(API:%=$(B)/obj/%.o)
OCI_O    := $(OCI:%=$(B)/obj/%.o)
# The detached supervisor's long-lived half: static, so it stays small.
MONITOR  := supervise/rlbpf_monitor supervise/detach supervise/attach_socket supervise/state_watch supervise/logfile supervise/status \
	    supervise/supervise runtime/cgroup2 net/network net/portfwd \
	    proto/agent_client proto/agent_proto lib/fsutil lib/pty lib/error lib/cgroup_mounts lib/humantime
MONITOR_O := $(MONITOR:%=$(B)/obj/%.o)
MONITOR_BIN := $(B)/libexec/rlbpf/rlbpf-monitor

BIN      := $(B)/bin/rlbpf $(B)/bin/rlbpfd $(B)/bin/rlbpf-runtime
LIBEXEC  := $(B)/libexec/rlbpf/rlbpf-unpack $(B)/libexec/rlbpf/rlbpf-pull $(B)/libexec/rlbpf/rlbpf-api
IMAGE    := $(B)/share/rlbpf/busybox.tar
SKEL     := $(B)/bpf/rlbpf.skel.h

.PHONY: all deps test unit unit-san layers integration demo bench vmtest fuzz install clean vmlinux
# A recipe that fails or is interrupted leaves no half-written target.
.DELETE_ON_ERROR:
all: deps $(BIN) $(LIBEXEC) $(MONITOR_BIN) $(IMAGE)

deps:
	@tools/deps.sh build

# ---- BPF: clang -target bpf, CO-RE against the checked-in vmlinux.h, bpftool skeleton
# (BPF_PROG's hidden ctx argument trips -Wunused-parameter, hence the -Wno.)
BPF_SRC := $(wildcard bpf/*.bpf.c)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ibpf \
	      -Wall -Wextra -Wno-unused-parameter -Werror
# `gen object` keeps the BTF that CO-RE needs and drops the DWARF, which would
# otherwise make the object embedded in each binary ~12x larger; the .debug.o
# stays for llvm-objdump -S.
$(B)/bpf/rlbpf.bpf.o: $(BPF_SRC) $(wildcard bpf/*.h) | $(B)/bpf
	$(CLANG) $(BPF_CFLAGS) -c bpf/rlbpf.bpf.c -o $(B)/bpf/rlbpf.debug.o
	$(BPFTOOL) gen object $@ $(B)/bpf/rlbpf.debug.o
$(SKEL): $(B)/bpf/rlbpf.bpf.o
	$(BPFTOOL) gen skeleton $< name rlbpf > $@.tmp && mv $@.tmp $@
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h
# unit tests compile userspace/lib/bpf_features.c themselves, so need the skeleton
$(B)/tests/lib/test_bpf_features $(B)/tests-san/lib/test_bpf_features: $(SKEL)

# ---- userspace
# One object per source, under the folder of its source; headers are tracked
# by the compiler's dependency files.
$(B)/obj/%.o: userspace/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@
-include $(wildcard $(B)/obj/*/*.d)
$(B)/obj/lib/bpf_features.o $(B)/obj/agent/rlbpfd.o $(B)/obj/agent/programs.o $(B)/obj/agent/server.o: $(SKEL)
# Each program's link map records what went into it (tests/check_layers.sh).
LINK_MAP = -Wl,-Map,$@.map
$(B)/bin/rlbpf: $(RLBPF_O) $(COMMON_O) | $(B)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) -static $^ -o $@ $(RLBPF_STATIC_LIBS)
$(B)/bin/rlbpf-runtime: $(OCI_O) $(COMMON_O) | $(B)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) $^ -o $@ $(RLBPF_LIBS)
$(B)/bin/rlbpfd: $(RLBPFD_O) $(COMMON_O) | $(B)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) $^ -o $@ $(RLBPFD_LIBS)
$(MONITOR_BIN): $(MONITOR_O) | $(B)/libexec/rlbpf
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) -static $^ -o $@ -ljansson
$(B)/libexec/rlbpf/rlbpf-unpack: $(UNPACK_O) | $(B)/libexec/rlbpf
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) $^ -o $@ $(UNPACK_LIBS)
$(B)/libexec/rlbpf/rlbpf-pull: $(PULL_O) | $(B)/libexec/rlbpf
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) $^ -o $@ $(PULL_LIBS)
$(B)/libexec/rlbpf/rlbpf-api: $(API_O) | $(B)/libexec/rlbpf
	$(CC) $(CFLAGS) $(LDFLAGS) $(LINK_MAP) $^ -o $@ $(API_LIBS)

# ---- the embedded default image: Debian's busybox-static plus our hog and tcpblast
$(B)/bin/hog: tools/hog.c | $(B)/bin
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -static $< -o $@
$(B)/bin/tcpblast: tools/tcpblast.c | $(B)/bin
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -static $< -o $@
# make bench's memory figures: the yard stick, the userspace reference, the fault loop
$(B)/bin/maxrss $(B)/bin/memkill_poller $(B)/bin/faults: $(B)/bin/%: tools/%.c | $(B)/bin
	$(CC) -O2 -std=gnu11 -Wall -Wextra -Werror -static $< -o $@
$(IMAGE): tools/mkimage.sh $(B)/bin/hog $(B)/bin/tcpblast | $(B)/share/rlbpf
	tools/mkimage.sh $@ $(B)/bin/hog $(B)/bin/tcpblast

$(B)/bin $(B)/libexec/rlbpf $(B)/bpf $(B)/share/rlbpf:
	mkdir -p $@

# ---- tests: cmocka units (plain and under ASan+UBSan), then the integration suite
UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_SAN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests-san/%)
UNIT_HDR := $(wildcard userspace/*/*.h) bpf/events.h
# Each test names the modules it links on its first line: /* links: runtime/caps lib/error */
test_links = $(patsubst %,userspace/%.c,$(shell sed -n '1s@^/\* links: \(.*\) \*/@\1@p' $(1)))

.SECONDEXPANSION:
$(B)/tests/%: tests/unit/%.c $$(call test_links,tests/unit/$$*.c) $(UNIT_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $< $(call test_links,$<) -o $@ $(TEST_LIBS)
$(B)/tests-san/%: tests/unit/%.c $$(call test_links,tests/unit/$$*.c) $(UNIT_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Itests/unit $< $(call test_links,$<) -o $@ $(TEST_LIBS)

unit: $(UNIT_BIN)
	@tests/run-units.sh $(UNIT_BIN)
unit-san: $(UNIT_SAN)
	@tests/run-units.sh $(UNIT_SAN)

# The folders' layers and what each program links (README, Layout).
layers: $(BIN) $(LIBEXEC) $(MONITOR_BIN)
	@tests/check_layers.sh $(B)

integration: all
	@tests/integration/run.sh

test:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory layers unit unit-san integration

demo:
	@tools/deps.sh build
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

bench: $(B)/bin/maxrss $(B)/bin/memkill_poller $(B)/bin/faults
	@tools/deps.sh bench
	@$(MAKE) --no-print-directory all
	@tools/bench.sh

vmtest:
	@tools/deps.sh vmtest
	@$(MAKE) --no-print-directory all
	@vmtest/run.sh

# libFuzzer on what a hostile local client can send: the agent's protocol
# decoder, and rlbpf-api's reading of a request (path and create body).
FUZZ_SECONDS ?= 60
FUZZ_CC = $(CLANG) -g -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote userspace -Ibpf \
	-fsanitize=fuzzer,address,undefined
$(B)/fuzz/fuzz_agent_proto: tests/fuzz/fuzz_agent_proto.c userspace/proto/agent_proto.c userspace/proto/agent_proto.h bpf/events.h
	mkdir -p $(B)/fuzz
	$(FUZZ_CC) $< userspace/proto/agent_proto.c -o $@
$(B)/fuzz/fuzz_api_request: tests/fuzz/fuzz_api_request.c userspace/api/request.c userspace/api/create_args.c userspace/api/api.h userspace/api/create_args.h
	mkdir -p $(B)/fuzz
	$(FUZZ_CC) $< userspace/api/request.c userspace/api/create_args.c -o $@ -ljansson
fuzz: $(B)/fuzz/fuzz_agent_proto $(B)/fuzz/fuzz_api_request
	mkdir -p $(B)/fuzz/corpus $(B)/fuzz/corpus_api
	$(B)/fuzz/fuzz_agent_proto -max_total_time=$(FUZZ_SECONDS) -max_len=8192 $(B)/fuzz/corpus tests/fuzz/corpus
	$(B)/fuzz/fuzz_api_request -max_total_time=$(FUZZ_SECONDS) -max_len=16384 $(B)/fuzz/corpus_api tests/fuzz/corpus_api

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/rlbpf
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/libexec/rlbpf
	install -m 0755 $(LIBEXEC) $(MONITOR_BIN) $(DESTDIR)$(PREFIX)/libexec/rlbpf/
	install -m 0644 $(IMAGE) $(DESTDIR)$(PREFIX)/share/rlbpf/

clean:
	rm -rf $(B)
