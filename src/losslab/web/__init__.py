"""The web explorer: ``losslab serve`` runs :func:`create_app` under uvicorn on 127.0.0.1.

>>> from losslab.web import ServerConfig
>>> ServerConfig().host, ServerConfig().bounds.grid_points
('127.0.0.1', 401)
"""

from losslab.web.app import create_app
from losslab.web.config import Bounds, ServerConfig

__all__ = ["Bounds", "ServerConfig", "create_app"]
