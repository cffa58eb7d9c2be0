// Mark the menu link of the current category. Done in the browser because the menu is the same
// for every page, so the server can cache it as one fragment (the talk's "use Ajax" advice).
document.addEventListener("DOMContentLoaded", () => {
  const here = window.location.pathname + window.location.search;
  for (const link of document.querySelectorAll(".menu a")) {
    const target = new URL(link.href, window.location.href);
    if (target.pathname + target.search === here) {
      link.setAttribute("aria-current", "page");
    }
  }
});
