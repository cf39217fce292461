#!/usr/bin/env bash
# Installs the system tools the observability tests drive for real, from Debian's apt:
#   prometheus  the server binary (test/integration/prometheus.test.ts scrapes an instance)
#   chromium    a browser for playwright-core (test/integration/status-page.test.ts)
# Idempotent: a tool already on PATH is skipped. The package's system service is not
# started (the tests run the binary themselves, on 127.0.0.1 and a free port).
# Needs root (or sudo) and Debian/Ubuntu apt. Usage: deploy/local/ensure-tools.sh
set -euo pipefail

want=()
command -v prometheus >/dev/null 2>&1 || want+=(prometheus)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
if [ ${#want[@]} -eq 0 ]; then
  echo "ensure-tools: prometheus and chromium already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: need ${want[*]} but apt-get is missing; install them with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "ensure-tools: need ${want[*]}; run as root or install sudo" >&2
    exit 1
  }
  sudo="sudo"
fi

# Keep apt from starting prometheus.service (policy-rc.d exit 101 = "do not start");
# restore whatever policy was there before.
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
  saved="$(mktemp)"
  $sudo cp -p "$policy" "$saved"
fi
restore_policy() {
  if [ -n "$saved" ]; then $sudo mv -f "$saved" "$policy"; else $sudo rm -f "$policy"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
$sudo chmod 755 "$policy"

echo "ensure-tools: installing ${want[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"
for t in "${want[@]}"; do command -v "$t" >/dev/null || {
  echo "ensure-tools: $t still not on PATH after apt-get install" >&2
  exit 1
}; done
echo "ensure-tools: $(prometheus --version 2>&1 | head -n 1); $(chromium --version 2>/dev/null)"
