// Asks before a form whose action cannot be undone with one click is sent (blocking an account,
// wiping its second factor). The form says what to ask in data-confirm. Without JavaScript the
// form is sent straight away, as before.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
