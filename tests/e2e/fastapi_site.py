"""The FastAPI site of the browser test: a Flowrra app on the Redis that
``FLOWRRA_E2E_REDIS_URL`` names (with a key prefix of the test's own), its dashboard at
``/flowrra/``. uvicorn serves ``app``; ``python -m flowrra worker --app
tests.e2e.fastapi_site:flowrra`` runs its tasks in another process."""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI

from flowrra import Flowrra
from flowrra.ui.fastapi import create_router

URL = os.environ.get("FLOWRRA_E2E_REDIS_URL", "redis://127.0.0.1:6379/11")
TOKEN = "e2e-token"

flowrra = Flowrra.from_urls(URL, URL)
flowrra.create_scheduler("memory://")  # the schedules page's store (this process only)


@flowrra.task()
async def resize_image(name: str) -> str:
    await asyncio.sleep(1.0)
    return f"{name} resized"


app = FastAPI()
app.include_router(
    create_router(
        flowrra,
        authorize=lambda request: request.client.host == "127.0.0.1",
        api_tokens=[TOKEN],
        poll_seconds=0.5,
    ),
    prefix="/flowrra",
)
