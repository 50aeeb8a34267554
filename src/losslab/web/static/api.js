// Requests to the JSON API: api() for one answer, latest()/cancel() for channels where the newest request wins.

export class ApiError extends Error {
  constructor(body, status) { super(body.error || `HTTP ${status}`); this.body = body; this.status = status; }
}

export const post = (body, signal) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });

// What the page is waiting for: requests in flight and debounced work (later()). The page is idle when
// both are none; the browser tests wait for that before they compare what is shown with what was computed.
const inFlight = new Set();
const timers = new Map();
export const busy = () => inFlight.size > 0 || timers.size > 0;
export const pending = () => ({ requests: [...inFlight].map((r) => r.path), waiting: [...timers.keys()] });

export async function api(path, body, signal) {
  const request = { path };
  inFlight.add(request);
  try {
    const response = await fetch(path, body === undefined ? { signal } : post(body, signal));
    const json = await response.json();
    if (!response.ok) throw new ApiError(json, response.status);
    return json;
  } finally {
    inFlight.delete(request);
  }
}

// Debounced work by name: a newer call for the same name replaces the one waiting.
export function later(name, work, ms) {
  clearTimeout(timers.get(name));
  timers.set(name, setTimeout(() => { timers.delete(name); work(); }, ms));
}
export function dropLater(name) {
  clearTimeout(timers.get(name));
  timers.delete(name);
}

// The newest request on a channel ("race", "surface", …) wins: starting one aborts the one before
// (the server then stops that work), and an answer that arrives after a newer request started is
// dropped by its number. Both end in a StaleAnswer, which callers ignore.
class StaleAnswer extends Error { constructor() { super("superseded by a newer request"); this.name = "AbortError"; } }
export const isStale = (error) => error instanceof Error && error.name === "AbortError";
const channels = {};
let requestCount = 0;

export async function latest(channel, path, body) {
  const mine = { id: ++requestCount, controller: new AbortController() };
  if (channels[channel]) channels[channel].controller.abort();
  channels[channel] = mine;
  try {
    const answer = await api(path, body, mine.controller.signal);
    if (channels[channel].id !== mine.id) throw new StaleAnswer();
    return answer;
  } catch (error) {
    throw channels[channel].id !== mine.id ? new StaleAnswer() : error;
  }
}

export function cancel(channel) {
  if (channels[channel]) channels[channel].controller.abort();
  channels[channel] = { id: ++requestCount, controller: new AbortController() };
}
