"""The project's one Flowrra app, and the event loop it runs on in this process.

Django code is mostly synchronous and has no event loop, while the app's broker and backend
connections belong to one loop. So each process runs the app on exactly one loop:

* a web process (or a script, a shell, a CPU task process) starts a daemon thread with
  its own loop on the first submit, and starts the app there as a producer
  (``worker=False``); sync code submits through ``run_coroutine_threadsafe(...).result()``
  and async code awaits the same future with ``asyncio.wrap_future``;
* ``manage.py flowrra_worker`` runs the app on its main loop and :func:`bind`\\ s it, so
  tasks that submit other tasks use that loop directly.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from django.apps import apps as django_apps
from django.core.exceptions import ImproperlyConfigured

from flowrra import Config, Flowrra

from .conf import get_config

logger = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.RLock()
_app: Flowrra | None = None
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def register_schemes() -> None:
    """Map ``django://`` to the ORM broker, result backend, schedule store and control
    transport (idempotent)."""
    from flowrra.backends import BACKENDS
    from flowrra.brokers import BROKERS
    from flowrra.control import CONTROLS
    from flowrra.scheduler.backends import SCHEDULE_STORES

    BROKERS.register("django", "flowrra_django.brokers:DatabaseBroker")
    BACKENDS.register("django", "flowrra_django.backends:DatabaseBackend")
    SCHEDULE_STORES.register("django", "flowrra_django.schedule_store:DjangoSchedulerBackend")
    CONTROLS.register("django", "flowrra_django.control:DatabaseControl")


def get_app() -> Flowrra:
    """The project-wide Flowrra app, configured from ``settings.FLOWRRA``.

    Tasks registered with :func:`flowrra_django.task` live in its registry, in the web
    process and the worker alike.
    """
    app = _app
    if app is not None:
        return app
    with _lock:
        if _app is None:
            _set_app(_new_app(_initial_config()))
        assert _app is not None
        return _app


def _new_app(config: Config) -> Flowrra:
    from flowrra.events import event_bus

    from .bridge import attach

    app = Flowrra(config)
    app.events = event_bus  # the seed's module-level bus carries this project's events
    attach(app)
    app.registry.decorator = "@task"
    app.registry.decorator_source = " (from flowrra_django import task) in an app's tasks.py"
    return app


def _set_app(app: Flowrra | None) -> None:
    global _app
    _app = app


def _initial_config() -> Config:
    if not django_apps.apps_ready:
        raise ImproperlyConfigured(
            "flowrra_django was used before Django was set up: add 'flowrra_django' to "
            "INSTALLED_APPS, and call django.setup() first in scripts (manage.py does it)."
        )
    register_schemes()
    try:
        return get_config()
    except ImproperlyConfigured:
        # the system checks report the bad setting; starting the app reads it again
        return Config()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def loop() -> asyncio.AbstractEventLoop:
    """The loop the app runs on in this process, starting the producer thread if needed."""
    current = _loop
    if current is not None:
        return current
    with _lock:
        if _loop is None:
            _start_producer()
        assert _loop is not None
        return _loop


def configure(app: Flowrra, config: Config) -> None:
    """Give the stopped ``app`` a new config: its broker and backend are built from it at
    the next start (settings may have changed since the last one)."""
    if app.is_running:
        raise RuntimeError("stop the Flowrra app before configuring it again")
    app.config = config
    app.broker = app.backend = None


def _start_producer() -> None:
    global _loop, _thread
    app = get_app()
    configure(app, get_config())
    new_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=_serve, args=(new_loop,), name="flowrra-producer", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(app.start(worker=False), new_loop).result()
    except BaseException:
        _stop_loop(new_loop, thread)
        raise
    _loop, _thread = new_loop, thread


def _stop_loop(stopping: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    stopping.call_soon_threadsafe(stopping.stop)
    thread.join(10)
    if not thread.is_alive():
        stopping.close()


def bind(running: asyncio.AbstractEventLoop) -> None:
    """Declare that the app runs on ``running`` (the worker command's loop)."""
    global _loop
    with _lock:
        if _thread is not None:
            raise RuntimeError("the producer thread already runs the app in this process")
        _loop = running


def unbind() -> None:
    """Undo :func:`bind` once the worker's loop is done."""
    global _loop
    with _lock:
        if _thread is None:
            _loop = None


def shutdown(timeout: float = 10.0) -> None:
    """Stop the producer thread, if this process started one, closing its connections."""
    global _loop, _thread
    with _lock:
        running, thread = _loop, _thread
        if running is None or thread is None:
            return
        _loop = _thread = None
        try:
            future = asyncio.run_coroutine_threadsafe(_stop_app(get_app()), running)
            future.result(timeout)
        except Exception:
            logger.warning("Flowrra producer did not stop cleanly", exc_info=True)
        _stop_loop(running, thread)


async def _stop_app(app: Flowrra) -> None:
    from .bridge import flush

    await flush(app)  # the events of the last submits, before the loop goes
    await app.stop()


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``make()`` on the app's loop from synchronous code; wait for it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "This call blocks and was made from async code; use the async variant "
            "(await flowrra_django.asubmit(...), arevoke(...)) instead."
        )
    target = loop()  # may raise (bad settings): create the coroutine only once it can run
    return asyncio.run_coroutine_threadsafe(_as_coroutine(make), target).result()


async def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Await the coroutine ``make()`` on the app's loop from any event loop."""
    target = _loop if _loop is not None else await asyncio.to_thread(loop)
    if target is asyncio.get_running_loop():
        return await make()
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_as_coroutine(make), target))


async def _as_coroutine(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def setup_worker_process() -> None:
    """Initializer of each CPU worker process (``ExecutorConfig.cpu_initializer``)."""
    import django

    from . import api

    django.setup()
    api.mark_pool_process()


def _after_fork_in_child() -> None:
    global _loop, _thread
    if _thread is None or _app is None:
        return
    # the parent's loop thread did not survive the fork; keep the tasks, start afresh
    fresh = _new_app(_app.config)
    for spec in _app.registry:
        fresh.registry.register(spec)
    for alias, names in _app.registry.aliases().items():
        for name in names:
            fresh.registry.add_alias(alias, name)
    _set_app(fresh)
    _loop = _thread = None


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(shutdown)
