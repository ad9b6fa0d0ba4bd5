// The admin page's calls to the telephony configuration API (/api/admin/telephony, admins
// only) with the page's bearer token. A refusal is an AdminApiError carrying what the page
// shows: the HTTP status, the error code, the fields refused (422: error.errors) and the
// current version (409: error.current_version).

export class AdminApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "";
    this.errors = Array.isArray(error.errors) ? error.errors : [];
    this.currentVersion = error.current_version ?? null;
  }
}

export const ROOT = "/api/admin/telephony";

export async function call(token, method, url, body = undefined) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (exc) {
    throw new AdminApiError(0, { code: "network", message: `无法连接服务器：${exc}` });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new AdminApiError(response.status, (data && data.error) || {});
  return data;
}

export const current = (token) => call(token, "GET", ROOT);
export const versions = (token) => call(token, "GET", `${ROOT}/versions?limit=50`);
export const save = (token, baseVersion, document) =>
  call(token, "PUT", ROOT, { base_version: baseVersion, document });
export const revert = (token, baseVersion, version) =>
  call(token, "POST", `${ROOT}/versions/${encodeURIComponent(version)}/revert`, { base_version: baseVersion });
export const users = (token) => call(token, "GET", "/api/users");
