// Create-job form and job actions: no inline script, everything lives here (CSP).
(function () {
  "use strict";
  // The action-buttons fragment includes this file and htmx may swap it in again: set up once.
  if (window.kcOperateReady) return;
  window.kcOperateReady = true;
  var kcText = window.kcText || function (key, fallback) { return fallback; };

  function totalInput(prefix) {
    return document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  }

  // "+ Add" buttons (data-formset="<prefix>"): ask the server for row number TOTAL_FORMS,
  // then count it. Party rows also need their task's prefix.
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt || !elt.getAttribute) return;
    var prefix = elt.getAttribute("data-formset");
    if (prefix) {
      var total = totalInput(prefix);
      evt.detail.parameters.index = total ? total.value : "0";
      evt.detail.parameters.prefix = prefix;
      return;
    }
    var party = elt.getAttribute("data-domaindata");
    if (party) {
      var conn = document.getElementById("id_connection");
      var domain = document.getElementById("id_" + party + "-domain_id");
      evt.detail.parameters.connection = conn ? conn.value : "";
      evt.detail.parameters.domain = domain ? domain.value : "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var prefix = elt && elt.getAttribute && elt.getAttribute("data-formset");
    if (prefix) {
      var total = totalInput(prefix);
      if (total) total.value = String(parseInt(total.value || "0", 10) + 1);
      refreshDependencies();
    }
  });

  // Remove checkboxes (formset DELETE): grey the row out; the server skips it.
  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (box && box.name && /-DELETE$/.test(box.name)) {
      var row = box.closest("[data-task], [data-row]");
      if (row) row.classList.toggle("removed", box.checked);
      refreshDependencies();
    }
  });

  // Dependencies are chosen among the other tasks' aliases: keep every select's options in
  // step with the alias inputs (a selected value that no longer names a task stays, so the
  // server can say so next to the field).
  function liveAliases() {
    var out = [];
    document.querySelectorAll("[data-task]").forEach(function (task) {
      if (task.classList.contains("removed")) return;
      var input = task.querySelector("input[data-alias]");
      if (input && input.value.trim()) out.push(input.value.trim());
    });
    return out;
  }
  function refreshDependencies() {
    var aliases = liveAliases();
    document.querySelectorAll("[data-task]").forEach(function (task) {
      var own = task.querySelector("input[data-alias]");
      var ownAlias = own ? own.value.trim() : "";
      var label = task.querySelector(".task-alias");
      if (label) label.textContent = ownAlias || kcText("new", "(new)");
      var select = task.querySelector("select[data-deps]");
      if (!select) return;
      var chosen = Array.prototype.filter.call(select.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
      var values = aliases.filter(function (a) { return a !== ownAlias; });
      chosen.forEach(function (c) { if (values.indexOf(c) < 0) values.push(c); });
      while (select.firstChild) select.removeChild(select.firstChild);
      values.forEach(function (v) {
        var opt = document.createElement("option");
        opt.value = v;
        opt.textContent = aliases.indexOf(v) < 0
          ? kcText("no_such_task", "%(alias)s (no such task)", { alias: v }) : v;
        opt.selected = chosen.indexOf(v) >= 0;
        select.appendChild(opt);
      });
    });
  }
  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.hasAttribute && evt.target.hasAttribute("data-alias")) {
      refreshDependencies();
    }
  });

  // JSON editor: check and pretty-print a task_input_config.
  function checkJson(id, rewrite) {
    var area = document.getElementById(id);
    var status = document.querySelector('[data-json-status="' + id + '"]');
    if (!area || !status) return;
    var text = area.value.trim();
    if (!text) {
      status.textContent = kcText("json_empty", "empty");
      status.className = "json-status";
      return;
    }
    try {
      var value = JSON.parse(text);
      if (rewrite) area.value = JSON.stringify(value, null, 2);
      status.textContent = kcText("json_valid", "valid JSON");
      status.className = "json-status";
    } catch (e) {
      status.textContent = kcText("json_invalid", "not valid JSON: %(error)s", { error: e.message });
      status.className = "json-status bad";
    }
  }
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest ? evt.target.closest("[data-json-format]") : null;
    if (btn) {
      checkJson(btn.getAttribute("data-json-format"), true);
      return;
    }
    var pick = evt.target.closest ? evt.target.closest("[data-pick]") : null;
    if (pick) {
      var row = pick.closest(".party");
      var input = row ? row.querySelector('input[name$="-input_data"]') : null;
      if (input) input.value = pick.getAttribute("data-pick");
    }
  });
  document.addEventListener("focusout", function (evt) {
    if (evt.target && evt.target.hasAttribute && evt.target.hasAttribute("data-json-editor")) {
      checkJson(evt.target.id, false);
    }
  });

  // Delete/forget: the confirm button works only once the job id is typed exactly.
  document.addEventListener("input", function (evt) {
    var input = evt.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-confirm-id")) return;
    var form = input.closest("form");
    var button = form ? form.querySelector("button[type=submit]") : null;
    if (button) button.disabled = input.value.trim() !== input.getAttribute("data-confirm-id");
  });

  // One click per action form: a second click while the first request runs does nothing
  // (the server-side one-time token is the real guard).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-sent") === "1") {
      evt.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
  });

  // Escape closes an open action panel and puts the focus back on its button.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || !evt.target || !evt.target.closest) return;
    var panel = evt.target.closest("details.action[open]");
    if (!panel) return;
    panel.open = false;
    var summary = panel.querySelector("summary");
    if (summary) summary.focus();
  });

  document.addEventListener("DOMContentLoaded", refreshDependencies);
})();
