// Stripe Elements checkout: the card form is Stripe's own; on success Stripe sends the traveller to
// return_url, and our webhook confirms the booking.
(function () {
  const form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.publishableKey);
  // Stripe's card form and its messages in the page's language (Stripe writes each of ours), not the browser's.
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret, locale: document.documentElement.lang });
  elements.create("payment").mount("#payment-element");
  const message = document.getElementById("payment-message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    const { error } = await stripe.confirmPayment({ elements, confirmParams: { return_url: form.dataset.returnUrl } });
    if (error) {
      message.textContent = error.message;
      message.hidden = false;
      form.querySelector("button").disabled = false;
    }
  });
})();
