#!/usr/bin/env bash
# Installs the system tools the observability tests drive for real, from Debian's apt:
#   prometheus  the server binary (test/integration/prometheus.test.ts, dashboard.test.ts)
#   chromium    a browser for playwright-core (test/integration/status-page.test.ts, dashboard.test.ts)
# `npm test` calls it (test/support/global-setup.ts) for the tools that are missing.
# Idempotent: a tool already on PATH is skipped. The package's system service is not
# started (the tests run the binary themselves, on 127.0.0.1 and a free port).
# Needs root (or password-less sudo) and Debian/Ubuntu apt; otherwise it prints one line
# saying what to run and exits 1.
# Usage: deploy/local/ensure-tools.sh [prometheus] [chromium]   (default: both)
set -euo pipefail

tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(prometheus chromium)
want=()
for t in "${tools[@]}"; do
  case "$t" in
  prometheus | chromium) command -v "$t" >/dev/null 2>&1 || want+=("$t") ;;
  *)
    echo "ensure-tools: unknown tool $t (prometheus, chromium)" >&2
    exit 2
    ;;
  esac
done
if [ ${#want[@]} -eq 0 ]; then
  echo "ensure-tools: ${tools[*]} already installed"
  exit 0
fi

fix="install them yourself (Debian/Ubuntu: \`sudo apt-get install -y ${want[*]}\`; elsewhere your package manager) and run the tests again"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: need ${want[*]} and apt-get is missing: $fix" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    echo "ensure-tools: need ${want[*]}, and installing needs root (no password-less sudo here): $fix" >&2
    exit 1
  fi
  sudo="sudo -n"
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
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" update || ! $sudo "${apt[@]}" install -y --no-install-recommends "${want[@]}"; then
  echo "ensure-tools: apt-get could not install ${want[*]} (see above): $fix" >&2
  exit 1
fi
for t in "${want[@]}"; do command -v "$t" >/dev/null || {
  echo "ensure-tools: $t still not on PATH after apt-get install: $fix" >&2
  exit 1
}; done
echo "ensure-tools: $(prometheus --version 2>&1 | head -n 1); $(chromium --version 2>/dev/null)"
