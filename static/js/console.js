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
  // Job page: the polled status fragment carries a data block (#live-states, JSON, rendered
  // by jobs.views.live_data) with every task's state and every party x task cell. The task
  // graph and the matrix were sent once with the page; they are brought up to date here with
  // DOM APIs and textContent only, so Kuscia's strings are never parsed as HTML.
  document.addEventListener("htmx:afterSettle", applyLiveStates);

  // A 429 (e.g. too many connection checks) carries a message written for its place in the
  // page: show it there (htmx leaves error answers unswapped by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A polled fragment replaces its part of the page: a <details id> the user opened there
  // (e.g. a long job message) is opened again in the new content.
  var openBeforeSwap = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    openBeforeSwap = [];
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll("details[id][open]").forEach(function (d) { openBeforeSwap.push(d.id); });
  });
  document.addEventListener("htmx:afterSwap", function () {
    openBeforeSwap.forEach(function (id) {
      var details = document.getElementById(id);
      if (details && details.tagName === "DETAILS") details.open = true;
    });
    openBeforeSwap = [];
  });

  // A graph node reached with Tab is scrolled fully into the graph's box (the browser's own
  // focus scrolling leaves SVG links half hidden).
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("svg.dag a.node")) {
      target.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });

  function applyLiveStates() {
    var block = document.getElementById("live-states");
    if (!block || block.kcApplied) return;
    block.kcApplied = true;
    var data;
    try { data = JSON.parse(block.textContent); } catch (e) { return; }
    var graph = document.getElementById("job-dag");
    if (graph && graph.getAttribute("data-spec") !== data.spec) {
      // the job's tasks or parties are not those the page was rendered with (the spec arrived,
      // the job was re-created): only a new page can show them. Once per new structure.
      var key = "kc-structure:" + window.location.pathname;
      if (window.sessionStorage.getItem(key) !== data.spec) {
        window.sessionStorage.setItem(key, data.spec);
        window.location.reload();
      }
      return;
    }
    updateGraph(graph, data);
    updateMatrix(document.getElementById("party-matrix"), data);
    updateGantt(document.getElementById("job-gantt"), graph, data);
  }

  function updateGraph(svg, data) {
    if (!svg) return;
    var width = parseFloat(svg.getAttribute("data-node-w")) || 0;
    svg.querySelectorAll("a.node[data-i]").forEach(function (node) {
      var row = data.tasks[Number(node.getAttribute("data-i"))];
      if (!row) return;
      var st = data.states[row[0]], pct = row[1], alias = node.getAttribute("data-alias");
      var cls = "node " + st[1] + (node.classList.contains("selected") ? " selected" : "");
      if (node.getAttribute("class") !== cls) node.setAttribute("class", cls);
      node.setAttribute("aria-label", alias + ": " + st[0] + ", " + pct + "%, " + row[2]);
      setText(node.querySelector("title"), alias + " (" + node.getAttribute("data-task") + ") \u2014 " + st[0]);
      setText(node.querySelector("text.icon"), st[2]);
      setText(node.querySelector("text.meta"), st[0] + " \u00b7 " + pct + "% \u00b7 " + row[2]);
      var bar = node.querySelector("rect.bar");
      if (bar) bar.setAttribute("width", String(Math.round(pct * width / 10) / 10));
    });
  }

  function updateMatrix(table, data) {
    if (!table) return;
    var chars = Number(table.getAttribute("data-summary")) || 60;
    table.querySelectorAll("tbody tr[data-i]").forEach(function (tr) {
      var row = data.cells[Number(tr.getAttribute("data-i"))];
      var tds = tr.getElementsByTagName("td");
      if (!row) return;
      for (var j = 0; j < row.length && j < tds.length; j++) {
        var cell = row[j], st = null, msg = "";
        if (typeof cell === "number") {
          st = data.states[cell];
        } else if (cell) {
          st = data.states[cell[0]];
          msg = data.messages[cell[1]];
        }
        if (cellState(tds[j]) === (st ? st[0] : "") && cellMessage(tds[j]) === msg) continue;
        fillCell(tds[j], st, msg, chars);
      }
    });
  }

  // The timeline: one <g data-i> per started task, in the order of data.gantt.bars; bars
  // are moved, added and removed to match (a task starts, a running one grows).
  var SVG_NS = "http://www.w3.org/2000/svg";

  function updateGantt(svg, graph, data) {
    if (!svg || !data.gantt) return;
    var bars = data.gantt.bars, caption = document.getElementById("gantt-caption");
    if (caption) {
      setText(caption, data.gantt.caption);
      caption.hidden = !data.gantt.caption;
    }
    var wrap = document.getElementById("gantt-wrap"), empty = document.getElementById("gantt-empty");
    if (wrap) wrap.hidden = bars.length === 0;
    if (empty) empty.hidden = bars.length > 0;
    var old = {};
    svg.querySelectorAll("g[data-i]").forEach(function (g) { old[g.getAttribute("data-i")] = g; });
    bars.forEach(function (bar, row) {
      var i = String(bar[0]), task = data.tasks[bar[0]];
      if (!task) return;
      var st = data.states[task[0]], g = old[i] || newBar(i);
      delete old[i];
      var node = graph ? graph.querySelector('a.node[data-i="' + i + '"]') : null;
      var alias = node ? node.getAttribute("data-alias") : i;
      var shortAlias = alias.length <= 28 ? alias : alias.slice(0, 27) + "\u2026";
      var y = String(row * 22);
      if (g.getAttribute("class") !== st[1]) g.setAttribute("class", st[1]);
      setText(g.querySelector("title"), alias + ": " + bar[3] + " (" + st[0] + ")");
      g.querySelector("rect.lane").setAttribute("y", y);
      var span = g.querySelector("rect.span");
      span.setAttribute("x", (bar[1] * 100).toFixed(2) + "%");
      span.setAttribute("y", y);
      span.setAttribute("width", (bar[2] * 100).toFixed(2) + "%");
      var text = g.querySelector("text");
      text.setAttribute("y", y);
      setText(text, st[2] + " " + shortAlias + " \u00b7 " + bar[3]);
      svg.appendChild(g); // in bar order
    });
    Object.keys(old).forEach(function (i) { svg.removeChild(old[i]); });
    svg.setAttribute("height", String(bars.length ? bars.length * 22 + 8 : 0));
  }

  function newBar(i) {
    var g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("data-i", i);
    g.appendChild(document.createElementNS(SVG_NS, "title"));
    var lane = svgElement("rect", { "class": "lane", x: "0", width: "100%", height: "20" });
    var span = svgElement("rect", { "class": "span", height: "20", rx: "3" });
    var text = svgElement("text", { x: "4", dy: "14" });
    g.appendChild(lane);
    g.appendChild(span);
    g.appendChild(text);
    return g;
  }

  function svgElement(tag, attrs) {
    var elt = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (name) { elt.setAttribute(name, attrs[name]); });
    return elt;
  }

  // what a cell shows now: the badge's state name and the full message (read from the DOM, so
  // an opened message stays open until it changes)
  function cellState(td) {
    var badge = td.querySelector(".state");
    return badge && badge.lastChild ? badge.lastChild.nodeValue.trim() : "";
  }

  function cellMessage(td) {
    var pre = td.querySelector("pre");
    return pre ? pre.textContent : "";
  }

  function fillCell(td, st, msg, chars) {
    while (td.firstChild) td.removeChild(td.firstChild);
    if (!st) {
      td.appendChild(element("span", "muted", "\u2013"));
      return;
    }
    var badge = element("span", "state " + st[1], "");
    var icon = element("span", "icon", st[2]);
    icon.setAttribute("aria-hidden", "true");
    badge.appendChild(icon);
    badge.appendChild(document.createTextNode(" " + st[0]));
    td.appendChild(badge);
    if (msg) {
      var details = element("details", "errmsg", "");
      details.appendChild(element("summary", "", msg.length > chars ? msg.slice(0, chars - 1) + "\u2026" : msg));
      details.appendChild(element("pre", "wrap", msg));
      td.appendChild(details);
    }
  }

  function element(tag, cls, text) {
    var elt = document.createElement(tag);
    if (cls) elt.className = cls;
    if (text) elt.textContent = text;
    return elt;
  }

  function setText(elt, text) {
    if (elt && elt.textContent !== text) elt.textContent = text;
  }
})();
