/**
 * A Socket.IO connection spoken by hand, for the suites that send what the Socket.IO client
 * never does: an Engine.IO WebSocket (engine.io-client) on which the caller writes Socket.IO
 * packets as text and binary messages, connected to the main namespace with `auth`.
 */
import { Socket as EngineSocket } from 'engine.io-client';

/** An open Engine.IO connection, connected to the namespace `/`, and what it received and when it closed. */
export interface RawEngine {
  engine: EngineSocket;
  /** Every text message received after the namespace connected. */
  received: string[];
  /** Whether the Engine.IO connection has closed. */
  closed(): boolean;
}

/** Opens the WebSocket and sends the namespace CONNECT with `auth`; resolves once the hub accepts it. */
export function openRawEngine(url: string, auth: Record<string, string>): Promise<RawEngine> {
  const engine = new EngineSocket(url, { path: '/socket.io/', transports: ['websocket'] });
  const received: string[] = [];
  let closed = false;
  engine.on('close', () => {
    closed = true;
  });
  return new Promise((resolve, reject) => {
    let connected = false;
    engine.on('message', (data) => {
      if (typeof data !== 'string') return;
      if (connected) received.push(data);
      else if (data.startsWith('0{')) {
        connected = true;
        resolve({ engine, received, closed: () => closed });
      } else if (data.startsWith('4')) reject(new Error(`connect refused: ${data}`));
    });
    engine.on('open', () => engine.send(`0${JSON.stringify(auth)}`));
    engine.on('error', reject);
    engine.on('close', () => reject(new Error('closed before the namespace connected')));
  });
}
