"""v4, "crashes at start": replaces app/boot.py. Fails the way a bad setting
would, before touching the database (no connection, no migrate), so the container
exits non-zero about a second after start and, under the instances'
`restart: unless-stopped`, restart-loops. Nothing in the database changes."""
import sys

import django
from django.core.exceptions import ImproperlyConfigured

django.setup()
print("v4: refusing to start", file=sys.stderr, flush=True)
raise ImproperlyConfigured("EQMD_REQUIRED_SETTING is not set (v4 is the release that cannot start)")
