"""Apps the command-line tests point ``python -m flowrra worker --app`` at."""

from __future__ import annotations

from flowrra import Flowrra

#: In memory: a burst worker has nothing to do and exits at once.
memory_app = Flowrra.from_urls()

#: Redis with a password, on a port where nothing listens.
unreachable_app = Flowrra.from_urls(
    broker="redis://:s3cret@127.0.0.1:9/0", backend="redis://:s3cret@127.0.0.1:9/0"
)

not_an_app = "just a string"


@memory_app.task()
async def hello(name: str) -> str:
    return f"hello {name}"


@memory_app.task(queue="emails")
async def send(to: str) -> None:
    """Sends nothing."""
