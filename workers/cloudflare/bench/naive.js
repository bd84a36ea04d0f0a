// The baseline for bench/bench_worker.py: a Worker written the way the migration document
// shows it. Kept deliberately as the document has it: the public key is parsed from hex and
// imported on every request, the body is verified as text, every interaction is logged, no
// timestamp window and no size cap. A deferred command is acknowledged with 5 and handed to
// the backend in waitUntil, with the same authenticated hand-over as ours (its HMAC key is
// imported per request too, in the same style). Do not "fix" it: it is the yardstick.

const InteractionType = { PING: 1, APPLICATION_COMMAND: 2, MESSAGE_COMPONENT: 3 };
const InteractionResponseType = { PONG: 1, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: 5 };

function hexToUint8Array(hex) {
  return new Uint8Array(hex.match(/.{1,2}/g).map((byte) => parseInt(byte, 16)));
}

async function verifyDiscordSignature(signature, timestamp, body, publicKey) {
  try {
    const signatureBytes = hexToUint8Array(signature);
    const publicKeyBytes = hexToUint8Array(publicKey);
    const message = new TextEncoder().encode(timestamp + body);

    const key = await crypto.subtle.importKey(
      'raw',
      publicKeyBytes,
      { name: 'Ed25519', namedCurve: 'Ed25519' },
      false,
      ['verify']
    );

    return await crypto.subtle.verify('Ed25519', key, signatureBytes, message);
  } catch (error) {
    return false;
  }
}

function jsonResponse(data, status = 200) {
  return new Response(JSON.stringify(data), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

async function triggerBackend(env, signature, timestamp, body) {
  const ack = JSON.stringify({ type: InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE });
  const hopTs = String(Math.floor(Date.now() / 1000));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  const bodyHash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const key = await crypto.subtle.importKey(
    'raw', new TextEncoder().encode(env.HANDOVER_SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']
  );
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${hopTs}.${ack}.${bodyHash}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const response = await fetch(`${env.BACKEND_URL}/handover`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Signature-Ed25519': signature,
      'X-Signature-Timestamp': timestamp,
      'X-Catalyst-Ack': ack,
      'X-Catalyst-Handover-Timestamp': hopTs,
      'X-Catalyst-Handover-Signature': hex,
    },
    body,
  });
  console.log(`Backend answered ${response.status}`);
  await response.text();
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/health') {
      return jsonResponse({ status: 'ok' });
    }
    if (request.method !== 'POST') {
      return jsonResponse({ error: 'Method not allowed' }, 405);
    }

    const signature = request.headers.get('X-Signature-Ed25519');
    const timestamp = request.headers.get('X-Signature-Timestamp');
    const body = await request.text();

    if (!signature || !timestamp) {
      return jsonResponse({ error: 'Missing signature' }, 401);
    }
    const isValid = await verifyDiscordSignature(signature, timestamp, body, env.DISCORD_PUBLIC_KEY);
    if (!isValid) {
      console.log('Invalid signature');
      return jsonResponse({ error: 'Invalid request signature' }, 401);
    }

    const interaction = JSON.parse(body);
    const interactionType = interaction.type;

    if (interactionType === InteractionType.PING) {
      console.log('Responding to PING with PONG');
      return jsonResponse({ type: InteractionResponseType.PONG });
    }

    if (interactionType === InteractionType.APPLICATION_COMMAND) {
      console.log(`Handling command: ${interaction.data.name}`);
      ctx.waitUntil(triggerBackend(env, signature, timestamp, body));
      return jsonResponse({ type: InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE });
    }

    console.log('Unknown interaction type');
    return jsonResponse({ error: 'Unknown interaction type' }, 400);
  },
};
