#!/bin/bash
# Entry point of the airlock-service image: the first argument picks the role and the process is exec'd, so the
# role's own signal handling (SIGTERM: release everything, exit 0) is what docker stop reaches. Configuration is
# the AIRLOCK_* environment (shared/config/src/schema.ts); nats takes NATS_PORT (default 4222).
# It must never start more than one process per container, nor read or print a secret.
set -euo pipefail

role="${1:-gateway}"
[[ $# -gt 0 ]] && shift
# The healthcheck runs beside the role and asks this file which role it checks.
echo "$role" >/tmp/airlock-role 2>/dev/null || true

# A worker with egress seals Docker's DNS inside each sandbox's network namespace by its path
# (/var/run/docker/netns/<id>, which dockerd mounts after this container started). Mounts made later on the host
# reach a container only through a shared or slave mount, which not every host has; the same files are always
# reachable through dockerd's root (/proc/<dockerd>/root, needs pid: host and CAP_SYS_PTRACE).
link_docker_netns() {
  [[ -e /var/run/docker/netns ]] && return 0
  local comm pid=""
  for comm in /proc/[0-9]*/comm; do
    if [[ "$(cat "$comm" 2>/dev/null)" == dockerd ]]; then pid="${comm#/proc/}"; pid="${pid%/comm}"; break; fi
  done
  if [[ -z "$pid" ]]; then
    echo "airlock-entrypoint: no dockerd process visible (run the worker with pid: host)" >&2
    return 1
  fi
  mkdir -p /run/docker
  ln -s "/proc/$pid/root/run/docker/netns" /run/docker/netns
}

case "$role" in
  gateway) exec node services/gateway/src/main.ts "$@" ;;
  worker)
    if [[ "${AIRLOCK_EGRESS:-off}" != off ]]; then link_docker_netns; fi
    exec node services/worker/src/main.ts "$@"
    ;;
  egress-proxy) exec node services/egress-proxy/src/main.ts "$@" ;;
  nats)
    exec nats-server --addr "${NATS_HOST:-127.0.0.1}" --port "${NATS_PORT:-4222}" --jetstream \
      --store_dir /var/lib/nats/jetstream "$@"
    ;;
  *)
    echo "airlock-entrypoint: unknown role '$role' (gateway, worker, egress-proxy or nats)" >&2
    exit 64
    ;;
esac
