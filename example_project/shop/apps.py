from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "example_project.shop"
    label = "shop"
    verbose_name = "Shop (Flowrra demo)"

    def ready(self) -> None:
        from . import reports  # noqa: F401  (registers the Django task, as tasks.py's are)
