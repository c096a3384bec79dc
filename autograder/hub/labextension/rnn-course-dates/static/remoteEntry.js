// rnn-course-dates: a JupyterLab extension that shows a student their own due dates, extension
// and late tokens above nbgrader's Assignments panel, and warns once a submission would be
// late. The class hub puts the dates into this server's page config (rnnCourseDates; see
// autograder/hub/dates.py); nothing is fetched. Written without a build step: this file is the
// federated module container JupyterLab loads (window._JUPYTERLAB[name] with init() and
// get("./extension")), and the plugin needs no shared module, only the DOM. Text is set with
// textContent, never as HTML.
var _JUPYTERLAB;
(function () {
  "use strict";
  var NAME = "rnn-course-dates";
  var BANNER_ID = "rnn-course-dates";

  function pageConfig() {
    var element = document.getElementById("jupyter-config-data");
    try {
      return element ? JSON.parse(element.textContent) : {};
    } catch (error) {
      return {};
    }
  }

  function shownTime(iso, timeZone) {
    var when = new Date(iso);
    try {
      return new Intl.DateTimeFormat("en-GB", {
        timeZone: timeZone, weekday: "short", day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", timeZoneName: "short"
      }).format(when);
    } catch (error) {
      return when.toUTCString();
    }
  }

  function shownDuration(milliseconds) {
    var minutes = Math.ceil(milliseconds / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var rest = minutes % 60;
    var parts = [];
    if (days) parts.push(days + " d");
    if (hours) parts.push(hours + " h");
    if (rest || !parts.length) parts.push(rest + " min");
    return parts.join(" ");
  }

  function line(parent, text, tag) {
    var element = document.createElement(tag || "p");
    element.textContent = text;
    element.style.margin = "0.25em 0";
    parent.appendChild(element);
    return element;
  }

  function render(banner, dates) {
    banner.textContent = "";
    var zone = dates.timezone || "UTC";
    var now = Date.now();
    var tokens = dates.tokens || {};
    var late = false;
    line(banner, "Your due dates", "strong");
    (dates.assignments || []).forEach(function (item) {
      if (!item.due) {
        line(banner, item.name + ": no due date");
        return;
      }
      var text = item.name + ": due " + shownTime(item.own_due, zone);
      if (item.extension) {
        text += " (your extension: " + item.extension + "; the class's due date: " +
          shownTime(item.due, zone) + ")";
      }
      var entry = line(banner, text);
      var past = now - new Date(item.own_due).getTime();
      if (past > 0) {
        late = true;
        entry.className = "rnn-course-dates-late";
        var warning = "The due date has passed: a submission of " + item.name + " now is late by " +
          shownDuration(past) + ".";
        if (tokens.left > 0) {
          warning += " Your late tokens are spent on it first, as many as it needs.";
        }
        warning += " Then the late policy applies: " + dates.late_policy + ".";
        line(banner, warning).setAttribute("role", "alert");
      }
    });
    if (tokens.given > 0) {
      line(banner, "Late tokens: " + tokens.left + " of " + tokens.given + " left (one " +
        tokens.unit + " each), spent automatically on late submissions, oldest due date first.");
    }
    banner.style.borderLeft = late ? "4px solid var(--jp-warn-color0, #b35900)"
      : "4px solid var(--jp-brand-color1, #1976d2)";
  }

  function attach(dates) {
    var list = document.getElementById("released_assignments_list");
    if (!list || document.getElementById(BANNER_ID)) return;
    var panel = list.closest(".lm-Widget") || list.parentElement;
    var banner = document.createElement("section");
    banner.id = BANNER_ID;
    banner.setAttribute("aria-label", "Your due dates");
    banner.style.padding = "0.5em 0.75em";
    banner.style.margin = "0.5em 0";
    banner.style.background = "var(--jp-layout-color2, #eeeeee)";
    banner.style.color = "var(--jp-ui-font-color1, #212121)";
    panel.insertBefore(banner, panel.firstChild);
    render(banner, dates);
  }

  function start() {
    var dates = pageConfig().rnnCourseDates;
    if (!dates || typeof dates !== "object") return;
    new MutationObserver(function () { attach(dates); })
      .observe(document.body, { childList: true, subtree: true });
    window.setInterval(function () {
      var banner = document.getElementById(BANNER_ID);
      if (banner) render(banner, dates);
    }, 30000);
    attach(dates);
  }

  var plugin = {
    id: NAME + ":plugin",
    description: "Shows the student's own due dates above the Assignments panel.",
    autoStart: true,
    activate: function () { start(); }
  };

  _JUPYTERLAB = _JUPYTERLAB || {};
  _JUPYTERLAB[NAME] = {
    init: function () { return Promise.resolve(); },
    get: function (module) {
      if (module === "./extension") {
        return Promise.resolve(function () { return { __esModule: true, default: plugin }; });
      }
      return Promise.reject(new Error(NAME + " has no module " + module));
    }
  };
})();
