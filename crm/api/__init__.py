"""The CRM's REST API (aiohttp)."""

from crm.api.app import create_app

__all__ = ["create_app"]
