// Kuscia Console page behaviour: no inline script anywhere, everything lives here.
(function () {
  "use strict";

  // Polling fragments (elements marked data-poll) do not ask the server while the tab is
  // hidden; when the tab becomes visible again they refresh at once.
  document.addEventListener("htmx:confirm", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-poll") && document.hidden) {
      evt.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) return;
    document.querySelectorAll("[data-poll][hx-get]").forEach(function (elt) {
      window.htmx.trigger(elt, "kc-visible");
    });
  });

  // Copy buttons: <button class="copy" data-copy="text">.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest("button.copy[data-copy]") : null;
    if (btn) {
      var text = btn.getAttribute("data-copy");
      var done = function () {
        btn.textContent = "Copied";
        btn.classList.add("copied");
        setTimeout(function () { btn.textContent = "Copy"; btn.classList.remove("copied"); }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else {
        fallbackCopy(text);
        done();
      }
      return;
    }
    var reload = evt.target.closest ? evt.target.closest("button[data-reload]") : null;
    if (reload && window.htmx) {
      var target = document.querySelector(reload.getAttribute("data-reload"));
      if (target) window.htmx.trigger(target, "kc-reload");
    }
  });

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more we can do */ }
    document.body.removeChild(area);
  }
})();
