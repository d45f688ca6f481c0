#!/bin/sh
# Prepare a Debian machine for slim and its tests: packages, a running Docker engine and Podman
# service, the local Debian base image in both (nothing can be pulled here), node modules and the
# build. Idempotent.
set -eu
cd "$(dirname "$0")/.."

need_pkgs=""
for pair in docker.io:dockerd podman:podman chromium:chromium debootstrap:debootstrap zstd:zstd skopeo:skopeo umoci:umoci docker-registry:docker-registry curl:curl binutils:readelf libcap2-bin:setcap apache2-utils:htpasswd openssl:openssl runc:runc gcc:gcc strace:strace; do
  pkg=${pair%%:*}; bin=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || need_pkgs="$need_pkgs $pkg"
done
# --runtime oci builds the probe on the host: the static sensor needs glibc's static library.
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkgs="$need_pkgs libc6-dev"
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

# Podman's defaults fail here: crun refuses this host's hybrid cgroups, and its open-files limit is
# above what the machine allows ("error setting rlimit type 7"). A containers.conf the user already
# has is theirs: it is only checked.
conf=/etc/containers/containers.conf
if [ ! -e "$conf" ]; then
  echo "setup: writing $conf (runc, cgroupfs, ulimits the machine allows)"
  mkdir -p /etc/containers
  cat >"$conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
else
  grep -q '^[[:space:]]*runtime[[:space:]]*=' "$conf" || echo "setup: warning: $conf sets no [engine] runtime: if containers fail under crun, add runtime = \"runc\"" >&2
  grep -q '^[[:space:]]*default_ulimits' "$conf" || echo "setup: warning: $conf sets no [containers] default_ulimits: if containers fail with 'error setting rlimit', add default_ulimits = [\"nofile=20000:20000\"]" >&2
fi

podman_sock=/run/podman/podman.sock
podman_up() { curl -fsS --max-time 5 --unix-socket "$podman_sock" http://podman/_ping >/dev/null 2>&1; }
if ! podman_up; then
  echo "setup: starting the Podman service at unix://$podman_sock"
  mkdir -p "$(dirname "$podman_sock")"
  nohup podman system service --time=0 "unix://$podman_sock" >/var/log/slim-podman.log 2>&1 &
  i=0
  until podman_up; do
    i=$((i + 1))
    if [ $i -gt 60 ]; then echo "setup: the Podman service did not come up; see /var/log/slim-podman.log" >&2; exit 1; fi
    sleep 0.5
  done
fi
# The probe image is built FROM the base in whichever engine slim uses. `podman load` names it
# localhost/debian:bookworm, which FROM debian:bookworm finds before any registry.
if ! podman image exists "$base"; then
  echo "setup: copying $base into Podman"
  docker save "$base" | podman load -q >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing node modules"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
echo "setup: ready (Docker $(docker version -f '{{.Server.Version}}'), Podman $(podman --version | cut -d' ' -f3), base $base)"
