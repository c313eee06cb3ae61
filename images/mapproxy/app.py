"""WSGI entry point of the kargo mapproxy image (served by gunicorn).

Environment:
  MAPPROXY_CONFIG     configuration file (default /mapproxy/mapproxy.yaml)
  MAPPROXY_RELOAD     "1" to reload the configuration when the file changes
  MAPPROXY_LOG_LEVEL  level of MapProxy's own log on stderr (default WARNING)
"""
import logging
import os

from mapproxy.wsgiapp import make_wsgi_app

logging.basicConfig(
    level=os.environ.get("MAPPROXY_LOG_LEVEL", "WARNING").upper(),
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
)

application = make_wsgi_app(
    os.environ.get("MAPPROXY_CONFIG", "/mapproxy/mapproxy.yaml"),
    reloader=os.environ.get("MAPPROXY_RELOAD", "0") == "1",
)
