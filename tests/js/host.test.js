import assert from "node:assert/strict";
import { test } from "node:test";

import { HostClient, HostError } from "../../thunderbird_ext/background/host.js";
import { fakeRuntime, HELLO } from "./fakes.js";

test("an answer goes to the request with its id, whatever the order", async () => {
  const runtime = fakeRuntime((m, port) => setTimeout(() => port.answer({ type: "echo", id: m.id, n: m.n }), 10 - m.n));
  const host = new HostClient("mailwarden", runtime);
  const answers = await Promise.all([1, 2, 3].map((n) => host.request({ type: "x", n }, 1000)));
  assert.deepEqual(answers.map((a) => a.n), [1, 2, 3]);
  assert.equal(runtime.ports.length, 1); // one long-lived port
});

test("no answer in time rejects, drops the port, and the next request starts a new companion", async () => {
  let answer = false;
  const runtime = fakeRuntime((m, port) => answer && port.answer({ type: "ok", id: m.id }));
  const host = new HostClient("mailwarden", runtime);
  await assert.rejects(host.request({ type: "check" }, 20), (e) => e instanceof HostError && e.timedOut);
  assert.equal(runtime.ports[0].disconnected, true);
  answer = true;
  assert.equal((await host.request({ type: "check" }, 500)).type, "ok");
  assert.equal(runtime.ports.length, 2);
});

test("a companion that goes away fails what waits on it, not as a time-out", async () => {
  const runtime = fakeRuntime((m, port) => port.die("host crashed"));
  const host = new HostClient("mailwarden", runtime);
  await assert.rejects(host.request({ type: "check" }, 1000), (e) => e instanceof HostError && !e.timedOut && /crashed/.test(e.message));
  runtime.refuse = "No such native application mailwarden";
  await assert.rejects(host.request({ type: "check" }, 1000), /cannot be started: No such native application/);
});

test("hello is asked once per companion", async () => {
  const runtime = fakeRuntime((m, port) => port.answer({ ...HELLO, id: m.id }));
  const host = new HostClient("mailwarden", runtime);
  assert.deepEqual((await host.hello(500)).fail_modes, ["ask", "open", "closed"]);
  await host.hello(500);
  assert.equal(runtime.ports[0].sent.filter((m) => m.type === "hello").length, 1);
  runtime.ports[0].die(null); // a new companion may be another version: asked again
  await host.hello(500);
  assert.equal(runtime.ports.length, 2);
  assert.equal(runtime.ports[1].sent[0].type, "hello");
});

test("a companion that does not say hello is an error, not a hello", async () => {
  const runtime = fakeRuntime((m, port) =>
    port.answer({ type: "error", id: m.id, code: "unknown_type", retryable: false, title: "Unknown message", message: "x" }),
  );
  await assert.rejects(new HostClient("mailwarden", runtime).hello(500), /did not say hello: Unknown message/);
});
