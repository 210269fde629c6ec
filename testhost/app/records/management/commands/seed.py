from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from records.models import Patient


class Command(BaseCommand):
    help = "Insert COUNT patients and write a few media files (test-host seed data)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=50)

    def handle(self, *args, count, **options):
        Patient.objects.bulk_create(
            Patient(name=f"Seed patient {i:03d}", notes=f"seeded record {i}") for i in range(1, count + 1)
        )
        media = Path(settings.MEDIA_ROOT) / "seed"
        media.mkdir(parents=True, exist_ok=True)
        (media / "readme.txt").write_text("EquipeMed test host seed upload\n")
        (media / "scan-001.bin").write_bytes(bytes(range(256)) * 16)
        self.stdout.write(f"seeded {count} patients, total {Patient.objects.count()}")
