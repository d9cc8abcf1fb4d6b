// The task-log viewer (logs/templates/logs/): wrap toggle (remembered), and the focused line
// scrolled into view after each swap. No inline script; loaded once per page.
(function () {
  "use strict";
  if (window.kcLogs) return;
  window.kcLogs = true;
  var KEY = "kc-log-wrap";

  function wrapped() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function apply() {
    var on = wrapped();
    document.querySelectorAll(".log-lines").forEach(function (box) {
      box.classList.toggle("wrapped", on);
    });
    document.querySelectorAll("[data-log-wrap]").forEach(function (btn) {
      btn.setAttribute("aria-pressed", on ? "true" : "false");
    });
    // the failure card's excerpt ends with the failing party's last line: show that
    document.querySelectorAll(".log-tail .log-lines").forEach(function (box) {
      box.scrollTop = box.scrollHeight;
    });
    var focus = document.querySelector(".log-view .ln-row.focus");
    if (focus) {
      focus.scrollIntoView({ block: "center" });
    } else {
      // at the end of a log (the live tail): show its last lines
      document.querySelectorAll(".log-view .log-lines").forEach(function (box) {
        box.scrollTop = box.scrollHeight;
      });
    }
  }

  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest("[data-log-wrap]") : null;
    if (!btn) return;
    try { window.localStorage.setItem(KEY, wrapped() ? "0" : "1"); } catch (e) { /* private mode */ }
    apply();
  });
  document.addEventListener("htmx:afterSettle", apply);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", apply);
  } else {
    apply();
  }
})();
