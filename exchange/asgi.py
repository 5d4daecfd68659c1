"""The ASGI entry point for servers: `uvicorn exchange.asgi:app`."""

from exchange.app import create_app

app = create_app()
