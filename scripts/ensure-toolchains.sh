#!/usr/bin/env bash
# Make sure the toolchains that build the example plugins (sdk/c, sdk/rust) are installed:
# clang + lld + wasi-libc + the wasm32 compiler-rt builtins for C, Debian's rustc/cargo with the
# wasm32 standard library for Rust, and wabt (wasm-objdump) for checking what a module imports
# and exports; and Debian's chromium, the headless browser that cmd/hermes'
# dashboard tests drive (they must run under CI=true, so `make test` installs it).
#
# Idempotent: when everything is present it only asks dpkg and exits (milliseconds). Otherwise it
# runs `apt-get update` once and installs what is missing, as root directly or through sudo.
set -euo pipefail

packages=(clang lld wasi-libc libclang-rt-dev-wasm32 wabt rustc cargo libstd-rust-dev-wasm32 chromium)

# One dpkg-query for all of them; a package dpkg does not know is simply absent from its output.
status=$'\n'$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)$'\n'
missing=()
for pkg in "${packages[@]}"; do
	if [[ "$status" != *$'\n'"$pkg install ok installed"$'\n'* ]]; then
		missing+=("$pkg")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

echo "ensure-toolchains: installing ${missing[*]}" >&2

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-toolchains: apt-get not found; install these Debian packages (or their equivalents) yourself: ${missing[*]}" >&2
	exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "ensure-toolchains: not root and sudo is not available; as root, run:" >&2
		echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
fi

${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
