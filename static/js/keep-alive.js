// Keeps a session alive while someone is typing in a long form (a signal, an answer to the
// coordinator, a question to the reporter, the reason for closing): the idle timeout is for
// sessions left alone, not for a person still writing. At most one small POST every few minutes
// per page, and only while there is typing; nothing is sent but the CSRF token. Without
// JavaScript the form works the same, with the plain idle timeout.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-keep-alive]");
  var last = Date.now();
  Array.prototype.forEach.call(forms, function (form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var interval = 1000 * Number(form.getAttribute("data-keep-alive-seconds") || 300);
    form.addEventListener("input", function () {
      if (!token || Date.now() - last < interval) {
        return;
      }
      last = Date.now();
      fetch(form.getAttribute("data-keep-alive"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value },
      }).catch(function () {});
    });
  });
})();
