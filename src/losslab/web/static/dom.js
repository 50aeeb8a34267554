// The page's elements by id, and its status line: messages and errors for the user.
import { isStale } from "./api.js";

export const $ = (id) => document.getElementById(id);

export function say(message, isError = false) {
  const el = $("status");
  el.textContent = message;
  el.className = isError ? "error" : "";
}

// A failed request's message on the status line; an answer superseded by a newer request is not an error.
export function report(error) {
  if (!isStale(error)) say(error.message, true);
  return null;
}
