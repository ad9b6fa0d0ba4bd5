// The login/desk switch and the connection status, the same on the agent and supervisor
// pages: log in from the form, keep the login for a reload, log out.
//
// The rest of what the pages share: labels.js (the Chinese labels), dom.js (text-only DOM
// helpers and formatting, with the pages' safety rule), connection.js (the gateway
// connection).

import { DeskConnection, TicketError } from "./connection.js";
import { $, setText } from "./dom.js";
import { STATUS_LABELS } from "./labels.js";

export function showDesk(visible) {
  $("login-form").hidden = visible;
  $("desk").hidden = !visible;
  $("logout-page").hidden = !visible;
}

/** The connection-status handler of a page whose saved login is kept under `sessionKey`. */
export function statusShower(sessionKey, afterEach = () => {}) {
  return (status, detail) => {
    const node = $("conn");
    node.dataset.status = status;
    setText(node, STATUS_LABELS[status] || status);
    setText($("conn-detail"), detail || "");
    if (status === "failed") {
      sessionStorage.removeItem(sessionKey);
      showDesk(false);
      setText($("login-error"), `登录已失效：${detail}`);
    }
    afterEach();
  };
}

/** Log in from the page's form: open the connection, keep `saved` for a reload, show the
 *  desk. Returns the connection, or null with the reason shown under the form. */
export async function startDesk(sessionKey, options, saved, explain = explainLogin) {
  setText($("login-error"), "");
  $("login-submit").disabled = true;
  const connection = new DeskConnection(options);
  try {
    await connection.start();
  } catch (exc) {
    setText($("login-error"), `登录失败：${explain(exc)}`);
    options.onStatus("idle", "");
    sessionStorage.removeItem(sessionKey);
    return null;
  } finally {
    $("login-submit").disabled = false;
  }
  sessionStorage.setItem(sessionKey, JSON.stringify(saved));
  showDesk(true);
  return connection;
}

export function explainLogin(exc) {
  return exc instanceof TicketError ? exc.message : String(exc);
}

/** Log out of the page: close the connection, forget the saved login, show the form. */
export function endDesk(connection, sessionKey) {
  if (connection) connection.stop();
  sessionStorage.removeItem(sessionKey);
  showDesk(false);
  setText($("who"), "");
}

/** After a reload: log in again with the login saved under `sessionKey`, if readable. */
export function restoreLogin(sessionKey, resume) {
  const saved = sessionStorage.getItem(sessionKey);
  if (!saved) return;
  try {
    resume(JSON.parse(saved));
  } catch {
    sessionStorage.removeItem(sessionKey);
  }
}
