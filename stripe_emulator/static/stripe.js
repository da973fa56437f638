/*
 * Stripe.js as the Stripe emulator serves it at /v3/: the part of the real library a
 * shop uses for card payments with the Payment Element.
 *
 *   const stripe = Stripe("pk_test_...");
 *   const elements = stripe.elements({clientSecret});
 *   elements.create("payment").mount("#payment-element");
 *   const {error} = await stripe.confirmPayment({elements, confirmParams: {return_url}});
 *
 * It talks to the emulator it was loaded from, with the publishable key and the
 * PaymentIntent's client secret only, as the real one talks to api.stripe.com.
 * The Payment Element here is a plain, accessible form (no iframe): a card form, and, when
 * the PaymentIntent accepts them, a choice of SEPA Direct Debit (IBAN, name, email and the
 * mandate text), iDEAL (a bank) and Bancontact (a name), as Stripe's tabs offer them. iDEAL and
 * Bancontact always leave the page for the bank's `redirect_to_url`, as Stripe.js does.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var API = new URL((script && script.src) || "/v3/", window.location.href).origin;
  var counter = 0;

  function integrationError(message) {
    var error = new Error(message);
    error.name = "IntegrationError";
    return error;
  }

  // Stripe's form encoding: {a: {b: 1}, c: [2]} -> "a[b]=1&c[0]=2".
  function encode(params, prefix, parts) {
    parts = parts || [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      var name = prefix ? prefix + "[" + key + "]" : key;
      if (value === undefined || value === null) return;
      if (typeof value === "object") encode(value, name, parts);
      else parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(value));
    });
    return parts.join("&");
  }

  async function request(method, path, params) {
    var query = encode(params);
    var url = API + path + (method === "GET" ? "?" + query : "");
    try {
      var response = await fetch(url, {
        method: method,
        headers: method === "GET" ? {} : {"Content-Type": "application/x-www-form-urlencoded"},
        body: method === "GET" ? undefined : query,
      });
      var body = await response.json();
      return response.ok ? {data: body} : {error: body.error};
    } catch (exc) {
      return {error: {type: "api_connection_error", message: "We could not reach the payment service. Please try again."}};
    }
  }

  function intentId(clientSecret) {
    if (typeof clientSecret !== "string" || clientSecret.indexOf("_secret_") < 0) {
      throw integrationError("Invalid value for clientSecret: it should be a PaymentIntent's client secret.");
    }
    return clientSecret.split("_secret_")[0];
  }

  function withQuery(url, params) {
    var target = new URL(url, window.location.href);
    Object.keys(params).forEach(function (key) { target.searchParams.set(key, params[key]); });
    return target.toString();
  }

  // --- card checks, with Stripe's codes and messages -------------------------------

  function digits(value) { return value.replace(/\D/g, ""); }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = +number[number.length - 1 - i];
      if (i % 2) d = d > 4 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return number.length >= 12 && sum % 10 === 0;
  }

  function cardLength(number) { return /^3[47]/.test(number) ? 15 : 16; }

  // Each check gives [state, error]: state is "empty", "incomplete", "invalid" or "complete".
  function checkNumber(value) {
    var number = digits(value);
    if (!number) return ["empty", {code: "incomplete_number", message: "Your card number is incomplete."}];
    if (number.length < cardLength(number)) {
      return ["incomplete", {code: "incomplete_number", message: "Your card number is incomplete."}];
    }
    if (!luhn(number)) return ["invalid", {code: "invalid_number", message: "Your card number is invalid."}];
    return ["complete", null];
  }

  function parseExpiry(value) {
    var d = digits(value);
    return {month: +d.slice(0, 2), year: 2000 + +d.slice(2, 4), length: d.length};
  }

  function checkExpiry(value) {
    var expiry = parseExpiry(value);
    if (!expiry.length) return ["empty", {code: "incomplete_expiry", message: "Your card's expiration date is incomplete."}];
    if (expiry.length < 4) return ["incomplete", {code: "incomplete_expiry", message: "Your card's expiration date is incomplete."}];
    if (expiry.month < 1 || expiry.month > 12) {
      return ["invalid", {code: "invalid_expiry_month", message: "Your card's expiration date is invalid."}];
    }
    var now = new Date();
    if (expiry.year < now.getFullYear()) {
      return ["invalid", {code: "invalid_expiry_year_past", message: "Your card's expiration year is in the past."}];
    }
    if (expiry.year === now.getFullYear() && expiry.month < now.getMonth() + 1) {
      return ["invalid", {code: "invalid_expiry_month_past", message: "Your card's expiration date is in the past."}];
    }
    return ["complete", null];
  }

  function checkCvc(value) {
    var cvc = digits(value);
    if (!cvc) return ["empty", {code: "incomplete_cvc", message: "Your card's security code is incomplete."}];
    if (cvc.length < 3) return ["incomplete", {code: "incomplete_cvc", message: "Your card's security code is incomplete."}];
    return ["complete", null];
  }

  // --- the Payment Element ----------------------------------------------------------

  var STYLE = [
    ".StripeEmulatorElement{display:grid;gap:.75rem;font:inherit}",
    ".StripeEmulatorElement label{display:block;font-size:.9em;margin-bottom:.25rem}",
    ".StripeEmulatorElement input{box-sizing:border-box;width:100%;padding:.55rem .65rem;font:inherit;",
    "border:1px solid #b8b8c0;border-radius:6px}",
    ".StripeEmulatorElement input[aria-invalid=true]{border-color:#c62828}",
    ".StripeEmulatorElement .row{display:grid;grid-template-columns:1fr 1fr;gap:.75rem}",
    ".StripeEmulatorElement .error{color:#c62828;margin:0;min-height:1.2em;font-size:.9em}",
    ".StripeEmulatorMethods{display:flex;flex-wrap:wrap;gap:.5rem;border:0;padding:0;margin:0 0 .75rem}",
    ".StripeEmulatorMethods label{display:flex;gap:.35rem;align-items:center;border:1px solid #b8b8c0;",
    "border-radius:6px;padding:.45rem .7rem;cursor:pointer}",
    ".StripeEmulatorElement select{width:100%;padding:.55rem .65rem;font:inherit;border:1px solid #b8b8c0;border-radius:6px}",
    ".StripeEmulatorElement .mandate{font-size:.8em;color:#555;margin:0}",
  ].join("");

  function addStyle() {
    if (document.getElementById("stripe-emulator-style")) return;
    var style = document.createElement("style");
    style.id = "stripe-emulator-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  function field(id, label, attrs) {
    var wrapper = document.createElement("div");
    var labelEl = document.createElement("label");
    labelEl.htmlFor = id;
    labelEl.textContent = label;
    var input = document.createElement("input");
    input.id = id;
    input.type = "text";
    input.setAttribute("inputmode", "numeric");
    Object.keys(attrs).forEach(function (name) { input.setAttribute(name, attrs[name]); });
    wrapper.appendChild(labelEl);
    wrapper.appendChild(input);
    return {wrapper: wrapper, input: input};
  }

  // --- the other methods: what each asks for, and its checks ------------------------

  var METHOD_NAMES = {card: "Card", sepa_debit: "SEPA Direct Debit", ideal: "iDEAL", bancontact: "Bancontact"};
  var REDIRECT_METHODS = ["ideal", "bancontact"];
  var IDEAL_BANKS = [["abn_amro", "ABN AMRO"], ["asn_bank", "ASN Bank"], ["bunq", "bunq"], ["ing", "ING"],
    ["knab", "Knab"], ["rabobank", "Rabobank"], ["regiobank", "RegioBank"], ["revolut", "Revolut"],
    ["sns_bank", "SNS Bank"], ["triodos_bank", "Triodos Bank"], ["van_lanschot", "Van Lanschot"]];

  function ibanValid(value) {
    var iban = value.replace(/\s/g, "").toUpperCase();
    if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
    var moved = iban.slice(4) + iban.slice(0, 4);
    var rest = 0;
    for (var i = 0; i < moved.length; i++) {
      var code = moved.charCodeAt(i);
      var digits = code >= 65 ? String(code - 55) : moved[i];
      for (var j = 0; j < digits.length; j++) rest = (rest * 10 + +digits[j]) % 97;
    }
    return rest === 1;
  }

  function textField(id, label, attrs) {
    var made = field(id, label, attrs || {});
    made.input.removeAttribute("inputmode");
    return made;
  }

  function panel(label) {
    var root = document.createElement("div");
    root.className = "StripeEmulatorElement";
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", label);
    root.hidden = true;
    return root;
  }

  function PaymentElement(options, elements) {
    this._options = options || {};
    this._elements = elements;
    this._handlers = {};
    this._root = null;
    this._method = "card";
    this._panels = {};
    this._shown = false; // errors show once the shopper leaves a field or submits, as Stripe's do
  }

  PaymentElement.prototype.on = function (event, handler) {
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    return this;
  };

  PaymentElement.prototype.off = function (event, handler) {
    this._handlers[event] = (this._handlers[event] || []).filter(function (h) { return h !== handler; });
    return this;
  };

  PaymentElement.prototype._emit = function (event, payload) {
    (this._handlers[event] || []).forEach(function (handler) { handler(payload); });
  };

  PaymentElement.prototype.mount = function (target) {
    var container = typeof target === "string" ? document.querySelector(target) : target;
    if (!container) throw integrationError("The selector you specified (" + target + ") applies to no DOM elements.");
    addStyle();
    var id = "stripe-emulator-" + ++counter;
    var root = document.createElement("div");
    root.className = "StripeEmulatorElement";
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "Card details");
    var number = field(id + "-number", "Card number",
      {autocomplete: "cc-number", placeholder: "1234 1234 1234 1234", name: "cardnumber", maxlength: "23"});
    var expiry = field(id + "-expiry", "Expiration date (MM / YY)",
      {autocomplete: "cc-exp", placeholder: "MM / YY", name: "exp-date", maxlength: "7"});
    var cvc = field(id + "-cvc", "Security code (CVC)",
      {autocomplete: "cc-csc", placeholder: "CVC", name: "cvc", maxlength: "4"});
    var row = document.createElement("div");
    row.className = "row";
    row.appendChild(expiry.wrapper);
    row.appendChild(cvc.wrapper);
    var error = document.createElement("p");
    error.className = "error";
    error.id = id + "-error";
    error.setAttribute("role", "alert");
    root.appendChild(number.wrapper);
    root.appendChild(row);
    root.appendChild(error);
    container.appendChild(root);
    this._root = root;
    this._container = container;
    this._id = id;
    this._panels.card = root;
    this._inputs = {number: number.input, expiry: expiry.input, cvc: cvc.input};
    this._error = error;

    var self = this;
    number.input.addEventListener("input", function () {
      number.input.value = digits(number.input.value).slice(0, 19).replace(/(\d{4})(?=\d)/g, "$1 ");
      self._changed();
    });
    expiry.input.addEventListener("input", function (event) {
      var d = digits(expiry.input.value).slice(0, 4);
      // "1" stays "1"; "12" becomes "12 / " unless the shopper is deleting.
      var deleting = event.inputType && event.inputType.indexOf("delete") === 0;
      expiry.input.value = d.length > 2 || (d.length === 2 && !deleting) ? d.slice(0, 2) + " / " + d.slice(2) : d;
      self._changed();
    });
    cvc.input.addEventListener("input", function () {
      cvc.input.value = digits(cvc.input.value).slice(0, 4);
      self._changed();
    });
    Object.keys(this._inputs).forEach(function (name) {
      self._inputs[name].addEventListener("focus", function () { self._emit("focus", {elementType: "payment"}); });
      self._inputs[name].addEventListener("blur", function () {
        self._shown = true;
        self._render(false);
        self._emit("blur", {elementType: "payment"});
      });
    });
    // Like Stripe's, the element asks the PaymentIntent which methods it accepts, then is ready.
    var elements = this._elements;
    var offered = elements && elements._clientSecret && elements._stripe
      ? elements._stripe._retrieve(elements._clientSecret) : Promise.resolve({});
    offered.then(function (result) {
      var types = (result.data && result.data.payment_method_types) || ["card"];
      self._offer(types.filter(function (t) { return METHOD_NAMES[t]; }));
      self._emit("ready", {elementType: "payment"});
    });
    return this;
  };

  // Tabs for each accepted method beyond cards, and the fields each asks for.
  PaymentElement.prototype._offer = function (types) {
    if (types.length < 2 && types[0] === "card") return;
    var self = this;
    var id = this._id;
    var chooser = document.createElement("fieldset");
    chooser.className = "StripeEmulatorMethods";
    chooser.setAttribute("role", "radiogroup");
    chooser.setAttribute("aria-label", "Payment method");
    types.forEach(function (type) {
      var label = document.createElement("label");
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.name = id + "-method";
      radio.value = type;
      radio.checked = type === types[0];
      radio.addEventListener("change", function () { self._choose(type); });
      label.appendChild(radio);
      label.appendChild(document.createTextNode(METHOD_NAMES[type]));
      chooser.appendChild(label);
    });
    this._container.insertBefore(chooser, this._root);
    this._extra = {};
    var extra = this._extra;
    var after = this._root.nextSibling;
    function add(type, label, children) {
      var root = panel(label);
      children.forEach(function (child) { root.appendChild(child); });
      var error = document.createElement("p");
      error.className = "error";
      error.setAttribute("role", "alert");
      root.appendChild(error);
      root._error = error;
      self._container.insertBefore(root, after);
      self._panels[type] = root;
    }
    if (types.indexOf("sepa_debit") >= 0) {
      extra.iban = textField(id + "-iban", "IBAN", {autocomplete: "off", placeholder: "DE00 0000 0000 0000 0000 00"});
      extra.sepaName = textField(id + "-sepa-name", "Account holder name", {autocomplete: "name"});
      extra.sepaEmail = textField(id + "-sepa-email", "Email address", {autocomplete: "email", type: "email"});
      var mandate = document.createElement("p");
      mandate.className = "mandate";
      mandate.textContent = "By providing your payment information and confirming this payment, you authorise " +
        "the shop and Stripe, our payment service provider, to send instructions to your bank to debit your " +
        "account in accordance with those instructions (SEPA Direct Debit mandate).";
      add("sepa_debit", "SEPA Direct Debit details", [extra.iban.wrapper, extra.sepaName.wrapper,
        extra.sepaEmail.wrapper, mandate]);
    }
    if (types.indexOf("ideal") >= 0) {
      var wrapper = document.createElement("div");
      var label = document.createElement("label");
      label.htmlFor = id + "-ideal-bank";
      label.textContent = "iDEAL bank";
      var select = document.createElement("select");
      select.id = id + "-ideal-bank";
      [["", "Choose your bank"]].concat(IDEAL_BANKS).forEach(function (bank) {
        var option = document.createElement("option");
        option.value = bank[0];
        option.textContent = bank[1];
        select.appendChild(option);
      });
      wrapper.appendChild(label);
      wrapper.appendChild(select);
      extra.idealBank = select;
      add("ideal", "iDEAL details", [wrapper]);
    }
    if (types.indexOf("bancontact") >= 0) {
      extra.bancontactName = textField(id + "-bancontact-name", "Full name", {autocomplete: "name"});
      add("bancontact", "Bancontact details", [extra.bancontactName.wrapper]);
    }
    Object.keys(extra).forEach(function (key) {
      var input = extra[key].input || extra[key];
      input.addEventListener("input", function () { self._changed(); });
      input.addEventListener("change", function () { self._changed(); });
    });
    this._choose(types[0]);
  };

  PaymentElement.prototype._choose = function (type) {
    this._method = type;
    var panels = this._panels;
    Object.keys(panels).forEach(function (name) { panels[name].hidden = name !== type; });
    this._changed();
  };

  // [error or null] for the chosen method other than cards, with Stripe's codes.
  PaymentElement.prototype._otherProblem = function () {
    var extra = this._extra;
    if (this._method === "sepa_debit") {
      if (!extra.iban.input.value.trim()) return {code: "incomplete_iban", message: "Your IBAN is incomplete.", input: extra.iban.input};
      if (!ibanValid(extra.iban.input.value)) return {code: "invalid_iban", message: "Your IBAN is invalid.", input: extra.iban.input};
      if (!extra.sepaName.input.value.trim()) return {code: "incomplete_name", message: "Enter the account holder's full name.", input: extra.sepaName.input};
      if (!/^[^@\s]+@[^@\s]+$/.test(extra.sepaEmail.input.value.trim())) return {code: "incomplete_email", message: "Enter a valid email address.", input: extra.sepaEmail.input};
    } else if (this._method === "bancontact") {
      if (!extra.bancontactName.input.value.trim()) return {code: "incomplete_name", message: "Enter your full name.", input: extra.bancontactName.input};
    }
    return null;
  };

  PaymentElement.prototype._paymentMethodData = function () {
    var extra = this._extra;
    if (this._method === "sepa_debit") {
      return {type: "sepa_debit", sepa_debit: {iban: extra.iban.input.value.replace(/\s/g, "").toUpperCase()},
        billing_details: {name: extra.sepaName.input.value.trim(), email: extra.sepaEmail.input.value.trim()}};
    }
    if (this._method === "ideal") {
      return extra.idealBank.value ? {type: "ideal", ideal: {bank: extra.idealBank.value}} : {type: "ideal"};
    }
    if (this._method === "bancontact") {
      return {type: "bancontact", billing_details: {name: extra.bancontactName.input.value.trim()}};
    }
    return {type: "card", card: this._card()};
  };

  PaymentElement.prototype._state = function () {
    var checks = [
      ["number", checkNumber(this._inputs.number.value)],
      ["expiry", checkExpiry(this._inputs.expiry.value)],
      ["cvc", checkCvc(this._inputs.cvc.value)],
    ];
    var firstProblem = checks.filter(function (c) { return c[1][0] !== "complete"; })[0];
    var invalid = checks.filter(function (c) { return c[1][0] === "invalid"; })[0];
    return {
      checks: checks,
      empty: checks.every(function (c) { return c[1][0] === "empty"; }),
      complete: !firstProblem,
      // While typing only a wrong value is an error; an unfinished one becomes one on blur or submit.
      liveError: invalid ? invalid[1][1] : null,
      error: firstProblem ? firstProblem[1][1] : null,
    };
  };

  PaymentElement.prototype._render = function (all) {
    var state = this._state();
    var self = this;
    state.checks.forEach(function (c) {
      var bad = c[1][0] === "invalid" || ((all || self._shown) && c[1][0] !== "complete" && !state.empty);
      self._inputs[c[0]].setAttribute("aria-invalid", bad ? "true" : "false");
    });
    var error = all ? state.error : state.liveError || (this._shown && !state.empty ? state.error : null);
    this._error.textContent = error ? error.message : "";
    return state;
  };

  PaymentElement.prototype._changed = function () {
    if (this._method !== "card") {
      var problem = this._otherProblem();
      this._emit("change", {elementType: "payment", empty: false, complete: !problem, collapsed: false,
        value: {type: this._method}});
      return;
    }
    var state = this._render(false);
    var error = state.liveError ? {type: "validation_error", code: state.liveError.code, message: state.liveError.message} : undefined;
    this._emit("change", {elementType: "payment", empty: state.empty, complete: state.complete,
      collapsed: false, value: {type: "card"}, error: error});
  };

  // Shows every problem, as a submit does; returns Stripe's validation error or null.
  PaymentElement.prototype._validate = function () {
    if (this._method !== "card") {
      var problem = this._otherProblem();
      var box = this._panels[this._method]._error;
      box.textContent = problem ? problem.message : "";
      if (!problem) return null;
      problem.input.focus();
      return {type: "validation_error", code: problem.code, message: problem.message};
    }
    this._shown = true;
    var state = this._render(true);
    if (state.complete) return null;
    var key = state.checks.filter(function (c) { return c[1][0] !== "complete"; })[0][0];
    this._inputs[key].focus();
    return {type: "validation_error", code: state.error.code, message: state.error.message};
  };

  PaymentElement.prototype._card = function () {
    var expiry = parseExpiry(this._inputs.expiry.value);
    return {
      number: digits(this._inputs.number.value),
      exp_month: expiry.month,
      exp_year: expiry.year,
      cvc: digits(this._inputs.cvc.value),
    };
  };

  PaymentElement.prototype.focus = function () { this._inputs.number.focus(); };
  PaymentElement.prototype.blur = function () { document.activeElement && document.activeElement.blur(); };
  PaymentElement.prototype.clear = function () {
    var inputs = this._inputs;
    Object.keys(inputs).forEach(function (name) { inputs[name].value = ""; });
    this._shown = false;
    this._changed();
  };
  PaymentElement.prototype.update = function () { return this; };
  PaymentElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) this._root.parentNode.removeChild(this._root);
  };
  PaymentElement.prototype.destroy = function () { this.unmount(); this._handlers = {}; };

  function Elements(options, stripe) {
    this._stripe = stripe;
    this._options = options || {};
    this._clientSecret = this._options.clientSecret;
    this._element = null;
  }

  Elements.prototype.create = function (type, options) {
    if (type !== "payment") {
      throw integrationError("The Stripe emulator's Stripe.js offers the \"payment\" element only, not \"" + type + "\".");
    }
    if (this._element) throw integrationError("Can only create one Element of type payment.");
    this._element = new PaymentElement(options, this);
    return this._element;
  };

  Elements.prototype.getElement = function (type) { return type === "payment" ? this._element : null; };

  Elements.prototype.submit = async function () {
    if (!this._element) throw integrationError("elements.submit(): create and mount the payment Element first.");
    var error = this._element._validate();
    return error ? {error: error} : {};
  };

  Elements.prototype.update = function (options) { Object.assign(this._options, options); };
  Elements.prototype.fetchUpdates = async function () { return {}; };

  // --- 3D Secure in a modal, as Stripe.js shows it when it does not redirect ---------

  function challengeInModal(url) {
    return new Promise(function (resolve) {
      var overlay = document.createElement("div");
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", "3D Secure authentication");
      overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;" +
        "align-items:center;justify-content:center;z-index:2147483647";
      var frame = document.createElement("iframe");
      frame.title = "3D Secure authentication";
      frame.src = url;
      frame.style.cssText = "width:min(460px,95vw);height:min(480px,90vh);border:0;border-radius:8px;background:#fff";
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
      window.addEventListener("message", function listener(event) {
        if (event.origin !== API || !event.data || !event.data.stripeEmulator3ds) return;
        window.removeEventListener("message", listener);
        overlay.remove();
        resolve(event.data.stripeEmulator3ds);
      });
    });
  }

  // --- Stripe(...) ------------------------------------------------------------------

  function Stripe(publishableKey) {
    if (!(this instanceof Stripe)) return new Stripe(publishableKey);
    if (typeof publishableKey !== "string" || publishableKey.indexOf("pk_") !== 0) {
      throw integrationError("Invalid API Key: Stripe() needs a publishable key (pk_test_...).");
    }
    this._key = publishableKey;
  }

  Stripe.prototype.elements = function (options) { return new Elements(options, this); };

  Stripe.prototype._retrieve = function (clientSecret) {
    return request("GET", "/v1/payment_intents/" + intentId(clientSecret),
      {key: this._key, client_secret: clientSecret});
  };

  Stripe.prototype.retrievePaymentIntent = async function (clientSecret) {
    var result = await this._retrieve(clientSecret);
    return result.error ? {error: result.error} : {paymentIntent: result.data};
  };

  // Where a confirmation leaves the PaymentIntent, as confirmPayment and handleNextAction report it.
  // `method`: the type just confirmed; a bank's redirect always leaves the page.
  Stripe.prototype._settle = async function (paymentIntent, redirect, returnUrl, method) {
    if (paymentIntent.status === "requires_action" && paymentIntent.next_action &&
        paymentIntent.next_action.type === "redirect_to_url") {
      var url = paymentIntent.next_action.redirect_to_url.url;
      if (redirect === "always" || REDIRECT_METHODS.indexOf(method) >= 0) {
        window.location.assign(url);
        return new Promise(function () {}); // the page is leaving
      }
      await challengeInModal(url);
      var result = await this._retrieve(paymentIntent.client_secret);
      if (result.error) return {error: result.error};
      paymentIntent = result.data;
    }
    if (paymentIntent.status === "requires_payment_method" && paymentIntent.last_payment_error) {
      return {error: Object.assign({}, paymentIntent.last_payment_error, {payment_intent: paymentIntent})};
    }
    if (redirect === "always" && returnUrl) {
      window.location.assign(withQuery(returnUrl, {
        payment_intent: paymentIntent.id,
        payment_intent_client_secret: paymentIntent.client_secret,
        redirect_status: paymentIntent.status === "succeeded" ? "succeeded" : paymentIntent.status === "processing" ? "processing" : "failed",
      }));
      return new Promise(function () {});
    }
    return {paymentIntent: paymentIntent};
  };

  Stripe.prototype.confirmPayment = async function (options) {
    options = options || {};
    var elements = options.elements;
    var clientSecret = options.clientSecret || (elements && elements._clientSecret);
    var confirmParams = Object.assign({}, options.confirmParams);
    var redirect = options.redirect || "always";
    if (!elements || !elements._element) throw integrationError("stripe.confirmPayment(): pass the `elements` that hold a mounted payment Element.");
    if (redirect === "always" && !confirmParams.return_url) {
      throw integrationError("stripe.confirmPayment(): the `confirmParams.return_url` argument is required unless passing `redirect: 'if_required'`");
    }
    var invalid = elements._element._validate();
    if (invalid) return {error: invalid};
    var extraData = confirmParams.payment_method_data || {};
    delete confirmParams.payment_method_data;
    var methodData = elements._element._paymentMethodData();
    var method = methodData.type;
    if (extraData.billing_details && methodData.billing_details) {
      methodData.billing_details = Object.assign({}, extraData.billing_details, methodData.billing_details);
    }
    var params = Object.assign(confirmParams, {
      key: this._key,
      client_secret: clientSecret,
      payment_method_data: Object.assign({}, extraData, methodData),
    });
    if (method === "sepa_debit") {
      // The mandate text the element showed; Stripe takes the address and browser from the request.
      params.mandate_data = {customer_acceptance: {type: "online", online: {infer_from_client: true}}};
    }
    var result = await request("POST", "/v1/payment_intents/" + intentId(clientSecret) + "/confirm", params);
    if (result.error) return {error: result.error};
    return this._settle(result.data, redirect, confirmParams.return_url, method);
  };

  Stripe.prototype.handleNextAction = async function (options) {
    var result = await this._retrieve(options && options.clientSecret);
    if (result.error) return {error: result.error};
    return this._settle(result.data, "if_required", null);
  };

  window.Stripe = Stripe;
})();
