// Small fakes of the MailExtension APIs the background modules use (node has no Thunderbird).

/** messenger.runtime with a native port whose other end `companion(message, port)` plays. */
export function fakeRuntime(companion) {
  const runtime = { ports: [], refuse: null };
  runtime.connectNative = (name) => {
    if (runtime.refuse) {
      throw new Error(runtime.refuse);
    }
    const listeners = { message: [], disconnect: [] };
    const port = {
      name,
      sent: [],
      disconnected: false,
      onMessage: { addListener: (f) => listeners.message.push(f) },
      onDisconnect: { addListener: (f) => listeners.disconnect.push(f) },
      postMessage(message) {
        port.sent.push(message);
        Promise.resolve().then(() => companion(message, port));
      },
      disconnect() {
        port.disconnected = true;
      },
      answer(message) {
        listeners.message.forEach((f) => f(message));
      },
      die(error) {
        listeners.disconnect.forEach((f) => f({ error: error ? { message: error } : null }));
      },
    };
    runtime.ports.push(port);
    return port;
  };
  return runtime;
}

/** storage.local (and .managed) in memory. */
export function fakeStorageArea(initial = {}) {
  const data = { ...initial };
  return {
    data,
    async get(keys) {
      const wanted = typeof keys === "string" ? [keys] : Array.isArray(keys) ? keys : Object.keys(data);
      return Object.fromEntries(wanted.filter((k) => k in data).map((k) => [k, structuredClone(data[k])]));
    },
    async set(values) {
      Object.assign(data, structuredClone(values));
    },
  };
}

export const HELLO = Object.freeze({
  type: "hello",
  version: "0.1.0",
  protocol: 2,
  policy_version: "2026.11.1",
  policy_error: null,
  attachments: {
    extract: [".csv", ".docx", ".pdf", ".txt"],
    extract_max: 1000,
    extract_total_max: 1500,
    as_text: [".json", ".xml"],
    as_text_max: 100,
  },
  fail_modes: ["ask", "open", "closed"],
  choices: ["sent", "edited", "added_approver", "justified", "blocked", "unchecked_sent", "unchecked_cancelled"],
});
