"""Container start: wait for the database, migrate, collectstatic, exec gunicorn."""
import os
import sys
import time

import django
from django.core.management import call_command
from django.db import connection
from django.db.utils import OperationalError

django.setup()

# Instance b's PostgreSQL may still be initialising when the app starts.
deadline = time.monotonic() + float(os.environ.get("DB_WAIT_SECONDS", "60"))
while True:
    try:
        connection.ensure_connection()
        break
    except OperationalError as exc:
        if time.monotonic() > deadline:
            sys.exit(f"database not reachable: {exc}")
        time.sleep(0.5)
connection.close()

call_command("migrate", interactive=False, verbosity=1)
call_command("collectstatic", interactive=False, verbosity=0)

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
os.execvp(sys.executable, [
    sys.executable, "-m", "gunicorn", "eqmd.wsgi",
    "--bind", bind, "--workers", os.environ.get("WEB_WORKERS", "2"),
    "--graceful-timeout", "5", "--access-logfile", "-",
])
