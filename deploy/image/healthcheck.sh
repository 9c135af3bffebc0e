#!/bin/bash
# Docker HEALTHCHECK of the airlock-service image, for the role the entrypoint started (/tmp/airlock-role):
# gateway: GET /readyz answers 200 (503 while shutting down); nats: the server greets a client with INFO;
# egress-proxy: it answers `airlock.egress.<id>.info` on NATS; worker: it has no health surface of its own, so
# only its process is checked (a worker that exits ends its container). It must never change anything.
set -uo pipefail

role="$(cat /tmp/airlock-role 2>/dev/null || echo unknown)"
case "$role" in
  gateway)
    host="${AIRLOCK_HOST:-127.0.0.1}"
    [[ "$host" == 0.0.0.0 || "$host" == :: ]] && host=127.0.0.1
    [[ "$host" == *:* ]] && host="[$host]"
    exec curl -fsS --max-time 4 -o /dev/null "http://$host:${AIRLOCK_PORT:-8080}/readyz"
    ;;
  nats)
    exec 3<>"/dev/tcp/${NATS_HOST:-127.0.0.1}/${NATS_PORT:-4222}" || exit 1
    IFS= read -r -t 4 greeting <&3 || exit 1
    [[ "$greeting" == INFO* ]]
    ;;
  egress-proxy) exec node /opt/airlock/deploy/egress-health.ts ;;
  worker) exit 0 ;;
  *) echo "airlock-healthcheck: unknown role '$role'" >&2; exit 1 ;;
esac
