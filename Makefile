# Top-level build. Modules are built against Debian's nginx-dev with the
# exact configure flags of the stock nginx, so load_module works on it.

SHELL      := /bin/bash
NGX_SRC    ?= /usr/share/nginx/src
BUILD      := $(CURDIR)/build
NGX_BUILD  := $(BUILD)/nginx
MODULES    := $(NGX_BUILD)/ngx_http_ingest_module.so \
              $(NGX_BUILD)/ngx_srt_module.so

# SANITIZE=1 builds the modules with ASan+UBSan (run nginx with the
# runtime preloaded, see t/README.md)
ifeq ($(SANITIZE),1)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer
endif

CC_OPT     = $(shell dpkg-buildflags --get CFLAGS) -fPIC \
             $(shell dpkg-buildflags --get CPPFLAGS) $(SAN_FLAGS)
LD_OPT     = $(shell dpkg-buildflags --get LDFLAGS) -fPIC $(SAN_FLAGS)

SRCS       := $(wildcard src/core/*.c src/core/*.h src/http/*.c src/http/*.h \
              src/srt/*.c src/srt/*.h)
CORE_SRCS  := $(addprefix src/core/,ingest_core.c ingest_checksum.c \
              ingest_tus.c ingest_record.c ingest_job.c ingest_token.c \
              ingest_sniff.c)
CLI        := $(BUILD)/ingest-token
CLI_CFLAGS := -std=gnu99 -O2 -g -W -Wall -Wextra -Wpointer-arith \
              -Wno-unused-parameter -Werror -D_GNU_SOURCE -Isrc/core \
              $(shell dpkg-buildflags --get CPPFLAGS) \
              $(shell dpkg-buildflags --get CFLAGS)

.PHONY: all modules tools worker worker-unit worker-test deps unit deb \
        integration test check demo demo-stop bench bench-worker fuzz clean \
        bench-srt bench-srt-tools \
        chaos soak worker-asan worker-asan-test worker-valgrind

all: modules tools worker

$(NGX_BUILD)/Makefile: config
	mkdir -p $(NGX_BUILD)
	cd $(NGX_SRC) && . ./conf_flags && ./configure \
	    --with-cc-opt="$(CC_OPT)" --with-ld-opt="$(LD_OPT)" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) --builddir=$(NGX_BUILD) \
	    > $(NGX_BUILD)/configure.log 2>&1 \
	    || { tail -30 $(NGX_BUILD)/configure.log; exit 1; }

# one nginx make builds both modules (a grouped target)
$(MODULES) &: $(NGX_BUILD)/Makefile $(SRCS)
	$(MAKE) -f $(NGX_BUILD)/Makefile -C $(NGX_SRC) modules

modules: $(MODULES)

# the operator CLI: mint, inspect and verify tokens, generate keys
$(CLI): tools/ingest-token.c $(CORE_SRCS) $(wildcard src/core/*.h)
	mkdir -p $(BUILD)
	$(CC) $(CLI_CFLAGS) -o $@ tools/ingest-token.c $(CORE_SRCS) \
	    $(shell dpkg-buildflags --get LDFLAGS) -lcrypto

tools: $(CLI)

# the transcode daemon (ffmpeg-worker/build/ingest-worker)
worker:
	$(MAKE) --no-print-directory -C ffmpeg-worker

worker-unit:
	$(MAKE) --no-print-directory -C t/worker run

worker-test: worker
	/usr/bin/python3 -m pytest -q t/worker

bench-worker: worker
	ffmpeg-worker/bench/run.sh 20

# libFuzzer harnesses of every parser in src/core (FUZZ_RUNS=N each)
fuzz:
	$(MAKE) --no-print-directory -C t/fuzz fuzz

deps:
	scripts/install-deps.sh

# Debian packages of the modules and the worker in build/deb/
# (packaging/build-debs.sh; docs/operations.md, "Debian packages")
deb: modules worker
	packaging/build-debs.sh

unit:
	$(MAKE) --no-print-directory -C t/unit run

integration: modules tools
	scripts/run-integration.sh

# the whole suite; the last line printed is pytest's summary
test: unit integration

check: test

demo: modules
	scripts/demo.sh

demo-stop:
	scripts/demo.sh stop

bench: modules
	bench/run.sh

# the SRT load generator and sink of bench/srt.sh (libsrt from Debian)
BENCH_BIN  := $(BUILD)/bench
BENCH_CFLAGS := -std=gnu99 -O2 -g -W -Wall -Wextra -Werror -D_GNU_SOURCE

$(BENCH_BIN)/srtload: bench/srtload.c
	mkdir -p $(BENCH_BIN)
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags srt) -o $@ $< \
	    $(shell pkg-config --libs srt 2>/dev/null || echo -lsrt)

$(BENCH_BIN)/srtsink: bench/srtsink.c
	mkdir -p $(BENCH_BIN)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

bench-srt-tools: $(BENCH_BIN)/srtload $(BENCH_BIN)/srtsink

# the guide's SRT load test (100 x 4 Mbps, nginx vs srt-live-transmit);
# BENCH_SRT="N SECONDS" to change it
bench-srt: modules tools bench-srt-tools
	bench/srt.sh $(BENCH_SRT)

# fault injection: kill -9, reload and binary upgrade under load, Redis
# and worker crashes (bench/chaos/chaos.py; CHAOS_ARGS="--only a,b
# --trials 20"), about 5 to 10 minutes; not part of the tests
chaos: modules worker
	/usr/bin/python3 bench/chaos/chaos.py $(CHAOS_ARGS)

# mixed load for SOAK_SECONDS (default 3600); fds, RSS and the ingest
# zone must stay flat (bench/soak/soak.py)
soak: modules worker
	/usr/bin/python3 bench/soak/soak.py

# the worker with ASan+UBSan in build/worker-asan, and t/worker against it
WORKER_ASAN := $(BUILD)/worker-asan/ingest-worker

worker-asan:
	$(MAKE) --no-print-directory -C ffmpeg-worker SANITIZE=1 \
	    BUILD=$(BUILD)/worker-asan

worker-asan-test: worker-asan
	INGEST_WORKER_BIN=$(WORKER_ASAN) \
	    /usr/bin/python3 -m pytest -q -p no:cacheprovider t/worker

# valgrind memcheck of the worker on one VOD job
worker-valgrind: worker
	/usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    t/worker/test_valgrind.py

clean:
	rm -rf $(BUILD)
	$(MAKE) --no-print-directory -C ffmpeg-worker clean
	$(MAKE) --no-print-directory -C t/unit clean
