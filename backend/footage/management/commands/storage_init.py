from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from backend.footage.storage import storage_ensure_buckets


class Command(BaseCommand):
    help = "Create the originals bucket (Object Lock) and the derivatives bucket if absent."

    def handle(self, *args: Any, **options: Any) -> None:
        storage_ensure_buckets()
        originals, derivatives = settings.FV_ORIGINALS_BUCKET, settings.FV_DERIVATIVES_BUCKET
        self.stdout.write(f"buckets ready: {originals} (object lock), {derivatives}")
