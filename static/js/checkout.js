// The checkout page: Stripe's Payment Element, and one confirmation per click.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form) return;
  var button = document.getElementById("pay-button");
  var message = document.getElementById("payment-message");
  var loading = document.getElementById("payment-loading");
  var payLabel = button.textContent;

  function showError(text) {
    message.textContent = text;
    message.hidden = false;
  }

  function formUnavailable() {
    loading.hidden = true;
    showError("The payment form could not be loaded. Check your connection and reload the page.");
  }

  if (typeof window.Stripe !== "function") {
    formUnavailable();
    return;
  }
  var stripe = window.Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({clientSecret: form.dataset.clientSecret});
  var paymentElement = elements.create("payment");
  paymentElement.on("ready", function () {
    loading.hidden = true;
    button.disabled = false;
  });
  paymentElement.on("loaderror", formUnavailable);
  paymentElement.mount("#payment-element");

  var submitting = false;
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    // A double click must not confirm twice; Stripe would refuse the second anyway.
    if (submitting) return;
    submitting = true;
    button.disabled = true;
    button.textContent = "Paying…";
    message.hidden = true;
    var result;
    try {
      result = await stripe.confirmPayment({elements: elements, confirmParams: {return_url: form.dataset.returnUrl}});
    } catch (error) {
      result = {error: {message: "We could not reach Stripe. Nothing was charged; please try again."}};
    }
    // Only an immediate problem (a declined card, a typo) comes back here; success and
    // 3D Secure leave the page for the return URL.
    if (result && result.error) {
      showError(result.error.message);
      submitting = false;
      button.disabled = false;
      button.textContent = payLabel;
    }
  });
})();
