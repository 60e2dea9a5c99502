#!/usr/bin/env bash
# Builds the party image `ephemeral` (FROM scratch) from an `ephemeral` binary.
#
#   deploy/image/build.sh                 # cargo build --release -p cli, then the image
#   deploy/image/build.sh BIN [TAG]       # from an existing binary (CI reuses cargo test's)
#
# Environment: IMAGE_TAG (default ephemeral:latest) when TAG is not given.
#
# The image holds the binary (debug symbols stripped from the copy), the shared libraries
# `ldd` lists for it and the dynamic loader, /etc/passwd and /etc/group with the user
# `ephemeral` (10001), /etc/nsswitch.conf (host names from /etc/hosts, then DNS; glibc has
# both built in), and the node's directories: /etc/ephemeral (config, mounted read-only) and
# /var/lib/ephemeral (stores, owned by 10001). Nothing else: no shell, no package manager.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="${1:-}"
tag="${2:-${IMAGE_TAG:-ephemeral:latest}}"
if [ -z "$bin" ]; then
  cargo build --release --locked -p cli
  bin=target/release/ephemeral
fi
if [ ! -x "$bin" ]; then
  echo "build.sh: no executable at $bin (build it with: cargo build --release -p cli)" >&2
  exit 1
fi
command -v docker >/dev/null || { echo "build.sh: docker is not installed" >&2; exit 1; }

ctx="$(mktemp -d "${TMPDIR:-/tmp}/ephemeral-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ephemeral" "$root/var/lib/ephemeral" "$root/tmp"

# The binary, without its debug sections (the symbol table stays, for backtraces).
cp "$bin" "$root/usr/local/bin/ephemeral"
if command -v objcopy >/dev/null; then
  objcopy --strip-debug "$root/usr/local/bin/ephemeral"
fi

# Every shared library the binary needs, at the path the loader looks for it, and the loader.
# (A statically linked binary has none: ldd then says "not a dynamic executable".)
libs=""
if ldd "$bin" >/dev/null 2>&1; then
  if ldd "$bin" | grep -q "not found"; then
    echo "build.sh: ldd reports a missing library:" >&2
    ldd "$bin" >&2
    exit 1
  fi
  libs=$(ldd "$bin" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')
fi
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/nonexistent:/sbin/nologin
ephemeral:x:10001:10001:Ephemeral party node:/var/lib/ephemeral:/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
ephemeral:x:10001:
GROUP
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

cp deploy/image/Dockerfile "$ctx/Dockerfile"
chmod 0755 "$root/usr/local/bin/ephemeral"
chmod 1777 "$root/tmp"
# The stores' directory is staged apart: the Dockerfile copies it with --chown (COPY makes
# everything else root's, whoever runs the build).
mv "$root/var/lib/ephemeral" "$ctx/data"
chmod 0700 "$ctx/data"
# (Quiet unless it fails: the classic builder's deprecation notice is not news.)
if ! out=$(docker build -q -t "$tag" "$ctx" 2>&1); then
  echo "$out" >&2
  exit 1
fi
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built $tag: $(( size / 1024 / 1024 )) MiB ($size bytes); libraries: $(echo $libs | wc -w)"
