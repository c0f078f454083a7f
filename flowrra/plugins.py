"""One small registry per plug-in kind, mapping a URL scheme to a class imported on first use."""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import unquote, urlsplit

from .exceptions import ConfigurationError


class SchemeRegistry:
    """Maps URL schemes (``redis``, ``memory``, ``django`` ...) to ``"module:Class"`` paths.

    The module is imported only when a URL with that scheme is used, so an optional
    dependency is needed only by the users who choose it.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, tuple[str, str | None]] = {}

    def register(self, scheme: str, path: str, extra: str | None = None) -> None:
        """Map ``scheme`` to ``path`` (``"package.module:Class"``); ``extra`` names the
        ``pip install flowrra[extra]`` that provides its dependencies."""
        self._entries[scheme.lower()] = (path, extra)

    @property
    def schemes(self) -> list[str]:
        return sorted(self._entries)

    def scheme_of(self, url: str) -> str:
        """The lower-cased scheme of ``url``; ``ConfigurationError`` when it is not registered."""
        if not isinstance(url, str) or "://" not in url:
            raise ConfigurationError(
                f"{self.kind} URL {url!r} has no scheme; use one of: "
                + ", ".join(f"{s}://" for s in self.schemes)
            )
        scheme = urlsplit(url).scheme.lower()
        if scheme not in self._entries:
            raise ConfigurationError(
                f"Unsupported {self.kind} URL scheme {scheme!r} in {mask_url(url)!r}; "
                "supported: " + ", ".join(f"{s}://" for s in self.schemes)
            )
        return scheme

    def resolve(self, url: str) -> Any:
        """The class that serves ``url``."""
        path, extra = self._entries[self.scheme_of(url)]
        module_name, _, attr = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if extra is None or (exc.name or "").startswith(module_name.split(".")[0]):
                raise
            raise ConfigurationError(
                f"The {self.kind} for {mask_url(url)!r} needs the {exc.name!r} package: "
                f"pip install 'flowrra[{extra}]'"
            ) from exc
        return getattr(module, attr)


def mask_url(url: str) -> str:
    """``url`` with every password replaced by ``***``, for logs, banners and errors: the
    user part's, and the value of any query option whose name ends in ``password``
    (``sentinel_password=``). The only function that masks a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:  # too malformed to find the password in: hide all but the scheme
        return f"{url.partition('://')[0]}://***"
    masked = url
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hosts}"
        masked = masked.replace(f"//{parts.netloc}", f"//{netloc}", 1)
    if "password" in parts.query.lower():
        query = "&".join(
            f"{name}=***" if unquote(name).lower().endswith("password") else option
            for option in parts.query.split("&")
            for name in [option.partition("=")[0]]
        )
        masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
    return masked
