#!/usr/bin/env bash
# Shared by test.sh and .ci/run: install Debian packages quietly, without starting any service.
# nginx's package starts a system nginx on port 80 when it can; the tests and scripts/stack.sh run
# their own nginx as a user process instead. Where the image has no policy-rc.d (Docker images do),
# one that refuses every start is put in place for the installation only.
set -euo pipefail
policy=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# scripts/apt-install.sh: no service starts during this installation\nexit 101\n' > "$policy"
  chmod +x "$policy"
  placed=1
fi
status=0
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@") \
  >/dev/null || status=$?
if [ "$placed" = 1 ]; then rm -f "$policy"; fi
exit "$status"
