/* Keyboard shortcuts for moderators — an enhancement only: every action is a plain form or link.
   a = approve, r = choose a reject reason, v = write a revision note, j / n = next item.
   Keys typed into a field are left alone, and modifier combinations belong to the browser. */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function submit(form) {
    var button = form && form.querySelector("button[type=submit]");
    if (!button || button.disabled) return false;
    if (form.requestSubmit) form.requestSubmit(button); else form.submit();
    return true;
  }

  function focus(id) {
    var field = document.getElementById(id);
    if (!field) return false;
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  var actions = {
    a: function () { return submit(document.getElementById("form-approve")); },
    r: function () { return focus("reject-reason"); },
    v: function () { return focus("revise-note"); },
    j: function () { return follow("next-link") || follow("start-link"); },
    n: function () { return follow("next-link") || follow("start-link"); }
  };

  var busy = false; // one decision per page: a held-down key must not post twice
  document.addEventListener("keydown", function (event) {
    if (busy || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var run = actions[event.key];
    if (run && run()) {
      event.preventDefault();
      busy = event.key !== "r" && event.key !== "v";
    }
  });

  // Show the shortcut hint only where the shortcuts work.
  var hint = document.querySelector(".shortcut-hint");
  if (hint) hint.hidden = false;

  // Queue: a "select all" box for bulk decisions.
  var picks = document.querySelectorAll("#bulk-form input.pick");
  var bar = document.querySelector("#bulk-form .bulk-bar legend");
  if (picks.length && bar) {
    var label = document.createElement("label");
    label.className = "choice";
    var all = document.createElement("input");
    all.type = "checkbox";
    all.addEventListener("change", function () {
      picks.forEach(function (box) { box.checked = all.checked; });
    });
    label.appendChild(all);
    label.appendChild(document.createTextNode(" 全选本页"));
    bar.parentNode.insertBefore(label, bar.nextSibling);
  }
})();
