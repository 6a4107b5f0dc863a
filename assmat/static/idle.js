/* The idle-timeout warning of long forms (« Mes disponibilités »): about a minute before the
   tenant's idle timeout, a box says the session is about to close, with a button that keeps it
   (POST to the page's keep-alive form, CSRF token included, answered 204). Progressive
   enhancement, no dependency, ES2017: without JavaScript the page says the timeout in words.
   The server's clock is the truth; this only mirrors it from the page's load. */
(function () {
  "use strict";

  var box = document.getElementById("avertissement-session");
  if (!box || !window.fetch || !window.URLSearchParams) return;
  var form = box.querySelector("form");
  var message = document.getElementById("texte-avertissement-session");
  var idleMs = Number(box.dataset.idleSeconds) * 1000;
  var leadMs = Number(box.dataset.warningSeconds) * 1000;
  var timer = null;

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { box.hidden = false; }, Math.max(0, idleMs - leadMs));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (response) {
      if (response.status === 204) {
        box.hidden = true;
        schedule();
      } else {
        message.textContent = box.dataset.expiredText;
      }
    }, function () {
      message.textContent = box.dataset.offlineText;
    });
  });

  schedule();
})();
