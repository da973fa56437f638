// While Stripe confirms a payment, ask the shop every few seconds and reload the order
// page (without Stripe's return parameters) once the webhook has settled it.
(function () {
  "use strict";
  var box = document.querySelector("[data-payment-poll]");
  if (!box) return;
  var statusUrl = box.dataset.paymentPoll;
  var orderPage = box.dataset.orderPage;
  var delay = 1000;
  var deadline = Date.now() + 5 * 60 * 1000;

  // Stripe said "succeeded" on the way back: an error still on record is the previous
  // card's, so only the webhook's verdict counts.
  var expectSuccess = box.dataset.redirectStatus === "succeeded";

  // A bank settling a debit takes days: once the shop knows, the page says so (one reload).
  var showsNotice = Boolean(box.querySelector("[data-testid=payment-processing]"));

  function settled(state) {
    if (state.paid || state.order_status !== "pending_payment") return true;
    if (state.notice && !showsNotice) return true;
    return !expectSuccess && state.payment_status === "requires_payment_method" && Boolean(state.message);
  }

  function poll() {
    fetch(statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && settled(state)) {
          window.location.replace(orderPage);
        } else if (Date.now() < deadline) {
          delay = Math.min(delay * 1.5, 10000);
          setTimeout(poll, delay);
        }
      })
      .catch(function () { if (Date.now() < deadline) setTimeout(poll, 5000); });
  }
  setTimeout(poll, delay);
})();
