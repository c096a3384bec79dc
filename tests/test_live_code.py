"""Live code's two halves without a browser: the site's `live_code` settings, and the Jupyter
server `rnn-course site serve` starts beside the site (token, CORS, refusals, clear errors)."""

from __future__ import annotations

import json
import re
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers.commands import ROOT, rnn_course
from helpers.servers import free_port, start_serving, stop_with_ctrl_c, wait_for_printed
from sphinx.errors import ConfigError

from autograder.errors import CourseError
from autograder.site.build import site_origins, start_live_code_server

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from live_code import live_code_settings  # noqa: E402

SITE = "http://127.0.0.1:8000"


# --- the settings in _config.yml ---------------------------------------------------------------


def test_the_default_is_the_local_server_on_port_8888_with_the_pages_at_its_root():
    settings = live_code_settings({})
    assert (settings["server"], settings["port"], settings["path"]) == ("local", 8888, ".")


def test_a_jupyter_server_url_is_kept_with_a_trailing_slash():
    settings = live_code_settings({"server": "https://hub.example.edu/user/alice", "path": "b/"})
    assert settings["server"] == "https://hub.example.edu/user/alice/"
    assert settings["path"] == "b"


def test_binder_takes_the_github_repository_apart():
    settings = live_code_settings(
        {"server": "binder", "repository": "https://github.com/org/course", "ref": "v1"}
    )
    assert (settings["repo"], settings["ref"], settings["binder_url"]) == (
        "org/course",
        "v1",
        "https://mybinder.org",
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"server": "binder"}, "needs `repository: https://github.com/ORG/REPO`"),
        ({"server": "binder", "repository": "https://gitlab.com/a/b"}, "needs `repository"),
        ({"server": "hub.example.edu"}, "must be 'local', 'binder' or a Jupyter server's"),
        ({"server": "ftp://hub.example.edu/"}, "must be 'local', 'binder'"),
        ({"port": 0}, "port must be a TCP port number"),
        ({"port": "8888"}, "port must be a TCP port number"),
        ({"sever": "local"}, "unknown setting(s) ['sever']"),
    ],
)
def test_a_wrong_setting_stops_the_build_with_what_to_write_instead(config, message):
    with pytest.raises(ConfigError) as error:
        live_code_settings(config)
    assert message in str(error.value)


def test_the_book_configures_live_code_with_thebe_served_from_the_site():
    config = (ROOT / "_config.yml").read_text()
    assert re.search(r"^launch_buttons:\n\s+thebe: true", config, re.M)
    assert re.search(r"^\s+live_code: book/_ext", config, re.M)


# --- the local Jupyter server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    server = start_live_code_server(
        site_origins("127.0.0.1", 8000),
        free_port(),
        log=tmp_path_factory.mktemp("jupyter") / "server.log",
    )
    yield server
    server.stop()


def request(url: str, token: str | None = None, origin: str | None = None):
    headers = {}
    if token:
        headers["Authorization"] = f"token {token}"
    if origin:
        headers["Origin"] = origin
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)


def test_the_server_listens_on_loopback_and_answers_with_its_token(jupyter):
    assert jupyter.url.startswith("http://127.0.0.1:")
    with request(f"{jupyter.url}api/kernelspecs", jupyter.token) as answer:
        assert "python3" in json.load(answer)["kernelspecs"]


def test_the_server_refuses_requests_without_the_token(jupyter):
    with pytest.raises(urllib.error.HTTPError) as error:
        request(f"{jupyter.url}api/kernelspecs")
    assert error.value.code == 403
    with pytest.raises(urllib.error.HTTPError):
        request(f"{jupyter.url}api/kernelspecs", "not-the-token")


@pytest.mark.parametrize("origin", [SITE, "http://localhost:8000"])
def test_pages_from_the_site_may_read_the_answers(jupyter, origin):
    with request(f"{jupyter.url}api/status", jupyter.token, origin) as answer:
        assert answer.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:8001", "http://127.0.0.1:8000.evil"]
)
def test_pages_from_elsewhere_may_not(jupyter, origin):
    with request(f"{jupyter.url}api/status", jupyter.token, origin) as answer:
        assert answer.headers.get("Access-Control-Allow-Origin") is None


def test_kernels_start_in_the_book_folder_with_no_server_extension_loaded(jupyter):
    with request(f"{jupyter.url}api/contents", jupyter.token) as answer:
        names = {item["name"] for item in json.load(answer)["content"]}
    assert "07-rnn-from-scratch.md" in names and "_config.yml" not in names
    log = jupyter.log.read_text()
    assert "jupyterlab" not in log.lower() and "formgrader" not in log.lower()


def test_the_token_is_not_on_the_command_line_where_other_users_could_read_it(jupyter):
    command = Path(f"/proc/{jupyter.process.pid}/cmdline").read_bytes().decode()
    assert jupyter.token not in command


def test_a_busy_port_is_a_one_line_error_naming_the_option(jupyter, tmp_path):
    with pytest.raises(CourseError) as error:
        start_live_code_server(site_origins("127.0.0.1", 8000), jupyter.port, log=tmp_path / "l")
    assert "--jupyter-port" in str(error.value)
    assert "\n" not in str(error.value)


# --- `rnn-course site serve` -------------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_site_serve_prints_the_link_with_the_token_and_serves_both(tmp_path, stop):
    html = tmp_path / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<title>course</title>")
    site_port, jupyter_port = free_port(), free_port()
    command = rnn_course(
        "site", "serve", "--no-build", "--output", tmp_path, "--port", site_port,
        "--jupyter-port", jupyter_port,
    )  # fmt: skip
    process = start_serving(command)
    try:
        link, _ = wait_for_printed(
            process, r"http://127\.0\.0\.1:\d+/\?token=\S+&port=\d+", seconds=60
        )
        assert f":{site_port}/" in link and link.endswith(f"&port={jupyter_port}")
        token = re.search(r"token=([^&]+)", link).group(1)
        with request(f"http://127.0.0.1:{site_port}/") as page:
            assert b"course" in page.read()
        with request(f"http://127.0.0.1:{jupyter_port}/api/status", token) as answer:
            assert answer.status == 200
    finally:
        stop_with_ctrl_c(process, how=stop)
    with pytest.raises(urllib.error.URLError):  # its Jupyter server stopped with it
        request(f"http://127.0.0.1:{jupyter_port}/api/status", token)
