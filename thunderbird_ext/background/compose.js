/* Mailwarden for Thunderbird — the compose details the companion checks (companion.presend).
 *
 * What is read of each attachment follows the companion's hello ("attachments"): the formats it
 * extracts text from (Word, Excel, PDF, HTML, mail, text in any charset) go as bytes (base64) up to
 * a size and a total; other text formats are read here as UTF-8; the rest is checked by name only.
 */

/** Recipients as "Name <address>" strings; contacts and mailing lists picked from an address book
 *  come as objects the companion cannot read: they are left out of the check. */
export function recipientList(value) {
  const list = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  return list.filter((r) => typeof r === "string");
}

// Pasted images sit in the compose HTML as data: URLs, often megabytes of base64 the check has no
// use for (it reads text): they are cut before the HTML travels to the companion.
const DATA_URL = /(\bsrc\s*=\s*)(["'])data:[^"']*\2/gi;

export function withoutDataUrls(html) {
  return html.replace(DATA_URL, "$1$2data:,$2");
}

function extensionOf(name) {
  const dot = name.lastIndexOf(".");
  return dot >= 0 ? name.slice(dot).toLowerCase() : "";
}

/** How each listed attachment is read: "bytes", "text" or null (by name only), in order, within
 *  the companion's limits (`rules`: its hello's "attachments"); the first attachments get the
 *  budget of bytes. */
export function attachmentPlan(listed, rules) {
  const extract = new Set(rules.extract || []);
  const asText = new Set(rules.as_text || []);
  let bytesLeft = rules.extract_total_max || 0;
  return listed.map((a) => {
    const ext = extensionOf(a.name || "");
    const size = Number.isFinite(a.size) ? a.size : -1;
    if (extract.has(ext) && size >= 0 && size <= Math.min(rules.extract_max || 0, bytesLeft)) {
      bytesLeft -= size;
      return "bytes";
    }
    if (asText.has(ext) && size >= 0 && size <= (rules.as_text_max || 0)) {
      return "text";
    }
    return null;
  });
}

function base64Of(file) {
  // A data: URL is the fast way to base64 in a page (no byte-by-byte string building).
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function withTimeout(promise, ms, message) {
  let timer;
  const limit = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function attachments(compose, tab, rules, budgetMs) {
  let listed = [];
  try {
    listed = await compose.listAttachments(tab.id);
  } catch (e) {
    console.warn("Mailwarden: attachments not listed", e);
    return [];
  }
  const out = listed.map((a) => ({ name: a.name || "", size: a.size || 0, content_type: "", text: null }));
  const plan = attachmentPlan(listed, rules);
  const reads = listed.map(async (a, i) => {
    if (!plan[i]) {
      return;
    }
    try {
      const file = await compose.getAttachmentFile(a.id);
      const read = { content_type: file.type || "" };
      if (plan[i] === "bytes" && file.size <= rules.extract_max) {
        read.data_base64 = await base64Of(file);
      } else if (plan[i] === "text" && file.size <= rules.as_text_max) {
        read.text = await file.text();
      }
      out[i] = { ...out[i], ...read }; // whole, or not at all (see the snapshot below)
    } catch (e) {
      console.warn("Mailwarden: attachment not read", e);
    }
  });
  try {
    await withTimeout(Promise.all(reads), budgetMs, "attachments too slow to read");
  } catch (e) {
    console.warn("Mailwarden: checking attachments by name only:", e.message);
  }
  return out.map((a) => ({ ...a })); // a snapshot: late reads do not change what was sent
}

/** The compose details of the mail in `tab` (`details`: compose.onBeforeSend's). */
export async function composeDetails(compose, tab, details, rules, budgetMs) {
  const plain = Boolean(details.isPlainText);
  return {
    subject: details.subject || "",
    body: plain ? details.plainTextBody || "" : "",
    html: plain ? "" : withoutDataUrls(details.body || ""),
    from: typeof details.from === "string" ? details.from : "",
    to: recipientList(details.to),
    cc: recipientList(details.cc),
    bcc: recipientList(details.bcc),
    attachments: await attachments(compose, tab, rules, budgetMs),
  };
}

/** The Cc of `details` with the approvers added (those not already among the recipients). */
export function ccWithApprovers(details, approvers) {
  const present = new Set();
  for (const field of ["to", "cc", "bcc"]) {
    for (const r of recipientList(details[field])) {
      const match = /<([^>]+)>\s*$/.exec(r);
      present.add((match ? match[1] : r).trim().toLowerCase());
    }
  }
  const cc = Array.isArray(details.cc) ? [...details.cc] : details.cc ? [details.cc] : [];
  for (const address of approvers) {
    if (!present.has(address.toLowerCase())) {
      cc.push(address);
      present.add(address.toLowerCase());
    }
  }
  return cc;
}
