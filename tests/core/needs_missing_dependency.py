"""A plug-in module whose third-party dependency is not installed (for the extras message)."""

import flowrra_dependency_that_is_not_installed  # noqa: F401
