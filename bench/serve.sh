# Sourced by the load benchmarks: serve DATABASE_URL with the production settings from
# gunicorn (the repo's config) on PORT, logging to GUNICORN_LOG, and set SESSION to the
# session key of the demo member (member@example.com). Stops gunicorn on exit.
export DJANGO_DEBUG=0 DJANGO_SECRET_KEY=bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
export DJANGO_ALLOWED_HOSTS=127.0.0.1 EMAIL_URL=consolemail:// DJANGO_SECURE_SSL_REDIRECT=0
"$PY" manage.py collectstatic --noinput -v0
GUNICORN_BIND=127.0.0.1:$PORT .venv/bin/gunicorn -c portal/gunicorn.conf.py portal.wsgi \
    > "$GUNICORN_LOG" 2>&1 &
GPID=$!
trap 'kill $GPID 2>/dev/null || true' EXIT
for _ in $(seq 30); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 1; done

SESSION=$("$PY" manage.py shell -v0 -c "
from importlib import import_module
from django.conf import settings
from django.contrib.auth import get_user_model, BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
user = get_user_model().objects.get(email='member@example.com')
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print(store.session_key)")
