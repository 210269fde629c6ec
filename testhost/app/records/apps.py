from django.apps import AppConfig
from django.db.backends.signals import connection_created


def sqlite_wal(sender, connection, **kwargs):
    # WAL, as the real deployment runs it: a plain file copy of the DB is then
    # unsafe, which is exactly what the backup tests must catch.
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")


class RecordsConfig(AppConfig):
    name = "records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        connection_created.connect(sqlite_wal)
