"""The demo page's form: which example task to run, with its parameter."""

from __future__ import annotations

from django import forms

CHOICES = [
    ("check_url", "check_url: fetch a page of this site, or any http:// URL (async I/O)"),
    ("send_welcome_email", "send_welcome_email: async ORM + e-mail"),
    ("count_primes", "count_primes: CPU-bound, in a worker process"),
    ("charge_payment", "charge_payment: fails twice, then succeeds (retries)"),
    ("import_rows", "import_rows: fails on a bad line (traceback)"),
    ("place_order", "place_order: a chain, each step submits the next (pack, then ship)"),
    ("activity_report", "activity_report: the report a cron schedule runs every 5 minutes"),
]


class SubmitTaskForm(forms.Form):
    task = forms.ChoiceField(choices=CHOICES)
    url = forms.URLField(required=False, help_text="for check_url; blank: this site's first page")
    limit = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=50_000_000,
        initial=2_000_000,
        help_text="for count_primes",
    )
    count = forms.IntegerField(min_value=1, max_value=100, initial=1, label="times")
