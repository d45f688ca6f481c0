#!/bin/sh
# The main job on an example image: build the python-http fixture as slim-example/python-http:1.0,
# then slim it with a smoke test against its health endpoint.
set -eu
cd "$(dirname "$0")/.."
port=${PORT:-18080}
DOCKER_BUILDKIT=0 docker build -q --network host -t slim-example/python-http:1.0 fixtures/python-http >/dev/null
exec node dist/cli/main.js build slim-example/python-http:1.0 \
  --network host -e PORT="$port" \
  --smoke "curl -fsS http://127.0.0.1:$port/health | grep -q ok" "$@"
