// The Cloudflare Worker edge of catalyst-interactions: a thin adapter, all logic stays in Python.
//
// Per request: body cap → signature headers → Ed25519 signature over timestamp + raw body →
// timestamp window → JSON → PING. Then, from the manifest exported by the backend
// (`catalyst-interactions manifest`):
//   static answer (/help)  → answered here;
//   deferred handler       → 5/6 at once, the work handed to POST /handover in ctx.waitUntil;
//   inline/auto/unknown    → the signed request is passed to the backend's POST /interactions
//                            and its answer returned if it arrives within the budget, counted
//                            from the interaction's creation; otherwise as for deferred.
// When the backend cannot take the work after retries, the user is told through the
// interaction token (edit of @original, or an ephemeral followup after a type-6 ack):
// nothing is dropped silently.
//
// Bindings: DISCORD_PUBLIC_KEY, HANDOVER_SECRET (secrets); BACKEND_URL, DISCORD_API_BASE
// (vars); optional BUDGET_MS, HANDOVER_ATTEMPTS, HANDOVER_BACKOFF_MS, DISCORD_ATTEMPTS.

import manifest from "./manifest.json";

const MAX_BODY_BYTES = 1024 * 1024; // same cap as the Python edge (CATALYST_MAX_BODY_BYTES)
const TIMESTAMP_WINDOW_S = 300; // same window as the Python edge (CATALYST_TIMESTAMP_WINDOW_S)
const DISCORD_EPOCH_MS = 1420070400000n;
const DEFAULT_API_BASE = "https://discord.com/api/v10";
const USER_AGENT = "DiscordBot (https://github.com/catalyst-bot/catalyst-interactions, 0.1.0)";
const UNAVAILABLE_TEXT =
  "The service is unavailable right now, so this request could not be run. Please try again in a minute.";
const EPHEMERAL = 64;
const JSON_TYPE = { "content-type": "application/json" };
const PONG = '{"type":1}';
const HANDOVER_TIMEOUT_MS = 10_000;
const TIMEOUT = Symbol("timeout");
const FAILED = Symbol("failed");

// -- keys: imported once per isolate, on first use --------------------------------------------
// The promise is cached, not the key, so concurrent first requests share one import.
let verifyKey = null;
let hmacKey = null;

function publicKey(env) {
  if (verifyKey === null) {
    const raw = hexToBytes(env.DISCORD_PUBLIC_KEY || "");
    verifyKey =
      raw === null || raw.length !== 32
        ? Promise.reject(new Error("DISCORD_PUBLIC_KEY must be 64 hex characters"))
        : crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    verifyKey.catch(() => {}); // reported per request, not as an unhandled rejection
  }
  return verifyKey;
}

function handoverKey(env) {
  if (hmacKey === null) {
    const secret = new TextEncoder().encode(env.HANDOVER_SECRET || "");
    hmacKey =
      secret.length < 16
        ? Promise.reject(new Error("HANDOVER_SECRET must be at least 16 characters"))
        : crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKey.catch(() => {});
  }
  return hmacKey;
}

// -- the manifest, compiled once per isolate ---------------------------------------------------
function compile(entries) {
  const out = [];
  for (const entry of entries || []) {
    try {
      out.push({ ...entry, re: new RegExp("^(?:" + entry.regex + ")$") });
    } catch {
      // The backend still routes it: such an interaction is simply forwarded inline.
      log("warn", "manifest_regex_rejected", { handler: entry.handler });
    }
  }
  return out;
}

const COMPONENTS = compile(manifest.components);
const MODALS = compile(manifest.modals);

