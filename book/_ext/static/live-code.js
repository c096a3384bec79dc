/**
 * The "Live Code" button: run this page's cells in a Jupyter kernel, with thebe served from
 * this site (book/_ext/live_code.py puts it in _static/thebe/).
 *
 * sphinx-thebe prepares the page and calls `thebelab.bootstrap()` without options, which in
 * thebe 0.9 means "ask mybinder.org"; here bootstrap gets the kernel chosen in _config.yml
 * (`live_code`, written into `window.RNN_LIVE_CODE` at build time) as explicit options.
 *
 * A Jupyter server needs a token. `rnn-course site serve` prints a link carrying it
 * (`?token=…&port=…`), as Jupyter itself does; the first page opened with it keeps it in this
 * site's local storage for the other pages and removes it from the address bar. The token never
 * travels in the built site.
 *
 * What a notice tells the reader depends on where the page is read: `rnn-course site serve` is
 * the instructor's tool, so it is named only on a page served from this machine (127.0.0.1 or
 * localhost); a published site tells a student what they can do (the course's server, or the
 * page's notebook in their own Jupyter). Notices are fixed HTML; anything else (the server's
 * name, an error message) is added as text, never as HTML.
 */
(() => {
  "use strict";

  const settings = window.RNN_LIVE_CODE; // written beside this script by live_code.py
  const STORAGE_KEY = "rnn-course:jupyter-server";
  const SERVE_HINT =
    "Live code runs in the Jupyter server that <code>rnn-course site serve</code> starts: " +
    "run it and open the link it prints (it carries the server's token).";
  const DOWNLOAD_HINT =
    "You can always download this page as a notebook (the download button at the top right, " +
    "<code>.ipynb</code>) and run it in your own Jupyter, with the packages of the course's " +
    "<code>requirements.txt</code> (linked from the home page).";
  const NO_SERVER_HINT =
    "This site has no Jupyter server set up for live code. Download this page as a notebook " +
    "(the download button at the top right, <code>.ipynb</code>) and run it in your own " +
    "Jupyter, with the packages of the course's <code>requirements.txt</code> (linked from " +
    "the home page), or on your course's JupyterHub if it has one.";
  const TOKEN_HINT =
    "Sign in to it, create an API token there (on a JupyterHub: its Token page, " +
    "<code>/hub/token</code>), and open this page with <code>?token=</code> and that token " +
    "added to its address. " +
    DOWNLOAD_HINT;

  /** Served by `rnn-course site serve` on this machine, not from a published site. */
  function servedLocally() {
    return ["127.0.0.1", "localhost", "[::1]"].includes(window.location.hostname);
  }

  /** What the reader can do when the configured kernel cannot be reached from here. */
  function hint() {
    if (settings.server !== "local") return TOKEN_HINT;
    return servedLocally() ? SERVE_HINT : NO_SERVER_HINT;
  }

  function rememberServerFromAddress() {
    const address = new URL(window.location.href);
    const token = address.searchParams.get("token");
    if (!token) return;
    const port = address.searchParams.get("port");
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ token, port }));
    address.searchParams.delete("token");
    address.searchParams.delete("port");
    window.history.replaceState(window.history.state, "", address.href);
  }

  function rememberedServer() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY)) || {};
    } catch {
      return {};
    }
  }

  /** A URL inside this site, from any page (Sphinx writes the way to the root on <html>). */
  function siteUrl(path) {
    const root = document.documentElement.dataset.content_root || "./";
    return new URL(path, new URL(root, document.baseURI)).href;
  }

  function serverName() {
    if (settings.server === "binder") return `Binder (${new URL(settings.binder_url).host})`;
    if (settings.server === "local") return "Jupyter on this machine";
    return `Jupyter at ${new URL(settings.server).host}`;
  }

  /** thebe's options for the configured kernel, or null (with a notice) if it cannot be reached. */
  function connection() {
    const kernelOptions = { path: settings.path };
    if (settings.server === "binder") {
      return {
        useBinder: true,
        binderOptions: {
          binderUrl: settings.binder_url,
          repo: settings.repo,
          ref: settings.ref,
          repoProvider: "github",
        },
        kernelOptions,
      };
    }
    const { token, port } = rememberedServer();
    if (!token) {
      if (settings.server === "local") notify(hint());
      else notify(hint(), `Live code runs on ${serverName()}, which needs an API token. `);
      return null;
    }
    const baseUrl =
      settings.server === "local"
        ? `http://127.0.0.1:${Number(port) || settings.port}/`
        : settings.server;
    return {
      useBinder: false,
      serverSettings: {
        baseUrl,
        wsUrl: baseUrl.replace(/^http/, "ws"),
        token,
        appendToken: true,
      },
      kernelOptions,
    };
  }

  /** A message under the page title, replacing any earlier one: `text` (plain text, never
   * parsed as HTML) followed by `html`, one of the fixed hints above. */
  function notify(html, text = "") {
    let notice = document.querySelector(".rnn-live-code-notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.className = "rnn-live-code-notice admonition warning";
      notice.setAttribute("role", "status");
      const title = document.querySelector("section h1");
      (title ? title : document.body.firstElementChild).insertAdjacentElement("afterend", notice);
    }
    notice.innerHTML = '<p class="admonition-title">Live code</p><p></p>';
    const message = notice.lastElementChild;
    message.textContent = text;
    message.insertAdjacentHTML("beforeend", html);
  }

  function loadThebe() {
    if (window.thebe && typeof window.thebe.bootstrap === "function") return Promise.resolve();
    const style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = siteUrl("_static/thebe/thebe.css");
    document.head.append(style);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = siteUrl("_static/thebe/index.js");
      script.onload = resolve;
      script.onerror = () => reject(new Error("thebe could not be loaded from this site"));
      document.head.append(script);
    });
  }

  let started = false;

  async function start() {
    if (started) return;
    const options = connection();
    if (!options) return;
    started = true;
    try {
      await loadThebe();
    } catch (error) {
      started = false;
      notify("", error.message);
      return;
    }
    const thebe = window.thebe;
    const bootstrap = thebe.bootstrap;
    // requestKernel must be passed in: thebe 0.9 starts no session without it
    thebe.bootstrap = (extra = {}) =>
      bootstrap({ requestKernel: true, mathjaxUrl: false, ...options, ...extra });
    window.initThebeSBT(); // sphinx-book-theme: status line under the title, then sphinx-thebe
    thebe.on("status", (event, data) => {
      const label = document.querySelector(".thebe-launch-button .launch_msg");
      if (label) label.textContent = `${serverName()}: `;
      if (/fail|error/.test(String(data && data.status))) {
        notify(
          settings.server === "local" ? hint() : DOWNLOAD_HINT,
          `${serverName()} did not start a kernel (${data.message || data.status}). `,
        );
      }
    });
  }

  rememberServerFromAddress();
  window.rnnLiveCode = { start, settings };
})();
