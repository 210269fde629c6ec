# v3, "the broken release": the app's views with /health/ deliberately failing
# (HTTP 500) while gunicorn keeps serving, so the container stays up and only the
# health check can tell the deploy failed. No `notes` field any more.
# Otherwise a copy of app/records/views.py: keep in step with it.
import json
import sys

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Patient


def health(request):
    # The query works (the schema matches this version); the release is broken anyway. The body and
    # the log line carry a marker, the tests' stand-in for patient data the action must not publish.
    list(Patient.objects.all()[:1])
    print("health failed while reading patient Jane Roe (EQMD-APP-OUTPUT-7f3a)", file=sys.stderr, flush=True)
    return HttpResponse(
        "unhealthy: v3 is the broken release (patient Jane Roe, EQMD-APP-OUTPUT-7f3a)",
        status=500,
        content_type="text/plain",
    )


def version(request):
    return HttpResponse(settings.APP_VERSION, content_type="text/plain")


@csrf_exempt
def create_record(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "invalid JSON"}, status=400)
    else:
        data = request.POST
    name = (data.get("name") or "").strip()
    if not name:
        return JsonResponse({"error": "field 'name' is required"}, status=400)
    patient = Patient.objects.create(name=name)
    return JsonResponse({"id": patient.id}, status=201)


def count_records(request):
    return JsonResponse({"count": Patient.objects.count()})
