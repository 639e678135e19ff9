# Sourced by the bench scripts. wait_ready PID URL: waits until URL answers, and stops the
# script with a message if process PID (the server) exits first, instead of polling forever
# (a server that cannot start, e.g. on a migration error, used to hang the benchmark).
wait_ready() {
  local pid=$1 url=$2
  until curl -sf "$url" >/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the server exited before $url answered; start it by hand to see why" >&2
      exit 1
    fi
    sleep 0.005
  done
}
