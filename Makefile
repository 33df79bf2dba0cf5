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
# rlbpf starts on every `run`, so its libraries are linked statically: each
# shared library costs start-up time. libarchive (with its compression
# libraries) is loaded only by the rlbpf-unpack helper.
BPF_LIBS    := -lbpf -lelf -lz
RLBPF_LIBS  := -Wl,-Bstatic -lseccomp -ljansson -lcap $(BPF_LIBS) -Wl,-Bdynamic
RLBPFD_LIBS := $(BPF_LIBS)
UNPACK_LIBS := -larchive -lcrypto -ljansson
TEST_LIBS   := -lseccomp -ljansson -lcap -larchive $(BPF_LIBS) -lcmocka
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Modules shared by the programs (one file per concern).
COMMON  := error paths bpf_features
# The unprivileged CLI.
RLBPF   := cli run run_opts idmap mounts fsutil passwd caps seccomp container init \
	   supervise pty image spawn state status logfile detach humantime template inspect ps logs lifecycle top exec info setup host_probe agent_client \
	   userns_exec image_store images_cmd network portfwd \
	   agent_proto trace trace_fmt trace_register resource_limits memsize cgroup2 stats
RLBPFD  := rlbpfd agent_server agent_bpf agent_registry agent_policy agent_proto
UNPACK  := rlbpf_unpack image_loader unpack error

COMMON_O := $(COMMON:%=$(B)/obj/%.o)
RLBPF_O  := $(RLBPF:%=$(B)/obj/%.o)
RLBPFD_O := $(RLBPFD:%=$(B)/obj/%.o)
UNPACK_O := $(UNPACK:%=$(B)/obj/%.o)
# The detached supervisor's long-lived half: static, so it stays small.
MONITOR  := rlbpf_monitor detach logfile status fsutil supervise pty error network portfwd \
	    agent_client agent_proto cgroup2
MONITOR_O := $(MONITOR:%=$(B)/obj/%.o)
MONITOR_BIN := $(B)/libexec/rlbpf/rlbpf-monitor

BIN      := $(B)/bin/rlbpf $(B)/bin/rlbpfd
LIBEXEC  := $(B)/libexec/rlbpf/rlbpf-unpack
IMAGE    := $(B)/share/rlbpf/busybox.tar
SKEL     := $(B)/bpf/rlbpf.skel.h

.PHONY: all deps test unit unit-san integration demo bench vmtest fuzz install clean vmlinux
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
# unit tests compile userspace/bpf_features.c themselves, so need the skeleton
$(B)/tests/test_bpf_features $(B)/tests-san/test_bpf_features: $(SKEL)

# ---- userspace
$(B)/obj/%.o: userspace/%.c $(wildcard userspace/*.h) bpf/events.h | $(B)/obj
	$(CC) $(CFLAGS) -c $< -o $@
$(B)/obj/bpf_features.o $(B)/obj/rlbpfd.o $(B)/obj/agent_bpf.o $(B)/obj/agent_server.o: $(SKEL)
$(B)/bin/rlbpf: $(RLBPF_O) $(COMMON_O) | $(B)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(RLBPF_LIBS)
$(B)/bin/rlbpfd: $(RLBPFD_O) $(COMMON_O) | $(B)/bin
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(RLBPFD_LIBS)
$(MONITOR_BIN): $(MONITOR_O) | $(B)/libexec/rlbpf
	$(CC) $(CFLAGS) $(LDFLAGS) -static $^ -o $@ -ljansson
$(LIBEXEC): $(UNPACK_O) | $(B)/libexec/rlbpf
	$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(UNPACK_LIBS)

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

$(B)/obj $(B)/bin $(B)/libexec/rlbpf $(B)/bpf $(B)/share/rlbpf $(B)/tests $(B)/tests-san:
	mkdir -p $@

# ---- tests: cmocka units (plain and under ASan+UBSan), then the integration suite
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_SAN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests-san/%)
# Each test names the modules it links on its first line: /* links: caps error */
test_links = $(patsubst %,userspace/%.c,$(shell sed -n '1s@^/\* links: \(.*\) \*/@\1@p' $(1)))

.SECONDEXPANSION:
$(B)/tests/%: tests/unit/%.c $$(call test_links,tests/unit/$$*.c) | $(B)/tests
	$(CC) $(CFLAGS) -Itests/unit $< $(call test_links,$<) -o $@ $(TEST_LIBS)
$(B)/tests-san/%: tests/unit/%.c $$(call test_links,tests/unit/$$*.c) | $(B)/tests-san
	$(CC) $(CFLAGS) $(SAN) -Itests/unit $< $(call test_links,$<) -o $@ $(TEST_LIBS)

unit: $(UNIT_BIN)
	@tests/run-units.sh $(UNIT_BIN)
unit-san: $(UNIT_SAN)
	@tests/run-units.sh $(UNIT_SAN)

integration: all
	@tests/integration/run.sh

test:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit unit-san integration

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

# libFuzzer on the agent's protocol decoder (what any local user can send it)
FUZZ_SECONDS ?= 60
$(B)/fuzz/fuzz_agent_proto: tests/fuzz/fuzz_agent_proto.c userspace/agent_proto.c userspace/agent_proto.h bpf/events.h
	mkdir -p $(B)/fuzz
	$(CLANG) -g -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -iquote userspace -Ibpf \
		-fsanitize=fuzzer,address,undefined $< userspace/agent_proto.c -o $@
fuzz: $(B)/fuzz/fuzz_agent_proto
	mkdir -p $(B)/fuzz/corpus
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=8192 $(B)/fuzz/corpus tests/fuzz/corpus

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/rlbpf
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/libexec/rlbpf
	install -m 0755 $(LIBEXEC) $(MONITOR_BIN) $(DESTDIR)$(PREFIX)/libexec/rlbpf/
	install -m 0644 $(IMAGE) $(DESTDIR)$(PREFIX)/share/rlbpf/

clean:
	rm -rf $(B)
