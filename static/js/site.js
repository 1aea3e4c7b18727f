// On every page. The language switch changes the page's language as soon as one is chosen; without this script
// the form shows a button instead.
document.querySelectorAll("form.language select").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
