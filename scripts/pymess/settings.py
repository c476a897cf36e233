"""Django settings for writing a django-pymess 0.7.6 database (see make_db.py).

The database is named by the environment: PYMESS_SQLITE (a file path) or PYMESS_PG_NAME
(a PostgreSQL database on PYMESS_PG_HOST:PYMESS_PG_PORT as PYMESS_PG_USER).
"""
import os

SECRET_KEY = "pymess-import-test"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "pymess",
]
if os.environ.get("PYMESS_PG_NAME"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["PYMESS_PG_NAME"],
            "USER": os.environ.get("PYMESS_PG_USER", "postgres"),
            "HOST": os.environ.get("PYMESS_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("PYMESS_PG_PORT", "5432"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["PYMESS_SQLITE"],
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# pymess's batch mode: send() stores WAITING messages; send_immediately publishes at once.
PYMESS_DIALER_BATCH_SENDING = True
PYMESS_DIALER_BACKENDS = {
    "default": {"backend": "pymess.backend.dialer.dummy.DummyDialerBackend"},
}
# pymess renders template bodies with Django's template engine.
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
