// The telephony admin page (电话系统配置): log in with an admin's CRM token, edit the whole
// configuration (admin_sections.js), save it on the version it was made on (PUT with
// base_version): the refused fields shown next to their inputs (422), a change stored by
// someone else meanwhile told with the current version and a reload (409); the versions
// with who, when and what, and their revert (admin_versions.js). A user who is not an admin
// gets no page (the API refuses: 无权限). The trunk legs' health is shown above, refreshed
// (trunks.js). Everything from the server is shown as text only.

import * as api from "./admin_api.js";
import { clearErrors, showErrors } from "./admin_fields.js";
import { SECTIONS, outgoing } from "./admin_sections.js";
import { clearVersions, drawVersions } from "./admin_versions.js";
import { restoreLogin, showDesk } from "./desk.js";
import { $, el, setText } from "./dom.js";
import { watchTrunks } from "./trunks.js";

const SESSION_KEY = "hotline.admin.login";
const state = { token: null, version: null, document: null, authors: new Map(), stopTrunks: () => {} };

function say(text, kind = "") {
  const node = $("save-message");
  node.className = `message${kind ? ` ${kind}` : ""}`;
  setText(node, text);
}

function draw(name) {
  const body = $(`section-${name}`);
  body.replaceChildren(...SECTIONS[name](state.document, draw));
}

function show(detail) {
  state.version = detail.version;
  state.document = structuredClone(detail.document);
  setText($("current-version"), `第 ${detail.version} 版`);
  $("conflict").hidden = true;
  for (const name of Object.keys(SECTIONS)) draw(name);
}

async function loadVersions() {
  try {
    const [list, users] = await Promise.all([api.versions(state.token), api.users(state.token)]);
    state.authors = new Map(users.items.map((user) => [user.id, user.name]));
    drawVersions(list.items, state.version, state.authors, revert);
    setText($("versions-message"), "");
  } catch (exc) {
    setText($("versions-message"), `版本列表加载失败：${exc.message}`);
  }
}

function refused(exc) {
  if (exc.status === 401) {
    logout();
    setText($("login-error"), "令牌无效或已停用，请重新登录");
  } else if (exc.status === 403) {
    forbidden();
  } else if (exc.status === 409) {
    setText($("conflict-text"), `配置已被他人修改：当前为第 ${exc.currentVersion} 版（您基于第 ${state.version} 版修改），您的修改未保存。请重新加载最新版本后再修改。`);
    $("conflict").hidden = false;
    say("未保存：配置已被他人修改", "error");
  } else if (exc.status === 422) {
    const root = $("desk");
    const unplaced = showErrors(root, exc.errors);
    const list = $("errors-list");
    list.replaceChildren(...unplaced.map((e) => el("li", {}, e.field ? `${e.field}：${e.message}` : e.message)));
    say(`配置有 ${exc.errors.length} 处错误，未保存（见各字段旁的提示）`, "error");
  } else {
    say(`操作失败：${exc.message}`, "error");
  }
}

function beginAction() {
  clearErrors($("desk"));
  $("errors-list").replaceChildren();
  say("");
}

async function save() {
  beginAction();
  $("save").disabled = true;
  try {
    const applied = await api.save(state.token, state.version, outgoing(state.document));
    show(applied);
    say(applied.changed ? `已保存为第 ${applied.version} 版：${applied.summary}` : "没有修改，未生成新版本", "ok");
    await loadVersions();
  } catch (exc) {
    refused(exc);
  } finally {
    $("save").disabled = false;
  }
}

async function revert(version) {
  beginAction();
  try {
    const applied = await api.revert(state.token, state.version, version);
    show(applied);
    say(applied.changed ? `已回滚：保存为第 ${applied.version} 版（${applied.summary}）` : `第 ${version} 版与当前配置相同，未生成新版本`, "ok");
  } catch (exc) {
    refused(exc);
  }
  await loadVersions();
}

async function reload() {
  beginAction();
  try {
    show(await api.current(state.token));
    await loadVersions();
    say(`已加载第 ${state.version} 版`, "ok");
  } catch (exc) {
    refused(exc);
  }
}

function forbidden() {
  sessionStorage.removeItem(SESSION_KEY);
  showDesk(false);
  $("login-form").hidden = true;
  $("forbidden").hidden = false;
  $("logout-page").hidden = false;
}

async function login(token) {
  setText($("login-error"), "");
  $("forbidden").hidden = true;
  $("login-submit").disabled = true;
  state.token = token;
  try {
    const detail = await api.current(token);
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token }));
    showDesk(true);
    show(detail);
    state.stopTrunks();
    state.stopTrunks = watchTrunks(token, $("trunks-body"), $("trunks-note"));
    await loadVersions();
  } catch (exc) {
    if (exc.status === 403) forbidden();
    else {
      sessionStorage.removeItem(SESSION_KEY);
      setText($("login-error"), `登录失败：${exc.status === 401 ? "令牌无效或已停用" : exc.message}`);
    }
  } finally {
    $("login-submit").disabled = false;
  }
}

function logout() {
  sessionStorage.removeItem(SESSION_KEY);
  state.stopTrunks();
  $("trunks-body").replaceChildren();
  Object.assign(state, { token: null, version: null, document: null });
  showDesk(false);
  $("forbidden").hidden = true;
  clearVersions();
  say("");
}

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("login-token").value.trim());
  });
  $("logout-page").addEventListener("click", logout);
  $("save").addEventListener("click", save);
  $("reload").addEventListener("click", reload);
  $("conflict-reload").addEventListener("click", reload);
  restoreLogin(SESSION_KEY, ({ token }) => {
    if (token) login(token);
  });
}

wire();
