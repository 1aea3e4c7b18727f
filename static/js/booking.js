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
