"""Docker HEALTHCHECK: the same /health/ the tests poll, from inside the container."""
import os
import urllib.request

port = os.environ.get("PORT", "8000")
urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=3).read()
