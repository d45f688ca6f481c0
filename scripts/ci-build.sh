#!/bin/sh
# `slim build` as a CI step, for the GitHub Action (action.yml) and the GitLab CI template
# (ci/gitlab/slim.gitlab-ci.yml): the settings come as SLIM_* environment variables, each one
# flag of `slim build`; empty means "not given". It can also run on its own, in any CI:
#
#   SLIM_IMAGE=registry.example.com/team/app:1.4 SLIM_PUSH=registry.example.com/team/app:1.4-slim \
#     SLIM_HARDEN=true sh scripts/ci-build.sh
#
# SLIM_IMAGE          the image to slim (required)                      IMAGE
# SLIM_TAG            name of the slim image in the engine              --tag
# SLIM_OUTPUTS        where the image goes, one destination a line      --output (each)
# SLIM_PUSH           HOST/REPO[:TAG] to push to                        --output registry:…
# SLIM_NETWORK        network of the containers, e.g. host              --network
# SLIM_SMOKE          smoke command on the host                         --smoke
# SLIM_HTTP_PROBE     HTTP requests that must answer 2xx, one a line    --http-probe (each)
# SLIM_HTTP_PORT      container port of the HTTP checks                 --http-port
# SLIM_VERIFY_SMOKE   smoke command for the slim image only             --verify-smoke
# SLIM_HARDEN         true or false                                     --harden
# SLIM_REBUILD        what to rebuild from evidence: jvm, icu or jvm,icu  --rebuild
# SLIM_MAX_SIZE       size budget, e.g. 50MB                            --max-size
# SLIM_MIN_REDUCTION  reduction budget, e.g. 5                          --min-reduction
# SLIM_CONFIG         slim.yaml to read (default: ./slim.yaml if any)   --config
# SLIM_REPORT         the JSON report (default: slim-report.json)       --report
# SLIM_ARGS           more flags, split into words as xargs does (quotes group; nothing is expanded)
# SLIM                how to run slim (default: slim)
# Registry credentials: SLIM_REGISTRY_USER / SLIM_REGISTRY_PASSWORD (slim reads them), or `docker login`.
#
# Results, written whether or not the build passed (when slim got as far as a report):
#   GITHUB_OUTPUT set: tag, digest, image-id, size, original-size, pushed, status, report, exit-code
#   SLIM_DOTENV set:   the same as SLIM_OUT_TAG=…, SLIM_OUT_DIGEST=…, … (a GitLab dotenv report)
# Exit codes are slim's (0 ok, 1 error, 2 usage, 3 failed its checks, 4 over budget; nothing is
# published unless 0), and 2 for a setting this script cannot use.
set -u

usage() {
  echo "slim-ci: error: $1" >&2
  exit 2
}

[ -n "${SLIM_IMAGE:-}" ] || usage "SLIM_IMAGE (the action's input image) is empty: set it to the image to slim, e.g. registry.example.com/team/app:1.4"
report=${SLIM_REPORT:-slim-report.json}

set -- build "$SLIM_IMAGE" --report "$report"
[ -z "${SLIM_TAG:-}" ] || set -- "$@" --tag "$SLIM_TAG"
# Multi-line settings give one flag per non-empty line. The loops read here-documents, not a
# pipe, so that they run in this shell and `set --` adds to its arguments.
while IFS= read -r line; do
  [ -z "$line" ] || set -- "$@" --output "$line"
done <<LINES
${SLIM_OUTPUTS:-}
LINES
[ -z "${SLIM_PUSH:-}" ] || set -- "$@" --output "registry:${SLIM_PUSH#registry:}"
[ -z "${SLIM_NETWORK:-}" ] || set -- "$@" --network "$SLIM_NETWORK"
[ -z "${SLIM_SMOKE:-}" ] || set -- "$@" --smoke "$SLIM_SMOKE"
while IFS= read -r line; do
  [ -z "$line" ] || set -- "$@" --http-probe "$line"
done <<LINES
${SLIM_HTTP_PROBE:-}
LINES
[ -z "${SLIM_HTTP_PORT:-}" ] || set -- "$@" --http-port "$SLIM_HTTP_PORT"
[ -z "${SLIM_VERIFY_SMOKE:-}" ] || set -- "$@" --verify-smoke "$SLIM_VERIFY_SMOKE"
case ${SLIM_HARDEN:-false} in
  true | True | TRUE | yes | 1) set -- "$@" --harden ;;
  false | False | FALSE | no | 0 | '') ;;
  *) usage "SLIM_HARDEN (the action's input harden) is '${SLIM_HARDEN}': use true or false" ;;
esac
[ -z "${SLIM_REBUILD:-}" ] || set -- "$@" --rebuild "$SLIM_REBUILD"
[ -z "${SLIM_MAX_SIZE:-}" ] || set -- "$@" --max-size "$SLIM_MAX_SIZE"
[ -z "${SLIM_MIN_REDUCTION:-}" ] || set -- "$@" --min-reduction "$SLIM_MIN_REDUCTION"
[ -z "${SLIM_CONFIG:-}" ] || set -- "$@" --config "$SLIM_CONFIG"
if [ -n "${SLIM_ARGS:-}" ]; then
  # xargs splits as a shell would quote, without running anything in the text.
  words=$(printf '%s\n' "$SLIM_ARGS" | xargs printf '%s\n') || usage "SLIM_ARGS (the action's input args) cannot be split into words: $SLIM_ARGS"
  while IFS= read -r line; do
    set -- "$@" "$line"
  done <<LINES
$words
LINES
fi

echo "slim-ci: slim $*"
# shellcheck disable=SC2086 # SLIM may be a command with arguments, e.g. "node dist/cli/main.js"
${SLIM:-slim} "$@"
status=$?

# The results, from the report slim wrote (also on failure, with status "error").
if [ -f "$report" ]; then
  results=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const o = r.output ?? {};
    const out = {
      tag: o.ref ?? "", digest: o.digest ?? "", "image-id": o.id ?? "", size: o.size ?? "",
      "original-size": r.input?.size ?? "", pushed: (o.pushed ?? []).map((p) => p.ref).join(" "),
      status: r.status ?? "", report: process.argv[1], "exit-code": process.argv[2],
    };
    for (const [k, v] of Object.entries(out)) console.log(`${k}=${String(v).replace(/\n/g, " ")}`);
  ' "$report" "$status") || results=''
else
  results="report=
status=error
exit-code=$status"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s\n' "$results" >>"$GITHUB_OUTPUT"; fi
if [ -n "${SLIM_DOTENV:-}" ]; then
  printf '%s\n' "$results" | while IFS='=' read -r key value; do
    printf 'SLIM_OUT_%s=%s\n' "$(printf '%s' "$key" | tr 'a-z-' 'A-Z_')" "$value"
  done >>"$SLIM_DOTENV"
fi

case $status in
  0)
    pushed=$(printf '%s\n' "$results" | sed -n 's/^pushed=//p')
    echo "slim-ci: done${pushed:+, pushed $pushed} (report: $report)" ;;
  3) echo "slim-ci: the slim image failed its checks; see $report. Nothing was published." >&2 ;;
  4) echo "slim-ci: the slim image is over its size budget; see $report. Nothing was published." >&2 ;;
  *) echo "slim-ci: slim failed (exit $status). Nothing was published." >&2 ;;
esac
exit $status
