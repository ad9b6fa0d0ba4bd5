// Call recordings on the desktops. A call's recordings are listed with the page's bearer
// token; a part plays in an <audio controls> whose src is a short-lived signed link
// (POST /api/recordings/{id}/link), since an <audio> element cannot send the token. The link
// is asked for only when someone presses 播放 (every link is on the access trail); one that
// expires while listening is renewed once and playback resumes where it stood.
// Everything from the server is shown as text only (see dom.js).

import { el, formatSeconds, setText } from "./dom.js";
import { label } from "./labels.js";

const STATUS_LABELS = {
  pending: "待校验",
  attached: "已校验",
  missing: "文件缺失",
  truncated: "文件不完整",
  altered: "校验不符（已报告）",
  removed: "已按保留期限删除",
};
const PLAYABLE = new Set(["attached", "altered", "truncated"]);
const ERROR_LABELS = {
  unauthenticated: "令牌无效或已停用",
  recording_forbidden: "无权收听该通话的录音（坐席只能收听本人接听的通话）",
  recording_not_found: "录音不存在",
  recording_not_checked: "录音尚未完成校验，请稍后再试",
  recording_removed: "录音已按保留期限删除",
  recording_missing: "录音文件缺失",
  recording_file_missing: "录音文件缺失（已记录）",
  recordings_not_served: "本服务器未配置录音目录",
  invalid_value: "通话编号格式不正确",
};

async function request(method, url, token) {
  let response;
  try {
    response = await fetch(url, { method, headers: { Authorization: `Bearer ${token}` } });
  } catch (exc) {
    throw new Error(`无法连接服务器：${exc}`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new Error(ERROR_LABELS[error.code] || error.message || `HTTP ${response.status}`);
  }
  return data;
}

export class RecordingsView {
  // list: where the parts go; message: a status line; token: () => the page's bearer token
  constructor(list, message, token) {
    this.list = list;
    this.message = message;
    this.token = token;
    this.linkedid = null;
  }

  say(text, isError = false) {
    this.message.className = `message${isError ? " error" : ""}`;
    setText(this.message, text);
  }

  clear() {
    this.linkedid = null;
    for (const audio of this.list.querySelectorAll("audio")) audio.pause();
    this.list.replaceChildren();
    this.say("");
  }

  async show(linkedid) {
    this.clear();
    const call = String(linkedid || "").trim();
    if (!call) return;
    this.linkedid = call;
    this.say(`正在查找通话 ${call} 的录音…`);
    let data;
    try {
      data = await request("GET", `/api/recordings?linkedid=${encodeURIComponent(call)}`, this.token());
    } catch (exc) {
      if (this.linkedid === call) this.say(`无法查找录音：${exc.message}`, true);
      return;
    }
    if (this.linkedid !== call) return; // another call was asked for meanwhile
    const items = data.items || [];
    this.say(items.length ? `通话 ${call} 共 ${items.length} 段录音` : `通话 ${call} 暂无录音`);
    for (const item of items) this.list.append(this.row(item));
  }

  row(item) {
    const id = String(item.id);
    const audio = el("audio", { controls: "", preload: "metadata", className: "recording-audio" });
    audio.hidden = true;
    const play = el("button", { type: "button", className: "recording-play" }, "播放");
    play.disabled = !PLAYABLE.has(item.status);
    play.addEventListener("click", () => this.play(item.id, audio, play));
    audio.addEventListener("error", () => this.renew(item.id, audio));
    audio.addEventListener("canplay", () => delete audio.dataset.renewed);
    return el(
      "div",
      { className: "recording", dataset: { recordingId: id, status: String(item.status) } },
      el("span", { className: "recording-part" }, `第 ${item.part} 段`),
      el("span", { className: "muted" }, formatSeconds(item.duration_s)),
      el("span", { className: "badge" }, label(STATUS_LABELS, item.status)),
      play,
      audio,
    );
  }

  async link(id) {
    const link = await request("POST", `/api/recordings/${id}/link`, this.token());
    return String(link.url);
  }

  async play(id, audio, button) {
    button.disabled = true;
    try {
      audio.src = await this.link(id);
      audio.hidden = false;
      await audio.play().catch(() => {}); // a browser may want a click on the controls
    } catch (exc) {
      this.say(`无法播放：${exc.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  // The link expired (or the server refused it) while listening: one new link, resumed where
  // playback stood; a second failure before it plays again is reported, not retried.
  async renew(id, audio) {
    if (!audio.getAttribute("src") || audio.dataset.renewed) {
      this.say("录音播放失败，请重新点击播放", true);
      return;
    }
    audio.dataset.renewed = "1";
    const at = audio.currentTime;
    const playing = !audio.paused;
    try {
      const url = await this.link(id);
      audio.addEventListener("loadedmetadata", () => {
        audio.currentTime = at;
        if (playing) audio.play().catch(() => {});
      }, { once: true });
      audio.src = url;
    } catch (exc) {
      this.say(`录音播放中断：${exc.message}`, true);
    }
  }
}
