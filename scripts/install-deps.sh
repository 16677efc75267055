#!/usr/bin/env bash
# Installs the Debian 12 packages authsvc needs, only those that are missing.
#   scripts/install-deps.sh          what building and serving need
#   scripts/install-deps.sh --test   also what the tests need (a real RabbitMQ, AMQP clients,
#                                    headless Chromium, and the OpenID Connect provider the
#                                    web tests sign in at: scripts/install-oidc-provider.sh)
#   scripts/install-deps.sh --bench  that, and what tests/bench needs (nginx, wrk)
#   scripts/install-deps.sh --package  what building and serving need, and what
#                                    scripts/package.sh needs (CPack's dpkg tools, help2man)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libmicrohttpd-dev libgnutls28-dev libcpp-httplib-dev libsqlitecpp-dev libsqlite3-dev libssl-dev
  libre2-dev libfmt-dev libcli11-dev nlohmann-json3-dev doctest-dev libcurl4-openssl-dev libjwt-dev
  libkainjow-mustache-dev zlib1g-dev libtomlplusplus-dev libsystemd-dev libpqxx-dev librabbitmq-dev
)
if [[ "${1:-}" == "--package" || "${1:-}" == "--test" || "${1:-}" == "--bench" ]]; then
  # dpkg-shlibdeps and dpkg-buildflags; file, with which CPack finds the
  # binaries to ask dpkg-shlibdeps about; help2man writes the man page.
  packages+=(dpkg-dev file help2man)
fi
if [[ "${1:-}" == "--test" || "${1:-}" == "--bench" ]]; then
  # clang and its runtimes for the libFuzzer targets; gcc's sanitizer
  # runtimes come with g++; openssl makes the HTTPS tests' certificates;
  # aiosmtpd is the guardian tests' mail server; Chromium, its driver and
  # selenium are the web tests' browser, PyJWT and cryptography check and
  # forge the test OpenID Connect provider's ID tokens (its Node.js comes
  # with scripts/install-oidc-provider.sh, below); Prometheus scrapes the
  # metrics in the operations test, whose parser is python3-prometheus-client;
  # systemd's systemd-analyze checks the unit files in contrib/systemd;
  # lintian checks the Debian package; PostgreSQL 15's server and client
  # programs are the store's tests' servers (tests/e2e/postgres.py).
  packages+=(rabbitmq-server python3 python3-pika python3-aiosmtpd curl procps logrotate clang libclang-rt-14-dev
    openssl chromium chromium-driver python3-selenium python3-jwt python3-cryptography
    prometheus python3-prometheus-client systemd lintian postgresql-15 postgresql-client-15)
fi
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(nginx-light wrk)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # Debian's rabbitmq-server package starts a system broker on install; the
  # tests start their own, so keep the package from starting services.
  # postgresql-15 likewise creates a cluster "main" (port 5432, socket in
  # /var/run/postgresql) and would start it: it stays down, and were it
  # started (at boot), the tests would not mind: their servers have free
  # ports and sockets of their own, and they never use it.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
    $sudo chmod +x $policy
    created_policy=1
  fi
  trap 'if [[ $created_policy == 1 ]]; then $sudo rm -f $policy; fi' EXIT
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Last, the npm packages of the web tests' OpenID Connect provider (and
# Node.js if missing), in a cache outside the clone; a no-op once there.
if [[ "${1:-}" == "--test" || "${1:-}" == "--bench" ]]; then
  "$(dirname "$0")/install-oidc-provider.sh" >/dev/null
fi
