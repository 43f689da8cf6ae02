// The one way the dashboard talks to Segue: fetch with the signed-in key as a Bearer header.
// The key lives in sessionStorage (this tab only, gone when it closes); no cookie is ever set,
// so no other site can make the browser send it.

const STORAGE_NAME = 'segue.dashboard.key';

export const session = {
  key: () => sessionStorage.getItem(STORAGE_NAME),
  signIn: (key) => sessionStorage.setItem(STORAGE_NAME, key),
  signOut: () => sessionStorage.removeItem(STORAGE_NAME),
};

/** An answer Segue refused: its status and its `error`. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls Segue's JSON API (`/dashboard/api/…` or `/admin/…`) as the signed-in key. */
export async function api(path, { method = 'GET', body, key = session.key() } = {}) {
  const headers = { authorization: `Bearer ${key}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, answer.error ?? `HTTP ${response.status}`);
  return answer;
}
