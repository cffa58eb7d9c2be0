// The report reads fully without this script: it only adds copy buttons, expand/collapse-all,
// and opens the folded section a link points into. The page's CSP allows it by its hash.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function copyText(text, button) {
    function done() {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); } catch (error) { /* nothing else to try */ }
      area.remove();
      done();
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.querySelectorAll("figure.snippet").forEach(function (figure) {
    var code = figure.querySelector("pre.code");
    var caption = figure.querySelector("figcaption");
    if (!code || !caption) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () { copyText(code.textContent, button); });
    caption.appendChild(button);
  });

  document.querySelectorAll("[data-toolbar]").forEach(function (toolbar) {
    var scope = document.getElementById(toolbar.getAttribute("data-toolbar"));
    [["Expand all", true], ["Collapse all", false]].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = pair[0];
      button.addEventListener("click", function () {
        scope.querySelectorAll("details.page").forEach(function (details) { details.open = pair[1]; });
      });
      toolbar.appendChild(button);
    });
  });

  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  reveal();
})();
