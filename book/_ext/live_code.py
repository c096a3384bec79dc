"""Live code on every page, with thebe served from the site and a kernel the instructor chooses.

Jupyter Book's "Live Code" button (sphinx-thebe) loads thebe from a CDN and only knows Binder on
GitHub, so it fails offline, on an intranet and against an instructor's own Jupyter server.
This extension keeps sphinx-thebe and the button and changes two things:

* thebe is fetched at build time from the npm registry at a pinned version, checked against
  npm's own sha512, and served from the site's `_static/thebe/`;
* the button connects to the kernel named by `live_code` in `_config.yml`: the Jupyter server
  that `rnn-course site serve` starts on this machine (the default), any Jupyter server such as
  a JupyterHub user server, or a BinderHub. `static/live-code.js` hands that choice to thebe.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pooch
from sphinx.application import Sphinx
from sphinx.errors import ConfigError, ExtensionError

from autograder.site.build import JUPYTER_PORT
from course_data.sentfin import cache_dir

THEBE_VERSION = "0.9.3"
THEBE_TARBALL = f"https://registry.npmjs.org/thebe/-/thebe-{THEBE_VERSION}.tgz"
# npm's `dist.integrity` for that tarball (base64 sha512), as hex for pooch
THEBE_SHA512 = (
    "45bffb91586d95f7d7adade421eeceb88184edac2c9b6fdf196c70db50e235f9"
    "d62e751088397d016a9876c84fc193c6ff90f32e9b0944f8b1db1b423ed26641"
)
# what the browser needs from the package: the bundle, its lazily loaded chunks, its style
# sheet and the licences of what it bundles (not the source maps or type declarations)
SERVED_SUFFIXES = (".js", ".css", ".LICENSE.txt")

DEFAULTS: dict[str, Any] = {
    "server": "local",  # "local", "binder", or the URL of a Jupyter server
    "port": JUPYTER_PORT,  # local: where `rnn-course site serve` starts Jupyter (or its link says)
    "path": ".",  # the pages' folder, relative to where the server starts kernels
    "binder_url": "https://mybinder.org",
    "repository": "",  # binder: https://github.com/ORG/REPO
    "ref": "main",
}
STATIC = Path(__file__).with_name("static")


def live_code_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    """The `live_code` configuration completed with defaults, or a ConfigError naming the fix."""
    unknown = set(config or {}) - set(DEFAULTS)
    if unknown:
        raise ConfigError(
            f"live_code: unknown setting(s) {sorted(unknown)}; the settings are {sorted(DEFAULTS)}"
        )
    settings = {**DEFAULTS, **(config or {})}
    server = str(settings["server"])
    if server == "binder":
        repository = urlparse(str(settings["repository"]))
        parts = [part for part in repository.path.split("/") if part]
        if repository.hostname != "github.com" or len(parts) != 2:
            raise ConfigError(
                "live_code: server 'binder' needs `repository: https://github.com/ORG/REPO` "
                f"(got {settings['repository']!r})"
            )
        settings["repo"] = "/".join(parts)
    elif server != "local":
        url = urlparse(server)
        if url.scheme not in {"http", "https"} or not url.netloc:
            raise ConfigError(
                f"live_code: server must be 'local', 'binder' or a Jupyter server's http(s) URL, "
                f"not {server!r}"
            )
        settings["server"] = server if server.endswith("/") else server + "/"
    if not isinstance(settings["port"], int) or not 0 < settings["port"] < 65536:
        raise ConfigError(f"live_code: port must be a TCP port number, not {settings['port']!r}")
    settings["path"] = str(PurePosixPath(str(settings["path"])))
    return settings


def thebe_static_folder() -> Path:
    """A folder holding `thebe/` (the served part of the npm package), fetched once and cached.

    Unpacked into a temporary folder and renamed into place, so an interrupted build never
    leaves half a bundle behind for the next one to serve.
    """
    root = cache_dir() / f"thebe-{THEBE_VERSION}"
    served = root / "thebe"
    if (served / "index.js").is_file():
        return root
    try:
        tarball = pooch.retrieve(
            THEBE_TARBALL,
            known_hash=f"sha512:{THEBE_SHA512}",
            fname=f"thebe-{THEBE_VERSION}.tgz",
            path=cache_dir(),
            progressbar=False,
        )
    except Exception as error:  # requests' and pooch's errors share no base class
        raise ExtensionError(
            f"cannot fetch thebe {THEBE_VERSION} from the npm registry ({error}); the live-code "
            f"button needs it once (it is cached in {cache_dir()}, or set $RNN_COURSE_CACHE)"
        ) from error
    root.mkdir(parents=True, exist_ok=True)
    unpacking = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=root))
    try:
        with tarfile.open(tarball) as archive:
            for member in archive.getmembers():
                path = PurePosixPath(member.name)
                if (
                    member.isfile()
                    and path.parent == PurePosixPath("package/lib")
                    and path.name.endswith(SERVED_SUFFIXES)
                ):
                    member.name = path.name
                    archive.extract(member, unpacking, filter="data")
        if not (unpacking / "index.js").is_file():
            raise ExtensionError(f"{tarball}: no package/lib/index.js in thebe's npm package")
        unpacking.chmod(0o755)
        shutil.rmtree(served, ignore_errors=True)
        unpacking.rename(served)
    finally:
        shutil.rmtree(unpacking, ignore_errors=True)
    return root


def add_live_code(app: Sphinx, config: Any) -> None:
    """Register thebe's files and the browser's settings (at config-inited: registered once)."""
    settings = live_code_settings(config.live_code)
    config.html_static_path.extend([str(thebe_static_folder()), str(STATIC)])
    browser_settings = {key: settings[key] for key in ("server", "port", "path")}
    if settings["server"] == "binder":
        browser_settings |= {key: settings[key] for key in ("binder_url", "repo", "ref")}
    app.add_js_file(None, body=f"window.RNN_LIVE_CODE = {json.dumps(browser_settings)};")
    app.add_js_file("live-code.js", loading_method="defer")
    app.add_css_file("live-code.css")


LIVE_CODE_BUTTON = {
    "type": "javascript",
    "text": "Live Code",
    "tooltip": "Run this page's code in a live Jupyter kernel",
    "javascript": "rnnLiveCode.start()",
    "icon": "fas fa-play",
    "label": "launch-thebe",
}


def add_live_code_button(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """The theme's launch menu with a "Live Code" entry calling `rnnLiveCode.start()`.

    sphinx-book-theme shows its own entry only when the book names a GitHub or GitLab
    repository (for Binder); if it did, its entry is pointed at ours instead of doubled.
    """
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    buttons = context.setdefault("header_buttons", [])
    for group in buttons:
        for button in group.get("buttons", []):
            if button.get("label") == LIVE_CODE_BUTTON["label"]:
                button.update(LIVE_CODE_BUTTON)
                return
    launch = next((group for group in buttons if group.get("label") == "launch-buttons"), None)
    if launch is None:
        launch = {
            "type": "group",
            "tooltip": "Launch interactive content",
            "icon": "fas fa-rocket",
            "buttons": [],
            "label": "launch-buttons",
        }
        # before the download and full-screen buttons, where the theme puts it
        buttons.insert(0, launch)
    launch["buttons"].append(dict(LIVE_CODE_BUTTON))


# sphinx-thebe's constant, the CDN it would load thebe from; ours is served by the site
CDN_THEBE = re.compile(r'"https://unpkg\.com/thebe@[^"]*"')
SITE_THEBE = (
    'new URL("_static/thebe/index.js", '
    'new URL(document.documentElement.dataset.content_root || "./", location.href)).href'
)


def drop_repeated_inline_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Each inline script once: sphinx-thebe's is registered twice, and its second
    `const THEBE_JS_URL` is a SyntaxError in the reader's console. Its URL, a CDN's, is
    replaced by the site's own copy: no page names a CDN, even in a constant it never uses."""
    seen, kept = set(), []
    for script in context.get("script_files", []):
        body = script.attributes.get("body")
        if body and CDN_THEBE.search(body):
            body = script.attributes["body"] = CDN_THEBE.sub(SITE_THEBE, body)
        if not script.filename and body is not None:  # inline: None or "", by where it came from
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("live_code", {}, "html", types=[dict])
    app.connect("config-inited", add_live_code)
    # after sphinx-book-theme has made its header buttons (priority 501)
    app.connect("html-page-context", add_live_code_button, priority=900)
    app.connect("html-page-context", drop_repeated_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
