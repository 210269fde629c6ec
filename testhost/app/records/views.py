import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import Patient


def health(request):
    # Healthy only when a real query on the app's own table succeeds. It selects
    # whole rows (every column of this version's model), not just COUNT(*), so a
    # column dropped by a later migration (variant v3 drops `notes`) makes an older
    # version's /health/ fail: the "roll back the image but not the DB" case.
    try:
        list(Patient.objects.all()[:1])
    except Exception as exc:  # any DB failure is "unhealthy", with the reason
        return HttpResponse(f"unhealthy: {exc}", status=500, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


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
    patient = Patient.objects.create(name=name, notes=data.get("notes") or "")
    return JsonResponse({"id": patient.id}, status=201)


def count_records(request):
    return JsonResponse({"count": Patient.objects.count()})
