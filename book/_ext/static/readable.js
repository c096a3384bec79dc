/* A display equation too wide for its column scrolls inside its box (readable.css); here it
 * also takes the keyboard's focus, so it can be scrolled without a mouse (WCAG 2.1.1; axe-core's
 * scrollable-region-focusable). MathJax's context menu once did this for every equation; the
 * site loads MathJax without it (book/_ext/readable_pages.py). Rechecked when the width
 * changes: on a phone more equations scroll than on a desktop.
 */
(function () {
  "use strict";
  function markScrolling() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (math) {
      if (math.scrollWidth > math.clientWidth) {  // as a browser (and axe-core) sees it
        math.tabIndex = 0;
        if (!math.hasAttribute("aria-label") && !math.querySelector("mjx-assistive-mml")) {
          math.setAttribute("aria-label", "equation");
        }
      } else if (math.tabIndex === 0) {
        math.removeAttribute("tabindex");
      }
    });
  }
  window.addEventListener("load", function () {
    var startup = window.MathJax && window.MathJax.startup;
    var typeset = startup && startup.promise ? startup.promise : Promise.resolve();
    // and again once MathJax's fonts are in: an equation's width is known only then
    typeset.then(markScrolling).then(function () { return document.fonts.ready; })
      .then(markScrolling);
    window.addEventListener("resize", markScrolling);
  });
})();
