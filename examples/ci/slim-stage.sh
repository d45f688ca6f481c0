#!/bin/sh
# A CI stage: make a hardened, verified slim variant of the image this pipeline just built and
# push it, with its report, trace, seccomp profile and SBOM attached.
#
#   IMAGE=registry.example.com/team/app:1.4 examples/ci/slim-stage.sh
#
# IMAGE        the image to slim (in the engine, e.g. just built, or pulled first)
# SLIM_TARGET  where the slim image goes (default: IMAGE's repository, tag <tag>-slim)
# SLIM_CONFIG  the options of `slim build` for this service: checks, includes, budgets
#              (default: slim.yaml in the working directory)
# SLIM         how to run slim (default: slim)
# Registry credentials: SLIM_REGISTRY_USER / SLIM_REGISTRY_PASSWORD, or a prior `docker login`.
#
# Exit codes are slim's: 0 pushed, 1 error, 2 usage, 3 the slim image failed its checks,
# 4 over the size budget. Nothing is pushed unless it is 0.
set -u

: "${IMAGE:?set IMAGE to the image to slim, e.g. registry.example.com/team/app:1.4}"
slim=${SLIM:-slim}
config=${SLIM_CONFIG:-slim.yaml}

# The tag is what follows the last colon after the last slash (a registry port has a colon too).
name=${IMAGE%@*}
last=${name##*/}
case $last in
  *:*) repo=${name%:*}; tag=${last##*:} ;;
  *) repo=$name; tag=latest ;;
esac
target=${SLIM_TARGET:-$repo:$tag-slim}

set -- build "$IMAGE" --harden --output "registry:$target" --report slim-report.json
[ -f "$config" ] && set -- "$@" --config "$config"

echo "slim-stage: $IMAGE -> $target"
# shellcheck disable=SC2086 # SLIM may be a command with arguments, e.g. "node dist/cli/main.js"
$slim "$@"
status=$?
case $status in
  0) echo "slim-stage: pushed $target (report: slim-report.json, SBOM: slim-report.sbom.cdx.json)" ;;
  3) echo "slim-stage: the slim image failed its checks; see slim-report.json. Nothing was pushed." >&2 ;;
  4) echo "slim-stage: the slim image is over its size budget; see slim-report.json. Nothing was pushed." >&2 ;;
  *) echo "slim-stage: slim failed (exit $status). Nothing was pushed." >&2 ;;
esac
exit $status
