// upsell's page script. Every page works without it (forms post and the
// server renders the answer); with it, pages get live. It never computes a
// price: it sends the form to the server and shows the fragment the server
// rendered from its own quote.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken(form) {
    var f = form.querySelector('input[name="csrf"]');
    return f ? f.value : "";
  }

  // form[data-live="summary"][data-live-target="summary"]: on every change,
  // after a pause, ask the server for the named fragment and swap it into
  // the target (an aria-live region, so screen readers hear the new total).
  function live(form) {
    var target = document.getElementById(form.getAttribute("data-live-target"));
    if (!target) return;
    var timer = 0, seq = 0;
    function refresh() {
      var mine = ++seq;
      var params = new URLSearchParams(new FormData(form));
      var method = (form.getAttribute("method") || "GET").toUpperCase();
      var url = form.getAttribute("data-live-url") || form.getAttribute("action") || window.location.pathname;
      var init = { method: method, headers: { "Upsell-Live": form.getAttribute("data-live") }, credentials: "same-origin" };
      var token = csrfToken(form);
      if (token) init.headers["X-CSRF-Token"] = token;
      if (method === "GET") {
        url += (url.indexOf("?") < 0 ? "?" : "&") + params.toString();
      } else {
        init.headers["Content-Type"] = "application/x-www-form-urlencoded";
        init.body = params.toString();
      }
      target.setAttribute("aria-busy", "true");
      fetch(url, init).then(function (resp) {
        return resp.text().then(function (html) { return { ok: resp.ok || resp.status === 422, html: html }; });
      }).then(function (r) {
        if (mine !== seq) return; // a newer answer is on its way
        target.removeAttribute("aria-busy");
        if (!r.ok) return;
        target.innerHTML = r.html;
        applyValueTexts(target);
      }).catch(function () {
        if (mine === seq) target.removeAttribute("aria-busy");
      });
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
  }

  // <span data-valuetext-for="ID">4 GB, 12.00 EUR</span> in a fragment
  // sets the control's aria-valuetext to the server's words.
  function applyValueTexts(root) {
    root.querySelectorAll("[data-valuetext-for]").forEach(function (el) {
      var input = document.getElementById(el.getAttribute("data-valuetext-for"));
      if (input) input.setAttribute("aria-valuetext", el.textContent.trim());
    });
  }

  // input[data-pair=ID]: a slider and its number box show one value.
  function pair(input) {
    var other = document.getElementById(input.getAttribute("data-pair"));
    if (!other) return;
    input.addEventListener("input", function () {
      if (other.value !== input.value) other.value = input.value;
    });
  }

  // form[data-once]: a second click does not post the form again while
  // the first is on its way (the server's idempotency key is the real
  // guard; this spares the round trip).
  function once(form) {
    var sent = false;
    form.addEventListener("submit", function (ev) {
      if (sent) { ev.preventDefault(); return; }
      sent = true;
      setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
          b.disabled = true;
          b.setAttribute("aria-disabled", "true");
        });
      }, 0);
    });
  }

  function init() {
    document.querySelectorAll("form[data-live]").forEach(live);
    document.querySelectorAll("input[data-pair]").forEach(pair);
    document.querySelectorAll("form[data-once]").forEach(once);
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) summary.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
