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
  // A 429 (e.g. too many connection checks) carries a message written for its place in the
  // page: show it there (htmx leaves error answers unswapped by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A polled fragment replaces parts of the page: its own element and, out of band, others
  // (the job page's graph, matrix, timeline and task panel). What the user did there is kept
  // for elements with an id: a <details> they opened is opened again and a box they scrolled
  // keeps its position in the new content (htmx itself gives the focus back by id).
  var kept = null, swapping = false;
  function remember(event) {
    var target = event.detail.target;
    if (!target || !target.querySelectorAll) return;
    [target].concat(Array.prototype.slice.call(target.querySelectorAll("[id]"))).forEach(function (elt) {
      var open = elt.tagName === "DETAILS" && elt.open;
      if (elt.id && (open || elt.scrollTop || elt.scrollLeft)) {
        kept.push({ id: elt.id, open: open, top: elt.scrollTop, left: elt.scrollLeft });
      }
    });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    kept = [];
    swapping = true;
    remember(event);
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (kept) remember(event);
  });
  document.addEventListener("htmx:afterSwap", function () {
    (kept || []).forEach(function (k) {  // in document order: a <details> opens before its box scrolls
      var elt = document.getElementById(k.id);
      if (!elt) return;
      if (k.open && elt.tagName === "DETAILS") elt.open = true;
      if (k.top) elt.scrollTop = k.top;
      if (k.left) elt.scrollLeft = k.left;
    });
    kept = null;
  });
  document.addEventListener("htmx:afterRequest", function () { swapping = false; });

  // A graph node reached with Tab is scrolled fully into the graph's box (the browser's own
  // focus scrolling leaves SVG links half hidden).
  // (Not when htmx gives a swapped node the focus back: the user may have scrolled away.)
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (!swapping && target && target.closest && target.closest("svg.dag a.node")) {
      target.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });
})();
