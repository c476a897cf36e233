"""The smallest Django project dialout.django needs: auth users to relate messages to.

DIALOUT_DATABASE_URL / DIALOUT_CONFIG are set per test (override_settings).
"""
SECRET_KEY = "dialout-django-test"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
