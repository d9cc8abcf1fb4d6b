// The job page's task graph and party x task table (jobs/templates/jobs/detail.html):
// - the graph's size: Fit (the whole graph in its box), zoom out/in, actual size; kept when
//   the live part replaces the graph;
// - a filter of the table by task name or id, by a party's state and by party (its column);
//   kept when the live part replaces the table; a hint when the table scrolls sideways.
// Without JavaScript the graph and the table scroll in their boxes, unfiltered.
(function () {
  "use strict";

  var STEPS = [0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2];
  var scale = null; // null: actual size (the SVG's own width and height)

  function svg() { return document.getElementById("job-dag"); }

  function natural(el) {
    var box = el.viewBox && el.viewBox.baseVal;
    return box ? { w: box.width, h: box.height } : null;
  }

  function fitScale() {
    var el = svg(), wrap = el && el.closest(".dag-wrap"), size = el && natural(el);
    if (!size || !wrap) return 1;
    var room = wrap.clientWidth - 2, tall = window.innerHeight * 0.7;
    return Math.min(1, room / size.w, tall / size.h);
  }

  function apply() {
    var el = svg();
    var size = el && natural(el);
    if (!size) return;
    var s = scale === null ? 1 : scale;
    el.setAttribute("width", String(Math.round(size.w * s)));
    el.setAttribute("height", String(Math.round(size.h * s)));
    var level = document.querySelector("[data-zoom-level]");
    if (level) level.textContent = Math.round(s * 100) + "%";
  }

  function zoom(how) {
    var current = scale === null ? 1 : scale;
    if (how === "fit") scale = fitScale();
    else if (how === "1") scale = null;
    else {
      var i = STEPS.findIndex(function (v) { return v >= current - 0.001; });
      if (i < 0) i = STEPS.length - 1;
      if (how === "in") scale = STEPS[Math.min(STEPS[i] > current + 0.001 ? i : i + 1, STEPS.length - 1)];
      else scale = STEPS[Math.max(i - 1, 0)];
    }
    apply();
  }

  // ---- the table's filter

  function filterTable() {
    var form = document.querySelector("[data-matrix-tools]");
    var table = document.getElementById("party-matrix");
    if (!form || !table) return;
    var name = (form.querySelector('[data-mx="name"]') || {}).value || "";
    var state = (form.querySelector('[data-mx="state"]') || {}).value || "";
    var partyEl = form.querySelector('[data-mx="party"]');
    var party = partyEl ? parseInt(partyEl.value || "0", 10) : 0; // column (1-based), 0: all
    name = name.trim().toLowerCase();
    table.querySelectorAll("thead th").forEach(function (th, i) {
      th.hidden = party > 0 && i > 0 && i !== party;
    });
    var rows = table.querySelectorAll("tbody tr"), shown = 0;
    rows.forEach(function (tr) {
      var cells = tr.querySelectorAll("td");
      cells.forEach(function (td, i) { td.hidden = party > 0 && i + 1 !== party; });
      var ok = !name || (tr.getAttribute("data-name") || "").toLowerCase().indexOf(name) >= 0;
      if (ok && state) {
        ok = Array.prototype.some.call(cells, function (td, i) {
          return (party === 0 || i + 1 === party) && td.getAttribute("data-state") === state;
        });
      }
      tr.hidden = !ok;
      if (ok) shown += 1;
    });
    var count = form.querySelector("[data-mx-count]");
    if (count) {
      var filtering = name || state || party;
      count.textContent = filtering ? (count.getAttribute("data-text") || "")
        .replace("{shown}", String(shown)).replace("{total}", String(rows.length)) : "";
    }
    hint();
  }

  function hint() {
    var wrap = document.querySelector(".matrix-wrap");
    var note = document.querySelector("[data-scroll-hint]");
    if (wrap && note) note.hidden = wrap.scrollWidth <= wrap.clientWidth + 1;
  }

  function setUp() {
    var tools = document.querySelector("[data-dag-tools]");
    if (tools) tools.hidden = false;
    var form = document.querySelector("[data-matrix-tools]");
    if (form) {
      form.hidden = false;
      form.addEventListener("input", filterTable);
      form.addEventListener("change", filterTable);
      form.addEventListener("submit", function (evt) { evt.preventDefault(); });
    }
    var el = svg();
    // a graph wider than its box starts fitted when that keeps names readable (>= 67%)
    if (el && natural(el) && scale === null) {
      var fit = fitScale();
      if (fit < 1 && fit >= 0.67) { scale = fit; apply(); }
    }
    hint();
  }

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest("[data-zoom]") : null;
    if (btn) zoom(btn.getAttribute("data-zoom"));
  });
  // the live part replaces the graph and the table: keep the size and the filter
  document.addEventListener("htmx:oobAfterSwap", function () { apply(); filterTable(); });
  document.addEventListener("htmx:afterSettle", function () { if (scale !== null) apply(); filterTable(); });
  window.addEventListener("resize", hint);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
