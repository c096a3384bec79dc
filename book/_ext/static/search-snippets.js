/* Search results quote the page's text, not its TeX (book/_ext/readable_pages.py).
 *
 * Sphinx's search takes a result's snippet from the page's HTML, where an equation is still
 * the TeX MathJax typesets in the reader's browser ("\(h_t = \tanh(…)\)"). Before the text is
 * taken, each equation is replaced by a plain reading of its TeX: commands by their names or
 * symbols, no braces, no delimiters.
 */
(function () {
  "use strict";
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε",
    eta: "η", theta: "θ", lambda: "λ", mu: "μ", pi: "π", rho: "ρ", sigma: "σ", phi: "φ",
    partial: "∂", sum: "Σ", prod: "Π", times: "×", cdot: "·", odot: "⊙", approx: "≈",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", in: "∈", to: "→", leftarrow: "←", top: "ᵀ",
    infty: "∞", dots: "…", cdots: "…", ldots: "…", lVert: "‖", rVert: "‖", ell: "ℓ",
    sqrt: "√", neq: "≠", pm: "±"
  };
  var DROPPED = /^(left|right|big|Big|bigg|Bigg|quad|qquad|textstyle|displaystyle|mathrm|mathbf|mathbb|text|operatorname|hat|bar|tilde|overrightarrow|overleftarrow|frac|dfrac|tfrac|begin|end)$/;

  function plainMath(tex) {
    return tex
      .replace(/^\s*(\\\(|\\\[|\$\$?)/, "").replace(/(\\\)|\\\]|\$\$?)\s*$/, "")
      .replace(/\\\\/g, "; ")
      .replace(/\\([A-Za-z]+)/g, function (whole, name) {
        if (Object.prototype.hasOwnProperty.call(SYMBOLS, name)) return SYMBOLS[name];
        return DROPPED.test(name) ? "" : name;
      })
      .replace(/\\[,;:! ]/g, " ")
      .replace(/[{}]/g, "")
      .replace(/&/g, " ")
      .replace(/\s+/g, " ")
      .trim();
  }

  function patch() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search.htmlToText.plainMath) {
      return;
    }
    var original = Search.htmlToText;
    var withPlainMath = function (htmlString, anchor) {
      var parsed = new DOMParser().parseFromString(htmlString, "text/html");
      parsed.querySelectorAll(".math, mjx-container").forEach(function (element) {
        element.textContent = " " + plainMath(element.textContent) + " ";
      });
      return original.call(this, parsed.documentElement.outerHTML, anchor);
    };
    withPlainMath.plainMath = plainMath;
    Search.htmlToText = withPlainMath;
  }

  patch();
  document.addEventListener("DOMContentLoaded", patch);
})();
