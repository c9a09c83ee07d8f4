/**
 * The bare transport the hub is compared with: a minimal Socket.IO 4.8 server, run as a child
 * process of the benchmark (`PORT`, `HOST` from the environment). Each socket joins the rooms
 * named in its handshake `auth.rooms`; `message:send` with an ack is pushed as
 * `conversation:item` to the envelope's conversation room (not back to the sender, as the hub
 * does) and answered `{ ok: true, cursor, duplicate: false }`. No authentication, no
 * validation, no storage: only what Socket.IO itself costs.
 */

import { createServer } from 'node:http';
import { Server } from 'socket.io';

interface SendPayload {
  envelope?: { header?: { conv?: unknown } };
}

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const http = createServer((request, response) => {
  // Everything but /socket.io/ lands here: a health check for the benchmark.
  response.writeHead(request.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
  response.end('{"status":"ok"}');
});
const io = new Server(http, { serveClient: false, maxHttpBufferSize: 1024 * 1024 });

let counter = 0;

io.on('connection', (socket) => {
  const rooms = (socket.handshake.auth as { rooms?: unknown }).rooms;
  if (Array.isArray(rooms)) socket.join(rooms.filter((room): room is string => typeof room === 'string'));

  socket.on('message:send', (payload: SendPayload, ack: unknown) => {
    if (typeof ack !== 'function') return;
    const envelope = payload?.envelope;
    const conv = envelope?.header?.conv;
    if (typeof conv !== 'string') {
      ack({ ok: false, error: { code: 'BAD_REQUEST', message: 'message:send: envelope.header.conv' } });
      return;
    }
    const receivedAt = Date.now();
    counter += 1;
    const cursor = `${receivedAt}-${counter}`;
    socket.to(conv).emit('conversation:item', { type: 'message', conv, cursor, receivedAt, envelope });
    ack({ ok: true, cursor, duplicate: false });
  });
});

http.listen(port, host);

const shutdown = () => {
  io.disconnectSockets(true);
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
