"""gunicorn settings: `gunicorn -c portal/gunicorn.conf.py portal.wsgi`.

gthread workers keep connections alive between requests; the defaults suit this
2-core machine and can be changed through the environment.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5
timeout = 30
graceful_timeout = 20
# Recycle workers now and then (a guard against leaks), rarely enough not to show in latency.
max_requests = 100_000
max_requests_jitter = 10_000
# The portal logs each request itself (JSON lines, portal.observability).
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# No control socket: several instances may run on one machine, and nothing uses it.
control_socket_disable = True
errorlog = "-"
