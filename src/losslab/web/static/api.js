// Requests to the JSON API: api() for one answer, latest()/cancel() for channels where the newest request wins.

export class ApiError extends Error {
  constructor(body, status) { super(body.error || `HTTP ${status}`); this.body = body; this.status = status; }
}

export const post = (body, signal) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });

export async function api(path, body, signal) {
  const response = await fetch(path, body === undefined ? { signal } : post(body, signal));
  const json = await response.json();
  if (!response.ok) throw new ApiError(json, response.status);
  return json;
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
