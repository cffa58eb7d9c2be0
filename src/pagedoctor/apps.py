from __future__ import annotations

from django.apps import AppConfig


class PagedoctorConfig(AppConfig):
    name = "pagedoctor"
    verbose_name = "pagedoctor"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pagedoctor import checks  # noqa: F401 - registers the system checks
        from pagedoctor.cache import tracking
        from pagedoctor.capture.install import install

        install()
        # After the recording hooks, so the tracker is the outermost wrapper and recorded
        # query times do not include its version lookups.
        tracking.install()
