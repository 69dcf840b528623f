/**
 * The API token: asked for once, kept in this tab's sessionStorage (gone when the tab closes),
 * never put in a URL. `askForToken()` shows the modal dialog; concurrent callers (several
 * requests answered 401 at once) share one dialog.
 */

const STORAGE_KEY = "edge-redis-functions.console.token";

/** @returns {string | null} */
export const getToken = () => sessionStorage.getItem(STORAGE_KEY);

/** Forgets the token (a 401, or "Forget token"). */
export const clearToken = () => sessionStorage.removeItem(STORAGE_KEY);

/** @type {Promise<string> | null} */
let pending = null;

/**
 * Shows the token dialog (with `message` as an error, if given) and resolves with the token
 * once one is entered; it is stored before the promise resolves.
 * @param {string} [message]
 * @returns {Promise<string>}
 */
export function askForToken(message) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("token-dialog"));
  const form = /** @type {HTMLFormElement} */ (document.getElementById("token-form"));
  const input = /** @type {HTMLInputElement} */ (document.getElementById("token-input"));
  const error = /** @type {HTMLElement} */ (document.getElementById("token-error"));
  error.hidden = !message;
  error.textContent = message ?? "";
  if (pending) return pending;

  pending = new Promise((resolve) => {
    /** @param {Event} event */
    const onCancel = (event) => event.preventDefault(); // Escape: the console is useless without a token
    /** @param {SubmitEvent} event */
    const onSubmit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      sessionStorage.setItem(STORAGE_KEY, token);
      input.value = "";
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      pending = null;
      resolve(token);
    };
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("cancel", onCancel);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
  return pending;
}
