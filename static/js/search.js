// The header search (dashboard/search.py): results appear under the box as the user types
// (htmx fills #search-popup); the arrow keys move through them, Escape closes them, Enter on
// the box opens the shareable results page (/search/?q=). "/" anywhere focuses the box. On
// the results page the arrow keys move through the results too.
(function () {
  "use strict";

  function hits(container) {
    return container ? Array.prototype.slice.call(container.querySelectorAll("a.search-hit")) : [];
  }

  function popup() { return document.getElementById("search-popup"); }

  function close() {
    var p = popup();
    if (p) { p.innerHTML = ""; p.classList.remove("open"); }
  }

  function move(list, current, step) {
    if (!list.length) return;
    var i = list.indexOf(current);
    var next = i < 0 ? (step > 0 ? 0 : list.length - 1) : i + step;
    if (next < 0 || next >= list.length) return;
    list[next].focus();
  }

  document.addEventListener("htmx:afterSwap", function (evt) {
    var p = popup();
    if (p && evt.detail.target === p) {
      var box = document.getElementById("header-q");
      if (box && !box.value.trim()) { close(); return; }
      p.classList.toggle("open", p.textContent.trim() !== "");
    }
  });

  document.addEventListener("keydown", function (evt) {
    var box = document.getElementById("header-q");
    var target = evt.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (evt.key === "/" && !typing && box && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
      evt.preventDefault();
      box.focus();
      box.select();
      return;
    }
    if (evt.key !== "ArrowDown" && evt.key !== "ArrowUp" && evt.key !== "Escape") return;
    var p = popup();
    var page = document.querySelector("main [data-search-results]");
    var inPopup = p && p.contains(target);
    var scope = target === box || inPopup ? p : page;
    if (evt.key === "Escape") {
      // the first Escape closes the results and keeps the text (a search box's own Escape
      // clears it: that is the second one's)
      if ((target === box || inPopup) && p && p.classList.contains("open")) {
        evt.preventDefault();
        close();
        if (box) box.focus();
      }
      return;
    }
    var pageBox = document.getElementById("search-page-q");
    if (!(target === box || inPopup || target === pageBox || (page && page.contains(target)))) return;
    var list = hits(scope);
    if (!list.length) return;
    evt.preventDefault();
    if (target === box || target === pageBox) {
      if (evt.key === "ArrowDown") list[0].focus();
      return;
    }
    if (evt.key === "ArrowUp" && list.indexOf(target) === 0) {
      (inPopup ? box : pageBox || box).focus();
      return;
    }
    move(list, target, evt.key === "ArrowDown" ? 1 : -1);
  });

  // Clicking elsewhere closes the results under the box.
  document.addEventListener("click", function (evt) {
    var form = document.querySelector(".header-search");
    if (form && !form.contains(evt.target)) close();
  });
})();
