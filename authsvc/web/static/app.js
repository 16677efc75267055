// Small progressive enhancements. Every page works without this file: it
// only adds what needs script, and the Content-Security-Policy allows no
// other script (no inline code, no handlers in attributes).
"use strict";

// A Copy button beside a secret shown once (the element with id="token").
// The clipboard API exists only in secure contexts (https, localhost), so
// elsewhere the button is not offered and the secret is selected by hand.
(function addCopyButton() {
  const token = document.getElementById("token");
  if (!token || !navigator.clipboard) return;

  const button = document.createElement("button");
  button.type = "button";
  button.className = "button copy-button";
  button.textContent = "Copy";
  const status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");

  let reset = 0;
  button.addEventListener("click", async () => {
    let said;
    try {
      await navigator.clipboard.writeText(token.textContent.trim());
      said = "Copied";
    } catch (e) {
      said = "Copy failed: select it and copy";
    }
    button.textContent = said;
    status.textContent = said;
    clearTimeout(reset);
    reset = setTimeout(() => {
      button.textContent = "Copy";
    }, 2000);
  });
  token.after(button, status);
})();
