#!/usr/bin/env bash
# The berth commands of the deployment workflow, in one place: the two GitHub
# Actions workflows beside this file call it, and a test (or you) can run it
# the same way on a laptop.
#
#   examples/ci/pipeline.sh plan    plan, save the plan, write it as Markdown
#   examples/ci/pipeline.sh apply   apply the saved plan (refused when stale),
#                                   or, with no saved plan, plan and apply now
#
# berth reads what `docker compose` reads from the environment: COMPOSE_FILE
# (the compose files), COMPOSE_PROJECT_NAME, COMPOSE_PROFILES, and DOCKER_HOST
# (the engine: `ssh://deploy@host` in the workflows, the local socket when
# unset). The script's own settings, all optional:
#
#   BERTH         the berth binary (default: berth on PATH)
#   PIPELINE_DIR  where the files below go (default: $RUNNER_TEMP/berth on
#                 GitHub Actions, else the current directory). Outside the
#                 checkout in CI: a plan file written into a build context
#                 would change its hash, and berth would call the plan stale.
#   PLAN_FILE     the saved plan (default: $PIPELINE_DIR/plan.bin)
#   PLAN_MARKDOWN the plan as Markdown, for the pull-request comment
#                 (default: $PIPELINE_DIR/plan.md)
#   BERTH_STATE   the state file berth reads and writes (berth's own variable;
#                 default: state/<project>.json beside the compose file, or
#                 $PIPELINE_DIR/state.json with BERTH_STATE_REMOTE)
#   BERTH_STATE_REMOTE  user@host:/path/to/state.json: keep the state on the
#                 Docker host between runs (a CI runner's checkout is thrown
#                 away after each job). Fetched before planning or applying,
#                 and written back after an apply, whatever its outcome.
#
# Exit codes: 0 success (`plan`: with or without changes, written to
# $GITHUB_OUTPUT as changes=true|false when that is set, with markdown=PATH);
# 1 an error, berth's message on stderr (and, for `plan`, in the Markdown file,
# for the comment).
set -euo pipefail

BERTH="${BERTH:-berth}"
PIPELINE_DIR="${PIPELINE_DIR:-${RUNNER_TEMP:+$RUNNER_TEMP/berth}}"
PIPELINE_DIR="${PIPELINE_DIR:-.}"
PLAN_FILE="${PLAN_FILE:-$PIPELINE_DIR/plan.bin}"
PLAN_MARKDOWN="${PLAN_MARKDOWN:-$PIPELINE_DIR/plan.md}"
mkdir -p "$PIPELINE_DIR"

say() { printf 'pipeline: %s\n' "$*" >&2; }

if [ -n "${BERTH_STATE_REMOTE:-}" ]; then
    remote_host="${BERTH_STATE_REMOTE%%:*}"
    remote_path="${BERTH_STATE_REMOTE#*:}"
    if [ "$remote_host" = "$BERTH_STATE_REMOTE" ] || [ -z "$remote_path" ]; then
        say "BERTH_STATE_REMOTE must be user@host:/path/to/state.json, not '$BERTH_STATE_REMOTE'"
        exit 1
    fi
    export BERTH_STATE="${BERTH_STATE:-$PIPELINE_DIR/state.json}"
fi

# The state as the Docker host keeps it (none yet before the first deploy).
# An ssh failure stops here: planning from no state would plan to create
# everything again.
state_fetch() {
    [ -n "${BERTH_STATE_REMOTE:-}" ] || return 0
    mkdir -p "$(dirname "$BERTH_STATE")"
    local q code=0
    q="$(printf '%q' "$remote_path")"
    ssh "$remote_host" "test -e $q || exit 3; cat $q" >"$BERTH_STATE.part" || code=$?
    case "$code" in
        0)
            mv "$BERTH_STATE.part" "$BERTH_STATE"
            say "state fetched from $BERTH_STATE_REMOTE"
            ;;
        3)
            rm -f "$BERTH_STATE" "$BERTH_STATE.part"
            say "no state at $BERTH_STATE_REMOTE yet: planning from nothing"
            ;;
        *)
            rm -f "$BERTH_STATE.part"
            say "cannot read the state at $BERTH_STATE_REMOTE (ssh exit $code)"
            return 1
            ;;
    esac
}

# Write the state back (atomically on the host: a new file, then a rename).
state_push() {
    [ -n "${BERTH_STATE_REMOTE:-}" ] || return 0
    [ -e "$BERTH_STATE" ] || return 0
    local q
    q="$(printf '%q' "$remote_path")"
    ssh "$remote_host" "mkdir -p \"\$(dirname $q)\" && cat > $q.part && mv $q.part $q" <"$BERTH_STATE"
    say "state written back to $BERTH_STATE_REMOTE"
}

plan() {
    state_fetch
    local code=0 err
    err="$(mktemp)"
    # --detailed-exitcode: 0 no changes, 1 error, 2 changes present
    "$BERTH" plan -o "$PLAN_FILE" --format markdown --detailed-exitcode \
        >"$PLAN_MARKDOWN" 2>"$err" || code=$?
    cat "$err" >&2
    [ -z "${GITHUB_OUTPUT:-}" ] || echo "markdown=$PLAN_MARKDOWN" >>"$GITHUB_OUTPUT"
    case "$code" in
        0 | 2)
            local changes=false
            [ "$code" -eq 2 ] && changes=true
            say "plan saved to $PLAN_FILE (changes: $changes), Markdown in $PLAN_MARKDOWN"
            [ -z "${GITHUB_OUTPUT:-}" ] || echo "changes=$changes" >>"$GITHUB_OUTPUT"
            ;;
        *)
            # the reviewers see why there is no plan
            {
                echo '### berth plan failed'
                echo
                echo '```text'
                cat "$err"
                echo '```'
            } >"$PLAN_MARKDOWN"
            rm -f "$err"
            return 1
            ;;
    esac
    rm -f "$err"
}

apply() {
    state_fetch
    trap state_push EXIT
    if [ ! -e "$PLAN_FILE" ]; then
        # a push to main without a reviewed plan (or a deliberate re-plan):
        # the push is the approval, so plan now and apply exactly that plan
        say "no saved plan $PLAN_FILE: planning now"
        "$BERTH" plan -o "$PLAN_FILE"
    fi
    # Applies exactly the saved plan. berth refuses (exit 1, nothing changed)
    # when the plan is stale: a compose file, an env file or a build context
    # differs, the state moved on (another apply ran), or the engine no longer
    # matches; its message says which.
    "$BERTH" apply "$PLAN_FILE"
}

case "${1:-}" in
    plan) plan ;;
    apply) apply ;;
    *)
        echo "usage: $0 plan|apply" >&2
        exit 1
        ;;
esac
