#!/bin/sh
# Prints the reference of a local Debian bookworm base image with python3, building it first
# when it is missing. For machines that reach Debian's mirror but no container registry (CI
# here): the image is a `mmdebstrap --variant=minbase` root filesystem, `podman import`ed.
#   podman build --build-arg BASE="$(deploy/container/base-image.sh)" ...
# The root filesystem is kept as a tar in $KC_BASE_CACHE (default /var/cache/kuscia-console),
# keyed by this script (suite, packages, options), the apt sources and the month, so a warm run
# only checks that the image exists (or re-imports the tar), and a new month picks up Debian's
# security updates.
# Needs root (mmdebstrap's root mode, rootful podman). Diagnostics go to stderr.
set -eu

SUITE=bookworm
PACKAGES=python3,python3-venv,ca-certificates
SOURCES=${KC_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
CACHE=${KC_BASE_CACHE:-/var/cache/kuscia-console}
NAME=localhost/kuscia-console-base

key=$( (cat "$0" "$SOURCES"; date -u +%Y-%m) | sha256sum | cut -c1-16)
image="$NAME:$key"
tarball="$CACHE/base-$key.tar"

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$tarball" ]; then
  echo "base-image: building $tarball with mmdebstrap ($SUITE: $PACKAGES)" >&2
  # Documentation, manual pages and translations are left out (copyright files stay).
  # Merged /usr is set up by mmdebstrap's hook rather than the usrmerge package (which pulls in
  # perl), and no Recommends are installed.
  mmdebstrap --quiet --variant=minbase --format=tar --include="$PACKAGES" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$tarball.partial" "$SOURCES" </dev/null >"$tarball.log" 2>&1 \
    || { cat "$tarball.log" >&2; rm -f "$tarball.partial"; exit 1; }
  rm -f "$tarball.log"
  mv "$tarball.partial" "$tarball"
fi
echo "base-image: importing $tarball as $image" >&2
podman import --quiet --change 'CMD ["/bin/sh"]' "$tarball" "$image" >/dev/null
# Older months' tars and images are no longer used.
for old in "$CACHE"/base-*.tar; do
  [ "$old" = "$tarball" ] || rm -f "$old"
done
podman images --format '{{.Repository}}:{{.Tag}}' \
  | grep "^$NAME:" | grep -v "^$image\$" | xargs -r podman rmi --force >/dev/null 2>&1 || true
echo "$image"
