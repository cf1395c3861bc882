"""An example web service on custdata: FastAPI, an async store, the dispatcher as a background task.

Run it with ``SHOP_SECRET=... SHOP_CARRIER_SECRET=whsec_... uvicorn fastapi_shop.app:create_app --factory`` from the
``examples`` folder; see the module docstring of :mod:`fastapi_shop.app` for the settings.
"""
