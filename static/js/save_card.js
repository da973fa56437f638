// "Save this card for next time" on the checkout page: the choice goes to the shop as soon as it
// changes, so the PaymentIntent carries the account's Customer and setup_future_usage before
// checkout.js confirms it (Stripe keeps the card when that payment succeeds). A submit while the
// choice is still on its way waits for it; one the shop could not record is stopped with a word.
(function () {
  "use strict";
  var box = document.getElementById("save-card");
  var form = document.getElementById("payment-form");
  if (!box || !form) return;
  var message = document.getElementById("payment-message");
  var pending = null;
  var failed = false;

  function send() {
    failed = false;
    var body = new URLSearchParams({save: box.checked ? "1" : "0"});
    pending = fetch(box.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": document.getElementById("save-card-csrf").value},
      body: body,
    }).then(function (response) {
      failed = !response.ok;
    }, function () {
      failed = true;
    }).then(function () {
      pending = null;
      if (failed) {
        message.textContent = "We could not record whether to save your card. Nothing was charged; tick the box again or pay without saving.";
        message.hidden = false;
      }
    });
  }

  box.addEventListener("change", send);
  // Capturing on the document runs before checkout.js's own submit handler on the form.
  document.addEventListener("submit", function (event) {
    if (event.target !== form || !(pending || failed)) return;
    event.preventDefault();
    event.stopPropagation();
    if (pending) pending.then(function () { if (!failed) form.requestSubmit(); });
  }, true);
})();
