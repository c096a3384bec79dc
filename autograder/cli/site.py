"""`rnn-course site build` and `site serve`: the course website."""

from __future__ import annotations

from typing import Annotated

import typer

from autograder.cli.common import (
    OutputOption,
    PdfOption,
    SiteUrlOption,
    site_app,
    stop_on_terminate,
)
from autograder.site import build as site
from autograder.terminal import console, reports_errors


@site_app.command("build")
@reports_errors
def site_build(
    output: OutputOption = None, pdf: PdfOption = True, site_url: SiteUrlOption = None
) -> None:
    """Execute every page (cached) and build the HTML site and its PDF; any warning fails it."""
    html = site.build_site(output=output, pdf=pdf, url=site_url)
    console.print(f"built: {html / 'index.html'}")


@site_app.command("serve")
def site_serve(
    output: OutputOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    build: Annotated[bool, typer.Option(help="Build (cached) before serving.")] = True,
    pdf: PdfOption = True,
    site_url: SiteUrlOption = None,
    live_code: Annotated[
        bool, typer.Option(help="Start a Jupyter server for the pages' Live Code button.")
    ] = True,
    jupyter_port: Annotated[
        int, typer.Option(help="Port of that Jupyter server (on 127.0.0.1).")
    ] = site.JUPYTER_PORT,
) -> None:
    """Build the site (unless --no-build) and serve it, with live code, until Ctrl+C."""
    server, jupyter = _started_site(
        output, host, port, build, pdf, site_url, live_code, jupyter_port
    )
    stop_on_terminate()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        server.server_close()
        if jupyter:
            jupyter.stop()


@reports_errors
def _started_site(output, host, port, build, pdf, site_url, live_code, jupyter_port):
    html = (
        site.build_site(output=output, pdf=pdf, url=site_url) if build else site.built_site(output)
    )
    server = site.serve_site(html, host, port)
    jupyter = None
    if live_code:
        jupyter = site.start_live_code_server(
            site.site_origins(host, port), jupyter_port, log=html.parent / "jupyter-server.log"
        )
    address = f"http://{host}:{port}/"
    console.print(f"serving {html} at {address}  (Ctrl+C to stop)")
    if jupyter:
        console.print(
            f"live code: a Jupyter server on {jupyter.url}; open the site with its token:\n"
            f"    {site.live_code_link(jupyter, address)}",
            highlight=False,
            soft_wrap=True,
        )
    return server, jupyter