// -- small helpers -----------------------------------------------------------------------------
function hexToBytes(hex) {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function bytesToHex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function json(status, value) {
  return new Response(typeof value === "string" ? value : JSON.stringify(value), {
    status,
    headers: JSON_TYPE,
  });
}

function error(status, message) {
  return json(status, { error: message });
}

function log(level, event, fields) {
  // Never tokens, keys or bodies: ids and outcomes only.
  const line = JSON.stringify({ level, event, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

// Reading a (small) body to its end lets the connection go back to the pool; cancelling it
// closes the connection, and the next hop pays for a new one.
async function drain(response) {
  await response.arrayBuffer().catch(() => {});
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function intVar(env, name, fallback) {
  const value = Number.parseInt(env[name] ?? "", 10);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

function createdAtMs(id) {
  try {
    return Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);
  } catch {
    return Date.now(); // not a snowflake: count the budget from now
  }
}

function budgetMs(env) {
  // A little more than the backend's own auto budget, so that an auto handler's own
  // deferral (job already enqueued) normally wins and no hand-over is needed.
  return intVar(env, "BUDGET_MS", Math.min((manifest.auto_budget_ms ?? 2000) + 250, 2500));
}

// -- verification ------------------------------------------------------------------------------
// The body chunk by chunk, or null as soon as it passes the cap: a chunked body declares no
// length, and reading it whole first would let a client make us buffer any amount.
async function readCapped(request) {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

async function readVerified(request, env) {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return { response: error(413, `body larger than ${MAX_BODY_BYTES} bytes`) };
  const signature = request.headers.get("x-signature-ed25519");
  const timestamp = request.headers.get("x-signature-timestamp");
  const body = await readCapped(request);
  if (body === null) return { response: error(413, `body larger than ${MAX_BODY_BYTES} bytes`) };
  if (!signature || !timestamp) return { response: error(401, "missing signature headers") };
  const sigBytes = signature.length === 128 ? hexToBytes(signature) : null;
  if (sigBytes === null) return { response: error(401, "invalid request signature") };
  if (!/^[0-9]{1,12}$/.test(timestamp)) return { response: error(401, "invalid request timestamp") };
  let key;
  try {
    key = await publicKey(env);
  } catch (exc) {
    log("error", "bad_configuration", { detail: exc.message });
    return { response: error(500, "the edge is misconfigured") };
  }
  const tsBytes = new TextEncoder().encode(timestamp);
  const message = new Uint8Array(tsBytes.length + body.length);
  message.set(tsBytes);
  message.set(body, tsBytes.length);
  if (!(await crypto.subtle.verify("Ed25519", key, sigBytes, message))) {
    return { response: error(401, "invalid request signature") };
  }
  // After the signature, like the Python edge: nobody probes our clock without a valid one.
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TIMESTAMP_WINDOW_S) {
    return { response: error(401, "request timestamp outside the allowed window") };
  }
  let interaction;
  try {
    interaction = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return { response: error(400, "malformed JSON") };
  }
  if (interaction === null || typeof interaction !== "object" || ![1, 2, 3, 4, 5].includes(interaction.type)) {
    return { response: error(400, "unknown interaction type") };
  }
  return { body, signature, timestamp, interaction };
}

// -- routing by the manifest -------------------------------------------------------------------
function commandRoute(data) {
  const kind = data.type ?? 1;
  if (kind === 2 || kind === 3) return { key: `${kind === 2 ? "user" : "message"}:${data.name}`, options: [] };
  const path = [data.name];
  let options = data.options || [];
  while (options.length === 1 && (options[0].type === 1 || options[0].type === 2)) {
    path.push(options[0].name);
    options = options[0].options || [];
  }
  return { key: path.join(" "), options };
}

function match(entries, customId) {
  return entries.find((e) => customId.startsWith(e.prefix) && e.re.test(customId));
}

/** What to do: {static} | {mode, ack}. Unknown handlers go to the backend inline. */
function decide(interaction) {
  const data = interaction.data || {};
  switch (interaction.type) {
    case 2: {
      const { key, options } = commandRoute(data);
      if (key === "help" && options.length === 0 && manifest.static?.help) return { static: manifest.static.help };
      const entry = manifest.commands?.[key];
      return entry ? { mode: entry.mode, ack: entry.ack } : { mode: "inline", ack: { type: 5 } };
    }
    case 3: {
      const entry = match(COMPONENTS, String(data.custom_id ?? ""));
      return entry ? { mode: entry.mode, ack: entry.ack } : { mode: "inline", ack: { type: 6 } };
    }
    case 5: {
      const entry = match(MODALS, String(data.custom_id ?? ""));
      if (!entry) return { mode: "inline", ack: { type: 5 } };
      // A form opened from a button may update that button's message (6), as the backend
      // would answer with 7; opened from a command it can only be a new message (5).
      const fromComponent = interaction.message && entry.ack_from_component;
      return { mode: entry.mode, ack: fromComponent ? entry.ack_from_component : entry.ack };
    }
    default: // 4: autocomplete cannot be deferred; an empty list is its fallback
      return { mode: "inline", ack: null };
  }
}

// -- the backend hop ---------------------------------------------------------------------------
function discordHeaders(verified) {
  return {
    "content-type": "application/json",
    "x-signature-ed25519": verified.signature,
    "x-signature-timestamp": verified.timestamp,
  };
}

/** The backend's answer if it is a 200 that arrives before the deadline, else TIMEOUT/FAILED. */
async function forwardWithin(env, verified, deadlineMs) {
  const remaining = deadlineMs - Date.now();
  if (remaining <= 0) return TIMEOUT;
  const controller = new AbortController();
  let timer;
  const expiry = new Promise((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), remaining);
  });
  const forwarded = fetch(`${env.BACKEND_URL}/interactions`, {
    method: "POST",
    headers: discordHeaders(verified),
    body: verified.body,
    signal: controller.signal,
  }).then(
    async (response) => {
      if (response.status === 200) return response;
      log("warn", "backend_refused", { interaction_id: verified.interaction.id, status: response.status });
      await drain(response);
      return FAILED;
    },
    () => FAILED,
  );
  const winner = await Promise.race([forwarded, expiry]);
  clearTimeout(timer);
  // Stop waiting for an answer nobody will read; a late inline run sends nothing to Discord.
  if (winner === TIMEOUT) controller.abort();
  return winner;
}

async function sha256Hex(bytes) {
  return bytesToHex(await crypto.subtle.digest("SHA-256", bytes));
}

async function handoverOnce(env, verified, ackJson) {
  const hopTs = String(Math.floor(Date.now() / 1000));
  const message = `${hopTs}.${ackJson}.${await sha256Hex(verified.body)}`;
  const mac = await crypto.subtle.sign("HMAC", await handoverKey(env), new TextEncoder().encode(message));
  const response = await fetch(`${env.BACKEND_URL}/handover`, {
    method: "POST",
    headers: {
      ...discordHeaders(verified),
      "x-catalyst-ack": ackJson,
      "x-catalyst-handover-timestamp": hopTs,
      "x-catalyst-handover-signature": bytesToHex(mac),
    },
    body: verified.body,
    signal: AbortSignal.timeout(HANDOVER_TIMEOUT_MS),
  });
  if (response.status === 403) {
    // Refused by the backend's checks (admin-only, cooldown ...): its text is for the user.
    const info = await response.json().catch(() => ({}));
    return { status: 403, message: typeof info.message === "string" ? info.message : null };
  }
  await drain(response);
  return { status: response.status, message: null };
}

/** Hand the work over with retries; a 202 (enqueued) or 409 (already enqueued) is done. */
async function handOver(env, verified, ack, why) {
  const id = verified.interaction.id;
  const ackJson = JSON.stringify(ack);
  const attempts = Math.max(1, intVar(env, "HANDOVER_ATTEMPTS", 4));
  const backoff = intVar(env, "HANDOVER_BACKOFF_MS", 250);
  let last = "not tried";
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(backoff * 4 ** (attempt - 1));
    let status, message;
    try {
      ({ status, message } = await handoverOnce(env, verified, ackJson));
    } catch (exc) {
      last = exc.name === "TimeoutError" || exc.name === "AbortError" ? "timeout" : "unreachable";
      continue;
    }
    if (status === 202 || status === 409) {
      log("info", "handed_over", { interaction_id: id, status, attempt: attempt + 1, why });
      return;
    }
    if (status === 403 && message) {
      log("info", "handover_refused", { interaction_id: id, why });
      await tellUser(env, verified.interaction, ack, message);
      return;
    }
    last = `status ${status}`;
    // A refusal (bad secret, not deferrable) will not change on retry; overload might.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) break;
  }
  log("error", "handover_failed", { interaction_id: id, last, why });
  await tellUser(env, verified.interaction, ack);
}

// -- telling the user --------------------------------------------------------------------------
/** After a 5 the "thinking…" message is ours to edit; after a 6 @original is the clicked
 *  message, which must not be overwritten, so an ephemeral followup carries the news. */
async function tellUser(env, interaction, ack, text = UNAVAILABLE_TEXT) {
  const base = (env.DISCORD_API_BASE || DEFAULT_API_BASE).replace(/\/+$/, "");
  const hook = `${base}/webhooks/${interaction.application_id}/${interaction.token}`;
  const content = { content: text, allowed_mentions: { parse: [] } };
  const [method, url, payload] =
    ack.type === 6 ? ["POST", hook, { ...content, flags: EPHEMERAL }] : ["PATCH", `${hook}/messages/@original`, content];
  const attempts = Math.max(1, intVar(env, "DISCORD_ATTEMPTS", 3));
  for (let attempt = 0; attempt < attempts; attempt++) {
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: { "content-type": "application/json", "user-agent": USER_AGENT },
        body: JSON.stringify(payload),
      });
    } catch {
      await sleep(500 * (attempt + 1));
      continue;
    }
    if (response.ok) {
      await drain(response);
      log("warn", "user_told_unavailable", { interaction_id: interaction.id });
      return;
    }
    let wait = 500 * (attempt + 1);
    if (response.status === 429) {
      const info = await response.json().catch(() => ({}));
      wait = Math.min(5000, Math.ceil(1000 * (Number(info.retry_after) || 1)));
    } else {
      await drain(response);
      if (response.status < 500) break; // 401/404: the token is gone; retrying cannot help
    }
    await sleep(wait);
  }
  log("error", "user_not_told", { interaction_id: interaction.id });
}

