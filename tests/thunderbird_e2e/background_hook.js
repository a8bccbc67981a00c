/* Test-only, added to the background page by the e2e test build (never shipped): loaded after
 * main.js (a module, like it), it tells the e2e driver that the send hook is registered, and starts
 * the companion when the driver asks. */

import { status } from "./main.js";

messenger.runtime.onMessageExternal.addListener((message, sender) => {
  if (sender.id !== "mailwarden-e2e@tests.mailwarden.example" || !message) {
    return undefined;
  }
  if (message.type === "ready") {
    return Promise.resolve(true);
  }
  if (message.type === "warm") {
    // What the extension does when Thunderbird starts (it says hello to the companion): the driver
    // asks for it after putting the real host back, so a check is not timed against a host start.
    return status().then((s) => s.ok);
  }
  return undefined;
});
