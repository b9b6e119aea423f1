/* Warn two minutes before the idle sign-out and let the resident stay signed in
   without leaving the page (so nothing typed on it is lost).

   Progressive enhancement only: without this script every signed-in page already
   shows when the session ends and a "Stay signed in" button that works as a plain
   form. The warning's text comes from the server, in the page's language. */
(function () {
  "use strict";

  var warning = document.getElementById("session-timeout-warning");
  if (!warning || !window.fetch || !window.FormData) {
    return;
  }
  var warnMilliseconds = Number(warning.getAttribute("data-warn-seconds")) * 1000;
  // Counted from this page's own clock, so a computer whose clock is wrong still
  // warns at the right moment.
  var endsAt = Date.now() + Number(warning.getAttribute("data-seconds-left")) * 1000;
  var soon = warning.querySelector(".session-warning-soon");
  var ended = warning.querySelector(".session-warning-ended");
  var warningForm = warning.querySelector("form");
  var timers = [];

  function show(hasEnded) {
    soon.hidden = hasEnded;
    ended.hidden = !hasEnded;
    warningForm.hidden = hasEnded;
    warning.hidden = false;
  }

  function schedule() {
    timers.forEach(clearTimeout);
    var now = Date.now();
    timers = [
      setTimeout(function () { show(false); }, Math.max(0, endsAt - warnMilliseconds - now)),
      setTimeout(function () { show(true); }, Math.max(0, endsAt - now)),
    ];
  }

  function extended(body) {
    endsAt = Date.now() + body.seconds_left * 1000;
    document.querySelectorAll(".session-ends-at").forEach(function (element) {
      element.textContent = body.ends_at_local;
    });
    warning.hidden = true;
    schedule();
  }

  function extend(event) {
    var form = event.currentTarget;
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : Promise.reject(response.status);
      })
      .then(extended)
      .catch(function () {
        form.submit(); // let the server answer as it does without script
      });
  }

  document.querySelectorAll("form.session-extend").forEach(function (form) {
    form.addEventListener("submit", extend);
  });
  // Timers stall while a laptop sleeps; measure again when the page is seen.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      schedule();
    }
  });
  schedule();
})();
