// Progressive enhancement only: every page works without this file.
// Moves focus to a form's error message so that screen readers announce it at once.
document.addEventListener("DOMContentLoaded", () => {
  const error = document.querySelector("main .error");
  if (error) {
    error.setAttribute("tabindex", "-1");
    error.focus();
  }
});
