// The label page's print button; a script file because the pages' CSP allows no inline handlers.
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("print-label");
  if (button) {
    button.addEventListener("click", () => window.print());
  }
});
