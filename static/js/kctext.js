// The words scripts write into pages, in the page's language: base.html renders them as JSON
// (#kc-texts, dashboard/templatetags/kc_text.py). kcText(key, English, {name: value}) fills in
// %(name)s placeholders; the English is used where a page has no such block.
(function () {
  "use strict";
  var texts = null;
  window.kcText = function (key, fallback, values) {
    if (texts === null) {
      var block = document.getElementById("kc-texts");
      try { texts = block ? JSON.parse(block.textContent) : {}; } catch (e) { texts = {}; }
    }
    var text = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : fallback;
    return text.replace(/%\((\w+)\)s/g, function (all, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  };
})();
