/* Mailwarden for Thunderbird — the connection to the local companion (native messaging).
 *
 * One long-lived port to the native host keeps one companion process (its policy engine stays
 * loaded). Each request carries an id; its answer repeats it. A request that gets no answer within
 * its time limit is rejected and the port is dropped (a stalled companion is replaced by a fresh one
 * on the next request). A dead port is reconnected on the next request.
 *
 * The companion's hello answer (what it reads of attachments, the fail modes, the choices) is asked
 * once per port: a new companion may be a new version.
 */

export class HostError extends Error {
  constructor(message, { timedOut = false } = {}) {
    super(message);
    this.name = "HostError";
    this.timedOut = timedOut; // no answer in time (as opposed to no companion at all)
  }
}

function reasonOf(e) {
  return e && e.message ? e.message : String(e);
}

export class HostClient {
  /** `runtime` is messenger.runtime (tests give a fake with connectNative). */
  constructor(name, runtime) {
    this.name = name;
    this.runtime = runtime;
    this.port = null;
    this.pending = new Map(); // id -> {port, resolve, reject, timer}
    this.counter = 0;
    this.helloAnswer = null; // the hello of the companion on this.port
  }

  _connect() {
    if (this.port) {
      return this.port;
    }
    const port = this.runtime.connectNative(this.name);
    port.onMessage.addListener((message) => this._onMessage(message));
    port.onDisconnect.addListener((p) => {
      const reason = (p && p.error && p.error.message) || "the Mailwarden companion closed the connection";
      this._forget(port, reason);
    });
    this.port = port;
    this.helloAnswer = null;
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
      this.helloAnswer = null;
    }
    for (const [id, entry] of this.pending) {
      if (entry.port === port) {
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.reject(new HostError(reason));
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
    } catch {
      // already gone
    }
  }

  /** Send `message` (an id is added) and resolve with the answer; rejects with HostError. */
  request(message, timeoutMs) {
    const id = `${message.type || "m"}-${Date.now().toString(36)}-${++this.counter}`;
    return new Promise((resolve, reject) => {
      let port;
      try {
        port = this._connect();
      } catch (e) {
        reject(new HostError(`the Mailwarden companion cannot be started: ${reasonOf(e)}`));
        return;
      }
      const timer = setTimeout(() => {
        if (this.pending.has(id)) {
          this.pending.delete(id);
          reject(new HostError(`the Mailwarden companion did not answer within ${timeoutMs} ms`, { timedOut: true }));
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
        reject(new HostError(`cannot reach the Mailwarden companion: ${reasonOf(e)}`));
      }
    });
  }

  /** The companion's hello (asked once per port). Rejects with HostError when there is no
   *  companion, it is too slow, or it does not speak this protocol. */
  async hello(timeoutMs) {
    if (this.helloAnswer && this.port) {
      return this.helloAnswer;
    }
    const port = this._connect();
    const answer = await this.request({ type: "hello" }, timeoutMs);
    if (answer.type !== "hello") {
      throw new HostError(`the Mailwarden companion did not say hello: ${answer.title || answer.type}: ${answer.message || ""}`);
    }
    if (this.port === port) {
      this.helloAnswer = answer;
    }
    return answer;
  }
}
