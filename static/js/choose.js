// Return trips: the bar under the results names the outbound and return sailings chosen and what both cost
// together, and lets the traveller continue once both are chosen. Without this script the same form still
// works: the browser asks for both choices and the server answers the rest.
document.querySelectorAll("[data-choice-bar]").forEach((bar) => {
  const form = bar.closest("form");
  const button = bar.querySelector("button");
  const total = bar.querySelector("[data-total]");
  const legs = [...bar.querySelectorAll("[data-pick]")];
  // Written as the server writes prices in the page's language (kernel.l10n: the CLDR's patterns): €1,234.50 in
  // English (British), 1 234,50 € in French; Latin digits in Arabic.
  const lang = document.documentElement.lang;
  const locale = lang === "en" ? "en-GB" : `${lang}-u-nu-latn`;
  const money = (minor, currency) => {
    const format = new Intl.NumberFormat(locale, { style: "currency", currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  };
  // Each outbound names the returns that can follow it (the server's rule, in data-followed-by); the others are
  // greyed out and let go if they were chosen. Without this script the server refuses such a pair when sent.
  const follow = () => {
    const outbound = form.querySelector('input[name="outbound"]:checked');
    const followers = outbound && new Set(outbound.dataset.followedBy.split(" ").filter(Boolean));
    form.querySelectorAll('input[name="return"]').forEach((pick) => {
      const blocked = Boolean(followers) && !followers.has(pick.dataset.sailing);
      const card = pick.closest(".sailing-card");
      pick.disabled = blocked;
      if (blocked) pick.checked = false;
      card.classList.toggle("sailing-card--cannot-follow", blocked);
      card.querySelector("[data-follow-note]").hidden = !blocked;
    });
  };
  const update = () => {
    follow();
    const picks = legs.map((leg) => form.querySelector(`input[name="${leg.dataset.pick}"]:checked`));
    legs.forEach((leg, i) => { leg.textContent = picks[i] ? picks[i].dataset.summary : leg.dataset.none; });
    const complete = picks.every(Boolean);
    const currencies = new Set(picks.filter(Boolean).map((pick) => pick.dataset.currency));
    bar.querySelector("[data-choice-hint]").hidden = picks.some(Boolean);
    bar.querySelector("[data-choice-picks]").hidden = !picks.some(Boolean);
    bar.querySelector("[data-choice-total]").hidden = !complete || currencies.size !== 1;
    if (complete && currencies.size === 1) {
      const sum = picks.reduce((acc, pick) => acc + Number(pick.dataset.amount), 0);
      total.textContent = money(sum, picks[0].dataset.currency);
    }
    button.disabled = !complete;
  };
  form.addEventListener("change", update);
  update();
});
