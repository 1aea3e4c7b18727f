// Shows only the fields that apply: the return date on return trips, the next legs on a trip of several legs, the
// vehicle's size when there is a vehicle.
// Hidden fields are disabled too, so they are not sent. The form works the same without this script.
document.querySelectorAll(".search-form").forEach((form) => {
  const date = form.elements.date;
  const returnDate = form.elements.return_date;
  const today = returnDate.min;
  const toggle = (name, off) => {
    const field = form.querySelector(`.field--${name}`);
    const keep = field.classList.contains("field--invalid"); // an error stays in sight
    field.hidden = off && !keep;
    form.elements[name].disabled = off && !keep;
  };
  const update = () => {
    const trip = form.elements.trip.value;
    toggle("return_date", trip !== "return");
    const openJaw = form.querySelector(".search-open-jaw");
    if (openJaw) {
      openJaw.hidden = trip !== "return";
      for (const name of ["return_from", "return_to"]) form.elements[name].disabled = openJaw.hidden;
    }
    const legs = form.querySelector("[data-several-legs]");
    if (legs) {
      const invalid = legs.querySelector(".field--invalid"); // an error stays in sight
      legs.hidden = trip !== "legs" && !invalid;
      legs.querySelectorAll("select, input").forEach((input) => { input.disabled = legs.hidden; });
    }
    toggle("vehicle_length_cm", !form.elements.vehicle.value);
    toggle("vehicle_height_cm", !form.elements.vehicle.value);
    returnDate.min = date.value || today;
  };
  form.addEventListener("change", update);
  update();
});

// On a narrow screen the fare strip scrolls sideways: bring the day shown to its middle.
document.querySelectorAll(".fare-strip-days").forEach((days) => {
  const chosen = days.querySelector("[aria-current=date]");
  if (chosen && days.scrollWidth > days.clientWidth) {
    const item = chosen.parentElement;
    const left = item.getBoundingClientRect().left - days.getBoundingClientRect().left + days.scrollLeft;
    days.scrollLeft = left - (days.clientWidth - item.clientWidth) / 2;
  }
});
