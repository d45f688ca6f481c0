#!/bin/sh
# Prepare a Debian machine for slim and its tests: packages, a running Docker engine, the local
# Debian base image (nothing can be pulled here), node modules and the build. Idempotent.
set -eu
cd "$(dirname "$0")/.."

need_pkgs=""
for pair in docker.io:dockerd chromium:chromium debootstrap:debootstrap zstd:zstd skopeo:skopeo umoci:umoci docker-registry:docker-registry curl:curl binutils:readelf libcap2-bin:setcap apache2-utils:htpasswd openssl:openssl; do
  pkg=${pair%%:*}; bin=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || need_pkgs="$need_pkgs $pkg"
done
if [ -n "$need_pkgs" ]; then
  echo "setup: installing$need_pkgs"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    echo "setup: DOCKER_HOST=$DOCKER_HOST does not answer" >&2; exit 1
  fi
  echo "setup: starting dockerd (no default bridge: containers use host networking or none)"
  nohup dockerd --bridge=none --iptables=false --ip6tables=false >/var/log/slim-dockerd.log 2>&1 &
  i=0
  until docker info >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 60 ]; then echo "setup: dockerd did not come up; see /var/log/slim-dockerd.log" >&2; exit 1; fi
    sleep 0.5
  done
fi

base=${SLIM_BASE_IMAGE:-debian:bookworm}
if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "setup: making $base with debootstrap (about 30 s)"
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  debootstrap --variant=minbase bookworm "$dir/rootfs" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 \
    || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
  tar -C "$dir/rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$dir"
  trap - EXIT
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing node modules"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
echo "setup: ready (engine $(docker version -f '{{.Server.Version}}'), base $base)"
