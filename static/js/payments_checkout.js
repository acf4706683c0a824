/* Card checkout: Stripe.js Card Element -> confirmCardSetup (SetupIntent made by our server)
 * -> POST the payment method id to our server, which creates and confirms the PaymentIntent
 * -> confirmCardPayment when the bank asks for 3-D Secure -> the receipt page, which asks the
 * server (which asks Stripe) for the true state. Data comes from data- attributes. */
(function () {
  "use strict";
  const root = document.getElementById("card-checkout");
  if (!root) return;
  const form = root.querySelector("[data-role=card-form]");
  const button = root.querySelector("[data-role=pay-button]");
  const message = root.querySelector("[data-role=message]");

  function say(text, isError) {
    message.textContent = text || "";
    message.className = isError ? "text-danger" : "";
  }

  if (typeof window.Stripe !== "function") {
    say(root.dataset.msgUnavailable, true);
    button.disabled = true;
    return;
  }

  const stripe = window.Stripe(root.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount(root.querySelector("[data-role=card-element]"));
  const csrf = form.querySelector("input[name=csrf_token]").value;

  async function post(url, fields) {
    const body = new FormData();
    body.append("csrf_token", csrf);
    Object.keys(fields).forEach((key) => body.append(key, fields[key]));
    const response = await fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    });
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      data = {};
    }
    if (!response.ok) throw new Error(data.error || root.dataset.msgError);
    return data;
  }

  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return; // a double click sends one payment (the server also guards it)
    busy = true;
    button.disabled = true;
    say(root.dataset.msgWorking, false);
    try {
      const setup = await post(root.dataset.setupUrl, {});
      const confirmed = await stripe.confirmCardSetup(setup.client_secret, {
        payment_method: { card: card },
      });
      if (confirmed.error) throw new Error(confirmed.error.message || root.dataset.msgError);
      const paymentMethod = confirmed.setupIntent.payment_method;
      const result = await post(root.dataset.payUrl, {
        payment_method: typeof paymentMethod === "string" ? paymentMethod : paymentMethod.id,
      });
      if (result.status === "failed") throw new Error(result.error || root.dataset.msgError);
      if (result.status === "requires_action" && result.client_secret) {
        // Whatever the outcome, the receipt page asks the server for the true state.
        await stripe.confirmCardPayment(result.client_secret);
      }
      window.location.assign(result.receipt_url);
    } catch (err) {
      say(err && err.message ? err.message : root.dataset.msgError, true);
      busy = false;
      button.disabled = false;
    }
  });
})();