// -- the request -------------------------------------------------------------------------------
async function onInteraction(request, env, ctx) {
  const verified = await readVerified(request, env);
  if (verified.response) return verified.response;
  const interaction = verified.interaction;
  if (interaction.type === 1) return json(200, PONG);
  const plan = decide(interaction);
  if (plan.static) return json(200, plan.static);
  if (plan.mode === "deferred") {
    ctx.waitUntil(handOver(env, verified, plan.ack, "deferred"));
    return json(200, plan.ack);
  }
  const answer = await forwardWithin(env, verified, createdAtMs(interaction.id) + budgetMs(env));
  if (answer !== TIMEOUT && answer !== FAILED) {
    const headers = { "content-type": answer.headers.get("content-type") || "application/json" };
    return new Response(answer.body, { status: 200, headers });
  }
  if (plan.ack === null) return json(200, { type: 8, data: { choices: [] } });
  ctx.waitUntil(handOver(env, verified, plan.ack, answer === TIMEOUT ? "budget" : "backend_failed"));
  return json(200, plan.ack);
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/interactions") {
      if (request.method !== "POST") {
        return new Response('{"error":"method not allowed"}', { status: 405, headers: { ...JSON_TYPE, allow: "POST" } });
      }
      return onInteraction(request, env, ctx);
    }
    if (pathname === "/health") return json(200, { status: "ok" });
    return error(404, "not found");
  },
};
