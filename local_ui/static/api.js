// The one way the pages talk to the gateway: JSON over fetch, CSRF header on every write.
let csrf = null;
export function setCsrf(token) { csrf = token; }

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body, headers = {}) {
  const opts = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (method !== "GET") {
    if (csrf) opts.headers["X-CSRF-Token"] = csrf;
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body ?? {});
  }
  let resp;
  try {
    resp = await fetch("/api/v1" + path, opts);
  } catch (e) {
    throw new ApiError(0, e.message || "network error");
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new ApiError(resp.status, data?.error?.message || resp.statusText);
    if (resp.status === 401 && !path.startsWith("/session")) window.dispatchEvent(new CustomEvent("pgw-logged-out"));
    throw err;
  }
  return data;
}

export const get = (path) => api("GET", path);
