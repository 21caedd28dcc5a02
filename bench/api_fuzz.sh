#!/usr/bin/env bash
# Schemathesis against the API of a live server on the demo council, as each role (issue 13):
# every generated request must get an answer that is not a 5xx. Prints schemathesis's summary
# per role and the count of tracebacks in the server's log (0 expected).
#   bench/api_fuzz.sh [EXAMPLES]      (default 20 examples per operation and phase)
# Schemathesis is installed in its own virtualenv (.bench/schemathesis), not in the project's.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-20}"
PORT="${FUZZ_PORT:-8790}"
WORK="$(mktemp -d)"
trap 'kill $(cat "$WORK/pid") 2>/dev/null || true; rm -rf "$WORK"' EXIT
test -x .bench/schemathesis/bin/schemathesis || {
  python3 -m venv .bench/schemathesis
  .bench/schemathesis/bin/pip install --quiet "schemathesis==4.32.5"
}
export DEBUG=true DATABASE_URL="sqlite:///$WORK/fuzz.sqlite3"
unset REDIS_URL
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py load_demo >/dev/null
.venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload >"$WORK/server.log" 2>&1 &
echo $! >"$WORK/pid"
for _ in $(seq 30); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 1; done
tokens=$(.venv/bin/python manage.py shell -c "
from rest_framework.authtoken.models import Token
from backend.accounts.models import User
for e in ('admin@example.org', 'manager@example.org', 'resident@example.org'):
    print(e.split('@')[0], Token.objects.get_or_create(user=User.objects.get(email=e))[0].key)
" | tail -3)
run() {
  echo "== $1"
  .bench/schemathesis/bin/schemathesis run "http://127.0.0.1:$PORT/api/schema/" \
    --checks not_a_server_error --max-examples "$EXAMPLES" --workers 2 "${@:2}" \
    | grep -E "generated|Server error|Error" | cut -c1-160 || true
}
run anonymous
while read -r role token; do run "$role" -H "Authorization: Token $token"; done <<<"$tokens"
echo "tracebacks in the server log: $(grep -c Traceback "$WORK/server.log" || true)"
echo "5xx answers in the server log: $(grep -cE '" 5[0-9]{2} ' "$WORK/server.log" || true)"
