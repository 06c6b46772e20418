/* Keyboard shortcuts of the moderation lists — a progressive enhancement: every action is a
   plain form button that works without this file; it only moves the focus and presses them.
   j / k: next / previous reply; a: approve it; r: reject it; ?: show or hide the help.
   Served from /admin/static/ (the admin CSP allows scripts from there only, nothing inline). */
(function () {
  "use strict";

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("li.item[data-reply-id]"));
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    if (target.tagName === "INPUT") {
      return ["checkbox", "radio", "submit", "button", "hidden"].indexOf(target.type) < 0;
    }
    return false;
  }

  function currentIndex(list) {
    var active = document.activeElement;
    for (var i = 0; i < list.length; i++) {
      if (list[i] === active || list[i].contains(active) ||
          list[i].classList.contains("current")) { return i; }
    }
    return -1;
  }

  function select(list, index) {
    if (!list.length) { return; }
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (el) { el.classList.remove("current"); });
    var item = list[index];
    item.classList.add("current");
    item.setAttribute("tabindex", "-1");
    item.focus();
    if (item.scrollIntoView) { item.scrollIntoView({block: "nearest"}); }
  }

  function press(list, selector) {
    var index = currentIndex(list);
    if (index < 0) { return; }
    var button = list[index].querySelector(selector);
    if (button) { button.click(); }
  }

  document.documentElement.classList.add("js");
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var list = items();
    var help = document.getElementById("shortcuts");
    switch (event.key) {
      case "j": select(list, currentIndex(list) + 1); break;
      case "k": select(list, currentIndex(list) - 1); break;
      case "a": press(list, "button.approve"); break;
      case "r": press(list, "button.reject"); break;
      case "?": if (help) { help.open = !help.open; } break;
      default: return;
    }
    event.preventDefault();
  });
}());
