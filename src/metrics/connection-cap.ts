// A cap on the connections an HTTP server holds: at most `max` (Node's server.maxConnections refuses any
// beyond), and room is kept for the next one by closing the oldest idle connection — one that is not
// being answered: a connection that never sent a request, a slow client still sending its headers, a
// keep-alive one between requests. A flood of idle connections therefore cannot keep a scrape out; it
// only keeps pushing its own oldest connections out.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface CapStats {
  /** Connections held now. */
  held: number;
  /** Idle connections closed to make room, since start. */
  evicted: number;
  /** Connections Node refused at the cap (server.maxConnections), since start. */
  dropped: number;
}

export class ConnectionCap {
  readonly #max: number;
  /** Insertion order is age: the first is the oldest. */
  readonly #open = new Set<Socket>();
  readonly #busy = new Set<Socket>();
  #evicted = 0;
  #dropped = 0;

  constructor(server: Server, max: number) {
    this.#max = max;
    server.maxConnections = max;
    server.on('drop', () => {
      this.#dropped++;
    });
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('request', (req, res) => {
      const socket = req.socket;
      this.#busy.add(socket);
      res.once('close', () => this.#busy.delete(socket));
    });
  }

  get stats(): CapStats {
    return { held: this.#open.size, evicted: this.#evicted, dropped: this.#dropped };
  }

  #admit(socket: Socket): void {
    this.#open.add(socket);
    socket.once('close', () => {
      this.#open.delete(socket);
      this.#busy.delete(socket);
    });
    if (this.#open.size < this.#max) return;
    for (const old of this.#open) {
      if (old === socket || this.#busy.has(old)) continue;
      this.#open.delete(old);
      this.#evicted++;
      old.destroy();
      return;
    }
  }
}
