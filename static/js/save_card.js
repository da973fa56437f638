// "Save this card for next time" on the checkout page: the choice goes to the shop as soon as it
// changes, so the PaymentIntent carries the account's Customer and setup_future_usage before
// checkout.js confirms it (Stripe keeps the card when that payment succeeds). A submit whose
// choice the shop has not recorded yet (still on its way, ticked before this deferred script
// listened, restored by the browser, or failed) sends it first and goes on once it is recorded.
(function () {
  "use strict";
  var box = document.getElementById("save-card");
  var form = document.getElementById("payment-form");
  if (!box || !form) return;
  var message = document.getElementById("payment-message");
  // What the PaymentIntent holds: the page was rendered from it.
  var recorded = box.defaultChecked;
  var pending = null;

  function send() {
    var wanted = box.checked;
    pending = fetch(box.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": document.getElementById("save-card-csrf").value},
      body: new URLSearchParams({save: wanted ? "1" : "0"}),
    }).then(function (response) {
      return response.ok;
    }, function () {
      return false;
    }).then(function (ok) {
      pending = null;
      if (ok) {
        recorded = wanted;
        return true;
      }
      message.textContent = "We could not record whether to save your card. Nothing was charged; please try again.";
      message.hidden = false;
      return false;
    });
    return pending;
  }

  box.addEventListener("change", send);
  if (box.checked !== recorded) send();
  // Capturing on the document runs before checkout.js's own submit handler on the form.
  document.addEventListener("submit", function (event) {
    if (event.target !== form || (!pending && box.checked === recorded)) return;
    event.preventDefault();
    event.stopPropagation();
    (pending || send()).then(function (ok) {
      if (ok && box.checked === recorded) form.requestSubmit();
    });
  }, true);
})();
