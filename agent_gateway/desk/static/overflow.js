// The overflow seats' switches (`overflow` messages on the supervisors' topic): the last one
// of each queue, as the backend words it (溢出席位启用（hotline）：排队 3 人，达到启用阈值 3 人),
// with its time, in the wall's #wall-overflow list. Text only (dom.js).

import { $, el, formatClock } from "./dom.js";

const last = new Map(); // queue → its last switch

export function receiveOverflow(message) {
  last.set(message.queue, message);
  const box = $("wall-overflow");
  box.replaceChildren(
    ...[...last.values()].map((m) =>
      el("li", { class: m.on ? "overflow-on" : "overflow-off", "data-queue": m.queue },
        `${formatClock(m.at)} ${m.text}`),
    ),
  );
}

export function clearOverflow() {
  last.clear();
  $("wall-overflow").replaceChildren();
}
