// A stand-in backend for the benchmark: accepts every hand-over at once, so that the
// figures measure the Workers, not the Python backend behind them.
export default {
  async fetch(request) {
    if (request.method === "POST") {
      await request.arrayBuffer();
      return new Response('{"status":"enqueued"}', { status: 202, headers: { "content-type": "application/json" } });
    }
    return new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } });
  },
};
