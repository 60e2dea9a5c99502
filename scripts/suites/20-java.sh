#!/usr/bin/env bash
# The Java client (java/): its unit tests (field encoding and output-delivery verification
# against vectors the Rust SDK wrote) and its integration tests against a real `ephemeral dev`
# cloud started from $EPHEMERAL_BIN (every call, and a tampering party detected).
#
# Maven runs offline against Debian's repository (/usr/share/maven-repo): the apt packages below
# provide Maven, its plugins, Jackson and JUnit 5, and the pom's `debian-offline` profile selects
# the versions Debian ships (`2.x`, `debian`). Nothing is downloaded from Maven Central.
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${EPHEMERAL_BIN:?set EPHEMERAL_BIN to the ephemeral binary (scripts/test does)}"

packages=(maven-debian-helper libmaven-compiler-plugin-java libsurefire-java
  libmaven-jar-plugin-java libmaven-resources-plugin-java libjackson2-databind-java junit5)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v javac >/dev/null; then
  missing+=(default-jdk-headless)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
    || { $SUDO apt-get update && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

cd java
EPHEMERAL_BIN="$(realpath "$EPHEMERAL_BIN")" \
  mvn -B -o -s /etc/maven/settings-debian.xml -P debian-offline test
