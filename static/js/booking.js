// The booking pages work without this script; it only adds what a page cannot do by itself.

// The hold countdown: counts down from the seconds the server gave, so the browser's clock does not matter.
document.querySelectorAll("[data-hold-seconds]").forEach((countdown) => {
  const deadline = Date.now() + Number(countdown.dataset.holdSeconds) * 1000;
  const tick = () => {
    const seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    if (seconds === 0) {
      countdown.textContent = countdown.dataset.overText;
      countdown.classList.add("countdown--over");
      return;
    }
    countdown.textContent = seconds < 60
      ? countdown.dataset.lastMinuteText
      : countdown.dataset.minutesText.replace("__N__", Math.ceil(seconds / 60));
    countdown.classList.toggle("countdown--urgent", seconds < 300);
    setTimeout(tick, 1000);
  };
  tick();
});

// Holding places takes a moment: one click is enough, a second one would ask again.
document.querySelectorAll("form.booking-form").forEach((form) => {
  form.addEventListener("submit", () => {
    const button = form.querySelector("button[type=submit]");
    setTimeout(() => {
      button.disabled = true;
      button.textContent = button.dataset.busyText;
    });
  });
});

// Saved travellers and vehicles (signed in): one click fills a passenger's or the vehicle's fields, and says when a
// document expires before the trip is over. The page lists them as buttons, hidden until this script runs.
const saved = document.getElementById("saved-details");
if (saved) {
  const details = JSON.parse(saved.textContent);
  document.querySelectorAll("[data-saved-for]").forEach((choices) => {
    choices.hidden = false;
    const prefix = choices.dataset.savedFor;
    const warning = choices.querySelector(".saved-warning");
    choices.querySelectorAll("[data-saved]").forEach((button) => {
      button.addEventListener("click", () => {
        const values = details[button.dataset.saved];
        Object.entries(values).forEach(([name, value]) => {
          const field = document.getElementById(`id_${prefix}${name}`);
          if (field) {
            field.value = value;
            field.dispatchEvent(new Event("change", { bubbles: true }));
          }
        });
        choices.querySelectorAll("[data-saved]").forEach((other) => other.setAttribute("aria-pressed", other === button));
        if (warning) {
          warning.textContent = values.warning || "";
          warning.hidden = !values.warning;
        }
      });
    });
  });
}
