/* Mailwarden for Thunderbird — the window shown at send time (popup/prompt.html), opened from the
 * background page: it asks for what to show by the token in its address and answers the same way. */

export const PROMPT_MAX_MS = 60 * 60 * 1000; // a prompt left open for an hour counts as "edit"

export class PromptWindows {
  /** `windows`: messenger.windows. */
  constructor(windows) {
    this.windows = windows;
    this.open = new Map(); // token -> {view, windowId, finish}
    windows.onRemoved.addListener((windowId) => {
      for (const prompt of this.open.values()) {
        if (prompt.windowId === windowId) {
          prompt.finish({ choice: "edit", closed: true });
        }
      }
    });
  }

  /** Open the prompt window for `view` and resolve with the sender's answer ({choice, justification}).
   *  Closing the window answers {choice: "edit"}. Rejects only when the window cannot open. */
  async ask(view) {
    const token = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    let finish;
    const answered = new Promise((resolve) => {
      finish = resolve;
    });
    const prompt = { view: { ...view, token }, windowId: null, done: false };
    prompt.finish = (answer) => {
      if (!prompt.done) {
        prompt.done = true;
        this.open.delete(token);
        finish(answer);
      }
    };
    this.open.set(token, prompt);
    try {
      const win = await this.windows.create({
        type: "popup",
        url: `popup/prompt.html?token=${encodeURIComponent(token)}`,
        width: 640,
        height: view.kind === "warn" ? 640 : 460,
        allowScriptsToClose: true,
      });
      prompt.windowId = win.id;
    } catch (e) {
      this.open.delete(token);
      throw e;
    }
    const timer = setTimeout(() => prompt.finish({ choice: "edit", timedOut: true }), PROMPT_MAX_MS);
    const answer = await answered;
    clearTimeout(timer);
    if (prompt.windowId !== null) {
      this.windows.remove(prompt.windowId).catch(() => {}); // already closed by the sender
    }
    return answer;
  }

  /** What the prompt page asks for ("mailwarden-prompt-view") and answers ("mailwarden-prompt-answer"). */
  view(token) {
    const prompt = this.open.get(token);
    return prompt ? prompt.view : null;
  }

  answer(token, choice, justification) {
    const prompt = this.open.get(token);
    if (prompt) {
      prompt.finish({ choice: String(choice || "edit"), justification: String(justification || "") });
    }
    return Boolean(prompt);
  }
}
