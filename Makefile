# A thin wrapper over CMake, so that the README's two commands are short.
BUILD ?= build
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local

.PHONY: all deps build run test unit integration asan clean images install

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Builds, then runs a sample job in the bundled rootfs.
run: build
	$(BUILD)/sbx run --memory 64M --pids 32 --wall-time-limit 5 -- \
	    /bin/sh -c 'echo "hello from $$(hostname): uid $$(id -u), pid $$$$"; ls /'

# The judge and CI image layers (Debian packages) in $(BUILD)/images.
images: build
	cmake --build $(BUILD) --target images

# Installs into $(DESTDIR)$(PREFIX): bin/sbx, sbin/sandboxd, lib/sbx (rootfs,
# profiles, example policies), lib/systemd/system, share/doc/sbx.
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# Builds and runs every test (what CI runs).
test: build
	scripts/test-all $(BUILD)

unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure

integration: build
	cd $(BUILD) && ctest -L integration --output-on-failure

clean:
	rm -rf $(BUILD) build-*
