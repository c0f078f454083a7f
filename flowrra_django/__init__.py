"""Flowrra for Django: tasks with results and schedules in your database, run by
``manage.py flowrra_worker``, managed from the admin.

Add ``"flowrra_django"`` to ``INSTALLED_APPS``, run ``migrate``, then in any app's
``tasks.py``::

    from flowrra_django import task

    @task
    async def send_receipt(order_id: int) -> None: ...

and from a view: ``flowrra_django.submit(send_receipt, order.id)``.
"""

from .api import Submission, arevoke, asubmit, options, revoke, submit, task
from .runtime import get_app

__all__ = ["Submission", "arevoke", "asubmit", "get_app", "options", "revoke", "submit", "task"]
