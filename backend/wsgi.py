"""The WSGI application gunicorn serves: Django's, with the anonymous voter-code cast answered in
front of its handler (pb/voting/fast_path.py says why and how it matches the whole chain)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_application = get_wsgi_application()

from pb.voting.fast_path import BallotCastApp  # noqa: E402  (needs the apps loaded)

application = BallotCastApp(django_application)
