/* Mailwarden for Thunderbird — the connection to the local companion (native messaging).
 *
 * One long-lived port to the native host "mailwarden" keeps one companion process (its policy
 * engine stays loaded). Each request carries an id; its answer repeats it. A request that gets no
 * answer within its time limit is rejected and the port is dropped (a stalled companion is
 * replaced by a fresh one on the next request). A dead port is reconnected on the next request.
 */
"use strict";

class MwHostError extends Error {
  constructor(message, { timedOut = false } = {}) {
    super(message);
    this.name = "MwHostError";
    this.timedOut = timedOut; // no answer in time (as opposed to no companion at all)
  }
}

class MwHostClient {
  constructor(name) {
    this.name = name;
    this.port = null;
    this.pending = new Map(); // id -> {port, resolve, reject, timer}
    this.counter = 0;
  }

  _connect() {
    if (this.port) {
      return this.port;
    }
    const port = messenger.runtime.connectNative(this.name);
    port.onMessage.addListener((message) => this._onMessage(message));
    port.onDisconnect.addListener((p) => {
      const reason = (p && p.error && p.error.message) || "the Mailwarden companion closed the connection";
      this._forget(port, reason);
    });
    this.port = port;
    return port;
  }

  _onMessage(message) {
    if (!message || typeof message !== "object" || !this.pending.has(message.id)) {
      return; // an answer that came too late, or noise
    }
    const entry = this.pending.get(message.id);
    this.pending.delete(message.id);
    clearTimeout(entry.timer);
    entry.resolve(message);
  }

  /** Reject every request still waiting on `port` and stop using it. */
  _forget(port, reason) {
    if (this.port === port) {
      this.port = null;
    }
    for (const [id, entry] of this.pending) {
      if (entry.port === port) {
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.reject(new MwHostError(reason));
      }
    }
  }

  /** Drop the port (the host process is ended by Thunderbird). */
  drop(reason) {
    const port = this.port;
    if (!port) {
      return;
    }
    this._forget(port, reason);
    try {
      port.disconnect();
    } catch (e) {
      // already gone
    }
  }

  /** Send `message` (an id is added) and resolve with the answer; rejects with MwHostError. */
  request(message, timeoutMs) {
    const id = `${message.type || "m"}-${Date.now().toString(36)}-${++this.counter}`;
    return new Promise((resolve, reject) => {
      let port;
      try {
        port = this._connect();
      } catch (e) {
        reject(new MwHostError(`the Mailwarden companion cannot be started: ${e && e.message ? e.message : e}`));
        return;
      }
      const timer = setTimeout(() => {
        if (this.pending.has(id)) {
          this.pending.delete(id);
          reject(new MwHostError(`the Mailwarden companion did not answer within ${timeoutMs} ms`, { timedOut: true }));
          if (this.port === port) {
            this.drop("the Mailwarden companion stalled");
          }
        }
      }, timeoutMs);
      this.pending.set(id, { port, resolve, reject, timer });
      try {
        port.postMessage({ ...message, id });
      } catch (e) {
        this.pending.delete(id);
        clearTimeout(timer);
        this._forget(port, "the connection to the Mailwarden companion is closed");
        reject(new MwHostError(`cannot reach the Mailwarden companion: ${e && e.message ? e.message : e}`));
      }
    });
  }
}
