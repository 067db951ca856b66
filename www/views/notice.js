// The notice bar: one message at a time, "error" or "info", closed by its button.
import { $ } from "./dom.js";

export function mountNotice() {
  const box = $("notice");
  const text = $("notice-text");
  const hide = () => {
    box.hidden = true;
  };
  $("notice-close").addEventListener("click", hide);
  return {
    show(message, kind = "error") {
      box.hidden = false;
      box.dataset.kind = kind;
      text.textContent = message;
    },
    hide,
  };
}
