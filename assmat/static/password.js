/* Password fields: live rule checklist and show/hide toggle (templates/_password_field.html).
   Progressive enhancement, no dependency, ES2017. The server's check (assmat/auth/policy.py) is
   the truth: this mirrors its length, class, special-character, charset and space rules on the
   NFC form counted in code points; identifier, history and blocklist stay reminders here. */
(function () {
  "use strict";

  var ANNOUNCE_DELAY_MS = 1000; // one summary per pause in typing, not one per key

  // Python's isalpha / isupper / islower / isdecimal; older engines fall back to case mapping.
  function unicodeClass(property, fallback) {
    try {
      var pattern = new RegExp("^\\p{" + property + "}$", "u");
      return function (c) { return pattern.test(c); };
    } catch (e) {
      return fallback;
    }
  }
  var isLetter = unicodeClass("L", function (c) { return c.toLowerCase() !== c.toUpperCase(); });
  var isUpper = unicodeClass("Uppercase", function (c) { return c !== c.toLowerCase(); });
  var isLower = unicodeClass("Lowercase", function (c) { return c !== c.toUpperCase(); });
  var isDigit = unicodeClass("Nd", function (c) { return c >= "0" && c <= "9"; });
  // Python's isspace: JavaScript's \s plus the separators U+001C-U+001F and U+0085, minus U+FEFF.
  function isSpace(c) { return c !== "\ufeff" && /^[\s\x1c-\x1f\x85]$/.test(c); }
  function isSpecial(c) { return !isLetter(c) && !isDigit(c) && !isSpace(c); }

  function count(chars, predicate) {
    return chars.filter(predicate).length;
  }

  // true (met), false (not met) or null (not checked in the browser).
  function evaluate(rule, chars) {
    if (rule.dataset.client !== "true") return null;
    var min = Number(rule.dataset.min || 0);
    var max = Number(rule.dataset.max || 0);
    var allowed = rule.hasAttribute("data-chars") ? Array.from(rule.dataset.chars) : null;
    switch (rule.dataset.rule) {
      case "min_length": return chars.length >= min;
      case "max_length": return chars.length <= max;
      case "uppercase": return count(chars, isUpper) >= min;
      case "lowercase": return count(chars, isLower) >= min;
      case "letters": return count(chars, isLetter) >= min;
      case "digits": return count(chars, isDigit) >= min;
      case "special":
        return count(chars, function (c) {
          return isSpecial(c) && (allowed === null || allowed.indexOf(c) !== -1);
        }) >= min;
      case "charset":
        return !chars.some(function (c) { return isSpecial(c) && allowed.indexOf(c) === -1; });
      case "whitespace": return !chars.some(isSpace);
      default: return null;
    }
  }

  function enhanceChecklist(list) {
    var input = document.getElementById(list.dataset.for);
    var summary = document.getElementById(list.dataset.summary);
    if (!input) return;
    var rules = Array.from(list.querySelectorAll("li[data-rule]"));
    var timer = null;

    function update() {
      var value = input.value.normalize ? input.value.normalize("NFC") : input.value;
      var chars = Array.from(value);
      var met = 0;
      var checked = 0;
      rules.forEach(function (rule) {
        var ok = evaluate(rule, chars);
        if (ok === null) return;
        checked += 1;
        if (ok) met += 1;
        rule.classList.toggle("rule-ok", ok);
        rule.classList.toggle("rule-ko", !ok);
        var status = rule.querySelector(".rule-status");
        if (status) status.textContent = ", " + (ok ? list.dataset.labelOk : list.dataset.labelKo);
      });
      return (list.dataset.summaryTemplate || "{ok}/{total}")
        .replace("{ok}", String(met))
        .replace("{total}", String(checked));
    }

    update(); // marks from the start, announced only once the user types
    input.addEventListener("input", function () {
      var text = update();
      if (!summary) return;
      clearTimeout(timer);
      timer = setTimeout(function () { summary.textContent = text; }, ANNOUNCE_DELAY_MS);
    });
  }

  function enhanceToggle(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var reveal = input.type === "password";
      input.type = reveal ? "text" : "password";
      button.setAttribute("aria-pressed", String(reveal));
      button.textContent = reveal ? button.dataset.labelHide : button.dataset.labelShow;
    });
    // Never submit as a text field: browsers would keep the value in their form history.
    if (input.form) {
      input.form.addEventListener("submit", function () {
        input.type = "password";
        button.setAttribute("aria-pressed", "false");
        button.textContent = button.dataset.labelShow;
      });
    }
  }

  function init() {
    Array.from(document.querySelectorAll(".password-rules")).forEach(enhanceChecklist);
    Array.from(document.querySelectorAll(".password-toggle")).forEach(enhanceToggle);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
