#!/usr/bin/env bash
# Prepares this machine for Airlock's container backends (docker = runc, gvisor = runsc): installs what is
# missing from Debian packages, registers the gVisor runtimes with dockerd, starts dockerd, builds the sandbox
# images. Idempotent and quick when everything is in place.
# It must never clobber existing dockerd settings, never restart a running dockerd (SIGHUP only), and never
# fail the service's start-up unless asked to: without root or Docker it says what is missing and exits 0.
#
# Usage: scripts/setup-host.sh [--require-docker]
#   --require-docker   exit non-zero when the container backends cannot be made available (tests, CI)
#   AIRLOCK_SKIP_SETUP=1   skip everything
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIRE_DOCKER=0
for arg in "$@"; do
  case "$arg" in
    --require-docker) REQUIRE_DOCKER=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup-host: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [[ "${AIRLOCK_SKIP_SETUP:-}" == 1 ]]; then
  echo "setup-host: skipped (AIRLOCK_SKIP_SETUP=1)"
  exit 0
fi

DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_LOG=/var/log/airlock-dockerd.log
# chromium: the operator console's browser tests drive it through playwright-core (no browser download).
PACKAGES=(docker.io runsc iptables debootstrap nats-server gcc libc6-dev binutils docker-compose
  python3 python3-venv python3-setuptools python3-wheel python3-mypy chromium)
DOCKER_WAIT_SECONDS=60

say() { echo "setup-host: $*"; }

unavailable() {
  echo "airlock: container backends unavailable: $1"
  if [[ "$REQUIRE_DOCKER" == 1 ]]; then exit 1; fi
  exit 0
}

# The shipped templates (sandbox-images/templates: gcc, go, rust, java, ruby, php), so tests and a first start
# find them built; cached by their input hash. A failed build is reported and leaves the rest working (the
# service marks that template failed and serves the others).
build_templates() {
  local node="$REPO_DIR/node_modules/.bin/node"
  [[ -x "$node" ]] || node="$(command -v node || true)"
  if [[ -z "$node" ]]; then
    say "node not found: shipped templates not built (npm run templates -- build)"
    return 0
  fi
  "$node" "$REPO_DIR/shared/sandbox/src/templates/templates-cli.ts" build ||
    say "a shipped template failed to build (see above); the others are served (npm run templates -- list)"
}

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == installed ]] || echo "$pkg"
  done
}

docker_answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# A node or python3 for the JSON merge: Node 24 from the repo first, then whatever is on PATH.
json_tool() {
  if [[ -x "$REPO_DIR/node_modules/.bin/node" ]]; then echo "node:$REPO_DIR/node_modules/.bin/node"
  elif command -v node >/dev/null 2>&1; then echo "node:$(command -v node)"
  elif command -v python3 >/dev/null 2>&1; then echo "python3:$(command -v python3)"
  else return 1
  fi
}

# The two gVisor runtimes. --oci-seccomp makes gVisor apply Docker's seccomp profile inside its own kernel too
# (without it a job can unshare(CLONE_NEWUSER) there); "host" network = the container's own namespace (HOST.md).
RUNSC_ARGS='["--platform=ptrace", "--oci-seccomp", "--network=none"]'
RUNSC_NET_ARGS='["--platform=ptrace", "--oci-seccomp", "--network=host"]'
# The third, runsc-restore: runsc, but a container naming a checkpoint is restored from it (session snapshots).
RESTORE_RUNTIME_PATH=/usr/local/lib/airlock/runsc-restore

# Installs the runsc-restore runtime (scripts/runsc-restore, calling this host's runsc); prints nothing.
install_restore_runtime() {
  local runsc_path="$1" staged
  staged="$(mktemp)"
  sed "s#AIRLOCK_RUNSC:-/usr/bin/runsc#AIRLOCK_RUNSC:-$runsc_path#" "$REPO_DIR/scripts/runsc-restore" > "$staged"
  if ! cmp -s "$staged" "$RESTORE_RUNTIME_PATH"; then
    install -D -m 755 "$staged" "$RESTORE_RUNTIME_PATH"
  fi
  rm -f "$staged"
}

