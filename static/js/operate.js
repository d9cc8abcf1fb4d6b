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

  // Dependencies are checkbox chips, one per other task's alias: keep every task's chips in
  // step with the alias inputs. A chosen value that no longer names a task stays (flagged), so
  // the server can say so next to the field. Rebuilt only when the aliases changed (a
  // 128-task job has 128 x 127 chips).
  function liveAliases() {
    var out = [];
    document.querySelectorAll("[data-task]").forEach(function (task) {
      if (task.classList.contains("removed")) return;
      var input = task.querySelector("input[data-alias]");
      if (input && input.value.trim()) out.push(input.value.trim());
    });
    return out;
  }
  // The words come with the page (data-text-*: operate's catalogue), English as a fallback.
  function chosenText(summary, values) {
    return values.length
      ? (summary.getAttribute("data-text-some") || "Runs after:") + " " + values.join(", ")
      : summary.getAttribute("data-text-none") || "Runs after: nothing (no dependency chosen)";
  }
  // Chips are updated in place (added, removed, flagged), never rebuilt: adding the 100th task
  // touches 100 chips, not 10,000.
  function makeChip(name, value) {
    var label = document.createElement("label");
    label.className = "chip";
    var input = document.createElement("input");
    input.type = "checkbox";
    input.name = name;
    input.value = value;
    var text = document.createElement("span");
    text.textContent = value;
    label.appendChild(input);
    label.appendChild(text);
    return label;
  }
  function syncChips(box, wanted, known) {
    var name = box.getAttribute("data-name");
    var want = {}, have = {};
    wanted.forEach(function (v) { want[v] = true; });
    box.querySelectorAll("label.chip").forEach(function (chip) {
      var value = chip.querySelector("input").value;
      if (!want[value]) box.removeChild(chip);
      else have[value] = chip;
    });
    wanted.forEach(function (v) {
      var chip = have[v];
      if (!chip) {
        chip = makeChip(name, v);
        box.appendChild(chip);
      }
      var gone = !known[v];
      if (chip.classList.contains("missing") !== gone) {
        chip.classList.toggle("missing", gone);
        chip.querySelector("span").textContent = gone
          ? kcText("no_such_task", "%(alias)s (no such task)", { alias: v }) : v;
      }
    });
    var none = box.querySelector("[data-deps-none]");
    if (!none && !wanted.length) {
      none = document.createElement("span");
      none.className = "muted small";
      none.setAttribute("data-deps-none", "");
      none.textContent = box.getAttribute("data-text-none") || "No other task yet.";
      box.appendChild(none);
    }
    if (none) none.hidden = wanted.length > 0;
  }
  function chipValues(box) {
    var chosen = [];
    box.querySelectorAll("input[type=checkbox]").forEach(function (c) {
      if (c.checked) chosen.push(c.value);
    });
    return { chosen: chosen };
  }
  function refreshDependencies() {
    var aliases = liveAliases();
    var known = {};
    aliases.forEach(function (a) { known[a] = true; });
    document.querySelectorAll("[data-task]").forEach(function (task) {
      var own = task.querySelector("input[data-alias]");
      var ownAlias = own ? own.value.trim() : "";
      var label = task.querySelector(".task-alias");
      if (label) label.textContent = ownAlias || kcText("new", "(new)");
      var box = task.querySelector("[data-deps]");
      if (!box) return;
      var now = chipValues(box);
      var values = aliases.filter(function (a) { return a !== ownAlias; });
      var listed = {};
      values.forEach(function (v) { listed[v] = true; });
      now.chosen.forEach(function (c) { if (!listed[c]) values.push(c); });  // kept, flagged
      syncChips(box, values, known);
      var summary = task.querySelector("[data-deps-chosen]");
      if (summary) summary.textContent = chosenText(summary, now.chosen);
    });
  }
  // A long chip list gets a filter box (typing hides the chips that do not match).
  document.addEventListener("input", function (evt) {
    var box = evt.target;
    if (!box || !box.hasAttribute || !box.hasAttribute("data-chip-filter")) return;
    var chips = box.parentNode.querySelector("[data-deps]");
    var text = box.value.trim().toLowerCase();
    if (!chips) return;
    chips.querySelectorAll("label.chip").forEach(function (chip) {
      var input = chip.querySelector("input");
      chip.hidden = !!text && !input.checked && input.value.toLowerCase().indexOf(text) < 0;
    });
  });
  var refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshDependencies, 120);
  }
  document.addEventListener("change", function (evt) {
    var box = evt.target && evt.target.closest ? evt.target.closest("[data-deps]") : null;
    if (!box) return;
    var task = box.closest("[data-task]");
    var summary = task ? task.querySelector("[data-deps-chosen]") : null;
    if (summary) summary.textContent = chosenText(summary, chipValues(box).chosen);
  });

  // Domains the console knows (the network inventory, in the datalist marked data-checked):
  // say at once when a party or initiator names another one (a warning; Kuscia decides).
  function knownDomains() {
    var list = document.getElementById("known-domains");
    if (!list || !list.hasAttribute("data-checked")) return null;
    return Array.prototype.map.call(list.options, function (o) { return o.value; });
  }
  function checkDomain(input) {
    var known = knownDomains();
    var note = input.parentNode.querySelector("[data-domain-warning]");
    if (!known || !note) return;
    var value = input.value.trim();
    var unknown = value && known.indexOf(value) < 0;
    note.hidden = !unknown;
    var text = note.getAttribute("data-text") || "Not a domain known on this connection: %(domain)s";
    note.textContent = unknown ? text.replace("%(domain)s", value) : "";
  }
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t && t.hasAttribute && t.hasAttribute("data-domain")) checkDomain(t);
  });

  // Big jobs: the custom fields, tasks and parties go as ONE field, `rows` (JSON; see
  // operate/rows.py), instead of ~27 fields per task: Django refuses a request of more than
  // 1,000 fields. The inputs themselves are disabled for the submit (and enabled again when
  // the page comes back from the history).
  var PACKED = /^(cf|tasks)-/;
  var MANAGEMENT = /-(TOTAL_FORMS|INITIAL_FORMS|MIN_NUM_FORMS|MAX_NUM_FORMS)$/;
  function rowAt(list, index) {
    var i = parseInt(index, 10);
    if (!list[i]) list[i] = {};
    return list[i];
  }
  function packRows(form) {
    var removed = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && /-DELETE$/.test(el.name) && el.checked) removed.push(el.name.replace(/DELETE$/, ""));
    });
    function isRemoved(name) {
      return removed.some(function (p) { return name.indexOf(p) === 0; });
    }
    var cf = [], tasks = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      var name = el.name;
      if (!name || !PACKED.test(name) || MANAGEMENT.test(name) || /-DELETE$/.test(name)) return;
      if (isRemoved(name)) return;
      var m, row, field;
      if ((m = /^cf-(\d+)-(\w+)$/.exec(name))) {
        row = rowAt(cf, m[1]); field = m[2];
      } else if ((m = /^tasks-(\d+)-parties-(\d+)-(\w+)$/.exec(name))) {
        var task = rowAt(tasks, m[1]);
        task.parties = task.parties || [];
        row = rowAt(task.parties, m[2]); field = m[3];
      } else if ((m = /^tasks-(\d+)-(\w+)$/.exec(name))) {
        row = rowAt(tasks, m[1]); field = m[2];
      } else {
        return;
      }
      if (field === "dependencies") {
        row.dependencies = row.dependencies || [];
        if (el.type !== "checkbox" || el.checked) row.dependencies.push(el.value);
      } else if (el.type === "checkbox") {
        row[field] = el.checked;
      } else {
        row[field] = el.value;
      }
    });
    function dense(list) { return list.filter(function (r) { return r; }); }
    tasks = dense(tasks);
    tasks.forEach(function (t) {
      t.parties = dense(t.parties || []);
      t.dependencies = t.dependencies || [];
      t.tolerable = !!t.tolerable;
    });
    return JSON.stringify({ cf: dense(cf), tasks: tasks });
  }
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form || form.id !== "create-form") return;
    var rows = form.querySelector("input[name=rows]");
    if (!rows) {
      rows = document.createElement("input");
      rows.type = "hidden";
      rows.name = "rows";
      form.appendChild(rows);
    }
    rows.value = packRows(form);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && PACKED.test(el.name) && !el.disabled) {
        el.disabled = true;
        el.setAttribute("data-packed", "");
      }
    });
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-packed]").forEach(function (el) {
      el.disabled = false;
      el.removeAttribute("data-packed");
    });
    var rows = document.querySelector("#create-form input[name=rows]");
    if (rows) rows.parentNode.removeChild(rows);
  });
  // The preview (htmx) posts the same way.
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    var form = elt && elt.closest ? elt.closest("#create-form") : null;
    if (!form || !elt.hasAttribute("hx-post")) return;
    var data = evt.detail.formData;
    var params = evt.detail.parameters;
    var keys = data ? Array.from(data.keys()) : Object.keys(params);
    keys.forEach(function (k) {
      if (!PACKED.test(k)) return;
      if (data) data.delete(k); else delete params[k];
    });
    if (data) data.set("rows", packRows(form)); else params.rows = packRows(form);
  });

  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.hasAttribute && evt.target.hasAttribute("data-alias")) {
      refreshSoon();
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

  document.addEventListener("DOMContentLoaded", function () {
    refreshDependencies();
    document.querySelectorAll("input[data-domain]").forEach(checkDomain);
  });
})();
