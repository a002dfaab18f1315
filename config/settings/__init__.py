"""Settings per environment: ``local`` (default for manage.py), ``production``, ``test``."""
