// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }
  document.addEventListener("DOMContentLoaded", function () {
    // On a phone the filters fold away behind their heading, so the results come first.
    if (window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
      document.querySelectorAll("details.facets-disclosure").forEach(function (d) { d.open = false; });
    }
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    document.body.appendChild(status);
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        copyText(text).then(function () {
          button.classList.add("copied");
          button.firstChild.textContent = "Copied";
          status.textContent = "Citation copied: " + text;
          setTimeout(function () {
            button.classList.remove("copied");
            button.firstChild.textContent = "Copy citation";
          }, 2000);
        });
      });
    });
    // A passage permalink (/p/…) opens with its provision in view; a #fragment is the browser's.
    var target = document.querySelector(".document [data-target]") ||
      document.querySelector(".document .is-target");
    if (target && !window.location.hash) {
      // Centred, unless it is too tall to fit: then from its top, where its status line is.
      var tall = target.getBoundingClientRect().height > window.innerHeight * 0.8;
      target.scrollIntoView({ block: tall ? "start" : "center" });
    }
  });
})();
