"""Chromium for the tests, as the probe of this machine runs it: Debian's build, headless, and
offline (every name but this machine's unresolvable), driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

OFFLINE_FLAGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
]


@contextlib.contextmanager
def chromium(flags: list[str] = OFFLINE_FLAGS) -> Iterator[Browser]:
    """Debian's Chromium with `flags` (and --no-sandbox as root, where it must)."""
    executable = shutil.which("chromium")
    if not executable:
        pytest.fail("Debian's chromium is not installed; `bash .ci/setup` installs it (as root)")
    with sync_playwright() as driver:
        extra = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = driver.chromium.launch(
            executable_path=executable, headless=True, args=[*flags, *extra]
        )
        try:
            yield launched
        finally:
            launched.close()