# Merges the three gVisor runtimes into daemon.json, keeping every other key. Prints "changed" or "unchanged".
merge_runtimes() {
  local runsc_path="$1" tool kind bin
  tool="$(json_tool)" || { echo "no node or python3 for the daemon.json merge" >&2; return 1; }
  kind="${tool%%:*}"
  bin="${tool#*:}"
  mkdir -p "$(dirname "$DAEMON_JSON")"
  if [[ "$kind" == node ]]; then
    "$bin" -e '
      const fs = require("node:fs");
      const [file, runsc, args, netArgs, restore] = process.argv.slice(1);
      const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      const config = before.trim() === "" ? {} : JSON.parse(before);
      config.runtimes = { ...(config.runtimes ?? {}),
        runsc: { path: runsc, runtimeArgs: JSON.parse(args) },
        "runsc-net": { path: runsc, runtimeArgs: JSON.parse(netArgs) },
        "runsc-restore": { path: restore, runtimeArgs: JSON.parse(args) } };
      const after = JSON.stringify(config, null, 2) + "\n";
      if (before.trim() !== "" && JSON.stringify(JSON.parse(before)) === JSON.stringify(config)) {
        console.log("unchanged");
      } else {
        fs.writeFileSync(file + ".airlock-tmp", after);
        fs.renameSync(file + ".airlock-tmp", file);
        console.log("changed");
      }' "$DAEMON_JSON" "$runsc_path" "$RUNSC_ARGS" "$RUNSC_NET_ARGS" "$RESTORE_RUNTIME_PATH"
  else
    "$bin" - "$DAEMON_JSON" "$runsc_path" "$RUNSC_ARGS" "$RUNSC_NET_ARGS" "$RESTORE_RUNTIME_PATH" <<'PY'
import json, os, sys
path, runsc, args, net_args, restore = sys.argv[1:6]
before = open(path).read() if os.path.exists(path) else ""
config = json.loads(before) if before.strip() else {}
old = json.dumps(config, sort_keys=True) if before.strip() else None
runtimes = config.setdefault("runtimes", {})
runtimes["runsc"] = {"path": runsc, "runtimeArgs": json.loads(args)}
runtimes["runsc-net"] = {"path": runsc, "runtimeArgs": json.loads(net_args)}
runtimes["runsc-restore"] = {"path": restore, "runtimeArgs": json.loads(args)}
if old == json.dumps(config, sort_keys=True):
    print("unchanged")
else:
    with open(path + ".airlock-tmp", "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    os.replace(path + ".airlock-tmp", path)
    print("changed")
PY
  fi
}

runtimes_registered() {
  local runtimes
  runtimes="$(docker info --format '{{range $name, $_ := .Runtimes}}{{$name}} {{end}}' 2>/dev/null || true)"
  [[ " $runtimes " == *" runsc "* && " $runtimes " == *" runsc-net "* && " $runtimes " == *" runc "* ]]
}

# --- 1. root, packages ---------------------------------------------------------------------------------------
mapfile -t MISSING < <(missing_packages)
if [[ "$(id -u)" != 0 ]]; then
  if ((${#MISSING[@]} == 0)) && docker_answers && runtimes_registered; then
    say "not root, but Docker with runc and runsc is ready; building images only"
    "$REPO_DIR/scripts/build-images.sh" || unavailable "sandbox image build failed (see output above)"
    build_templates
    echo "airlock: container backends ready: docker (runc), gvisor (runsc)"
    exit 0
  fi
  what="not running as root"
  ((${#MISSING[@]})) && what+="; missing packages: ${MISSING[*]}"
  docker_answers || what+="; dockerd is not answering (or its socket is not open to this user)"
  unavailable "$what (run scripts/setup-host.sh as root)"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  ((${#MISSING[@]} == 0)) || unavailable "no apt-get on this machine; missing packages: ${MISSING[*]}"
fi

if ((${#MISSING[@]})); then
  say "installing ${MISSING[*]}"
  say "apt-get update"
  if ! apt-get update -q; then unavailable "apt-get update failed (missing packages: ${MISSING[*]})"; fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${MISSING[@]}"; then
    unavailable "apt-get install failed for: ${MISSING[*]}"
  fi
else
  say "packages present: ${PACKAGES[*]}"
fi

# --- 2. runtimes in daemon.json ----------------------------------------------------------------------------
RUNSC_PATH="$(command -v runsc || true)"
[[ -n "$RUNSC_PATH" ]] || unavailable "runsc not found on PATH after installing the runsc package"
install_restore_runtime "$RUNSC_PATH"
if ! CONFIG_STATE="$(merge_runtimes "$RUNSC_PATH")"; then unavailable "could not update $DAEMON_JSON"; fi
say "$DAEMON_JSON: runtimes runsc, runsc-net, runsc-restore $CONFIG_STATE"

# --- 3. dockerd --------------------------------------------------------------------------------------------
DOCKERD_PID="$(pidof dockerd || true)"
if [[ -n "$DOCKERD_PID" ]]; then
  if [[ "$CONFIG_STATE" == changed ]]; then
    say "dockerd running (pid $DOCKERD_PID): sending SIGHUP to reload $DAEMON_JSON"
    kill -HUP $DOCKERD_PID
    sleep 1 # the reload is asynchronous; the runtimes below may already be listed from the old config
  else
    say "dockerd running (pid $DOCKERD_PID)"
  fi
else
  command -v dockerd >/dev/null 2>&1 || unavailable "dockerd not found on PATH"
  say "starting dockerd (log: $DOCKERD_LOG)"
  setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
fi

deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
until docker_answers && runtimes_registered; do
  if ((SECONDS >= deadline)); then
    if docker_answers; then
      unavailable "dockerd answers but does not list runtimes runc, runsc, runsc-net after ${DOCKER_WAIT_SECONDS}s (see $DAEMON_JSON)"
    fi
    tail -n 20 "$DOCKERD_LOG" 2>/dev/null | sed 's/^/  dockerd.log: /' || true
    unavailable "dockerd did not answer within ${DOCKER_WAIT_SECONDS}s (log: $DOCKERD_LOG)"
  fi
  sleep 0.5
done
say "docker $(docker info --format '{{.ServerVersion}}') answers; runtimes:" \
  "$(docker info --format '{{range $name, $_ := .Runtimes}}{{$name}} {{end}}')"

# --- 4. images ---------------------------------------------------------------------------------------------
if ! "$REPO_DIR/scripts/build-images.sh"; then unavailable "sandbox image build failed (see output above)"; fi
build_templates
echo "airlock: container backends ready: docker (runc), gvisor (runsc)"
