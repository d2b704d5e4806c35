#!/usr/bin/env bash
# build.sh: build runlet's QuickJS plugin module (quickjs.wasm) from pinned
# sources. Usage:
#
#   plugins/quickjs/build.sh [OUTDIR]
#
# OUTDIR defaults to this directory; the build writes OUTDIR/quickjs.wasm,
# OUTDIR/quickjs.wasm.sha256 and OUTDIR/LICENSE-QuickJS, and, when OUTDIR is
# this directory, updates the SHA256 constant in quickjs.go.
#
# Requirements: bash, npm, node, tar, patch, sha256sum, sha512sum and the
# Debian 12 toolchain:
#   apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32
# The build stops when the tarball's integrity or a toolchain version differs
# from SOURCE: update SOURCE (and re-check the result) when that is intended.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# shellcheck source=SOURCE
source "$here/SOURCE"

die() { echo "build.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Compiler flags: the one place they are listed.
STACK_SIZE=1048576 # C stack in linear memory; QuickJS's stack check uses it
CFLAGS=(
	--target=wasm32-wasi --sysroot=/usr
	-O2
	-mcpu=generic -mno-simd128 -mno-atomics # plain Wasm: no SIMD, no threads
	-mexec-model=reactor                    # exports _initialize, no main
	-funsigned-char -fwrapv # as QuickJS's own Makefile (clang) and later releases
	-Werror=implicit-function-declaration
	-D_GNU_SOURCE
	-DCONFIG_VERSION='"2021-03-27"'
	-DCONFIG_BIGNUM # BigInt (libbf); QuickJS 2021-03-27 needs it for BigInt
	-DRUNLET_QJS_STACK_SIZE=$STACK_SIZE
	-DRUNLET_QJS_MEMORY_LIMIT=0 # no QuickJS limit; the host caps linear memory
	-Wall -Wno-sign-compare -Wno-missing-field-initializers -Wno-unused-parameter
	-Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function
	-Wno-implicit-const-int-float-conversion
)
LDFLAGS=(
	-Wl,-z,stack-size=$STACK_SIZE
	-Wl,--stack-first # a stack overflow traps instead of overwriting data
	-Wl,--strip-debug # keep the name section for readable trap traces
)
SOURCES=(cutils.c libregexp.c libunicode.c libbf.c quickjs.c runlet.c)
C_FILES=(
	cutils.c cutils.h libbf.c libbf.h libregexp.c libregexp.h libregexp-opcode.h
	libunicode.c libunicode.h libunicode-table.h list.h quickjs.c quickjs.h
	quickjs-atom.h quickjs-opcode.h LICENSE VERSION
)
# ---------------------------------------------------------------------------

start=$(date +%s)

# Toolchain versions.
command -v clang >/dev/null || die "clang not found (apt-get install -y clang lld wasi-libc libclang-rt-dev-wasm32)"
got=$(clang --version | head -n1)
[[ $got == "$CLANG_VERSION" ]] || die "clang is '$got', SOURCE pins '$CLANG_VERSION'"
debver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
for pair in "clang-14:$DEB_CLANG" "lld-14:$DEB_LLD" "wasi-libc:$DEB_WASI_LIBC" \
	"libclang-rt-14-dev-wasm32:$DEB_CLANG_RT_WASM32"; do
	pkg=${pair%%:*}
	want=${pair#*:}
	got=$(debver "$pkg")
	[[ $got == "$want" ]] || die "package $pkg is '$got', SOURCE pins '$want'"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Fetch and verify the sources.
echo "build.sh: npm pack $NPM_PACKAGE" >&2
(cd "$tmp" && npm pack "$NPM_PACKAGE" --silent >/dev/null)
tgz=$(ls "$tmp"/*.tgz)
[[ -f $tgz ]] || die "npm pack produced no tarball"
sha=$(sha512sum "$tgz" | cut -d' ' -f1)
[[ $sha == "$TARBALL_SHA512" ]] || die "tarball sha512 is $sha, SOURCE pins $TARBALL_SHA512"
integrity=$(node -e 'const c=require("crypto"),fs=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
[[ $integrity == "$NPM_INTEGRITY" ]] || die "tarball integrity is $integrity, SOURCE pins $NPM_INTEGRITY"

mkdir "$tmp/x" "$tmp/src"
tar -xzf "$tgz" -C "$tmp/x" "${C_FILES[@]/#/$SOURCE_DIR/}"
for f in "${C_FILES[@]}"; do cp "$tmp/x/$SOURCE_DIR/$f" "$tmp/src/$f"; done
[[ $(cat "$tmp/src/VERSION") == "$QUICKJS_VERSION" ]] || die "QuickJS VERSION is not $QUICKJS_VERSION"

patch -p1 -F0 -N --batch --no-backup-if-mismatch -d "$tmp/src" \
	<"$here/patches/quickjs-2021-03-27-runlet.patch" >/dev/null ||
	die "the patch does not apply cleanly"
cp "$here/glue/runlet.c" "$tmp/src/runlet.c"

# Compile from inside the source directory with relative file names, so that
# __FILE__ (assert messages) does not depend on the temporary path.
echo "build.sh: clang ${CFLAGS[*]} ${LDFLAGS[*]}" >&2
(cd "$tmp/src" && clang "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$tmp/quickjs.wasm" "${SOURCES[@]}")

install -m 0644 "$tmp/quickjs.wasm" "$out/quickjs.wasm"
install -m 0644 "$tmp/src/LICENSE" "$out/LICENSE-QuickJS"
sum=$(sha256sum "$out/quickjs.wasm" | cut -d' ' -f1)
echo "$sum  quickjs.wasm" >"$out/quickjs.wasm.sha256"
if [[ $out == "$here" ]]; then
	sed -i -E "s/^const SHA256 = \"[0-9a-f]*\"/const SHA256 = \"$sum\"/" "$here/quickjs.go"
fi

size=$(wc -c <"$out/quickjs.wasm")
echo "build.sh: wrote $out/quickjs.wasm ($size bytes, sha256 $sum) in $(($(date +%s) - start))s" >&2
